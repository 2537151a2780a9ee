package loaders

import (
	"context"
	"fmt"

	"github.com/graph-gophers/dataloader/v7"

	"github.com/marketgraph/marketgraph"
)

// SignalsKey asks for the First newest signals of one asset.
type SignalsKey struct {
	AssetID string
	First   int
}

func (k SignalsKey) first() int      { return k.First }
func (k SignalsKey) assetID() string { return k.AssetID }

// signalsByAsset loads the signals of a batch with one SignalsByAssets call
// per distinct First.
func signalsByAsset(s marketgraph.SignalService) dataloader.BatchFunc[SignalsKey, []*marketgraph.Signal] {
	return func(ctx context.Context, keys []SignalsKey) []*dataloader.Result[[]*marketgraph.Signal] {
		return batch(ctx, keys, SignalsKey.first, func(ctx context.Context, first int, keys []SignalsKey) []*dataloader.Result[[]*marketgraph.Signal] {
			signals, err := s.SignalsByAssets(ctx, uniqueIDs(keys, SignalsKey.assetID), first)
			if err != nil {
				return failAll[[]*marketgraph.Signal](len(keys), fmt.Errorf("load signals: %w", err))
			}
			rs := make([]*dataloader.Result[[]*marketgraph.Signal], len(keys))
			for i, k := range keys {
				ss := signals[k.AssetID]
				if ss == nil {
					ss = []*marketgraph.Signal{}
				}
				rs[i] = &dataloader.Result[[]*marketgraph.Signal]{Data: ss}
			}
			return rs
		})
	}
}

// latestSignalByAsset loads the newest signal of each asset of a batch with
// one LatestSignals call; an asset without signals gets nil, not an error,
// because latestSignal is nullable and "none yet" is a normal answer.
func latestSignalByAsset(s marketgraph.SignalService) dataloader.BatchFunc[string, *marketgraph.Signal] {
	return func(ctx context.Context, keys []string) []*dataloader.Result[*marketgraph.Signal] {
		return batch(ctx, keys, one, func(ctx context.Context, _ single, keys []string) []*dataloader.Result[*marketgraph.Signal] {
			latest, err := s.LatestSignals(ctx, uniqueIDs(keys, identity))
			if err != nil {
				return failAll[*marketgraph.Signal](len(keys), fmt.Errorf("load latest signals: %w", err))
			}
			rs := make([]*dataloader.Result[*marketgraph.Signal], len(keys))
			for i, k := range keys {
				rs[i] = &dataloader.Result[*marketgraph.Signal]{Data: latest[k]}
			}
			return rs
		})
	}
}
