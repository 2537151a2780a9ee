package server

// Internal tests of the input checks on a schema made for them: the real
// schema has no list of enums and no Time inside an input object, which the
// checks must handle all the same.

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/marketgraph/marketgraph"
)

const inputsSDL = `
scalar Time
enum Color { RED GREEN }
input Window { from: Time!, to: Time, colors: [Color!], inner: [Window!] }
directive @at(t: Time) on FIELD
type Query { f(w: Window, ws: [Window!], ts: [Time], c: [Color!], when: Time): Int }
`

func inputsSchema(t *testing.T) *ast.Schema {
	t.Helper()
	s, err := gqlparser.LoadSchema(&ast.Source{Input: inputsSDL})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCustomScalarLiterals(t *testing.T) {
	schema := inputsSchema(t)
	for _, tc := range []struct{ name, doc, want string }{
		{"Valid", `{ f(when: "2026-01-01T00:00:00Z", ts: ["2026-01-01T00:00:00+01:00", null], w: {from: "2026-01-01T00:00:00Z", colors: [RED]}) }`, ""},
		{"Variables", `query ($t: Time!, $w: Window) { f(when: $t, w: $w, ws: [{from: $t}]) }`, ""},
		{"Argument", `{ f(when: "noon") }`, `argument "when" of field "f": "noon" is not an RFC 3339 time`},
		{"Empty", `{ f(when: "") }`, `argument "when" of field "f": "" is not an RFC 3339 time`},
		{"NoZone", `{ f(when: "2026-01-01 00:00:00") }`, `"2026-01-01 00:00:00" is not an RFC 3339 time`},
		{"ListElement", `{ f(ts: ["2026-01-01T00:00:00Z", "noon"]) }`, `argument "ts" of field "f" at "[1]": "noon" is not an RFC 3339 time`},
		{"SingleValueForList", `{ f(ts: "noon") }`, `argument "ts" of field "f": "noon"`},
		{"InputObjectField", `{ f(w: {from: "2026-01-01T00:00:00Z", to: true}) }`, `argument "w" of field "f" at "to": want an RFC 3339 string, got a boolean`},
		{"Nested", `{ f(ws: [{from: "2026-01-01T00:00:00Z"}, {from: "2026-01-01T00:00:00Z", inner: [{from: "later"}]}]) }`, `argument "ws" of field "f" at "[1].inner[0].from": "later"`},
		{"DirectiveArgument", `{ f @at(t: "later") }`, `argument "t" of directive @at: "later"`},
		{"DefaultValue", `query ($w: Window = {from: "later"}) { f(w: $w) }`, `the default value of variable "$w" at "from": "later"`},
		{"FragmentReportedOnce", `{ ...F ...F } fragment F on Query { f(when: "noon") }`, `argument "when" of field "f": "noon"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := gqlparser.LoadQueryWithRules(schema, tc.doc, validationRules())
			if tc.want == "" {
				if len(errs) > 0 {
					t.Fatalf("refused: %v", errs)
				}
				return
			}
			if len(errs) != 1 || !strings.Contains(errs[0].Message, tc.want) {
				t.Fatalf("errors = %v, want one containing %q", errs, tc.want)
			}
			if len(errs[0].Locations) == 0 {
				t.Error("the error has no location")
			}
		})
	}
}

func TestVariableCheck(t *testing.T) {
	schema := inputsSchema(t)
	const doc = `query ($w: Window, $ws: [Window!], $ts: [Time], $c: [Color!], $when: Time) { f(w: $w, ws: $ws, ts: $ts, c: $c, when: $when) }`
	query, errs := gqlparser.LoadQuery(schema, doc)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	check := variableCheck{schema: schema}
	for _, tc := range []struct{ name, vars, want string }{
		{"Valid", `{"w":{"from":"2026-01-01T00:00:00Z","colors":["RED","GREEN"]},"ts":["2026-01-01T00:00:00Z",null],"c":["GREEN"],"when":null}`, ""},
		{"Absent", `{}`, ""},
		{"EnumListElement", `{"c":["RED","green"]}`, `variable "$c" got an invalid value at "[1]": "green" is not a value of Color (RED, GREEN)`},
		// gqlparser has already made the single value a list of one.
		{"EnumSingleValueForList", `{"c":"Red"}`, `"Red" is not a value of Color`},
		{"TimeListElement", `{"ts":["2026-01-01T00:00:00Z","noon"]}`, `variable "$ts" got an invalid value at "[1]": "noon" is not an RFC 3339 time`},
		{"TimeInInputObject", `{"w":{"from":"yesterday"}}`, `variable "$w" got an invalid value at "from": "yesterday" is not an RFC 3339 time`},
		{"EnumInInputObjectList", `{"w":{"from":"2026-01-01T00:00:00Z","colors":["red"]}}`, `variable "$w" got an invalid value at "colors[0]": "red" is not a value of Color`},
		{"Deep", `{"ws":[{"from":"2026-01-01T00:00:00Z","inner":[{"from":"2026-01-01T00:00:00Z"},{"from":"2026-01-01T00:00:00Z","to":7}]}]}`, `variable "$ws" got an invalid value at "[0].inner[1].to": want an RFC 3339 string, got a number`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var raw map[string]any
			if err := json.Unmarshal([]byte(tc.vars), &raw); err != nil {
				t.Fatal(err)
			}
			op := query.Operations[0]
			vars, err := validator.VariableValues(schema, op, raw)
			if err != nil {
				t.Fatalf("gqlparser refused the variables: %v", err)
			}
			got := check.MutateOperationContext(context.Background(), &graphql.OperationContext{Doc: query, Operation: op, Variables: vars})
			if tc.want == "" {
				if got != nil {
					t.Fatalf("refused: %v", got)
				}
				return
			}
			if got == nil || !strings.Contains(got.Message, tc.want) {
				t.Fatalf("got %v, want an error containing %q", got, tc.want)
			}
			if code := marketgraph.ErrorCode(got); code != marketgraph.EBADINPUT {
				t.Errorf("code = %s, want BAD_USER_INPUT", code)
			}
			if marketgraph.ErrorMessage(got) != got.Message {
				t.Errorf("client message %q differs from %q", marketgraph.ErrorMessage(got), got.Message)
			}
		})
	}
}
