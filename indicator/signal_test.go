package indicator_test

import (
	"math"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/indicator"
)

// t0 is the start of the first bar of every crafted series.
var t0 = time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC)

// candles turns closes into consecutive bars of the interval starting at t0.
// Only Close matters to the indicators; the other prices are set so the bar
// is well formed.
func candles(interval marketgraph.CandleInterval, closes ...float64) []*marketgraph.Candle {
	cs := make([]*marketgraph.Candle, len(closes))
	for i, c := range closes {
		cs[i] = &marketgraph.Candle{
			AssetID: "bitcoin", Interval: interval,
			Start: t0.Add(time.Duration(i) * interval.Duration()),
			Open:  c, High: c, Low: c, Close: c, Volume: 1,
		}
	}
	return cs
}

// repeat returns v n times.
func repeat(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// crossSeries is 50 bars at 100, 5 at 110, then 10 at 90 (65 bars).
//
// Bar 49: SMA20 = SMA50 = 100.
// Bar 50 (first 110): SMA20 = (19*100+110)/20 = 100.5, SMA50 = (49*100+110)/50
// = 100.2: SMA20 went from <= to > SMA50, a golden cross (BUY), strength
// 50*0.3/100.2 = 0.149700…
//
// With m bars at 90 (bars 55..64, m = bar-54, m <= 15) the windows hold five
// 110s, m 90s and the rest 100s: SMA20 = (2050-10m)/20, SMA50 = (5050-10m)/50.
// m=4 (bar 58): 100.5 > 100.2; m=5 (bar 59): 100 = 100, no cross yet;
// m=6 (bar 60): 99.5 < 99.8: a death cross (SELL), strength 50*0.3/99.8 =
// 0.150300…; SMA20 stays below to the end.
//
// RSI14 is 100 up to bar 54 (no losses). At bar 55 (110 to 90, a loss of
// 20): avgGain = (10/14)*(13/14)^5 (the one +10 gain at bar 50, decayed five
// times), avgLoss = (0*13 + 20)/14 = 20/14, so RSI = 100*g/(g+l) =
// 100*0.690365/(0.690365+2) = 25.6605…: from 100 to below 30 in one bar, a
// BUY of strength (30-25.6605)/30 = 0.144649…. Flat bars after that scale
// both averages by 13/14, so RSI stays put and nothing else fires.
func crossSeries() []float64 {
	s := repeat(100, 50)
	s = append(s, repeat(110, 5)...)
	return append(s, repeat(90, 10)...)
}

func TestSignals_SMACross(t *testing.T) {
	cs := candles(marketgraph.IntervalDay, crossSeries()...)
	got := only(indicator.Signals("bitcoin", marketgraph.IntervalDay, cs), indicator.SMACross20x50)
	day := 24 * time.Hour
	want := []*marketgraph.Signal{
		{
			ID:      "bitcoin.sma_cross_20_50.day." + unix(t0.Add(50*day)),
			AssetID: "bitcoin", Kind: marketgraph.SignalBuy, Strength: 50 * 0.3 / 100.2,
			Indicator: indicator.SMACross20x50,
			Reason:    "SMA20 (100.50) crossed above SMA50 (100.20) on the daily chart",
			EmittedAt: t0.Add(51 * day),
		},
		{
			ID:      "bitcoin.sma_cross_20_50.day." + unix(t0.Add(60*day)),
			AssetID: "bitcoin", Kind: marketgraph.SignalSell, Strength: 50 * 0.3 / 99.8,
			Indicator: indicator.SMACross20x50,
			Reason:    "SMA20 (99.500) crossed below SMA50 (99.800) on the daily chart",
			EmittedAt: t0.Add(61 * day),
		},
	}
	assertSignals(t, got, want)

	t.Run("TooShortForSMA50", func(t *testing.T) {
		got := only(indicator.Signals("bitcoin", marketgraph.IntervalDay, cs[:50]), indicator.SMACross20x50)
		if len(got) != 0 {
			t.Errorf("got %d signals from 50 bars, want none: %+v", len(got), got[0])
		}
	})
	t.Run("TinyPricesReadable", func(t *testing.T) {
		// Scaling by 2^-24 is exact, so the crosses stay on the same bars;
		// the reason must not fall back to exponent notation.
		closes := crossSeries()
		for i := range closes {
			closes[i] = math.Ldexp(closes[i], -24)
		}
		got := only(indicator.Signals("shiba-inu", marketgraph.IntervalDay, candles(marketgraph.IntervalDay, closes...)), indicator.SMACross20x50)
		const want = "SMA20 (0.0000059903) crossed above SMA50 (0.0000059724) on the daily chart"
		if len(got) != 2 || got[0].Reason != want {
			t.Fatalf("got %+v, want 2 signals, the first with reason %q", got, want)
		}
	})
	t.Run("SameBarSameSignalInALaterWindow", func(t *testing.T) {
		// Ingest recomputes over a sliding window: the death cross seen from
		// bars 5..64 must be the very same signal.
		got := only(indicator.Signals("bitcoin", marketgraph.IntervalDay, cs[5:]), indicator.SMACross20x50)
		assertSignals(t, got, want[1:])
	})
}

func TestSignals_RSI(t *testing.T) {
	// Bars 0..14 alternate 100, 101, 100, …, 100: seven gains and seven
	// losses of 1, so at bar 14 avgGain = avgLoss = 7/14 = 1/2 and RSI = 50.
	// Then, with avg = (prev*13 + x)/14 and RSI = 100*g/(g+l):
	//   bar 15 = 87 (-13): g = 13/28, l = (13/2+13)/14 = 39/28, RSI = 25 → BUY
	//   bar 16 = 93 (+6):  g = 337/392, l = 507/392, RSI = 8425/211 = 39.9289… → HOLD
	//   bar 17 = 133 (+40): g = 20061/5488, l = 6591/5488,
	//                      RSI = 167175/2221 = 75.2701… → SELL
	//   bar 18 = 125 (-8): g = 260793/76832, l = 129587/76832,
	//                      RSI = 1303965/19519 = 66.8049… → HOLD
	closes := make([]float64, 0, 19)
	for i := range 15 {
		closes = append(closes, 100+float64(i%2))
	}
	closes = append(closes, 87, 93, 133, 125)
	cs := candles(marketgraph.IntervalHour, closes...)
	rsi := func(num, den float64) float64 { return num / den }
	at := func(bar int) (string, time.Time) {
		start := t0.Add(time.Duration(bar) * time.Hour)
		return "eth.rsi_14.hour." + unix(start), start.Add(time.Hour)
	}
	sig := func(bar int, kind marketgraph.SignalKind, strength float64, reason string) *marketgraph.Signal {
		id, emitted := at(bar)
		return &marketgraph.Signal{ID: id, AssetID: "eth", Kind: kind, Strength: strength,
			Indicator: indicator.RSI14, Reason: reason, EmittedAt: emitted}
	}
	want := []*marketgraph.Signal{
		sig(15, marketgraph.SignalBuy, (30-25.0)/30, "RSI14 fell to 25.0, below 30 (oversold), on the hourly chart"),
		sig(16, marketgraph.SignalHold, (rsi(8425, 211)-30)/20, "RSI14 recovered to 39.9, back inside the 30-70 band, on the hourly chart"),
		sig(17, marketgraph.SignalSell, (rsi(167175, 2221)-70)/30, "RSI14 rose to 75.3, above 70 (overbought), on the hourly chart"),
		sig(18, marketgraph.SignalHold, (70-rsi(1303965, 19519))/20, "RSI14 eased to 66.8, back inside the 30-70 band, on the hourly chart"),
	}
	assertSignals(t, indicator.Signals("eth", marketgraph.IntervalHour, cs), want)
}

func TestSignals_Order(t *testing.T) {
	// crossSeries fires an SMA BUY at bar 50, an RSI BUY at bar 55 and an SMA
	// SELL at bar 60 (see its comment): one list, ordered by time.
	cs := candles(marketgraph.IntervalMinute, crossSeries()...)
	got := indicator.Signals("x", marketgraph.IntervalMinute, cs)
	var ids []string
	for _, s := range got {
		ids = append(ids, s.ID)
	}
	want := []string{
		"x.sma_cross_20_50.minute." + unix(t0.Add(50*time.Minute)),
		"x.rsi_14.minute." + unix(t0.Add(55*time.Minute)),
		"x.sma_cross_20_50.minute." + unix(t0.Add(60*time.Minute)),
	}
	if !reflect.DeepEqual(ids, want) {
		t.Fatalf("ids = %q, want %q", ids, want)
	}
	rsiBuy := got[1]
	g, l := 10.0/14*math.Pow(13.0/14, 5), 20.0/14
	if wantRSI := 100 * g / (g + l); math.Abs(rsiBuy.Strength-(30-wantRSI)/30) > 1e-9 {
		t.Errorf("RSI BUY strength = %v, want %v", rsiBuy.Strength, (30-wantRSI)/30)
	}

	t.Run("SameBarTiesByID", func(t *testing.T) {
		// Both indicators firing on one bar: rsi_14 sorts before sma_cross.
		// 50 bars at 100 then one at 50: SMA20 (97.5) < SMA50 (99) is a death
		// cross; the RSI drops from 100 to 0 (a pure loss), a BUY.
		cs := candles(marketgraph.IntervalHour, append(repeat(100, 50), 50)...)
		got := indicator.Signals("x", marketgraph.IntervalHour, cs)
		if len(got) != 2 || got[0].Indicator != indicator.RSI14 || got[1].Indicator != indicator.SMACross20x50 ||
			!got[0].EmittedAt.Equal(got[1].EmittedAt) {
			t.Fatalf("got %+v, want an rsi_14 then an sma_cross_20_50 signal on the same bar", got)
		}
		if got[0].Kind != marketgraph.SignalBuy || got[0].Strength != 1 {
			t.Errorf("RSI signal = %s %v, want BUY 1 (RSI 0 is 30 points past the threshold)", got[0].Kind, got[0].Strength)
		}
	})
}

func TestSignals_Deterministic(t *testing.T) {
	cs := candles(marketgraph.IntervalDay, crossSeries()...)
	a := indicator.Signals("bitcoin", marketgraph.IntervalDay, cs)
	b := indicator.Signals("bitcoin", marketgraph.IntervalDay, cs)
	if len(a) == 0 || !reflect.DeepEqual(a, b) {
		t.Fatalf("two runs differ or are empty:\n%+v\n%+v", a, b)
	}
	t.Run("IDFormat", func(t *testing.T) {
		start := time.Date(2025, 11, 26, 13, 0, 0, 0, time.FixedZone("CET", 3600))
		got := indicator.SignalID("solana", indicator.RSI14, marketgraph.IntervalHour, start)
		if want := "solana.rsi_14.hour.1764158400"; got != want {
			t.Errorf("SignalID = %q, want %q", got, want)
		}
	})
	t.Run("EmittedAtIsUTC", func(t *testing.T) {
		for _, s := range a {
			if s.EmittedAt.Location() != time.UTC {
				t.Errorf("%s: EmittedAt in %v, want UTC", s.ID, s.EmittedAt.Location())
			}
		}
	})
	t.Run("Empty", func(t *testing.T) {
		if got := indicator.Signals("bitcoin", marketgraph.IntervalDay, nil); len(got) != 0 {
			t.Errorf("Signals(nil) = %+v, want none", got)
		}
	})
}

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// only keeps the signals of one indicator.
func only(ss []*marketgraph.Signal, indicator string) []*marketgraph.Signal {
	var out []*marketgraph.Signal
	for _, s := range ss {
		if s.Indicator == indicator {
			out = append(out, s)
		}
	}
	return out
}

// assertSignals compares signals field by field, strengths to within 1e-9.
func assertSignals(t *testing.T, got, want []*marketgraph.Signal) {
	t.Helper()
	if len(got) != len(want) {
		for _, s := range got {
			t.Logf("got %+v", *s)
		}
		t.Fatalf("got %d signals, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := *got[i], *want[i]
		if math.Abs(g.Strength-w.Strength) > 1e-9 {
			t.Errorf("[%d] %s: strength = %v, want %v", i, w.ID, g.Strength, w.Strength)
		}
		g.Strength = w.Strength
		if g != w {
			t.Errorf("[%d]:\n got %+v\nwant %+v", i, g, w)
		}
	}
}
