package resolvers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/demo"
	"github.com/marketgraph/marketgraph/internal/pgtest"
	"github.com/marketgraph/marketgraph/marketdata"
	"github.com/marketgraph/marketgraph/memory"
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

// postgresFixture is the demo dataset in a fresh PostgreSQL database whose
// statements are counted.
func postgresFixture(t *testing.T) (*postgres.DB, *marketgraph.Dataset, *statementCounter) {
	t.Helper()
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
	return db, ds, counter
}

// TestNoNPlusOne_Postgres runs the 100-asset query against PostgreSQL and
// counts what it costs: at most 4 SQL statements and exactly 1 provider call,
// however many assets the page holds.
func TestNoNPlusOne_Postgres(t *testing.T) {
	db, ds, counter := postgresFixture(t)
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

// symbolsWait is the batching window of the symbol tests. The twenty root
// fields run in twenty goroutines, and on a busy machine one of them can
// reach its Load several milliseconds after the others (seen with two CPUs
// and a loaded host), past the default window of one. The tests are about
// which calls the resolver makes, not about the scheduler, so they give the
// stragglers ample time; how long a batch waits is for the benchmarks.
const symbolsWait = 200 * time.Millisecond

// symbolLookups builds a document of 20 aliased asset(symbol:) fields over
// the first assets of ds, in assorted cases and with one symbol asked for
// twice, and returns it with the asset id each alias must answer.
func symbolLookups(ds *marketgraph.Dataset) (string, map[string]string) {
	var b strings.Builder
	want := map[string]string{}
	b.WriteString("{")
	for i := range 20 {
		a := ds.Assets[i%19]
		sym := a.Symbol
		switch i % 3 {
		case 1:
			sym = strings.ToLower(sym)
		case 2:
			sym = " " + strings.ToLower(sym[:1]) + sym[1:] + " "
		}
		alias := fmt.Sprintf("a%02d", i)
		fmt.Fprintf(&b, " %s: asset(symbol: %q) { id symbol }", alias, sym)
		want[alias] = a.ID
	}
	b.WriteString(" }")
	return b.String(), want
}

// checkSymbolLookups fails t unless body answers every alias of want with
// its asset and no errors.
func checkSymbolLookups(t *testing.T, body []byte, want map[string]string) {
	t.Helper()
	r := decode(t, body)
	if len(r.Errors) > 0 {
		t.Fatalf("errors: %s", body)
	}
	var data map[string]*struct{ ID, Symbol string }
	if err := json.Unmarshal(r.Data, &data); err != nil {
		t.Fatal(err)
	}
	for alias, id := range want {
		if got := data[alias]; got == nil || got.ID != id {
			t.Errorf("%s = %+v, want asset %s", alias, got, id)
		}
	}
}

// TestNoNPlusOne_SymbolsPostgres: twenty asset(symbol:) fields of one
// document cost one SQL statement, not twenty.
func TestNoNPlusOne_SymbolsPostgres(t *testing.T) {
	db, ds, counter := postgresFixture(t)
	for _, a := range ds.Assets[:19] {
		if best, err := db.FindAssetBySymbol(context.Background(), a.Symbol); err != nil || best.ID != a.ID {
			t.Fatalf("demo symbol %s is not unique to %s (%v, %v): pick other assets", a.Symbol, a.ID, best, err)
		}
	}
	q, want := symbolLookups(ds)
	h := newHandlerWait(db, marketdata.NewSimulator(ds, marketdata.SimulatorConfig{Seed: demo.DefaultSeed}), slog.New(slog.DiscardHandler), symbolsWait)
	var body []byte
	for range 3 {
		counter.n.Store(0)
		counter.sql = nil
		body = post(t, h, q, nil)
		if n := counter.n.Load(); n != 1 {
			t.Fatalf("%d SQL statements for 20 symbol lookups, want 1:\n%s", n, strings.Join(counter.sql, "\n"))
		}
	}
	checkSymbolLookups(t, body, want)

	t.Run("SameAnswersAsMemory", func(t *testing.T) {
		mem, _, memQuotes := memoryFixture(t)
		if got := post(t, newHandler(mem, memQuotes, slog.New(slog.DiscardHandler)), q, nil); string(got) != string(body) {
			t.Errorf("postgres and memory answer differently:\npostgres: %.300s\n  memory: %.300s", body, got)
		}
	})
}

// symbolCountingStore counts the symbol lookups that reach a memory store.
type symbolCountingStore struct {
	*memory.Store
	batches, singles atomic.Int64
}

func (s *symbolCountingStore) FindAssetsBySymbols(ctx context.Context, symbols []string) (map[string]*marketgraph.Asset, error) {
	s.batches.Add(1)
	return s.Store.FindAssetsBySymbols(ctx, symbols)
}

func (s *symbolCountingStore) FindAssetBySymbol(ctx context.Context, symbol string) (*marketgraph.Asset, error) {
	s.singles.Add(1)
	return s.Store.FindAssetBySymbol(ctx, symbol)
}

// TestNoNPlusOne_SymbolsMemory is the same rule on the embedded default,
// counted at the store's interface, so it runs without PostgreSQL.
func TestNoNPlusOne_SymbolsMemory(t *testing.T) {
	mem, ds, quotes := memoryFixture(t)
	store := &symbolCountingStore{Store: mem}
	h := newHandlerWait(store, quotes, slog.New(slog.DiscardHandler), symbolsWait)
	q, want := symbolLookups(ds)
	for range 3 {
		store.batches.Store(0)
		body := post(t, h, q, nil)
		checkSymbolLookups(t, body, want)
		if n := store.batches.Load(); n != 1 {
			t.Fatalf("%d FindAssetsBySymbols calls for 20 symbol lookups, want 1", n)
		}
	}
	if n := store.singles.Load(); n != 0 {
		t.Errorf("%d FindAssetBySymbol calls, want none: lookups go through the loader", n)
	}
}
