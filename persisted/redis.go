package persisted

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/redis/go-redis/v9"

	"github.com/marketgraph/marketgraph/internal/redisconn"
)

// Defaults of RedisConfig.
const (
	DefaultRedisPrefix  = "marketgraph:apq:"
	DefaultRedisTTL     = 24 * time.Hour
	DefaultRedisTimeout = 50 * time.Millisecond
	DefaultRedisBackoff = time.Second
)

// RedisConfig configures NewRedis.
type RedisConfig struct {
	// URL is REDIS_URL (redis:// or rediss://).
	URL string
	// Prefix starts every key (default DefaultRedisPrefix).
	Prefix string
	// TTL is how long a document is kept after it was last stored or read
	// (default DefaultRedisTTL): every hit renews it, so the documents in
	// use stay and forgotten ones expire.
	TTL time.Duration
	// Timeout bounds each Redis call (default DefaultRedisTimeout). A call
	// that does not finish in time is a miss; it is added to the latency of
	// a request at worst, so keep it short.
	Timeout time.Duration
	// Backoff is how long after a failed call the cache skips Redis,
	// answering misses at once, before one call probes it again (default
	// DefaultRedisBackoff).
	Backoff time.Duration
	// MaxValueBytes caps the documents stored (default MaxDocumentBytes);
	// larger ones are not stored.
	MaxValueBytes int
	// Logger gets one line when Redis becomes unreachable and one when it
	// is back (default: discard).
	Logger *slog.Logger
}

// Redis is a document cache in Redis, shared by every replica: a document
// one replica registered is found by the others. Redis failures never
// reach the client: a Get that fails is a miss (the client then sends the
// full document, which executes), an Add that fails is skipped. After a
// failure the cache leaves Redis alone for the backoff, so that an outage
// does not add a timeout to every request. It is safe for concurrent use.
type Redis struct {
	client   *redis.Client
	prefix   string
	ttl      time.Duration
	maxValue int
	guard    *redisconn.Guard
}

var _ graphql.Cache[string] = (*Redis)(nil)

// NewRedis connects to the Redis at cfg.URL and pings it once, so that a
// wrong or unreachable REDIS_URL fails start-up rather than degrading every
// request in silence. Errors name REDIS_URL and never contain its password.
// The client neither retries nor redials within a call: Timeout is the
// whole budget of one.
func NewRedis(ctx context.Context, cfg RedisConfig) (*Redis, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultRedisPrefix
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultRedisTTL
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultRedisTimeout
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = DefaultRedisBackoff
	}
	if cfg.MaxValueBytes <= 0 {
		cfg.MaxValueBytes = MaxDocumentBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	client, redacted, err := redisconn.Dial(ctx, cfg.URL, true)
	if err != nil {
		return nil, fmt.Errorf("persisted: %w", err)
	}
	return &Redis{
		client: client,
		prefix: cfg.Prefix,
		ttl:    cfg.TTL,

		maxValue: cfg.MaxValueBytes,
		guard: redisconn.NewGuard("persisted query store", cfg.Timeout, cfg.Backoff,
			cfg.Logger.With("component", "apq", "redis", redacted), "answering", "misses"),
	}, nil
}

// Get returns the document stored under key and renews its TTL. A missing
// key, a key too long to be an id, and any Redis failure are misses.
func (r *Redis) Get(ctx context.Context, key string) (string, bool) {
	if key == "" || len(key) > maxKeyBytes {
		return "", false
	}
	var get *redis.StringCmd
	err := r.call(ctx, func(ctx context.Context) error {
		_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			get = p.Get(ctx, r.prefix+key)
			p.Expire(ctx, r.prefix+key, r.ttl)
			return nil
		})
		if errors.Is(err, redis.Nil) {
			return nil // a miss, not a failure
		}
		return err
	})
	if err != nil || get == nil {
		return "", false
	}
	v, err := get.Result()
	if err != nil {
		return "", false
	}
	return v, true
}

// Add stores value under key for the TTL. A key or value too large to
// keep is ignored, and so is a Redis failure.
func (r *Redis) Add(ctx context.Context, key, value string) {
	if key == "" || len(key) > maxKeyBytes || len(value) > r.maxValue {
		return
	}
	_ = r.call(ctx, func(ctx context.Context) error {
		return r.client.Set(ctx, r.prefix+key, value, r.ttl).Err()
	})
}

// Close closes the Redis connection; the cache misses afterwards.
func (r *Redis) Close() error { return r.client.Close() }

// call runs fn through the guard (see redisconn.Guard): while Redis is
// away every call is a miss, but for one probe per back-off.
func (r *Redis) call(ctx context.Context, fn func(context.Context) error) error {
	return r.guard.Call(ctx, false, fn)
}
