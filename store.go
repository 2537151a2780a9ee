package marketgraph

import (
	"context"
	"time"
)

// Dataset is a complete set of market data to load into a store: the demo
// data made by the seed generator, for instance.
type Dataset struct {
	// End is the instant the dataset was generated for: its newest minute
	// candle starts one minute before End.
	End     time.Time
	Assets  []*Asset
	Candles []*Candle
	Signals []*Signal
}

// Store is everything the server reads, in one place: the PostgreSQL and
// in-memory implementations both satisfy it and pass the same contract
// tests.
type Store interface {
	AssetService
	CandleService
	SignalService
	// Load writes ds idempotently: rows that already exist are left
	// unchanged, so loading the same dataset twice changes nothing.
	Load(ctx context.Context, ds *Dataset) error
	// Ping reports whether the store is reachable.
	Ping(ctx context.Context) error
}
