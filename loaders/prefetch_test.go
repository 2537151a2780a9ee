package loaders_test

import (
	"context"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/loaders"
)

// Prefetching is one batch call for every key, even with a window so short
// that loads in a loop would be split, and the later Loads are cache hits.
func TestPrefetch(t *testing.T) {
	ctx := context.Background()
	usd := marketgraph.CurrencyUSD
	keys := []loaders.QuoteKey{{AssetID: "bitcoin", Currency: usd}, {AssetID: "nope", Currency: usd}, {AssetID: "solana", Currency: usd}, {AssetID: "bitcoin", Currency: usd}}

	t.Run("OneCallThenCacheHits", func(t *testing.T) {
		s, p := newFakeStore(), newFakeProvider()
		l := loaders.New(loaders.Config{Store: s, Quotes: p, Wait: time.Nanosecond})
		l.PrefetchQuotes(ctx, keys)
		l.PrefetchQuotes(ctx, keys[:1]) // already cached: no second call
		for _, k := range keys {
			q, err := l.QuoteByAsset.Load(ctx, k)()
			if k.AssetID == "nope" {
				if marketgraph.ErrorCode(err) != marketgraph.ENOTFOUND {
					t.Errorf("nope: error %v, want NOT_FOUND", err)
				}
				continue
			}
			if err != nil || q == nil || q.AssetID != k.AssetID {
				t.Errorf("%s: %+v, %v", k.AssetID, q, err)
			}
		}
		calls := p.Calls("Quotes")
		if len(calls) != 1 || len(calls[0].IDs) != 3 {
			t.Errorf("provider calls = %+v, want one call for the 3 distinct ids", calls)
		}
	})

	t.Run("EveryLoaderPrefetches", func(t *testing.T) {
		s, p := newFakeStore(), newFakeProvider()
		l := loaders.New(loaders.Config{Store: s, Quotes: p, Wait: time.Nanosecond})
		ids := []string{"bitcoin", "ethereum", "solana"}
		var ck []loaders.CandleKey
		var sk []loaders.SignalsKey
		for _, id := range ids {
			ck = append(ck, loaders.NewCandleKey(id, marketgraph.CandleRange{Interval: marketgraph.IntervalDay, Last: 7}))
			sk = append(sk, loaders.SignalsKey{AssetID: id, First: 3})
		}
		l.PrefetchCandles(ctx, ck)
		l.PrefetchSignals(ctx, sk)
		l.PrefetchLatestSignals(ctx, ids)
		for i, id := range ids {
			if _, err := l.CandlesByAsset.Load(ctx, ck[i])(); err != nil {
				t.Fatal(err)
			}
			if _, err := l.SignalsByAsset.Load(ctx, sk[i])(); err != nil {
				t.Fatal(err)
			}
			if _, err := l.LatestSignalByAsset.Load(ctx, id)(); err != nil {
				t.Fatal(err)
			}
		}
		for _, m := range []string{"CandlesByAssets", "SignalsByAssets", "LatestSignals"} {
			if n := len(s.Calls(m)); n != 1 {
				t.Errorf("%s calls = %d, want 1", m, n)
			}
		}
	})

	t.Run("NoCacheIsNoop", func(t *testing.T) {
		s, p := newFakeStore(), newFakeProvider()
		l := loaders.New(loaders.Config{Store: s, Quotes: p, NoCache: true})
		l.PrefetchQuotes(ctx, keys)
		if n := len(p.Calls("Quotes")); n != 0 {
			t.Errorf("prefetch without a cache made %d calls; its results would be thrown away", n)
		}
	})
}
