package marketdata_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/marketdata"
)

func TestResilient_Budget(t *testing.T) {
	t.Run("BurstNeverExceedsCallsPerMinute", func(t *testing.T) {
		// A bubble's clock is fake and jumps when every goroutine waits:
		// the half hour this burst takes passes at once, on the real
		// timers of the default Sleep.
		synctest.Test(t, func(t *testing.T) {
			const perMinute = 30
			up := newUpstream(time.Now)
			r := marketdata.NewResilient(up, marketdata.ResilienceConfig{
				CallsPerMinute: perMinute, CallTimeout: time.Hour, MaxRetries: -1,
			})
			var wg sync.WaitGroup
			for i := range 1000 {
				wg.Go(func() {
					if err := ask(r, fmt.Sprintf("coin-%04d", i)); err != nil {
						t.Errorf("call %d: %v", i, err)
					}
				})
			}
			wg.Wait()

			up.mu.Lock()
			at := slices.Clone(up.at)
			up.mu.Unlock()
			if len(at) != 1000 {
				t.Fatalf("upstream calls = %d, want 1000 (one per distinct id)", len(at))
			}
			slices.SortFunc(at, time.Time.Compare)
			for i := perMinute; i < len(at); i++ {
				if d := at[i].Sub(at[i-perMinute]); d < time.Minute {
					t.Fatalf("calls %d to %d went within %v: more than %d in a minute", i-perMinute, i, d, perMinute)
				}
			}
		})
	})
	t.Run("ExhaustedIsAFailure", func(t *testing.T) {
		clock := newClock()
		up := newUpstream(clock.Now)
		r := newResilient(up, clock, marketdata.ResilienceConfig{
			CallsPerMinute: 1, Burst: 1, CallTimeout: 3 * time.Second, CacheTTL: 10 * time.Second, MaxRetries: -1,
		})
		known := mustQuotes(t, r, "a")
		clock.Advance(11 * time.Second) // a expired; the next token is 49 s away
		qs, err := r.Quotes(context.Background(), []string{"a", "b"}, marketgraph.CurrencyUSD)
		if q := qs["a"]; q == nil || !q.Stale || !q.AsOf.Equal(known["a"].AsOf) {
			t.Errorf("a: got %+v, want the known quote marked stale", q)
		}
		if _, ok := qs["b"]; ok || marketgraph.ErrorCode(err) != marketgraph.EUPSTREAM {
			t.Errorf("b: got %v and error %v, want no quote and %s", qs["b"], err, marketgraph.EUPSTREAM)
		}
		if up.N() != 1 {
			t.Errorf("upstream calls = %d, want 1", up.N())
		}
		if h := r.Health(); h.ConsecutiveFailures != 0 {
			t.Errorf("Health() = %+v: an exhausted budget counted against the provider", h)
		}
	})
	t.Run("RetriesSpendIt", func(t *testing.T) {
		clock := newClock()
		up := newUpstream(clock.Now)
		up.setFail(always(&upstreamErr{status: 502, temp: true}))
		r := newResilient(up, clock, marketdata.ResilienceConfig{
			CallsPerMinute: 2, Burst: 2, CallTimeout: 3 * time.Second, MaxRetries: 5,
		})
		if err := ask(r, "a"); marketgraph.ErrorMessage(err) != "market data provider answered 502" {
			t.Errorf("got %v, want the provider's last error", err)
		}
		if up.N() != 2 {
			t.Errorf("upstream calls = %d, want 2: the third attempt has no token", up.N())
		}
	})
	t.Run("RetryAfterHoldsEveryCall", func(t *testing.T) {
		clock := newClock()
		up := newUpstream(clock.Now)
		up.setFail(func(n int) error {
			if n == 0 {
				return &upstreamErr{status: 429, after: 5 * time.Second, temp: true}
			}
			return nil
		})
		r := newResilient(up, clock, marketdata.ResilienceConfig{CallTimeout: 3 * time.Second, MaxRetries: -1})
		if err := ask(r, "a"); marketgraph.ErrorCode(err) != marketgraph.EUPSTREAM {
			t.Fatalf("got %v, want %s", err, marketgraph.EUPSTREAM)
		}
		if err := ask(r, "b"); marketgraph.ErrorCode(err) != marketgraph.EUPSTREAM || up.N() != 1 {
			t.Errorf("within Retry-After: got %v after %d upstream calls, want a failure without a call", err, up.N())
		}
		clock.Advance(5 * time.Second)
		if err := ask(r, "c"); err != nil || up.N() != 2 {
			t.Errorf("after Retry-After: got %v after %d upstream calls, want a successful call", err, up.N())
		}
	})
	t.Run("RetryAfterCappedAtCooldown", func(t *testing.T) {
		clock := newClock()
		up := newUpstream(clock.Now)
		up.setFail(func(n int) error {
			if n == 0 {
				return &upstreamErr{status: 429, after: 24 * time.Hour, temp: true}
			}
			return nil
		})
		r := newResilient(up, clock, marketdata.ResilienceConfig{CallTimeout: 3 * time.Second, MaxRetries: -1, BreakerCooldown: 30 * time.Second})
		if err := ask(r, "a"); marketgraph.ErrorCode(err) != marketgraph.EUPSTREAM {
			t.Fatalf("got %v, want %s", err, marketgraph.EUPSTREAM)
		}
		clock.Advance(31 * time.Second)
		if err := ask(r, "b"); err != nil || up.N() != 2 {
			t.Errorf("a day-long Retry-After still holds after the cooldown: got %v after %d upstream calls", err, up.N())
		}
	})
}
