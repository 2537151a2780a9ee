package resolvers

import (
	"context"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/graph"
	"github.com/marketgraph/marketgraph/loaders"
)

type signalResolver struct{ *Resolver }

var _ graph.SignalResolver = (*signalResolver)(nil)

// Asset is the asset the signal belongs to, batched by id.
func (r *signalResolver) Asset(ctx context.Context, obj *marketgraph.Signal) (*marketgraph.Asset, error) {
	return loaders.For(ctx).AssetByID.Load(ctx, obj.AssetID)()
}
