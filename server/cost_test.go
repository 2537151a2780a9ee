package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/marketgraph/marketgraph/graph"
	"github.com/marketgraph/marketgraph/resolvers"
	"github.com/marketgraph/marketgraph/server"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// costQueries are representative operations whose cost is pinned in
// testdata/golden/costs.json; the README quotes some of them.
var costQueries = []struct {
	name, query, variables string
}{
	// The README's Performance section.
	{"performance-hundred-assets", `{ assets(first: 100) { edges { node { quote { price } candles(interval: DAY, last: 7) { close } latestSignal { kind } } } } }`, ``},
	{"hundred-assets-page", `{ assets(first: 100) { edges { node { id symbol quote { price change24h } candles(interval: DAY, last: 7) { start close } latestSignal { kind strength } } } pageInfo { endCursor } } }`, ``},
	{"hundred-assets-page-variables", `query ($n: Int, $days: Int) { assets(first: $n) { edges { node { id symbol quote { price change24h } candles(interval: DAY, last: $days) { start close } latestSignal { kind strength } } } pageInfo { endCursor } } }`, `{"n": 100, "days": 7}`},
	{"default-page", `{ assets { edges { node { id symbol } } } }`, ``},
	{"filter-ids", `{ assets(first: 100, filter: {ids: ["bitcoin", "ethereum", "solana"]}) { edges { node { symbol quote { price } } } } }`, ``},
	{"nested-signals", `{ asset(id: "bitcoin") { signals(first: 100) { asset { signals(first: 100) { id } } } } }`, ``},
	{"signals-default-first", `{ asset(id: "bitcoin") { signals { kind strength asset { symbol } } } }`, ``},
	{"candles-minute-range", `{ asset(id: "bitcoin") { candles(interval: MINUTE, from: "2026-11-01T00:00:00Z", to: "2026-11-01T01:00:00Z") { close } } }`, ``},
	{"candles-default", `{ asset(id: "bitcoin") { candles(interval: HOUR) { start open high low close volume } } }`, ``},
	{"candle-series-max", `{ asset(id: "bitcoin") { candleSeries(interval: MINUTE, last: 1000) { start close volume } } }`, ``},
	{"aliases", `{ btc: asset(id: "bitcoin") { quote { price } } eth: asset(id: "ethereum") { quote { price } } sol: asset(id: "solana") { quote { price } latestSignal { kind } } }`, ``},
	{"fragments", `{ a: assets(first: 10) { ...Page } b: assets(first: 5, after: "x") { ...Page } } fragment Page on AssetConnection { edges { node { ...Row } } } fragment Row on Asset { id quote { price } }`, ``},
	{"market-overview-top-10", `{ marketOverview(top: 10) { totalMarketCap topGainers { symbol quote { change24h } } topLosers { symbol } } }`, ``},
	{"price-ticks-10-assets", `subscription { priceTicks(assetIds: ["bitcoin", "ethereum", "tether", "solana", "ripple", "cardano", "dogecoin", "tron", "chainlink", "polkadot"]) { asset { symbol } quote { price } sequence at } }`, ``},
	{"price-ticks-variables", `subscription ($ids: [ID!]!) { priceTicks(assetIds: $ids, minIntervalMs: 1000) { quote { price } sequence } }`, `{"ids": ["bitcoin", "ethereum"]}`},
	{"signals-subscription-top", `subscription { signals { id kind asset { symbol } } }`, ``},
	{"signals-subscription-assets", `subscription { signals(assetIds: ["bitcoin", "ethereum"]) { id kind asset { symbol } } }`, ``},
}

// TestCost_Golden pins the estimated cost of representative operations,
// the README's tour among them: a change to the cost model (the schema's
// complexity functions or the cost walker) shows here, and is accepted
// with -update.
func TestCost_Golden(t *testing.T) {
	// With a limit of 1 every one of them is refused, the cost in the
	// refusal's extensions, and nothing runs.
	ts, _ := newServer(t, func(c *server.Config) {
		c.Schema = graph.NewExecutableSchema(graph.Config{Complexity: resolvers.Complexity()})
		c.ComplexityLimit = 1
	})
	tour, err := filepath.Glob(filepath.Join("..", "testdata", "tour", "*.graphql"))
	if err != nil || len(tour) == 0 {
		t.Fatalf("no tour queries: %v", err)
	}
	type query struct{ name, query, variables string }
	var queries []query
	for _, f := range tour {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		queries = append(queries, query{"tour-" + strings.TrimSuffix(filepath.Base(f), ".graphql"), string(b), ""})
	}
	for _, q := range costQueries {
		queries = append(queries, query(q))
	}

	got := map[string]int{}
	for _, q := range queries {
		res := postQuery(t, ts, gqlResponse, body(q.query, q.variables, ""))
		errs := res.errors(t)
		if res.status != http.StatusBadRequest || len(errs) == 0 || errs[0].Extensions["code"] != "COST_LIMIT_EXCEEDED" {
			t.Fatalf("%s: got %d %s, want a cost refusal", q.name, res.status, res.body)
		}
		cost, ok := errs[0].Extensions["cost"].(float64)
		if !ok {
			t.Fatalf("%s: no cost in %v", q.name, errs[0].Extensions)
		}
		got[q.name] = int(cost)
	}

	path := filepath.Join("..", "testdata", "golden", "costs.json")
	if *update {
		writeCosts(t, path, got)
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden costs (run with -update to create): %v", err)
	}
	var want map[string]int
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for name, cost := range got {
		if w, ok := want[name]; !ok || w != cost {
			t.Errorf("%s costs %d, golden %d (present %v): run with -update to accept", name, cost, w, ok)
		}
	}
	for name := range want {
		if _, ok := got[name]; !ok {
			t.Errorf("%s is in %s but no longer costed: run with -update to accept", name, path)
		}
	}
}

// writeCosts writes costs as a JSON object, one operation a line, sorted.
func writeCosts(t *testing.T, path string, costs map[string]int) {
	t.Helper()
	names := make([]string, 0, len(costs))
	for n := range costs {
		names = append(names, n)
	}
	sort.Strings(names)
	var b bytes.Buffer
	b.WriteString("{\n")
	for i, n := range names {
		sep := ","
		if i == len(names)-1 {
			sep = ""
		}
		fmt.Fprintf(&b, "  %q: %d%s\n", n, costs[n], sep)
	}
	b.WriteString("}\n")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// OperationCost reads, from an operation middleware, the cost the limit
// checked; with the limit off it is still computed, for budgets.
func TestOperationCost(t *testing.T) {
	if cost, ok := server.OperationCost(context.Background()); ok || cost != 0 {
		t.Errorf("without an operation: %d, %v; want 0, false", cost, ok)
	}
	for _, tc := range []struct {
		name  string
		limit int
	}{{"Default", 0}, {"LimitOff", -1}} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var cost int
			var ok bool
			ts, _ := newServer(t, func(c *server.Config) {
				c.ComplexityLimit = tc.limit
				c.OperationContext = func(ctx context.Context) context.Context {
					mu.Lock()
					defer mu.Unlock()
					cost, ok = server.OperationCost(ctx)
					return ctx
				}
			})
			if res := postQuery(t, ts, gqlResponse, `{"query":"{ a: __typename b: __typename c: __typename }"}`); res.status != http.StatusOK {
				t.Fatalf("got %d %s", res.status, res.body)
			}
			mu.Lock()
			defer mu.Unlock()
			if !ok || cost != 3 {
				t.Errorf("OperationCost = %d, %v; want 3, true", cost, ok)
			}
		})
	}
}
