package loaders_test

import (
	"context"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/marketgraph/marketgraph/loaders"
)

// Each operation gets loaders of its own; a subscription's do not cache,
// whatever the Config says, and the others' do.
func TestPerOperation(t *testing.T) {
	hook := loaders.PerOperation(loaders.Config{NoCache: true})
	for _, tc := range []struct {
		op     ast.Operation
		cached bool
	}{{ast.Query, true}, {ast.Mutation, true}, {ast.Subscription, false}} {
		ctx := graphql.WithOperationContext(context.Background(), &graphql.OperationContext{
			Operation: &ast.OperationDefinition{Operation: tc.op},
		})
		a, b := loaders.For(hook(ctx)), loaders.For(hook(ctx))
		if a == nil || a == b {
			t.Fatalf("%s: loaders %p and %p, want two fresh ones", tc.op, a, b)
		}
		if a.Cached != tc.cached {
			t.Errorf("%s: cached %v, want %v", tc.op, a.Cached, tc.cached)
		}
	}
}
