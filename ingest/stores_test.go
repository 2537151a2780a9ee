package ingest_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/ingest"
	"github.com/marketgraph/marketgraph/internal/pgtest"
	"github.com/marketgraph/marketgraph/memory"
	"github.com/marketgraph/marketgraph/postgres"
	"github.com/marketgraph/marketgraph/pubsub"
)

// The real stores and lock fit the pipeline.
var (
	_ ingest.Writer = marketgraph.Store(nil)
	_ ingest.Lock   = (*postgres.Lock)(nil)
)

func testDataset() *marketgraph.Dataset {
	return &marketgraph.Dataset{End: simEnd, Assets: testAssets}
}

// checkMinutes compares the stored minute candles of ids in [from, to)
// with those computed directly from ticks.
func checkMinutes(t *testing.T, s ingest.Writer, ids []string, from, to time.Time, ticks []ingest.Tick) {
	t.Helper()
	got, err := s.CandlesByAssets(t.Context(), ids, marketgraph.CandleRange{Interval: marketgraph.IntervalMinute, From: &from, To: &to})
	if err != nil {
		t.Fatal(err)
	}
	var all []*marketgraph.Candle
	for _, id := range ids {
		all = append(all, got[id]...)
	}
	if d := diffCandles(all, direct(ticks, marketgraph.IntervalMinute)); d != "" {
		t.Error(d)
	}
}

func TestPipeline_MemoryStore(t *testing.T) {
	store := memory.New()
	if err := store.Load(t.Context(), testDataset()); err != nil {
		t.Fatal(err)
	}
	c := &clock{t: noon}
	p := ingest.New(ingest.Config{Store: store, Quotes: newSimulator(c), Now: c.Now})
	at := every(noon.Add(5*time.Second), noon.Add(2*time.Minute), 15*time.Second)
	for _, a := range at {
		c.Set(a)
		if err := p.Tick(t.Context(), a); err != nil {
			t.Fatalf("Tick: %v", err)
		}
	}
	ids := []string{"bitcoin", "ethereum"}
	checkMinutes(t, store, ids, noon, noon.Add(time.Hour), ticksAt(t, newSimulator(c), ids, at...))
}

// Two pipelines share a PostgreSQL database and an advisory lock: one
// ingests, the other waits; when the first stops, the second takes over
// and continues the bar the first left.
func TestPipeline_PostgresFailover(t *testing.T) {
	url := pgtest.NewDatabase(t)
	open := func() *postgres.DB {
		db, err := postgres.Open(t.Context(), postgres.Config{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(db.Close)
		return db
	}
	db := open()
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := db.Load(t.Context(), testDataset()); err != nil {
		t.Fatal(err)
	}

	const lockKey = 0x696e67657374 // "ingest"
	c := &clock{t: noon.Add(5 * time.Second)}
	ids := []string{"bitcoin"}
	start := func(db *postgres.DB) (stop func()) {
		bus := pubsub.NewLocal(8)
		p := ingest.New(ingest.Config{
			Store: db, Quotes: newSimulator(c), Bus: bus,
			Lock:     db.AdvisoryLock(lockKey, 20*time.Millisecond, nil),
			Interval: 5 * time.Millisecond, Now: c.Now,
			Assets: func(context.Context) ([]string, error) { return ids, nil },
		})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			p.Run(ctx)
		}()
		return func() {
			cancel()
			<-done
			bus.Close()
		}
	}
	closeOf := func() float64 {
		cs, err := db.CandlesByAssets(t.Context(), ids, marketgraph.CandleRange{Interval: marketgraph.IntervalMinute, Last: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(cs["bitcoin"]) == 0 {
			return 0
		}
		return cs["bitcoin"][0].Close
	}
	sim := newSimulator(c)
	priceAt := func(at time.Time) float64 { return ticksAt(t, sim, ids, at)[0].Price }

	stopA := start(open())
	waitFor(t, "the first leader's candle", func() bool { return closeOf() == priceAt(noon.Add(5*time.Second)) })
	stopB := start(open())
	defer stopB()
	c.Set(noon.Add(10 * time.Second))
	waitFor(t, "the first leader's second tick", func() bool { return closeOf() == priceAt(noon.Add(10*time.Second)) })

	stopA() // its session ends, and with it the lock
	c.Set(noon.Add(30 * time.Second))
	waitFor(t, "the second leader's tick", func() bool { return closeOf() == priceAt(noon.Add(30*time.Second)) })

	ticks := ticksAt(t, sim, ids, noon.Add(5*time.Second), noon.Add(10*time.Second), noon.Add(30*time.Second))
	checkMinutes(t, db, ids, noon, noon.Add(time.Hour), ticks)
	hours, err := db.CandlesByAssets(t.Context(), ids, marketgraph.CandleRange{Interval: marketgraph.IntervalHour, From: &noon, Last: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := direct(ticks, marketgraph.IntervalHour)[0]
	if got := hours["bitcoin"]; len(got) != 1 || got[0].Open != want.Open || got[0].Close != want.Close ||
		math.Abs(got[0].Volume-want.Volume) > 1e-9*want.Volume {
		t.Errorf("hour bar %+v, want %+v", got, want)
	}
}
