package server

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Defaults of the limits in Config. Every operation is bounded before it runs
// (depth, complexity) and while it runs (time), so that no single request,
// however it is written, can hold the server's resources for long; per-caller
// cost budgets come on top of these.
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
)

// depthLimit refuses operations whose fields nest deeper than max, before
// execution and before the complexity is computed. The schema has cycles
// (Asset.latestSignal.asset...), so without it a short document can ask for
// an arbitrarily deep response. The refusal is a validation error (spec
// "Validation": a server MAY apply additional rules): the document is what
// is wrong, and it answers 400 with application/graphql-response+json.
type depthLimit struct {
	max int
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = depthLimit{}

// ExtensionName names the extension for gqlgen.
func (depthLimit) ExtensionName() string { return "DepthLimit" }

// Validate accepts every schema.
func (depthLimit) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext refuses the operation if it is too deep.
func (l depthLimit) MutateOperationContext(_ context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	op := opCtx.Operation
	depth := selectionDepth(opCtx.Doc, op.SelectionSet, map[string]int{})
	if depth <= l.max {
		return nil
	}
	err := gqlerror.ErrorPosf(op.Position, "the operation is %d levels deep; the limit is %d", depth, l.max)
	errcode.Set(err, errcode.ValidationFailed)
	return err
}

// selectionDepth is how many levels of fields set selects, looking through
// fragments; a root field alone is 1. Introspection fields (__schema,
// __type, __typename) do not count: introspection has its own bound
// (gqlparser's MaxIntrospectionDepth rule) and a switch, and the IDE's
// introspection query is deeper than any useful data query. Each fragment's
// depth is computed once (depths maps its name), which keeps documents that
// spread fragments many times linear, and a fragment met again while its own
// depth is being computed (a cycle, which validation has already refused)
// counts as nothing.
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
