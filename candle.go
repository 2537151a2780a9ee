package marketgraph

import (
	"context"
	"time"
)

// CandleInterval is the width of a candle.
type CandleInterval string

// Candle intervals.
const (
	IntervalMinute CandleInterval = "MINUTE"
	IntervalHour   CandleInterval = "HOUR"
	IntervalDay    CandleInterval = "DAY"
)

// Duration returns the width of one candle of the interval.
func (i CandleInterval) Duration() time.Duration {
	switch i {
	case IntervalMinute:
		return time.Minute
	case IntervalHour:
		return time.Hour
	case IntervalDay:
		return 24 * time.Hour
	}
	return 0
}

// Valid reports whether i is a known interval.
func (i CandleInterval) Valid() bool { return i.Duration() > 0 }

// Candle is one OHLCV bar. Start is the beginning of the bar, aligned to its
// interval in UTC.
type Candle struct {
	AssetID  string         `json:"assetId"`
	Interval CandleInterval `json:"interval"`
	Start    time.Time      `json:"start"`
	Open     float64        `json:"open"`
	High     float64        `json:"high"`
	Low      float64        `json:"low"`
	Close    float64        `json:"close"`
	Volume   float64        `json:"volume"`
}

// Limits on one candle request.
const (
	// DefaultCandleLast is how many candles a request without from and last
	// returns: the most recent ones.
	DefaultCandleLast = 100
	// MaxCandleLast is the largest last a request may ask for.
	MaxCandleLast = 1000
)

// MaxCandleRange is the longest from–to span a request may ask for, per
// interval: each allows about MaxCandleLast to a few thousand candles.
var MaxCandleRange = map[CandleInterval]time.Duration{
	IntervalMinute: 3 * 24 * time.Hour,
	IntervalHour:   180 * 24 * time.Hour,
	IntervalDay:    10 * 365 * 24 * time.Hour,
}

// CandleRange selects the candles of one interval: those with From <= Start <
// To (each bound optional), and of those only the Last most recent when Last
// is positive. Results are always in ascending Start order.
type CandleRange struct {
	Interval CandleInterval
	From     *time.Time
	To       *time.Time
	Last     int
}

// Normalize validates r and fills its defaults: Last is DefaultCandleLast
// when neither From nor Last is given (lastGiven reports whether the client
// passed last). An explicit last of 0 selects nothing; callers answer it
// without asking the store. Errors are BAD_USER_INPUT naming the argument at
// fault.
func (r CandleRange) Normalize(lastGiven bool) (CandleRange, error) {
	if !r.Interval.Valid() {
		return r, Errorf(EBADINPUT, "interval: unknown interval %q", r.Interval)
	}
	if lastGiven && r.Last < 0 {
		return r, Errorf(EBADINPUT, "last: must not be negative")
	}
	if r.Last > MaxCandleLast {
		return r, Errorf(EBADINPUT, "last: must be at most %d", MaxCandleLast)
	}
	if r.From != nil && r.To != nil {
		if r.From.After(*r.To) {
			return r, Errorf(EBADINPUT, "from: must not be after to")
		}
		if max := MaxCandleRange[r.Interval]; r.To.Sub(*r.From) > max {
			return r, Errorf(EBADINPUT, "from: range longer than %s for interval %s", max, r.Interval)
		}
	} else if r.From != nil && r.Last == 0 {
		// An open-ended range is bounded by the interval's limit from From.
		to := r.From.Add(MaxCandleRange[r.Interval])
		r.To = &to
	}
	if !lastGiven && r.From == nil {
		r.Last = DefaultCandleLast
	}
	return r, nil
}

// CandleService reads OHLCV history.
type CandleService interface {
	// CandlesByAssets returns, for each of the given assets, its candles
	// selected by r (already normalised), ascending by start. Assets without
	// candles are absent from the map. Returns BAD_USER_INPUT ("interval:
	// ...") when r.Interval is not a known interval, even for no assets,
	// rather than an empty map that would pass for "no candles".
	CandlesByAssets(ctx context.Context, assetIDs []string, r CandleRange) (map[string][]*Candle, error)
}

// CandleSeries is a list of candles column by column: element i of every
// slice belongs to the same bar.
type CandleSeries struct {
	Interval CandleInterval `json:"interval"`
	Start    []time.Time    `json:"start"`
	Open     []float64      `json:"open"`
	High     []float64      `json:"high"`
	Low      []float64      `json:"low"`
	Close    []float64      `json:"close"`
	Volume   []float64      `json:"volume"`
}

// NewCandleSeries turns candles into columns.
func NewCandleSeries(interval CandleInterval, cs []*Candle) *CandleSeries {
	s := &CandleSeries{
		Interval: interval,
		Start:    make([]time.Time, len(cs)),
		Open:     make([]float64, len(cs)),
		High:     make([]float64, len(cs)),
		Low:      make([]float64, len(cs)),
		Close:    make([]float64, len(cs)),
		Volume:   make([]float64, len(cs)),
	}
	for i, c := range cs {
		s.Start[i], s.Open[i], s.High[i], s.Low[i], s.Close[i], s.Volume[i] = c.Start, c.Open, c.High, c.Low, c.Close, c.Volume
	}
	return s
}
