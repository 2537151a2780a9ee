package subload

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// The histogram's layout: values in microseconds, exact below 2^subBits,
// then 2^subBits linear buckets per power of two (HdrHistogram's
// log-linear scheme). Every bucket is narrower than 1/2^subBits of its
// lower bound, so a percentile is within 0.8% of the true value, whatever
// the count, in a fixed 30 KiB.
const (
	subBits    = 7
	subCount   = 1 << subBits
	maxBits    = 36 // values up to 2^36 µs, about 19 hours; larger ones are clamped
	maxValue   = 1<<maxBits - 1
	numBuckets = (maxBits - subBits + 1) * subCount
)

// Histogram counts durations in fixed memory: a million samples cost what
// ten do. Record is safe for concurrent use and never blocks; the readers
// (Count, Quantile, Percentiles) see a consistent result once the
// recorders have stopped, and an approximate one while they run.
// The zero value is an empty histogram, ready to use.
type Histogram struct {
	counts [numBuckets]atomic.Uint64
	sum    atomic.Uint64 // µs, for the mean
	max    atomic.Int64  // exact, in ns
}

// Record adds one sample. Negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	d = max(d, 0)
	h.counts[bucketOf(uint64(d/time.Microsecond))].Add(1)
	h.sum.Add(uint64(d / time.Microsecond))
	for {
		m := h.max.Load()
		if int64(d) <= m || h.max.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// Add merges the samples of o into h.
func (h *Histogram) Add(o *Histogram) {
	for i := range o.counts {
		if n := o.counts[i].Load(); n > 0 {
			h.counts[i].Add(n)
		}
	}
	h.sum.Add(o.sum.Load())
	for {
		m, om := h.max.Load(), o.max.Load()
		if om <= m || h.max.CompareAndSwap(m, om) {
			return
		}
	}
}

// since returns the samples h has and prev, an earlier copy, had not.
// Their maximum is not known: the result's is h's.
func (h *Histogram) since(prev *Histogram) *Histogram {
	d := new(Histogram)
	for i := range h.counts {
		d.counts[i].Store(h.counts[i].Load() - prev.counts[i].Load())
	}
	d.sum.Store(h.sum.Load() - prev.sum.Load())
	d.max.Store(h.max.Load())
	return d
}

// Count is the number of samples.
func (h *Histogram) Count() uint64 {
	var n uint64
	for i := range h.counts {
		n += h.counts[i].Load()
	}
	return n
}

// Max is the largest sample, exactly; 0 when there are none.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max.Load()) }

// Quantile returns the sample at quantile q (0.99 for p99): the upper bound
// of the bucket holding it, never more than Max. 0 when there are no
// samples.
func (h *Histogram) Quantile(q float64) time.Duration {
	return h.quantiles(q)[0]
}

// quantiles walks the buckets once for several quantiles, given in
// increasing order.
func (h *Histogram) quantiles(qs ...float64) []time.Duration {
	out := make([]time.Duration, len(qs))
	total := h.Count()
	if total == 0 {
		return out
	}
	mx := h.Max()
	var seen uint64
	j := 0
	for i := 0; i < numBuckets && j < len(qs); i++ {
		seen += h.counts[i].Load()
		for j < len(qs) && seen >= rank(qs[j], total) {
			out[j] = min(time.Duration(bucketUpper(i))*time.Microsecond, mx)
			j++
		}
	}
	for ; j < len(qs); j++ {
		out[j] = mx // counts moved under a concurrent Record
	}
	return out
}

// rank is the 1-based position of quantile q among total samples.
func rank(q float64, total uint64) uint64 {
	r := uint64(math.Ceil(q * float64(total)))
	return min(max(r, 1), total)
}

// Percentiles summarises h.
func (h *Histogram) Percentiles() Percentiles {
	n := h.Count()
	p := Percentiles{Count: n, Max: h.Max()}
	if n == 0 {
		return p
	}
	q := h.quantiles(0.5, 0.9, 0.99, 0.999)
	p.P50, p.P90, p.P99, p.P999 = q[0], q[1], q[2], q[3]
	p.Mean = time.Duration(h.sum.Load()/n) * time.Microsecond
	return p
}

// Percentiles is a latency distribution in brief.
type Percentiles struct {
	Count                     uint64
	Mean, P50, P90, P99, P999 time.Duration
	Max                       time.Duration
}

// bucketOf is the bucket of v µs.
func bucketOf(v uint64) int {
	v = min(v, maxValue)
	if v < subCount {
		return int(v)
	}
	shift := bits.Len64(v) - 1 - subBits
	return (shift+1)*subCount + int(v>>shift) - subCount
}

// bucketUpper is the largest value, in µs, that falls in bucket i.
func bucketUpper(i int) uint64 {
	if i < subCount {
		return uint64(i)
	}
	shift := i/subCount - 1
	low := uint64(i%subCount+subCount) << shift
	return low + 1<<shift - 1
}
