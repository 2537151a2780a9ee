package marketdata_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/marketdata"
)

func TestResilient_Retry(t *testing.T) {
	// failFirst fails the first n calls with err.
	failFirst := func(n int, err error) func(int) error {
		return func(call int) error {
			if call < n {
				return err
			}
			return nil
		}
	}
	unavailable := &upstreamErr{status: 503, temp: true}
	// setup has no budget and no cache, so every Quotes call goes upstream.
	setup := func(fail func(int) error, cfg marketdata.ResilienceConfig) (*fakeClock, *fakeUpstream, *marketdata.Resilient) {
		clock := newClock()
		up := newUpstream(clock.Now)
		up.setFail(fail)
		cfg.CallsPerMinute, cfg.CacheTTL = -1, -1
		return clock, up, newResilient(up, clock, cfg)
	}

	t.Run("TemporaryErrorsRetried", func(t *testing.T) {
		clock, up, r := setup(failFirst(2, unavailable), marketdata.ResilienceConfig{})
		if err := ask(r, "a"); err != nil {
			t.Fatalf("got %v, want the third attempt to succeed", err)
		}
		if up.N() != 3 {
			t.Errorf("upstream calls = %d, want 3", up.N())
		}
		slept := clock.Slept()
		if len(slept) != 2 {
			t.Fatalf("slept %v, want two backoffs", slept)
		}
		for i, d := range slept {
			if ceil := marketdata.DefaultBackoffBase << i; d < 0 || d > ceil {
				t.Errorf("backoff %d = %v, want within [0, %v]", i, d, ceil)
			}
		}
	})
	t.Run("GivesUpAfterMaxRetries", func(t *testing.T) {
		_, up, r := setup(always(unavailable), marketdata.ResilienceConfig{MaxRetries: 2})
		if err := ask(r, "a"); marketgraph.ErrorCode(err) != marketgraph.EUPSTREAM {
			t.Errorf("got %v, want %s", err, marketgraph.EUPSTREAM)
		}
		if up.N() != 3 {
			t.Errorf("upstream calls = %d, want 3", up.N())
		}
	})
	t.Run("NetworkErrorsRetried", func(t *testing.T) {
		refused := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
		_, up, r := setup(failFirst(1, refused), marketdata.ResilienceConfig{})
		if err := ask(r, "a"); err != nil || up.N() != 2 {
			t.Errorf("got %v after %d upstream calls, want success on the second", err, up.N())
		}
	})
	t.Run("PermanentErrorsNotRetried", func(t *testing.T) {
		for name, err := range map[string]error{
			"NotTemporary": &upstreamErr{status: 401},
			"Plain":        errors.New("malformed response"),
			"Canceled":     context.Canceled,
			"Panic":        nil, // the provider panics
		} {
			t.Run(name, func(t *testing.T) {
				fail := always(err)
				if err == nil {
					fail = func(int) error { panic("provider bug") }
				}
				_, up, r := setup(fail, marketdata.ResilienceConfig{})
				if err := ask(r, "a"); marketgraph.ErrorCode(err) != marketgraph.EUPSTREAM {
					t.Errorf("got %v, want %s", err, marketgraph.EUPSTREAM)
				}
				if up.N() != 1 {
					t.Errorf("upstream calls = %d, want 1", up.N())
				}
			})
		}
	})
	t.Run("HonoursRetryAfter", func(t *testing.T) {
		limited := &upstreamErr{status: 429, after: 2 * time.Second, temp: true}
		clock, up, r := setup(failFirst(1, limited), marketdata.ResilienceConfig{CallTimeout: 10 * time.Second})
		if err := ask(r, "a"); err != nil || up.N() != 2 {
			t.Fatalf("got %v after %d upstream calls, want success on the second", err, up.N())
		}
		if slept := clock.Slept(); len(slept) != 1 || slept[0] < 2*time.Second {
			t.Errorf("slept %v, want at least the provider's 2s", slept)
		}
	})
	t.Run("RetryAfterBeyondDeadlineStops", func(t *testing.T) {
		limited := &upstreamErr{status: 429, after: 10 * time.Second, temp: true}
		clock, up, r := setup(always(limited), marketdata.ResilienceConfig{CallTimeout: 3 * time.Second})
		if err := ask(r, "a"); marketgraph.ErrorCode(err) != marketgraph.EUPSTREAM {
			t.Errorf("got %v, want %s", err, marketgraph.EUPSTREAM)
		}
		if up.N() != 1 || len(clock.Slept()) != 0 {
			t.Errorf("%d upstream calls, slept %v; want 1 call and no wait", up.N(), clock.Slept())
		}
	})
	t.Run("JitterBounded", func(t *testing.T) {
		base, ceil := 100*time.Millisecond, 400*time.Millisecond
		clock, _, r := setup(always(unavailable), marketdata.ResilienceConfig{
			BackoffBase: base, BackoffMax: ceil, MaxRetries: 6, CallTimeout: time.Hour, BreakerThreshold: 1 << 20,
		})
		for range 20 {
			ask(r, "a")
		}
		slept := clock.Slept()
		if len(slept) != 20*6 {
			t.Fatalf("slept %d times, want 120", len(slept))
		}
		below := 0
		for i, d := range slept {
			limit := min(ceil, base<<(i%6))
			if d < 0 || d > limit {
				t.Errorf("backoff %d of a call = %v, want within [0, %v]", i%6, d, limit)
			}
			if d < limit {
				below++
			}
		}
		if below == 0 {
			t.Error("every backoff was its ceiling: no jitter")
		}
	})
	t.Run("SlowProviderTimesOut", func(t *testing.T) {
		clock := newClock()
		up := newUpstream(clock.Now)
		up.gate = make(chan struct{}) // never opened: the provider hangs
		r := newResilient(up, clock, marketdata.ResilienceConfig{CallTimeout: 50 * time.Millisecond})
		err := ask(r, "a")
		if marketgraph.ErrorCode(err) != marketgraph.EUPSTREAM || marketgraph.ErrorMessage(err) != "market data provider timed out" {
			t.Errorf("got %v, want %s: timed out", err, marketgraph.EUPSTREAM)
		}
		if up.N() != 1 {
			t.Errorf("upstream calls = %d, want 1: a deadline is not retried", up.N())
		}
	})
}
