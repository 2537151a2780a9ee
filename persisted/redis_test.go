package persisted_test

import (
	"context"
	"crypto/rand"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/marketgraph/marketgraph/internal/logtest"
	"github.com/marketgraph/marketgraph/internal/redistest"
	"github.com/marketgraph/marketgraph/persisted"
)

// redisURL returns TEST_REDIS_URL (see redistest.URL).
func redisURL(t *testing.T) string { return redistest.URL(t) }

// newRedis connects a cache under a key prefix of its own, deleted after
// the test.
func newRedis(t *testing.T, cfg persisted.RedisConfig) *persisted.Redis {
	t.Helper()
	if cfg.URL == "" {
		cfg.URL = redisURL(t)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "test:apq:" + rand.Text()[:12] + ":"
	}
	r, err := persisted.NewRedis(context.Background(), cfg)
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	redistest.CleanUp(t, cfg.Prefix)
	return r
}

// admin is a plain client to inspect Redis from outside.
func admin(t *testing.T) *redis.Client {
	return redistest.Client(t)
}

func TestRedis(t *testing.T) {
	ctx := context.Background()
	prefix := "test:apq:" + rand.Text()[:12] + ":"
	r := newRedis(t, persisted.RedisConfig{Prefix: prefix, TTL: time.Hour})
	doc := `{ asset(id: "bitcoin") { symbol } }`
	id := persisted.Hash(doc)

	t.Run("RoundTrip", func(t *testing.T) {
		if _, ok := r.Get(ctx, id); ok {
			t.Fatal("hit before Add")
		}
		r.Add(ctx, id, doc)
		if v, ok := r.Get(ctx, id); !ok || v != doc {
			t.Fatalf("Get = %q, %t, want the document", v, ok)
		}
	})
	t.Run("KeyPrefixAndTTL", func(t *testing.T) {
		c := admin(t)
		if err := c.Expire(ctx, prefix+id, time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
		if _, ok := r.Get(ctx, id); !ok {
			t.Fatal("miss")
		}
		ttl, err := c.TTL(ctx, prefix+id).Result()
		if err != nil {
			t.Fatal(err)
		}
		if ttl <= time.Minute || ttl > time.Hour {
			t.Errorf("TTL after a hit = %s, want it renewed to about 1h", ttl)
		}
	})
	t.Run("SharedByReplicas", func(t *testing.T) {
		other := newRedis(t, persisted.RedisConfig{Prefix: prefix})
		if v, ok := other.Get(ctx, id); !ok || v != doc {
			t.Errorf("another replica's Get = %q, %t", v, ok)
		}
	})
	t.Run("Limits", func(t *testing.T) {
		small := newRedis(t, persisted.RedisConfig{Prefix: prefix, MaxValueBytes: 10})
		small.Add(ctx, "big", "12345678901")
		if _, ok := small.Get(ctx, "big"); ok {
			t.Error("a value over MaxValueBytes was stored")
		}
		long := strings.Repeat("k", 1000)
		r.Add(ctx, long, "{ a }")
		if n, _ := admin(t).Exists(ctx, prefix+long).Result(); n != 0 {
			t.Error("an oversized key was stored")
		}
	})
}

// Redis going away turns every call into a miss, logged once, and the
// cache recovers when Redis is back.
func TestRedis_Unreachable(t *testing.T) {
	ctx := context.Background()
	p := redistest.NewProxy(t)
	var logs logtest.Buffer
	r := newRedis(t, persisted.RedisConfig{
		URL:     p.URL(),
		Timeout: 200 * time.Millisecond,
		Backoff: time.Millisecond,
		Logger:  slog.New(slog.NewTextHandler(&logs, nil)),
	})
	doc := "{ __typename }"
	id := persisted.Hash(doc)
	r.Add(ctx, id, doc)
	if _, ok := r.Get(ctx, id); !ok {
		t.Fatal("miss while Redis is up")
	}

	for name, takeAway := range map[string]func(){"Refused": p.Cut, "Stalled": p.Stall} {
		t.Run(name, func(t *testing.T) {
			takeAway()
			for range 3 {
				if v, ok := r.Get(ctx, id); ok {
					t.Fatalf("Get = %q while Redis is unreachable, want a miss", v)
				}
				r.Add(ctx, id, doc) // must not panic or block beyond the timeout
				time.Sleep(2 * time.Millisecond)
			}
			p.Restore()
			deadline := time.Now().Add(10 * time.Second)
			for {
				if v, ok := r.Get(ctx, id); ok && v == doc {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the cache did not recover after Redis came back")
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
	if n := strings.Count(logs.String(), "persisted query store unreachable"); n != 2 {
		t.Errorf("logged unreachable %d times for two outages, want 2:\n%s", n, logs.String())
	}
	if n := strings.Count(logs.String(), "reachable again"); n != 2 {
		t.Errorf("logged recovery %d times, want 2", n)
	}
}

func TestNewRedis_Errors(t *testing.T) {
	for _, tc := range []struct{ name, url string }{
		{"Empty", ""},
		{"Unreachable", "redis://u:s3cret@127.0.0.1:1/0"},
		{"Malformed", "redis://u:s3cret@[::1"},
		{"WrongScheme", "http://u:s3cret@127.0.0.1:6379"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := persisted.NewRedis(context.Background(), persisted.RedisConfig{URL: tc.url})
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), "REDIS_URL") || strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q: want one naming REDIS_URL without the password", err)
			}
		})
	}
}
