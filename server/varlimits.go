package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/marketgraph/marketgraph"
)

// rawVariable is a variable's value as the request carried it: parseParams
// leaves variables undecoded (see variablesParam) and variableLimits decodes
// them once it has checked their size. No JSON decoder produces this type,
// so a client cannot pass one off.
type rawVariable json.RawMessage

// variablesParam reads the optional variables parameter: an object, whose
// members stay raw JSON for variableLimits to check and decode. Decoding is
// what costs: a 1 MiB body holds half a million values, which take a third
// of a second to decode into Go values and as long again to coerce, while
// splitting the object into its members is one scan.
func variablesParam(fields map[string]json.RawMessage) (map[string]any, *requestError) {
	v, ok := given(fields, paramVariables)
	if !ok {
		return nil, nil
	}
	if k := jsonKind(v); k != "an object" {
		if !json.Valid(v) {
			return nil, badRequest("request parameter %q is not valid JSON", paramVariables)
		}
		return nil, badRequest("request parameter %q must be an object or null, not %s", paramVariables, k)
	}
	// An object that does not unmarshal into members is not valid JSON;
	// Unmarshal checks that first, so no separate json.Valid scan.
	var members map[string]json.RawMessage
	if err := json.Unmarshal(v, &members); err != nil {
		return nil, badRequest("request parameter %q is not valid JSON", paramVariables)
	}
	vars := make(map[string]any, len(members))
	for name, raw := range members {
		vars[name] = rawVariable(raw)
	}
	return vars, nil
}

// variableLimits bounds the request's variables before they are decoded,
// let alone coerced: how many values they hold together (every scalar,
// list and object counts one; object keys do not) and how deeply lists and
// objects nest in each. It runs as an operation parameter mutator, first
// thing in CreateOperationContext, so every transport gets it. A refusal is
// BAD_USER_INPUT naming the limit (400 with
// application/graphql-response+json). Limits of 0 or less are off.
type variableLimits struct {
	maxValues  int
	maxNesting int
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = variableLimits{}

// ExtensionName names the extension for gqlgen.
func (variableLimits) ExtensionName() string { return "VariableLimits" }

// Validate accepts every schema.
func (variableLimits) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationParameters checks and decodes the raw variables.
func (l variableLimits) MutateOperationParameters(_ context.Context, params *graphql.RawParams) *gqlerror.Error {
	names := make([]string, 0, len(params.Variables))
	for name, v := range params.Variables {
		if _, ok := v.(rawVariable); ok {
			names = append(names, name)
		}
	}
	sort.Strings(names) // the same request always gets the same answer
	budget := l.maxValues
	for _, name := range names {
		raw := params.Variables[name].(rawVariable)
		values, nesting := jsonShape(raw, budget, l.maxNesting)
		switch {
		case l.maxNesting > 0 && nesting > l.maxNesting:
			return badVariables("variable \"$%s\" nests lists and objects more than %d levels deep; the limit is %d", name, l.maxNesting, l.maxNesting)
		case l.maxValues > 0 && values > budget:
			return badVariables("the variables hold more than %d values; the limit is %d", l.maxValues, l.maxValues)
		}
		budget -= values
		v, err := decodeJSON(raw)
		if err != nil {
			return badVariables("variable \"$%s\" is not valid JSON: %v", name, err)
		}
		params.Variables[name] = v
	}
	return nil
}

func badVariables(format string, args ...any) *gqlerror.Error {
	msg := fmt.Sprintf(format, args...)
	err := gqlerror.Errorf("%s", msg)
	err.Err = marketgraph.Errorf(marketgraph.EBADINPUT, "%s", msg)
	return err
}

// decodeJSON decodes one JSON value; numbers stay json.Number, as gqlgen's
// variable coercion expects.
func decodeJSON(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

// jsonShape scans a valid JSON text: how many values it holds (scalars,
// lists and objects; not object keys) and how deeply lists and objects
// nest (a scalar is 0, [1] is 1). It stops as soon as values passes
// maxValues or the nesting passes maxNesting (either ignored when not
// positive), so a refusal costs no more than the limit, whatever the
// size of the text.
func jsonShape(b []byte, maxValues, maxNesting int) (values, nesting int) {
	depth := 0
	// afterDelim: the last byte outside a string was a delimiter, so a
	// number or literal starting here is a new value.
	afterDelim := true
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch c {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
			j := i + 1
			for j < len(b) && (b[j] == ' ' || b[j] == '\t' || b[j] == '\n' || b[j] == '\r') {
				j++
			}
			if j >= len(b) || b[j] != ':' {
				values++ // a string value, not an object key
			}
			afterDelim = false
		case '{', '[':
			values++
			depth++
			nesting = max(nesting, depth)
			afterDelim = true
		case '}', ']':
			depth--
			afterDelim = false
		case ':', ',', ' ', '\t', '\n', '\r':
			afterDelim = true
		default:
			if afterDelim {
				values++ // a number, true, false or null
			}
			afterDelim = false
		}
		if (maxValues > 0 && values > maxValues) || (maxNesting > 0 && nesting > maxNesting) {
			return values, nesting
		}
	}
	return values, nesting
}

// Bounds of the object parameters decoded whole (extensions): the defaults
// of the variable limits, fixed, since extensions carry a few values of
// protocol metadata (persistedQuery) rather than a client's data.
const (
	maxObjectParamValues  = DefaultMaxVariableValues
	maxObjectParamNesting = DefaultMaxNesting
)
