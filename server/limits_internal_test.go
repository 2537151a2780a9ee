package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/complexity"
	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/graph"
)

// expired returns a context whose deadline has passed with cause.
func expired(t *testing.T, cause error) context.Context {
	t.Helper()
	ctx, cancel := context.WithDeadlineCause(context.Background(), time.Now().Add(-time.Second), cause)
	t.Cleanup(cancel)
	return ctx
}

func TestErrorPresenter_OperationTimeout(t *testing.T) {
	timeout := fmt.Errorf("load quotes: %w", context.DeadlineExceeded)
	for _, tc := range []struct {
		name  string
		ctx   context.Context
		err   error
		code  string
		level slog.Level // of the one record logged
	}{
		{"OperationDeadline", expired(t, &operationTimeout{limit: 15 * time.Second}), timeout, marketgraph.ECOSTLIMIT, slog.LevelWarn},
		{"CallsOwnDeadline", context.Background(), timeout, marketgraph.EINTERNAL, slog.LevelError},
		{"OtherDeadline", expired(t, errors.New("shutting down")), timeout, marketgraph.EINTERNAL, slog.LevelError},
		{"OtherErrorAfterTheDeadline", expired(t, &operationTimeout{limit: time.Second}), errors.New("boom"), marketgraph.EINTERNAL, slog.LevelError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := &records{}
			present := ErrorPresenter(slog.New(logs))
			for range 3 { // three fields failing in one operation
				got := present(tc.ctx, tc.err)
				if got.Extensions["code"] != tc.code {
					t.Fatalf("code = %v, want %s (%s)", got.Extensions["code"], tc.code, got.Message)
				}
				if tc.code == marketgraph.ECOSTLIMIT && got.Message != "the operation ran longer than its 15s limit" {
					t.Errorf("message = %q", got.Message)
				}
			}
			want := 1
			if tc.level == slog.LevelError {
				want = 3 // every internal error is logged
			}
			if len(logs.msgs) != want || logs.msgs[0].Level != tc.level {
				t.Errorf("logged %d records (first %v), want %d at %v", len(logs.msgs), logs.msgs, want, tc.level)
			}
		})
	}
}

func TestTimeLimit(t *testing.T) {
	run := func(op ast.Operation, responses ...*graphql.Response) (inner context.Context, handler graphql.ResponseHandler) {
		opCtx := &graphql.OperationContext{Operation: &ast.OperationDefinition{Operation: op}}
		ctx := graphql.WithOperationContext(context.Background(), opCtx)
		handler = timeLimit(time.Hour)(ctx, func(ctx context.Context) graphql.ResponseHandler {
			inner = ctx
			return func(context.Context) *graphql.Response {
				if len(responses) == 0 {
					return nil
				}
				r := responses[0]
				responses = responses[1:]
				return r
			}
		})
		return inner, handler
	}
	hasNext := func(b bool) *bool { return &b }

	t.Run("QueryEndsWithItsResponse", func(t *testing.T) {
		ctx, h := run(ast.Query, &graphql.Response{})
		if _, ok := ctx.Deadline(); !ok || ctx.Err() != nil {
			t.Fatalf("before execution: deadline set %v, err %v; want a live deadline", ok, ctx.Err())
		}
		h(ctx)
		if ctx.Err() == nil {
			t.Error("the deadline's resources outlive the response")
		}
	})
	t.Run("IncrementalEndsWithTheLast", func(t *testing.T) {
		ctx, h := run(ast.Query, &graphql.Response{HasNext: hasNext(true)}, &graphql.Response{HasNext: hasNext(false)})
		h(ctx)
		if ctx.Err() != nil {
			t.Fatal("cancelled before the last response")
		}
		h(ctx)
		if ctx.Err() == nil {
			t.Error("not cancelled after the last response")
		}
	})
	t.Run("SubscriptionIsNotBounded", func(t *testing.T) {
		ctx, _ := run(ast.Subscription)
		if _, ok := ctx.Deadline(); ok {
			t.Error("a subscription got a deadline")
		}
	})
}

// The cost of an operation must be gqlgen's complexity, with the schema's
// complexity functions, only computed without gqlgen's repeated walks.
func TestCostWalker_MatchesGqlgen(t *testing.T) {
	var cr graph.ComplexityRoot
	cr.Query.Assets = func(child int, first *int, _ *string, _ *marketgraph.AssetFilter, _ *marketgraph.AssetOrder) int {
		n := 20
		if first != nil {
			n = *first
		}
		return child * n
	}
	cr.Asset.Signals = func(child int, first *int) int {
		if first == nil {
			return 10 * child
		}
		return *first * child
	}
	cr.Asset.Candles = func(child int, _ marketgraph.CandleInterval, _, _ *time.Time, last *int) int {
		if last == nil {
			return 100 * child
		}
		return *last * child
	}
	es := graph.NewExecutableSchema(graph.Config{Complexity: cr})
	fanOut := func(n int) string {
		var b strings.Builder
		b.WriteString("{ ...F0 } ")
		for i := range n {
			fmt.Fprintf(&b, "fragment F%d on Query { ...F%d ...F%d } ", i, i+1, i+1)
		}
		fmt.Fprintf(&b, "fragment F%d on Query { assets(first: 3) { totalCount } }", n)
		return b.String()
	}

	for _, tc := range []struct {
		name, doc, vars string
		cost            int // 0: whatever gqlgen says
	}{
		{"Typename", `{ __typename }`, ``, 1},
		// 5 × (edges (1 + node (1 + id 1 + quote (1 + price 1))) + totalCount 1)
		{"ListMultiplier", `{ assets(first: 5) { edges { node { id quote { price } } } totalCount } }`, ``, 30},
		{"ListMultiplierFromVariable", `query ($n: Int) { assets(first: $n) { edges { node { signals(first: 2) { id } } } } }`, `{"n":7}`, 0},
		{"DefaultPageSize", `{ assets { edges { node { candles(interval: DAY) { close } } } } }`, ``, 0},
		{"Fragments", `query ($n: Int) { assets(first: $n) { ...C } x: assets { ...C } } fragment C on AssetConnection { edges { node { ...A } } } fragment A on Asset { id latestSignal { asset { name } } }`, `{"n":3}`, 0},
		{"InlineFragments", `{ asset(id: "x") { ... on Asset { id ... { name } } } }`, ``, 0},
		{"Introspection", `{ __schema { types { name } } __type(name: "Asset") { name fields { name } } }`, ``, 0},
		{"Overview", `{ marketOverview { topGainers { id } topLosers { symbol latestSignal { kind } } } }`, ``, 0},
		{"FanOut", fanOut(8), ``, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, errs := gqlparser.LoadQuery(es.Schema(), tc.doc)
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			op := doc.Operations[0]
			var raw map[string]any
			if tc.vars != "" {
				if err := json.Unmarshal([]byte(tc.vars), &raw); err != nil {
					t.Fatal(err)
				}
			}
			vars, err := validator.VariableValues(es.Schema(), op, raw)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			w := costWalker{ctx: ctx, es: es, schema: es.Schema(), vars: vars, fragments: map[string]int{}}
			got, want := w.selectionSet(op.SelectionSet), complexity.Calculate(ctx, es, op, vars)
			if got != want || got == 0 || (tc.cost != 0 && got != tc.cost) {
				t.Errorf("cost = %d, gqlgen's complexity = %d, want %d", got, want, tc.cost)
			}
		})
	}
}

// selectionDepth must end on documents that validation would refuse too:
// it runs before validation (in documentLimits), so it sees fragment cycles.
func TestSelectionDepth(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		want int
	}{
		{`{ a }`, 1},
		{`{ a { b { c } } d }`, 3},
		{`{ __typename a { __typename } }`, 1},
		{`{ __schema { types { fields { name } } } }`, 0},
		{`{ ...F } fragment F on Q { a { ... on A { b } } }`, 2},
		{`{ a { ...F } b { c { ...F } } } fragment F on X { x { y } }`, 4},
		{`{ ...A } fragment A on Q { a { ...B } } fragment B on A { b { ...A } }`, 2},
		{`{ ...Missing }`, 0},
	} {
		doc, err := parser.ParseQuery(&ast.Source{Input: tc.doc})
		if err != nil {
			t.Fatal(err)
		}
		if got := selectionDepth(doc, doc.Operations[0].SelectionSet, map[string]int{}); got != tc.want {
			t.Errorf("depth of %s = %d, want %d", tc.doc, got, tc.want)
		}
	}
}
