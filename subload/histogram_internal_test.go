package subload

import (
	"testing"
	"time"
)

// Buckets tile the values: each value falls in a bucket whose bounds hold
// it, the buckets in increasing order, none narrower than needed.
func TestBuckets(t *testing.T) {
	prev := -1
	for _, v := range values() {
		i := bucketOf(v)
		if i < prev || i >= numBuckets {
			t.Fatalf("value %d in bucket %d after %d", v, i, prev)
		}
		if up := bucketUpper(i); up < v || (i > 0 && bucketUpper(i-1) >= v) {
			t.Fatalf("value %d in bucket %d of bounds (%d, %d]", v, i, bucketUpper(i-1), up)
		}
		if width := bucketUpper(i) - bucketUpper(max(i-1, 0)); v >= subCount && float64(width)/float64(v) > 1.0/subCount {
			t.Fatalf("value %d in a bucket %d wide", v, width)
		}
		prev = i
	}
	if got := bucketOf(maxValue); got != numBuckets-1 {
		t.Errorf("largest value in bucket %d of %d", got, numBuckets)
	}
}

// values are every value up to 2^16, then the edges of every power of two.
func values() []uint64 {
	var vs []uint64
	for v := uint64(0); v < 1<<16; v++ {
		vs = append(vs, v)
	}
	for b := 16; b < maxBits; b++ {
		vs = append(vs, 1<<b-1, 1<<b, 1<<b+1)
	}
	return vs
}

// since keeps only the samples recorded after the earlier copy.
func TestHistogramSince(t *testing.T) {
	var h Histogram
	for v := range 100 {
		h.Record(time.Duration(v) * time.Microsecond)
	}
	prev := new(Histogram)
	prev.Add(&h)
	for range 10 {
		h.Record(time.Second)
	}
	d := h.since(prev)
	if d.Count() != 10 || d.Quantile(0.5) != time.Second {
		t.Errorf("since: %d samples, p50 %s; want 10 of 1s", d.Count(), d.Quantile(0.5))
	}
}
