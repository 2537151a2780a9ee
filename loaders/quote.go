package loaders

import (
	"context"
	"fmt"

	"github.com/graph-gophers/dataloader/v7"

	"github.com/marketgraph/marketgraph"
)

// QuoteKey asks for the quote of one asset in one currency.
type QuoteKey struct {
	AssetID  string
	Currency marketgraph.Currency
}

// quotesByAsset loads the quotes of a batch with one provider call per
// currency, each asset asked for once. A provider may answer part of a call
// and fail the rest (marketdata.Provider): keys in its map succeed (possibly
// stale), keys missing from it get its error, or NOT_FOUND when it returned
// none. A failure fails the keys of its currency only.
func quotesByAsset(p marketgraph.QuoteProvider) dataloader.BatchFunc[QuoteKey, *marketgraph.Quote] {
	return func(ctx context.Context, keys []QuoteKey) []*dataloader.Result[*marketgraph.Quote] {
		return batch(ctx, keys, QuoteKey.currency, func(ctx context.Context, cur marketgraph.Currency, keys []QuoteKey) []*dataloader.Result[*marketgraph.Quote] {
			quotes, err := p.Quotes(ctx, uniqueIDs(keys, QuoteKey.assetID), cur)
			if err != nil {
				err = fmt.Errorf("load quotes in %s: %w", cur, err)
			}
			rs := make([]*dataloader.Result[*marketgraph.Quote], len(keys))
			for i, k := range keys {
				switch q := quotes[k.AssetID]; {
				case q != nil:
					rs[i] = &dataloader.Result[*marketgraph.Quote]{Data: q}
				case err != nil:
					rs[i] = &dataloader.Result[*marketgraph.Quote]{Error: err}
				default:
					rs[i] = &dataloader.Result[*marketgraph.Quote]{Error: marketgraph.Errorf(marketgraph.ENOTFOUND, "no quote for asset %q", k.AssetID)}
				}
			}
			return rs
		})
	}
}

func (k QuoteKey) currency() marketgraph.Currency { return k.Currency }
func (k QuoteKey) assetID() string                { return k.AssetID }
