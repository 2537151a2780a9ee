// Package indicator computes technical indicators over candle history and the
// trading signals they produce. It is pure computation: the demo generator
// runs it over a whole generated history, and the ingest pipeline reruns it
// over the latest window of candles; because signal ids are deterministic,
// rerunning it over overlapping windows yields the same signals, never
// duplicates.
package indicator

import "math"

// SMA returns the simple moving average of values over n bars: element i is
// the mean of values[i-n+1..i]. The result has len(values) elements; those
// before index n-1, which lack a full window, are NaN, and so is every
// element when n < 1.
//
// The window sum is maintained incrementally (add the newest value, drop the
// oldest), so the cost is linear in len(values) whatever n is.
func SMA(values []float64, n int) []float64 {
	out := make([]float64, len(values))
	var sum float64
	for i, v := range values {
		sum += v
		if i >= n {
			sum -= values[i-n]
		}
		if n < 1 || i < n-1 {
			out[i] = math.NaN()
			continue
		}
		out[i] = sum / float64(n)
	}
	return out
}
