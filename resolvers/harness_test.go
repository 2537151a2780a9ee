package resolvers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/demo"
	"github.com/marketgraph/marketgraph/graph"
	"github.com/marketgraph/marketgraph/loaders"
	"github.com/marketgraph/marketgraph/marketdata"
	"github.com/marketgraph/marketgraph/memory"
	"github.com/marketgraph/marketgraph/resolvers"
	"github.com/marketgraph/marketgraph/server"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// datasetEnd is the fixed instant the test dataset is generated for, and
// quoteTime the fixed clock of the simulated feed: golden files depend on
// both.
var (
	datasetEnd = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	quoteTime  = datasetEnd.Add(90 * time.Second)
)

// countingProvider counts the provider calls that reach it.
type countingProvider struct {
	marketgraph.QuoteProvider
	calls atomic.Int64
}

func (p *countingProvider) Quotes(ctx context.Context, ids []string, c marketgraph.Currency) (map[string]*marketgraph.Quote, error) {
	p.calls.Add(1)
	return p.QuoteProvider.Quotes(ctx, ids, c)
}

// newHandler wires the real handler the way cmd/marketgraph does, with the
// default batching window.
func newHandler(store marketgraph.Store, quotes marketgraph.QuoteProvider, log *slog.Logger) http.Handler {
	return newHandlerWait(store, quotes, log, loaders.DefaultWait)
}

// newHandlerWait is newHandler with a chosen batching window.
func newHandlerWait(store marketgraph.Store, quotes marketgraph.QuoteProvider, log *slog.Logger, wait time.Duration) http.Handler {
	return newHandlerConfig(store, quotes, log, wait, nil)
}

// newHandlerConfig is newHandlerWait with edit applied to the server's
// configuration.
func newHandlerConfig(store marketgraph.Store, quotes marketgraph.QuoteProvider, log *slog.Logger, wait time.Duration, edit func(*server.Config)) http.Handler {
	cfg := server.Config{
		Schema: graph.NewExecutableSchema(graph.Config{
			Resolvers: resolvers.New(resolvers.Deps{
				Store: store,
				Log:   log,
				Now:   func() time.Time { return quoteTime },
			}),
			Complexity: resolvers.Complexity(),
		}),
		Logger: log,
		OperationContext: func(ctx context.Context) context.Context {
			return loaders.With(ctx, loaders.New(loaders.Config{Store: store, Quotes: quotes, Wait: wait}))
		},
		Ready:         store.Ping,
		Introspection: true,
	}
	if edit != nil {
		edit(&cfg)
	}
	return server.New(cfg)
}

// memoryFixture is the demo dataset in the memory store with a simulated
// feed on a fixed clock.
func memoryFixture(tb testing.TB) (*memory.Store, *marketgraph.Dataset, *countingProvider) {
	tb.Helper()
	ds := demo.Generate(demo.DefaultSeed, datasetEnd)
	store := memory.New()
	if err := store.Load(context.Background(), ds); err != nil {
		tb.Fatal(err)
	}
	sim := marketdata.NewSimulator(ds, marketdata.SimulatorConfig{
		Seed: demo.DefaultSeed,
		Now:  func() time.Time { return quoteTime },
	})
	return store, ds, &countingProvider{QuoteProvider: sim}
}

// gqlResponse is a GraphQL response with its data kept raw.
type gqlResponse struct {
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Path       []any          `json:"path"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

// post sends one GraphQL request and returns the raw body.
func post(tb testing.TB, h http.Handler, query string, vars map[string]any) []byte {
	tb.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/graphql-response+json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	out, _ := io.ReadAll(rec.Result().Body)
	if rec.Code != http.StatusOK {
		tb.Fatalf("status %d: %s", rec.Code, out)
	}
	return out
}

func decode(tb testing.TB, b []byte) gqlResponse {
	tb.Helper()
	var r gqlResponse
	if err := json.Unmarshal(b, &r); err != nil {
		tb.Fatalf("decode %s: %v", b, err)
	}
	return r
}

// golden compares got, indented, with testdata/golden/<name>.json.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, got, "", "  "); err != nil {
		t.Fatalf("indent: %v", err)
	}
	buf.WriteByte('\n')
	path := filepath.Join("..", "testdata", "golden", name+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update to create): %v", err)
	}
	if !bytes.Equal(want, buf.Bytes()) {
		t.Errorf("response differs from %s (run with -update to accept):\n got: %s\nwant: %s", path, buf.Bytes(), want)
	}
}
