package memory

import (
	"context"
	"fmt"

	"github.com/marketgraph/marketgraph"
)

var _ marketgraph.MarketWriter = (*Store)(nil)

// UpsertAssets inserts new assets and replaces existing ones whole, then
// rebuilds the symbol index and the orderings. The whole batch is checked
// with marketgraph.ValidateAsset first: BAD_USER_INPUT, and nothing
// written, when any asset fails it.
func (s *Store) UpsertAssets(ctx context.Context, assets []*marketgraph.Asset) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("upsert assets: %w", err)
	}
	for _, a := range assets {
		if err := marketgraph.ValidateAsset(a); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putAssets(assets, true)
	return nil
}

// UpsertCandles writes candles, replacing any stored candle with the same
// asset, interval and start. The whole batch is checked first: BAD_USER_INPUT,
// and nothing written, for a candle marketgraph.ValidateCandle refuses or
// one of an unknown asset.
func (s *Store) UpsertCandles(ctx context.Context, candles []*marketgraph.Candle) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("upsert candles: %w", err)
	}
	for _, c := range candles {
		if err := marketgraph.ValidateCandle(c); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range candles {
		if _, ok := s.byID[c.AssetID]; !ok {
			return marketgraph.Errorf(marketgraph.EBADINPUT, "candle: unknown asset %q", c.AssetID)
		}
	}
	s.upsertCandles(candles)
	return nil
}

// InsertSignals inserts the signals whose id is new (the first of several
// with one id) and returns copies of them in input order, with times in UTC
// to the microsecond as the store keeps them. The whole batch is checked
// first: BAD_USER_INPUT, and nothing written, for a signal
// marketgraph.ValidateSignal refuses or one of an unknown asset.
func (s *Store) InsertSignals(ctx context.Context, signals []*marketgraph.Signal) ([]*marketgraph.Signal, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("insert signals: %w", err)
	}
	for _, sg := range signals {
		if err := marketgraph.ValidateSignal(sg); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sg := range signals {
		if _, ok := s.byID[sg.AssetID]; !ok {
			return nil, marketgraph.Errorf(marketgraph.EBADINPUT, "signal %q: unknown asset %q", sg.ID, sg.AssetID)
		}
	}
	return s.addSignals(signals), nil
}
