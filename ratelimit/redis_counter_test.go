package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/httprate"

	"github.com/marketgraph/marketgraph/internal/redistest"
	"github.com/marketgraph/marketgraph/ratelimit"
)

// Two replicas, each with its own Redis client, hammering one key from many
// goroutines through the real httprate limiter: together they admit
// exactly the limit, never more.
func TestRedisCounter_TwoReplicasNeverExceedLimit(t *testing.T) {
	prefix := testPrefix()
	const limit = 50
	// A day-long window: the test cannot straddle two windows, so exactly
	// the limit must pass.
	var replicas []*httprate.RateLimiter
	for range 2 {
		r := newRedis(t, ratelimit.RedisConfig{Prefix: prefix, Timeout: 5 * time.Second})
		replicas = append(replicas, httprate.NewRateLimiter(limit, 24*time.Hour,
			httprate.WithKeyFuncs(httprate.Key("shared")),
			httprate.WithLimitCounter(r.Counter()),
			httprate.WithErrorHandler(func(w http.ResponseWriter, _ *http.Request, err error) {
				if errors.Is(err, ratelimit.ErrLimited) {
					w.WriteHeader(http.StatusTooManyRequests)
					return
				}
				t.Errorf("counter error: %v", err)
				w.WriteHeader(http.StatusInternalServerError)
			})))
	}

	var allowed, refused atomic.Int64
	var wg sync.WaitGroup
	for g := range 16 {
		h := replicas[g%2].Handler(ok)
		wg.Go(func() {
			for range 20 {
				switch code := serve(h, request("203.0.113.7:1")).Code; code {
				case http.StatusOK:
					allowed.Add(1)
				case http.StatusTooManyRequests:
					refused.Add(1)
				default:
					t.Errorf("status %d", code)
				}
			}
		})
	}
	wg.Wait()
	if got := allowed.Load(); got != limit {
		t.Errorf("%d requests allowed across both replicas, want exactly %d (%d refused)", got, limit, refused.Load())
	}
}

// The same through two Limiters: the second replica sees the first's
// requests in its headers and refusals.
func TestLimiter_RedisSharedAcrossReplicas(t *testing.T) {
	prefix := testPrefix()
	var replicas []http.Handler
	for range 2 {
		r := newRedis(t, ratelimit.RedisConfig{Prefix: prefix, Timeout: 5 * time.Second})
		replicas = append(replicas, newHandler(t, ratelimit.Config{AnonymousPerMinute: 4, Redis: r}))
	}
	for i, want := range []struct {
		code      int
		remaining string
	}{{200, "3"}, {200, "2"}, {200, "1"}, {200, "0"}, {429, "0"}, {429, "0"}} {
		w := serve(replicas[i%2], request("203.0.113.7:1"))
		if w.Code != want.code {
			t.Fatalf("request %d on replica %d: status %d, want %d", i+1, i%2+1, w.Code, want.code)
		}
		checkHeader(t, w, "X-RateLimit-Limit", "4")
		checkHeader(t, w, "X-RateLimit-Remaining", want.remaining)
		if want.code == 429 {
			checkHeader(t, w, "Retry-After", "60")
			if !strings.Contains(w.Body.String(), `"code":"RATE_LIMITED"`) {
				t.Errorf("body %s: want code RATE_LIMITED", w.Body)
			}
		}
	}
}

// Counts live in one key per caller and window, readable as the previous
// window once the next begins, expiring after two windows; IncrementBy
// enforces the sliding-window limit itself.
func TestRedisCounter_Windows(t *testing.T) {
	prefix := testPrefix()
	r := newRedis(t, ratelimit.RedisConfig{Prefix: prefix, Timeout: 5 * time.Second})
	c := r.Counter()
	c.Config(10, time.Minute)
	w := time.Now().UTC().Truncate(time.Minute)
	next := w.Add(time.Minute)
	ctx := context.Background()

	if err := c.IncrementBy("k", w, 3); err != nil {
		t.Fatal(err)
	}
	if curr, prev, err := c.Get("k", w, w.Add(-time.Minute)); err != nil || curr != 3 || prev != 0 {
		t.Errorf("Get(current) = %d, %d, %v; want 3, 0", curr, prev, err)
	}
	if curr, prev, err := c.Get("k", next, w); err != nil || curr != 0 || prev != 3 {
		t.Errorf("Get(next window) = %d, %d, %v; want 0, 3", curr, prev, err)
	}

	key := prefix + "req:{k}:" + strconv.FormatInt(w.UnixMilli(), 10)
	if ttl, err := admin(t).PTTL(ctx, key).Result(); err != nil || ttl <= time.Minute || ttl > 2*time.Minute {
		t.Errorf("PTTL %s = %v, %v; want between one and two windows", key, ttl, err)
	}

	if err := c.IncrementBy("k", w, 8); !errors.Is(err, ratelimit.ErrLimited) {
		t.Errorf("3 + 8 over a limit of 10: err = %v, want ErrLimited", err)
	}
	if err := c.IncrementBy("k", w, 7); err != nil {
		t.Errorf("3 + 7 within a limit of 10: err = %v", err)
	}
	if curr, _, _ := c.Get("k", w, w.Add(-time.Minute)); curr != 10 {
		t.Errorf("count = %d after a refused 8 and an allowed 7, want 10", curr)
	}
	// At the very start of the next window the previous one still weighs
	// fully in the sliding window.
	if err := c.IncrementBy("k", next, 1); !errors.Is(err, ratelimit.ErrLimited) {
		t.Errorf("next window, previous full: err = %v, want ErrLimited", err)
	}
	if err := c.IncrementBy("other", w, 10); err != nil {
		t.Errorf("another key: err = %v", err)
	}
}

// While Redis is unreachable, failing open serves everyone and failing
// closed refuses with 503; the outage and the recovery are logged once
// each, and Health says what is going on.
func TestRedis_Unreachable(t *testing.T) {
	for _, failOpen := range []bool{true, false} {
		t.Run(fmt.Sprintf("FailOpen=%t", failOpen), func(t *testing.T) {
			p := redistest.NewProxy(t)
			var logs logBuffer
			r := newRedis(t, ratelimit.RedisConfig{URL: p.URL(), FailOpen: failOpen, Backoff: 20 * time.Millisecond, Logger: logs.logger()})
			h := newHandler(t, ratelimit.Config{AnonymousPerMinute: 2, Redis: r})
			budget := r.Budget(ratelimit.BudgetOptions{})
			ctx := context.Background()

			if w := serve(h, request("203.0.113.7:1")); w.Code != http.StatusOK {
				t.Fatalf("Redis up: status %d", w.Code)
			}
			p.Cut()
			for i := range 10 {
				w := serve(h, request("203.0.113.7:1"))
				if failOpen {
					if w.Code != http.StatusOK {
						t.Fatalf("request %d failing open: status %d, want 200", i, w.Code)
					}
					continue
				}
				if w.Code != http.StatusServiceUnavailable {
					t.Fatalf("request %d failing closed: status %d, want 503", i, w.Code)
				}
				if n, err := strconv.Atoi(w.Header().Get("Retry-After")); err != nil || n < 1 {
					t.Errorf("Retry-After = %q, want whole seconds", w.Header().Get("Retry-After"))
				}
				if !strings.Contains(w.Body.String(), `"code":"RATE_LIMITED"`) || !strings.Contains(w.Body.String(), "temporarily unavailable") {
					t.Errorf("body %s: want a RATE_LIMITED unavailable error", w.Body)
				}
			}

			st, err := budget.Spend(ctx, "k", 5, 100)
			if failOpen && (err != nil || !st.Allowed) {
				t.Errorf("Spend failing open = %+v, %v; want allowed", st, err)
			}
			if !failOpen && (!errors.Is(err, ratelimit.ErrUnavailable) || st.Allowed) {
				t.Errorf("Spend failing closed = %+v, %v; want ErrUnavailable", st, err)
			}

			state, degraded := r.Health(ctx)
			if !degraded || !strings.Contains(state, "unreachable") || strings.Contains(state, "open") != failOpen {
				t.Errorf("Health = %q, %t while Redis is unreachable", state, degraded)
			}
			if n := strings.Count(logs.String(), "rate limit store unreachable"); n != 1 {
				t.Errorf("outage logged %d times, want once:\n%s", n, logs.String())
			}

			p.Restore()
			deadline := time.Now().Add(waitLimit)
			for {
				if state, degraded := r.Health(ctx); state == "ok" && !degraded {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("Health never said ok after Redis came back")
				}
				time.Sleep(10 * time.Millisecond)
			}
			if w := serve(h, request("203.0.113.7:1")); w.Code != http.StatusOK {
				t.Errorf("Redis back: status %d, want 200", w.Code)
			}
			if n := strings.Count(logs.String(), "rate limit store reachable again"); n != 1 {
				t.Errorf("recovery logged %d times, want once:\n%s", n, logs.String())
			}
		})
	}
}

// A Redis that accepts connections but never answers costs a request the
// per-call timeout, not the client's read timeout.
func TestRedis_StalledTimesOut(t *testing.T) {
	p := redistest.NewProxy(t)
	r := newRedis(t, ratelimit.RedisConfig{URL: p.URL(), FailOpen: true, Timeout: 50 * time.Millisecond})
	h := newHandler(t, ratelimit.Config{AnonymousPerMinute: 2, Redis: r})
	p.Stall()

	done := make(chan int, 1)
	go func() { done <- serve(h, request("203.0.113.7:1")).Code }()
	select {
	case code := <-done:
		if code != http.StatusOK {
			t.Errorf("status %d failing open, want 200", code)
		}
	case <-time.After(waitLimit):
		t.Fatal("the request waited on a stalled Redis")
	}
}
