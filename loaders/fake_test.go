package loaders_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/marketgraph/marketgraph"
)

// call is one call a fake received.
type call struct {
	Method   string
	IDs      []string
	Range    marketgraph.CandleRange
	First    int
	Currency marketgraph.Currency
}

// recorder records calls; the loaders are unit-tested in isolation, so the
// fakes only need to answer from maps and remember what they were asked.
type recorder struct {
	mu    sync.Mutex
	calls []call
}

func (r *recorder) record(c call) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c.IDs = slices.Clone(c.IDs)
	r.calls = append(r.calls, c)
}

// Calls returns the calls of one method.
func (r *recorder) Calls(method string) []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []call
	for _, c := range r.calls {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// fakeStore answers from maps. It fails the methods (or, for candles,
// "CandlesByAssets/INTERVAL") listed in fail, and panics in those listed in
// panics.
type fakeStore struct {
	recorder
	// AccountStore is nil: the loaders never touch accounts.
	marketgraph.AccountStore
	assets  map[string]*marketgraph.Asset
	candles map[string][]*marketgraph.Candle
	signals map[string][]*marketgraph.Signal
	fail    map[string]error
	panics  map[string]bool
}

func newFakeStore() *fakeStore {
	s := &fakeStore{
		assets:  map[string]*marketgraph.Asset{},
		candles: map[string][]*marketgraph.Candle{},
		signals: map[string][]*marketgraph.Signal{},
		fail:    map[string]error{},
		panics:  map[string]bool{},
	}
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	symbols := map[string]string{"bitcoin": "BTC", "ethereum": "ETH", "solana": "SOL"}
	for _, id := range []string{"bitcoin", "ethereum", "solana"} {
		s.assets[id] = &marketgraph.Asset{ID: id, Name: id, Symbol: symbols[id]}
		s.candles[id] = []*marketgraph.Candle{{AssetID: id, Interval: marketgraph.IntervalDay, Start: t0, Close: 1}}
		s.signals[id] = []*marketgraph.Signal{
			{ID: id + "-2", AssetID: id, EmittedAt: t0.Add(time.Hour)},
			{ID: id + "-1", AssetID: id, EmittedAt: t0},
		}
	}
	return s
}

func (s *fakeStore) FindAssetsByIDs(_ context.Context, ids []string) ([]*marketgraph.Asset, error) {
	s.record(call{Method: "FindAssetsByIDs", IDs: ids})
	if err := s.fail["FindAssetsByIDs"]; err != nil {
		return nil, err
	}
	var out []*marketgraph.Asset
	for _, id := range ids {
		if a := s.assets[id]; a != nil {
			out = append(out, a)
		}
	}
	// The contract promises no order: answer backwards to prove the
	// loader does not rely on one.
	slices.Reverse(out)
	return out, nil
}

// FindAssetsBySymbols matches symbols exactly after upper-casing: the fake
// holds no namesakes, so it needs no rank rule.
func (s *fakeStore) FindAssetsBySymbols(_ context.Context, symbols []string) (map[string]*marketgraph.Asset, error) {
	s.record(call{Method: "FindAssetsBySymbols", IDs: symbols})
	if err := s.fail["FindAssetsBySymbols"]; err != nil {
		return nil, err
	}
	out := map[string]*marketgraph.Asset{}
	for _, sym := range symbols {
		for _, a := range s.assets {
			if a.Symbol == strings.ToUpper(sym) {
				out[a.Symbol] = a
			}
		}
	}
	return out, nil
}

func (s *fakeStore) FindAssetBySymbol(context.Context, string) (*marketgraph.Asset, error) {
	panic("not used by loaders")
}

func (s *fakeStore) ListAssets(context.Context, marketgraph.AssetListParams) (*marketgraph.AssetPage, error) {
	panic("not used by loaders")
}

func (s *fakeStore) CandlesByAssets(_ context.Context, ids []string, r marketgraph.CandleRange) (map[string][]*marketgraph.Candle, error) {
	s.record(call{Method: "CandlesByAssets", IDs: ids, Range: r})
	if s.panics["CandlesByAssets/"+string(r.Interval)] {
		panic("fake store: candles on fire")
	}
	if err := s.fail["CandlesByAssets/"+string(r.Interval)]; err != nil {
		return nil, err
	}
	out := map[string][]*marketgraph.Candle{}
	for _, id := range ids {
		if cs := s.candles[id]; cs != nil {
			out[id] = cs
		}
	}
	return out, nil
}

func (s *fakeStore) SignalsByAssets(_ context.Context, ids []string, first int) (map[string][]*marketgraph.Signal, error) {
	s.record(call{Method: "SignalsByAssets", IDs: ids, First: first})
	if err := s.fail["SignalsByAssets"]; err != nil {
		return nil, err
	}
	out := map[string][]*marketgraph.Signal{}
	for _, id := range ids {
		if ss := s.signals[id]; ss != nil {
			out[id] = ss[:min(first, len(ss))]
		}
	}
	return out, nil
}

func (s *fakeStore) LatestSignals(_ context.Context, ids []string) (map[string]*marketgraph.Signal, error) {
	s.record(call{Method: "LatestSignals", IDs: ids})
	if err := s.fail["LatestSignals"]; err != nil {
		return nil, err
	}
	out := map[string]*marketgraph.Signal{}
	for _, id := range ids {
		if ss := s.signals[id]; len(ss) > 0 {
			out[id] = ss[0]
		}
	}
	return out, nil
}

func (s *fakeStore) Load(context.Context, *marketgraph.Dataset) error { return nil }
func (s *fakeStore) Ping(context.Context) error                       { return nil }

func (s *fakeStore) UpsertAssets(context.Context, []*marketgraph.Asset) error {
	panic("not used by loaders")
}

func (s *fakeStore) UpsertCandles(context.Context, []*marketgraph.Candle) error {
	panic("not used by loaders")
}

func (s *fakeStore) InsertSignals(context.Context, []*marketgraph.Signal) ([]*marketgraph.Signal, error) {
	panic("not used by loaders")
}

// fakeProvider quotes the assets in prices (USD) in any currency, at the
// same number, and fails the currencies listed in fail.
type fakeProvider struct {
	recorder
	prices map[string]float64
	fail   map[marketgraph.Currency]error
}

func newFakeProvider() *fakeProvider {
	return &fakeProvider{
		prices: map[string]float64{"bitcoin": 60000, "ethereum": 3000, "solana": 150},
		fail:   map[marketgraph.Currency]error{},
	}
}

func (p *fakeProvider) Quotes(_ context.Context, ids []string, c marketgraph.Currency) (map[string]*marketgraph.Quote, error) {
	p.record(call{Method: "Quotes", IDs: ids, Currency: c})
	if err := p.fail[c]; err != nil {
		return nil, err
	}
	out := map[string]*marketgraph.Quote{}
	for _, id := range ids {
		if price, ok := p.prices[id]; ok {
			out[id] = &marketgraph.Quote{AssetID: id, Price: price, Currency: c}
		}
	}
	return out, nil
}

var (
	_ marketgraph.Store         = (*fakeStore)(nil)
	_ marketgraph.QuoteProvider = (*fakeProvider)(nil)
)
