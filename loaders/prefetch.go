package loaders

import (
	"context"
	"fmt"

	"github.com/graph-gophers/dataloader/v7"

	"github.com/marketgraph/marketgraph"
)

// prefetcher loads many keys of one loader in exactly one batch call and
// leaves the results in the loader's cache.
//
// A dataloader batches what arrives within its window, and a caller that
// Loads a hundred keys in a loop can see the window close half-way through
// on a busy machine: the keys then split over two calls. A caller that knows
// every key up front (a page of assets, before gqlgen fans out over its
// elements) uses a prefetcher instead: one batch function call, whatever the
// scheduler does, and each key's later Load is a cache hit.
type prefetcher[K comparable, V any] struct {
	cache dataloader.Cache[K, V]
	fn    dataloader.BatchFunc[K, V]
}

// run calls the batch function once for the keys not cached yet and caches
// a thunk per key that waits for that one call. It does not wait.
func (p prefetcher[K, V]) run(ctx context.Context, keys []K) {
	cache, fn := p.cache, p.fn
	if cache == nil || fn == nil {
		return
	}
	if _, noCache := cache.(*dataloader.NoCache[K, V]); noCache {
		return // nothing would keep the results for the later Loads
	}
	todo := make([]K, 0, len(keys))
	seen := make(map[K]bool, len(keys))
	for _, k := range keys {
		if _, cached := cache.Get(ctx, k); cached || seen[k] {
			continue
		}
		seen[k] = true
		todo = append(todo, k)
	}
	if len(todo) == 0 {
		return
	}
	done := make(chan struct{})
	var results []*dataloader.Result[V]
	go func() {
		defer close(done)
		defer func() {
			if r := recover(); r != nil {
				results = nil
				err := fmt.Errorf("prefetch panicked: %v", r)
				for range todo {
					results = append(results, &dataloader.Result[V]{Error: err})
				}
			}
		}()
		results = fn(ctx, todo)
	}()
	for i, k := range todo {
		cache.Set(ctx, k, func() (V, error) {
			<-done
			if i >= len(results) || results[i] == nil {
				var zero V
				return zero, marketgraph.Errorf(marketgraph.EINTERNAL, "internal error")
			}
			return results[i].Data, results[i].Error
		})
	}
}

// PrefetchQuotes loads the quotes of keys in one provider call per currency
// and caches them for QuoteByAsset. It returns at once; no-op without cache.
func (l *Loaders) PrefetchQuotes(ctx context.Context, keys []QuoteKey) {
	l.prefetchQuotes.run(ctx, keys)
}

// PrefetchCandles loads candles for keys in one store call per range and
// caches them for CandlesByAsset.
func (l *Loaders) PrefetchCandles(ctx context.Context, keys []CandleKey) {
	l.prefetchCandles.run(ctx, keys)
}

// PrefetchSignals loads signals for keys in one store call per First and
// caches them for SignalsByAsset.
func (l *Loaders) PrefetchSignals(ctx context.Context, keys []SignalsKey) {
	l.prefetchSignals.run(ctx, keys)
}

// PrefetchLatestSignals loads the newest signal of each asset in one store
// call and caches it for LatestSignalByAsset.
func (l *Loaders) PrefetchLatestSignals(ctx context.Context, assetIDs []string) {
	l.prefetchLatest.run(ctx, assetIDs)
}
