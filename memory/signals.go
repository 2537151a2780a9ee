package memory

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/marketgraph/marketgraph"
)

// compareSignals orders signals newest first, ties by id descending.
func compareSignals(a, b marketgraph.Signal) int {
	if c := b.EmittedAt.Compare(a.EmittedAt); c != 0 {
		return c
	}
	return strings.Compare(b.ID, a.ID)
}

// addSignals inserts the signals whose ids are new, the first of several
// with one id, and returns copies of those it inserted in input order; s.mu
// must be held for writing. Times are kept to the microsecond, as
// PostgreSQL keeps them, so both stores hand back the same signal.
func (s *Store) addSignals(in []*marketgraph.Signal) []*marketgraph.Signal {
	var inserted []*marketgraph.Signal
	touched := map[string]bool{}
	for _, sg := range in {
		if _, ok := s.signalIDs[sg.ID]; ok {
			continue
		}
		s.signalIDs[sg.ID] = struct{}{}
		cp := *sg
		cp.EmittedAt = cp.EmittedAt.UTC().Truncate(time.Microsecond)
		touched[cp.AssetID] = true
		s.signals[cp.AssetID] = append(s.signals[cp.AssetID], cp)
		inserted = append(inserted, &cp)
	}
	for id := range touched {
		slices.SortFunc(s.signals[id], compareSignals)
	}
	return inserted
}

// SignalsByAssets returns up to first signals per asset, newest first, ties
// by id descending. Assets without signals are absent, and so is every asset
// when first is not positive.
func (s *Store) SignalsByAssets(ctx context.Context, assetIDs []string, first int) (map[string][]*marketgraph.Signal, error) {
	out := map[string][]*marketgraph.Signal{}
	if first <= 0 {
		return out, nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, id := range assetIDs {
		ss := s.signals[id]
		if len(ss) == 0 || out[id] != nil {
			continue
		}
		ss = ss[:min(first, len(ss))]
		block := slices.Clone(ss)
		ptrs := make([]*marketgraph.Signal, len(block))
		for i := range block {
			ptrs[i] = &block[i]
		}
		out[id] = ptrs
	}
	return out, nil
}

// LatestSignals returns the newest signal of each asset that has one.
func (s *Store) LatestSignals(ctx context.Context, assetIDs []string) (map[string]*marketgraph.Signal, error) {
	out := make(map[string]*marketgraph.Signal, len(assetIDs))
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, id := range assetIDs {
		if ss := s.signals[id]; len(ss) > 0 {
			sg := ss[0]
			out[id] = &sg
		}
	}
	return out, nil
}
