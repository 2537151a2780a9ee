package storetest

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
)

// testWrite runs the marketgraph.MarketWriter contract on a store of its
// own holding the fixture: candles, then signals, then assets, since the
// asset tests change fields the others do not look at.
func testWrite(t *testing.T, newStore func(t *testing.T) marketgraph.Store) {
	s := newStore(t)
	if err := s.Load(context.Background(), Fixture()); err != nil {
		t.Fatalf("Load(Fixture()): %v", err)
	}
	t.Run("UpsertCandles", func(t *testing.T) { testUpsertCandles(t, s) })
	t.Run("InsertSignals", func(t *testing.T) { testInsertSignals(t, s) })
	t.Run("UpsertAssets", func(t *testing.T) { testUpsertAssets(t, s) })
}

// candleModel is the reference store of candles: the fixture's, with every
// accepted write applied in order.
type candleModel struct{ written []*marketgraph.Candle }

// apply records candles the store accepted.
func (m *candleModel) apply(cs ...*marketgraph.Candle) { m.written = append(m.written, cs...) }

// want returns what CandlesByAssets must answer for the assets at iv: the
// fixture's candles, each replaced by the last write with its start, plus
// the written ones at new starts, ascending, with times in UTC.
func (m *candleModel) want(assetIDs []string, iv marketgraph.CandleInterval) map[string][]*marketgraph.Candle {
	out := expectedCandles(assetIDs, marketgraph.CandleRange{Interval: iv})
	for _, w := range m.written {
		if w.Interval != iv || !slices.Contains(assetIDs, w.AssetID) {
			continue
		}
		c := *w
		c.Start = c.Start.UTC()
		cs := out[c.AssetID]
		if i := slices.IndexFunc(cs, func(o *marketgraph.Candle) bool { return o.Start.Equal(c.Start) }); i >= 0 {
			cs[i] = &c
		} else {
			cs = append(cs, &c)
		}
		slices.SortFunc(cs, func(a, b *marketgraph.Candle) int { return a.Start.Compare(b.Start) })
		out[c.AssetID] = cs
	}
	return out
}

// check compares the store's candles of the assets at every interval with
// the model.
func (m *candleModel) check(t *testing.T, s marketgraph.Store, what string, assetIDs ...string) {
	t.Helper()
	for _, iv := range []marketgraph.CandleInterval{marketgraph.IntervalMinute, marketgraph.IntervalHour, marketgraph.IntervalDay} {
		got := candles(t, s, assetIDs, marketgraph.CandleRange{Interval: iv})
		checkLines(t, what+" ("+string(iv)+")", candleLines(got), candleLines(m.want(assetIDs, iv)))
	}
}

// bar returns a valid candle around price p, with fractional parts binary
// floating point cannot represent exactly.
func bar(asset string, iv marketgraph.CandleInterval, start time.Time, p float64) *marketgraph.Candle {
	return &marketgraph.Candle{AssetID: asset, Interval: iv, Start: start, Open: p, High: p * 1.1, Low: p * 0.9, Close: p * 1.05, Volume: p * 10.1}
}

func testUpsertCandles(t *testing.T, s marketgraph.Store) {
	ctx := context.Background()
	end := Fixture().End
	day, hour, minute := 24*time.Hour, time.Hour, time.Minute
	cet := time.FixedZone("CET", 3600)
	var m candleModel
	upsert := func(t *testing.T, cs ...*marketgraph.Candle) {
		t.Helper()
		if err := s.UpsertCandles(ctx, cs); err != nil {
			t.Fatalf("UpsertCandles: %v", err)
		}
		m.apply(cs...)
	}

	t.Run("InsertAndReplace", func(t *testing.T) {
		flat := &marketgraph.Candle{AssetID: "asset-006", Interval: marketgraph.IntervalHour, Start: end.Add(-29 * hour), Open: 2.5, High: 2.5, Low: 2.5, Close: 2.5}
		upsert(t,
			bar("bitcoin", marketgraph.IntervalDay, end.Add(-3*day), 10.1), // replaces
			bar("bitcoin", marketgraph.IntervalDay, end.In(cet), 11.3),     // new, after the last
			flat, // new, in a gap, no volume
			bar("asset-006", marketgraph.IntervalHour, end.Add(-30*hour), 0.007), // replaces the first
			bar("asset-006", marketgraph.IntervalMinute, end.Add(-minute), 3.3),  // replaces the last
		)
		m.check(t, s, "after upserting", "bitcoin", "asset-006")
		got := candles(t, s, []string{"bitcoin"}, marketgraph.CandleRange{Interval: marketgraph.IntervalDay, Last: 1})
		if cs := got["bitcoin"]; len(cs) != 1 || !cs[0].Start.Equal(end) || cs[0].Start.Location() != time.UTC {
			t.Errorf("newest bitcoin day: %v, want the one written at %s, in UTC", candleLines(got), end)
		}
	})
	t.Run("IdenticalRewrite", func(t *testing.T) {
		upsert(t, bar("bitcoin", marketgraph.IntervalDay, end.Add(-3*day).In(cet), 10.1), bar("bitcoin", marketgraph.IntervalDay, end, 11.3))
		m.check(t, s, "after writing the same candles again", "bitcoin", "asset-006")
	})
	t.Run("ReplaceAgain", func(t *testing.T) {
		upsert(t, bar("bitcoin", marketgraph.IntervalDay, end, 12.7))
		m.check(t, s, "after replacing a written candle", "bitcoin")
	})
	t.Run("LastWinsInBatch", func(t *testing.T) {
		upsert(t,
			bar("asset-002", marketgraph.IntervalMinute, end, 1.5),
			bar("asset-002", marketgraph.IntervalMinute, end.Add(-minute), 1.6),
			bar("asset-002", marketgraph.IntervalMinute, end, 1.7),
		)
		m.check(t, s, "after a batch with one key twice", "asset-002")
	})
	t.Run("LargeBatch", func(t *testing.T) {
		// Newest first: 30 replacements, then 15 new candles after the
		// last, enough for a store to take another path than for a few.
		var cs []*marketgraph.Candle
		for j := 14; j >= -30; j-- {
			cs = append(cs, bar("asset-005", marketgraph.IntervalMinute, end.Add(time.Duration(j)*minute), 4+0.01*float64(j)))
		}
		upsert(t, cs...)
		m.check(t, s, "after a large batch", "asset-005")
	})
	t.Run("Empty", func(t *testing.T) {
		if err := s.UpsertCandles(ctx, nil); err != nil {
			t.Errorf("UpsertCandles(nil): %v", err)
		}
	})
	t.Run("Refused", func(t *testing.T) { testRefusedCandles(t, s, &m) })
}

// testRefusedCandles writes batches of valid candles and one bad one: each
// must be BAD_USER_INPUT and leave the store as it was.
func testRefusedCandles(t *testing.T, s marketgraph.Store, m *candleModel) {
	ctx := context.Background()
	end := Fixture().End
	valid := func() []*marketgraph.Candle {
		return []*marketgraph.Candle{
			bar("tether", marketgraph.IntervalMinute, end.Add(5*time.Minute), 1.01),   // would be new
			bar("tether", marketgraph.IntervalMinute, end.Add(-time.Minute), 0.99),    // would replace
			bar("asset-007", marketgraph.IntervalDay, end.Add(-24*time.Hour), 50.125), // would replace
		}
	}
	with := func(change func(c *marketgraph.Candle)) *marketgraph.Candle {
		c := bar("tether", marketgraph.IntervalHour, end, 1)
		change(c)
		return c
	}
	for _, tc := range []struct {
		name string
		bad  *marketgraph.Candle
	}{
		{"Nil", nil},
		{"UnknownAsset", with(func(c *marketgraph.Candle) { c.AssetID = "nope" })},
		{"NoAsset", with(func(c *marketgraph.Candle) { c.AssetID = "" })},
		{"HostileAsset", with(func(c *marketgraph.Candle) { c.AssetID = "teth\x00er" })},
		{"UnknownInterval", with(func(c *marketgraph.Candle) { c.Interval = "WEEK" })},
		{"NoStart", with(func(c *marketgraph.Candle) { c.Start = time.Time{} })},
		{"StartOutOfRange", with(func(c *marketgraph.Candle) { c.Start = time.Date(300000, 1, 1, 0, 0, 0, 0, time.UTC) })},
		{"MinuteNotAligned", with(func(c *marketgraph.Candle) { c.Interval, c.Start = marketgraph.IntervalMinute, end.Add(30*time.Second) })},
		{"MinuteNotWholeMicrosecond", with(func(c *marketgraph.Candle) {
			c.Interval, c.Start = marketgraph.IntervalMinute, end.Add(time.Nanosecond)
		})},
		{"HourNotAligned", with(func(c *marketgraph.Candle) { c.Start = end.Add(time.Minute) })},
		{"DayAtMidnightCET", with(func(c *marketgraph.Candle) { c.Interval, c.Start = marketgraph.IntervalDay, end.Add(-time.Hour) })},
		{"LowAboveOpen", with(func(c *marketgraph.Candle) { c.Open, c.Close, c.Low, c.High = 1, 1.2, 1.1, 1.3 })},
		{"LowAboveClose", with(func(c *marketgraph.Candle) { c.Open, c.Close, c.Low, c.High = 1.2, 1, 1.1, 1.3 })},
		{"HighBelowOpen", with(func(c *marketgraph.Candle) { c.Open, c.Close, c.Low, c.High = 1.3, 1, 0.9, 1.2 })},
		{"HighBelowClose", with(func(c *marketgraph.Candle) { c.Open, c.Close, c.Low, c.High = 1, 1.3, 0.9, 1.2 })},
		{"ZeroOpen", with(func(c *marketgraph.Candle) { c.Open = 0 })},
		{"NegativeLow", with(func(c *marketgraph.Candle) { c.Low = -0.5 })},
		{"NegativeVolume", with(func(c *marketgraph.Candle) { c.Volume = -1 })},
		{"NaNClose", with(func(c *marketgraph.Candle) { c.Close = math.NaN() })},
		{"InfiniteHigh", with(func(c *marketgraph.Candle) { c.High = math.Inf(1) })},
		{"InfiniteVolume", with(func(c *marketgraph.Candle) { c.Volume = math.Inf(1) })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, at := range []int{0, 3} { // first and last of the batch
				batch := slices.Insert(valid(), at, tc.bad)
				checkCode(t, "UpsertCandles", s.UpsertCandles(ctx, batch), marketgraph.EBADINPUT)
			}
			m.check(t, s, "after a refused batch", "tether", "asset-007")
		})
	}
	t.Run("ValidAlone", func(t *testing.T) {
		// The same valid candles are accepted on their own: the refusals
		// above were for the bad one.
		cs := valid()
		if err := s.UpsertCandles(ctx, cs); err != nil {
			t.Fatalf("UpsertCandles: %v", err)
		}
		m.apply(cs...)
		m.check(t, s, "after the valid batch", "tether", "asset-007")
	})
}
