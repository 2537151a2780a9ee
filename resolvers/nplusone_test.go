package resolvers_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/marketgraph/marketgraph/demo"
	"github.com/marketgraph/marketgraph/internal/pgtest"
	"github.com/marketgraph/marketgraph/marketdata"
	"github.com/marketgraph/marketgraph/postgres"
)

// hundredAssets is the query of the "no N+1" rule and of the benchmark.
const hundredAssets = `{ assets(first: 100) { edges { node { quote { price } candles(interval: DAY, last: 7) { close } latestSignal { kind } } } } }`

// statementCounter counts the SQL statements pgx sends, batched ones included.
type statementCounter struct {
	n   atomic.Int64
	mu  sync.Mutex
	sql []string
}

func (c *statementCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	c.mu.Lock()
	c.sql = append(c.sql, strings.Join(strings.Fields(d.SQL), " "))
	c.mu.Unlock()
	return ctx
}
func (c *statementCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c *statementCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}
func (c *statementCounter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {
	c.n.Add(1)
}
func (c *statementCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// TestNoNPlusOne_Postgres runs the 100-asset query against PostgreSQL and
// counts what it costs: at most 4 SQL statements and exactly 1 provider call,
// however many assets the page holds.
func TestNoNPlusOne_Postgres(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	counter := &statementCounter{}
	db, err := postgres.Open(ctx, postgres.Config{URL: url, Tracer: counter})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	ds := demo.Generate(demo.DefaultSeed, datasetEnd)
	if err := db.Load(ctx, ds); err != nil {
		t.Fatal(err)
	}
	sim := marketdata.NewSimulator(ds, marketdata.SimulatorConfig{Seed: demo.DefaultSeed, Now: func() time.Time { return quoteTime }})
	quotes := &countingProvider{QuoteProvider: sim}
	h := newHandler(db, quotes, slog.New(slog.DiscardHandler))

	// Repeated, at the default batching window: the counts must not depend
	// on how the scheduler happens to run the list's goroutines.
	var body []byte
	for range 10 {
		counter.n.Store(0)
		counter.sql = nil
		quotes.calls.Store(0)
		body = post(t, h, hundredAssets, nil)
		if n := counter.n.Load(); n > 4 {
			t.Fatalf("%d SQL statements, want at most 4:\n%s", n, strings.Join(counter.sql, "\n"))
		}
		if n := quotes.calls.Load(); n != 1 {
			t.Fatalf("%d provider calls, want exactly 1", n)
		}
	}
	statements, calls := counter.n.Load(), quotes.calls.Load()

	r := decode(t, body)
	if len(r.Errors) > 0 {
		t.Fatalf("errors: %s", body)
	}
	var data struct {
		Assets struct {
			Edges []struct {
				Node struct {
					Quote   *struct{ Price float64 }
					Candles []struct{ Close float64 }
				}
			}
		}
	}
	if err := json.Unmarshal(r.Data, &data); err != nil {
		t.Fatal(err)
	}
	if len(data.Assets.Edges) != 100 {
		t.Fatalf("got %d assets, want 100", len(data.Assets.Edges))
	}
	for i, e := range data.Assets.Edges {
		if e.Node.Quote == nil || e.Node.Quote.Price <= 0 || len(e.Node.Candles) != 7 {
			t.Fatalf("asset %d incomplete: %+v", i, e.Node)
		}
	}
	if statements > 4 {
		t.Errorf("%d SQL statements, want at most 4:\n%s", statements, strings.Join(counter.sql, "\n"))
	}
	if calls != 1 {
		t.Errorf("%d provider calls, want exactly 1", calls)
	}
	t.Logf("100 assets: %d SQL statements, %d provider call", statements, calls)

	t.Run("SameAnswersAsMemory", func(t *testing.T) {
		mem, _, memQuotes := memoryFixture(t)
		want := post(t, newHandler(mem, memQuotes, slog.New(slog.DiscardHandler)), hundredAssets, nil)
		if string(want) != string(body) {
			t.Errorf("postgres and memory answer differently:\npostgres: %.300s\n  memory: %.300s", body, want)
		}
	})
}

// TestNoNPlusOne_Memory is the same rule on the embedded default, with
// variables, aliases and fragments, which the look-ahead must read as the
// resolvers do.
func TestNoNPlusOne_Memory(t *testing.T) {
	store, _, quotes := memoryFixture(t)
	h := newHandler(store, quotes, slog.New(slog.DiscardHandler))
	const q = `query($n: Int, $c: Currency, $last: Int) {
		assets(first: $n) { edges { node { ...F p: quote(currency: $c) { price } } } }
	}
	fragment F on Asset { quote { price } candles(interval: DAY, last: $last) { close } candleSeries(interval: DAY, last: $last) { close } signals(first: 2) { id } latestSignal { kind } }`
	for range 10 {
		quotes.calls.Store(0)
		body := post(t, h, q, map[string]any{"n": 100, "c": "EUR", "last": 7})
		if r := decode(t, body); len(r.Errors) > 0 {
			t.Fatalf("errors: %s", body)
		}
		// One call per currency: USD for quote, EUR for the alias.
		if n := quotes.calls.Load(); n != 2 {
			t.Fatalf("%d provider calls, want 2 (one per currency)", n)
		}
	}
}
