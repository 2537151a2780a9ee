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
	MarketWriter
	AccountStore
	// Load writes ds idempotently: rows that already exist are left
	// unchanged, so loading the same dataset twice changes nothing.
	Load(ctx context.Context, ds *Dataset) error
	// Ping reports whether the store is reachable.
	Ping(ctx context.Context) error
}

// MarketWriter writes market data: the ingest pipeline, backfill and
// sync-assets use it. Every method checks its whole batch before writing
// (with ValidateAsset, ValidateCandle and ValidateSignal), and a batch is
// written all or nothing. Within one batch, rows with the same key are
// allowed: the last one wins for the upserts, the first for InsertSignals.
type MarketWriter interface {
	// UpsertAssets inserts new assets and updates every catalog field
	// (symbol, name, rank, category, market cap, 24 h volume and change,
	// supply) of existing ones. BAD_USER_INPUT for invalid rows (empty id,
	// CheckText failures, rank < 0), the whole call then writes nothing.
	UpsertAssets(ctx context.Context, assets []*Asset) error
	// UpsertCandles writes candles, replacing any stored candle with the
	// same asset, interval and start: the writer always holds the complete
	// bar. BAD_USER_INPUT for an unknown asset, an invalid interval, a start
	// not aligned to the interval, or broken OHLC (low > min(open, close),
	// high < max(open, close), non-positive prices, negative volume,
	// NaN/Inf); the whole call then writes nothing.
	UpsertCandles(ctx context.Context, candles []*Candle) error
	// InsertSignals inserts the signals whose id is new and returns those
	// (in input order); signals whose id exists are left unchanged and not
	// returned. BAD_USER_INPUT for invalid rows (unknown asset, kind,
	// strength outside [0,1]); the whole call then writes nothing.
	InsertSignals(ctx context.Context, signals []*Signal) ([]*Signal, error)
}
