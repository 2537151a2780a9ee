package marketgraph

import (
	"context"
	"time"
)

// SignalKind is what a trading signal suggests.
type SignalKind string

// Signal kinds.
const (
	SignalBuy  SignalKind = "BUY"
	SignalSell SignalKind = "SELL"
	SignalHold SignalKind = "HOLD"
)

// Signal is a trading signal computed by an indicator from an asset's
// candles. ID is deterministic: the same indicator firing on the same candle
// always yields the same id, so recomputing signals never duplicates them.
type Signal struct {
	ID      string     `json:"id"`
	AssetID string     `json:"assetId"`
	Kind    SignalKind `json:"kind"`
	// Strength is in [0, 1].
	Strength  float64   `json:"strength"`
	Indicator string    `json:"indicator"`
	Reason    string    `json:"reason"`
	EmittedAt time.Time `json:"emittedAt"`
}

// Limits on signal lists.
const (
	DefaultSignalFirst = 10
	MaxSignalFirst     = 100
)

// SignalService reads trading signals.
type SignalService interface {
	// SignalsByAssets returns up to first signals per asset, newest first
	// (ties by id descending). Assets without signals are absent.
	SignalsByAssets(ctx context.Context, assetIDs []string, first int) (map[string][]*Signal, error)
	// LatestSignals returns the newest signal of each asset that has one.
	LatestSignals(ctx context.Context, assetIDs []string) (map[string]*Signal, error)
}
