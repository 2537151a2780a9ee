package resolvers_test

import (
	"context"
	"math"
	"testing"

	"github.com/99designs/gqlgen/complexity"
	"github.com/vektah/gqlparser/v2"

	"github.com/marketgraph/marketgraph/graph"
	"github.com/marketgraph/marketgraph/resolvers"
)

// TestComplexity pins the cost estimates of representative queries: lists
// multiply their children by the size their arguments ask for.
func TestComplexity(t *testing.T) {
	es := graph.NewExecutableSchema(graph.Config{Complexity: resolvers.Complexity()})
	tests := []struct {
		name  string
		query string
		want  int
	}{
		// assets: 1 + 100 × edges(1 + node(1 + quote(1+1) + candles(1 + 7×1) + latestSignal(1+1)))
		{"HundredAssets", `{ assets(first: 100) { edges { node { quote { price } candles(interval: DAY, last: 7) { close } latestSignal { kind } } } } }`, 1 + 100*(1+(1+2+8+2))},
		// default page of 20, one scalar each: 1 + 20 × (edges 1 + node 1 + id 1)
		{"DefaultPage", `{ assets { edges { node { id } } } }`, 1 + 20*3},
		// signals(first: 100) of signals(first: 100): the nesting multiplies.
		{"NestedSignals", `{ asset(id: "bitcoin") { signals(first: 100) { asset { signals(first: 100) { id } } } } }`, 1 + (1 + 100*(1+(1+100*1)))},
		// candles over a MINUTE range of one hour: 60 candles.
		{"CandleRange", `{ asset(id: "bitcoin") { candles(interval: MINUTE, from: "2026-11-01T00:00:00Z", to: "2026-11-01T01:00:00Z") { close } } }`, 1 + (1 + 60)},
		// six levels of signals(first: 100) overflow an int64 without
		// saturation; the cost must stay at the maximum, not wrap.
		{"Saturates", `{ asset(id: "x") { signals(first: 100) { asset { signals(first: 100) { asset { signals(first: 100) { asset { signals(first: 100) { asset { signals(first: 100) { asset { signals(first: 100) { asset { signals(first: 100) { asset { signals(first: 100) { asset { signals(first: 100) { asset { signals(first: 100) { id } } } } } } } } } } } } } } } } } } } } }`, math.MaxInt},
		// a filter by ids caps the page: 1 + 2 × (edges 1 + node 1 + id 1)
		{"FilterIDs", `{ assets(first: 50, filter: {ids: ["bitcoin", "ethereum"]}) { edges { node { id } } } }`, 1 + 2*3},
		{"FilterIDsBeyondPage", `{ assets(first: 1, filter: {ids: ["bitcoin", "ethereum"]}) { totalCount } }`, 1 + 1*1},
		// an empty list of ids matches nothing
		{"FilterNoIDs", `{ assets(filter: {ids: []}) { totalCount } }`, 1},
		// subscriptions: one event's selection per asset
		{"PriceTicks", `subscription { priceTicks(assetIds: ["a", "b", "c"]) { sequence quote { price } } }`, 1 + 3*(1+2)},
		{"SignalsOfAssets", `subscription { signals(assetIds: ["a"]) { id asset { id } } }`, 1 + 1*(1+2)},
		{"SignalsOfTheTop", `subscription { signals { id } }`, 1 + 250*1},
		// the overview: a page of 250 plus top × children twice.
		{"Overview", `{ marketOverview(top: 3) { totalMarketCap topGainers { id } topLosers { id } } }`, 250 + 3*(1+2+2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, errs := gqlparser.LoadQuery(es.Schema(), tt.query)
			if errs != nil {
				t.Fatal(errs)
			}
			got := complexity.Calculate(context.Background(), es, doc.Operations[0], nil)
			if got != tt.want {
				t.Errorf("complexity = %d, want %d", got, tt.want)
			}
		})
	}
}
