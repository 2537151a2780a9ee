package marketdata_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/internal/logtest"
	"github.com/marketgraph/marketgraph/marketdata"
)

// logBuffer is a logger's output, safe for its concurrent writes.
type logBuffer struct{ logtest.Buffer }

// Count is how many times s was logged.
func (b *logBuffer) Count(s string) int { return strings.Count(b.String(), s) }

const circuitOpenMessage = "market data provider unavailable (circuit open)"

func TestResilient_Breaker(t *testing.T) {
	const cooldown = 30 * time.Second
	down := always(&upstreamErr{status: 503, temp: true})

	// open returns a Resilient whose breaker (threshold 3) has just opened:
	// every call goes upstream (no cache, no retries, no stale answers).
	open := func(t *testing.T) (*fakeClock, *fakeUpstream, *marketdata.Resilient, *logBuffer) {
		t.Helper()
		clock := newClock()
		up := newUpstream(clock.Now)
		up.setFail(down)
		logs := &logBuffer{}
		r := newResilient(up, clock, marketdata.ResilienceConfig{
			BreakerThreshold: 3, BreakerCooldown: cooldown,
			MaxRetries: -1, CacheTTL: -1, StaleFor: -1, CallsPerMinute: -1,
			Logger: slog.New(slog.NewTextHandler(logs, nil)),
		})
		for i := range 3 {
			if h := r.Health(); h.Breaker != marketdata.BreakerClosed {
				t.Fatalf("after %d failures the breaker is %s, want closed", i, h.Breaker)
			}
			if err := ask(r, "a"); marketgraph.ErrorCode(err) != marketgraph.EUPSTREAM {
				t.Fatalf("failure %d: got %v, want %s", i+1, err, marketgraph.EUPSTREAM)
			}
		}
		if h := r.Health(); h.Breaker != marketdata.BreakerOpen || h.ConsecutiveFailures != 3 || h.LastError == "" {
			t.Fatalf("Health() = %+v after 3 failures, want open with 3 failures and the last error", h)
		}
		return clock, up, r, logs
	}

	t.Run("FailsFastWhileOpen", func(t *testing.T) {
		clock, up, r, _ := open(t)
		for range 5 {
			if err := ask(r, "a"); marketgraph.ErrorMessage(err) != circuitOpenMessage || marketgraph.ErrorCode(err) != marketgraph.EUPSTREAM {
				t.Fatalf("got %v, want %s %q", err, marketgraph.EUPSTREAM, circuitOpenMessage)
			}
		}
		clock.Advance(cooldown - time.Second)
		if err := ask(r, "a"); marketgraph.ErrorMessage(err) != circuitOpenMessage {
			t.Fatalf("before the cooldown: got %v, want the circuit open", err)
		}
		if up.N() != 3 {
			t.Errorf("upstream calls = %d, want 3: none while open", up.N())
		}
	})
	t.Run("ProbeSuccessCloses", func(t *testing.T) {
		clock, up, r, logs := open(t)
		clock.Advance(cooldown)
		if h := r.Health(); h.Breaker != marketdata.BreakerHalfOpen {
			t.Fatalf("after the cooldown the breaker is %s, want half-open", h.Breaker)
		}
		up.setFail(nil)
		if err := ask(r, "a"); err != nil {
			t.Fatalf("probe: %v", err)
		}
		h := r.Health()
		if h.Breaker != marketdata.BreakerClosed || h.ConsecutiveFailures != 0 || h.LastError != "" || !h.LastSuccess.Equal(clock.Now()) {
			t.Errorf("Health() = %+v after the probe succeeded, want closed, cleared, last success now", h)
		}
		if err := ask(r, "b"); err != nil || up.N() != 5 {
			t.Errorf("after closing: error %v and %d upstream calls, want calls to go through", err, up.N())
		}
		for msg, want := range map[string]int{"circuit opened": 1, "circuit half-open": 1, "circuit closed": 1} {
			if n := logs.Count(msg); n != want {
				t.Errorf("log %q written %d times, want %d", msg, n, want)
			}
		}
	})
	t.Run("ProbeFailureReopens", func(t *testing.T) {
		clock, up, r, logs := open(t)
		clock.Advance(cooldown)
		if err := ask(r, "a"); marketgraph.ErrorMessage(err) == circuitOpenMessage || up.N() != 4 {
			t.Fatalf("probe: got %v after %d upstream calls, want the provider's error from call 4", err, up.N())
		}
		if h := r.Health(); h.Breaker != marketdata.BreakerOpen {
			t.Fatalf("after a failed probe the breaker is %s, want open", h.Breaker)
		}
		if err := ask(r, "a"); marketgraph.ErrorMessage(err) != circuitOpenMessage || up.N() != 4 {
			t.Errorf("after a failed probe: got %v, %d upstream calls; want a fast failure", err, up.N())
		}
		clock.Advance(cooldown)
		ask(r, "a")
		if up.N() != 5 {
			t.Errorf("upstream calls = %d after a second cooldown, want a second probe", up.N())
		}
		if n := logs.Count("circuit opened"); n != 3 {
			t.Errorf("log \"circuit opened\" written %d times, want 3 (once per opening)", n)
		}
	})
	t.Run("OneProbeAtATime", func(t *testing.T) {
		clock, up, r, _ := open(t)
		clock.Advance(cooldown)
		up.setFail(nil)
		up.mu.Lock()
		up.gate, up.entered = make(chan struct{}), make(chan int, 1)
		up.mu.Unlock()
		probe := make(chan error, 1)
		go func() { probe <- ask(r, "a") }()
		<-up.entered
		if err := ask(r, "b"); marketgraph.ErrorMessage(err) != circuitOpenMessage {
			t.Errorf("during the probe: got %v, want a fast failure", err)
		}
		close(up.gate)
		if err := <-probe; err != nil {
			t.Fatalf("probe: %v", err)
		}
		if up.N() != 4 {
			t.Errorf("upstream calls = %d, want 4: the probe only", up.N())
		}
		if h := r.Health(); h.Breaker != marketdata.BreakerClosed {
			t.Errorf("breaker %s after the probe succeeded, want closed", h.Breaker)
		}
	})
	t.Run("ProbeWithoutBudgetReleased", func(t *testing.T) {
		clock := newClock()
		up := newUpstream(clock.Now)
		up.setFail(down)
		r := newResilient(up, clock, marketdata.ResilienceConfig{
			BreakerThreshold: 3, BreakerCooldown: cooldown, CallsPerMinute: 3, Burst: 3,
			CallTimeout: 3 * time.Second, MaxRetries: -1, CacheTTL: -1,
		})
		for range 3 {
			ask(r, "a")
		}
		clock.Advance(cooldown) // open → half-open, but this minute's 3 calls are spent
		if err := ask(r, "a"); err == nil || up.N() != 3 {
			t.Fatalf("probe without budget: got %v after %d upstream calls, want a failure and no call", err, up.N())
		}
		clock.Advance(cooldown) // the budget's minute is over
		up.setFail(nil)
		if err := ask(r, "a"); err != nil || up.N() != 4 {
			t.Errorf("next probe: got %v after %d upstream calls, want it to reach the provider", err, up.N())
		}
		if h := r.Health(); h.Breaker != marketdata.BreakerClosed {
			t.Errorf("breaker %s, want closed", h.Breaker)
		}
	})
}

// ask asks r for the USD quotes of ids and returns the error.
func ask(r *marketdata.Resilient, ids ...string) error {
	_, err := r.Quotes(context.Background(), ids, marketgraph.CurrencyUSD)
	return err
}
