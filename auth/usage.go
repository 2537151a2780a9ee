package auth

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// flushTimeout bounds one TouchAPIKeys call.
const flushTimeout = 10 * time.Second

// usageBatcher collects the last use of each key and writes them in one
// TouchAPIKeys call per interval, so that last_used_at costs one statement
// every few seconds whatever the request rate, and a request never waits
// for it: record only updates a map.
type usageBatcher struct {
	store    KeyStore
	log      *slog.Logger
	interval time.Duration

	mu      sync.Mutex
	pending map[string]time.Time // key id → latest use
	closed  bool

	flushMu   sync.Mutex // one flush at a time
	stop      chan struct{}
	stopped   chan struct{}
	closeOnce sync.Once
	closeErr  error
}

func newUsageBatcher(store KeyStore, log *slog.Logger, interval time.Duration) *usageBatcher {
	b := &usageBatcher{
		store:    store,
		log:      log,
		interval: interval,
		pending:  map[string]time.Time{},
		stop:     make(chan struct{}),
		stopped:  make(chan struct{}),
	}
	go b.loop()
	return b
}

// record notes that key id was used at t.
func (b *usageBatcher) record(id string, t time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	if prev, ok := b.pending[id]; !ok || t.After(prev) {
		b.pending[id] = t
	}
}

// loop flushes every interval until stop is closed.
func (b *usageBatcher) loop() {
	defer close(b.stopped)
	tick := time.NewTicker(b.interval)
	defer tick.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-tick.C:
			_ = b.flush(context.Background())
		}
	}
}

// flush writes the pending uses in one call. On failure they are kept, to
// be written with the next batch (the store keeps the latest time of
// each, so a retry never moves one back), and the failure is logged.
func (b *usageBatcher) flush(ctx context.Context) error {
	b.flushMu.Lock()
	defer b.flushMu.Unlock()
	b.mu.Lock()
	batch := b.pending
	if len(batch) == 0 {
		b.mu.Unlock()
		return nil
	}
	b.pending = map[string]time.Time{}
	b.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, flushTimeout)
	defer cancel()
	err := b.store.TouchAPIKeys(ctx, batch)
	if err == nil {
		return nil
	}
	b.log.LogAttrs(ctx, slog.LevelWarn, "record API key use failed", slog.Int("keys", len(batch)), slog.String("error", err.Error()))
	b.mu.Lock()
	for id, t := range batch {
		if prev, ok := b.pending[id]; !ok || t.After(prev) {
			b.pending[id] = t
		}
	}
	b.mu.Unlock()
	return err
}

// close stops the loop, refuses further records and flushes what is
// pending. Calling it again returns the first call's result.
func (b *usageBatcher) close() error {
	b.closeOnce.Do(func() {
		close(b.stop)
		<-b.stopped
		b.mu.Lock()
		b.closed = true
		b.mu.Unlock()
		b.closeErr = b.flush(context.Background())
	})
	return b.closeErr
}
