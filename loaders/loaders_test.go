package loaders_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/graph-gophers/dataloader/v7"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/loaders"
)

// setup returns loaders whose batching window never closes by itself: a
// batch runs when the test flushes it, so the test decides exactly which
// loads share a batch, without depending on timing.
func setup(noCache bool) (*loaders.Loaders, *fakeStore, *fakeProvider) {
	s, p := newFakeStore(), newFakeProvider()
	l := loaders.New(loaders.Config{Store: s, Quotes: p, Wait: time.Hour, NoCache: noCache})
	return l, s, p
}

// loadAll loads every key into one batch, flushes it, then resolves the
// thunks: collecting the thunks before calling any is what lets keys batch.
func loadAll[K comparable, V any](l *dataloader.Loader[K, V], keys ...K) ([]V, []error) {
	ctx := context.Background()
	thunks := make([]dataloader.Thunk[V], len(keys))
	for i, k := range keys {
		thunks[i] = l.Load(ctx, k)
	}
	l.Flush()
	vs, errs := make([]V, len(keys)), make([]error, len(keys))
	for i, th := range thunks {
		vs[i], errs[i] = th()
	}
	return vs, errs
}

func noErrors(t *testing.T, errs []error) {
	t.Helper()
	for i, err := range errs {
		if err != nil {
			t.Errorf("key %d: unexpected error %v", i, err)
		}
	}
}

func TestAssetByID(t *testing.T) {
	t.Run("KeyOrder", func(t *testing.T) {
		l, s, _ := setup(false)
		assets, errs := loadAll(l.AssetByID, "solana", "bitcoin", "ethereum")
		noErrors(t, errs)
		for i, want := range []string{"solana", "bitcoin", "ethereum"} {
			if assets[i] == nil || assets[i].ID != want {
				t.Errorf("result %d = %+v, want %s", i, assets[i], want)
			}
		}
		if calls := s.Calls("FindAssetsByIDs"); len(calls) != 1 {
			t.Errorf("store calls = %+v, want one", calls)
		}
	})
	t.Run("Missing", func(t *testing.T) {
		l, _, _ := setup(false)
		assets, errs := loadAll(l.AssetByID, "bitcoin", "nope", "ethereum")
		if marketgraph.ErrorCode(errs[1]) != marketgraph.ENOTFOUND || !strings.Contains(marketgraph.ErrorMessage(errs[1]), "nope") {
			t.Errorf("missing key: error %v, want NOT_FOUND naming it", errs[1])
		}
		if assets[1] != nil {
			t.Errorf("missing key: asset %+v, want nil", assets[1])
		}
		if errs[0] != nil || errs[2] != nil || assets[0].ID != "bitcoin" || assets[2].ID != "ethereum" {
			t.Errorf("neighbours of a missing key: %v %v, %v %v", assets[0], errs[0], assets[2], errs[2])
		}
	})
	t.Run("StoreError", func(t *testing.T) {
		l, s, _ := setup(false)
		down := errors.New("connection refused")
		s.fail["FindAssetsByIDs"] = down
		_, errs := loadAll(l.AssetByID, "bitcoin", "ethereum")
		for i, err := range errs {
			if !errors.Is(err, down) || marketgraph.ErrorCode(err) != marketgraph.EINTERNAL {
				t.Errorf("key %d: error %v, want the store's error (INTERNAL)", i, err)
			}
		}
	})
}

func TestQuoteByAsset(t *testing.T) {
	usd, eur, btc := marketgraph.CurrencyUSD, marketgraph.CurrencyEUR, marketgraph.CurrencyBTC
	t.Run("KeyOrderAndMissing", func(t *testing.T) {
		l, _, _ := setup(false)
		quotes, errs := loadAll(l.QuoteByAsset,
			loaders.QuoteKey{AssetID: "solana", Currency: usd},
			loaders.QuoteKey{AssetID: "nope", Currency: usd},
			loaders.QuoteKey{AssetID: "bitcoin", Currency: usd})
		if quotes[0] == nil || quotes[0].Price != 150 || quotes[2] == nil || quotes[2].Price != 60000 || errs[0] != nil || errs[2] != nil {
			t.Errorf("quotes = %+v %+v, errors %v %v", quotes[0], quotes[2], errs[0], errs[2])
		}
		if marketgraph.ErrorCode(errs[1]) != marketgraph.ENOTFOUND || marketgraph.ErrorMessage(errs[1]) != `no quote for asset "nope"` {
			t.Errorf("unknown asset: error %v, want NOT_FOUND", errs[1])
		}
	})
	t.Run("OneCallPerCurrency", func(t *testing.T) {
		l, _, p := setup(false)
		quotes, errs := loadAll(l.QuoteByAsset,
			loaders.QuoteKey{AssetID: "bitcoin", Currency: usd},
			loaders.QuoteKey{AssetID: "ethereum", Currency: eur},
			loaders.QuoteKey{AssetID: "solana", Currency: usd},
			loaders.QuoteKey{AssetID: "bitcoin", Currency: eur})
		noErrors(t, errs)
		for i, want := range []marketgraph.Currency{usd, eur, usd, eur} {
			if quotes[i].Currency != want {
				t.Errorf("quote %d in %s, want %s", i, quotes[i].Currency, want)
			}
		}
		calls := p.Calls("Quotes")
		byCur := map[marketgraph.Currency][]string{}
		for _, c := range calls {
			byCur[c.Currency] = c.IDs
		}
		if len(calls) != 2 || !reflect.DeepEqual(byCur[usd], []string{"bitcoin", "solana"}) || !reflect.DeepEqual(byCur[eur], []string{"ethereum", "bitcoin"}) {
			t.Errorf("provider calls = %+v, want one per currency", calls)
		}
	})
	t.Run("ProviderErrorFailsItsCurrencyOnly", func(t *testing.T) {
		l, _, p := setup(false)
		p.fail[btc] = marketgraph.Errorf(marketgraph.EUPSTREAM, "provider unreachable")
		quotes, errs := loadAll(l.QuoteByAsset,
			loaders.QuoteKey{AssetID: "bitcoin", Currency: btc},
			loaders.QuoteKey{AssetID: "bitcoin", Currency: usd},
			loaders.QuoteKey{AssetID: "ethereum", Currency: btc},
			loaders.QuoteKey{AssetID: "ethereum", Currency: usd})
		for _, i := range []int{0, 2} {
			if marketgraph.ErrorCode(errs[i]) != marketgraph.EUPSTREAM {
				t.Errorf("BTC key %d: error %v, want UPSTREAM_UNAVAILABLE", i, errs[i])
			}
		}
		for _, i := range []int{1, 3} {
			if errs[i] != nil || quotes[i] == nil {
				t.Errorf("USD key %d: %+v, %v; want a quote", i, quotes[i], errs[i])
			}
		}
	})
	t.Run("RepeatedKeyAskedOnce", func(t *testing.T) {
		l, _, p := setup(true) // without a cache a key can reach a batch twice
		quotes, errs := loadAll(l.QuoteByAsset,
			loaders.QuoteKey{AssetID: "bitcoin", Currency: usd},
			loaders.QuoteKey{AssetID: "bitcoin", Currency: usd})
		noErrors(t, errs)
		if quotes[0] == nil || quotes[1] == nil {
			t.Errorf("quotes = %v", quotes)
		}
		if calls := p.Calls("Quotes"); len(calls) != 1 || !reflect.DeepEqual(calls[0].IDs, []string{"bitcoin"}) {
			t.Errorf("provider calls = %+v, want one for [bitcoin]", calls)
		}
	})
}

func TestLoaders_ConcurrentLoadsShareOneBatch(t *testing.T) {
	l, _, p := setup(false)
	const n = 100
	for i := range n {
		p.prices[fmt.Sprintf("coin-%d", i)] = float64(i)
	}
	ctx := context.Background()
	thunks := make([]dataloader.Thunk[*marketgraph.Quote], n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			thunks[i] = l.QuoteByAsset.Load(ctx, loaders.QuoteKey{AssetID: fmt.Sprintf("coin-%d", i), Currency: marketgraph.CurrencyUSD})
		})
	}
	wg.Wait()
	l.QuoteByAsset.Flush()
	for i, th := range thunks {
		q, err := th()
		if err != nil || q.Price != float64(i) {
			t.Errorf("coin-%d: %+v, %v", i, q, err)
		}
	}
	if calls := p.Calls("Quotes"); len(calls) != 1 || len(calls[0].IDs) != n {
		t.Errorf("%d provider calls, want 1 with %d ids", len(calls), n)
	}
}

func TestLoaders_DefaultWait(t *testing.T) {
	s, p := newFakeStore(), newFakeProvider()
	l := loaders.New(loaders.Config{Store: s, Quotes: p})
	// No Flush: the batch must run when the default window closes.
	a, err := l.AssetByID.Load(context.Background(), "bitcoin")()
	if err != nil || a.ID != "bitcoin" {
		t.Errorf("AssetByID = %+v, %v", a, err)
	}
}

func TestLoaders_Cache(t *testing.T) {
	for _, tc := range []struct {
		name    string
		noCache bool
		calls   int
	}{{"Default", false, 1}, {"NoCache", true, 2}} {
		t.Run(tc.name, func(t *testing.T) {
			l, s, _ := setup(tc.noCache)
			loadAll(l.LatestSignalByAsset, "bitcoin")
			loadAll(l.LatestSignalByAsset, "bitcoin")
			if calls := s.Calls("LatestSignals"); len(calls) != tc.calls {
				t.Errorf("loading a key twice made %d store calls, want %d", len(calls), tc.calls)
			}
		})
	}
}

func TestLoaders_Context(t *testing.T) {
	if l := loaders.For(context.Background()); l != nil {
		t.Errorf("For without With = %v, want nil", l)
	}
	l, _, _ := setup(false)
	if got := loaders.For(loaders.With(context.Background(), l)); got != l {
		t.Errorf("For(With(l)) = %p, want %p", got, l)
	}
}

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func TestCandleKey(t *testing.T) {
	t.Run("RoundTrip", func(t *testing.T) {
		from, to := t0.In(time.FixedZone("CET", 3600)), t0.Add(48*time.Hour)
		r := marketgraph.CandleRange{Interval: marketgraph.IntervalHour, From: &from, To: &to, Last: 5}
		got := loaders.NewCandleKey("bitcoin", r).Range()
		if got.Interval != r.Interval || got.Last != 5 || !got.From.Equal(from) || !got.To.Equal(to) {
			t.Errorf("Range() = %+v, want %+v", got, r)
		}
	})
	t.Run("EqualInstantsEqualKeys", func(t *testing.T) {
		a, b := t0, t0.In(time.FixedZone("X", -7200))
		ka := loaders.NewCandleKey("bitcoin", marketgraph.CandleRange{Interval: marketgraph.IntervalDay, From: &a})
		kb := loaders.NewCandleKey("bitcoin", marketgraph.CandleRange{Interval: marketgraph.IntervalDay, From: &b})
		if ka != kb {
			t.Errorf("keys of one instant in two zones differ: %+v vs %+v", ka, kb)
		}
	})
	t.Run("Unbounded", func(t *testing.T) {
		k := loaders.NewCandleKey("bitcoin", marketgraph.CandleRange{Interval: marketgraph.IntervalDay, Last: 7})
		if k.From != 0 || k.To != 0 {
			t.Errorf("key = %+v, want zero bounds", k)
		}
		if r := k.Range(); r.From != nil || r.To != nil || r.Last != 7 {
			t.Errorf("Range() = %+v, want no bounds", r)
		}
	})
	t.Run("Epoch", func(t *testing.T) {
		epoch := time.Unix(0, 0)
		r := loaders.NewCandleKey("bitcoin", marketgraph.CandleRange{Interval: marketgraph.IntervalDay, To: &epoch}).Range()
		if r.To == nil || r.To.After(epoch) || epoch.Sub(*r.To) != time.Nanosecond {
			t.Errorf("a bound at the epoch became %v, want a bound 1 ns before it", r.To)
		}
	})
	t.Run("Clamped", func(t *testing.T) {
		early, late := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
		k := loaders.NewCandleKey("bitcoin", marketgraph.CandleRange{Interval: marketgraph.IntervalDay, From: &early, To: &late})
		if k.From != math.MinInt64 || k.To != math.MaxInt64 {
			t.Errorf("key = %+v, want bounds clamped to the int64 range", k)
		}
	})
}

func TestCandlesByAsset(t *testing.T) {
	from, to := t0, t0.Add(24*time.Hour)
	day := marketgraph.CandleRange{Interval: marketgraph.IntervalDay, Last: 7}
	hour := marketgraph.CandleRange{Interval: marketgraph.IntervalHour, From: &from, To: &to}
	keys := []loaders.CandleKey{
		loaders.NewCandleKey("bitcoin", day),
		loaders.NewCandleKey("ethereum", day),
		loaders.NewCandleKey("bitcoin", hour),
		loaders.NewCandleKey("nope", day),
		loaders.NewCandleKey("solana", day),
	}
	t.Run("OneCallPerRange", func(t *testing.T) {
		l, s, _ := setup(false)
		candles, errs := loadAll(l.CandlesByAsset, keys...)
		noErrors(t, errs)
		for _, i := range []int{0, 1, 2, 4} {
			if len(candles[i]) != 1 || candles[i][0].AssetID != keys[i].AssetID {
				t.Errorf("key %d: candles %+v", i, candles[i])
			}
		}
		if candles[3] == nil || len(candles[3]) != 0 {
			t.Errorf("asset without candles: %#v, want an empty slice", candles[3])
		}
		calls := s.Calls("CandlesByAssets")
		if len(calls) != 2 {
			t.Fatalf("store calls = %+v, want one per range", calls)
		}
		for _, c := range calls {
			switch c.Range.Interval {
			case marketgraph.IntervalDay:
				if !reflect.DeepEqual(c.IDs, []string{"bitcoin", "ethereum", "nope", "solana"}) || c.Range.Last != 7 || c.Range.From != nil || c.Range.To != nil {
					t.Errorf("DAY call = %+v", c)
				}
			case marketgraph.IntervalHour:
				if !reflect.DeepEqual(c.IDs, []string{"bitcoin"}) || !c.Range.From.Equal(from) || !c.Range.To.Equal(to) || c.Range.Last != 0 {
					t.Errorf("HOUR call = %+v", c)
				}
			}
		}
	})
	t.Run("ErrorFailsItsRangeOnly", func(t *testing.T) {
		l, s, _ := setup(false)
		s.fail["CandlesByAssets/HOUR"] = errors.New("statement timeout")
		_, errs := loadAll(l.CandlesByAsset, keys...)
		for i, err := range errs {
			if failed := keys[i].Interval == marketgraph.IntervalHour; failed != (err != nil) {
				t.Errorf("key %d (%s): error %v", i, keys[i].Interval, err)
			}
		}
	})
	t.Run("PanicFailsItsRangeOnly", func(t *testing.T) {
		l, s, _ := setup(false)
		s.panics["CandlesByAssets/HOUR"] = true
		_, errs := loadAll(l.CandlesByAsset, keys...)
		for i, err := range errs {
			if failed := keys[i].Interval == marketgraph.IntervalHour; failed != (marketgraph.ErrorCode(err) == marketgraph.EINTERNAL) {
				t.Errorf("key %d (%s): error %v", i, keys[i].Interval, err)
			}
		}
	})
}

func TestSignalsByAsset(t *testing.T) {
	t.Run("OneCallPerFirst", func(t *testing.T) {
		l, s, _ := setup(false)
		signals, errs := loadAll(l.SignalsByAsset,
			loaders.SignalsKey{AssetID: "bitcoin", First: 1},
			loaders.SignalsKey{AssetID: "ethereum", First: 2},
			loaders.SignalsKey{AssetID: "nope", First: 1},
			loaders.SignalsKey{AssetID: "solana", First: 1})
		noErrors(t, errs)
		if len(signals[0]) != 1 || signals[0][0].ID != "bitcoin-2" || len(signals[1]) != 2 || len(signals[3]) != 1 || signals[3][0].AssetID != "solana" {
			t.Errorf("signals = %+v", signals)
		}
		if signals[2] == nil || len(signals[2]) != 0 {
			t.Errorf("asset without signals: %#v, want an empty slice", signals[2])
		}
		if calls := s.Calls("SignalsByAssets"); len(calls) != 2 {
			t.Errorf("store calls = %+v, want one per first", calls)
		}
	})
	t.Run("StoreError", func(t *testing.T) {
		l, s, _ := setup(false)
		s.fail["SignalsByAssets"] = errors.New("boom")
		_, errs := loadAll(l.SignalsByAsset, loaders.SignalsKey{AssetID: "bitcoin", First: 1}, loaders.SignalsKey{AssetID: "solana", First: 3})
		for i, err := range errs {
			if err == nil {
				t.Errorf("key %d: no error from a failing store", i)
			}
		}
	})
}

func TestLatestSignalByAsset(t *testing.T) {
	t.Run("MissingIsNil", func(t *testing.T) {
		l, s, _ := setup(false)
		signals, errs := loadAll(l.LatestSignalByAsset, "nope", "bitcoin")
		noErrors(t, errs)
		if signals[0] != nil || signals[1] == nil || signals[1].ID != "bitcoin-2" {
			t.Errorf("latest signals = %+v", signals)
		}
		if calls := s.Calls("LatestSignals"); len(calls) != 1 {
			t.Errorf("store calls = %+v, want one", calls)
		}
	})
	t.Run("StoreError", func(t *testing.T) {
		l, s, _ := setup(false)
		s.fail["LatestSignals"] = errors.New("boom")
		_, errs := loadAll(l.LatestSignalByAsset, "bitcoin", "solana")
		for i, err := range errs {
			if err == nil {
				t.Errorf("key %d: no error from a failing store", i)
			}
		}
	})
}

// A provider may answer part of a call and fail the rest: the answered keys
// succeed, the others carry its error, not NOT_FOUND.
func TestQuoteByAsset_PartialAnswer(t *testing.T) {
	s := newFakeStore()
	p := partialProvider{}
	l := loaders.New(loaders.Config{Store: s, Quotes: p, Wait: time.Hour})
	usd := marketgraph.CurrencyUSD
	quotes, errs := loadAll(l.QuoteByAsset,
		loaders.QuoteKey{AssetID: "bitcoin", Currency: usd},
		loaders.QuoteKey{AssetID: "solana", Currency: usd})
	if errs[0] != nil || quotes[0] == nil || !quotes[0].Stale {
		t.Errorf("answered key: %+v, %v; want the stale quote", quotes[0], errs[0])
	}
	if marketgraph.ErrorCode(errs[1]) != marketgraph.EUPSTREAM {
		t.Errorf("unanswered key: error %v, want UPSTREAM_UNAVAILABLE", errs[1])
	}
}

// partialProvider knows a stale bitcoin and fails everything else.
type partialProvider struct{}

func (partialProvider) Quotes(_ context.Context, ids []string, c marketgraph.Currency) (map[string]*marketgraph.Quote, error) {
	return map[string]*marketgraph.Quote{"bitcoin": {AssetID: "bitcoin", Price: 1, Currency: c, Stale: true}},
		marketgraph.Errorf(marketgraph.EUPSTREAM, "market data provider unavailable")
}
