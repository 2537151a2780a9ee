package main

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/marketgraph/marketgraph/marketdata"
	"github.com/marketgraph/marketgraph/marketdata/coingecko"
	"github.com/marketgraph/marketgraph/postgres"
)

// What the batch commands (sync-assets and backfill) share: the upstream
// client, the database, and the pacing of their calls.

// newUpstream is the CoinGecko-compatible client the settings describe.
// serve wraps it in the resilience layer (newProvider); a batch command uses
// it bare: it makes one call at a time, paces them itself (newPacer) and
// reports a failed call instead of retrying it.
func newUpstream(cfg *config) (*coingecko.Client, error) {
	return coingecko.New(coingecko.Config{BaseURL: cfg.ProviderURL, APIKey: cfg.ProviderKey, KeyHeader: cfg.ProviderKeyHeader})
}

// openBatch is what a batch command starts with: the provider's client and
// a migrated database, which the caller closes.
func openBatch(ctx context.Context, cfg *config) (*coingecko.Client, *postgres.DB, error) {
	client, err := newUpstream(cfg)
	if err != nil {
		return nil, nil, err
	}
	db, err := openMigratedDB(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return client, db, nil
}

// splitIDs parses a comma-separated list of asset ids: spaces trimmed,
// empty items and repeats dropped, order kept.
func splitIDs(s string) []string {
	var ids []string
	seen := map[string]bool{}
	for _, id := range strings.Split(s, ",") {
		if id = strings.TrimSpace(id); id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids
}

// retryAfter is how long the provider asked to wait after err, 0 when it
// did not say.
func retryAfter(err error) time.Duration {
	var ue *coingecko.UpstreamError
	if errors.As(err, &ue) {
		return ue.RetryAfter
	}
	return 0
}

// newPacer is the budget a batch command spends, one call at a time:
// -provider-budget's meaning (0 is the default for CoinGecko's free demo
// plan, negative is no limit) with a burst of one, so calls are spaced
// evenly and nothing is saved up while idle. It is marketdata's budget, the
// one the server's provider calls spend, so both follow one rule.
func newPacer(perMinute int) *marketdata.Budget {
	if perMinute == 0 {
		perMinute = marketdata.DefaultCallsPerMinute
	}
	return marketdata.NewBudget(perMinute, 1)
}
