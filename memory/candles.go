package memory

import (
	"context"
	"slices"
	"sort"

	"github.com/marketgraph/marketgraph"
)

// candleKey names one asset's history at one interval.
type candleKey struct {
	asset    string
	interval marketgraph.CandleInterval
}

// groupCandles copies candles into per-history lists, starts in UTC.
func groupCandles(in []*marketgraph.Candle) map[candleKey][]marketgraph.Candle {
	added := map[candleKey][]marketgraph.Candle{}
	for _, c := range in {
		k := candleKey{c.AssetID, c.Interval}
		cp := *c
		cp.Start = cp.Start.UTC()
		added[k] = append(added[k], cp)
	}
	return added
}

// addCandles merges new candles into their histories, each kept sorted by
// start with no two candles at the same start; s.mu must be held for
// writing.
func (s *Store) addCandles(in []*marketgraph.Candle) {
	added := groupCandles(in)
	for k, add := range added {
		// Existing candles come first and the sort is stable, so on equal
		// starts the one already stored (or the first of the dataset) wins.
		merged := append(s.candles[k], add...)
		slices.SortStableFunc(merged, func(a, b marketgraph.Candle) int { return a.Start.Compare(b.Start) })
		s.candles[k] = slices.CompactFunc(merged, func(a, b marketgraph.Candle) bool { return a.Start.Equal(b.Start) })
	}
}

// upsertCandles writes candles into their histories, replacing a stored
// candle with the same start in place, so each history stays sorted with no
// two candles at one start; the last of several equal candles within in
// wins. s.mu must be held for writing.
func (s *Store) upsertCandles(in []*marketgraph.Candle) {
	added := groupCandles(in)
	for k, add := range added {
		slices.SortStableFunc(add, func(a, b marketgraph.Candle) int { return a.Start.Compare(b.Start) })
		s.candles[k] = mergeCandles(s.candles[k], keepLast(add))
	}
}

// keepLast drops every candle of sorted cs followed by one with the same
// start, in place.
func keepLast(cs []marketgraph.Candle) []marketgraph.Candle {
	out := cs[:0]
	for _, c := range cs {
		if n := len(out); n > 0 && out[n-1].Start.Equal(c.Start) {
			out[n-1] = c
			continue
		}
		out = append(out, c)
	}
	return out
}

// smallBatch is the batch size up to which mergeCandles places candles one
// by one. Ingest writes a bar or two per history each tick, which then costs
// a binary search rather than a copy of the whole history; a backfill's
// large batches are merged in one pass.
const smallBatch = 16

// mergeCandles merges add into old, both sorted by start without repeats,
// with add winning on equal starts, and returns the result (which may reuse
// old's array).
func mergeCandles(old, add []marketgraph.Candle) []marketgraph.Candle {
	if len(add) <= smallBatch {
		for _, c := range add {
			i := sort.Search(len(old), func(i int) bool { return !old[i].Start.Before(c.Start) })
			if i < len(old) && old[i].Start.Equal(c.Start) {
				old[i] = c
			} else {
				old = slices.Insert(old, i, c)
			}
		}
		return old
	}
	merged := make([]marketgraph.Candle, 0, len(old)+len(add))
	i, j := 0, 0
	for i < len(old) && j < len(add) {
		switch c := old[i].Start.Compare(add[j].Start); {
		case c < 0:
			merged = append(merged, old[i])
			i++
		case c > 0:
			merged = append(merged, add[j])
			j++
		default:
			merged = append(merged, add[j])
			i, j = i+1, j+1
		}
	}
	merged = append(merged, old[i:]...)
	return append(merged, add[j:]...)
}

// CandlesByAssets returns, for each asset, its candles of r.Interval with
// r.From <= start < r.To, only the r.Last most recent of them when r.Last is
// positive, ascending by start. Assets without such candles are absent.
func (s *Store) CandlesByAssets(ctx context.Context, assetIDs []string, r marketgraph.CandleRange) (map[string][]*marketgraph.Candle, error) {
	if !r.Interval.Valid() {
		return nil, marketgraph.Errorf(marketgraph.EBADINPUT, "interval: unknown interval %q", r.Interval)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	// First find each asset's slice by binary search, then copy them all
	// into one block.
	spans := make(map[string][]marketgraph.Candle, len(assetIDs))
	total := 0
	for _, id := range assetIDs {
		cs := s.candles[candleKey{id, r.Interval}]
		lo, hi := 0, len(cs)
		if r.From != nil {
			lo = sort.Search(len(cs), func(i int) bool { return !cs[i].Start.Before(*r.From) })
		}
		if r.To != nil {
			hi = sort.Search(len(cs), func(i int) bool { return !cs[i].Start.Before(*r.To) })
		}
		if r.Last > 0 && hi-lo > r.Last {
			lo = hi - r.Last
		}
		if _, dup := spans[id]; hi <= lo || dup {
			continue
		}
		spans[id] = cs[lo:hi]
		total += hi - lo
	}
	block := make([]marketgraph.Candle, total)
	ptrs := make([]*marketgraph.Candle, total)
	out := make(map[string][]*marketgraph.Candle, len(spans))
	n := 0
	for id, cs := range spans {
		copy(block[n:], cs)
		for i := range cs {
			ptrs[n+i] = &block[n+i]
		}
		out[id] = ptrs[n : n+len(cs) : n+len(cs)]
		n += len(cs)
	}
	return out, nil
}
