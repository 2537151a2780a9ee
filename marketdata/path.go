package marketdata

import (
	"hash/fnv"
	"math"
)

// secondsPerDay is the unit of the path's volatility: σ is roughly the
// standard deviation of one day's log return.
const secondsPerDay = 86400

// pathNorm scales the octaves so that x(t+1d) − x(t) has a standard
// deviation of about 1 (measured over 200 days of 50 streams), so an asset's
// σ reads as its daily volatility; TestSimulator_Volatility guards it.
const pathNorm = 1.37

// octave is one layer of the path: value noise with a random knot every
// period seconds, smoothly interpolated between knots.
type octave struct {
	period int64 // seconds
	amp    float64
}

// path is a deterministic, random-walk-like function of time. It sums value
// noise at periods from 15 s to 3 days with amplitudes ∝ √period, the
// scaling of Brownian motion, so short horizons jiggle a little and long
// ones wander further. Evaluating it costs one hash pair per octave, O(1)
// at any t, with no state: a quote for any instant is computed on demand.
//
// Unlike a true random walk it is bounded (by the 3-day octave), which keeps
// a simulated stablecoin near its peg forever.
type path struct {
	octaves []octave
}

func newPath() path {
	periods := []int64{15, 2 * 60, 15 * 60, 2 * 3600, 12 * 3600, 3 * secondsPerDay}
	p := path{octaves: make([]octave, len(periods))}
	for i, per := range periods {
		p.octaves[i] = octave{period: per, amp: pathNorm * math.Sqrt(float64(per)/secondsPerDay)}
	}
	return p
}

// at returns the path of the stream identified by key at unix second sec.
func (p path) at(key uint64, sec int64) float64 {
	var x float64
	for k, o := range p.octaves {
		x += o.amp * valueNoise(key, uint64(k), o.period, sec)
	}
	return x
}

// valueNoise interpolates between the random knots around sec with a
// smoothstep, so the path has no kinks at knots, only at the second
// granularity the simulator quotes at.
func valueNoise(key, layer uint64, period, sec int64) float64 {
	i := floorDiv(sec, period)
	f := float64(sec-i*period) / float64(period)
	s := f * f * (3 - 2*f)
	a, b := knot(key, layer, i), knot(key, layer, i+1)
	return a + (b-a)*s
}

// knot is the uniform random value in [-1, 1) of knot i of one layer.
func knot(key, layer uint64, i int64) float64 {
	h := splitmix64(key ^ splitmix64(uint64(i)<<4|layer))
	return float64(h>>11)/(1<<53)*2 - 1
}

// streamKey names the random stream of one asset under one seed; salt
// separates independent streams of the same asset (price, volume).
func streamKey(seed int64, assetID string, salt uint64) uint64 {
	h := fnv.New64a()
	h.Write([]byte(assetID))
	return splitmix64(uint64(seed) ^ splitmix64(h.Sum64()^salt))
}

// splitmix64 is the finaliser of the SplitMix64 generator: a cheap bijective
// mix whose output bits all depend on every input bit.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// floorDiv is a/b rounded towards minus infinity, for b > 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}
