package indicator_test

import (
	"math"
	"testing"

	"github.com/marketgraph/marketgraph/indicator"
)

// nan stands for "no value" in expected series.
var nan = math.NaN()

// assertSeries compares got with want element by element: NaN must match
// NaN, numbers must agree to within 1e-9.
func assertSeries(t *testing.T, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("len = %d, want %d", len(got), len(want))
	}
	for i := range want {
		if math.IsNaN(want[i]) != math.IsNaN(got[i]) || (!math.IsNaN(want[i]) && math.Abs(got[i]-want[i]) > 1e-9) {
			t.Errorf("[%d] = %v, want %v (all: %v)", i, got[i], want[i], got)
		}
	}
}

func TestSMA(t *testing.T) {
	values := []float64{10, 11, 13, 12, 15, 9}
	t.Run("Window3", func(t *testing.T) {
		assertSeries(t, indicator.SMA(values, 3), []float64{
			nan, nan,
			34.0 / 3, // (10+11+13)/3 = 34/3 = 11.333…
			12,       // (11+13+12)/3 = 36/3
			40.0 / 3, // (13+12+15)/3 = 40/3 = 13.333…
			12,       // (12+15+9)/3 = 36/3
		})
	})
	t.Run("Window1IsTheSeries", func(t *testing.T) {
		assertSeries(t, indicator.SMA(values, 1), values)
	})
	t.Run("WindowOfWholeSeries", func(t *testing.T) {
		// (10+11+13+12+15+9)/6 = 70/6 = 11.666…
		assertSeries(t, indicator.SMA(values, 6), []float64{nan, nan, nan, nan, nan, 70.0 / 6})
	})
	t.Run("WindowLongerThanSeries", func(t *testing.T) {
		assertSeries(t, indicator.SMA(values, 7), []float64{nan, nan, nan, nan, nan, nan})
	})
	t.Run("NonPositiveWindow", func(t *testing.T) {
		assertSeries(t, indicator.SMA(values, 0), []float64{nan, nan, nan, nan, nan, nan})
	})
	t.Run("Empty", func(t *testing.T) {
		if got := indicator.SMA(nil, 3); len(got) != 0 {
			t.Errorf("SMA(nil) = %v, want empty", got)
		}
	})
}
