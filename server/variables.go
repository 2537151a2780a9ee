package server

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/marketgraph/marketgraph"
)

// variableCheck finishes the coercion of variable values that gqlparser
// leaves incomplete, before execution, so that a bad value is a request
// error (spec "Status Codes": 400 with application/graphql-response+json,
// no data) rather than a field error or, worse, a silently wrong answer:
//
//   - enum values: gqlparser compares them ignoring case, and gqlgen then
//     maps a name it does not know, such as "desc", to the empty value;
//     GraphQL enum values are case-sensitive, so "desc" is refused;
//   - custom scalars: gqlparser accepts any value (see checkScalar).
//
// It walks each variable's value along its declared type, through lists and
// input objects, field by field. Running as an operation context mutator, it
// serves every transport, and runs before the limits so that a client first
// learns that its input is wrong.
type variableCheck struct {
	schema *ast.Schema
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = variableCheck{}

// ExtensionName names the extension for gqlgen.
func (variableCheck) ExtensionName() string { return "VariableCheck" }

// Validate accepts every schema.
func (variableCheck) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext returns a BAD_USER_INPUT request error for the
// first variable whose value is not a value of its type, or nil.
func (c variableCheck) MutateOperationContext(_ context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	for _, def := range opCtx.Operation.VariableDefinitions {
		v, ok := opCtx.Variables[def.Variable]
		if !ok {
			continue
		}
		at, err := c.check(def.Type, v, "")
		if err == nil {
			continue
		}
		msg := fmt.Sprintf("variable \"$%s\" got an invalid value%s: %s", def.Variable, atPath(at), err)
		e := gqlerror.ErrorPosf(def.Position, "%s", msg)
		e.Err = marketgraph.Errorf(marketgraph.EBADINPUT, "%s", msg)
		return e
	}
	return nil
}

// check checks v against t and returns where in v the first bad value is.
// Nullability, unknown input fields and the built-in scalars were checked by
// gqlparser; defaults of input fields come from the schema and are trusted.
func (c variableCheck) check(t *ast.Type, v any, at string) (string, error) {
	if v == nil {
		return "", nil
	}
	if t.Elem != nil {
		list := reflect.ValueOf(v)
		if list.Kind() != reflect.Slice {
			return c.check(t.Elem, v, at) // a single value coerces to a list of one
		}
		for i := range list.Len() {
			if where, err := c.check(t.Elem, list.Index(i).Interface(), fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return where, err
			}
		}
		return "", nil
	}
	def := c.schema.Types[t.NamedType]
	if def == nil {
		return "", nil
	}
	switch def.Kind {
	case ast.Enum:
		if err := checkEnum(def, v); err != nil {
			return at, err
		}
	case ast.Scalar:
		if err := checkScalar(def.Name, v); err != nil {
			return at, err
		}
	case ast.InputObject:
		obj, ok := v.(map[string]any)
		if !ok {
			return "", nil // gqlparser refused anything but an object
		}
		for _, f := range def.Fields {
			if fv, ok := obj[f.Name]; ok {
				if where, err := c.check(f.Type, fv, joinPath(at, f.Name)); err != nil {
					return where, err
				}
			}
		}
	}
	return "", nil
}

// checkEnum accepts exactly the names of def's values (spec "Enums": input
// coercion accepts a string matching a value's name), case included.
func checkEnum(def *ast.Definition, v any) error {
	names := make([]string, len(def.EnumValues))
	for i, ev := range def.EnumValues {
		names[i] = ev.Name
	}
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("want the name of a value of %s (%s), got %s", def.Name, strings.Join(names, ", "), valueKind(v))
	}
	if def.EnumValues.ForName(s) == nil {
		return fmt.Errorf("%q is not a value of %s (%s)", s, def.Name, strings.Join(names, ", "))
	}
	return nil
}
