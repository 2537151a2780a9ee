package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/marketgraph/marketgraph/server"
)

// inputCase is a request sent to a server with some limits configured. An
// empty refused means the request must get past the limits (and reach
// validation, which then may or may not accept it); otherwise it is
// refused before validation with code, and a message containing refused.
type inputCase struct {
	name    string
	edit    func(*server.Config)
	body    string
	code    string
	refused string
}

func (tc inputCase) run(t *testing.T) {
	t.Helper()
	ts, logs, cs := newCountingServer(t, tc.edit)
	res := postQuery(t, ts, gqlResponse, tc.body)
	if tc.refused == "" {
		if cs.calls.Load() == 0 {
			t.Fatalf("refused before validation: %d %s", res.status, res.body)
		}
		if errs := res.errors(t); len(errs) > 0 && res.code(t) != "GRAPHQL_VALIDATION_FAILED" && res.code(t) != "INTERNAL" {
			t.Errorf("got %s", res.body)
		}
		return
	}
	checkRequestError(t, res, http.StatusBadRequest, tc.code)
	if errs := res.errors(t); !strings.Contains(errs[0].Message, tc.refused) {
		t.Errorf("message = %q, want it to contain %q", errs[0].Message, tc.refused)
	}
	if calls := cs.calls.Load(); calls != 0 {
		t.Errorf("validation ran (the schema was asked for %d times)", calls)
	}
	if recs := logs.errorRecords(); len(recs) != 0 {
		t.Errorf("errors logged: %+v", recs)
	}
}

func q(query string) string { return body(query, "", "") }

func TestLimits_Document(t *testing.T) {
	const refused = "GRAPHQL_VALIDATION_FAILED"
	set := func(f func(*server.Config)) func(*server.Config) { return f }
	for _, tc := range []inputCase{
		{"BytesAtLimit", set(func(c *server.Config) { c.MaxDocumentBytes = 14 }), q(`{ __typename }`), "", ""},
		{"BytesOver", set(func(c *server.Config) { c.MaxDocumentBytes = 14 }), q(`{ __typename  }`), refused, "the document is 15 bytes long; the limit is 14 bytes"},
		{"TokensAtLimit", set(func(c *server.Config) { c.MaxTokens = 3 }), q(`{ __typename }`), "", ""},
		{"TokensOver", set(func(c *server.Config) { c.MaxTokens = 3 }), q(`{ a: __typename }`), refused, "the document has more than 3 tokens (names, values and punctuation); the limit is 3"},
		{"SyntaxErrorStaysParseFailed", nil, q(`{ __typename`), "GRAPHQL_PARSE_FAILED", "Expected Name, found <EOF>"},

		{"FragmentsAtLimit", set(func(c *server.Config) { c.MaxFragments = 1 }), q(`{ ...A } fragment A on Query { __typename }`), "", ""},
		{"FragmentsOver", set(func(c *server.Config) { c.MaxFragments = 1 }), q(`{ ...A } fragment A on Query { __typename } fragment B on Query { __typename }`), refused, "the document defines 2 fragments; the limit is 1"},

		{"AliasesAtLimit", set(func(c *server.Config) { c.MaxAliases = 2 }), q(`{ a: __typename b: __typename __typename: __typename }`), "", ""},
		{"AliasesOver", set(func(c *server.Config) { c.MaxAliases = 2 }), q(`{ a: __typename b: __typename c: __typename }`), refused, "the operation has 3 aliases, fragments included; the limit is 2"},
		{"AliasesNested", set(func(c *server.Config) { c.MaxAliases = 2 }), q(`query Q { asset(id: "x") { s: symbol n: name } x: __typename }`), refused, `the operation "Q" has 3 aliases`},
		// A fragment's aliases count at each spread.
		{"AliasesPerSpread", set(func(c *server.Config) { c.MaxAliases = 2 }), q(`{ ...F ...G } fragment F on Query { a: __typename } fragment G on Query { b: __typename ...F }`), refused, "has 3 aliases"},

		// Root fields are response names: fields that merge count once.
		{"RootFieldsAtLimit", set(func(c *server.Config) { c.MaxRootFields = 2 }), q(`{ a: __typename a: __typename b: __typename }`), "", ""},
		{"RootFieldsOver", set(func(c *server.Config) { c.MaxRootFields = 2 }), q(`{ a: __typename ... { b: __typename } ...F } fragment F on Query { c: __typename }`), refused, "the operation selects 3 root fields, fragments included; the limit is 2"},

		// Every operation of the document, not only the one requested: a
		// cached document has passed them all.
		{"EveryOperation", set(func(c *server.Config) { c.MaxDepth = 2 }), `{"query":"query A { __typename } query B { asset(id: \"x\") { latestSignal { id } } }","operationName":"A"}`, refused, `the operation "B" is 3 levels deep; the limit is 2`},

		{"NestingAtLimit", set(func(c *server.Config) { c.MaxNesting = 3 }), q(`{ asset(id: "x") { latestSignal { id } } }`), "", ""},
		{"NestingInlineFragment", set(func(c *server.Config) { c.MaxNesting = 3 }), q(`{ asset(id: "x") { ... { latestSignal { id } } } }`), refused, "the document nests selection sets, lists and input objects 4 levels deep; the limit is 3"},
		{"NestingValueAtLimit", set(func(c *server.Config) { c.MaxNesting = 3 }), q(`{ assets(filter: {ids: ["x"]}) { totalCount } }`), "", ""},
		{"NestingValue", set(func(c *server.Config) { c.MaxNesting = 3 }), q(`{ assets(filter: {ids: [["x"]]}) { totalCount } }`), refused, "4 levels deep; the limit is 3"},
		{"NestingDirectiveArgument", set(func(c *server.Config) { c.MaxNesting = 3 }), q(`{ __typename @include(if: [[[true]]]) }`), refused, "4 levels deep"},
		{"NestingVariableType", set(func(c *server.Config) { c.MaxNesting = 3 }), q(`query ($v: [[[[ID]]]]) { __typename }`), refused, "4 levels deep"},
		{"NestingInFragment", set(func(c *server.Config) { c.MaxNesting = 3 }), q(`{ ...F } fragment F on Query { asset(id: "x") { latestSignal { asset { id } } } }`), refused, "4 levels deep"},

		{"RepeatedAtLimit", set(func(c *server.Config) { c.MaxRepeatedFields = 2 }), q(`{ __typename __typename __typename }`), "", ""},
		{"RepeatedOver", set(func(c *server.Config) { c.MaxRepeatedFields = 2 }), q(`{ __typename __typename __typename __typename }`), refused, `the document selects 3 fields again under a response name already selected in the same selection set ("__typename", for one); the limit is 2`},
		{"RepeatedThroughFragmentsAtLimit", set(func(c *server.Config) { c.MaxRepeatedFields = 2 }), q(`{ asset(id: "x") { id ...F ...F } } fragment F on Asset { id }`), "", ""},
		{"RepeatedThroughFragments", set(func(c *server.Config) { c.MaxRepeatedFields = 2 }), q(`{ asset(id: "x") { id ...F ...G } } fragment F on Asset { id } fragment G on Asset { id ...F }`), refused, `selects 3 fields again under a response name already selected in the same selection set ("id", for one)`},
		{"RepeatedThroughInlineFragments", set(func(c *server.Config) { c.MaxRepeatedFields = 2 }), q(`{ asset(id: "x") { id ... { id } ... on Asset { id id } } }`), refused, `selects 3 fields again`},
		{"RepeatedInAnUnusedFragment", set(func(c *server.Config) { c.MaxRepeatedFields = 2 }), q(`{ __typename } fragment F on Query { __typename __typename __typename __typename }`), refused, `selects 3 fields again`},
		{"RepeatedInADuplicateFragment", set(func(c *server.Config) { c.MaxRepeatedFields = 2 }), q(`{ ...F } fragment F on Query { __typename } fragment F on Query { __typename __typename __typename __typename }`), refused, `selects 3 fields again`},

		// Off.
		{"AliasesOff", set(func(c *server.Config) { c.MaxAliases = -1 }), q(`{ asset(id: "x") {` + repeat(" a%d: id", 101) + ` } }`), "", ""},
		{"RootFieldsOff", set(func(c *server.Config) { c.MaxRootFields = -1 }), q(aliases(21)), "", ""},
		{"RepeatedOff", set(func(c *server.Config) { c.MaxRepeatedFields = -1 }), q(repeatedFields(100)), "", ""},
		{"FragmentsOff", set(func(c *server.Config) { c.MaxFragments, c.MaxRepeatedFields = -1, -1 }), q(fragments(101)), "", ""},
		{"NestingOff", set(func(c *server.Config) { c.MaxNesting = -1 }), q(nestedInline(100)), "", ""},
		{"BytesAndTokensOff", unbounded, q(`{ asset(id: "` + strings.Repeat("x", 40<<10) + `") { id } }`), "", ""},
	} {
		t.Run(tc.name, tc.run)
	}
}

// The IDE's introspection query (GraphiQL's, every option on) is well
// within the default limits.
func TestLimits_IntrospectionQueryPasses(t *testing.T) {
	ts, _ := newServer(t, func(c *server.Config) { c.Introspection = true })
	res := postQuery(t, ts, gqlResponse, q(introspectionQuery))
	if res.status != http.StatusOK || len(res.errors(t)) != 0 || !strings.Contains(res.body, `"queryType":{"name":"Query"`) {
		t.Fatalf("got %d %.300s", res.status, res.body)
	}
}

func TestLimits_Variables(t *testing.T) {
	const skipQuery = `query ($s: Boolean!) { __typename @skip(if: $s) }`
	v := func(vars string) string { return body(skipQuery, vars, "") }
	values := func(n int) func(*server.Config) { return func(c *server.Config) { c.MaxVariableValues = n } }
	nesting := func(n int) func(*server.Config) { return func(c *server.Config) { c.MaxNesting = n } }
	for _, tc := range []inputCase{
		// false, the list and its two numbers; extra variables count too.
		{"ValuesAtLimit", values(4), v(`{"s": false, "x": [1, 2]}`), "", ""},
		{"ValuesOver", values(3), v(`{"s": false, "x": [1, 2]}`), badUserInput, "the variables hold more than 3 values; the limit is 3"},
		// An object and its members' values count, not their keys.
		{"ObjectsAtLimit", values(6), v(`{"s": false, "x": {"a": "b", "c": [true, null]}}`), "", ""},
		{"ObjectsOver", values(5), v(`{"s": false, "x": {"a": "b", "c": [true, null]}}`), badUserInput, "more than 5 values"},
		{"ValuesOff", values(-1), v(`{"s": false, "x": [` + strings.Repeat(`1,`, 5000) + `1]}`), "", ""},
		{"NestingAtLimit", nesting(2), v(`{"s": false, "x": [[1], {"a": 1}]}`), "", ""},
		{"NestingOver", nesting(2), v(`{"s": false, "x": [[[1]]]}`), badUserInput, `variable "$x" nests lists and objects more than 2 levels deep; the limit is 2`},
		{"NestingOff", nesting(-1), v(`{"s": false, "x": ` + strings.Repeat("[", 500) + strings.Repeat("]", 500) + `}`), "", ""},
		{"StringsWithDelimiters", values(2), v(`{"s": false, "x": "[{\"a\": [1, 2]}], :"}`), "", ""},
	} {
		t.Run(tc.name, tc.run)
	}
	t.Run("Coerced", func(t *testing.T) {
		// Variables decoded after the check are coerced as before.
		ts, _ := newServer(t, nil)
		res := postQuery(t, ts, gqlResponse, v(`{"s": true}`))
		if res.status != http.StatusOK || string(res.fields["data"]) != `{}` {
			t.Errorf("got %d %s, want 200 with the field skipped", res.status, res.body)
		}
	})
}

// introspectionQuery is GraphiQL's, with every option on.
const introspectionQuery = `
query IntrospectionQuery {
  __schema {
    description
    queryType { name kind }
    mutationType { name kind }
    subscriptionType { name kind }
    types { ...FullType }
    directives {
      name
      description
      isRepeatable
      locations
      args(includeDeprecated: true) { ...InputValue }
    }
  }
}
fragment FullType on __Type {
  kind
  name
  description
  specifiedByURL
  isOneOf
  fields(includeDeprecated: true) {
    name
    description
    args(includeDeprecated: true) { ...InputValue }
    type { ...TypeRef }
    isDeprecated
    deprecationReason
  }
  inputFields(includeDeprecated: true) { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue {
  name
  description
  type { ...TypeRef }
  defaultValue
  isDeprecated
  deprecationReason
}
fragment TypeRef on __Type {
  kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType {
  kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } }
}`
