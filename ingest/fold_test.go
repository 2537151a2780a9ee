package ingest_test

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/ingest"
)

var t0 = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

// randomTicks makes n ticks of three assets spread over about two days,
// with a fifth of them sharing an instant with another tick of the same
// asset at a different price, and some without a volume.
func randomTicks(r *rand.Rand, n int) []ingest.Tick {
	assets := []string{"bitcoin", "ethereum", "dogecoin"}
	ticks := make([]ingest.Tick, 0, n)
	for len(ticks) < n {
		t := ingest.Tick{
			AssetID: assets[r.IntN(len(assets))],
			Price:   float64(1+r.IntN(1000)) / 8,
			At:      t0.Add(time.Duration(r.Int64N(int64(50 * time.Hour)))),
		}
		if r.IntN(4) > 0 {
			t.Volume24h = float64(r.IntN(1e6))
		}
		if len(ticks) > 0 && r.IntN(5) == 0 {
			prev := ticks[r.IntN(len(ticks))]
			t.AssetID, t.At = prev.AssetID, prev.At
		}
		ticks = append(ticks, t)
	}
	return ticks
}

// withDuplicates returns ticks plus copies of about a third of them, all
// shuffled.
func withDuplicates(r *rand.Rand, ticks []ingest.Tick) []ingest.Tick {
	out := slices.Clone(ticks)
	for range len(ticks) / 3 {
		out = append(out, ticks[r.IntN(len(ticks))])
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// direct computes the candles of interval straight from the distinct
// ticks, by sorting rather than folding: each bar's ticks in (At, Price)
// order give open (first), close (last), high and low; a minute's volume is
// the volume of its last tick that has one, in (At, Volume24h) order, over
// 1440; an hour's or a day's is the sum of its minutes' in time order.
func direct(ticks []ingest.Tick, interval marketgraph.CandleInterval) []*marketgraph.Candle {
	type key struct {
		asset string
		start int64
	}
	d := interval.Duration()
	groups := map[key][]ingest.Tick{}
	for _, t := range ticks {
		k := key{t.AssetID, t.At.Truncate(d).Unix()}
		if !slices.Contains(groups[k], t) {
			groups[k] = append(groups[k], t)
		}
	}
	var out []*marketgraph.Candle
	for k, ts := range groups {
		slices.SortFunc(ts, func(a, b ingest.Tick) int {
			return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.Price, b.Price))
		})
		c := &marketgraph.Candle{
			AssetID: k.asset, Interval: interval, Start: time.Unix(k.start, 0).UTC(),
			Open: ts[0].Price, Close: ts[len(ts)-1].Price, High: ts[0].Price, Low: ts[0].Price,
		}
		for _, t := range ts {
			c.High, c.Low = max(c.High, t.Price), min(c.Low, t.Price)
		}
		c.Volume = minuteVolumes(ts)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *marketgraph.Candle) int {
		return cmp.Or(cmp.Compare(a.AssetID, b.AssetID), a.Start.Compare(b.Start))
	})
	return out
}

// minuteVolumes sums, in minute order, the volume of each minute of ts.
func minuteVolumes(ts []ingest.Tick) float64 {
	byMinute := map[int64][]ingest.Tick{}
	for _, t := range ts {
		if t.Volume24h > 0 {
			m := t.At.Truncate(time.Minute).Unix()
			byMinute[m] = append(byMinute[m], t)
		}
	}
	var sum float64
	for _, m := range slices.Sorted(func(yield func(int64) bool) {
		for m := range byMinute {
			if !yield(m) {
				return
			}
		}
	}) {
		last := slices.MaxFunc(byMinute[m], func(a, b ingest.Tick) int {
			return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.Volume24h, b.Volume24h))
		})
		sum += last.Volume24h / 1440
	}
	return sum
}

func diffCandles(got, want []*marketgraph.Candle) string {
	if len(got) != len(want) {
		return fmt.Sprintf("got %d candles, want %d", len(got), len(want))
	}
	var b strings.Builder
	for i := range got {
		g, w := *got[i], *want[i]
		if !g.Start.Equal(w.Start) {
			return fmt.Sprintf("candle %d starts %v, want %v", i, g.Start, w.Start)
		}
		g.Start = w.Start
		if g != w {
			fmt.Fprintf(&b, "candle %d:\n got  %+v\n want %+v\n", i, g, w)
		}
	}
	return b.String()
}

// Folding is order-independent and idempotent: however the ticks come,
// shuffled and repeated, the candles are those computed directly from the
// distinct ticks; and rolling minutes up gives the hours and days computed
// directly from the same ticks.
func TestFold_Property(t *testing.T) {
	for seed := range uint64(200) {
		r := rand.New(rand.NewPCG(seed, 0x1c0ffee))
		ticks := randomTicks(r, 20+r.IntN(400))
		wantMinutes := direct(ticks, marketgraph.IntervalMinute)

		stream := withDuplicates(r, ticks)
		bars := map[string]ingest.Bar{}
		for _, tk := range stream {
			k := tk.AssetID + "/" + ingest.MinuteOf(tk.At).String()
			bars[k] = ingest.Fold(bars[k], tk)
		}
		var folded []*marketgraph.Candle
		for _, b := range bars {
			folded = append(folded, b.Candle())
		}
		slices.SortFunc(folded, func(a, b *marketgraph.Candle) int {
			return cmp.Or(cmp.Compare(a.AssetID, b.AssetID), a.Start.Compare(b.Start))
		})
		if d := diffCandles(folded, wantMinutes); d != "" {
			t.Fatalf("seed %d: tick by tick:\n%s", seed, d)
		}
		if d := diffCandles(ingest.FoldAll(stream), wantMinutes); d != "" {
			t.Fatalf("seed %d: FoldAll:\n%s", seed, d)
		}

		minutes := slices.Clone(folded)
		r.Shuffle(len(minutes), func(i, j int) { minutes[i], minutes[j] = minutes[j], minutes[i] })
		for _, interval := range []marketgraph.CandleInterval{marketgraph.IntervalHour, marketgraph.IntervalDay} {
			if d := diffCandles(ingest.Rollup(interval, minutes), direct(ticks, interval)); d != "" {
				t.Fatalf("seed %d: Rollup(%s):\n%s", seed, interval, d)
			}
		}
	}
}

func TestFold_Ignores(t *testing.T) {
	at := t0.Add(90 * time.Second)
	b := ingest.Fold(ingest.Bar{}, ingest.Tick{AssetID: "bitcoin", Price: 10, Volume24h: 1440, At: at})
	for name, tk := range map[string]ingest.Tick{
		"OtherAsset":    {AssetID: "ethereum", Price: 20, At: at},
		"OtherMinute":   {AssetID: "bitcoin", Price: 20, At: at.Add(time.Minute)},
		"ZeroPrice":     {AssetID: "bitcoin", Price: 0, At: at.Add(time.Second)},
		"NegativePrice": {AssetID: "bitcoin", Price: -1, At: at.Add(time.Second)},
		"NoInstant":     {AssetID: "bitcoin", Price: 20},
	} {
		t.Run(name, func(t *testing.T) {
			if got := ingest.Fold(b, tk); got != b {
				t.Errorf("Fold changed the bar to %+v", got.Candle())
			}
		})
	}
	t.Run("EmptyBarInvalidTick", func(t *testing.T) {
		if got := ingest.Fold(ingest.Bar{}, ingest.Tick{AssetID: "bitcoin", At: at}); !got.Empty() {
			t.Errorf("a tick without a price started a bar: %+v", got.Candle())
		}
	})
}

func TestResumeBar(t *testing.T) {
	stored := &marketgraph.Candle{
		AssetID: "bitcoin", Interval: marketgraph.IntervalMinute, Start: t0,
		Open: 100, High: 120, Low: 90, Close: 110, Volume: 5,
	}
	b := ingest.ResumeBar(stored)
	t.Run("Unchanged", func(t *testing.T) {
		if got := *b.Candle(); got != *stored {
			t.Errorf("resumed bar = %+v, want the stored candle", got)
		}
	})
	t.Run("ContinuesTheBar", func(t *testing.T) {
		got := *ingest.Fold(b, ingest.Tick{AssetID: "bitcoin", Price: 95, Volume24h: 1440 * 7, At: t0.Add(30 * time.Second)}).Candle()
		want := marketgraph.Candle{AssetID: "bitcoin", Interval: marketgraph.IntervalMinute, Start: t0, Open: 100, High: 120, Low: 90, Close: 95, Volume: 7}
		if got != want {
			t.Errorf("got  %+v\nwant %+v", got, want)
		}
	})
	t.Run("KeepsVolumeWithoutOne", func(t *testing.T) {
		got := ingest.Fold(b, ingest.Tick{AssetID: "bitcoin", Price: 130, At: t0.Add(30 * time.Second)}).Candle()
		if got.Volume != 5 || got.High != 130 || got.Close != 130 {
			t.Errorf("got %+v, want high and close 130, volume 5", got)
		}
	})
	t.Run("Nil", func(t *testing.T) {
		if !ingest.ResumeBar(nil).Empty() {
			t.Error("ResumeBar(nil) is not empty")
		}
	})
}

func TestRollup(t *testing.T) {
	m := func(min int, o, h, l, c, v float64) *marketgraph.Candle {
		return &marketgraph.Candle{AssetID: "bitcoin", Interval: marketgraph.IntervalMinute, Start: t0.Add(time.Duration(min) * time.Minute), Open: o, High: h, Low: l, Close: c, Volume: v}
	}
	t.Run("HourFromMinutesInAnyOrder", func(t *testing.T) {
		got := ingest.Rollup(marketgraph.IntervalHour, []*marketgraph.Candle{m(2, 5, 9, 4, 6, 1), m(0, 3, 4, 2, 4, 2), m(59, 6, 7, 1, 2, 4), m(60, 8, 8, 8, 8, 8)})
		want := []*marketgraph.Candle{
			{AssetID: "bitcoin", Interval: marketgraph.IntervalHour, Start: t0, Open: 3, High: 9, Low: 1, Close: 2, Volume: 7},
			{AssetID: "bitcoin", Interval: marketgraph.IntervalHour, Start: t0.Add(time.Hour), Open: 8, High: 8, Low: 8, Close: 8, Volume: 8},
		}
		if d := diffCandles(got, want); d != "" {
			t.Error(d)
		}
	})
	t.Run("RewrittenMinuteCountsOnce", func(t *testing.T) {
		got := ingest.Rollup(marketgraph.IntervalHour, []*marketgraph.Candle{m(0, 3, 4, 2, 4, 2), m(0, 3, 5, 2, 5, 3)})
		want := []*marketgraph.Candle{{AssetID: "bitcoin", Interval: marketgraph.IntervalHour, Start: t0, Open: 3, High: 5, Low: 2, Close: 5, Volume: 3}}
		if d := diffCandles(got, want); d != "" {
			t.Error(d)
		}
	})
	t.Run("DayFromHours", func(t *testing.T) {
		hours := ingest.Rollup(marketgraph.IntervalHour, []*marketgraph.Candle{m(0, 3, 4, 2, 4, 2), m(120, 5, 9, 1, 6, 1)})
		got := ingest.Rollup(marketgraph.IntervalDay, hours)
		want := []*marketgraph.Candle{{AssetID: "bitcoin", Interval: marketgraph.IntervalDay, Start: t0, Open: 3, High: 9, Low: 1, Close: 6, Volume: 3}}
		if d := diffCandles(got, want); d != "" {
			t.Error(d)
		}
	})
	t.Run("NotFiner", func(t *testing.T) {
		if got := ingest.Rollup(marketgraph.IntervalMinute, []*marketgraph.Candle{m(0, 1, 1, 1, 1, 1)}); len(got) != 0 {
			t.Errorf("Rollup(MINUTE) = %d candles, want none", len(got))
		}
	})
}
