package loaders

import (
	"context"
	"fmt"

	"github.com/graph-gophers/dataloader/v7"

	"github.com/marketgraph/marketgraph"
)

// assetsByID loads the assets of a batch with one FindAssetsByIDs call.
func assetsByID(s marketgraph.AssetService) dataloader.BatchFunc[string, *marketgraph.Asset] {
	return func(ctx context.Context, keys []string) []*dataloader.Result[*marketgraph.Asset] {
		return batch(ctx, keys, one, func(ctx context.Context, _ single, keys []string) []*dataloader.Result[*marketgraph.Asset] {
			assets, err := s.FindAssetsByIDs(ctx, uniqueIDs(keys, identity))
			if err != nil {
				return failAll[*marketgraph.Asset](len(keys), fmt.Errorf("load assets: %w", err))
			}
			byID := make(map[string]*marketgraph.Asset, len(assets))
			for _, a := range assets {
				byID[a.ID] = a
			}
			rs := make([]*dataloader.Result[*marketgraph.Asset], len(keys))
			for i, k := range keys {
				if a := byID[k]; a != nil {
					rs[i] = &dataloader.Result[*marketgraph.Asset]{Data: a}
				} else {
					rs[i] = &dataloader.Result[*marketgraph.Asset]{Error: marketgraph.Errorf(marketgraph.ENOTFOUND, "asset %q not found", k)}
				}
			}
			return rs
		})
	}
}

// assetsBySymbol loads the assets of a batch of upper-cased symbols with
// one FindAssetsBySymbols call.
func assetsBySymbol(s marketgraph.AssetService) dataloader.BatchFunc[string, *marketgraph.Asset] {
	return func(ctx context.Context, keys []string) []*dataloader.Result[*marketgraph.Asset] {
		return batch(ctx, keys, one, func(ctx context.Context, _ single, keys []string) []*dataloader.Result[*marketgraph.Asset] {
			bySymbol, err := s.FindAssetsBySymbols(ctx, uniqueIDs(keys, identity))
			if err != nil {
				return failAll[*marketgraph.Asset](len(keys), fmt.Errorf("load assets by symbol: %w", err))
			}
			rs := make([]*dataloader.Result[*marketgraph.Asset], len(keys))
			for i, k := range keys {
				// The store keys its answer by the upper-cased symbol; a
				// caller that forgot to upper-case still gets it.
				if a := bySymbol[marketgraph.FoldUpper(k)]; a != nil {
					rs[i] = &dataloader.Result[*marketgraph.Asset]{Data: a}
				} else {
					rs[i] = &dataloader.Result[*marketgraph.Asset]{Error: marketgraph.Errorf(marketgraph.ENOTFOUND, "no asset with symbol %q", k)}
				}
			}
			return rs
		})
	}
}

// identity is the asset id of a key that is an asset id.
func identity(s string) string { return s }
