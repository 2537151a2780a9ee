package ingest_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/ingest"
	"github.com/marketgraph/marketgraph/marketdata"
	"github.com/marketgraph/marketgraph/pubsub"
)

// fakeStore is an in-test ingest.Writer: candles in a map, signals by id,
// and a record of the writes.
type fakeStore struct {
	mu         sync.Mutex
	assets     []*marketgraph.Asset
	candles    map[storeKey]marketgraph.Candle
	signals    map[string]*marketgraph.Signal
	upserts    int // UpsertCandles calls that succeeded
	inserts    int // InsertSignals calls
	failUpsert bool
}

type storeKey struct {
	asset    string
	interval marketgraph.CandleInterval
	start    int64
}

var _ ingest.Writer = (*fakeStore)(nil)

func newFakeStore(assets ...*marketgraph.Asset) *fakeStore {
	return &fakeStore{assets: assets, candles: map[storeKey]marketgraph.Candle{}, signals: map[string]*marketgraph.Signal{}}
}

func (s *fakeStore) ListAssets(_ context.Context, p marketgraph.AssetListParams) (*marketgraph.AssetPage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	as := slices.Clone(s.assets)
	slices.SortFunc(as, func(a, b *marketgraph.Asset) int { return cmp.Compare(a.Rank, b.Rank) })
	return &marketgraph.AssetPage{Assets: as[:min(len(as), p.First)], TotalCount: len(as)}, nil
}

func (s *fakeStore) CandlesByAssets(_ context.Context, ids []string, r marketgraph.CandleRange) (map[string][]*marketgraph.Candle, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]*marketgraph.Candle{}
	for _, c := range s.candles {
		if c.Interval != r.Interval || !slices.Contains(ids, c.AssetID) ||
			(r.From != nil && c.Start.Before(*r.From)) || (r.To != nil && !c.Start.Before(*r.To)) {
			continue
		}
		out[c.AssetID] = append(out[c.AssetID], &c)
	}
	for id, cs := range out {
		slices.SortFunc(cs, func(a, b *marketgraph.Candle) int { return a.Start.Compare(b.Start) })
		if r.Last > 0 && len(cs) > r.Last {
			out[id] = cs[len(cs)-r.Last:]
		}
	}
	return out, nil
}

func (s *fakeStore) UpsertCandles(_ context.Context, cs []*marketgraph.Candle) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failUpsert {
		return errors.New("store down")
	}
	// Like the real stores: the whole batch is checked first, and one bad
	// candle refuses it.
	for _, c := range cs {
		if err := marketgraph.ValidateCandle(c); err != nil {
			return err
		}
		if !slices.ContainsFunc(s.assets, func(a *marketgraph.Asset) bool { return a.ID == c.AssetID }) {
			return marketgraph.Errorf(marketgraph.EBADINPUT, "candle: unknown asset %q", c.AssetID)
		}
	}
	s.upserts++
	for _, c := range cs {
		s.candles[storeKey{c.AssetID, c.Interval, c.Start.Unix()}] = *c
	}
	return nil
}

func (s *fakeStore) InsertSignals(_ context.Context, sigs []*marketgraph.Signal) ([]*marketgraph.Signal, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inserts++
	for _, sig := range sigs {
		if err := marketgraph.ValidateSignal(sig); err != nil {
			return nil, err
		}
	}
	var fresh []*marketgraph.Signal
	for _, sig := range sigs {
		if s.signals[sig.ID] == nil {
			s.signals[sig.ID] = sig
			fresh = append(fresh, sig)
		}
	}
	return fresh, nil
}

// put stores candles as they are, bypassing the counters.
func (s *fakeStore) put(cs ...*marketgraph.Candle) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range cs {
		s.candles[storeKey{c.AssetID, c.Interval, c.Start.Unix()}] = *c
	}
}

// stored returns the candles of interval, sorted by asset then start.
func (s *fakeStore) stored(interval marketgraph.CandleInterval) []*marketgraph.Candle {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*marketgraph.Candle
	for _, c := range s.candles {
		if c.Interval == interval {
			out = append(out, &c)
		}
	}
	slices.SortFunc(out, func(a, b *marketgraph.Candle) int {
		return cmp.Or(cmp.Compare(a.AssetID, b.AssetID), a.Start.Compare(b.Start))
	})
	return out
}

func (s *fakeStore) counts() (upserts, inserts int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.upserts, s.inserts
}

// clock is a settable clock shared by the simulator and the pipeline.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// simEnd anchors the test market: prices move from there on.
var simEnd = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

var testAssets = []*marketgraph.Asset{
	{ID: "bitcoin", Symbol: "BTC", Rank: 1, Category: "Layer 1", MarketCap: 1e12, Supply: 2e7, Volume24h: 3e10},
	{ID: "ethereum", Symbol: "ETH", Rank: 2, Category: "Layer 1", MarketCap: 4e11, Supply: 1.2e8, Volume24h: 1.5e10},
}

func newSimulator(c *clock) *marketdata.Simulator {
	return marketdata.NewSimulator(&marketgraph.Dataset{End: simEnd, Assets: testAssets}, marketdata.SimulatorConfig{Seed: 7, Now: c.Now})
}

// ticksAt is what the pipeline should see of the simulator at each instant.
func ticksAt(t *testing.T, sim *marketdata.Simulator, ids []string, at ...time.Time) []ingest.Tick {
	t.Helper()
	var out []ingest.Tick
	for _, a := range at {
		qs, err := sim.QuotesAt(context.Background(), ids, marketgraph.CurrencyUSD, a)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			q := qs[id]
			out = append(out, ingest.Tick{AssetID: id, Price: q.Price, Volume24h: *q.Volume24h, At: q.AsOf})
		}
	}
	return out
}

// staleProvider marks the quotes of some assets stale.
type staleProvider struct {
	inner marketgraph.QuoteProvider
	stale map[string]bool
}

func (p staleProvider) Quotes(ctx context.Context, ids []string, cur marketgraph.Currency) (map[string]*marketgraph.Quote, error) {
	qs, err := p.inner.Quotes(ctx, ids, cur)
	for id, q := range qs {
		if p.stale[id] {
			q.Stale = true
		}
	}
	return qs, err
}

// events reads everything queued on a subscription.
func events[T any](t *testing.T, s *pubsub.Subscription) []T {
	t.Helper()
	var out []T
	for {
		select {
		case p := <-s.C:
			var v T
			if err := json.Unmarshal(p, &v); err != nil {
				t.Fatalf("payload %s: %v", p, err)
			}
			out = append(out, v)
		default:
			return out
		}
	}
}

func subscribe(t *testing.T, b pubsub.Bus, topic string) *pubsub.Subscription {
	t.Helper()
	s, err := b.Subscribe(t.Context(), topic)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// waitGoroutines waits until no more than want goroutines run; goroutines
// told to stop may take a moment to exit, so it polls up to a generous
// deadline.
func waitGoroutines(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > want {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines left, want at most %d:\n%s", runtime.NumGoroutine(), want, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitFor polls cond up to a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
