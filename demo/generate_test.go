package demo_test

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/demo"
)

// end is deliberately not aligned and not in UTC: Generate truncates it to
// 2025-11-26 12:00 UTC.
var end = time.Date(2025, 11, 26, 13, 47, 12, 500, time.FixedZone("CET", 3600))

var wantEnd = time.Date(2025, 11, 26, 12, 0, 0, 0, time.UTC)

// series groups a dataset's candles by asset and interval, oldest first.
func series(ds *marketgraph.Dataset) map[string]map[marketgraph.CandleInterval][]*marketgraph.Candle {
	out := map[string]map[marketgraph.CandleInterval][]*marketgraph.Candle{}
	for _, c := range ds.Candles {
		if out[c.AssetID] == nil {
			out[c.AssetID] = map[marketgraph.CandleInterval][]*marketgraph.Candle{}
		}
		out[c.AssetID][c.Interval] = append(out[c.AssetID][c.Interval], c)
	}
	return out
}

func TestGenerate_Deterministic(t *testing.T) {
	a := demo.Generate(demo.DefaultSeed, end)
	b := demo.Generate(demo.DefaultSeed, end)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two datasets for the same seed and end differ")
	}
	t.Run("OtherSeedDiffers", func(t *testing.T) {
		c := demo.Generate(demo.DefaultSeed+1, end)
		same := 0
		for i := range a.Candles {
			if *a.Candles[i] == *c.Candles[i] {
				same++
			}
		}
		// Only the newest minute of each asset is pinned to its anchor.
		if same > len(a.Assets) {
			t.Errorf("%d of %d candles are identical across seeds", same, len(a.Candles))
		}
	})
	t.Run("EndTruncatedToHour", func(t *testing.T) {
		if !a.End.Equal(wantEnd) || a.End.Location() != time.UTC {
			t.Errorf("End = %v, want %v", a.End, wantEnd)
		}
		if !reflect.DeepEqual(a, demo.Generate(demo.DefaultSeed, wantEnd)) {
			t.Error("any instant within an hour must give the dataset of that hour")
		}
	})
}

func TestGenerate_Candles(t *testing.T) {
	for _, e := range []time.Time{end, time.Date(2025, 11, 27, 0, 0, 0, 0, time.UTC)} {
		t.Run(e.UTC().Format("15h"), func(t *testing.T) { testCandles(t, demo.Generate(demo.DefaultSeed, e)) })
	}
}

func testCandles(t *testing.T, ds *marketgraph.Dataset) {
	want := map[marketgraph.CandleInterval]int{
		marketgraph.IntervalMinute: demo.MinuteCandles,
		marketgraph.IntervalHour:   demo.HourCandles,
		marketgraph.IntervalDay:    demo.DayCandles,
	}
	if len(ds.Assets) != 100 {
		t.Fatalf("got %d assets, want 100", len(ds.Assets))
	}
	if n := 100 * (1440 + 168 + 90); len(ds.Candles) != n {
		t.Fatalf("got %d candles, want %d", len(ds.Candles), n)
	}
	t.Run("Order", func(t *testing.T) {
		order := map[marketgraph.CandleInterval]int{marketgraph.IntervalMinute: 0, marketgraph.IntervalHour: 1, marketgraph.IntervalDay: 2}
		rank := map[string]int{}
		for _, a := range ds.Assets {
			rank[a.ID] = a.Rank
		}
		for i := 1; i < len(ds.Candles); i++ {
			p, c := ds.Candles[i-1], ds.Candles[i]
			if rank[p.AssetID] != rank[c.AssetID] {
				if rank[p.AssetID] > rank[c.AssetID] {
					t.Fatalf("candle %d: %s after %s", i, c.AssetID, p.AssetID)
				}
				continue
			}
			if order[p.Interval] > order[c.Interval] || p.Interval == c.Interval && !p.Start.Before(c.Start) {
				t.Fatalf("candle %d: %s %s %v after %s %v", i, c.AssetID, c.Interval, c.Start, p.Interval, p.Start)
			}
		}
	})
	today := ds.End.Truncate(24 * time.Hour)
	newest := map[marketgraph.CandleInterval]time.Time{
		marketgraph.IntervalMinute: ds.End.Add(-time.Minute),
		marketgraph.IntervalHour:   ds.End.Add(-time.Hour),
		marketgraph.IntervalDay:    today.Add(-24 * time.Hour),
	}
	for id, byInterval := range series(ds) {
		for interval, cs := range byInterval {
			if len(cs) != want[interval] {
				t.Errorf("%s %s: %d candles, want %d", id, interval, len(cs), want[interval])
				continue
			}
			d := interval.Duration()
			if last := cs[len(cs)-1].Start; !last.Equal(newest[interval]) {
				t.Errorf("%s %s: newest starts %v, want %v", id, interval, last, newest[interval])
			}
			for i, c := range cs {
				if c.Start.Location() != time.UTC || !c.Start.Truncate(d).Equal(c.Start) {
					t.Errorf("%s %s %v: start not aligned to the interval in UTC", id, interval, c.Start)
				}
				if i > 0 && c.Start.Sub(cs[i-1].Start) != d {
					t.Errorf("%s %s %v: gap after %v", id, interval, c.Start, cs[i-1].Start)
				}
				if !(c.Low > 0 && c.Low <= c.Open && c.Low <= c.Close && c.High >= c.Open && c.High >= c.Close && c.Volume > 0) {
					t.Errorf("%s %s %v: OHLCV invariants broken: %+v", id, interval, c.Start, *c)
				}
				// Each bar opens at the previous close, aggregated or not.
				if i > 0 && c.Open != cs[i-1].Close {
					t.Errorf("%s %s %v: opens at %v, previous closed at %v", id, interval, c.Start, c.Open, cs[i-1].Close)
				}
			}
		}
	}
	t.Run("Overlap", func(t *testing.T) { testOverlap(t, ds) })
}

// testOverlap checks that hours made of minutes and days made of hours hold
// exactly the aggregate of the bars they span.
func testOverlap(t *testing.T, ds *marketgraph.Dataset) {
	for id, s := range series(ds) {
		// check compares coarse with the aggregate of the finer bars within it,
		// which must span it whole.
		check := func(coarse *marketgraph.Candle, fine []*marketgraph.Candle) {
			t.Helper()
			var in []*marketgraph.Candle
			for _, f := range fine {
				if !f.Start.Before(coarse.Start) && f.Start.Before(coarse.Start.Add(coarse.Interval.Duration())) {
					in = append(in, f)
				}
			}
			if len(in) != int(coarse.Interval.Duration()/fine[0].Interval.Duration()) {
				t.Fatalf("%s %s %v: spanned by %d finer bars", id, coarse.Interval, coarse.Start, len(in))
			}
			want := marketgraph.Candle{AssetID: id, Interval: coarse.Interval, Start: coarse.Start,
				Open: in[0].Open, Close: in[len(in)-1].Close, High: in[0].High, Low: in[0].Low}
			for _, f := range in {
				want.High, want.Low, want.Volume = max(want.High, f.High), min(want.Low, f.Low), want.Volume+f.Volume
			}
			if math.Abs(want.Volume-coarse.Volume) <= 1e-9*want.Volume {
				want.Volume = coarse.Volume // summed in another order, perhaps
			}
			if *coarse != want {
				t.Errorf("%s %s %v:\n got %+v\nwant %+v", id, coarse.Interval, coarse.Start, *coarse, want)
			}
		}
		hours, days := s[marketgraph.IntervalHour], s[marketgraph.IntervalDay]
		for _, h := range hours[len(hours)-24:] {
			check(h, s[marketgraph.IntervalMinute])
		}
		// 168 hours ending at End span 7 whole days when End is midnight, 6
		// otherwise: those days are made of hours.
		spanned := 6
		if ds.End.Hour() == 0 {
			spanned = 7
		}
		for _, d := range days[len(days)-spanned:] {
			check(d, hours)
		}
		if older := days[len(days)-spanned-1]; !older.Start.Before(hours[0].Start) {
			t.Errorf("%s: day %v is spanned by hours but not made of them", id, older.Start)
		}
	}
}

func TestGenerate_Snapshot(t *testing.T) {
	ds := demo.Generate(demo.DefaultSeed, end)
	s := series(ds)
	anchors := demo.Assets()
	for i, a := range ds.Assets {
		anchor := anchors[i]
		minutes := s[a.ID][marketgraph.IntervalMinute]
		if got := minutes[len(minutes)-1].Close; got != anchor.Price {
			t.Errorf("%s: newest minute closes at %v, want the anchor %v", a.ID, got, anchor.Price)
		}
		if a.ID != anchor.ID || a.Symbol != anchor.Symbol || a.Name != anchor.Name || a.Rank != anchor.Rank || a.Category != anchor.Category {
			t.Errorf("asset %d = %+v, want the catalog's %+v", i, *a, anchor)
		}
		if a.MarketCap != anchor.Price*anchor.Supply || a.Supply != anchor.Supply || a.Volume24h != anchor.Volume24h {
			t.Errorf("%s: snapshot %+v does not match the anchor %+v", a.ID, *a, anchor)
		}
		// The price 24 h before End is the open of the minute starting then.
		if first := minutes[0]; !first.Start.Equal(ds.End.Add(-24*time.Hour)) ||
			math.Abs(a.Change24h-(anchor.Price/first.Open-1)*100) > 1e-9 {
			t.Errorf("%s: change24h %v, want %v", a.ID, a.Change24h, (anchor.Price/first.Open-1)*100)
		}
	}
	t.Run("StablecoinsStayPegged", func(t *testing.T) {
		for _, a := range ds.Assets {
			if a.Category != demo.CategoryStablecoin {
				continue
			}
			for _, c := range ds.Candles {
				if c.AssetID == a.ID && (c.Low < 0.99 || c.High > 1.01) {
					t.Fatalf("%s %s %v: %v..%v strays from the peg", a.ID, c.Interval, c.Start, c.Low, c.High)
				}
			}
		}
	})
	t.Run("MemesSwingMoreThanBitcoin", func(t *testing.T) {
		vol := func(id string) float64 {
			cs := s[id][marketgraph.IntervalDay]
			var sum, sq float64
			for i := 1; i < len(cs); i++ {
				r := math.Log(cs[i].Close / cs[i-1].Close)
				sum, sq = sum+r, sq+r*r
			}
			n := float64(len(cs) - 1)
			return math.Sqrt(sq/n - (sum/n)*(sum/n))
		}
		btc, pepe, usdt := vol("bitcoin"), vol("pepe"), vol("tether")
		if !(pepe > btc && btc > usdt) {
			t.Errorf("daily volatility pepe %.4f, bitcoin %.4f, tether %.4f: want decreasing", pepe, btc, usdt)
		}
	})
}

func TestGenerate_Signals(t *testing.T) {
	ds := demo.Generate(demo.DefaultSeed, end)
	if len(ds.Signals) == 0 {
		t.Fatal("no signals in the whole dataset")
	}
	rank := map[string]int{}
	for _, a := range ds.Assets {
		rank[a.ID] = a.Rank
	}
	ids := map[string]bool{}
	kinds := map[marketgraph.SignalKind]int{}
	for i, s := range ds.Signals {
		if _, ok := rank[s.AssetID]; !ok {
			t.Errorf("signal %s refers to unknown asset %q", s.ID, s.AssetID)
		}
		if ids[s.ID] {
			t.Errorf("duplicate signal id %s", s.ID)
		}
		ids[s.ID] = true
		kinds[s.Kind]++
		if s.Strength < 0 || s.Strength > 1 || s.Reason == "" || s.EmittedAt.After(ds.End) {
			t.Errorf("malformed signal %+v", *s)
		}
		if i > 0 {
			p := ds.Signals[i-1]
			if rank[p.AssetID] > rank[s.AssetID] || p.AssetID == s.AssetID && s.EmittedAt.Before(p.EmittedAt) {
				t.Errorf("signal %s out of order after %s", s.ID, p.ID)
			}
		}
	}
	for _, k := range []marketgraph.SignalKind{marketgraph.SignalBuy, marketgraph.SignalSell, marketgraph.SignalHold} {
		if kinds[k] == 0 {
			t.Errorf("no %s signal in the whole dataset", k)
		}
	}
}

func BenchmarkGenerate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		demo.Generate(demo.DefaultSeed, end)
	}
}
