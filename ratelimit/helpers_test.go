package ratelimit_test

import (
	"context"
	"crypto/rand"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/marketgraph/marketgraph/internal/logtest"
	"github.com/marketgraph/marketgraph/internal/redistest"
	"github.com/marketgraph/marketgraph/ratelimit"
)

// waitLimit bounds how long a test waits for something that must happen.
const waitLimit = 15 * time.Second

// redisURL returns TEST_REDIS_URL (see redistest.URL).
func redisURL(t testing.TB) string { return redistest.URL(t) }

// testPrefix returns a key prefix no other test run uses.
func testPrefix() string { return "test:ratelimit:" + rand.Text()[:12] + ":" }

// newRedis connects a ratelimit.Redis with its own client, under cfg.Prefix
// (a fresh one when empty), and deletes the prefix's keys after the test.
func newRedis(t testing.TB, cfg ratelimit.RedisConfig) *ratelimit.Redis {
	t.Helper()
	if cfg.URL == "" {
		cfg.URL = redisURL(t)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = testPrefix()
	}
	r, err := ratelimit.NewRedis(context.Background(), cfg)
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	redistest.CleanUp(t, cfg.Prefix)
	return r
}

// admin is a plain client to inspect Redis from outside.
func admin(t testing.TB) *redis.Client {
	return redistest.Client(t)
}

// clock is a clock tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// logBuffer is a concurrency-safe log sink.
type logBuffer struct{ logtest.Buffer }

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
