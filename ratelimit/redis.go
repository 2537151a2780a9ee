package ratelimit

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/marketgraph/marketgraph/internal/redisconn"

	"github.com/marketgraph/marketgraph"
)

// Defaults of RedisConfig.
const (
	DefaultRedisPrefix  = "marketgraph:ratelimit:"
	DefaultRedisTimeout = 100 * time.Millisecond
	DefaultRedisBackoff = time.Second
)

// ErrUnavailable is what counters and budgets return while Redis is
// unreachable and the policy is to fail closed. Its code is RATE_LIMITED:
// the caller should wait and retry, as after a refusal.
var ErrUnavailable = &marketgraph.Error{
	Code:    marketgraph.ERATELIMITED,
	Message: "rate limiting is temporarily unavailable; retry shortly",
}

// RedisConfig configures NewRedis.
type RedisConfig struct {
	// URL is REDIS_URL (redis:// or rediss://).
	URL string
	// Prefix starts every key this package writes (default
	// DefaultRedisPrefix). Request counters go under Prefix+"req:", cost
	// budgets under Prefix+"cost:".
	Prefix string
	// Timeout bounds each Redis call (default DefaultRedisTimeout). It is
	// added to the latency of every request, at worst, so keep it short.
	Timeout time.Duration
	// Backoff is how long after a failed call the counters skip Redis
	// (answering by the policy at once) before one call probes it again
	// (default DefaultRedisBackoff).
	Backoff time.Duration
	// FailOpen serves callers without limits while Redis is unreachable;
	// false refuses them (503 and ErrUnavailable).
	FailOpen bool
	// Logger gets one line when Redis becomes unreachable and one when it
	// is back (default: discard).
	Logger *slog.Logger
}

// Redis is the Redis connection behind RedisCounter and RedisBudget, with
// the failure policy they share: one client, one timeout, one view of
// whether Redis is up.
type Redis struct {
	client   *redis.Client
	prefix   string
	failOpen bool
	guard    *redisconn.Guard
}

// NewRedis connects to the Redis at cfg.URL and pings it once, so that a
// wrong or unreachable REDIS_URL fails start-up rather than the first
// request. Errors name REDIS_URL and never contain its password. The client
// honours context deadlines and neither retries commands nor redials: a
// call that cannot finish within Timeout fails, and the policy answers.
func NewRedis(ctx context.Context, cfg RedisConfig) (*Redis, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultRedisPrefix
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultRedisTimeout
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = DefaultRedisBackoff
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	client, redacted, err := redisconn.Dial(ctx, cfg.URL, true)
	if err != nil {
		return nil, fmt.Errorf("ratelimit: %w", err)
	}
	log := cfg.Logger.With("component", "ratelimit", "redis", redacted)
	return &Redis{
		client:   client,
		prefix:   cfg.Prefix,
		failOpen: cfg.FailOpen,
		guard:    redisconn.NewGuard("rate limit store", cfg.Timeout, cfg.Backoff, log, "fail_open", cfg.FailOpen),
	}, nil
}

// Close closes the Redis connection. Counters and budgets fail by the
// policy afterwards.
func (r *Redis) Close() error { return r.client.Close() }

// Health pings Redis for readiness checks: "ok", or, degraded,
// "unreachable, failing open" (callers served without limits) or
// "unreachable, failing closed" (callers refused). Either way /readyz
// should stay 200: every replica shares the Redis, so taking this one out
// of rotation would not help.
func (r *Redis) Health(ctx context.Context) (state string, degraded bool) {
	err := r.call(ctx, true, func(ctx context.Context) error { return r.client.Ping(ctx).Err() })
	switch {
	case err == nil:
		return "ok", false
	case r.failOpen:
		return "unreachable, failing open", true
	default:
		return "unreachable, failing closed", true
	}
}

// call runs fn through the guard (see redisconn.Guard); probe makes the
// call even during a back-off (Health).
func (r *Redis) call(ctx context.Context, probe bool, fn func(context.Context) error) error {
	return r.guard.Call(ctx, probe, fn)
}

// failure is what a counter or budget returns for a failed call: nil when
// failing open, ErrUnavailable when failing closed.
func (r *Redis) failure() error {
	if r.failOpen {
		return nil
	}
	return ErrUnavailable
}

// retryAfter is how long a caller refused while Redis is down should wait:
// until the next probe, at least a second.
func (r *Redis) retryAfter() time.Duration { return r.guard.RetryAfter() }
