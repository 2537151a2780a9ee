package server

import (
	"context"
	"log/slog"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/auth"
)

// scopeGuard enforces the schema's @hasScope rules before an operation
// runs: every field the operation selects (through fragments too) whose
// definition carries @hasScope(scope: S) needs a caller whose credentials
// carry S. It runs as an operation context mutator, once per operation
// rather than once per resolved field, so it costs nothing per result, and
// an operation that asks for one forbidden field is refused whole, before
// any resolver or loader runs: no partial answer reveals what the caller
// may not see.
type scopeGuard struct {
	// anonymous are the scopes of callers without credentials.
	anonymous []auth.Scope
	log       *slog.Logger
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = scopeGuard{}

// ExtensionName names the extension for gqlgen.
func (scopeGuard) ExtensionName() string { return "ScopeGuard" }

// Validate accepts every schema.
func (scopeGuard) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext refuses the operation when the caller lacks a
// scope one of its fields needs.
func (g scopeGuard) MutateOperationContext(ctx context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	p := auth.PrincipalFrom(ctx)
	var refused *gqlerror.Error
	walkFields(opCtx.Doc, opCtx.Operation.SelectionSet, map[string]bool{}, func(f *ast.Field) bool {
		scope, ok := requiredScope(f.Definition)
		if !ok || allowed(p, g.anonymous, scope) {
			return true
		}
		refused = g.refuse(ctx, p, f, scope)
		return false
	})
	return refused
}

// refuse logs the authorisation failure and returns its error.
func (g scopeGuard) refuse(ctx context.Context, p *auth.Principal, f *ast.Field, scope auth.Scope) *gqlerror.Error {
	code := marketgraph.EFORBIDDEN
	msg := "your credentials lack the " + string(scope) + " scope that " + f.Name + " needs"
	attrs := []slog.Attr{slog.String("field", f.Name), slog.String("scope", string(scope))}
	method := auth.Method("")
	if p == nil {
		code = marketgraph.EUNAUTHENTICATED
		msg = f.Name + " needs credentials with the " + string(scope) + " scope: send an API key (X-API-Key or Authorization: Bearer) or a token"
	} else {
		method = p.Method
		attrs = append(attrs, slog.String("account", p.AccountID))
		if p.KeyPrefix != "" {
			attrs = append(attrs, slog.String("key_prefix", p.KeyPrefix))
		}
	}
	reason := "missing_scope"
	if p == nil {
		reason = "anonymous"
	}
	auth.AuditFailure(ctx, g.log, method, reason, attrs...)
	err := gqlerror.ErrorPosf(f.Position, "%s", msg)
	err.Extensions = map[string]any{"code": code}
	return err
}

// allowed reports whether the caller (nil: anonymous) holds scope.
func allowed(p *auth.Principal, anonymous []auth.Scope, scope auth.Scope) bool {
	if p == nil {
		for _, s := range anonymous {
			if s == scope || s == auth.ScopeAdmin {
				return true
			}
		}
		return false
	}
	return p.Has(scope)
}

// requiredScope returns the scope of def's @hasScope, if it has one.
func requiredScope(def *ast.FieldDefinition) (auth.Scope, bool) {
	if def == nil {
		return "", false
	}
	d := def.Directives.ForName("hasScope")
	if d == nil {
		return "", false
	}
	a := d.Arguments.ForName("scope")
	if a == nil || a.Value == nil {
		return "", false
	}
	// The enum value (READ) names the scope (read).
	return scopeOfEnum(a.Value.Raw), true
}

// scopeOfEnum maps a Scope enum value to its auth.Scope.
func scopeOfEnum(v string) auth.Scope {
	switch v {
	case "READ":
		return auth.ScopeRead
	case "SUBSCRIBE":
		return auth.ScopeSubscribe
	case "WRITE":
		return auth.ScopeWrite
	}
	// ADMIN, and any value a later schema adds before this function learns
	// it: the strictest scope.
	return auth.ScopeAdmin
}

// walkFields calls visit for every field set selects, depth first through
// fragments (each named fragment once), until visit returns false.
func walkFields(doc *ast.QueryDocument, set ast.SelectionSet, seen map[string]bool, visit func(*ast.Field) bool) bool {
	return walkSelections(doc, set, seen, true, visit)
}

// eachRootField calls visit for every field set selects at its own level,
// looking through fragments but not into the fields' selections, until
// visit returns false; it reports whether visit never did.
func eachRootField(doc *ast.QueryDocument, set ast.SelectionSet, visit func(*ast.Field) bool) bool {
	return walkSelections(doc, set, map[string]bool{}, false, visit)
}

// walkSelections is walkFields, descending into fields' selections only
// when descend is set.
func walkSelections(doc *ast.QueryDocument, set ast.SelectionSet, seen map[string]bool, descend bool, visit func(*ast.Field) bool) bool {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if !visit(s) || (descend && !walkSelections(doc, s.SelectionSet, seen, descend, visit)) {
				return false
			}
		case *ast.InlineFragment:
			if !walkSelections(doc, s.SelectionSet, seen, descend, visit) {
				return false
			}
		case *ast.FragmentSpread:
			if seen[s.Name] {
				continue
			}
			seen[s.Name] = true
			if f := doc.Fragments.ForName(s.Name); f != nil && !walkSelections(doc, f.SelectionSet, seen, descend, visit) {
				return false
			}
		}
	}
	return true
}
