package server

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// introspectionGuard refuses operations that select __schema or __type when
// introspection is off. Without it gqlgen executes them and fails the field
// with a plain error, which the presenter would have to mask as INTERNAL and
// log; refusing them as a validation error (spec "Validation": a server MAY
// apply additional validation rules) tells the client what happened, costs
// nothing to execute, and answers 400 with application/graphql-response+json.
// __typename stays allowed.
type introspectionGuard struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = introspectionGuard{}

// ExtensionName names the extension for gqlgen.
func (introspectionGuard) ExtensionName() string { return "IntrospectionGuard" }

// Validate accepts every schema.
func (introspectionGuard) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext refuses the operation if it introspects.
func (introspectionGuard) MutateOperationContext(_ context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	f := findIntrospection(opCtx.Doc, opCtx.Operation.SelectionSet)
	if f == nil {
		return nil
	}
	err := gqlerror.ErrorPosf(f.Position, "introspection is disabled on this server: %s cannot be queried", f.Name)
	errcode.Set(err, errcode.ValidationFailed)
	return err
}

// findIntrospection returns the first __schema or __type field among the
// root selections, looking through fragments. Only the query root has those
// fields, so nested selections need no search.
func findIntrospection(doc *ast.QueryDocument, set ast.SelectionSet) *ast.Field {
	var found *ast.Field
	eachRootField(doc, set, func(f *ast.Field) bool {
		if f.Name == "__schema" || f.Name == "__type" {
			found = f
			return false
		}
		return true
	})
	return found
}

// findDefer returns the first fragment in set, or below it, that carries
// @defer. gqlgen would answer such an operation with several payloads, which
// a single JSON response cannot carry (graphql-js refuses them the same way
// outside an incremental-delivery transport).
func findDefer(doc *ast.QueryDocument, set ast.SelectionSet, seen map[string]bool) *ast.Position {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if p := findDefer(doc, s.SelectionSet, seen); p != nil {
				return p
			}
		case *ast.InlineFragment:
			if s.Directives.ForName("defer") != nil {
				return s.Position
			}
			if p := findDefer(doc, s.SelectionSet, seen); p != nil {
				return p
			}
		case *ast.FragmentSpread:
			if s.Directives.ForName("defer") != nil {
				return s.Position
			}
			if seen[s.Name] {
				continue
			}
			seen[s.Name] = true
			if def := doc.Fragments.ForName(s.Name); def != nil {
				if p := findDefer(doc, def.SelectionSet, seen); p != nil {
					return p
				}
			}
		}
	}
	return nil
}

// unsupportedOperation returns why this transport will not execute a valid
// operation, or nil.
func unsupportedOperation(opCtx *graphql.OperationContext) *gqlerror.Error {
	op := opCtx.Operation
	var err *gqlerror.Error
	switch {
	case op.Operation == ast.Subscription:
		// Spec "Overview": subscriptions are beyond the scope of GraphQL
		// over HTTP. A JSON response carries one result, not a stream, so
		// rather than answer with the first event only, refuse.
		err = gqlerror.ErrorPosf(op.Position, "subscriptions cannot be answered with a single JSON response")
	default:
		if p := findDefer(opCtx.Doc, op.SelectionSet, map[string]bool{}); p != nil {
			err = gqlerror.ErrorPosf(p, "@defer is not supported: the response would need incremental delivery, which this endpoint does not offer")
		}
	}
	if err != nil {
		errcode.Set(err, codeBadRequest)
	}
	return err
}
