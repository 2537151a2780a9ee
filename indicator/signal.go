package indicator

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/marketgraph/marketgraph"
)

// Indicator names, as they appear in Signal.Indicator and in signal ids.
const (
	// SMACross20x50 fires when the 20-bar simple moving average of closes
	// crosses the 50-bar one.
	SMACross20x50 = "sma_cross_20_50"
	// RSI14 fires when the 14-bar RSI of closes crosses 30 or 70.
	RSI14 = "rsi_14"
)

// Parameters of the signals. They are part of the indicator names above, so
// changing one means a new indicator name.
const (
	smaFast    = 20
	smaSlow    = 50
	rsiPeriod  = 14
	oversold   = 30.0
	overbought = 70.0
)

// Signals computes the trading signals of one asset from its candles of one
// interval, which must be in ascending Start order. Gaps in the series are
// not detected: bars are taken as consecutive. It returns nil when no
// indicator fires, otherwise the signals ordered by EmittedAt, then ID.
//
// A signal belongs to the bar on which its condition first holds. Its ID is
// "<assetID>.<indicator>.<interval in lower case>.<bar start, unix seconds>",
// so the same bar always yields the same id; EmittedAt is the bar's close
// (Start plus the interval's duration), since that is when the bar is known.
//
// sma_cross_20_50 compares SMA20 and SMA50 of closes. A golden cross (the
// previous bar had SMA20 <= SMA50, this bar SMA20 > SMA50) is a BUY; a death
// cross (previous SMA20 >= SMA50, now SMA20 < SMA50) is a SELL. Strength is
// min(1, 50*|SMA20-SMA50|/SMA50): a gap of 2% of the price or more between
// the averages is a full-strength signal, a bare touch a weak one.
//
// rsi_14 watches RSI14 of closes (see RSI). Falling below 30 from 30 or
// above is a BUY (oversold), strength (30-RSI)/30; rising above 70 from 70 or
// below is a SELL (overbought), strength (RSI-70)/30; coming back into the
// 30–70 band from either side is a HOLD, strength equal to the distance
// travelled into the band over 20 (the distance from a threshold to 50).
// Every strength is clamped to [0, 1]. A jump straight across the band is
// the BUY or SELL of the threshold it ends beyond.
func Signals(assetID string, interval marketgraph.CandleInterval, candles []*marketgraph.Candle) []*marketgraph.Signal {
	closes := make([]float64, len(candles))
	for i, c := range candles {
		closes[i] = c.Close
	}
	e := emitter{assetID: assetID, interval: interval, candles: candles}
	smaCross(&e, SMA(closes, smaFast), SMA(closes, smaSlow))
	rsiThresholds(&e, RSI(closes, rsiPeriod))
	slices.SortFunc(e.out, func(a, b *marketgraph.Signal) int {
		if c := a.EmittedAt.Compare(b.EmittedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return e.out
}

func smaCross(e *emitter, fast, slow []float64) {
	for i := 1; i < len(fast); i++ {
		pf, ps, f, s := fast[i-1], slow[i-1], fast[i], slow[i]
		if math.IsNaN(pf) || math.IsNaN(ps) || math.IsNaN(f) || math.IsNaN(s) {
			continue
		}
		var kind marketgraph.SignalKind
		var dir string
		switch {
		case pf <= ps && f > s:
			kind, dir = marketgraph.SignalBuy, "above"
		case pf >= ps && f < s:
			kind, dir = marketgraph.SignalSell, "below"
		default:
			continue
		}
		strength := clamp01(50 * math.Abs(f-s) / s)
		fs, ss := formatPrices(f, s)
		reason := fmt.Sprintf("SMA%d (%s) crossed %s SMA%d (%s) on the %s chart",
			smaFast, fs, dir, smaSlow, ss, chartName(e.interval))
		e.emit(i, SMACross20x50, kind, strength, reason)
	}
}

func rsiThresholds(e *emitter, rsi []float64) {
	for i := 1; i < len(rsi); i++ {
		prev, cur := rsi[i-1], rsi[i]
		if math.IsNaN(prev) || math.IsNaN(cur) {
			continue
		}
		chart := chartName(e.interval)
		switch {
		case prev >= oversold && cur < oversold:
			e.emit(i, RSI14, marketgraph.SignalBuy, clamp01((oversold-cur)/30),
				fmt.Sprintf("RSI14 fell to %.1f, below %g (oversold), on the %s chart", cur, oversold, chart))
		case prev <= overbought && cur > overbought:
			e.emit(i, RSI14, marketgraph.SignalSell, clamp01((cur-overbought)/30),
				fmt.Sprintf("RSI14 rose to %.1f, above %g (overbought), on the %s chart", cur, overbought, chart))
		case prev < oversold && cur >= oversold:
			e.emit(i, RSI14, marketgraph.SignalHold, clamp01((cur-oversold)/20),
				fmt.Sprintf("RSI14 recovered to %.1f, back inside the %g-%g band, on the %s chart", cur, oversold, overbought, chart))
		case prev > overbought && cur <= overbought:
			e.emit(i, RSI14, marketgraph.SignalHold, clamp01((overbought-cur)/20),
				fmt.Sprintf("RSI14 eased to %.1f, back inside the %g-%g band, on the %s chart", cur, oversold, overbought, chart))
		}
	}
}

// emitter builds the signals of one asset and interval.
type emitter struct {
	assetID  string
	interval marketgraph.CandleInterval
	candles  []*marketgraph.Candle
	out      []*marketgraph.Signal
}

func (e *emitter) emit(bar int, indicator string, kind marketgraph.SignalKind, strength float64, reason string) {
	start := e.candles[bar].Start.UTC()
	e.out = append(e.out, &marketgraph.Signal{
		ID:        SignalID(e.assetID, indicator, e.interval, start),
		AssetID:   e.assetID,
		Kind:      kind,
		Strength:  strength,
		Indicator: indicator,
		Reason:    reason,
		EmittedAt: start.Add(e.interval.Duration()),
	})
}

// SignalID is the deterministic id of the signal an indicator emits on the
// bar of the given interval starting at start:
// "<assetID>.<indicator>.<interval in lower case>.<start, unix seconds>".
func SignalID(assetID, indicator string, interval marketgraph.CandleInterval, start time.Time) string {
	return assetID + "." + indicator + "." + strings.ToLower(string(interval)) + "." + strconv.FormatInt(start.Unix(), 10)
}

func clamp01(x float64) float64 { return math.Max(0, math.Min(1, x)) }

// chartName names the chart of an interval the way a trader says it.
func chartName(i marketgraph.CandleInterval) string {
	switch i {
	case marketgraph.IntervalMinute:
		return "minute"
	case marketgraph.IntervalHour:
		return "hourly"
	case marketgraph.IntervalDay:
		return "daily"
	}
	return strings.ToLower(string(i))
}

// formatPrices writes two prices with the same number of decimals, enough
// for about five significant digits of the larger one, and never in exponent
// form, so that 0.0000123 and 98765.4 both read naturally: at least two
// decimals, more for small prices, at most twelve.
func formatPrices(a, b float64) (string, string) {
	decimals := 2
	if m := max(math.Abs(a), math.Abs(b)); m > 0 && !math.IsInf(m, 0) {
		intDigits := int(math.Floor(math.Log10(m))) + 1
		decimals = min(12, max(2, 5-intDigits))
	}
	return strconv.FormatFloat(a, 'f', decimals, 64), strconv.FormatFloat(b, 'f', decimals, 64)
}
