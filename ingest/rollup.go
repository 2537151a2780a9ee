package ingest

import (
	"cmp"
	"slices"
	"time"

	"github.com/marketgraph/marketgraph"
)

// Rollup aggregates finer candles into candles of interval (HOUR or DAY):
// each output bar covers the input candles of one asset whose Start falls
// in it, and has the open of the first of them, the close of the last, the
// highest high, the lowest low and the sum of the volumes, added in start
// order. Bars are aligned in UTC.
//
// Input candles may come in any order. They must all be of one interval
// finer than interval: MINUTE, or HOUR for a DAY roll-up. The interval of
// the first such candle is the one used; candles of any other are ignored,
// since mixing minutes with the hours they make up would count them twice.
// Two candles of the same asset, interval and start are one bar written
// twice: the later in the slice replaces the earlier, as an upsert would.
// The result is sorted by asset, then start; nil for an unknown interval.
func Rollup(interval marketgraph.CandleInterval, candles []*marketgraph.Candle) []*marketgraph.Candle {
	d := interval.Duration()
	if d == 0 {
		return nil
	}
	type key struct {
		asset    string
		interval marketgraph.CandleInterval
		start    int64
	}
	latest := map[key]*marketgraph.Candle{}
	var from marketgraph.CandleInterval
	for _, c := range candles {
		if c == nil || c.Interval.Duration() == 0 || c.Interval.Duration() >= d {
			continue
		}
		if from == "" {
			from = c.Interval
		}
		if c.Interval != from {
			continue
		}
		latest[key{c.AssetID, c.Interval, c.Start.Unix()}] = c
	}
	parts := make([]*marketgraph.Candle, 0, len(latest))
	for _, c := range latest {
		parts = append(parts, c)
	}
	sortCandles(parts)

	var out []*marketgraph.Candle
	var cur *marketgraph.Candle
	for _, c := range parts {
		start := truncate(c.Start, d)
		if cur == nil || cur.AssetID != c.AssetID || !cur.Start.Equal(start) {
			cur = begin(interval, start, c)
			out = append(out, cur)
			continue
		}
		extend(cur, c)
	}
	return out
}

// begin starts an aggregate bar of interval at start from its first part c.
func begin(interval marketgraph.CandleInterval, start time.Time, c *marketgraph.Candle) *marketgraph.Candle {
	agg := *c
	agg.Interval, agg.Start = interval, start
	return &agg
}

// extend appends the candle c, which starts after everything agg holds, to
// the aggregate agg. The pipeline's hour and day bars and Rollup are all
// built with begin and extend, so they add volumes in the same order and
// agree to the last bit.
func extend(agg *marketgraph.Candle, c *marketgraph.Candle) {
	agg.High = max(agg.High, c.High)
	agg.Low = min(agg.Low, c.Low)
	agg.Volume += c.Volume
	agg.Close = c.Close
}

// truncate returns the start of the bar of width d that t falls in, in UTC.
// Minutes, hours and days all divide the time since Go's zero time, which
// is a UTC midnight, so Truncate aligns them to UTC.
func truncate(t time.Time, d time.Duration) time.Time { return t.UTC().Truncate(d) }

// sortCandles orders candles by asset, then start.
func sortCandles(cs []*marketgraph.Candle) {
	slices.SortFunc(cs, func(a, b *marketgraph.Candle) int {
		if c := cmp.Compare(a.AssetID, b.AssetID); c != 0 {
			return c
		}
		return a.Start.Compare(b.Start)
	})
}
