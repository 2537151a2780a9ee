package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/marketgraph/marketgraph/marketdata"
	"github.com/marketgraph/marketgraph/marketdata/coingecko"
	"github.com/marketgraph/marketgraph/postgres"
)

// What the batch commands (sync-assets and backfill) share: the upstream
// client, the database, and the pacing of their calls.

// newUpstream is the CoinGecko-compatible client of a batch command. It has
// no resilience layer: a batch command makes one call at a time, paces them
// itself (pacer) and reports a failed call instead of retrying it.
func newUpstream(cfg *config) (*coingecko.Client, error) {
	return coingecko.New(coingecko.Config{BaseURL: cfg.ProviderURL, APIKey: cfg.ProviderKey, KeyHeader: cfg.ProviderKeyHeader})
}

// openMigratedDB opens PostgreSQL and checks that no migration is pending,
// so a batch command never writes into a schema it does not know.
func openMigratedDB(ctx context.Context, cfg *config) (*postgres.DB, error) {
	db, err := openDB(ctx, cfg)
	if err != nil {
		return nil, err
	}
	pending, err := db.PendingMigrations(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("check migrations: %w", err)
	}
	if len(pending) > 0 {
		db.Close()
		return nil, fmt.Errorf("DATABASE_URL: %d migrations pending: run `marketgraph migrate` first", len(pending))
	}
	return db, nil
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

// pacer spaces the upstream calls of a batch command evenly: a call starts
// no sooner than a minute/perMinute after the previous one, so no minute
// ever holds more than perMinute calls, and the provider's Retry-After
// holds every later call back.
//
// The server's budget (a token bucket in marketdata) is built for many
// concurrent callers and is not exported; a batch command makes one call at
// a time, and even spacing is all it needs. Nothing is saved up while idle,
// which errs on the provider's side. A pacer is not safe for concurrent
// use.
type pacer struct {
	interval time.Duration // between call starts; 0: no pacing
	next     time.Time     // no call starts before this
}

// newPacer returns a pacer of perMinute calls a minute, -provider-budget's
// meaning: 0 is the default for CoinGecko's free demo plan, negative is no
// limit.
func newPacer(perMinute int) *pacer {
	switch {
	case perMinute == 0:
		perMinute = marketdata.DefaultCallsPerMinute
	case perMinute < 0:
		return &pacer{}
	}
	// Rounded up, so that perMinute intervals never fall short of a minute.
	n := time.Duration(perMinute)
	return &pacer{interval: (time.Minute + n - 1) / n}
}

// reserve books the next call for a caller ready at now and returns how
// long it must wait before making it.
func (p *pacer) reserve(now time.Time) time.Duration {
	start := now
	if p.next.After(start) {
		start = p.next
	}
	p.next = start.Add(p.interval)
	return start.Sub(now)
}

// holdUntil makes no call start before t: the provider said when to come
// back.
func (p *pacer) holdUntil(t time.Time) {
	if t.After(p.next) {
		p.next = t
	}
}

// wait returns when the next call may start, or with ctx's error when ctx
// ends first.
func (p *pacer) wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d := p.reserve(time.Now())
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
