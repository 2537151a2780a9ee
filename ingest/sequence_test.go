package ingest_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/ingest"
	"github.com/marketgraph/marketgraph/pubsub"
)

// tickRetention keeps the newest ticks of each asset, as cmd/marketgraph
// configures the bus.
var tickRetention = pubsub.Retention{Count: 10, Prefixes: []string{marketgraph.TickTopic("")}, TTL: time.Minute}

// leader is one ingesting process: a pipeline of its own, fresh state,
// over a bus shared with the processes before it.
func leader(store *fakeStore, bus pubsub.Bus, c *clock) *ingest.Pipeline {
	return ingest.New(ingest.Config{
		Store: store, Quotes: newSimulator(c), Bus: bus, Now: c.Now,
		Assets: func(context.Context) ([]string, error) { return []string{"bitcoin"}, nil },
	})
}

// tickAt runs one tick of p at at.
func tickAt(t *testing.T, p *ingest.Pipeline, c *clock, at time.Time) error {
	t.Helper()
	c.Set(at)
	return p.Tick(t.Context(), at)
}

// sequences reads the sequences of the ticks retained on bus for bitcoin.
func sequences(t *testing.T, bus pubsub.Bus) []uint64 {
	t.Helper()
	h, err := bus.History(context.Background(), marketgraph.TickTopic("bitcoin"), 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []uint64
	for _, p := range h {
		var pt marketgraph.PriceTick
		if err := json.Unmarshal(p, &pt); err != nil {
			t.Fatalf("payload %s: %v", p, err)
		}
		out = append(out, pt.Sequence)
	}
	return out
}

func sameSeqs(a []uint64, b ...uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A new leader numbers its ticks on from the last one the bus retains, so
// that subscribers resuming with a sequence of the previous leader's are
// still understood.
func TestPipeline_SequenceContinues(t *testing.T) {
	t.Run("Takeover", func(t *testing.T) {
		bus := pubsub.NewLocalRetaining(64, tickRetention)
		defer bus.Close()
		store, c := newFakeStore(testAssets...), &clock{t: noon}
		first := leader(store, bus, c)
		for i := 1; i <= 3; i++ {
			if err := tickAt(t, first, c, noon.Add(time.Duration(i)*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		second := leader(store, bus, c)
		for i := 4; i <= 5; i++ {
			if err := tickAt(t, second, c, noon.Add(time.Duration(i)*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		if got := sequences(t, bus); !sameSeqs(got, 1, 2, 3, 4, 5) {
			t.Errorf("sequences across the takeover = %v, want 1..5", got)
		}
	})
	t.Run("TakeoverOnAnotherReplica", func(t *testing.T) {
		url := os.Getenv("TEST_REDIS_URL")
		if url == "" {
			if os.Getenv("CI") != "" {
				t.Fatal("TEST_REDIS_URL is not set (required under CI)")
			}
			t.Skip("TEST_REDIS_URL is not set; skipping the Redis takeover")
		}
		prefix := "test:ingest:" + rand.Text()[:12] + ":"
		newBus := func() *pubsub.Redis {
			b, err := pubsub.NewRedis(context.Background(), pubsub.RedisConfig{URL: url, Prefix: prefix, Retention: tickRetention})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })
			return b
		}
		store, c := newFakeStore(testAssets...), &clock{t: noon}
		a, b := newBus(), newBus()
		first := leader(store, a, c)
		for i := 1; i <= 3; i++ {
			if err := tickAt(t, first, c, noon.Add(time.Duration(i)*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		a.Close() // the first process is gone
		second := leader(store, b, c)
		if err := tickAt(t, second, c, noon.Add(4*time.Second)); err != nil {
			t.Fatal(err)
		}
		if got := sequences(t, b); !sameSeqs(got, 1, 2, 3, 4) {
			t.Errorf("sequences across the takeover = %v, want 1..4", got)
		}
	})
	t.Run("NothingRetainedStartsFromOne", func(t *testing.T) {
		bus := pubsub.NewLocalRetaining(64, tickRetention)
		defer bus.Close()
		store, c := newFakeStore(testAssets...), &clock{t: noon}
		if err := tickAt(t, leader(store, bus, c), c, noon.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if got := sequences(t, bus); !sameSeqs(got, 1) {
			t.Errorf("sequences = %v, want [1]", got)
		}
	})
	t.Run("UndecodableHistoryStartsFromOne", func(t *testing.T) {
		bus := pubsub.NewLocalRetaining(64, tickRetention)
		defer bus.Close()
		if err := bus.Publish(context.Background(), marketgraph.TickTopic("bitcoin"), []byte("not json")); err != nil {
			t.Fatal(err)
		}
		store, c := newFakeStore(testAssets...), &clock{t: noon}
		if err := tickAt(t, leader(store, bus, c), c, noon.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		h, _ := bus.History(context.Background(), marketgraph.TickTopic("bitcoin"), 1)
		var pt marketgraph.PriceTick
		if len(h) != 1 || json.Unmarshal(h[0], &pt) != nil || pt.Sequence != 1 {
			t.Errorf("newest tick %s, want sequence 1", h)
		}
	})
	t.Run("HistoryUnavailable", func(t *testing.T) {
		// Until the numbering can be read, the tick is not published: a
		// guess would mislead every subscriber that resumes.
		local := pubsub.NewLocalRetaining(64, tickRetention)
		defer local.Close()
		store, c := newFakeStore(testAssets...), &clock{t: noon}
		first := leader(store, local, c)
		for i := 1; i <= 2; i++ {
			if err := tickAt(t, first, c, noon.Add(time.Duration(i)*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		bus := &flakyHistoryBus{Local: local}
		bus.failing.Store(true)
		second := leader(store, bus, c)
		if err := tickAt(t, second, c, noon.Add(3*time.Second)); err == nil {
			t.Error("Tick succeeded without the retained sequence")
		}
		if got := sequences(t, local); !sameSeqs(got, 1, 2) {
			t.Errorf("sequences = %v, want [1 2]: nothing published meanwhile", got)
		}
		bus.failing.Store(false)
		if err := tickAt(t, second, c, noon.Add(4*time.Second)); err != nil {
			t.Fatal(err)
		}
		if got := sequences(t, local); !sameSeqs(got, 1, 2, 3) {
			t.Errorf("sequences = %v, want 1..3", got)
		}
	})
}

// flakyHistoryBus is a bus whose history can be made unreadable, like the
// Redis bus's while Redis is away.
type flakyHistoryBus struct {
	*pubsub.Local
	failing atomic.Bool
}

func (b *flakyHistoryBus) History(ctx context.Context, topic string, max int) ([][]byte, error) {
	if b.failing.Load() {
		return nil, errors.New("connection refused")
	}
	return b.Local.History(ctx, topic, max)
}
