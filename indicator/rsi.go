package indicator

import "math"

// RSI returns Wilder's relative strength index of closes over n bars.
//
// The change at bar i is closes[i]-closes[i-1]; gains are the positive
// changes, losses the magnitudes of the negative ones. The first average
// gain and loss, at bar n, are the plain means of the first n of them
// (bars 1..n); after that each is smoothed the way Wilder defined it:
// avg = (prev*(n-1) + x) / n. Then RSI = 100 - 100/(1 + avgGain/avgLoss),
// and 100 when the average loss is 0 (including a perfectly flat series:
// with no losses there is no selling pressure to weigh against).
//
// The result has len(closes) elements; those before index n are NaN, and so
// is every element when n < 1.
func RSI(closes []float64, n int) []float64 {
	out := make([]float64, len(closes))
	for i := range out {
		out[i] = math.NaN()
	}
	if n < 1 || len(closes) <= n {
		return out
	}
	var avgGain, avgLoss float64
	for i := 1; i <= n; i++ {
		g, l := gainLoss(closes[i] - closes[i-1])
		avgGain += g
		avgLoss += l
	}
	avgGain /= float64(n)
	avgLoss /= float64(n)
	out[n] = rsiOf(avgGain, avgLoss)
	for i := n + 1; i < len(closes); i++ {
		g, l := gainLoss(closes[i] - closes[i-1])
		avgGain = (avgGain*float64(n-1) + g) / float64(n)
		avgLoss = (avgLoss*float64(n-1) + l) / float64(n)
		out[i] = rsiOf(avgGain, avgLoss)
	}
	return out
}

// gainLoss splits a price change into its gain and loss parts, both >= 0.
func gainLoss(d float64) (gain, loss float64) {
	if d > 0 {
		return d, 0
	}
	return 0, -d
}

func rsiOf(avgGain, avgLoss float64) float64 {
	if avgLoss == 0 {
		return 100
	}
	return 100 - 100/(1+avgGain/avgLoss)
}
