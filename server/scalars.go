package server

import (
	"fmt"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/marketgraph/marketgraph"
)

// scalarCoercers check variable values of the schema's custom scalars.
// gqlparser's variable coercion only checks that a custom scalar's value is
// a string, and gqlgen parses it later, inside the resolver of the field that
// uses it: a malformed Time variable would then be a field error with a data
// entry, where spec "Status Codes" wants a variable coercion failure to be a
// request error (400 with application/graphql-response+json). Checking here,
// before execution, restores that.
var scalarCoercers = map[string]func(any) error{
	"Time": func(v any) error {
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("want an RFC 3339 string, got %T", v)
		}
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			return fmt.Errorf("%q is not an RFC 3339 time", s)
		}
		return nil
	},
}

// coerceCustomScalars returns a BAD_USER_INPUT request error for the first
// variable whose value does not coerce to its custom scalar type, or nil.
func coerceCustomScalars(opCtx *graphql.OperationContext) *gqlerror.Error {
	for _, def := range opCtx.Operation.VariableDefinitions {
		v, ok := opCtx.Variables[def.Variable]
		if !ok {
			continue
		}
		if err := coerceValue(def.Type, v); err != nil {
			e := gqlerror.ErrorPosf(def.Position, "variable \"$%s\" got an invalid value: %s", def.Variable, err)
			e.Err = marketgraph.Errorf(marketgraph.EBADINPUT, "variable \"$%s\" got an invalid value: %s", def.Variable, err)
			return e
		}
	}
	return nil
}

// coerceValue checks v against t, descending into lists. Input objects hold
// no custom scalars in this schema, so they are not searched.
func coerceValue(t *ast.Type, v any) error {
	if v == nil {
		return nil // nullability was checked by gqlparser
	}
	if t.Elem != nil {
		list, ok := v.([]any)
		if !ok {
			return coerceValue(t.Elem, v) // a single value coerces to a list of one
		}
		for i, e := range list {
			if err := coerceValue(t.Elem, e); err != nil {
				return fmt.Errorf("element %d: %w", i, err)
			}
		}
		return nil
	}
	if check, ok := scalarCoercers[t.NamedType]; ok {
		return check(v)
	}
	return nil
}
