package loaders

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/graph-gophers/dataloader/v7"

	"github.com/marketgraph/marketgraph"
)

// CandleKey asks for the candles of one asset in one range. It holds the
// bounds as unix nanoseconds rather than time.Time so that equal ranges are
// equal keys (a time.Time carries a location and a monotonic reading that
// == compares).
type CandleKey struct {
	AssetID  string
	Interval marketgraph.CandleInterval
	// From and To are unix nanoseconds, 0 for no bound. The Unix epoch
	// itself is stored as −1 ns, and instants outside the years 1678–2262
	// are clamped to them: neither changes which minute-aligned candles a
	// range selects.
	From, To int64
	// Last is CandleRange.Last: 0 for no limit.
	Last int
}

// NewCandleKey returns the key of assetID's candles in r, which should be
// normalised already (the store receives it as it is).
func NewCandleKey(assetID string, r marketgraph.CandleRange) CandleKey {
	return CandleKey{AssetID: assetID, Interval: r.Interval, From: toNanos(r.From), To: toNanos(r.To), Last: r.Last}
}

// Range converts k back into the range it was made from.
func (k CandleKey) Range() marketgraph.CandleRange {
	return marketgraph.CandleRange{Interval: k.Interval, From: fromNanos(k.From), To: fromNanos(k.To), Last: k.Last}
}

func toNanos(t *time.Time) int64 {
	switch {
	case t == nil:
		return 0
	case t.Before(time.Unix(0, math.MinInt64)):
		return math.MinInt64
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	if n := t.UnixNano(); n != 0 {
		return n
	}
	return -1
}

func fromNanos(n int64) *time.Time {
	if n == 0 {
		return nil
	}
	t := time.Unix(0, n).UTC()
	return &t
}

// candlesByAsset loads the candles of a batch with one CandlesByAssets call
// per distinct range.
func candlesByAsset(s marketgraph.CandleService) dataloader.BatchFunc[CandleKey, []*marketgraph.Candle] {
	return func(ctx context.Context, keys []CandleKey) []*dataloader.Result[[]*marketgraph.Candle] {
		return batch(ctx, keys, CandleKey.rangeOnly, func(ctx context.Context, g CandleKey, keys []CandleKey) []*dataloader.Result[[]*marketgraph.Candle] {
			r := g.Range()
			candles, err := s.CandlesByAssets(ctx, uniqueIDs(keys, CandleKey.assetID), r)
			if err != nil {
				return failAll[[]*marketgraph.Candle](len(keys), fmt.Errorf("load %s candles: %w", r.Interval, err))
			}
			rs := make([]*dataloader.Result[[]*marketgraph.Candle], len(keys))
			for i, k := range keys {
				cs := candles[k.AssetID]
				if cs == nil {
					cs = []*marketgraph.Candle{}
				}
				rs[i] = &dataloader.Result[[]*marketgraph.Candle]{Data: cs}
			}
			return rs
		})
	}
}

// rangeOnly is k without its asset: the group of keys one store call answers.
func (k CandleKey) rangeOnly() CandleKey { k.AssetID = ""; return k }
func (k CandleKey) assetID() string      { return k.AssetID }
