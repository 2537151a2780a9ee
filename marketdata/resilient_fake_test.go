package marketdata_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/marketdata"
)

// t0 is where fake clocks start.
var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// fakeClock is a manual clock. Its Sleep records the wait and moves the
// clock on by it, so backoffs and budget waits pass at once.
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	slept []time.Duration
}

func newClock() *fakeClock { return &fakeClock{t: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.slept = append(c.slept, d)
	c.t = c.t.Add(max(d, 0))
	c.mu.Unlock()
	return ctx.Err()
}

func (c *fakeClock) Slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.slept)
}

// fakeUpstream is a counting provider. It quotes every id except those in
// unknown, with the call's number (from 1) as the price and the clock's
// time as AsOf; fail, gate and entered let a test make calls fail, hang
// and announce themselves.
type fakeUpstream struct {
	now     func() time.Time
	unknown map[string]bool

	mu      sync.Mutex
	calls   [][]string
	at      []time.Time
	fail    func(call int) error // the error of call n (from 0), or nil
	gate    chan struct{}        // if set, calls wait until it is closed
	entered chan int             // if set, receives each call's number on entry
	ctxErrs []error              // each gated call's ctx.Err() when released
}

func newUpstream(now func() time.Time) *fakeUpstream {
	return &fakeUpstream{now: now, unknown: map[string]bool{}}
}

func (f *fakeUpstream) Quotes(ctx context.Context, ids []string, cur marketgraph.Currency) (map[string]*marketgraph.Quote, error) {
	f.mu.Lock()
	n := len(f.calls)
	f.calls = append(f.calls, slices.Clone(ids))
	f.at = append(f.at, f.now())
	fail, gate, entered := f.fail, f.gate, f.entered
	f.mu.Unlock()

	if entered != nil {
		entered <- n
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		f.mu.Lock()
		f.ctxErrs = append(f.ctxErrs, ctx.Err())
		f.mu.Unlock()
	}
	if fail != nil {
		if err := fail(n); err != nil {
			return nil, err
		}
	}
	out := make(map[string]*marketgraph.Quote, len(ids))
	for _, id := range ids {
		if !f.unknown[id] {
			out[id] = &marketgraph.Quote{AssetID: id, Price: float64(n + 1), Currency: cur, AsOf: f.now()}
		}
	}
	return out, nil
}

func (f *fakeUpstream) setFail(fn func(int) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = fn
}

func (f *fakeUpstream) Calls() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fakeUpstream) N() int { return len(f.Calls()) }

// always fails every call with err.
func always(err error) func(int) error { return func(int) error { return err } }

// upstreamErr is what an HTTP provider client returns: a status, whether
// it is worth retrying, and the provider's Retry-After.
type upstreamErr struct {
	status int
	after  time.Duration
	temp   bool
}

func (e *upstreamErr) Error() string                  { return fmt.Sprintf("upstream answered %d", e.status) }
func (e *upstreamErr) RetryAfterDelay() time.Duration { return e.after }
func (e *upstreamErr) IsTemporary() bool              { return e.temp }
func (e *upstreamErr) Unwrap() error {
	return marketgraph.Errorf(marketgraph.EUPSTREAM, "market data provider answered %d", e.status)
}

var _ marketdata.RetryAfterError = (*upstreamErr)(nil)

// ids returns n asset ids.
func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%03d", prefix, i)
	}
	return out
}

// newResilient wraps up with cfg, on clock unless cfg has its own.
func newResilient(up marketdata.Provider, clock *fakeClock, cfg marketdata.ResilienceConfig) *marketdata.Resilient {
	if cfg.Now == nil {
		cfg.Now = clock.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = clock.Sleep
	}
	return marketdata.NewResilient(up, cfg)
}

// mustQuotes calls r and fails the test on an error.
func mustQuotes(t *testing.T, r *marketdata.Resilient, ids ...string) map[string]*marketgraph.Quote {
	t.Helper()
	qs, err := r.Quotes(context.Background(), ids, marketgraph.CurrencyUSD)
	if err != nil {
		t.Fatalf("Quotes(%v): %v", ids, err)
	}
	return qs
}
