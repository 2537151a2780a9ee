package resolvers

import (
	"math"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/graph"
)

// Complexity returns the cost model gqlgen checks an operation against
// before running it (the server's complexity limit, and the per-caller
// budgets): every field costs 1 plus its children, and a list costs its
// children once per element it can return, so the estimate follows what the
// operation may really fetch. Lists take their size from their arguments
// (first, last, the from–to span of candles, the ids of a filter or of a
// subscription), falling back to the most they can return. A subscription
// costs what one event of each of its assets costs, charged when it starts.
func Complexity() graph.ComplexityRoot {
	var c graph.ComplexityRoot
	c.Query.Assets = func(child int, first *int, _ *string, filter *marketgraph.AssetFilter, _ *marketgraph.AssetOrder) int {
		page := size(first, marketgraph.DefaultAssetPageSize, marketgraph.MaxAssetPageSize)
		if filter != nil && filter.IDs != nil {
			// A page holds no more assets than the filter names (an empty
			// list matches none).
			page = min(page, len(filter.IDs))
		}
		return add(1, mul(child, page))
	}
	// The overview reads a whole page of the catalog and its quotes, and
	// lists up to top assets twice.
	c.Query.MarketOverview = func(child int, _ *marketgraph.Currency, top *int) int {
		return add(marketgraph.MaxAssetPageSize, mul(child, size(top, 5, 50)))
	}
	c.Asset.Candles = func(child int, i marketgraph.CandleInterval, from, to *time.Time, last *int) int {
		return add(1, mul(child, candleCount(i, from, to, last)))
	}
	c.Asset.CandleSeries = func(child int, i marketgraph.CandleInterval, from, to *time.Time, last *int) int {
		// Each column is one list of up to n scalars.
		return add(1, mul(child, candleCount(i, from, to, last)))
	}
	c.Asset.Signals = func(child int, first *int) int {
		return add(1, mul(child, size(first, marketgraph.DefaultSignalFirst, marketgraph.MaxSignalFirst)))
	}
	c.Subscription.PriceTicks = func(child int, assetIds []string, _ *marketgraph.Currency, _ *int, _ *string) int {
		return add(1, mul(child, min(len(assetIds), maxSubscribedAssets)))
	}
	// Without assetIds, the signals of the top of the catalog.
	c.Subscription.Signals = func(child int, assetIds []string) int {
		n := marketgraph.MaxAssetPageSize
		if assetIds != nil {
			n = min(len(assetIds), maxSubscribedAssets)
		}
		return add(1, mul(child, n))
	}
	return c
}

// size is a list argument's value, its default when absent, clamped to
// [0, max] (out-of-range values are refused later, by the resolver).
func size(p *int, def, hi int) int {
	n := def
	if p != nil {
		n = *p
	}
	return min(max(n, 0), hi)
}

// candleCount is how many candles a candles field may return.
func candleCount(i marketgraph.CandleInterval, from, to *time.Time, last *int) int {
	if last != nil {
		return size(last, 0, marketgraph.MaxCandleLast)
	}
	if from == nil {
		return marketgraph.DefaultCandleLast
	}
	d := i.Duration()
	if d <= 0 {
		return 1
	}
	span := marketgraph.MaxCandleRange[i]
	if to != nil && to.After(*from) && to.Sub(*from) < span {
		span = to.Sub(*from)
	}
	return max(int(span/d), 1)
}

// mul and add saturate at the largest int: a cost that wrapped around would
// make the most expensive query look free.
func mul(a, b int) int {
	if a != 0 && b > math.MaxInt/a {
		return math.MaxInt
	}
	return a * b
}

func add(a, b int) int {
	if b > math.MaxInt-a {
		return math.MaxInt
	}
	return a + b
}
