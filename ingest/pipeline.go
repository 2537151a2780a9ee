// Package ingest is the polling pipeline that keeps marketgraph's own
// history up to date: every tick it asks the quote provider for all tracked
// assets in one call, folds the quotes into minute candles and rolls those
// up into hour and day candles, computes trading signals when an hour or a
// day closes, and publishes each quote and each new signal on the event
// bus.
//
// Candle building is pure and order-independent (Fold, Rollup), so a
// repeated or late tick never double-counts. With several processes, a lock
// (a PostgreSQL advisory lock) elects the one that ingests; the others wait
// to take over, continuing the bars the previous leader left.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/pubsub"
)

// Writer is the part of the store the pipeline needs. The PostgreSQL and
// memory stores satisfy it.
type Writer interface {
	// ListAssets pages through the catalog; the pipeline uses it to track
	// the top assets by rank when it is given no list.
	ListAssets(ctx context.Context, p marketgraph.AssetListParams) (*marketgraph.AssetPage, error)
	// CandlesByAssets reads candles, as marketgraph.CandleService says.
	CandlesByAssets(ctx context.Context, assetIDs []string, r marketgraph.CandleRange) (map[string][]*marketgraph.Candle, error)
	// UpsertCandles writes candles, each replacing a stored candle with the
	// same asset, interval and start. The pipeline writes a minute and the
	// hour and day containing it in one call; a store that applies the
	// call atomically keeps them consistent with each other.
	UpsertCandles(ctx context.Context, candles []*marketgraph.Candle) error
	// InsertSignals stores the signals whose ids are not stored yet and
	// returns those, the new ones.
	InsertSignals(ctx context.Context, signals []*marketgraph.Signal) ([]*marketgraph.Signal, error)
}

// Lock elects the one process that ingests.
type Lock interface {
	// Acquire blocks until the lock is held or ctx ends. held is cancelled
	// when the lock is lost (or ctx ends); release gives the lock up and
	// must be called once the holder is done, lost or not.
	Acquire(ctx context.Context) (held context.Context, release func(), err error)
}

// Defaults of Config.
const (
	// DefaultInterval is the tick of the simulator; a rate-limited upstream
	// wants a longer one (10 s for CoinGecko's free plans).
	DefaultInterval = time.Second
	// DefaultTracked is how many assets, by rank, are tracked when Config
	// names none.
	DefaultTracked = 100
	// trackedRefresh is how often the list of tracked assets is asked for
	// again: the catalog changes far more slowly than ticks come.
	trackedRefresh = time.Minute
)

// Config is what a Pipeline needs. Store and Quotes are required.
type Config struct {
	Store  Writer
	Quotes marketgraph.QuoteProvider
	// Bus receives the events; nil publishes nothing.
	Bus pubsub.Bus
	// Lock elects the ingesting process; nil means this process always
	// ingests (the memory store, a single process).
	Lock Lock
	// Interval is the time between ticks; DefaultInterval when zero.
	Interval time.Duration
	// Assets lists the tracked assets; nil tracks the DefaultTracked
	// assets of the catalog with the best rank. It is asked again every
	// minute; when it fails the previous list is kept.
	Assets func(ctx context.Context) ([]string, error)
	// Currency of the quotes, hence of the candles, which carry no
	// currency of their own and are read as USD: leave it USD (the
	// default) unless the whole store is in another currency.
	Currency marketgraph.Currency
	// Now is the clock of Run; time.Now when nil.
	Now func() time.Time
	// Logger; nothing is logged when nil.
	Logger *slog.Logger
}

// Pipeline is the ingest loop. Its state (the bars being built, each
// asset's last quote and tick sequence) lives in memory and is rebuilt
// from the store whenever this process becomes the ingesting one.
//
// The rules it follows:
//   - Time is the quotes' AsOf, not the clock: a quote falls in the minute,
//     hour and day of its AsOf, and a quote whose AsOf is not newer than
//     the asset's last is a repeat and skipped. Stale quotes are skipped.
//   - Minute candles follow Fold. Hour and day candles are the minutes they
//     contain rolled up as Rollup does, kept exactly in memory (see
//     assetState) rather than re-read from the store every tick.
//   - An hour (day) bar closes for an asset when its quote's AsOf enters a
//     later hour (day). Its signals are then computed on the last 100 bars
//     of that interval (see computeSignals); the first quote of an asset
//     after becoming leader counts as a close too, in case the previous
//     leader died before computing it. Only new signals are published.
//   - PriceTick.Sequence counts up by one per asset. A new leadership (a
//     takeover, or this process losing and regaining the lock) continues
//     from the newest tick of the asset the bus retains, so with a shared
//     bus the stream goes on across processes; it starts from 1 only when
//     the bus retains nothing of the asset. Its first tick of each asset
//     reads that history once.
//   - After a takeover the open bars continue where the store has them
//     (see ResumeBar and load).
type Pipeline struct {
	store    Writer
	quotes   marketgraph.QuoteProvider
	bus      pubsub.Bus
	lock     Lock
	interval time.Duration
	assets   func(ctx context.Context) ([]string, error)
	currency marketgraph.Currency
	now      func() time.Time
	log      *slog.Logger

	// mu serialises ticks, and resets between leaderships, over the
	// state below.
	mu sync.Mutex
	// tracked and trackedAt: the tracked assets and when they were listed.
	tracked   []string
	trackedAt time.Time
	// state holds the bars and counters of each asset seen since this
	// process became the leader.
	state map[string]*assetState
	// unwritten holds the candles changed but not yet stored, keyed by
	// asset, interval and start: a failed write is retried with the next
	// tick, with whatever the bar has become by then.
	unwritten map[candleKey]*marketgraph.Candle
	// closed holds the (asset, interval) pairs whose bar closed and whose
	// signals are yet to be computed, with the start of the bar that is
	// open now: signals are computed on the bars before it.
	closed map[signalKey]time.Time
	// refused holds the assets whose candles the store refused; they are
	// skipped until the tracked list is next refreshed.
	refused map[string]bool
}

// New returns a pipeline; Run starts it. It panics if cfg has no Store or
// Quotes, a wiring mistake to catch at start-up.
func New(cfg Config) *Pipeline {
	if cfg.Store == nil || cfg.Quotes == nil {
		panic("ingest: Config needs a Store and Quotes")
	}
	p := &Pipeline{
		store: cfg.Store, quotes: cfg.Quotes, bus: cfg.Bus, lock: cfg.Lock,
		interval: cfg.Interval, assets: cfg.Assets, currency: cfg.Currency,
		now: cfg.Now, log: cfg.Logger,
	}
	if p.interval <= 0 {
		p.interval = DefaultInterval
	}
	if p.currency == "" {
		p.currency = marketgraph.CurrencyUSD
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.assets == nil {
		p.assets = p.topAssets
	}
	p.reset()
	return p
}

// topAssets lists the DefaultTracked best-ranked assets of the catalog.
func (p *Pipeline) topAssets(ctx context.Context) ([]string, error) {
	page, err := p.store.ListAssets(ctx, marketgraph.AssetListParams{Order: marketgraph.DefaultAssetOrder, First: DefaultTracked})
	if err != nil {
		return nil, fmt.Errorf("list tracked assets: %w", err)
	}
	ids := make([]string, len(page.Assets))
	for i, a := range page.Assets {
		ids[i] = a.ID
	}
	return ids, nil
}

// Run ingests until ctx ends, then returns nil. It first acquires the lock
// (if any), then ticks every Interval for as long as it holds it; when the
// lock is lost it stops ticking, forgets its in-memory state and goes back
// to acquiring. A failed tick is logged and the next one retries; a panic
// in a tick is logged as an error, never propagated.
func (p *Pipeline) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		held, release, err := p.acquire(ctx)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			p.log.Warn("ingest: acquiring the lock failed", "err", err)
			if !sleep(ctx, p.interval) {
				break
			}
			continue
		}
		p.log.Info("ingest: leading")
		p.lead(held)
		release()
		p.reset()
		if ctx.Err() == nil {
			p.log.Warn("ingest: lock lost, waiting to lead again")
		}
	}
	return nil
}

// acquire takes the lock, or with no lock returns ctx itself.
func (p *Pipeline) acquire(ctx context.Context) (held context.Context, release func(), err error) {
	if p.lock == nil {
		return ctx, func() {}, nil
	}
	err = safely(func() error {
		held, release, err = p.lock.Acquire(ctx)
		return err
	})
	if err == nil && (held == nil || release == nil) {
		err = fmt.Errorf("ingest: lock returned no context or release")
	}
	return held, release, err
}

// lead ticks until held ends.
func (p *Pipeline) lead(held context.Context) {
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for held.Err() == nil {
		err := safely(func() error { return p.Tick(held, p.now()) })
		var pe *panicError
		switch {
		case errors.As(err, &pe):
			p.log.Error("ingest: tick panicked", "panic", pe.value, "stack", string(pe.stack))
		case err != nil && held.Err() == nil:
			// Once the lock is lost, failures are only the cancellation.
			p.log.Warn("ingest: tick failed", "err", err)
		}
		select {
		case <-held.Done():
		case <-t.C:
		}
	}
}

// reset forgets everything learnt while leading: a new leadership starts
// from the store, which another process may have written meanwhile.
func (p *Pipeline) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tracked, p.trackedAt = nil, time.Time{}
	p.state = map[string]*assetState{}
	p.unwritten = map[candleKey]*marketgraph.Candle{}
	p.closed = map[signalKey]time.Time{}
	p.refused = map[string]bool{}
}

// panicError is a panic recovered by safely.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("ingest: panic: %v", e.value) }

// safely runs f, turning a panic into a *panicError.
func safely(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &panicError{value: r, stack: debug.Stack()}
		}
	}()
	return f()
}

// sleep waits for d or until ctx ends; it reports whether ctx is still
// alive.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
