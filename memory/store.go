// Package memory is the embedded default store: the whole market dataset held
// in process memory, indexed so that every read the server makes is a map
// lookup or a binary search. It answers exactly as the PostgreSQL store does
// (both pass storetest) and is what the server runs on when no database is
// configured.
package memory

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/marketgraph/marketgraph"
)

var _ marketgraph.Store = (*Store)(nil)

// Store is an in-memory marketgraph.Store. It is safe for concurrent use: any
// number of readers proceed together, and Load excludes them only while it
// merges. Values go in and come out as copies, so neither the loader nor a
// caller can change what the store holds.
type Store struct {
	mu sync.RWMutex
	assets
	candles map[candleKey][]marketgraph.Candle
	// signals holds each asset's signals newest first, ties by id
	// descending; signalIDs every id, so Load can skip the ones it has.
	signals   map[string][]marketgraph.Signal
	signalIDs map[string]struct{}
}

// New returns an empty store; Load fills it.
func New() *Store {
	return &Store{
		assets:    newAssets(),
		candles:   map[candleKey][]marketgraph.Candle{},
		signals:   map[string][]marketgraph.Signal{},
		signalIDs: map[string]struct{}{},
	}
}

// Ping always succeeds: memory is always reachable.
func (s *Store) Ping(ctx context.Context) error { return nil }

// Load merges ds into the store. Rows that already exist (assets by id,
// candles by asset, interval and start, signals by id) are left unchanged,
// and so is the first of several equal rows within ds. Load checks the whole
// dataset before changing anything, so a bad dataset changes nothing: every
// candle and signal must belong to an asset of the store or of ds, every
// interval must be known, no id may be empty and asset ids must pass
// CheckText (as PostgreSQL requires, and lookups rely on).
func (s *Store) Load(ctx context.Context, ds *marketgraph.Dataset) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	if ds == nil {
		return errors.New("load: nil dataset")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ds); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	s.addAssets(ds.Assets)
	s.addCandles(ds.Candles)
	s.addSignals(ds.Signals)
	return nil
}

// check validates ds against the store's contents; s.mu must be held.
func (s *Store) check(ds *marketgraph.Dataset) error {
	known := make(map[string]bool, len(ds.Assets))
	for i, a := range ds.Assets {
		if a == nil || a.ID == "" {
			return fmt.Errorf("asset %d: missing or without id", i)
		}
		if err := marketgraph.CheckText("id", a.ID); err != nil {
			return fmt.Errorf("asset %d: %w", i, err)
		}
		known[a.ID] = true
	}
	exists := func(id string) bool {
		_, ok := s.byID[id]
		return ok || known[id]
	}
	for i, c := range ds.Candles {
		switch {
		case c == nil:
			return fmt.Errorf("candle %d: missing", i)
		case !c.Interval.Valid():
			return fmt.Errorf("candle %d: unknown interval %q", i, c.Interval)
		case !exists(c.AssetID):
			return fmt.Errorf("candle %d: unknown asset %q", i, c.AssetID)
		}
	}
	for i, sg := range ds.Signals {
		switch {
		case sg == nil || sg.ID == "":
			return fmt.Errorf("signal %d: missing or without id", i)
		case !exists(sg.AssetID):
			return fmt.Errorf("signal %s: unknown asset %q", sg.ID, sg.AssetID)
		}
	}
	return nil
}
