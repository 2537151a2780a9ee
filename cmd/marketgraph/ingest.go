package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/ingest"
	"github.com/marketgraph/marketgraph/pubsub"
	"github.com/marketgraph/marketgraph/server"
)

// ingestLockKey is the advisory lock that elects the one ingesting process
// among all sharing a database ("mgingest" in ASCII).
const ingestLockKey int64 = 0x6d67696e67657374

// tickInterval is -tick, or its default for the provider: one quote call a
// second is free on the simulator; against CoinGecko every 10 s keeps the
// default budget of 30 calls a minute for the API's own requests.
func tickInterval(cfg *config) time.Duration {
	if cfg.Tick > 0 {
		return cfg.Tick
	}
	if cfg.Provider == providerCoinGecko {
		return 10 * time.Second
	}
	return ingest.DefaultInterval
}

// resumeBuffer is -resume-buffer, or by default as many ticks per asset as
// -resume-window holds at this process's tick, and a tenth more: ticks are
// published by a ticker, which can fire early after a slow tick.
func resumeBuffer(cfg *config) int {
	if cfg.ResumeBuffer > 0 {
		return cfg.ResumeBuffer
	}
	window := cmp.Or(cfg.ResumeWindow, defaultResumeWindow)
	n := int((window + tickInterval(cfg) - 1) / tickInterval(cfg))
	return min(n+n/10+1, maxResumeBuffer)
}

// trackedAssets is -track as the pipeline's Assets function: nil (the top
// ingest.DefaultTracked by rank) when unset.
func trackedAssets(cfg *config) func(context.Context) ([]string, error) {
	if strings.TrimSpace(cfg.Track) == "" {
		return nil
	}
	var ids []string
	for _, id := range strings.Split(cfg.Track, ",") {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	return func(context.Context) ([]string, error) { return ids, nil }
}

// newPipeline builds the ingest pipeline over store and quotes. With
// PostgreSQL an advisory lock makes exactly one process ingest; lock is nil
// on the memory store, where this process is the only one.
func newPipeline(cfg *config, store marketgraph.Store, quotes marketgraph.QuoteProvider, bus pubsub.Bus, lock ingest.Lock, log *slog.Logger) *ingest.Pipeline {
	return ingest.New(ingest.Config{
		Store:    store,
		Quotes:   quotes,
		Bus:      bus,
		Lock:     lock,
		Interval: tickInterval(cfg),
		Assets:   trackedAssets(cfg),
		Logger:   log.With("component", "ingest"),
	})
}

// runIngest runs the ingest pipeline alone, without serving HTTP: on
// PostgreSQL, one of any number of such processes (and of serve processes)
// ingests at a time, and another takes over when it dies.
func runIngest(ctx context.Context, cfg *config, log *slog.Logger, stdout io.Writer) error {
	if cfg.DatabaseURL == "" {
		return fmt.Errorf("DATABASE_URL: ingest alone needs PostgreSQL (serve ingests into its memory store itself)")
	}
	store, db, dataset, closeStore, err := openServeStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeStore()
	quotes, _, err := newProvider(cfg, dataset, log)
	if err != nil {
		return err
	}
	bus, _, err := newBus(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer bus.Close()
	p := newPipeline(cfg, store, quotes.Refreshing(), bus, db.AdvisoryLock(ingestLockKey, tickInterval(cfg), log), log)
	fmt.Fprintf(stdout, "ingesting every %s (provider %s)\n", tickInterval(cfg), cfg.Provider)
	return p.Run(ctx)
}

// subscriptionBuffer is how many payloads each bus subscription holds. The
// subscriptions' pumps drain their buses at once into queues that coalesce
// per asset, so a few slots absorb a burst; with ten topics per subscriber
// and ten thousand subscribers, pubsub's default of 64 would cost 150 MB.
const subscriptionBuffer = 8

// newBus is the event bus: Redis when REDIS_URL is set, so that every
// replica's subscribers see the events of the one that ingests; in-process
// otherwise. The component reports the Redis connection to /readyz.
//
// Either bus retains the newest price ticks of each asset, for
// subscriptions that resume; signals are not replayed, so not retained.
func newBus(ctx context.Context, cfg *config, log *slog.Logger) (pubsub.Bus, server.Component, error) {
	retain := pubsub.Retention{Count: resumeBuffer(cfg), Prefixes: []string{marketgraph.TickTopic("")}}
	if cfg.RedisURL == "" {
		return pubsub.NewLocalRetaining(subscriptionBuffer, retain), nil, nil
	}
	b, err := pubsub.NewRedis(ctx, pubsub.RedisConfig{URL: cfg.RedisURL, Prefix: cfg.RedisPrefix, Logger: log.With("component", "bus"), Retention: retain, Buffer: subscriptionBuffer})
	if err != nil {
		return nil, nil, err
	}
	return b, func(context.Context) (string, bool) { return b.Health() }, nil
}
