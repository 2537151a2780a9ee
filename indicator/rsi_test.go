package indicator_test

import (
	"testing"

	"github.com/marketgraph/marketgraph/indicator"
)

func TestRSI(t *testing.T) {
	t.Run("Period3ByHand", func(t *testing.T) {
		closes := []float64{10, 11, 10.5, 12, 11, 11.5, 13}
		// changes (bars 1..6): +1, -0.5, +1.5, -1, +0.5, +1.5
		//
		// bar 3, plain means of bars 1..3:
		//   avgGain = (1+0+1.5)/3 = 5/6, avgLoss = (0+0.5+0)/3 = 1/6
		//   RSI = 100 - 100/(1+5) = 83.333…
		// bar 4 (change -1), Wilder: avg = (prev*2 + x)/3
		//   avgGain = (5/6*2 + 0)/3 = 5/9, avgLoss = (1/6*2 + 1)/3 = 4/9
		//   RSI = 100 - 100/(1+5/4) = 500/9 = 55.555…
		// bar 5 (change +0.5)
		//   avgGain = (5/9*2 + 0.5)/3 = 14.5/27, avgLoss = (4/9*2)/3 = 8/27
		//   RSI = 100 - 100/(1+14.5/8) = 580/9 = 64.444…
		// bar 6 (change +1.5)
		//   avgGain = (14.5/27*2 + 1.5)/3 = 69.5/81, avgLoss = (8/27*2)/3 = 16/81
		//   RSI = 100*69.5/(69.5+16) = 13900/171 = 81.286…
		assertSeries(t, indicator.RSI(closes, 3), []float64{
			nan, nan, nan, 250.0 / 3, 500.0 / 9, 580.0 / 9, 13900.0 / 171,
		})
	})
	t.Run("Period14AllGainsIs100", func(t *testing.T) {
		closes := make([]float64, 20)
		for i := range closes {
			closes[i] = 100 + 1.5*float64(i)
		}
		want := make([]float64, 20)
		for i := range want {
			want[i] = 100 // no losses at all: RSI is 100 from bar 14 on
			if i < 14 {
				want[i] = nan
			}
		}
		assertSeries(t, indicator.RSI(closes, 14), want)
	})
	t.Run("Period14AllLossesIs0", func(t *testing.T) {
		closes := make([]float64, 16)
		for i := range closes {
			closes[i] = 100 - float64(i)
		}
		// avgGain = 0, avgLoss = 1: RSI = 100 - 100/(1+0) = 0
		assertSeries(t, indicator.RSI(closes, 14)[14:], []float64{0, 0})
	})
	t.Run("FlatIs100", func(t *testing.T) {
		// No losses (and no gains): the average loss is 0, so RSI is 100.
		assertSeries(t, indicator.RSI([]float64{5, 5, 5, 5}, 2), []float64{nan, nan, 100, 100})
	})
	t.Run("TooShort", func(t *testing.T) {
		// RSI needs n changes, hence n+1 closes.
		assertSeries(t, indicator.RSI([]float64{1, 2, 3}, 3), []float64{nan, nan, nan})
	})
}
