package server

import (
	"context"
	"math"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/marketgraph/marketgraph"
)

// costLimit refuses, before execution, operations whose complexity exceeds
// limit, with COST_LIMIT_EXCEEDED and the figures in the error's extensions
// ("cost", "limit"): a client can trim its operation, and a request error
// answers 400 with application/graphql-response+json. With a limit of 0 or
// less it refuses nothing, but still computes and records the cost, which
// per-caller budgets charge (see OperationCost).
//
// The complexity is gqlgen's, computed the same way as gqlgen's
// complexity.Calculate (behind extension.FixedComplexityLimit): 1 per field
// plus its children's, unless the schema's complexity function for the
// field says otherwise, __schema not counted, and an interface field costing
// its most expensive implementation. It is recorded where gqlgen's extension
// records it, so extension.GetComplexityStats works. It is not gqlgen's
// extension, though: that one walks a fragment's selections again at every
// spread, so a document of a few dozen fragments each spreading the next
// twice costs it 2^n steps, and seconds to hours of CPU, before it refuses
// anything. Here each fragment's cost is computed once.
type costLimit struct {
	es    graphql.ExecutableSchema
	limit int
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = costLimit{}

// ExtensionName names the extension for gqlgen.
func (costLimit) ExtensionName() string { return "CostLimit" }

// Validate accepts every schema.
func (costLimit) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext records the operation's cost and refuses it if it
// is over the limit.
func (l costLimit) MutateOperationContext(ctx context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	w := costWalker{ctx: ctx, es: l.es, schema: l.es.Schema(), vars: opCtx.Variables, fragments: map[string]int{}}
	cost := w.selectionSet(opCtx.Operation.SelectionSet)
	opCtx.Stats.SetExtension(extension.ComplexityLimit{}.ExtensionName(), &extension.ComplexityStats{
		Complexity:      cost,
		ComplexityLimit: max(l.limit, 0),
	})
	if l.limit <= 0 || cost <= l.limit {
		return nil
	}
	domain := marketgraph.Errorf(marketgraph.ECOSTLIMIT, "the operation costs %d; the limit is %d", cost, l.limit)
	err := gqlerror.ErrorPosf(opCtx.Operation.Position, "%s", domain.Message)
	err.Err = domain
	err.Extensions = map[string]any{"cost": cost, "limit": l.limit}
	return err
}

// OperationCost returns the estimated cost of the operation ctx belongs to,
// as costLimit computed it before the operation ran (the number a
// COST_LIMIT_EXCEEDED refusal reports), and true; false when ctx carries no
// operation, or one whose cost was not computed. It is computed for every
// operation, even with the complexity limit off, so that per-caller budgets
// can charge it: read it from an operation middleware (AroundOperations) or
// from an operation context mutator added after the limits, never before.
func OperationCost(ctx context.Context) (int, bool) {
	if !graphql.HasOperationContext(ctx) {
		return 0, false
	}
	stats := extension.GetComplexityStats(ctx)
	if stats == nil {
		return 0, false
	}
	return stats.Complexity, true
}

// costWalker computes an operation's complexity.
type costWalker struct {
	ctx       context.Context
	es        graphql.ExecutableSchema
	schema    *ast.Schema
	vars      map[string]any
	fragments map[string]int // cost of each fragment met so far
}

func (w *costWalker) selectionSet(set ast.SelectionSet) int {
	total := 0
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			total = saturatingAdd(total, w.field(s))
		case *ast.InlineFragment:
			total = saturatingAdd(total, w.selectionSet(s.SelectionSet))
		case *ast.FragmentSpread:
			cost, ok := w.fragments[s.Name]
			if !ok && s.Definition != nil {
				w.fragments[s.Name] = 0 // a cycle, which validation refused, costs nothing
				cost = w.selectionSet(s.Definition.SelectionSet)
				w.fragments[s.Name] = cost
			}
			total = saturatingAdd(total, cost)
		}
	}
	return total
}

func (w *costWalker) field(f *ast.Field) int {
	if f.Definition == nil || f.ObjectDefinition == nil {
		return 0 // not after validation
	}
	typ := w.schema.Types[f.Definition.Type.Name()]
	if typ == nil || typ.Name == "__Schema" {
		return 0
	}
	children := 0
	switch typ.Kind {
	case ast.Object, ast.Interface, ast.Union:
		children = w.selectionSet(f.SelectionSet)
	}
	args := f.ArgumentMap(w.vars)
	if f.ObjectDefinition.Kind != ast.Interface {
		return w.fieldCost(f.ObjectDefinition.Name, f.Name, children, args)
	}
	// An interface has no costs of its own: assume the worst implementation.
	worst := 0
	for _, impl := range w.schema.GetPossibleTypes(f.ObjectDefinition) {
		worst = max(worst, w.fieldCost(impl.Name, f.Name, children, args))
	}
	return worst
}

// fieldCost is the schema's complexity function's answer for the field when
// it has one of at least 1, and 1 plus the children's cost otherwise.
func (w *costWalker) fieldCost(typeName, field string, children int, args map[string]any) int {
	if cost, ok := w.es.Complexity(w.ctx, typeName, field, children, args); ok && cost >= 1 {
		return cost
	}
	return saturatingAdd(1, children)
}

// saturatingAdd adds costs, ignoring negative ones (a complexity function's
// mistake) and stopping at the largest int rather than wrapping around,
// which would let an enormous operation pass as a cheap one.
func saturatingAdd(a, b int) int {
	a, b = max(a, 0), max(b, 0)
	if a > math.MaxInt-b {
		return math.MaxInt
	}
	return a + b
}
