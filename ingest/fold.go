package ingest

import (
	"math"
	"time"

	"github.com/marketgraph/marketgraph"
)

// minutesPerDay turns a 24 h volume into a per-minute one.
const minutesPerDay = 24 * 60

// Tick is one observation of an asset's price: a quote reduced to what
// candles are made of. Prices and volumes are USD.
type Tick struct {
	AssetID string
	Price   float64
	// Volume24h is the asset's traded volume over the 24 hours up to At;
	// zero or less when the quote did not say.
	Volume24h float64
	// At is when the price was observed (the quote's AsOf), not when it
	// was fetched: it decides the minute the tick belongs to.
	At time.Time
}

// valid reports whether t can be folded: a named asset, an instant, and a
// positive finite price. Anything else is a broken quote, not a price.
func (t Tick) valid() bool {
	return t.AssetID != "" && !t.At.IsZero() && t.Price > 0 && !math.IsInf(t.Price, 1)
}

// Bar is a MINUTE candle being built from ticks, with what it takes to
// fold them in any order: the instants its open, close and volume were
// observed at. The zero Bar is empty.
//
// The rules, each a function of the SET of distinct ticks of the minute and
// not of their order, so that folding is order-independent and idempotent:
//   - Open is the price of the earliest tick, Close that of the latest;
//     ticks at the same instant are ordered by price (the higher one counts
//     as later), an arbitrary but fixed choice.
//   - High and Low are the largest and smallest prices of all ticks.
//   - Volume is an ESTIMATE: the latest known 24 h volume divided by 1440,
//     the average minute of the last day as seen at the end of the minute.
//     Quotes carry no traded volume per tick, and a difference of 24 h
//     volumes is not one either (it also loses what left the window), so
//     any running sum would both guess and double-count repeated ticks.
//     Ticks without a volume do not count; at the same instant the larger
//     volume wins. A minute whose ticks all lack a volume has volume 0.
//
// A tick repeated (same asset and At, same price and volume) therefore
// changes nothing, and a late tick lands where its At puts it.
type Bar struct {
	c marketgraph.Candle
	// openAt, closeAt and volAt are when Open, Close and Volume were
	// observed; hasVol whether any tick had a volume.
	openAt, closeAt, volAt time.Time
	hasVol                 bool
}

// Empty reports whether no tick has been folded into b.
func (b Bar) Empty() bool { return b.c.AssetID == "" }

// Start returns the minute b covers (zero when b is empty).
func (b Bar) Start() time.Time { return b.c.Start }

// Candle returns b as a MINUTE candle, a copy b does not share.
func (b Bar) Candle() *marketgraph.Candle {
	c := b.c
	return &c
}

// MinuteOf returns the start of the minute instant t falls in, in UTC.
func MinuteOf(t time.Time) time.Time { return t.UTC().Truncate(time.Minute) }

// Fold returns b with t folded in; b itself is not modified. An empty b
// takes its asset and minute from t. A tick of another asset or minute, or
// one that is not valid (no asset, zero At, a price that is not positive
// and finite), leaves b as it was: group ticks by asset and MinuteOf first.
func Fold(b Bar, t Tick) Bar {
	if !t.valid() {
		return b
	}
	start := MinuteOf(t.At)
	if b.Empty() {
		b = Bar{
			c: marketgraph.Candle{
				AssetID: t.AssetID, Interval: marketgraph.IntervalMinute, Start: start,
				Open: t.Price, High: t.Price, Low: t.Price, Close: t.Price,
			},
			openAt: t.At, closeAt: t.At,
		}
		return foldVolume(b, t)
	}
	if t.AssetID != b.c.AssetID || !start.Equal(b.c.Start) {
		return b
	}
	b.c.High = max(b.c.High, t.Price)
	b.c.Low = min(b.c.Low, t.Price)
	if later(b.openAt, b.c.Open, t.At, t.Price) {
		b.c.Open, b.openAt = t.Price, t.At
	}
	if later(t.At, t.Price, b.closeAt, b.c.Close) {
		b.c.Close, b.closeAt = t.Price, t.At
	}
	return foldVolume(b, t)
}

// foldVolume applies the volume rule of Bar to one tick.
func foldVolume(b Bar, t Tick) Bar {
	if !(t.Volume24h > 0) || math.IsInf(t.Volume24h, 1) {
		return b
	}
	v := t.Volume24h / minutesPerDay
	if !b.hasVol || later(t.At, v, b.volAt, b.c.Volume) {
		b.c.Volume, b.volAt, b.hasVol = v, t.At, true
	}
	return b
}

// later reports whether the observation (at, x) comes after (at0, x0):
// by instant, and at the same instant by value.
func later(at time.Time, x float64, at0 time.Time, x0 float64) bool {
	if c := at.Compare(at0); c != 0 {
		return c > 0
	}
	return x > x0
}

// ResumeBar turns a stored MINUTE candle back into a Bar to fold further
// ticks into, as a process taking over ingest does with the bar its
// predecessor left. The instants of the stored open, close and volume are
// not stored, so they are taken to precede every tick of the minute: the
// stored open stays, and the first tick folded in sets the close and (if it
// has one) the volume, while High and Low keep the stored extremes. That is
// exact whenever the new ticks are newer than the old ones, which is what a
// takeover sees. A nil c gives an empty Bar.
func ResumeBar(c *marketgraph.Candle) Bar {
	if c == nil || c.AssetID == "" {
		return Bar{}
	}
	before := c.Start.Add(-time.Nanosecond)
	b := Bar{c: *c, openAt: before, closeAt: before}
	b.c.Interval = marketgraph.IntervalMinute
	b.c.Start = c.Start.UTC()
	if c.Volume > 0 {
		b.volAt, b.hasVol = before, true
	}
	return b
}

// FoldAll builds the MINUTE candles of a batch of ticks, of any assets and
// in any order, by folding each into its asset's minute. The result is
// sorted by asset, then start.
func FoldAll(ticks []Tick) []*marketgraph.Candle {
	type key struct {
		asset string
		start int64
	}
	bars := map[key]Bar{}
	for _, t := range ticks {
		if !t.valid() {
			continue
		}
		k := key{t.AssetID, MinuteOf(t.At).Unix()}
		bars[k] = Fold(bars[k], t)
	}
	out := make([]*marketgraph.Candle, 0, len(bars))
	for _, b := range bars {
		out = append(out, b.Candle())
	}
	sortCandles(out)
	return out
}
