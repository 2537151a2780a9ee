package subload_test

import (
	"math"
	"sync"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph/subload"
)

func TestHistogram(t *testing.T) {
	t.Run("Empty", func(t *testing.T) {
		var h subload.Histogram
		if p := h.Percentiles(); p != (subload.Percentiles{}) {
			t.Errorf("empty histogram: %+v", p)
		}
	})
	t.Run("Exact", func(t *testing.T) {
		// Below 128 µs every microsecond has its own bucket.
		var h subload.Histogram
		for v := 1; v <= 100; v++ {
			h.Record(time.Duration(v) * time.Microsecond)
		}
		p := h.Percentiles()
		want := subload.Percentiles{Count: 100, Mean: 50 * time.Microsecond, P50: 50 * time.Microsecond, P90: 90 * time.Microsecond,
			P99: 99 * time.Microsecond, P999: 100 * time.Microsecond, Max: 100 * time.Microsecond}
		if p != want {
			t.Errorf("got %+v\nwant %+v", p, want)
		}
	})
	t.Run("RelativeError", func(t *testing.T) {
		// A million samples from 1 µs to 10 s, spread evenly on a log scale:
		// each quantile within 1% of the exact one, and never below it.
		var h subload.Histogram
		const n = 1_000_000
		sample := func(i int) time.Duration {
			return time.Duration(math.Pow(1e7, float64(i)/n)) * time.Microsecond
		}
		for i := range n {
			h.Record(sample(i))
		}
		if h.Count() != n {
			t.Fatalf("count %d", h.Count())
		}
		for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
			exact := sample(int(math.Ceil(q*n)) - 1)
			got := h.Quantile(q)
			if got < exact || float64(got) > float64(exact)*1.01 {
				t.Errorf("q%g = %s, exact %s", q, got, exact)
			}
		}
		if h.Max() != sample(n-1) {
			t.Errorf("max %s, want %s", h.Max(), sample(n-1))
		}
	})
	t.Run("Clamped", func(t *testing.T) {
		// Negative samples count as zero; samples beyond the last bucket
		// land in it, and Max stays exact.
		var h subload.Histogram
		h.Record(-time.Second)
		h.Record(100 * time.Hour)
		if got := h.Quantile(0.5); got != 0 {
			t.Errorf("p50 %s, want 0", got)
		}
		if got := h.Max(); got != 100*time.Hour {
			t.Errorf("max %s", got)
		}
		if got := h.Quantile(1); got <= 19*time.Hour || got > 100*time.Hour {
			t.Errorf("p100 %s, want the last bucket's bound", got)
		}
	})
	t.Run("ConcurrentAdd", func(t *testing.T) {
		var a, b subload.Histogram
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 10_000 {
					a.Record(time.Duration(g*10_000+i) * time.Microsecond)
				}
			}()
		}
		wg.Wait()
		b.Record(time.Hour)
		b.Add(&a)
		if b.Count() != 80_001 || b.Max() != time.Hour {
			t.Errorf("count %d max %s", b.Count(), b.Max())
		}
		if p50 := a.Quantile(0.5); p50 < 40*time.Millisecond || p50 > 40*time.Millisecond*101/100 {
			t.Errorf("p50 %s, want about 40ms", p50)
		}
	})
}
