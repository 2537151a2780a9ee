package server

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/vektah/gqlparser/v2/ast"
)

// Defaults of the limits in Config. Every operation is bounded before it is
// validated (the document's size and shape, depth included, and the
// variables' size), before it runs (complexity) and while it runs (time), so
// that no single request, however it is written, can hold the server's
// resources for long; per-caller cost budgets come on top of these.
const (
	// DefaultComplexityLimit is the complexity an operation may have (see
	// costLimit): by default 1 per field plus its children's, and what the
	// schema's complexity functions say for fields that return lists (a
	// page of assets costing its page size times its selection). It is far
	// above what a page of the catalog costs; what it stops are documents
	// that multiply lists of lists.
	DefaultComplexityLimit = 50000
	// DefaultMaxDepth is how deeply fields may nest. The schema's deepest
	// useful path (assets → edges → node → latestSignal → asset → quote →
	// price) is 7 levels; cycles such as asset → latestSignal → asset are
	// what the limit is for.
	DefaultMaxDepth = 15
	// DefaultOperationTimeout is how long a query or mutation may run.
	DefaultOperationTimeout = 15 * time.Second

	// DefaultMaxDocumentBytes is the longest document, in bytes: a
	// hundred times the tour's largest query, and fifteen times the IDE's
	// introspection query. It is checked before the document is read, and
	// apart from the body limit, which also bounds the variables.
	DefaultMaxDocumentBytes = 32 << 10
	// DefaultMaxTokens is how many tokens (names, values, punctuation) a
	// document may have; the IDE's introspection query has about 300.
	DefaultMaxTokens = 5000
	// DefaultMaxNesting is how deeply selection sets, lists, input objects
	// and list types may nest in a document's text, and lists and objects
	// in a variable's value. The IDE's introspection query nests 12 levels.
	DefaultMaxNesting = 32
	// DefaultMaxFragments is how many fragments a document may define.
	DefaultMaxFragments = 100
	// DefaultMaxAliases is how many aliased fields an operation may
	// select, counting a fragment's once per spread.
	DefaultMaxAliases = 100
	// DefaultMaxRootFields is how many fields an operation may select at
	// its root, fragments included.
	DefaultMaxRootFields = 20
	// DefaultMaxRepeatedFields is how many times a document's fields may
	// repeat a response name already selected in the same selection set
	// (directly or through fragments). A few are normal (two fragments
	// that both select id); validation compares each such field with the
	// others of its name, so thousands take seconds.
	DefaultMaxRepeatedFields = 50
	// DefaultMaxVariableValues is how many values (scalars, lists and
	// objects) a request's variables may hold together: ten pages of asset
	// ids.
	DefaultMaxVariableValues = 1000
)

// setInputLimitDefaults replaces the zero values of the document and
// variable limits with their defaults.
func (c *Config) setInputLimitDefaults() {
	for _, l := range []struct {
		p   *int
		def int
	}{
		{&c.MaxDocumentBytes, DefaultMaxDocumentBytes},
		{&c.MaxTokens, DefaultMaxTokens},
		{&c.MaxNesting, DefaultMaxNesting},
		{&c.MaxFragments, DefaultMaxFragments},
		{&c.MaxAliases, DefaultMaxAliases},
		{&c.MaxRootFields, DefaultMaxRootFields},
		{&c.MaxRepeatedFields, DefaultMaxRepeatedFields},
		{&c.MaxVariableValues, DefaultMaxVariableValues},
	} {
		if *l.p == 0 {
			*l.p = l.def
		}
	}
}

// useInputLimits installs the checks every document and every request's
// variables go through before gqlgen parses and validates them (see
// documentLimits and variableLimits), and the parser's token limit for
// gqlgen's own parse. It returns the document limits, which the GET
// transport applies to its own early parse too. It must run after the
// persisted documents are resolved: the limits apply to the text that runs.
func useInputLimits(srv *handler.Server, cfg *Config, cache graphql.Cache[*ast.QueryDocument]) *documentLimits {
	doc := &documentLimits{
		cache:          cache,
		maxBytes:       cfg.MaxDocumentBytes,
		maxTokens:      cfg.MaxTokens,
		maxNesting:     cfg.MaxNesting,
		maxFragments:   cfg.MaxFragments,
		maxAliases:     cfg.MaxAliases,
		maxRootFields:  cfg.MaxRootFields,
		maxDepth:       cfg.MaxDepth,
		maxRepetitions: cfg.MaxRepeatedFields,
	}
	srv.Use(doc)
	srv.Use(variableLimits{maxValues: cfg.MaxVariableValues, maxNesting: cfg.MaxNesting})
	if cfg.MaxTokens > 0 {
		srv.SetParserTokenLimit(cfg.MaxTokens)
	}
	return doc
}

// selectionDepth is how many levels of fields set selects, looking through
// fragments; a root field alone is 1. Introspection fields (__schema,
// __type, __typename) do not count: introspection has its own bound
// (gqlparser's MaxIntrospectionDepth rule) and a switch, and the IDE's
// introspection query is deeper than any useful data query. Each fragment's
// depth is computed once (depths maps its name), which keeps documents that
// spread fragments many times linear, and a fragment met again while its own
// depth is being computed (a cycle, which validation refuses after this has
// run, in documentLimits) counts as nothing. The fragment a name means is the
// first of that name, as everywhere else.
func selectionDepth(doc *ast.QueryDocument, set ast.SelectionSet, depths map[string]int) int {
	deepest := 0
	for _, sel := range set {
		d := 0
		switch s := sel.(type) {
		case *ast.Field:
			if strings.HasPrefix(s.Name, "__") {
				continue
			}
			d = 1 + selectionDepth(doc, s.SelectionSet, depths)
		case *ast.InlineFragment:
			d = selectionDepth(doc, s.SelectionSet, depths)
		case *ast.FragmentSpread:
			known, ok := depths[s.Name]
			if !ok {
				depths[s.Name] = 0 // in progress
				if def := doc.Fragments.ForName(s.Name); def != nil {
					known = selectionDepth(doc, def.SelectionSet, depths)
				}
				depths[s.Name] = known
			}
			d = known
		}
		deepest = max(deepest, d)
	}
	return deepest
}

// operationTimeout is the cause of an operation's context once its time
// limit has passed. The presenter recognises it through context.Cause, which
// tells an operation that ran out of time from a call that timed out on its
// own, and uses it to log the timeout once per operation.
type operationTimeout struct {
	limit  time.Duration
	logged atomic.Bool
}

func (e *operationTimeout) Error() string {
	return fmt.Sprintf("the operation ran longer than its %s limit", e.limit)
}

// timeLimit returns an operation middleware that runs each query and
// mutation under a deadline of d. Resolvers, loaders and stores see it
// through ctx, and a call that then fails with context.DeadlineExceeded is
// presented as COST_LIMIT_EXCEEDED: the operation asked for more than the
// server will do for one request. Subscriptions are streams, not bounded
// work, and run without it.
func timeLimit(d time.Duration) graphql.OperationMiddleware {
	return func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		if op := graphql.GetOperationContext(ctx).Operation; op != nil && op.Operation == ast.Subscription {
			return next(ctx)
		}
		ctx, cancel := context.WithTimeoutCause(ctx, d, &operationTimeout{limit: d})
		responses := next(ctx)
		// Execution happens when the transport calls responses, with the
		// context given to next: the deadline must outlive this function and
		// end with the last response (the only one, unless @defer is used).
		return func(ctx context.Context) *graphql.Response {
			resp := responses(ctx)
			if resp == nil || resp.HasNext == nil || !*resp.HasNext {
				cancel()
			}
			return resp
		}
	}
}
