package ingest_test

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/ingest"
)

// at is t0 plus minutes.
func at(minutes int) time.Time { return t0.Add(time.Duration(minutes) * time.Minute) }

func candle(asset string, interval marketgraph.CandleInterval, start time.Time, o, h, l, c, v float64) *marketgraph.Candle {
	return &marketgraph.Candle{AssetID: asset, Interval: interval, Start: start, Open: o, High: h, Low: l, Close: c, Volume: v}
}

func equalCandles(t *testing.T, what string, got, want []*marketgraph.Candle) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d candles, want %d: %v", what, len(got), len(want), got)
	}
	for i := range want {
		if *got[i] != *want[i] {
			t.Errorf("%s[%d] = %+v, want %+v", what, i, *got[i], *want[i])
		}
	}
}

func TestHistoryCandles(t *testing.T) {
	t.Run("HourBars", func(t *testing.T) {
		// The window starts mid-hour 0 and ends mid-hour 3: only hours 1
		// and 2 are complete, and no day is.
		from, to := at(30), at(190)
		ticks := []ingest.Tick{
			{AssetID: "bitcoin", Price: 10, Volume24h: 2400, At: at(40)}, // hour 0: began before from
			{AssetID: "bitcoin", Price: 120, Volume24h: 4800, At: at(80)},
			{AssetID: "bitcoin", Price: 100, Volume24h: 2400, At: at(60)},
			{AssetID: "bitcoin", Price: 90, At: at(100)},
			{AssetID: "bitcoin", Price: 95, At: at(100)}, // same instant, higher price: the close
			{AssetID: "bitcoin", Price: 200, Volume24h: 48000, At: at(120)},
			{AssetID: "bitcoin", Price: 210, At: at(150)},
			{AssetID: "bitcoin", Price: 300, Volume24h: 24, At: at(180)}, // hour 3: still open at to
			{AssetID: "ethereum", Price: 5, Volume24h: 240, At: at(70)},
			{AssetID: "", Price: 7, At: at(70)},         // no asset
			{AssetID: "bitcoin", Price: 0, At: at(130)}, // no price
		}
		wantHours := []*marketgraph.Candle{
			// Volume: the latest 24 h volume in the hour (4800 at 01:20) / 24.
			candle("bitcoin", marketgraph.IntervalHour, at(60), 100, 120, 90, 95, 200),
			candle("bitcoin", marketgraph.IntervalHour, at(120), 200, 210, 200, 210, 2000),
			candle("ethereum", marketgraph.IntervalHour, at(60), 5, 5, 5, 5, 10),
		}
		hours, days := ingest.HistoryCandles(ticks, from, to)
		equalCandles(t, "hours", hours, wantHours)
		equalCandles(t, "days", days, nil)

		// Order and repetition do not matter.
		r := rand.New(rand.NewPCG(1, 2))
		for range 20 {
			shuffled := withDuplicates(r, ticks)
			hours, _ := ingest.HistoryCandles(shuffled, from, to)
			equalCandles(t, "hours of shuffled ticks", hours, wantHours)
		}
	})

	t.Run("DayFromHours", func(t *testing.T) {
		// Hourly samples over exactly one day, the last one at to itself.
		var ticks []ingest.Tick
		for h := range 25 {
			ticks = append(ticks, ingest.Tick{AssetID: "bitcoin", Price: float64(100 + h), Volume24h: float64(240 * (h + 1)), At: at(60 * h)})
		}
		hours, days := ingest.HistoryCandles(ticks, t0, t0.Add(24*time.Hour))
		if len(hours) != 24 {
			t.Fatalf("%d hours, want 24 (the hour starting at to is open)", len(hours))
		}
		if h := hours[5]; *h != *candle("bitcoin", marketgraph.IntervalHour, at(300), 105, 105, 105, 105, 60) {
			t.Errorf("hour 5 = %+v", *h)
		}
		// Volume: the sum of the hours' 10·(h+1), h = 0..23.
		equalCandles(t, "days", days, []*marketgraph.Candle{
			candle("bitcoin", marketgraph.IntervalDay, t0, 100, 123, 100, 123, 3000),
		})
	})

	t.Run("DailySamples", func(t *testing.T) {
		// Daily samples at midnight (a chart beyond 90 days): no hours;
		// days 0 to 3 are complete, day 4 is open at to.
		var ticks []ingest.Tick
		for d := range 5 {
			ticks = append(ticks, ingest.Tick{AssetID: "bitcoin", Price: float64(1 + d), Volume24h: 1000, At: t0.AddDate(0, 0, d)})
		}
		hours, days := ingest.HistoryCandles(ticks, t0, t0.Add(108*time.Hour))
		equalCandles(t, "hours", hours, nil)
		var want []*marketgraph.Candle
		for d := range 4 {
			p := float64(1 + d)
			want = append(want, candle("bitcoin", marketgraph.IntervalDay, t0.AddDate(0, 0, d), p, p, p, p, 1000))
		}
		equalCandles(t, "days", days, want)
	})

	t.Run("Empty", func(t *testing.T) {
		hours, days := ingest.HistoryCandles(nil, t0, t0.Add(48*time.Hour))
		if len(hours) != 0 || len(days) != 0 {
			t.Errorf("%d hours, %d days from no ticks", len(hours), len(days))
		}
	})

	t.Run("CandlesAreValid", func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		ticks := randomTicks(r, 2000)
		hours, days := ingest.HistoryCandles(ticks, t0, t0.Add(50*time.Hour))
		if len(hours) == 0 || len(days) == 0 {
			t.Fatalf("%d hours, %d days", len(hours), len(days))
		}
		for _, c := range slices.Concat(hours, days) {
			if err := marketgraph.ValidateCandle(c); err != nil {
				t.Fatal(err)
			}
		}
	})
}
