package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/marketdata"
	"github.com/marketgraph/marketgraph/marketdata/coingecko"
)

// sync-assets settings.
const (
	cmdSyncAssets  = "sync-assets"
	defaultSyncTop = 100
	// maxSyncTop is 20 pages of /coins/markets: 40 s at the default budget.
	maxSyncTop = 20 * coingecko.MaxPerPage
)

// runSyncAssets refreshes the catalog with the top cfg.Top assets of the
// provider's /coins/markets, by market cap: symbol, name, rank, market cap,
// 24 h volume and change, and supply. The provider has no categories, so a
// known asset keeps its own and a new one gets none (""). Rows the store
// would refuse (a name that is not valid text, say) and rows without a
// symbol, name or market-cap rank are skipped and reported.
//
// All pages are fetched before anything is written: a failed page writes
// nothing, and running again is safe. Assets that are not in the refreshed
// top N are left as they are, ranks included. Running it twice against the
// same market changes nothing: the store does not rewrite identical rows.
func runSyncAssets(ctx context.Context, cfg *config, stdout io.Writer) error {
	client, db, err := openBatch(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()

	began := time.Now()
	markets, err := fetchMarkets(ctx, client, newPacer(cfg.ProviderBudget), cfg.Top, min(cfg.Top, coingecko.MaxPerPage), stdout)
	if err != nil {
		return fmt.Errorf("sync-assets: %w (nothing was written)", err)
	}
	if len(markets) == 0 {
		return fmt.Errorf("sync-assets: the provider listed no assets (nothing was written)")
	}
	ids := make([]string, len(markets))
	for i, m := range markets {
		ids[i] = m.ID
	}
	stored, err := db.FindAssetsByIDs(ctx, ids)
	if err != nil {
		return fmt.Errorf("sync-assets: read the catalog: %w", err)
	}
	known := make(map[string]*marketgraph.Asset, len(stored))
	for _, a := range stored {
		known[a.ID] = a
	}

	var assets []*marketgraph.Asset
	var added, changed, same int
	for _, m := range markets {
		a := m.Asset()
		old := known[a.ID]
		if old != nil {
			a.Category = old.Category
		}
		if err := checkSynced(a); err != nil {
			fmt.Fprintf(stdout, "skipped %s: %s\n", a.ID, marketgraph.ErrorMessage(err))
			continue
		}
		switch {
		case old == nil:
			added++
		case *old == *a:
			same++
		default:
			changed++
		}
		assets = append(assets, a)
	}
	if err := db.UpsertAssets(ctx, assets); err != nil {
		return fmt.Errorf("sync-assets: write the catalog: %w", err)
	}
	fmt.Fprintf(stdout, "synced %d assets (%d new, %d updated, %d unchanged, %d skipped) in %s\n",
		len(assets), added, changed, same, len(markets)-len(assets), time.Since(began).Round(time.Millisecond))
	return nil
}

// checkSynced returns a BAD_USER_INPUT error when a cannot join the
// catalog: the store would refuse it, or it has no symbol or name to show.
func checkSynced(a *marketgraph.Asset) error {
	if a.Symbol == "" || a.Name == "" {
		return marketgraph.Errorf(marketgraph.EBADINPUT, "no symbol or name")
	}
	// Rank 0 would sort before rank 1 and push an unranked coin to the top
	// of every "top N" (ingest's tracked assets, backfill's default).
	if a.Rank <= 0 {
		return marketgraph.Errorf(marketgraph.EBADINPUT, "no market-cap rank")
	}
	return marketgraph.ValidateAsset(a)
}

// fetchMarkets reads the top assets by market cap, perPage to a call, each
// call paced: as many pages as top needs, fewer when the market runs out.
// A coin listed twice (ranks moved between two pages) is kept once, where
// it was first seen. It prints a line per page.
func fetchMarkets(ctx context.Context, client *coingecko.Client, pace *marketdata.Budget, top, perPage int, stdout io.Writer) ([]coingecko.Market, error) {
	pages := (top + perPage - 1) / perPage
	seen := map[string]bool{}
	var out []coingecko.Market
	for page := 1; page <= pages && len(out) < top; page++ {
		if err := pace.Wait(ctx); err != nil {
			return nil, err
		}
		rows, err := client.Markets(ctx, marketgraph.CurrencyUSD, nil, page, perPage)
		if err != nil {
			return nil, fmt.Errorf("page %d/%d: %w", page, pages, err)
		}
		n := 0
		for _, m := range rows {
			if !seen[m.ID] && len(out) < top {
				seen[m.ID] = true
				out = append(out, m)
				n++
			}
		}
		if len(rows) < perPage {
			fmt.Fprintf(stdout, "page %d/%d: %d assets (the end of the market)\n", page, pages, n)
			break
		}
		fmt.Fprintf(stdout, "page %d/%d: %d assets\n", page, pages, n)
	}
	return out, nil
}
