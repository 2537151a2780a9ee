package resolvers

import (
	"context"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/graph"
	"github.com/marketgraph/marketgraph/loaders"
)

type assetResolver struct{ *Resolver }

var _ graph.AssetResolver = (*assetResolver)(nil)

// Quote is the asset's live quote, batched: every asset of a page shares one
// provider call per currency.
func (r *assetResolver) Quote(ctx context.Context, obj *marketgraph.Asset, currency *marketgraph.Currency) (*marketgraph.Quote, error) {
	key := loaders.QuoteKey{AssetID: obj.ID, Currency: currencyArg(currency)}
	return loaders.For(ctx).QuoteByAsset.Load(ctx, key)()
}

// Candles is the asset's OHLCV history, batched: every asset of a page
// asking for the same range shares one SQL statement.
func (r *assetResolver) Candles(ctx context.Context, obj *marketgraph.Asset, interval marketgraph.CandleInterval, from *time.Time, to *time.Time, last *int) ([]*marketgraph.Candle, error) {
	rng, none, err := candleRange(interval, from, to, last)
	if err != nil || none {
		return []*marketgraph.Candle{}, err
	}
	return loaders.For(ctx).CandlesByAsset.Load(ctx, loaders.NewCandleKey(obj.ID, rng))()
}

// CandleSeries is Candles column by column.
func (r *assetResolver) CandleSeries(ctx context.Context, obj *marketgraph.Asset, interval marketgraph.CandleInterval, from *time.Time, to *time.Time, last *int) (*marketgraph.CandleSeries, error) {
	cs, err := r.Candles(ctx, obj, interval, from, to, last)
	if err != nil {
		return nil, err
	}
	return marketgraph.NewCandleSeries(interval, cs), nil
}

// Signals lists the asset's newest signals.
func (r *assetResolver) Signals(ctx context.Context, obj *marketgraph.Asset, first *int) ([]*marketgraph.Signal, error) {
	n, err := intArg("first", first, marketgraph.DefaultSignalFirst, 0, marketgraph.MaxSignalFirst)
	if err != nil || n == 0 {
		return []*marketgraph.Signal{}, err
	}
	return loaders.For(ctx).SignalsByAsset.Load(ctx, loaders.SignalsKey{AssetID: obj.ID, First: n})()
}

// LatestSignal is the asset's newest signal, or null.
func (r *assetResolver) LatestSignal(ctx context.Context, obj *marketgraph.Asset) (*marketgraph.Signal, error) {
	return loaders.For(ctx).LatestSignalByAsset.Load(ctx, obj.ID)()
}

// candleRange validates the candles arguments. none reports an explicit
// last: 0, which selects nothing and needs no query.
func candleRange(interval marketgraph.CandleInterval, from, to *time.Time, last *int) (rng marketgraph.CandleRange, none bool, err error) {
	rng = marketgraph.CandleRange{Interval: interval, From: utc(from), To: utc(to)}
	if last != nil {
		rng.Last = *last
	}
	rng, err = rng.Normalize(last != nil)
	if err != nil {
		return rng, false, err
	}
	return rng, last != nil && *last == 0, nil
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
