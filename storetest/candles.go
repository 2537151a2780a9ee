package storetest

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
)

// expectedCandles is the reference reading of marketgraph.CandleRange over
// the fixture.
func expectedCandles(assetIDs []string, r marketgraph.CandleRange) map[string][]*marketgraph.Candle {
	want := map[string]bool{}
	for _, id := range assetIDs {
		want[id] = true
	}
	out := map[string][]*marketgraph.Candle{}
	for _, c := range Fixture().Candles {
		if !want[c.AssetID] || c.Interval != r.Interval ||
			(r.From != nil && c.Start.Before(*r.From)) || (r.To != nil && !c.Start.Before(*r.To)) {
			continue
		}
		out[c.AssetID] = append(out[c.AssetID], c)
	}
	for id, cs := range out {
		sort.Slice(cs, func(i, j int) bool { return cs[i].Start.Before(cs[j].Start) })
		if r.Last > 0 && len(cs) > r.Last {
			cs = cs[len(cs)-r.Last:]
		}
		out[id] = cs
	}
	return out
}

// candleLines renders a result map of candles (see groupLines).
func candleLines(m map[string][]*marketgraph.Candle) []string {
	return groupLines(m, "candles", formatCandle)
}

// candles calls CandlesByAssets and fails t on an error.
func candles(t *testing.T, s marketgraph.Store, assetIDs []string, r marketgraph.CandleRange) map[string][]*marketgraph.Candle {
	t.Helper()
	m, err := s.CandlesByAssets(context.Background(), assetIDs, r)
	if err != nil {
		t.Fatalf("CandlesByAssets(%v, %+v): %v", assetIDs, r, err)
	}
	return m
}

// startsOf returns the start times of cs relative to end, for hand checks.
func startsOf(cs []*marketgraph.Candle, end time.Time) []string {
	return lines(cs, func(c *marketgraph.Candle) string { return end.Sub(c.Start).String() })
}

func testCandlesByAssets(t *testing.T, s marketgraph.Store) {
	end := Fixture().End
	at := func(d time.Duration) *time.Time { return ptr(end.Add(d)) }
	minute, hour, day := time.Minute, time.Hour, 24*time.Hour
	withCandles := []string{"bitcoin", "ethereum", "tether", "asset-001", "asset-002", "asset-003", "asset-004", "asset-005", "asset-006", "asset-007"}
	some := append([]string{"nope", "dai"}, withCandles...)
	cet := time.FixedZone("CET", 3600)

	type tc struct {
		name string
		ids  []string
		r    marketgraph.CandleRange
	}
	cases := []tc{
		{"Empty", []string{}, marketgraph.CandleRange{Interval: marketgraph.IntervalDay}},
		{"Nil", nil, marketgraph.CandleRange{Interval: marketgraph.IntervalDay}},
		{"OnlyWithout", []string{"dai", "nope"}, marketgraph.CandleRange{Interval: marketgraph.IntervalDay}},
		{"Duplicates", []string{"bitcoin", "bitcoin", "tether"}, marketgraph.CandleRange{Interval: marketgraph.IntervalHour, Last: 3}},
		{"ManyAssets", ids(Fixture().Assets), marketgraph.CandleRange{Interval: marketgraph.IntervalDay, Last: 7}},
		{"FromEqualsTo", some, marketgraph.CandleRange{Interval: marketgraph.IntervalMinute, From: at(-10 * minute), To: at(-10 * minute)}},
		{"BeforeData", some, marketgraph.CandleRange{Interval: marketgraph.IntervalDay, From: at(-100 * day), To: at(-50 * day)}},
		{"AfterData", some, marketgraph.CandleRange{Interval: marketgraph.IntervalHour, From: at(0)}},
		{"FromUnaligned", some, marketgraph.CandleRange{Interval: marketgraph.IntervalMinute, From: at(-40*minute + 30*time.Second), To: at(-10*minute + time.Nanosecond)}},
		{"BoundsInOtherZone", some, marketgraph.CandleRange{Interval: marketgraph.IntervalHour, From: ptr(at(-10 * hour).In(cet)), To: ptr(at(-2 * hour).In(cet))}},
	}
	for _, iv := range []marketgraph.CandleInterval{marketgraph.IntervalMinute, marketgraph.IntervalHour, marketgraph.IntervalDay} {
		d := iv.Duration()
		cases = append(cases,
			tc{"All" + string(iv), some, marketgraph.CandleRange{Interval: iv}},
			tc{"Last7" + string(iv), some, marketgraph.CandleRange{Interval: iv, Last: 7}},
			tc{"Last1" + string(iv), some, marketgraph.CandleRange{Interval: iv, Last: 1}},
			tc{"LastBeyond" + string(iv), some, marketgraph.CandleRange{Interval: iv, Last: marketgraph.MaxCandleLast}},
			tc{"FromTo" + string(iv), some, marketgraph.CandleRange{Interval: iv, From: at(-15 * d), To: at(-4 * d)}},
			tc{"FromToLast" + string(iv), some, marketgraph.CandleRange{Interval: iv, From: at(-15 * d), To: at(-4 * d), Last: 5}},
			tc{"FromOnly" + string(iv), some, marketgraph.CandleRange{Interval: iv, From: at(-5 * d)}},
			tc{"ToOnly" + string(iv), some, marketgraph.CandleRange{Interval: iv, To: at(-15 * d)}},
			tc{"ToOnlyLast" + string(iv), some, marketgraph.CandleRange{Interval: iv, To: at(-15 * d), Last: 2}},
		)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkLines(t, "candles", candleLines(candles(t, s, c.ids, c.r)), candleLines(expectedCandles(c.ids, c.r)))
		})
	}

	t.Run("UnknownInterval", func(t *testing.T) {
		// Refused even when no asset could have candles, so that no store
		// answers a bad interval with what looks like "no candles".
		for _, iv := range []marketgraph.CandleInterval{"WEEK", "day", ""} {
			for _, in := range [][]string{{"bitcoin"}, {}} {
				m, err := s.CandlesByAssets(context.Background(), in, marketgraph.CandleRange{Interval: iv, Last: 3})
				checkCode(t, fmt.Sprintf("CandlesByAssets(%q, interval %q)", in, iv), err, marketgraph.EBADINPUT)
				if m != nil {
					t.Errorf("CandlesByAssets(%q, interval %q): %v alongside the error", in, iv, candleLines(m))
				}
			}
		}
	})

	// Hand checks, so that the reference cannot share a store's mistake.
	t.Run("ByHand", func(t *testing.T) {
		r := marketgraph.CandleRange{Interval: marketgraph.IntervalMinute, From: at(-40 * minute), To: at(-10 * minute)}
		m := candles(t, s, []string{"bitcoin", "asset-006"}, r)
		if got := startsOf(m["bitcoin"], end); len(got) != 30 || got[0] != "40m0s" || got[29] != "11m0s" {
			t.Errorf("bitcoin minutes in [-40m, -10m): %v; want 30 from 40m0s to 11m0s before End", got)
		}
		// asset-006 lacks every third minute candle.
		if n := len(m["asset-006"]); n != 20 {
			t.Errorf("asset-006 minutes in [-40m, -10m): %d, want 20", n)
		}
		r.Last = 5
		m = candles(t, s, []string{"bitcoin"}, r)
		checkLines(t, "bitcoin last 5 in range", startsOf(m["bitcoin"], end), []string{"15m0s", "14m0s", "13m0s", "12m0s", "11m0s"})

		// The most recent existing candles, not those of the last 4 hours.
		m = candles(t, s, []string{"asset-006"}, marketgraph.CandleRange{Interval: marketgraph.IntervalHour, Last: 4})
		checkLines(t, "asset-006 last 4 hours", startsOf(m["asset-006"], end), []string{"6h0m0s", "4h0m0s", "3h0m0s", "1h0m0s"})

		// asset-007 has daily candles only: intervals do not mix.
		m = candles(t, s, []string{"asset-007"}, marketgraph.CandleRange{Interval: marketgraph.IntervalHour})
		if _, ok := m["asset-007"]; ok || len(m) != 0 {
			t.Errorf("asset-007 hourly: %v, want no entry", candleLines(m))
		}
		m = candles(t, s, ids(Fixture().Assets), marketgraph.CandleRange{Interval: marketgraph.IntervalDay, Last: 7})
		if len(m) != 10 || len(m["asset-007"]) != 5 || len(m["bitcoin"]) != 7 {
			t.Errorf("daily last 7 of all assets: %d entries, asset-007 %d, bitcoin %d; want 10, 5, 7", len(m), len(m["asset-007"]), len(m["bitcoin"]))
		}
		for id, cs := range m {
			if !cs[len(cs)-1].Start.Equal(end.Add(-day)) {
				t.Errorf("%s: newest daily candle starts %s, want %s", id, formatTime(cs[len(cs)-1].Start), formatTime(end.Add(-day)))
			}
		}
	})
}
