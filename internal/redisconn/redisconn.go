// Package redisconn opens the Redis connections of the packages that share
// REDIS_URL (the event bus, request limits, persisted queries) the same
// way: one parser that never lets the password into a message, and one
// connect-and-ping.
package redisconn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Parse parses REDIS_URL and returns it with its password masked, for
// messages. The parsers' own errors may quote the whole URL, password
// included, so they are never passed on as they are.
func Parse(raw string) (opts *redis.Options, redacted string, err error) {
	if raw == "" {
		return nil, "", errors.New("REDIS_URL is empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		reason := "malformed URL"
		if ue, ok := errors.AsType[*url.Error](err); ok {
			reason = ue.Err.Error() // the cause alone, without the URL
		}
		return nil, "", fmt.Errorf("REDIS_URL is not a valid URL: %s", reason)
	}
	redacted = u.Redacted()
	opts, err = redis.ParseURL(raw)
	if err != nil {
		reason := err.Error()
		if pw, ok := u.User.Password(); ok && pw != "" {
			reason = strings.ReplaceAll(reason, pw, "xxxxx")
		}
		return nil, "", fmt.Errorf("REDIS_URL %s is not a valid Redis URL: %s", redacted, reason)
	}
	return opts, redacted, nil
}

// Dial connects to the Redis at raw and pings it once, so that a wrong or
// unreachable REDIS_URL fails start-up rather than the first request. With
// bounded set, the client honours context deadlines and neither retries
// commands nor redials within a call: the caller's timeout is the whole
// budget of one, for callers on a request's path that must answer quickly
// either way. It returns the URL with its password masked.
func Dial(ctx context.Context, raw string, bounded bool) (*redis.Client, string, error) {
	opts, redacted, err := Parse(raw)
	if err != nil {
		return nil, "", err
	}
	if bounded {
		opts.ContextTimeoutEnabled = true
		opts.MaxRetries = -1   // no retries: the timeout is the whole budget
		opts.DialerRetries = 1 // one dial attempt per call, for the same reason
	}
	client := redis.NewClient(opts)
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, "", fmt.Errorf("cannot reach Redis at REDIS_URL %s: %w", redacted, err)
	}
	return client, redacted, nil
}

// ErrSkipped is Guard.Call's answer, without calling Redis, while a failure
// within the back-off says Redis is away.
var ErrSkipped = errors.New("redis unreachable: call skipped until the back-off ends")

// Guard keeps a component that uses Redis on a request's path answering
// while Redis is away: each call has a timeout; after a failure, calls are
// skipped (ErrSkipped) for the back-off, but for one probe per back-off; and
// only the transitions are logged, not every failure.
type Guard struct {
	name     string
	timeout  time.Duration
	backoff  time.Duration
	log      *slog.Logger
	downAttr []any

	mu        sync.Mutex
	down      bool
	downSince time.Time
	retryAt   time.Time // while down: when the next call may probe Redis
}

// NewGuard returns a guard for the store called name in its log lines
// ("rate limit store"); downAttrs are added to the line logged when Redis
// goes away.
func NewGuard(name string, timeout, backoff time.Duration, log *slog.Logger, downAttrs ...any) *Guard {
	return &Guard{name: name, timeout: timeout, backoff: backoff, log: log, downAttr: downAttrs}
}

// Call runs fn with the per-call timeout unless Redis is in its back-off;
// probe makes the call even then (a readiness check). The caller's own
// cancellation is passed on but is not counted as Redis failing.
func (g *Guard) Call(ctx context.Context, probe bool, fn func(context.Context) error) error {
	if !g.admit(probe) {
		return ErrSkipped
	}
	cctx, cancel := context.WithTimeout(ctx, g.timeout)
	err := fn(cctx)
	cancel()
	if err != nil && ctx.Err() != nil {
		return err
	}
	g.record(err)
	return err
}

// admit says whether a call may go to Redis: always while it is up; while
// it is down, one call per back-off period, the probe.
func (g *Guard) admit(probe bool) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.down || probe {
		return true
	}
	now := time.Now()
	if now.Before(g.retryAt) {
		return false
	}
	g.retryAt = now.Add(g.backoff)
	return true
}

// record notes a call's outcome, logging only the transitions.
func (g *Guard) record(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Now()
	if err == nil {
		if g.down {
			g.down = false
			g.log.Info(g.name+" reachable again", "down_for", now.Sub(g.downSince).Round(time.Millisecond).String())
		}
		return
	}
	g.retryAt = now.Add(g.backoff)
	if !g.down {
		g.down, g.downSince = true, now
		g.log.Warn(g.name+" unreachable", append([]any{"error", err.Error()}, g.downAttr...)...)
	}
}

// RetryAfter is how long a caller refused while Redis is away should wait:
// until the next probe, at least a second.
func (g *Guard) RetryAfter() time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	return max(time.Until(g.retryAt), time.Second)
}
