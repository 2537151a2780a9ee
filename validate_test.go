package marketgraph_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
)

// checkValid fails t unless err is nil (want "") or a BAD_USER_INPUT error
// whose message contains want.
func checkValid(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("refused: %v", err)
	case want == "":
	case marketgraph.ErrorCode(err) != marketgraph.EBADINPUT:
		t.Errorf("got %v, want a BAD_USER_INPUT error mentioning %q", err, want)
	case !strings.Contains(marketgraph.ErrorMessage(err), want):
		t.Errorf("message %q does not mention %q", marketgraph.ErrorMessage(err), want)
	}
}

var day0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func TestValidateCandle(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	with := func(change func(c *marketgraph.Candle)) *marketgraph.Candle {
		c := &marketgraph.Candle{AssetID: "bitcoin", Interval: marketgraph.IntervalDay, Start: day0, Open: 10, High: 12, Low: 9, Close: 11, Volume: 100}
		change(c)
		return c
	}
	for _, tc := range []struct {
		name string
		c    *marketgraph.Candle
		want string // "" for valid
	}{
		{"Valid", with(func(c *marketgraph.Candle) {}), ""},
		{"FlatBarWithoutVolume", with(func(c *marketgraph.Candle) { c.Open, c.High, c.Low, c.Close, c.Volume = 5, 5, 5, 5, 0 }), ""},
		{"LowEqualsClose", with(func(c *marketgraph.Candle) { c.Low = 11; c.Open = 11.5 }), ""},
		{"DayGivenInCET", with(func(c *marketgraph.Candle) { c.Start = day0.In(cet) }), ""},
		{"MinuteAligned", with(func(c *marketgraph.Candle) {
			c.Interval, c.Start = marketgraph.IntervalMinute, day0.Add(17*time.Minute)
		}), ""},
		{"Nil", nil, "nil"},
		{"NoAsset", with(func(c *marketgraph.Candle) { c.AssetID = "" }), "no asset id"},
		{"AssetWithNUL", with(func(c *marketgraph.Candle) { c.AssetID = "a\x00" }), "NUL"},
		{"UnknownInterval", with(func(c *marketgraph.Candle) { c.Interval = "WEEK" }), `unknown interval "WEEK"`},
		{"NoStart", with(func(c *marketgraph.Candle) { c.Start = time.Time{} }), "no start"},
		{"StartYear10000", with(func(c *marketgraph.Candle) { c.Start = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }), "out of range"},
		{"DayAtMidnightCET", with(func(c *marketgraph.Candle) { c.Start = time.Date(2026, 3, 1, 0, 0, 0, 0, cet) }), "not aligned"},
		{"HourPlusSecond", with(func(c *marketgraph.Candle) { c.Interval, c.Start = marketgraph.IntervalHour, day0.Add(time.Second) }), "not aligned"},
		{"MinutePlusNanosecond", with(func(c *marketgraph.Candle) { c.Interval, c.Start = marketgraph.IntervalMinute, day0.Add(1) }), "not aligned"},
		{"LowAboveOpen", with(func(c *marketgraph.Candle) { c.Low = 10.5 }), "low 10.5 above"},
		{"HighBelowClose", with(func(c *marketgraph.Candle) { c.High = 10.5 }), "high 10.5 below"},
		{"ZeroClose", with(func(c *marketgraph.Candle) { c.Close, c.Low = 0, 0 }), "low is 0"},
		{"NegativeOpen", with(func(c *marketgraph.Candle) { c.Open, c.Low = -1, -2 }), "open is -1"},
		{"NaNHigh", with(func(c *marketgraph.Candle) { c.High = math.NaN() }), "high is NaN"},
		{"InfiniteLow", with(func(c *marketgraph.Candle) { c.Low = math.Inf(-1) }), "low is -Inf"},
		{"NegativeVolume", with(func(c *marketgraph.Candle) { c.Volume = -0.5 }), "volume is -0.5"},
		{"NaNVolume", with(func(c *marketgraph.Candle) { c.Volume = math.NaN() }), "volume is NaN"},
	} {
		t.Run(tc.name, func(t *testing.T) { checkValid(t, marketgraph.ValidateCandle(tc.c), tc.want) })
	}
}

func TestValidateAsset(t *testing.T) {
	with := func(change func(a *marketgraph.Asset)) *marketgraph.Asset {
		a := &marketgraph.Asset{ID: "bitcoin", Symbol: "BTC", Name: "Bitcoin", Rank: 1, Category: "Layer 1", MarketCap: 1e12, Change24h: -2.5}
		change(a)
		return a
	}
	for _, tc := range []struct {
		name string
		a    *marketgraph.Asset
		want string
	}{
		{"Valid", with(func(a *marketgraph.Asset) {}), ""},
		{"RankZeroNoCategory", with(func(a *marketgraph.Asset) { a.Rank, a.Category = 0, "" }), ""},
		{"Nil", nil, "nil"},
		{"NoID", with(func(a *marketgraph.Asset) { a.ID = "" }), "without id"},
		{"IDTooLong", with(func(a *marketgraph.Asset) { a.ID = strings.Repeat("b", marketgraph.MaxTextLen+1) }), "id: longer"},
		{"SymbolWithNUL", with(func(a *marketgraph.Asset) { a.Symbol = "B\x00" }), "symbol: must not contain NUL"},
		{"NameNotUTF8", with(func(a *marketgraph.Asset) { a.Name = "Bit\xff" }), "name: must be valid UTF-8"},
		{"CategoryTooLong", with(func(a *marketgraph.Asset) { a.Category = strings.Repeat("c", marketgraph.MaxTextLen+1) }), "category: longer"},
		{"NegativeRank", with(func(a *marketgraph.Asset) { a.Rank = -1 }), "rank -1"},
		{"RankBeyondInt32", with(func(a *marketgraph.Asset) { a.Rank = math.MaxInt32 + 1 }), "rank 2147483648"},
		{"NaNMarketCap", with(func(a *marketgraph.Asset) { a.MarketCap = math.NaN() }), "marketCap is NaN"},
		{"InfiniteVolume", with(func(a *marketgraph.Asset) { a.Volume24h = math.Inf(1) }), "volume24h is +Inf"},
	} {
		t.Run(tc.name, func(t *testing.T) { checkValid(t, marketgraph.ValidateAsset(tc.a), tc.want) })
	}
}

func TestValidateSignal(t *testing.T) {
	with := func(change func(s *marketgraph.Signal)) *marketgraph.Signal {
		s := &marketgraph.Signal{ID: "sig-1", AssetID: "bitcoin", Kind: marketgraph.SignalBuy, Strength: 0.5, Indicator: "rsi_14", Reason: "oversold", EmittedAt: day0}
		change(s)
		return s
	}
	for _, tc := range []struct {
		name string
		s    *marketgraph.Signal
		want string
	}{
		{"Valid", with(func(s *marketgraph.Signal) {}), ""},
		{"StrengthZero", with(func(s *marketgraph.Signal) { s.Strength = 0 }), ""},
		{"StrengthOne", with(func(s *marketgraph.Signal) { s.Strength = 1 }), ""},
		{"LongReason", with(func(s *marketgraph.Signal) { s.Reason = strings.Repeat("r", 1000) }), ""},
		{"Nil", nil, "nil"},
		{"NoID", with(func(s *marketgraph.Signal) { s.ID = "" }), "without id"},
		{"NoAsset", with(func(s *marketgraph.Signal) { s.AssetID = "" }), "no asset id"},
		{"UnknownKind", with(func(s *marketgraph.Signal) { s.Kind = "SHORT" }), `unknown kind "SHORT"`},
		{"StrengthAboveOne", with(func(s *marketgraph.Signal) { s.Strength = 1.5 }), "strength 1.5"},
		{"NaNStrength", with(func(s *marketgraph.Signal) { s.Strength = math.NaN() }), "strength NaN"},
		{"NoEmissionTime", with(func(s *marketgraph.Signal) { s.EmittedAt = time.Time{} }), "no emission time"},
		{"IDWithNUL", with(func(s *marketgraph.Signal) { s.ID = "s\x00" }), "id: must not contain NUL"},
		{"IndicatorTooLong", with(func(s *marketgraph.Signal) { s.Indicator = strings.Repeat("i", marketgraph.MaxTextLen+1) }), "indicator: longer"},
		{"ReasonNotUTF8", with(func(s *marketgraph.Signal) { s.Reason = "\xff" }), "reason: must be valid UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) { checkValid(t, marketgraph.ValidateSignal(tc.s), tc.want) })
	}
}

// TestValidateDataset: Load checks keys, not prices: datasets written before
// the OHLC rules still load.
func TestValidateDataset(t *testing.T) {
	asset := &marketgraph.Asset{ID: "bitcoin", Name: "Bit\x00coin"}
	bare := &marketgraph.Candle{AssetID: "bitcoin", Interval: marketgraph.IntervalDay, Start: day0.Add(time.Hour), Close: 1}
	signal := &marketgraph.Signal{ID: "s", AssetID: "bitcoin", Kind: marketgraph.SignalHold, EmittedAt: day0}
	for _, tc := range []struct {
		name string
		ds   *marketgraph.Dataset
		want string
	}{
		{"Empty", &marketgraph.Dataset{}, ""},
		{"KeysOnly", &marketgraph.Dataset{Assets: []*marketgraph.Asset{asset}, Candles: []*marketgraph.Candle{bare}, Signals: []*marketgraph.Signal{signal}}, ""},
		{"Nil", nil, "no dataset"},
		{"NilAsset", &marketgraph.Dataset{Assets: []*marketgraph.Asset{asset, nil}}, "asset 1 is nil"},
		{"AssetWithoutID", &marketgraph.Dataset{Assets: []*marketgraph.Asset{{}}}, "asset 0 has no id"},
		{"AssetIDWithNUL", &marketgraph.Dataset{Assets: []*marketgraph.Asset{{ID: "x\x00"}}}, "asset 0: id: must not contain NUL bytes"},
		{"NilCandle", &marketgraph.Dataset{Candles: []*marketgraph.Candle{nil}}, "candle 0 is nil"},
		{"CandleInterval", &marketgraph.Dataset{Candles: []*marketgraph.Candle{{AssetID: "bitcoin", Interval: "WEEK", Start: day0}}}, `unknown interval "WEEK"`},
		{"CandleStart", &marketgraph.Dataset{Candles: []*marketgraph.Candle{{AssetID: "bitcoin", Interval: marketgraph.IntervalDay}}}, "candle 0 of asset \"bitcoin\": no start"},
		{"SignalStrength", &marketgraph.Dataset{Signals: []*marketgraph.Signal{signal, {ID: "t", AssetID: "bitcoin", Kind: marketgraph.SignalBuy, Strength: 2, EmittedAt: day0}}}, "signal 1: signal \"t\" has strength 2"},
	} {
		t.Run(tc.name, func(t *testing.T) { checkValid(t, marketgraph.ValidateDataset(tc.ds), tc.want) })
	}
}
