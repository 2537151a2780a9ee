package server

import (
	"fmt"
	"strings"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator/core"
	"github.com/vektah/gqlparser/v2/validator/rules"
)

// checkScalar checks a value given for the schema's scalar name; values of
// scalars it does not know pass. gqlparser checks neither
// variables nor literals of custom scalars (it cannot know their format),
// and gqlgen parses them only inside the resolver of the field that uses
// them: a malformed Time would then be a field error with a data entry,
// where the GraphQL specification wants a literal of the wrong type to fail
// validation ("Values of Correct Type") and a variable of the wrong type to
// fail coercion, both request errors. Checking before execution, with this
// one function, restores that.
func checkScalar(name string, v any) error {
	switch name {
	case "Time":
		return checkTime(v)
	}
	return nil
}

// checkTime accepts RFC 3339 times, as the schema documents. gqlgen's
// unmarshaller, which parses them later, is more lenient: it takes "" for
// the zero time and "2006-01-02 15:04:05", without a zone, for UTC. Neither
// is what a client means, so neither gets that far.
func checkTime(v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("want an RFC 3339 string, got %s", valueKind(v))
	}
	if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
		return fmt.Errorf("%q is not an RFC 3339 time", s)
	}
	return nil
}

// valueKind names the JSON kind of a decoded value (or of a literal's Go
// value), for messages: a client thinks in JSON, not in Go types.
func valueKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case enumLiteral:
		return "an enum value"
	default:
		return "a number"
	}
}

// enumLiteral is the value of an enum literal (a bare name such as DAY)
// given where a custom scalar is expected; gqlparser's Value makes it a
// string, which would hide the mistake.
type enumLiteral string

// validationRules are gqlparser's rules plus customScalarLiterals. They run
// once per distinct document: gqlgen caches only documents that validate.
func validationRules() *rules.Rules {
	r := rules.NewDefaultRules()
	r.AddRule("CustomScalarLiterals", customScalarLiterals)
	return r
}

// customScalarLiterals is a validation rule (spec "Validation": a server MAY
// add rules) that completes "Values of Correct Type" for custom scalars:
// every literal given for one, in an argument of a field or a directive or in
// a variable's default value, anywhere in the document, must be a value of
// the scalar. Variables inside literals are checked when the request's
// variables are (see variableCheck).
func customScalarLiterals(observers *core.Events, addError core.AddErrFunc) {
	// The walker visits a fragment's fields once per spread and once more
	// on its own: report each value once.
	seen := map[*ast.Value]bool{}
	check := func(v *ast.Value, subject string) {
		if v == nil || seen[v] {
			return
		}
		seen[v] = true
		if at, err := checkLiteral(v, ""); err != nil {
			addError(core.Message("%s%s: %s", subject, atPath(at), err), core.At(v.Position))
		}
	}
	observers.OnField(func(_ *core.Walker, f *ast.Field) {
		for _, arg := range f.Arguments {
			check(arg.Value, fmt.Sprintf("argument %q of field %q", arg.Name, f.Name))
		}
	})
	observers.OnDirective(func(_ *core.Walker, d *ast.Directive) {
		for _, arg := range d.Arguments {
			check(arg.Value, fmt.Sprintf("argument %q of directive @%s", arg.Name, d.Name))
		}
	})
	// The types of default values are set once their operation is walked.
	observers.OnOperation(func(_ *core.Walker, op *ast.OperationDefinition) {
		for _, def := range op.VariableDefinitions {
			check(def.DefaultValue, fmt.Sprintf("the default value of variable \"$%s\"", def.Variable))
		}
	})
}

// checkLiteral checks the custom scalars in a literal, whose types the
// validation walker has set, descending into lists and input objects. It
// returns where in v the first bad value is.
func checkLiteral(v *ast.Value, at string) (string, error) {
	switch v.Kind {
	case ast.Variable, ast.NullValue:
		return "", nil
	case ast.ListValue:
		for i, c := range v.Children {
			if where, err := checkLiteral(c.Value, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return where, err
			}
		}
		return "", nil
	case ast.ObjectValue:
		for _, c := range v.Children {
			if where, err := checkLiteral(c.Value, joinPath(at, c.Name)); err != nil {
				return where, err
			}
		}
		return "", nil
	}
	if v.Definition == nil || v.Definition.Kind != ast.Scalar {
		return "", nil // unknown types and the like are other rules' reports
	}
	raw, err := v.Value(nil)
	if err != nil {
		return "", nil // ValuesOfCorrectType reports malformed literals
	}
	if v.Kind == ast.EnumValue {
		raw = enumLiteral(v.Raw)
	}
	if err := checkScalar(v.Definition.Name, raw); err != nil {
		return at, err
	}
	return "", nil
}

// joinPath appends an input object field's name to a path within a value.
func joinPath(at, name string) string {
	if at == "" {
		return name
	}
	return at + "." + name
}

// atPath phrases where within a value a problem is; nothing for the value
// itself.
func atPath(at string) string {
	if at == "" {
		return ""
	}
	return fmt.Sprintf(" at %q", strings.TrimPrefix(at, "."))
}
