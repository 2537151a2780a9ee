package ingest

import (
	"math"
	"slices"
	"time"

	"github.com/marketgraph/marketgraph"
)

// coarseStep is the spacing of samples above which a history is too
// coarse for hour candles: a provider's hourly series has a median gap of
// an hour even with a few samples missing, a daily one of a day.
const coarseStep = 2 * time.Hour

// HistoryCandles builds candles from a price history (a provider's market
// chart, one Tick per sample) covering [from, to]: the HOUR candles, and
// the DAY candles rolled up from them with Rollup. Ticks may be of several
// assets and in any order; ticks that are not valid (see Fold) are skipped.
//
// Only complete bars are built: those whose whole span lies in [from, to],
// so neither the bar still open at to nor one that began before from (and
// would miss its first samples) is ever written over a complete stored bar.
// Bars are aligned to UTC.
//
// Each bar follows the rules of Bar, with the bar's width in place of the
// minute: Open is the price of the earliest tick, Close of the latest,
// High and Low the extremes, and Volume an ESTIMATE, the latest known 24 h
// volume in the bar divided by the bars in a day (24 for an hour). A
// provider's chart carries 24 h volumes, not traded volume per sample, so
// this is the average bar of the day up to the bar's end; a DAY candle, the
// sum of its hours, is then the average 24 h volume over the day.
//
// A history whose samples are further apart than two hours (CoinGecko
// sends daily samples for ranges beyond 90 days) gives no HOUR candles: a
// day's one sample would pass for an hour's trading. Its DAY candles are
// built from the samples directly, by the same rules.
//
// The result is sorted by asset, then start, and is a function of the set
// of distinct ticks: repeating the same history builds the same candles.
func HistoryCandles(ticks []Tick, from, to time.Time) (hours, days []*marketgraph.Candle) {
	byAsset := map[string][]Tick{}
	for _, t := range ticks {
		if t.valid() {
			byAsset[t.AssetID] = append(byAsset[t.AssetID], t)
		}
	}
	for _, ts := range byAsset {
		if coarse(ts) {
			days = append(days, complete(barsOf(ts, marketgraph.IntervalDay), from, to)...)
			continue
		}
		h := complete(barsOf(ts, marketgraph.IntervalHour), from, to)
		hours = append(hours, h...)
		days = append(days, complete(Rollup(marketgraph.IntervalDay, h), from, to)...)
	}
	sortCandles(hours)
	sortCandles(days)
	return hours, days
}

// coarse reports whether the median gap between the distinct instants of
// ts (one asset's) exceeds coarseStep.
func coarse(ts []Tick) bool {
	at := make([]time.Time, len(ts))
	for i, t := range ts {
		at[i] = t.At
	}
	slices.SortFunc(at, time.Time.Compare)
	at = slices.CompactFunc(at, time.Time.Equal)
	if len(at) < 2 {
		return false
	}
	gaps := make([]time.Duration, len(at)-1)
	for i := range gaps {
		gaps[i] = at[i+1].Sub(at[i])
	}
	slices.Sort(gaps)
	return gaps[len(gaps)/2] > coarseStep
}

// barsOf folds the valid ticks ts of one asset into bars of interval.
func barsOf(ts []Tick, interval marketgraph.CandleInterval) []*marketgraph.Candle {
	d := interval.Duration()
	perDay := float64(24 * time.Hour / d)
	type bar struct {
		c                      marketgraph.Candle
		openAt, closeAt, volAt time.Time
		vol24h                 float64
	}
	bars := map[int64]*bar{}
	for _, t := range ts {
		start := truncate(t.At, d)
		b := bars[start.Unix()]
		if b == nil {
			b = &bar{
				c: marketgraph.Candle{AssetID: t.AssetID, Interval: interval, Start: start,
					Open: t.Price, High: t.Price, Low: t.Price, Close: t.Price},
				openAt: t.At, closeAt: t.At,
			}
			bars[start.Unix()] = b
		}
		b.c.High = max(b.c.High, t.Price)
		b.c.Low = min(b.c.Low, t.Price)
		if later(b.openAt, b.c.Open, t.At, t.Price) {
			b.c.Open, b.openAt = t.Price, t.At
		}
		if later(t.At, t.Price, b.closeAt, b.c.Close) {
			b.c.Close, b.closeAt = t.Price, t.At
		}
		if t.Volume24h > 0 && t.Volume24h <= math.MaxFloat64 && (b.vol24h == 0 || later(t.At, t.Volume24h, b.volAt, b.vol24h)) {
			b.vol24h, b.volAt = t.Volume24h, t.At
		}
	}
	out := make([]*marketgraph.Candle, 0, len(bars))
	for _, b := range bars {
		c := b.c
		c.Volume = b.vol24h / perDay
		out = append(out, &c)
	}
	sortCandles(out)
	return out
}

// complete keeps the candles whose whole span lies in [from, to].
func complete(cs []*marketgraph.Candle, from, to time.Time) []*marketgraph.Candle {
	return slices.DeleteFunc(cs, func(c *marketgraph.Candle) bool {
		return c.Start.Before(from) || c.Start.Add(c.Interval.Duration()).After(to)
	})
}
