package resolvers

import (
	"context"
	"strings"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/graph"
	"github.com/marketgraph/marketgraph/loaders"
)

type queryResolver struct{ *Resolver }

var _ graph.QueryResolver = (*queryResolver)(nil)

// maxOverviewTop bounds marketOverview(top:).
const maxOverviewTop = 50

// Asset looks an asset up by id or by symbol, each batched through its
// loader, so a document asking for several ids or symbols costs one
// statement for each kind.
func (r *queryResolver) Asset(ctx context.Context, id *string, symbol *string) (*marketgraph.Asset, error) {
	switch {
	case id != nil && symbol != nil:
		return nil, marketgraph.Errorf(marketgraph.EBADINPUT, "id, symbol: give exactly one of them, not both")
	case id != nil:
		if *id == "" {
			return nil, marketgraph.Errorf(marketgraph.EBADINPUT, "id: must not be empty")
		}
		if err := marketgraph.CheckText("id", *id); err != nil {
			return nil, err
		}
		return loaders.For(ctx).AssetByID.Load(ctx, *id)()
	case symbol != nil:
		s := strings.TrimSpace(*symbol)
		if s == "" {
			return nil, marketgraph.Errorf(marketgraph.EBADINPUT, "symbol: must not be empty")
		}
		// The store skips hostile symbols in a batch; the client that sent
		// one is told why here instead of getting NOT_FOUND.
		if err := marketgraph.CheckText("symbol", s); err != nil {
			return nil, err
		}
		l := loaders.For(ctx)
		a, err := l.AssetBySymbol.Load(ctx, marketgraph.FoldUpper(s))()
		if err != nil {
			return nil, err
		}
		l.AssetByID.Prime(ctx, a.ID, a)
		return a, nil
	default:
		return nil, marketgraph.Errorf(marketgraph.EBADINPUT, "id, symbol: give exactly one of them")
	}
}

// Assets returns one page of the catalog as a Relay connection.
func (r *queryResolver) Assets(ctx context.Context, first *int, after *string, filter *marketgraph.AssetFilter, orderBy *marketgraph.AssetOrder) (*graph.AssetConnection, error) {
	n, err := intArg("first", first, marketgraph.DefaultAssetPageSize, 0, marketgraph.MaxAssetPageSize)
	if err != nil {
		return nil, err
	}
	p := marketgraph.AssetListParams{First: n, Order: marketgraph.DefaultAssetOrder}
	if filter != nil {
		p.Filter = *filter
	}
	if orderBy != nil {
		p.Order = *orderBy
		if p.Order.Direction == "" {
			p.Order.Direction = marketgraph.OrderAsc
		}
	}
	if after != nil {
		if p.After, err = marketgraph.DecodeAssetCursor(*after, p.Order.Field); err != nil {
			return nil, err
		}
		if p.After.Dir != p.Order.Direction {
			return nil, marketgraph.Errorf(marketgraph.EBADINPUT, "after: cursor belongs to another ordering (%s %s)", p.After.Field, p.After.Dir)
		}
	}
	page, err := r.store.ListAssets(ctx, p)
	if err != nil {
		return nil, err
	}
	conn := &graph.AssetConnection{
		Edges:      make([]*graph.AssetEdge, len(page.Assets)),
		PageInfo:   &graph.PageInfo{HasNextPage: page.HasNextPage},
		TotalCount: page.TotalCount,
	}
	l := loaders.For(ctx)
	for i, a := range page.Assets {
		c := marketgraph.CursorFor(a, p.Order.Field)
		c.Dir = p.Order.Direction
		conn.Edges[i] = &graph.AssetEdge{Cursor: c.Encode(), Node: a}
		// Signals and nested lookups of the same asset need no second read.
		l.AssetByID.Prime(ctx, a.ID, a)
	}
	if len(conn.Edges) > 0 {
		conn.PageInfo.EndCursor = &conn.Edges[len(conn.Edges)-1].Cursor
	}
	prefetchAssetFields(ctx, page.Assets)
	return conn, nil
}

// MarketOverview sums the live quotes of the top MaxAssetPageSize assets by
// rank: one page from the store, one batched provider call.
func (r *queryResolver) MarketOverview(ctx context.Context, currency *marketgraph.Currency, top *int) (*marketgraph.MarketOverview, error) {
	n, err := intArg("top", top, 5, 0, maxOverviewTop)
	if err != nil {
		return nil, err
	}
	cur := currencyArg(currency)
	page, err := r.store.ListAssets(ctx, marketgraph.AssetListParams{
		First: marketgraph.MaxAssetPageSize,
		Order: marketgraph.DefaultAssetOrder,
	})
	if err != nil {
		return nil, err
	}
	l := loaders.For(ctx)
	keys := make([]loaders.QuoteKey, len(page.Assets))
	for i, a := range page.Assets {
		keys[i] = loaders.QuoteKey{AssetID: a.ID, Currency: cur}
	}
	quotes, errs := l.QuoteByAsset.LoadMany(ctx, keys)()
	byID := make(map[string]*marketgraph.Quote, len(quotes))
	failed := 0
	for i, q := range quotes {
		if i < len(errs) && errs[i] != nil {
			failed++
			continue
		}
		if q != nil {
			byID[q.AssetID] = q
		}
	}
	// A few unknown assets do not spoil the overview; an upstream outage does.
	if len(page.Assets) > 0 && failed == len(page.Assets) {
		return nil, firstError(errs)
	}
	o := marketgraph.NewMarketOverview(cur, page.Assets, byID, n)
	if o.AsOf.IsZero() {
		o.AsOf = r.now().UTC()
	}
	return o, nil
}

func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
