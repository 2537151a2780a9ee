package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/extension"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/graph"
	"github.com/marketgraph/marketgraph/server"
)

// nested returns a query n fields deep: asset, latestSignal, asset, ...,
// ending with id. The schema's Asset–Signal cycle makes any depth valid.
func nested(n int) string {
	var b strings.Builder
	b.WriteString(`{ asset(id: "x") { `)
	for i := 2; i < n; i++ {
		if i%2 == 0 {
			b.WriteString("latestSignal { ")
		} else {
			b.WriteString("asset { ")
		}
	}
	b.WriteString("id")
	b.WriteString(strings.Repeat(" }", n))
	return b.String()
}

// fanOut returns a query whose one field is reached through n fragments that
// each spread the next twice: 2^n fields once expanded, in a few dozen bytes
// per fragment.
func fanOut(n int) string {
	var b strings.Builder
	b.WriteString("{ ...F0 } ")
	for i := range n {
		fmt.Fprintf(&b, "fragment F%d on Query { ...F%d ...F%d } ", i, i+1, i+1)
	}
	fmt.Fprintf(&b, "fragment F%d on Query { __typename }", n)
	return b.String()
}

// limitCase is a document sent to a server with some limits configured;
// refused is the expected request error's message, "" if the document must
// reach execution.
type limitCase struct {
	name    string
	edit    func(*server.Config)
	query   string
	code    string
	refused string
}

// run sends the case's document with both response media types and checks
// the outcome. A refused document must not reach the resolvers (there are
// none: one that ran would panic and log it).
func (tc limitCase) run(t *testing.T) []gqlError {
	t.Helper()
	ts, logs := newServer(t, tc.edit)
	var errs []gqlError
	for _, accept := range []string{gqlResponse, jsonMedia} {
		res := postQuery(t, ts, accept, `{"query":`+jsonString(tc.query)+`}`)
		if tc.refused == "" {
			if res.status != http.StatusOK || !res.hasData() {
				t.Fatalf("%s: got %d %.300s, want 200 with data", accept, res.status, res.body)
			}
			continue
		}
		status := http.StatusOK
		if accept == gqlResponse {
			status = http.StatusBadRequest
		}
		checkRequestError(t, res, status, tc.code)
		errs = res.errors(t)
		if !strings.Contains(errs[0].Message, tc.refused) {
			t.Errorf("message = %q, want it to contain %q", errs[0].Message, tc.refused)
		}
		if recs := logs.errorRecords(); len(recs) != 0 {
			t.Errorf("a resolver ran: %+v", recs)
		}
	}
	return errs
}

func TestLimits_MaxDepth(t *testing.T) {
	depth := func(n int) func(*server.Config) { return func(c *server.Config) { c.MaxDepth = n } }
	const refused = "GRAPHQL_VALIDATION_FAILED"
	for _, tc := range []limitCase{
		{"Default1000Levels", nil, nested(1000), refused, "the operation is 1000 levels deep; the limit is 15"},
		{"DefaultAtLimit", nil, nested(15), "", ""},
		{"DefaultOverLimit", nil, nested(16), refused, "the operation is 16 levels deep; the limit is 15"},
		// The nesting limit bounds the text as well; with both off, only
		// gqlparser's own 1000 levels remain.
		{"Off", func(c *server.Config) { c.MaxDepth, c.MaxNesting = -1, -1 }, nested(1000), "", ""},
		{"OffNestingStillBounds", depth(-1), nested(1000), refused, "nests selection sets, lists and input objects 1000 levels deep; the limit is 32"},
		{"Configured", depth(3), `{ asset(id: "x") { latestSignal { asset { id } } } }`, refused, "4 levels deep; the limit is 3"},
		{"ThroughFragments", depth(3), `{ asset(id: "x") { ...F } } fragment F on Asset { latestSignal { ...G } } fragment G on Signal { asset { id } }`, refused, "4 levels deep"},
		{"ThroughInlineFragments", depth(3), `{ asset(id: "x") { ... on Asset { latestSignal { ... { asset { id } } } } } }`, refused, "4 levels deep"},
		{"FragmentsAddNoLevel", depth(3), `{ a: asset(id: "x") { ...F } b: asset(id: "y") { latestSignal { ...S } } } fragment F on Asset { latestSignal { ...S } } fragment S on Signal { id }`, "", ""},
		{"DeepestBranchCounts", depth(3), `{ a: asset(id: "x") { id } b: asset(id: "y") { latestSignal { asset { id } } } }`, refused, "4 levels deep"},
		// Introspection has its own bounds; the IDE's introspection query
		// is deeper than any limit a data query needs.
		{"IntrospectionDoesNotCount", func(c *server.Config) { c.MaxDepth = 2; c.Introspection = true },
			`{ __schema { types { fields { type { ofType { ofType { ofType { name } } } } } } } }`, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := tc.run(t)
			if len(errs) > 0 && len(errs[0].Locations) == 0 {
				t.Error("the error has no location")
			}
		})
	}
}

func TestLimits_Complexity(t *testing.T) {
	limit := func(n int) func(*server.Config) { return func(c *server.Config) { c.ComplexityLimit = n } }
	// fanOut's documents repeat __typename 2^n times: off the limit that
	// refuses them before validation, they test the cost walker.
	fanOutLimit := func(n int) func(*server.Config) {
		return func(c *server.Config) { c.ComplexityLimit, c.MaxRepeatedFields = n, -1 }
	}
	const refused = "COST_LIMIT_EXCEEDED"
	for _, tc := range []struct {
		limitCase
		cost, limit float64 // in extensions, decoded from JSON
	}{
		{limitCase{"UnderLimit", limit(3), `{ a: __typename b: __typename c: __typename }`, "", ""}, 0, 0},
		{limitCase{"OverLimit", limit(3), `{ a: __typename b: __typename c: __typename d: __typename }`, refused, "the operation costs 4; the limit is 3"}, 4, 3},
		// assets, edges, node and id: 1 each, without complexity functions.
		{limitCase{"NestedFieldsCount", limit(3), `{ assets { edges { node { id } } } }`, refused, "the operation costs 4; the limit is 3"}, 4, 3},
		{limitCase{"Default", fanOutLimit(0), fanOut(16), refused, "the operation costs 65536; the limit is 50000"}, 65536, 50000},
		// gqlgen's own calculation would walk 2^64 fragment spreads here.
		{limitCase{"FragmentFanOutSaturates", fanOutLimit(0), fanOut(64), refused, "; the limit is 50000"}, 1 << 63, 50000},
		{limitCase{"Off", fanOutLimit(-1), fanOut(64), "", ""}, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := tc.run(t)
			if tc.refused == "" {
				return
			}
			if got := errs[0].Extensions; got["cost"] != tc.cost || got["limit"] != tc.limit {
				t.Errorf("extensions = %v, want cost %v and limit %v", got, tc.cost, tc.limit)
			}
		})
	}
}

// The cost is recorded where gqlgen's complexity extension records it, for
// per-caller budgets to read.
func TestLimits_ComplexityStats(t *testing.T) {
	var recorded atomic.Pointer[extension.ComplexityStats]
	ts, _ := newServer(t, func(c *server.Config) {
		c.OperationContext = func(ctx context.Context) context.Context {
			recorded.Store(extension.GetComplexityStats(ctx))
			return ctx
		}
	})
	if res := postQuery(t, ts, gqlResponse, `{"query":"{ a: __typename b: __typename }"}`); res.status != http.StatusOK {
		t.Fatalf("got %d %s", res.status, res.body)
	}
	if stats := recorded.Load(); stats == nil || stats.Complexity != 2 || stats.ComplexityLimit != server.DefaultComplexityLimit {
		t.Errorf("stats = %+v, want complexity 2 and the default limit", recorded.Load())
	}
}

// blockingQuery's asset resolver waits for the end of its context, as a
// loader or store call would when the operation outlasts its deadline;
// marketOverview fails on a deadline of its own, as a call with its own
// timeout would.
type blockingQuery struct{ graph.QueryResolver }

func (blockingQuery) Asset(ctx context.Context, id, _ *string) (*marketgraph.Asset, error) {
	<-ctx.Done()
	return nil, fmt.Errorf("load asset %s: %w", *id, ctx.Err())
}

func (blockingQuery) MarketOverview(ctx context.Context, _ *marketgraph.Currency, _ *int) (*marketgraph.MarketOverview, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Millisecond)
	defer cancel()
	<-ctx.Done()
	return nil, fmt.Errorf("fetch quotes: %w", ctx.Err())
}

type blockingRoot struct{ graph.ResolverRoot }

func (blockingRoot) Query() graph.QueryResolver { return blockingQuery{} }

func TestLimits_OperationTimeout(t *testing.T) {
	var mu sync.Mutex
	var deadline time.Time
	var hasDeadline bool
	setup := func(timeout time.Duration) func(*server.Config) {
		return func(c *server.Config) {
			c.Schema = graph.NewExecutableSchema(graph.Config{Resolvers: blockingRoot{}})
			c.OperationTimeout = timeout
			c.OperationContext = func(ctx context.Context) context.Context {
				mu.Lock()
				defer mu.Unlock()
				deadline, hasDeadline = ctx.Deadline()
				return ctx
			}
		}
	}

	t.Run("DeadlinePassed", func(t *testing.T) {
		ts, logs := newServer(t, setup(20*time.Millisecond))
		res := postQuery(t, ts, gqlResponse, `{"query":"{ a: asset(id: \"x\") { id } b: asset(id: \"y\") { id } }"}`)
		// Execution started: 200 with what resolved (nothing, here).
		if res.status != http.StatusOK || string(res.fields["data"]) != `{"a":null,"b":null}` {
			t.Fatalf("got %d %s, want 200 with both fields null", res.status, res.body)
		}
		errs := res.errors(t)
		if len(errs) != 2 {
			t.Fatalf("errors = %+v, want one per field", errs)
		}
		for _, e := range errs {
			if e.Extensions["code"] != "COST_LIMIT_EXCEEDED" || e.Message != "the operation ran longer than its 20ms limit" {
				t.Errorf("error = %+v, want COST_LIMIT_EXCEEDED naming the limit", e)
			}
		}
		if recs := logs.find("graphql operation timed out"); len(recs) != 1 || recs[0].Level != slog.LevelWarn {
			t.Errorf("timeout records = %+v, want one at warn level", recs)
		}
		if recs := logs.errorRecords(); len(recs) != 0 {
			t.Errorf("a timeout logged as an error: %+v", recs)
		}
	})

	t.Run("OwnDeadlineIsInternal", func(t *testing.T) {
		// A call's own timeout, while the operation has time left, is a
		// failure of that call, not the client's doing.
		ts, logs := newServer(t, setup(0))
		res := postQuery(t, ts, gqlResponse, `{"query":"{ marketOverview { asOf } }"}`)
		if res.status != http.StatusOK || res.code(t) != "INTERNAL" {
			t.Fatalf("got %d %s, want 200 with an INTERNAL error", res.status, res.body)
		}
		if recs := logs.errorRecords(); len(recs) != 1 {
			t.Errorf("error records = %+v, want the failure logged once", recs)
		}
	})

	t.Run("OperationsRunWithTheDeadline", func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			timeout time.Duration
			want    time.Duration // 0: no deadline
		}{
			{"Default", 0, server.DefaultOperationTimeout},
			{"Configured", time.Minute, time.Minute},
			{"Off", -1, 0},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ts, _ := newServer(t, setup(tc.timeout))
				sent := time.Now()
				if res := postQuery(t, ts, gqlResponse, `{"query":"{ __typename }"}`); res.status != http.StatusOK {
					t.Fatalf("got %d %s", res.status, res.body)
				}
				mu.Lock()
				defer mu.Unlock()
				if tc.want == 0 {
					if hasDeadline {
						t.Errorf("the operation has a deadline, want none")
					}
					return
				}
				if !hasDeadline || deadline.Before(sent) || deadline.After(time.Now().Add(tc.want)) {
					t.Errorf("deadline %v (set %v), want within %v of the request", deadline, hasDeadline, tc.want)
				}
			})
		}
	})
}
