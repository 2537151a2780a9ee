package ingest_test

import (
	"context"
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/ingest"
	"github.com/marketgraph/marketgraph/pubsub"
)

// noon is when the tests' ticks happen, half a day into the simulation.
var noon = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

type rig struct {
	store *fakeStore
	clock *clock
	bus   *pubsub.Local
	p     *ingest.Pipeline
}

// newRig builds a pipeline over the simulator tracking ids (nil: the
// catalog's top assets); quotes, when non-nil, wraps the simulator.
func newRig(t *testing.T, store *fakeStore, ids []string, quotes func(marketgraph.QuoteProvider) marketgraph.QuoteProvider) *rig {
	r := &rig{store: store, clock: &clock{t: noon}, bus: pubsub.NewLocal(1024)}
	t.Cleanup(func() { r.bus.Close() })
	var q marketgraph.QuoteProvider = newSimulator(r.clock)
	if quotes != nil {
		q = quotes(q)
	}
	cfg := ingest.Config{Store: store, Quotes: q, Bus: r.bus, Now: r.clock.Now}
	if ids != nil {
		cfg.Assets = func(context.Context) ([]string, error) { return ids, nil }
	}
	r.p = ingest.New(cfg)
	return r
}

// tick sets the clock to at and runs one tick.
func (r *rig) tick(t *testing.T, at time.Time) {
	t.Helper()
	r.clock.Set(at)
	if err := r.p.Tick(t.Context(), at); err != nil {
		t.Fatalf("Tick(%s): %v", at.Format(time.TimeOnly), err)
	}
}

// every returns the instants from start, step apart, before end.
func every(start, end time.Time, step time.Duration) []time.Time {
	var out []time.Time
	for t := start; t.Before(end); t = t.Add(step) {
		out = append(out, t)
	}
	return out
}

func TestPipeline_Candles(t *testing.T) {
	ids := []string{"bitcoin", "ethereum"}
	r := newRig(t, newFakeStore(testAssets...), nil, nil)
	ticksSub := subscribe(t, r.bus, marketgraph.TickTopic("bitcoin"))
	at := every(noon.Add(5*time.Second), noon.Add(2*time.Minute), 10*time.Second)
	for _, a := range at {
		r.tick(t, a)
	}
	want := ticksAt(t, newSimulator(r.clock), ids, at...)

	for _, interval := range []marketgraph.CandleInterval{marketgraph.IntervalMinute, marketgraph.IntervalHour, marketgraph.IntervalDay} {
		t.Run(string(interval), func(t *testing.T) {
			got := r.store.stored(interval)
			if d := diffCandles(got, direct(want, interval)); d != "" {
				t.Error(d)
			}
			if interval == marketgraph.IntervalMinute && len(got) != 4 {
				t.Errorf("%d minute candles, want 2 per asset", len(got))
			}
		})
	}
	t.Run("OneWritePerTick", func(t *testing.T) {
		if upserts, _ := r.store.counts(); upserts != len(at) {
			t.Errorf("%d UpsertCandles calls for %d ticks", upserts, len(at))
		}
	})
	t.Run("PriceTicks", func(t *testing.T) {
		got := events[marketgraph.PriceTick](t, ticksSub)
		if len(got) != len(at) {
			t.Fatalf("%d ticks published for bitcoin, want %d", len(got), len(at))
		}
		for i, pt := range got {
			if pt.Sequence != uint64(i+1) || pt.AssetID != "bitcoin" || pt.Quote == nil || !pt.At.Equal(at[i]) {
				t.Errorf("tick %d = %+v, want sequence %d at %s", i, pt, i+1, at[i])
			}
		}
	})
}

func TestPipeline_RepeatedTick(t *testing.T) {
	r := newRig(t, newFakeStore(testAssets...), []string{"bitcoin"}, nil)
	sub := subscribe(t, r.bus, marketgraph.TickTopic("bitcoin"))
	r.tick(t, noon.Add(10*time.Second))
	before := r.store.stored(marketgraph.IntervalMinute)
	upserts, _ := r.store.counts()
	_ = events[marketgraph.PriceTick](t, sub)

	// The simulator moves once a second: both quotes repeat the AsOf.
	r.tick(t, noon.Add(10*time.Second))
	r.tick(t, noon.Add(10*time.Second+500*time.Millisecond))

	if d := diffCandles(r.store.stored(marketgraph.IntervalMinute), before); d != "" {
		t.Errorf("repeated ticks changed the candles:\n%s", d)
	}
	if n, _ := r.store.counts(); n != upserts {
		t.Errorf("repeated ticks wrote candles %d more times", n-upserts)
	}
	if got := events[marketgraph.PriceTick](t, sub); len(got) != 0 {
		t.Errorf("repeated ticks published %d ticks", len(got))
	}
}

func TestPipeline_StaleSkipped(t *testing.T) {
	stale := func(q marketgraph.QuoteProvider) marketgraph.QuoteProvider {
		return staleProvider{inner: q, stale: map[string]bool{"bitcoin": true}}
	}
	r := newRig(t, newFakeStore(testAssets...), []string{"bitcoin", "ethereum"}, stale)
	btc := subscribe(t, r.bus, marketgraph.TickTopic("bitcoin"))
	eth := subscribe(t, r.bus, marketgraph.TickTopic("ethereum"))
	r.tick(t, noon.Add(10*time.Second))
	r.tick(t, noon.Add(20*time.Second))
	for _, c := range r.store.stored(marketgraph.IntervalMinute) {
		if c.AssetID == "bitcoin" {
			t.Errorf("a candle was built from stale quotes: %+v", c)
		}
	}
	if n := len(events[marketgraph.PriceTick](t, btc)); n != 0 {
		t.Errorf("%d stale ticks published", n)
	}
	if n := len(events[marketgraph.PriceTick](t, eth)); n != 2 {
		t.Errorf("%d fresh ticks published, want 2", n)
	}
}

// seedHours stores n hour bars of bitcoin before noon, rising steadily
// from 90 % to 100 % of top: RSI stays at 100 and SMA20 above SMA50, so no
// indicator fires on them.
func seedHours(s *fakeStore, n int, top float64) {
	for i := range n {
		c := top * (0.9 + 0.1*float64(i)/float64(n-1))
		s.put(&marketgraph.Candle{
			AssetID: "bitcoin", Interval: marketgraph.IntervalHour, Start: noon.Add(time.Duration(i-n) * time.Hour),
			Open: c, High: c, Low: c, Close: c, Volume: 1,
		})
	}
}

func TestPipeline_SignalsOnHourClose(t *testing.T) {
	store := newFakeStore(testAssets...)
	// Twice the simulated price: the noon bar, built from quotes, is a
	// crash that takes RSI14 from 100 to below 30.
	seedHours(store, 99, 2*testAssets[0].MarketCap/testAssets[0].Supply)
	r := newRig(t, store, []string{"bitcoin"}, nil)
	sub := subscribe(t, r.bus, marketgraph.SignalTopic("bitcoin"))

	r.tick(t, noon.Add(58*time.Minute))
	r.tick(t, noon.Add(59*time.Minute+30*time.Second))
	if got := events[marketgraph.SignalEvent](t, sub); len(got) != 0 {
		t.Fatalf("%d signals before the hour closed, first %+v", len(got), got[0].Signal)
	}

	r.tick(t, noon.Add(time.Hour+5*time.Second))
	got := events[marketgraph.SignalEvent](t, sub)
	if len(got) == 0 {
		t.Fatal("no signal published when the noon hour closed")
	}
	barID := ".hour." + strconv.FormatInt(noon.Unix(), 10)
	for _, ev := range got {
		s := ev.Signal
		if !strings.HasSuffix(s.ID, barID) || !s.EmittedAt.Equal(noon.Add(time.Hour)) {
			t.Errorf("signal %s emitted at %s, want one of the noon bar, emitted at its close", s.ID, s.EmittedAt)
		}
	}
	if got[0].Signal.Indicator != "rsi_14" || got[0].Signal.Kind != marketgraph.SignalBuy {
		t.Errorf("first signal %+v, want the RSI14 BUY of the crash", got[0].Signal)
	}
	_, inserts := r.store.counts()

	t.Run("OnceOnly", func(t *testing.T) {
		r.tick(t, noon.Add(time.Hour+10*time.Second))
		r.tick(t, noon.Add(time.Hour+20*time.Minute))
		if got := events[marketgraph.SignalEvent](t, sub); len(got) != 0 {
			t.Errorf("%d signals re-emitted later in the same hour", len(got))
		}
		if _, n := r.store.counts(); n != inserts {
			t.Errorf("signals computed %d more times in the same hour", n-inserts)
		}
	})
}

// A new pipeline over the same store, as after a takeover, continues the
// bars the first one left: opens stay, volumes are not counted twice.
func TestPipeline_RestartContinuesBar(t *testing.T) {
	ids := []string{"bitcoin"}
	store := newFakeStore(testAssets...)
	first := newRig(t, store, ids, nil)
	at := []time.Time{noon.Add(5 * time.Second), noon.Add(20 * time.Second), noon.Add(70 * time.Second)}
	for _, a := range at {
		first.tick(t, a)
	}
	second := newRig(t, store, ids, nil)
	later := []time.Time{noon.Add(100 * time.Second), noon.Add(110 * time.Second)}
	for _, a := range later {
		second.tick(t, a)
	}
	ticks := ticksAt(t, newSimulator(first.clock), ids, append(at, later...)...)

	t.Run("Minutes", func(t *testing.T) {
		if d := diffCandles(store.stored(marketgraph.IntervalMinute), direct(ticks, marketgraph.IntervalMinute)); d != "" {
			t.Error(d)
		}
	})
	for _, interval := range []marketgraph.CandleInterval{marketgraph.IntervalHour, marketgraph.IntervalDay} {
		t.Run(string(interval), func(t *testing.T) {
			got, want := store.stored(interval), direct(ticks, interval)
			if len(got) != 1 || len(want) != 1 {
				t.Fatalf("%d %s candles, want 1", len(got), interval)
			}
			// Taking the resumed minute's volume out of the stored hour
			// and adding its new volume back is exact up to rounding.
			if math.Abs(got[0].Volume-want[0].Volume) > 1e-9*want[0].Volume {
				t.Errorf("volume %v, want %v", got[0].Volume, want[0].Volume)
			}
			got[0].Volume = want[0].Volume
			if d := diffCandles(got, want); d != "" {
				t.Error(d)
			}
		})
	}
}

func TestPipeline_FailedWriteRetried(t *testing.T) {
	ids := []string{"bitcoin"}
	store := newFakeStore(testAssets...)
	r := newRig(t, store, ids, nil)
	store.failUpsert = true
	r.clock.Set(noon.Add(50 * time.Second))
	if err := r.p.Tick(t.Context(), noon.Add(50*time.Second)); err == nil {
		t.Fatal("Tick hid a failed write")
	}
	store.failUpsert = false
	r.tick(t, noon.Add(65*time.Second))
	ticks := ticksAt(t, newSimulator(r.clock), ids, noon.Add(50*time.Second), noon.Add(65*time.Second))
	if d := diffCandles(store.stored(marketgraph.IntervalMinute), direct(ticks, marketgraph.IntervalMinute)); d != "" {
		t.Errorf("the minute whose write failed was lost:\n%s", d)
	}
}

func TestPipeline_DefaultAssets(t *testing.T) {
	r := newRig(t, newFakeStore(testAssets...), nil, nil)
	r.tick(t, noon.Add(time.Second))
	seen := map[string]bool{}
	for _, c := range r.store.stored(marketgraph.IntervalMinute) {
		seen[c.AssetID] = true
	}
	if !seen["bitcoin"] || !seen["ethereum"] {
		t.Errorf("tracked %v, want the catalog's assets", seen)
	}
}

// fakeLock hands out leadership when the test says so.
type fakeLock struct {
	attempts chan struct{}
	grant    chan context.Context
	released atomic.Int32
}

func (l *fakeLock) Acquire(ctx context.Context) (context.Context, func(), error) {
	l.attempts <- struct{}{}
	select {
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	case held := <-l.grant:
		return held, func() { l.released.Add(1) }, nil
	}
}

// countingProvider counts quote calls and those made while the test says
// the pipeline does not lead.
type countingProvider struct {
	inner      marketgraph.QuoteProvider
	calls      atomic.Int32
	notLeading atomic.Bool
	violations atomic.Int32
}

func (p *countingProvider) Quotes(ctx context.Context, ids []string, cur marketgraph.Currency) (map[string]*marketgraph.Quote, error) {
	p.calls.Add(1)
	if p.notLeading.Load() {
		p.violations.Add(1)
	}
	return p.inner.Quotes(ctx, ids, cur)
}

func TestPipeline_Run(t *testing.T) {
	t.Run("LockLostAndRegained", func(t *testing.T) {
		before := runtime.NumGoroutine()
		c := &clock{t: noon}
		quotes := &countingProvider{inner: newSimulator(c)}
		lock := &fakeLock{attempts: make(chan struct{}, 1), grant: make(chan context.Context)}
		bus := pubsub.NewLocal(64)
		defer bus.Close()
		sub := subscribe(t, bus, marketgraph.TickTopic("bitcoin"))
		p := ingest.New(ingest.Config{
			Store: newFakeStore(testAssets...), Quotes: quotes, Bus: bus, Lock: lock,
			Interval: time.Millisecond, Now: c.Now,
			Assets: func(context.Context) ([]string, error) { return []string{"bitcoin"}, nil },
		})
		ctx, stop := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- p.Run(ctx) }()

		<-lock.attempts
		held, lose := context.WithCancel(ctx)
		lock.grant <- held
		waitFor(t, "ticks while leading", func() bool { return quotes.calls.Load() >= 3 })
		lose()
		<-lock.attempts // back to acquiring: from now on, no tick
		quotes.notLeading.Store(true)
		if n := lock.released.Load(); n != 1 {
			t.Errorf("lock released %d times after it was lost, want 1", n)
		}
		time.Sleep(20 * time.Millisecond) // twenty intervals in which to misbehave
		quotes.notLeading.Store(false)
		if n := quotes.violations.Load(); n != 0 {
			t.Errorf("%d quote calls while not leading", n)
		}

		calls := quotes.calls.Load()
		lock.grant <- ctx
		waitFor(t, "ticks after regaining the lock", func() bool { return quotes.calls.Load() > calls })
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil after its context ended", err)
		}
		// The clock never moved: one tick per leadership was fresh, and
		// each leadership numbers its ticks from 1, as this bus retains
		// nothing to continue from (TestPipeline_SequenceContinues).
		var seqs []uint64
		for _, pt := range events[marketgraph.PriceTick](t, sub) {
			seqs = append(seqs, pt.Sequence)
		}
		if len(seqs) != 2 || seqs[0] != 1 || seqs[1] != 1 {
			t.Errorf("published sequences %v, want [1 1]", seqs)
		}
		sub.Close()
		waitGoroutines(t, before)
	})
	t.Run("NoLeakAfterCancel", func(t *testing.T) {
		before := runtime.NumGoroutine()
		c := &clock{t: noon}
		bus := pubsub.NewLocal(4)
		defer bus.Close()
		store := newFakeStore(testAssets...)
		p := ingest.New(ingest.Config{
			Store: store, Quotes: newSimulator(c), Bus: bus,
			Interval: time.Millisecond, Now: c.Now,
		})
		ctx, stop := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- p.Run(ctx) }()
		waitFor(t, "a candle", func() bool { return len(store.stored(marketgraph.IntervalMinute)) > 0 })
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
		waitGoroutines(t, before)
	})
}

// An asset the store refuses (here: not in its catalog) must not keep the
// other assets' candles out.
func TestPipeline_RefusedAsset(t *testing.T) {
	store := newFakeStore(testAssets[0]) // the simulator also quotes ethereum
	r := newRig(t, store, []string{"bitcoin", "ethereum"}, nil)
	r.clock.Set(noon.Add(10 * time.Second))
	err := r.p.Tick(t.Context(), noon.Add(10*time.Second))
	if marketgraph.ErrorCode(err) != marketgraph.EBADINPUT || !strings.Contains(err.Error(), "ethereum") {
		t.Errorf("Tick = %v, want the refusal of ethereum", err)
	}
	upserts, _ := store.counts()
	r.tick(t, noon.Add(20*time.Second)) // ethereum is left out: no error
	for _, c := range store.stored(marketgraph.IntervalMinute) {
		if c.AssetID != "bitcoin" {
			t.Errorf("stored %+v", c)
		}
	}
	ticks := ticksAt(t, newSimulator(r.clock), []string{"bitcoin"}, noon.Add(10*time.Second), noon.Add(20*time.Second))
	if d := diffCandles(store.stored(marketgraph.IntervalMinute), direct(ticks, marketgraph.IntervalMinute)); d != "" {
		t.Errorf("bitcoin's candles:\n%s", d)
	}
	if n, _ := store.counts(); n != upserts+1 {
		t.Errorf("%d writes for the tick after the refusal, want 1", n-upserts)
	}
}
