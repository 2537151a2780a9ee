// Package memory is the embedded default store: the whole market dataset held
// in process memory, indexed so that every read the server makes is a map
// lookup or a binary search. It answers exactly as the PostgreSQL store does
// (both pass storetest) and is what the server runs on when no database is
// configured.
package memory

import (
	"context"
	"fmt"
	"sync"

	"github.com/marketgraph/marketgraph"
)

var _ marketgraph.Store = (*Store)(nil)

// Store is an in-memory marketgraph.Store. It is safe for concurrent use: any
// number of readers proceed together, and Load and the writes exclude them
// only while they merge. Values go in and come out as copies, so neither a
// writer nor a caller can change what the store holds.
type Store struct {
	mu sync.RWMutex
	assets
	candles map[candleKey][]marketgraph.Candle
	// signals holds each asset's signals newest first, ties by id
	// descending; signalIDs every id, so Load can skip the ones it has.
	signals   map[string][]marketgraph.Signal
	signalIDs map[string]struct{}
	// acct holds accounts and API keys, under a lock of its own.
	acct accountData
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
// dataset before changing anything, so a bad dataset changes nothing: it
// must pass marketgraph.ValidateDataset, as in PostgreSQL, and every candle
// and signal must belong to an asset of the store or of ds (PostgreSQL's
// foreign keys). Errors are BAD_USER_INPUT.
func (s *Store) Load(ctx context.Context, ds *marketgraph.Dataset) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	if err := marketgraph.ValidateDataset(ds); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkReferences(ds); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	s.putAssets(ds.Assets, false)
	s.addCandles(ds.Candles)
	s.addSignals(ds.Signals)
	return nil
}

// checkReferences checks that every candle and signal of ds belongs to an
// asset of the store or of ds; s.mu must be held.
func (s *Store) checkReferences(ds *marketgraph.Dataset) error {
	known := make(map[string]bool, len(ds.Assets))
	for _, a := range ds.Assets {
		known[a.ID] = true
	}
	exists := func(id string) bool {
		_, ok := s.byID[id]
		return ok || known[id]
	}
	for i, c := range ds.Candles {
		if !exists(c.AssetID) {
			return marketgraph.Errorf(marketgraph.EBADINPUT, "candle %d: unknown asset %q", i, c.AssetID)
		}
	}
	for _, sg := range ds.Signals {
		if !exists(sg.AssetID) {
			return marketgraph.Errorf(marketgraph.EBADINPUT, "signal %q: unknown asset %q", sg.ID, sg.AssetID)
		}
	}
	return nil
}
