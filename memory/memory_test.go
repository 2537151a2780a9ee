package memory_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/memory"
	"github.com/marketgraph/marketgraph/storetest"
)

func TestStore_Contract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) marketgraph.Store { return memory.New() })
}

// TestStore_ConcurrentLoad reads from many goroutines while Load merges new
// assets, candles and signals; run it with -race. Every read must see a
// consistent store: the fixture's data, plus whatever was added so far.
func TestStore_ConcurrentLoad(t *testing.T) {
	ctx := context.Background()
	s := memory.New()
	fx := storetest.Fixture()
	if err := s.Load(ctx, fx); err != nil {
		t.Fatalf("Load: %v", err)
	}
	const rounds = 50
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range rounds {
			ds := storetest.Fixture()
			id := fmt.Sprintf("extra-%03d", i)
			ds.Assets = append(ds.Assets, &marketgraph.Asset{ID: id, Symbol: "X", Name: id, Rank: 200 + i, MarketCap: float64(i)})
			ds.Candles = append(ds.Candles, &marketgraph.Candle{AssetID: "bitcoin", Interval: marketgraph.IntervalDay, Start: ds.End.Add(time.Duration(i) * 24 * time.Hour), Close: float64(i)})
			ds.Signals = append(ds.Signals, &marketgraph.Signal{ID: "sig-" + id, AssetID: id, Kind: marketgraph.SignalBuy, EmittedAt: ds.End})
			if err := s.Load(ctx, ds); err != nil {
				t.Errorf("Load round %d: %v", i, err)
				return
			}
		}
	}()
	ids := []string{"bitcoin", "ethereum", "tether", "asset-006"}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				page, err := s.ListAssets(ctx, marketgraph.AssetListParams{First: 10, Order: marketgraph.AssetOrder{Field: marketgraph.AssetOrderMarketCap, Direction: marketgraph.OrderDesc}})
				if err != nil || page.TotalCount < 100 || page.TotalCount > 100+rounds || page.Assets[0].ID != "bitcoin" {
					t.Errorf("ListAssets during Load: %+v, %v", page, err)
					return
				}
				cs, err := s.CandlesByAssets(ctx, ids, marketgraph.CandleRange{Interval: marketgraph.IntervalDay, Last: 7})
				if err != nil || len(cs["bitcoin"]) != 7 {
					t.Errorf("CandlesByAssets during Load: %d bitcoin candles, %v", len(cs["bitcoin"]), err)
					return
				}
				if sig, err := s.LatestSignals(ctx, ids); err != nil || sig["bitcoin"].ID != "sig-btc-0" {
					t.Errorf("LatestSignals during Load: %v, %v", sig, err)
					return
				}
				if a, err := s.FindAssetBySymbol(ctx, "x"); err != nil && marketgraph.ErrorCode(err) != marketgraph.ENOTFOUND {
					t.Errorf("FindAssetBySymbol during Load: %v, %v", a, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	page, err := s.ListAssets(ctx, marketgraph.AssetListParams{})
	if err != nil || page.TotalCount != 100+rounds {
		t.Fatalf("after loading: %+v, %v; want TotalCount %d", page, err, 100+rounds)
	}
	a, err := s.FindAssetBySymbol(ctx, "X")
	if err != nil || a.ID != "extra-000" {
		t.Errorf("FindAssetBySymbol(X) = %v, %v; want extra-000, the best rank", a, err)
	}
}

// TestStore_LoadRejects checks that a dataset with a dangling reference is
// refused as a whole.
func TestStore_LoadRejects(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		change func(ds *marketgraph.Dataset)
	}{
		{"Nil", nil},
		{"CandleOfUnknownAsset", func(ds *marketgraph.Dataset) {
			ds.Candles = append(ds.Candles, &marketgraph.Candle{AssetID: "nope", Interval: marketgraph.IntervalDay, Start: ds.End})
		}},
		{"UnknownInterval", func(ds *marketgraph.Dataset) {
			ds.Candles = append(ds.Candles, &marketgraph.Candle{AssetID: "bitcoin", Interval: "WEEK", Start: ds.End})
		}},
		{"SignalOfUnknownAsset", func(ds *marketgraph.Dataset) {
			ds.Signals = append(ds.Signals, &marketgraph.Signal{ID: "s", AssetID: "nope", Kind: marketgraph.SignalBuy, EmittedAt: ds.End})
		}},
		{"SignalWithoutID", func(ds *marketgraph.Dataset) {
			ds.Signals = append(ds.Signals, &marketgraph.Signal{AssetID: "bitcoin"})
		}},
		{"AssetWithoutID", func(ds *marketgraph.Dataset) { ds.Assets = append(ds.Assets, &marketgraph.Asset{}) }},
		{"NilAsset", func(ds *marketgraph.Dataset) { ds.Assets = append(ds.Assets, nil) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := memory.New()
			var ds *marketgraph.Dataset
			if tc.change != nil {
				ds = storetest.Fixture()
				tc.change(ds)
			}
			if err := s.Load(ctx, ds); marketgraph.ErrorCode(err) != marketgraph.EBADINPUT {
				t.Fatalf("Load: %v, want a %s error", err, marketgraph.EBADINPUT)
			}
			page, err := s.ListAssets(ctx, marketgraph.AssetListParams{})
			if err != nil || page.TotalCount != 0 {
				t.Errorf("after a refused Load: %+v, %v; want an empty store", page, err)
			}
		})
	}
}

// TestStore_ConcurrentWrites writes candles, signals and assets from several
// goroutines while others read; run it with -race. Readers must always see
// each history sorted with one candle per start, and in the end every write
// must be there.
func TestStore_ConcurrentWrites(t *testing.T) {
	ctx := context.Background()
	s := memory.New()
	fx := storetest.Fixture()
	if err := s.Load(ctx, fx); err != nil {
		t.Fatalf("Load: %v", err)
	}
	const writers, rounds = 4, 60
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				// Every writer rewrites the same starts, in its own order.
				start := fx.End.Add(time.Duration((i*7+w)%rounds) * time.Minute)
				p := 100 + float64(w)
				c := &marketgraph.Candle{AssetID: "bitcoin", Interval: marketgraph.IntervalMinute, Start: start, Open: p, High: p + 1, Low: p - 1, Close: p, Volume: 1}
				if err := s.UpsertCandles(ctx, []*marketgraph.Candle{c}); err != nil {
					t.Errorf("UpsertCandles: %v", err)
					return
				}
				sg := &marketgraph.Signal{ID: fmt.Sprintf("sig-%d", i), AssetID: "tether", Kind: marketgraph.SignalBuy, EmittedAt: start}
				if _, err := s.InsertSignals(ctx, []*marketgraph.Signal{sg}); err != nil {
					t.Errorf("InsertSignals: %v", err)
					return
				}
				a := &marketgraph.Asset{ID: "dai", Symbol: "DAI", Name: "Dai", Rank: 17, MarketCap: float64(i)}
				if err := s.UpsertAssets(ctx, []*marketgraph.Asset{a}); err != nil {
					t.Errorf("UpsertAssets: %v", err)
					return
				}
			}
		}()
	}
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				m, err := s.CandlesByAssets(ctx, []string{"bitcoin"}, marketgraph.CandleRange{Interval: marketgraph.IntervalMinute})
				if err != nil {
					t.Errorf("CandlesByAssets: %v", err)
					return
				}
				cs := m["bitcoin"]
				for i := 1; i < len(cs); i++ {
					if !cs[i-1].Start.Before(cs[i].Start) {
						t.Errorf("candles out of order or repeated at %d: %s, %s", i, cs[i-1].Start, cs[i].Start)
						return
					}
				}
				if _, err := s.FindAssetBySymbol(ctx, "DAI"); err != nil {
					t.Errorf("FindAssetBySymbol(DAI): %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	m, err := s.CandlesByAssets(ctx, []string{"bitcoin"}, marketgraph.CandleRange{Interval: marketgraph.IntervalMinute})
	if err != nil {
		t.Fatalf("CandlesByAssets: %v", err)
	}
	// The fixture's 50 minutes end one minute before End; the writes
	// add End .. End+rounds-1.
	if got, want := len(m["bitcoin"]), 50+rounds; got != want {
		t.Errorf("%d bitcoin minutes after the writes, want %d", got, want)
	}
	sigs, err := s.SignalsByAssets(ctx, []string{"tether"}, marketgraph.MaxSignalFirst)
	if err != nil || len(sigs["tether"]) != rounds {
		t.Errorf("tether has %d signals (err %v), want %d", len(sigs["tether"]), err, rounds)
	}
}
