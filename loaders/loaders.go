// Package loaders holds the per-operation dataloaders: every key a GraphQL
// operation asks for within one batching window becomes one store query or
// one provider call, so a page of 100 assets with quotes, candles and
// signals costs a handful of reads instead of hundreds (no N+1).
//
// Loaders are built fresh for each operation by the server's operation
// middleware, which installs them with With; resolvers read them back with
// For. Each batch function answers exactly len(keys) results in key order,
// with errors per key, so one missing asset never fails its neighbours.
package loaders

import (
	"context"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/graph-gophers/dataloader/v7"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/marketgraph/marketgraph"
)

// DefaultWait is the batching window when Config.Wait is zero. The window is
// a latency floor, paid once per level of the query tree, so it must be
// short; but gqlgen resolves each element of a list in its own goroutine, and
// all 100 elements of a page must reach Load inside one window for their keys
// to share a call. A millisecond, the ceiling the skeleton's issue allows,
// leaves the most room for that on a loaded machine (or under -race) while
// costing a human nothing.
const DefaultWait = time.Millisecond

// Config configures New. Store and Quotes are required.
type Config struct {
	// Store answers assets, candles and signals.
	Store marketgraph.Store
	// Quotes answers live quotes.
	Quotes marketgraph.QuoteProvider
	// Wait is the batching window; 0 means DefaultWait.
	Wait time.Duration
	// NoCache turns off the per-operation cache, so every Load reaches a
	// batch: subscriptions reuse one operation for many events and each
	// event needs fresh data.
	NoCache bool
}

// Loaders is the set of dataloaders of one operation. Loaders are named after
// their key.
type Loaders struct {
	// AssetByID loads assets by id; an unknown id is NOT_FOUND.
	AssetByID *dataloader.Loader[string, *marketgraph.Asset]
	// AssetBySymbol loads the best-ranked asset of each symbol with one
	// FindAssetsBySymbols call per batch. Callers fold the key with
	// marketgraph.FoldUpper, so that "btc" and "BTC" share one cache entry; an
	// unknown symbol is NOT_FOUND: no asset with symbol "X".
	AssetBySymbol *dataloader.Loader[string, *marketgraph.Asset]
	// QuoteByAsset loads live quotes with one provider call per currency in
	// a batch; an asset the provider does not quote is NOT_FOUND.
	QuoteByAsset *dataloader.Loader[QuoteKey, *marketgraph.Quote]
	// CandlesByAsset loads candles with one store call per distinct range
	// in a batch; an asset without candles gets an empty slice.
	CandlesByAsset *dataloader.Loader[CandleKey, []*marketgraph.Candle]
	// SignalsByAsset loads the newest signals with one store call per
	// distinct First in a batch; an asset without signals gets an empty
	// slice.
	SignalsByAsset *dataloader.Loader[SignalsKey, []*marketgraph.Signal]
	// LatestSignalByAsset loads each asset's newest signal, nil when it has
	// none.
	LatestSignalByAsset *dataloader.Loader[string, *marketgraph.Signal]

	// Cached reports whether these loaders keep what they loaded for the
	// rest of the operation (false with Config.NoCache). Only then does
	// prefetching spare the later Load its own call.
	Cached bool

	prefetchQuotes  prefetcher[QuoteKey, *marketgraph.Quote]
	prefetchCandles prefetcher[CandleKey, []*marketgraph.Candle]
	prefetchSignals prefetcher[SignalsKey, []*marketgraph.Signal]
	prefetchLatest  prefetcher[string, *marketgraph.Signal]
}

// New returns a fresh set of loaders. Build one per operation: the cache
// lives as long as the Loaders, and sharing it across operations would serve
// stale quotes.
func New(cfg Config) *Loaders {
	l := &Loaders{Cached: !cfg.NoCache}
	l.AssetByID, _ = newLoader(cfg, assetsByID(cfg.Store))
	l.AssetBySymbol, _ = newLoader(cfg, assetsBySymbol(cfg.Store))
	l.QuoteByAsset, l.prefetchQuotes = newLoader(cfg, quotesByAsset(cfg.Quotes))
	l.CandlesByAsset, l.prefetchCandles = newLoader(cfg, candlesByAsset(cfg.Store))
	l.SignalsByAsset, l.prefetchSignals = newLoader(cfg, signalsByAsset(cfg.Store))
	l.LatestSignalByAsset, l.prefetchLatest = newLoader(cfg, latestSignalByAsset(cfg.Store))
	return l
}

// newLoader returns a loader and the prefetcher that fills its cache.
func newLoader[K comparable, V any](cfg Config, fn dataloader.BatchFunc[K, V]) (*dataloader.Loader[K, V], prefetcher[K, V]) {
	wait := cfg.Wait
	if wait <= 0 {
		wait = DefaultWait
	}
	var cache dataloader.Cache[K, V] = dataloader.NewCache[K, V]()
	if cfg.NoCache {
		cache = &dataloader.NoCache[K, V]{}
	}
	l := dataloader.NewBatchedLoader(fn, dataloader.WithWait[K, V](wait), dataloader.WithCache(cache))
	return l, prefetcher[K, V]{cache: cache, fn: fn}
}

type ctxKey struct{}

// With returns a copy of ctx carrying l.
func With(ctx context.Context, l *Loaders) context.Context {
	return context.WithValue(ctx, ctxKey{}, l)
}

// For returns the loaders installed in ctx by With, or nil. The server's
// operation middleware installs them for every operation, so resolvers may
// use the result without a check.
func For(ctx context.Context) *Loaders {
	l, _ := ctx.Value(ctxKey{}).(*Loaders)
	return l
}

// PerOperation is the server's operation hook (server.Config's
// OperationContext): it installs fresh loaders over cfg for each operation,
// without a cache for a subscription, whose events must each see fresh
// data (cfg.NoCache is ignored), and with one otherwise.
func PerOperation(cfg Config) func(context.Context) context.Context {
	return func(ctx context.Context) context.Context {
		c := cfg
		op := graphql.GetOperationContext(ctx).Operation
		c.NoCache = op != nil && op.Operation == ast.Subscription
		return With(ctx, New(c))
	}
}
