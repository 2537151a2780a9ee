package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/ingest"
	"github.com/marketgraph/marketgraph/marketdata"
	"github.com/marketgraph/marketgraph/marketdata/coingecko"
	"github.com/marketgraph/marketgraph/postgres"
)

// backfill settings.
const (
	cmdBackfill         = "backfill"
	defaultBackfillDays = 30
	maxBackfillDays     = 365
	// hourlyDays is the longest range CoinGecko answers with hourly
	// samples; beyond it they are daily, and only DAY candles can be built.
	hourlyDays = 90
	// backfillTop is how many assets, by rank, are filled without -assets.
	backfillTop = 100
)

// backfillResult is what one asset's backfill wrote.
type backfillResult struct {
	hours, days int
}

// runBackfill fills the HOUR and DAY candles of the last cfg.Days days for
// each asset of -assets (default: the top 100 of the catalog by rank), one
// market_chart/range call per asset, paced by -provider-budget.
//
// The window is [H − days, H], H the start of the current hour: the open
// hour is never written (its bar is not complete), and the hours before it
// are all whole, so -days 3 gives 72 HOUR candles; DAY candles are the
// days wholly inside the window. Candles are built by
// ingest.HistoryCandles; their volume is an estimate from the chart's 24 h
// volumes (see there). Each asset's candles are written in one upsert, and
// the store skips rows that did not change, so a second run over the same
// upstream data changes nothing.
//
// A failing asset is reported and the others go on; the command then fails
// naming them, ready to pass back as -assets. A cancelled ctx (SIGINT)
// stops between two calls and the command fails saying how far it got.
func runBackfill(ctx context.Context, cfg *config, stdout io.Writer) error {
	client, db, err := openBatch(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	ids, unknown, err := backfillAssets(ctx, db, splitIDs(cfg.Assets))
	if err != nil {
		return fmt.Errorf("backfill: %w", err)
	}

	to := time.Now().UTC().Truncate(time.Hour)
	from := to.AddDate(0, 0, -cfg.Days)
	fmt.Fprintf(stdout, "backfilling %d assets from %s to %s\n", len(ids), from.Format(time.RFC3339), to.Format(time.RFC3339))
	if cfg.Days > hourlyDays {
		fmt.Fprintf(stdout, "beyond %d days the provider sends daily samples: DAY candles only\n", hourlyDays)
	}
	pace := newPacer(cfg.ProviderBudget)
	var failed []string
	var total backfillResult
	for i, id := range ids {
		prefix := fmt.Sprintf("[%d/%d] %s:", i+1, len(ids), id)
		if unknown[id] {
			fmt.Fprintln(stdout, prefix, "failed: not in the catalog (run `marketgraph sync-assets` first)")
			failed = append(failed, id)
			continue
		}
		r, err := backfillAsset(ctx, client, db, pace, id, from, to)
		if ctx.Err() != nil {
			fmt.Fprintf(stdout, "interrupted after %d of %d assets\n", i, len(ids))
			return fmt.Errorf("backfill: interrupted after %d of %d assets: %w", i, len(ids), ctx.Err())
		}
		if err != nil {
			fmt.Fprintln(stdout, prefix, "failed:", err)
			failed = append(failed, id)
			continue
		}
		total.hours += r.hours
		total.days += r.days
		fmt.Fprintf(stdout, "%s %d hourly, %d daily candles\n", prefix, r.hours, r.days)
	}
	fmt.Fprintf(stdout, "backfilled %d of %d assets: %d hourly, %d daily candles\n", len(ids)-len(failed), len(ids), total.hours, total.days)
	if len(failed) > 0 {
		return fmt.Errorf("backfill: %d of %d assets failed; rerun with -assets %s", len(failed), len(ids), strings.Join(failed, ","))
	}
	return nil
}

// backfillAssets returns the assets to fill: ids in their order, or the top
// backfillTop of the catalog by rank when ids is empty; unknown holds the
// given ids the catalog lacks (their candles could not be stored).
func backfillAssets(ctx context.Context, db *postgres.DB, ids []string) (_ []string, unknown map[string]bool, _ error) {
	if len(ids) == 0 {
		page, err := db.ListAssets(ctx, marketgraph.AssetListParams{Order: marketgraph.DefaultAssetOrder, First: backfillTop})
		if err != nil {
			return nil, nil, fmt.Errorf("list the catalog: %w", err)
		}
		for _, a := range page.Assets {
			ids = append(ids, a.ID)
		}
		if len(ids) == 0 {
			return nil, nil, fmt.Errorf("the catalog is empty: run `marketgraph sync-assets` first")
		}
		return ids, nil, nil
	}
	found, err := db.FindAssetsByIDs(ctx, ids)
	if err != nil {
		return nil, nil, fmt.Errorf("read the catalog: %w", err)
	}
	unknown = map[string]bool{}
	for _, id := range ids {
		unknown[id] = !slices.ContainsFunc(found, func(a *marketgraph.Asset) bool { return a.ID == id })
	}
	return ids, unknown, nil
}

// backfillAsset fetches one asset's chart of [from, to] and writes the
// complete candles it gives in one upsert. A rate-limited call (the
// provider's Retry-After, which the budget should make rare) holds every
// later call back and is made once more.
func backfillAsset(ctx context.Context, client *coingecko.Client, db *postgres.DB, pace *marketdata.Budget, id string, from, to time.Time) (backfillResult, error) {
	var chart *coingecko.MarketChart
	for attempt := 0; ; attempt++ {
		if err := pace.Wait(ctx); err != nil {
			return backfillResult{}, err
		}
		var err error
		chart, err = client.MarketChartRange(ctx, id, marketgraph.CurrencyUSD, from, to)
		if err == nil {
			break
		}
		d := retryAfter(err)
		if d <= 0 || attempt > 0 {
			return backfillResult{}, err
		}
		pace.HoldUntil(time.Now().Add(d))
	}
	hours, days := ingest.HistoryCandles(chartTicks(id, chart), from, to)
	if err := db.UpsertCandles(ctx, slices.Concat(hours, days)); err != nil {
		return backfillResult{}, fmt.Errorf("write candles: %w", err)
	}
	return backfillResult{hours: len(hours), days: len(days)}, nil
}

// chartTicks turns a market chart into ticks: one per price sample, with
// the 24 h volume sampled at the same instant (none when the chart has
// none there).
func chartTicks(id string, chart *coingecko.MarketChart) []ingest.Tick {
	volumes := make(map[int64]float64, len(chart.TotalVolumes))
	for _, p := range chart.TotalVolumes {
		volumes[p.At.UnixMilli()] = p.Value
	}
	ticks := make([]ingest.Tick, len(chart.Prices))
	for i, p := range chart.Prices {
		ticks[i] = ingest.Tick{AssetID: id, Price: p.Value, Volume24h: volumes[p.At.UnixMilli()], At: p.At}
	}
	return ticks
}
