package marketgraph

import (
	"fmt"
	"math"
	"time"
)

// The rules every store applies to the rows it is asked to write, in one
// place so the stores refuse the same rows with the same messages. Rows are
// named by their key rather than their position in a batch, and keys are
// quoted with %q so that hostile text never reaches a message raw.

// maxReasonLen bounds a signal's reason, free text longer than the other
// fields but still never more than a sentence or two.
const maxReasonLen = 4096

// ValidateAsset returns a BAD_USER_INPUT error when a cannot be written by
// MarketWriter.UpsertAssets: a nil asset, an empty id, an id, symbol, name or
// category that fails CheckText, a rank outside 0..MaxInt32 (PostgreSQL's
// integer column), or a market cap, volume, change or supply that is NaN or
// infinite, which the stores would order differently.
func ValidateAsset(a *Asset) error {
	if a == nil {
		return Errorf(EBADINPUT, "asset is nil")
	}
	if a.ID == "" {
		return Errorf(EBADINPUT, "asset without id")
	}
	bad := func(format string, args ...any) error {
		return Errorf(EBADINPUT, "asset %q: %s", a.ID, fmt.Sprintf(format, args...))
	}
	for _, f := range []struct{ name, value string }{{"id", a.ID}, {"symbol", a.Symbol}, {"name", a.Name}, {"category", a.Category}} {
		if err := CheckText(f.name, f.value); err != nil {
			return bad("%s", ErrorMessage(err))
		}
	}
	if a.Rank < 0 || a.Rank > math.MaxInt32 {
		return bad("rank %d outside 0..%d", a.Rank, math.MaxInt32)
	}
	for _, f := range []struct {
		name  string
		value float64
	}{{"marketCap", a.MarketCap}, {"volume24h", a.Volume24h}, {"change24h", a.Change24h}, {"supply", a.Supply}} {
		if !finite(f.value) {
			return bad("%s is %v", f.name, f.value)
		}
	}
	return nil
}

// ValidateCandle returns a BAD_USER_INPUT error when c cannot be written by
// MarketWriter.UpsertCandles: a bad key (see checkCandleKey), a start not
// aligned to the interval in UTC, a price that is not a positive finite
// number, a volume that is negative or not finite, or a low above the open
// or close or a high below them. Whether the asset exists is for the store
// to say.
func ValidateCandle(c *Candle) error {
	if c == nil {
		return Errorf(EBADINPUT, "candle is nil")
	}
	if msg := checkCandleKey(c); msg != "" {
		return Errorf(EBADINPUT, "candle of asset %q: %s", c.AssetID, msg)
	}
	bad := func(format string, args ...any) error {
		return Errorf(EBADINPUT, "candle %q %s %s: %s", c.AssetID, c.Interval, c.Start.UTC().Format(time.RFC3339Nano), fmt.Sprintf(format, args...))
	}
	if !c.Start.Truncate(c.Interval.Duration()).Equal(c.Start) {
		// Truncate works on absolute time, so a day is aligned to UTC
		// midnight whatever c.Start's location.
		return bad("start not aligned to the interval")
	}
	for _, f := range []struct {
		name  string
		value float64
	}{{"open", c.Open}, {"high", c.High}, {"low", c.Low}, {"close", c.Close}} {
		if !finite(f.value) || f.value <= 0 {
			return bad("%s is %v, want a positive number", f.name, f.value)
		}
	}
	if !finite(c.Volume) || c.Volume < 0 {
		return bad("volume is %v, want a non-negative number", c.Volume)
	}
	if c.Low > min(c.Open, c.Close) {
		return bad("low %v above min(open, close) %v", c.Low, min(c.Open, c.Close))
	}
	if c.High < max(c.Open, c.Close) {
		return bad("high %v below max(open, close) %v", c.High, max(c.Open, c.Close))
	}
	return nil
}

// checkCandleKey returns what is wrong with c's key (asset id, interval,
// start), or "". Load checks no more than this, since its datasets predate
// the OHLC rules.
func checkCandleKey(c *Candle) string {
	switch {
	case c.AssetID == "":
		return "no asset id"
	case CheckText("asset id", c.AssetID) != nil:
		return ErrorMessage(CheckText("asset id", c.AssetID))
	case !c.Interval.Valid():
		return fmt.Sprintf("unknown interval %q", c.Interval)
	case c.Start.IsZero():
		return "no start"
	case !storableTime(c.Start):
		return fmt.Sprintf("start %s out of range", c.Start.UTC().Format(time.RFC3339))
	}
	return ""
}

// ValidateSignal returns a BAD_USER_INPUT error when s cannot be written by
// MarketWriter.InsertSignals or Store.Load: a nil signal, an empty id or
// asset id, an id, asset id or indicator that fails CheckText, a reason that
// is not valid UTF-8 or holds a NUL byte, an unknown kind, a strength
// outside [0, 1] (NaN included), or no emission time. Whether the asset
// exists is for the store to say.
func ValidateSignal(s *Signal) error {
	if s == nil {
		return Errorf(EBADINPUT, "signal is nil")
	}
	bad := func(format string, args ...any) error {
		return Errorf(EBADINPUT, "signal %q %s", s.ID, fmt.Sprintf(format, args...))
	}
	switch {
	case s.ID == "":
		return Errorf(EBADINPUT, "signal without id")
	case s.AssetID == "":
		return bad("has no asset id")
	case s.Kind != SignalBuy && s.Kind != SignalSell && s.Kind != SignalHold:
		return bad("has unknown kind %q", s.Kind)
	case !(s.Strength >= 0 && s.Strength <= 1):
		return bad("has strength %v outside [0, 1]", s.Strength)
	case s.EmittedAt.IsZero():
		return bad("has no emission time")
	case !storableTime(s.EmittedAt):
		return bad("emitted at %s, out of range", s.EmittedAt.UTC().Format(time.RFC3339))
	}
	for _, f := range []struct{ name, value string }{{"id", s.ID}, {"asset id", s.AssetID}, {"indicator", s.Indicator}} {
		if err := CheckText(f.name, f.value); err != nil {
			return bad("%s", ErrorMessage(err))
		}
	}
	if err := checkText("reason", s.Reason, maxReasonLen); err != nil {
		return bad("%s", ErrorMessage(err))
	}
	return nil
}

// ValidateDataset returns a BAD_USER_INPUT error naming the first row of ds
// that Store.Load must refuse: a nil dataset or row, an asset without an id
// or with one that fails CheckText (lookups treat such ids as unknown, so an
// asset holding one could never be found), a candle with a bad key (see
// checkCandleKey), or a signal ValidateSignal refuses. It checks less than
// the MarketWriter methods do: other asset text and the candles' prices are
// stored as given. References to assets are for the store to check, since
// an asset may be stored already.
func ValidateDataset(ds *Dataset) error {
	if ds == nil {
		return Errorf(EBADINPUT, "no dataset")
	}
	for i, a := range ds.Assets {
		switch {
		case a == nil:
			return Errorf(EBADINPUT, "asset %d is nil", i)
		case a.ID == "":
			return Errorf(EBADINPUT, "asset %d has no id", i)
		}
		if err := CheckText("id", a.ID); err != nil {
			return Errorf(EBADINPUT, "asset %d: %s", i, ErrorMessage(err))
		}
	}
	for i, c := range ds.Candles {
		if c == nil {
			return Errorf(EBADINPUT, "candle %d is nil", i)
		}
		if msg := checkCandleKey(c); msg != "" {
			return Errorf(EBADINPUT, "candle %d of asset %q: %s", i, c.AssetID, msg)
		}
	}
	for i, s := range ds.Signals {
		if err := ValidateSignal(s); err != nil {
			return Errorf(EBADINPUT, "signal %d: %s", i, ErrorMessage(err))
		}
	}
	return nil
}

// finite reports whether f is neither NaN nor infinite.
func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// storableTime reports whether t is within years 1 to 9999. Go's times
// reach much further than PostgreSQL's timestamptz, and a time beyond it
// would be an INTERNAL error from one store and stored by the other.
func storableTime(t time.Time) bool {
	y := t.UTC().Year()
	return y >= 1 && y <= 9999
}
