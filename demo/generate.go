// Package demo is the deterministic demo dataset: the top 100 crypto assets
// with a history of minute, hour and day candles drawn from a seeded random
// walk that ends at each asset's real late-2025 price, and the signals the
// indicator package computes from that history. `marketgraph seed` loads it
// into PostgreSQL and the in-memory store loads it at start-up, so both
// serve the same data for the same seed and end time.
package demo

import (
	"cmp"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/indicator"
)

// DefaultSeed is the seed the server and `marketgraph seed` use unless told
// otherwise.
const DefaultSeed int64 = 20261126

// How much history each asset gets, in candles per interval.
const (
	// MinuteCandles covers the 24 hours before End.
	MinuteCandles = 1440
	// HourCandles covers the 7 days before End.
	HourCandles = 168
	// DayCandles covers the 90 complete UTC days before End's day.
	DayCandles = 90
)

// Generate returns the demo dataset for seed, ending at end truncated to the
// hour in UTC (Dataset.End). The same seed and end always give the same
// dataset. For every asset of Assets:
//
//   - candles: the MinuteCandles minutes and the HourCandles hours before
//     End, and the DayCandles UTC days before End's day (the day in progress
//     has no daily candle). The newest minute closes at the asset's Price.
//     Where intervals overlap they agree: the hours the minutes cover are
//     aggregated from them, the days the hours cover from those hours;
//     older bars continue a coarser walk backwards from there.
//   - the catalog snapshot: MarketCap = Price × Supply, Volume24h and
//     Supply from the table, and Change24h the percent change from the
//     price 24 hours before End (the open of the oldest minute candle,
//     which starts at End − 24 h) to Price.
//   - signals: indicator.Signals over its hour and its day candles.
//
// Each asset draws from its own PCG stream seeded with seed and the FNV-1a
// hash of its id, so its history does not depend on the other assets or on
// their order. Candles are ordered by asset rank, interval (minute, hour,
// day) and start; signals by asset rank, then emission time, then id.
func Generate(seed int64, end time.Time) *marketgraph.Dataset {
	end = end.UTC().Truncate(time.Hour)
	assets := Assets()
	slices.SortFunc(assets, func(a, b Asset) int { return cmp.Compare(a.Rank, b.Rank) })
	perAsset := MinuteCandles + HourCandles + DayCandles
	ds := &marketgraph.Dataset{
		End:     end,
		Assets:  make([]*marketgraph.Asset, 0, len(assets)),
		Candles: make([]*marketgraph.Candle, 0, len(assets)*perAsset),
	}
	for _, a := range assets {
		candles := history(seed, end, a)
		ds.Assets = append(ds.Assets, &marketgraph.Asset{
			ID:        a.ID,
			Symbol:    a.Symbol,
			Name:      a.Name,
			Rank:      a.Rank,
			Category:  a.Category,
			MarketCap: a.Price * a.Supply,
			Volume24h: a.Volume24h,
			Change24h: (a.Price/candles[0].Open - 1) * 100,
			Supply:    a.Supply,
		})
		start := len(ds.Candles)
		for i := range candles {
			ds.Candles = append(ds.Candles, &candles[i])
		}
		own := ds.Candles[start:]
		hours := own[MinuteCandles : MinuteCandles+HourCandles]
		days := own[MinuteCandles+HourCandles:]
		signals := append(
			indicator.Signals(a.ID, marketgraph.IntervalHour, hours),
			indicator.Signals(a.ID, marketgraph.IntervalDay, days)...)
		slices.SortFunc(signals, func(x, y *marketgraph.Signal) int {
			if c := x.EmittedAt.Compare(y.EmittedAt); c != 0 {
				return c
			}
			return cmp.Compare(x.ID, y.ID)
		})
		ds.Signals = append(ds.Signals, signals...)
	}
	return ds
}

// history draws the candles of a for the hour-aligned instant end, in one
// block: MinuteCandles minutes, then HourCandles hours, then DayCandles
// days, each oldest first.
func history(seed int64, end time.Time, a Asset) []marketgraph.Candle {
	w := &walker{
		r:            rand.New(rand.NewPCG(uint64(seed), idHash(a.ID))),
		vol:          volatilityOf(a),
		volumePerDay: a.Volume24h,
	}
	all := make([]marketgraph.Candle, MinuteCandles+HourCandles+DayCandles)
	minutes := all[:MinuteCandles]
	hours := all[MinuteCandles : MinuteCandles+HourCandles]
	days := all[MinuteCandles+HourCandles:]

	w.fill(minutes, a.Price, time.Minute)
	label(minutes, a.ID, marketgraph.IntervalMinute, end.Add(-time.Minute))

	// The newest hours are made of the minutes.
	covered := MinuteCandles / 60
	for k := range covered {
		aggregate(&hours[HourCandles-covered+k], minutes[k*60:(k+1)*60])
	}
	w.fill(hours[:HourCandles-covered], hours[HourCandles-covered].Open, time.Hour)
	label(hours, a.ID, marketgraph.IntervalHour, end.Add(-time.Hour))

	// The newest days are made of the hours, when the hours span them whole.
	today := truncDay(end)
	firstHour := hours[0].Start
	firstWhole := truncDay(firstHour)
	if firstWhole.Before(firstHour) {
		firstWhole = firstWhole.Add(24 * time.Hour)
	}
	whole := int(today.Sub(firstWhole) / (24 * time.Hour))
	for d := range whole {
		off := int(firstWhole.Add(time.Duration(d)*24*time.Hour).Sub(firstHour) / time.Hour)
		aggregate(&days[DayCandles-whole+d], hours[off:off+24])
	}
	w.fill(days[:DayCandles-whole], days[DayCandles-whole].Open, 24*time.Hour)
	label(days, a.ID, marketgraph.IntervalDay, today.Add(-24*time.Hour))

	return all
}

// idHash is the FNV-1a hash of an asset id: the second half of the asset's
// random stream's seed.
func idHash(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()
}

// truncDay is the start of t's UTC day.
func truncDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
