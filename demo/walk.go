package demo

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/marketgraph/marketgraph"
)

// walker draws one asset's bars, backwards in time, from its own random
// stream.
type walker struct {
	r   *rand.Rand
	vol volatility
	// volumePerDay is the USD volume a day of bars adds up to on average.
	volumePerDay float64
}

// Shape of the randomness besides the price steps.
const (
	// wickScale sizes a bar's wicks beyond its body, in units of the bar's
	// sigma (times a half-normal draw).
	wickScale = 0.5
	// volumeDispersion is the log-standard deviation of a bar's volume.
	volumeDispersion = 0.5
	// volumeOnMove is how much of a bar's volume follows the size of its
	// move: busy markets trade more.
	volumeOnMove = 0.3
)

// meanAbsNormal is E|Z| for a standard normal Z, sqrt(2/pi).
const meanAbsNormal = 0.7978845608028654

// fill walks cs (oldest first, all of width dt) backwards so that the last
// bar closes at last and each bar opens where the one before it closed.
// It sets the prices and volume; the caller sets starts and labels.
func (w *walker) fill(cs []marketgraph.Candle, last float64, dt time.Duration) {
	decay, sigma := w.vol.step(dt)
	meanVolume := w.volumePerDay * float64(dt) / float64(24*time.Hour)
	closing := last
	x := math.Log(closing)
	for i := len(cs) - 1; i >= 0; i-- {
		z := w.r.NormFloat64()
		x = decay*x + sigma*z
		open := math.Exp(x)
		c := &cs[i]
		c.Open, c.Close = open, closing
		c.High = max(open, closing) * math.Exp(wickScale*sigma*math.Abs(w.r.NormFloat64()))
		c.Low = min(open, closing) * math.Exp(-wickScale*sigma*math.Abs(w.r.NormFloat64()))
		// Both factors have mean 1, so volume averages meanVolume.
		busy := 1 - volumeOnMove + volumeOnMove*math.Abs(z)/meanAbsNormal
		noise := math.Exp(volumeDispersion*w.r.NormFloat64() - volumeDispersion*volumeDispersion/2)
		c.Volume = meanVolume * busy * noise
		closing = open
	}
}

// aggregate makes dst the bar that spans src (consecutive, oldest first):
// first open, last close, highest high, lowest low, total volume.
func aggregate(dst *marketgraph.Candle, src []marketgraph.Candle) {
	dst.Open, dst.Close = src[0].Open, src[len(src)-1].Close
	dst.High, dst.Low, dst.Volume = src[0].High, src[0].Low, 0
	for _, c := range src {
		dst.High = max(dst.High, c.High)
		dst.Low = min(dst.Low, c.Low)
		dst.Volume += c.Volume
	}
}

// label sets the asset, interval and starts of cs, the last of which starts
// at last.
func label(cs []marketgraph.Candle, assetID string, interval marketgraph.CandleInterval, last time.Time) {
	d := interval.Duration()
	for i := range cs {
		cs[i].AssetID = assetID
		cs[i].Interval = interval
		cs[i].Start = last.Add(-time.Duration(len(cs)-1-i) * d)
	}
}
