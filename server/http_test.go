package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/marketgraph/marketgraph/server"
)

// Each test below names the section of the GraphQL over HTTP specification
// (working draft) whose rule it checks.

// checkMedia asserts the response's media type, always with the UTF-8
// charset (spec "Body": indicate the encoding; "Media Types": utf-8).
func checkMedia(t *testing.T, res result, media string) {
	t.Helper()
	if got, want := res.header.Get("Content-Type"), media+"; charset=utf-8"; got != want {
		t.Errorf("Content-Type = %q, want %q", got, want)
	}
}

// checkRequestError asserts a GraphQL-shaped error body without data.
func checkRequestError(t *testing.T, res result, status int, code string) {
	t.Helper()
	if res.status != status {
		t.Errorf("status = %d, want %d; body %s", res.status, status, res.body)
	}
	if res.hasData() {
		t.Errorf("body has a data entry, want none: %s", res.body)
	}
	errs := res.errors(t)
	if len(errs) == 0 || errs[0].Message == "" {
		t.Fatalf("want at least one error with a message, body %s", res.body)
	}
	if got := res.code(t); got != code {
		t.Errorf("extensions.code = %q, want %q (%s)", got, code, errs[0].Message)
	}
}

// Spec "POST": a server MUST support application/json in UTF-8, assumed
// when no charset is given; a POST without Content-Type SHOULD get a 4xx; we
// support no other media type (a MAY we decline), so those get 415.
func TestGraphQL_PostContentType(t *testing.T) {
	ts, _ := newServer(t, nil)
	for _, tc := range []struct {
		name, contentType string
		status            int
	}{
		{"JSON", "application/json", http.StatusOK},
		{"JSONCharsetUTF8", "application/json; charset=utf-8", http.StatusOK},
		{"JSONCharsetUpperCase", "application/json;charset=UTF-8", http.StatusOK},
		{"MediaTypeCaseInsensitive", "Application/JSON", http.StatusOK},
		{"Missing", "", http.StatusUnsupportedMediaType},
		{"TextPlain", "text/plain", http.StatusUnsupportedMediaType},
		{"ApplicationGraphQL", "application/graphql", http.StatusUnsupportedMediaType},
		{"FormURLEncoded", "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType},
		{"Multipart", "multipart/form-data; boundary=x", http.StatusUnsupportedMediaType},
		{"ResponseMediaTypeAsRequest", "application/graphql-response+json", http.StatusUnsupportedMediaType},
		{"CharsetLatin1", "application/json; charset=iso-8859-1", http.StatusUnsupportedMediaType},
		{"CharsetUTF16", "application/json; charset=utf-16", http.StatusUnsupportedMediaType},
		{"Malformed", "application/json; =", http.StatusUnsupportedMediaType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := post(t, ts, tc.contentType, "", `{"query":"{ __typename }"}`)
			if tc.status == http.StatusOK {
				if res.status != http.StatusOK || string(res.fields["data"]) != `{"__typename":"Query"}` {
					t.Errorf("got %d %s, want 200 with data", res.status, res.body)
				}
				return
			}
			checkRequestError(t, res, tc.status, "UNSUPPORTED_MEDIA_TYPE")
			checkMedia(t, res, jsonMedia)
		})
	}
}

// Spec "Body": respond in the highest priority supported media type the
// Accept header lists, or 406 when it lists none (RECOMMENDED). Spec
// "Legacy watershed": a missing Accept is treated as application/json (the
// project keeps this legacy default; see negotiate).
func TestGraphQL_AcceptNegotiation(t *testing.T) {
	ts, _ := newServer(t, nil)
	for _, tc := range []struct {
		name, accept, want string // want "" means 406
	}{
		{"Missing", "", jsonMedia},
		{"Any", "*/*", jsonMedia},
		{"AnyApplication", "application/*", jsonMedia},
		{"JSON", "application/json", jsonMedia},
		{"GraphQLResponse", "application/graphql-response+json", gqlResponse},
		{"SpecRecommended", "application/graphql-response+json; charset=utf-8, application/json; charset=utf-8", gqlResponse},
		{"FirstListedWinsATie", "application/json, application/graphql-response+json", jsonMedia},
		{"QValuesBeatOrder", "application/json;q=0.5, application/graphql-response+json", gqlResponse},
		{"QValuesBeatOrderReverse", "application/graphql-response+json;q=0.5, application/json", jsonMedia},
		{"SpecificRangeBeatsWildcardAtSameQ", "*/*, application/graphql-response+json", gqlResponse},
		{"WildcardWithExclusion", "*/*, application/json;q=0", gqlResponse},
		{"BrowserStyle", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", jsonMedia},
		{"LegacyStar", "text/html, *; q=.2", jsonMedia},
		{"CaseInsensitive", "APPLICATION/GRAPHQL-RESPONSE+JSON", gqlResponse},
		{"MalformedRangeIgnored", "application/, application/json", jsonMedia},
		{"None", "text/html", ""},
		{"OtherApplicationType", "application/xml", ""},
		{"ZeroQ", "application/json;q=0, application/graphql-response+json;q=0", ""},
		{"WildcardExcluded", "*/*;q=0", ""},
		{"OtherCharsetOnly", "application/json; charset=iso-8859-1", ""},
		{"ImageWildcard", "image/*", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, method := range []string{http.MethodPost, http.MethodGet} {
				var res result
				if method == http.MethodPost {
					res = postQuery(t, ts, tc.accept, `{"query":"{ __typename }"}`)
				} else {
					res = get(t, ts, tc.accept, "query="+url.QueryEscape("{ __typename }"))
				}
				if tc.want == "" {
					checkRequestError(t, res, http.StatusNotAcceptable, "NOT_ACCEPTABLE")
					continue
				}
				if res.status != http.StatusOK {
					t.Errorf("%s: status = %d, want 200; body %s", method, res.status, res.body)
				}
				checkMedia(t, res, tc.want)
			}
		})
	}
}

// Spec "Request Parameters", "JSON Encoding" and "Status Codes" (JSON
// parsing failure, invalid parameters): a request that is not a well-formed
// GraphQL-over-HTTP request gets 400 and a GraphQL-shaped body without data,
// whatever the response media type.
func TestGraphQL_MalformedRequest(t *testing.T) {
	ts, _ := newServer(t, nil)
	for _, tc := range []struct {
		name, body, message string
	}{
		{"Nonsense", `NONSENSE`, "not valid JSON"},
		{"TruncatedJSON", `{"query":`, "not valid JSON"},
		{"EmptyBody", ``, "empty"},
		{"TrailingData", `{"query":"{ __typename }"} {}`, "more than one value"},
		{"InvalidUTF8", "{\"query\":\"{ __typename } #\xff\"}", "UTF-8"},
		{"BodyArray", `[{"query":"{ __typename }"}]`, "must be a JSON object, not an array"},
		{"BodyString", `"{ __typename }"`, "must be a JSON object, not a string"},
		{"BodyNumber", `1`, "must be a JSON object, not a number"},
		{"BodyNull", `null`, "must be a JSON object, not null"},
		{"QueryMissing", `{"qeury":"{ __typename }"}`, `"query" is missing`},
		{"QueryNull", `{"query":null}`, `"query" must be a string, not null`},
		{"QueryObject", `{"query":{"obj":"ect"}}`, `"query" must be a string, not an object`},
		{"QueryNumber", `{"query":0}`, `"query" must be a string, not a number`},
		{"QueryBoolean", `{"query":false}`, `"query" must be a string, not a boolean`},
		{"QueryArray", `{"query":["array"]}`, `"query" must be a string, not an array`},
		{"OperationNameObject", `{"query":"{ __typename }","operationName":{"obj":"ect"}}`, `"operationName" must be a string or null`},
		{"OperationNameNumber", `{"query":"{ __typename }","operationName":0}`, `"operationName" must be a string or null`},
		{"OperationNameBoolean", `{"query":"{ __typename }","operationName":false}`, `"operationName" must be a string or null`},
		{"OperationNameArray", `{"query":"{ __typename }","operationName":["array"]}`, `"operationName" must be a string or null`},
		{"VariablesString", `{"query":"{ __typename }","variables":"string"}`, `"variables" must be an object or null, not a string`},
		{"VariablesNumber", `{"query":"{ __typename }","variables":0}`, `"variables" must be an object or null`},
		{"VariablesBoolean", `{"query":"{ __typename }","variables":false}`, `"variables" must be an object or null`},
		{"VariablesArray", `{"query":"query Q ($i:Int!) { q(i: $i) }","variables":[7]}`, `"variables" must be an object or null, not an array`},
		{"ExtensionsString", `{"query":"{ __typename }","extensions":"string"}`, `"extensions" must be an object or null`},
		{"ExtensionsNumber", `{"query":"{ __typename }","extensions":0}`, `"extensions" must be an object or null`},
		{"ExtensionsBoolean", `{"query":"{ __typename }","extensions":false}`, `"extensions" must be an object or null`},
		{"ExtensionsArray", `{"query":"{ __typename }","extensions":["array"]}`, `"extensions" must be an object or null`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, accept := range []string{gqlResponse, jsonMedia, ""} {
				res := postQuery(t, ts, accept, tc.body)
				checkRequestError(t, res, http.StatusBadRequest, "BAD_REQUEST")
				if msg := res.errors(t)[0].Message; !strings.Contains(msg, tc.message) {
					t.Errorf("message = %q, want it to contain %q", msg, tc.message)
				}
				want := jsonMedia
				if accept == gqlResponse {
					want = gqlResponse
				}
				checkMedia(t, res, want)
			}
		})
	}
}

// Spec "Request Parameters": null for an optional parameter is the same as
// leaving it out; "JSON Encoding": other members are reserved, so ignored.
// Well-formed requests execute and answer 200 in both media types.
func TestGraphQL_WellFormedRequest(t *testing.T) {
	ts, _ := newServer(t, nil)
	for _, tc := range []struct {
		name, body, data string
	}{
		{"QueryOnly", `{"query":"{ __typename }"}`, `{"__typename":"Query"}`},
		{"NullOptionals", `{"query":"{ __typename }","variables":null,"operationName":null,"extensions":null}`, `{"__typename":"Query"}`},
		{"EmptyVariables", `{"query":"{ __typename }","variables":{}}`, `{"__typename":"Query"}`},
		{"ExtensionsMap", `{"query":"{ __typename }","extensions":{"some":"value"}}`, `{"__typename":"Query"}`},
		{"UnknownMembersIgnored", `{"query":"{ __typename }","qeury":"x","id":"42","doc_id":7}`, `{"__typename":"Query"}`},
		{"VariablesMap", `{"query":"query ($skip: Boolean!) { __typename @skip(if: $skip) }","variables":{"skip":true}}`, `{}`},
		{"OperationNameSelects", `{"query":"query A { a: __typename } query B { b: __typename }","operationName":"B"}`, `{"b":"Query"}`},
		{"UTF8Comment", `{"query":"{ __typename } # ünïcödé ✓"}`, `{"__typename":"Query"}`},
		{"CompactJSONWhitespace", " \n{ \"query\" : \"{ __typename }\" }\n ", `{"__typename":"Query"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, accept := range []string{gqlResponse, jsonMedia} {
				res := postQuery(t, ts, accept, tc.body)
				if res.status != http.StatusOK {
					t.Fatalf("status = %d, want 200; body %s", res.status, res.body)
				}
				if _, ok := res.fields["errors"]; ok {
					t.Errorf("unexpected errors: %s", res.body)
				}
				if got := string(res.fields["data"]); got != tc.data {
					t.Errorf("data = %s, want %s", got, tc.data)
				}
			}
		})
	}
}

// requestErrorCases are well-formed requests that fail before execution:
// the document does not parse or validate, no operation can be selected,
// or the variables do not coerce.
var requestErrorCases = []struct {
	name          string
	query         string
	operationName string
	variables     string // JSON, or ""
	code          string
	message       string
}{
	{"ParseFailure", `{`, "", "", "GRAPHQL_PARSE_FAILED", "Expected Name"},
	{"EmptyDocument", ``, "", "", "GRAPHQL_VALIDATION_FAILED", "no operation"},
	{"FragmentsOnly", `fragment F on Query { __typename }`, "", "", "GRAPHQL_VALIDATION_FAILED", "no operation"},
	{"ValidationFailure", `{ nope }`, "", "", "GRAPHQL_VALIDATION_FAILED", `Cannot query field "nope"`},
	{"WrongArgumentType", `{ assets(first: "ten") { totalCount } }`, "", "", "GRAPHQL_VALIDATION_FAILED", ""},
	{"OperationAmbiguous", `query A { __typename } query B { __typename }`, "", "", "GRAPHQL_VALIDATION_FAILED", "set operationName"},
	{"OperationUnknown", `query A { __typename }`, "C", "", "GRAPHQL_VALIDATION_FAILED", `no operation named "C"`},
	{"VariableWrongType", `query ($n: Int) { assets(first: $n) { totalCount } }`, "", `{"n":"x"}`, "BAD_USER_INPUT", `variable "$n"`},
	{"VariableMissing", `query ($n: Int!) { assets(first: $n) { totalCount } }`, "", ``, "BAD_USER_INPUT", `variable "$n"`},
	{"VariableNull", `query ($n: Int!) { assets(first: $n) { totalCount } }`, "", `{"n":null}`, "BAD_USER_INPUT", `variable "$n"`},
	{"VariableBadEnum", `query ($c: Currency) { marketOverview(currency: $c) { __typename } }`, "", `{"c":"DOGE"}`, "BAD_USER_INPUT", `variable "$c"`},
	{"VariableBadTime", `query ($t: Time) { asset(id: "x") { candles(interval: DAY, from: $t) { close } } }`, "", `{"t":"2026-13-01"}`, "BAD_USER_INPUT", `variable "$t"`},
	{"VariableTimeNotString", `query ($t: Time) { asset(id: "x") { candles(interval: DAY, from: $t) { close } } }`, "", `{"t":12}`, "BAD_USER_INPUT", `variable "$t"`},
	// GraphQL enum values are case-sensitive; gqlparser's coercion is not.
	{"VariableEnumWrongCase", `query ($c: Currency) { marketOverview(currency: $c) { __typename } }`, "", `{"c":"usd"}`, "BAD_USER_INPUT", `variable "$c" got an invalid value: "usd" is not a value of Currency (USD, EUR, BTC, ETH)`},
	{"VariableEnumNotAString", `query ($c: Currency) { marketOverview(currency: $c) { __typename } }`, "", `{"c":["USD"]}`, "BAD_USER_INPUT", `variable "$c"`},
	{"VariableEnumInInputObject", `query ($o: AssetOrder) { assets(orderBy: $o) { totalCount } }`, "", `{"o":{"field":"name","direction":"DESC"}}`, "BAD_USER_INPUT", `variable "$o" got an invalid value at "field": "name" is not a value of AssetOrderField (RANK, NAME, MARKET_CAP, CHANGE_24H)`},
	{"VariableEnumInInputObjectWrongCase", `query ($o: AssetOrder) { assets(orderBy: $o) { totalCount } }`, "", `{"o":{"field":"NAME","direction":"desc"}}`, "BAD_USER_INPUT", `variable "$o" got an invalid value at "direction": "desc" is not a value of OrderDirection (ASC, DESC)`},
	{"VariableTimeWithoutZone", `query ($t: Time) { asset(id: "x") { candles(interval: DAY, to: $t) { close } } }`, "", `{"t":"2026-01-01T00:00:00"}`, "BAD_USER_INPUT", `variable "$t" got an invalid value: "2026-01-01T00:00:00" is not an RFC 3339 time`},
	// Spec "Values of Correct Type": a literal that is not a value of its
	// custom scalar fails validation, in the selected operation or not.
	{"LiteralBadTime", `{ asset(id: "bitcoin") { candles(interval: DAY, from: "2026-13-01") { close } } }`, "", "", "GRAPHQL_VALIDATION_FAILED", `argument "from" of field "candles": "2026-13-01" is not an RFC 3339 time`},
	{"LiteralTimeNumber", `{ asset(id: "bitcoin") { candles(interval: DAY, to: 1767225600) { close } } }`, "", "", "GRAPHQL_VALIDATION_FAILED", `argument "to" of field "candles": want an RFC 3339 string, got a number`},
	{"LiteralTimeEnum", `{ asset(id: "bitcoin") { candles(interval: DAY, to: DAY) { close } } }`, "", "", "GRAPHQL_VALIDATION_FAILED", `argument "to" of field "candles": want an RFC 3339 string, got an enum value`},
	{"LiteralBadTimeInFragment", `{ asset(id: "x") { ...F } } fragment F on Asset { candleSeries(interval: HOUR, to: "yesterday") { close } }`, "", "", "GRAPHQL_VALIDATION_FAILED", `argument "to" of field "candleSeries": "yesterday" is not an RFC 3339 time`},
	{"LiteralBadTimeInInlineFragment", `{ asset(id: "x") { ... on Asset { candles(interval: HOUR, from: "2026-02-30T00:00:00Z") { close } } } }`, "", "", "GRAPHQL_VALIDATION_FAILED", `argument "from" of field "candles"`},
	{"LiteralBadTimeInOtherOperation", `query A { __typename } query B { asset(id: "x") { candles(interval: DAY, from: "x") { close } } }`, "A", "", "GRAPHQL_VALIDATION_FAILED", `argument "from" of field "candles": "x" is not an RFC 3339 time`},
	{"DefaultValueBadTime", `query ($t: Time = "2026-02-30T00:00:00Z") { asset(id: "x") { candles(interval: DAY, from: $t) { close } } }`, "", "", "GRAPHQL_VALIDATION_FAILED", `the default value of variable "$t": "2026-02-30T00:00:00Z" is not an RFC 3339 time`},
	{"IntrospectionDisabled", `{ __schema { queryType { name } } }`, "", "", "GRAPHQL_VALIDATION_FAILED", "introspection is disabled"},
	{"Defer", `{ a: __typename ... @defer { b: __typename } }`, "", "", "BAD_REQUEST", "@defer"},
}

// Spec "Status Codes": with application/graphql-response+json a request
// that fails to parse or validate, whose operation cannot be determined, or
// whose variables do not coerce gets 400 and no data entry; with
// application/json it gets 200, the errors in the body, and no data either.
func TestGraphQL_RequestErrorStatus(t *testing.T) {
	ts, _ := newServer(t, nil)
	for _, tc := range requestErrorCases {
		t.Run(tc.name, func(t *testing.T) {
			for _, accept := range []string{gqlResponse, jsonMedia, ""} {
				status, media := http.StatusOK, jsonMedia
				if accept == gqlResponse {
					status, media = http.StatusBadRequest, gqlResponse
				}
				for _, method := range []string{http.MethodPost, http.MethodGet} {
					var res result
					if method == http.MethodPost {
						body := `{"query":` + jsonString(tc.query)
						if tc.operationName != "" {
							body += `,"operationName":` + jsonString(tc.operationName)
						}
						if tc.variables != "" {
							body += `,"variables":` + tc.variables
						}
						res = postQuery(t, ts, accept, body+"}")
					} else {
						q := url.Values{"query": {tc.query}}
						if tc.operationName != "" {
							q.Set("operationName", tc.operationName)
						}
						if tc.variables != "" {
							q.Set("variables", tc.variables)
						}
						res = get(t, ts, accept, q.Encode())
					}
					checkRequestError(t, res, status, tc.code)
					checkMedia(t, res, media)
					if msg := res.errors(t)[0].Message; !strings.Contains(msg, tc.message) {
						t.Errorf("%s: message = %q, want it to contain %q", method, msg, tc.message)
					}
				}
			}
		})
	}
}

// Input the checks before execution must let through: the operations
// execute (with no resolvers, the first field fails, so data is null or
// holds nulls, but it is there) and answer 200.
func TestGraphQL_ValidInputIsExecuted(t *testing.T) {
	ts, _ := newServer(t, nil)
	candles := `query ($t: Time) { asset(id: "x") { candles(interval: DAY, from: $t) { close } } }`
	order := `query ($o: AssetOrder) { assets(orderBy: $o) { totalCount } }`
	for _, tc := range []struct{ name, query, variables string }{
		{"EnumVariable", `query ($c: Currency) { marketOverview(currency: $c) { __typename } }`, `{"c":"EUR"}`},
		{"EnumVariableNull", `query ($c: Currency) { marketOverview(currency: $c) { __typename } }`, `{"c":null}`},
		{"EnumVariableDefault", `query ($c: Currency = BTC) { marketOverview(currency: $c) { __typename } }`, ``},
		{"InputObject", order, `{"o":{"field":"MARKET_CAP","direction":"DESC"}}`},
		{"InputObjectFieldDefaulted", order, `{"o":{"field":"CHANGE_24H"}}`},
		{"InputObjectFieldNull", order, `{"o":{"field":"RANK","direction":null}}`},
		{"InputObjectLiteralWithVariable", `query ($d: OrderDirection) { assets(orderBy: {field: NAME, direction: $d}) { totalCount } }`, `{"d":"ASC"}`},
		{"TimeVariable", candles, `{"t":"2026-01-02T03:04:05Z"}`},
		{"TimeVariableOffsetAndFraction", candles, `{"t":"2026-01-02T03:04:05.123456+02:00"}`},
		{"TimeVariableNull", candles, `{"t":null}`},
		{"TimeLiteral", `{ asset(id: "x") { candles(interval: DAY, from: "2026-01-02T03:04:05Z", to: null) { close } } }`, ``},
		{"TimeDefault", `query ($t: Time = "2026-01-02T00:00:00Z") { asset(id: "x") { candles(interval: DAY, from: $t) { close } } }`, ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"query":` + jsonString(tc.query)
			if tc.variables != "" {
				body += `,"variables":` + tc.variables
			}
			res := postQuery(t, ts, gqlResponse, body+"}")
			if res.status != http.StatusOK || !res.hasData() {
				t.Fatalf("got %d %s, want 200 with data", res.status, res.body)
			}
			if code := res.code(t); code != "INTERNAL" {
				t.Errorf("code = %q, want INTERNAL from the missing resolver: %s", code, res.body)
			}
		})
	}
}

// Spec "GET": parameters in the query component, variables and extensions
// as JSON, an empty operationName meaning none, "null" naming an operation
// called null.
func TestGraphQL_Get(t *testing.T) {
	ts, _ := newServer(t, nil)
	ok := func(rawQuery, data string) func(t *testing.T) {
		return func(t *testing.T) {
			res := get(t, ts, gqlResponse, rawQuery)
			if res.status != http.StatusOK || string(res.fields["data"]) != data {
				t.Errorf("got %d %s, want 200 with data %s", res.status, res.body, data)
			}
		}
	}
	bad := func(rawQuery, message string) func(t *testing.T) {
		return func(t *testing.T) {
			for _, accept := range []string{gqlResponse, jsonMedia} {
				res := get(t, ts, accept, rawQuery)
				checkRequestError(t, res, http.StatusBadRequest, "BAD_REQUEST")
				if msg := res.errors(t)[0].Message; !strings.Contains(msg, message) {
					t.Errorf("message = %q, want it to contain %q", msg, message)
				}
			}
		}
	}
	q := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	skipQuery := `query ($skip: Boolean!) { __typename @skip(if: $skip) }`

	t.Run("Query", ok(q("query", "{ __typename }"), `{"__typename":"Query"}`))
	// Encoded by hand, the way the spec's example is.
	t.Run("PercentEncoded", ok("query=query(%24s%3A%20Boolean!)%7B__typename%20%40skip(if%3A%24s)%7D&variables=%7B%22s%22%3Afalse%7D", `{"__typename":"Query"}`))
	t.Run("Variables", ok(q("query", skipQuery, "variables", `{"skip":true}`), `{}`))
	t.Run("NullVariables", ok(q("query", "{ __typename }", "variables", "null"), `{"__typename":"Query"}`))
	t.Run("Extensions", ok(q("query", "{ __typename }", "extensions", `{"persistedQuery":null}`), `{"__typename":"Query"}`))
	t.Run("EmptyOperationNameIsNone", ok(q("query", "{ __typename }", "operationName", ""), `{"__typename":"Query"}`))
	t.Run("OperationNameNullIsAName", ok(q("query", "query null { n: __typename } query other { o: __typename }", "operationName", "null"), `{"n":"Query"}`))
	t.Run("UnknownParametersIgnored", ok(q("query", "{ __typename }", "id", "7", "foo", "bar"), `{"__typename":"Query"}`))

	t.Run("QueryMissing", bad(q("variables", "{}"), `"query" is missing`))
	t.Run("QueryTwice", bad(q("query", "{ __typename }", "query", "{ __typename }"), "given 2 times"))
	t.Run("OperationNameTwice", bad(q("query", "{ __typename }", "operationName", "a", "operationName", "b"), "given 2 times"))
	t.Run("VariablesNotJSON", bad(q("query", skipQuery, "variables", `{skip:true}`), `"variables" is not valid JSON`))
	// An empty variables or extensions is absent, like an empty operationName.
	t.Run("VariablesEmpty", ok(q("query", "{ __typename }", "variables", ``, "extensions", ``), `{"__typename":"Query"}`))
	t.Run("VariablesArray", bad(q("query", skipQuery, "variables", `[true]`), `"variables" must be an object or null, not an array`))
	t.Run("VariablesString", bad(q("query", skipQuery, "variables", `"x"`), `"variables" must be an object or null, not a string`))
	t.Run("VariablesNotQuiteNull", bad(q("query", skipQuery, "variables", `nul`), `"variables" is not valid JSON`))
	t.Run("ExtensionsNumber", bad(q("query", "{ __typename }", "extensions", `1`), `"extensions" must be an object or null`))
	// Spec "GET" names the WHATWG urlencoded parser: only "&" separates
	// pairs, "+" is a space, and a malformed escape stays as written, so a
	// parameter that is none of ours never spoils the request.
	t.Run("ForeignParamWithSemicolon", ok("query=%7B__typename%7D&x=a;b", `{"__typename":"Query"}`))
	t.Run("ForeignParamWithBadEscape", ok("query=%7B__typename%7D&foo=%zz&bar=%4", `{"__typename":"Query"}`))
	t.Run("PlusIsSpace", ok("query=%7B+__typename+%7D", `{"__typename":"Query"}`))
	t.Run("InvalidUTF8", bad("query=%ff", "UTF-8"))
}

// Spec "GET": GET MUST NOT execute mutations; when query and operationName
// select one, the server MUST answer 405 and halt. The operation is found
// before validation. Subscriptions are refused the same way.
func TestGraphQL_GetRefusesMutations(t *testing.T) {
	ts, _ := newServer(t, nil)
	mixed := `query A { __typename } mutation B { x }`
	for _, tc := range []struct {
		name, query, operationName string
		status                     int
	}{
		{"Mutation", `mutation { x }`, "", http.StatusMethodNotAllowed},
		{"NamedMutation", `mutation M { addAlert(price: 1) { id } }`, "", http.StatusMethodNotAllowed},
		{"Subscription", `subscription { priceTicks(assetIds: ["bitcoin"]) { price } }`, "", http.StatusMethodNotAllowed},
		{"MutationSelectedByName", mixed, "B", http.StatusMethodNotAllowed},
		// The query of the same document is not a mutation: it gets past
		// the method check and fails validation (the schema has no
		// mutations), as any invalid document does.
		{"QuerySelectedByName", mixed, "A", http.StatusBadRequest},
		// A mutation that does not parse is a parse error, not a 405:
		// nothing says it is a mutation.
		{"UnparsableMutation", `mutation {`, "", http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, accept := range []string{gqlResponse, jsonMedia} {
				v := url.Values{"query": {tc.query}}
				if tc.operationName != "" {
					v.Set("operationName", tc.operationName)
				}
				res := get(t, ts, accept, v.Encode())
				if tc.status != http.StatusMethodNotAllowed {
					if accept == gqlResponse && res.status != tc.status {
						t.Errorf("status = %d, want %d; body %s", res.status, tc.status, res.body)
					}
					continue
				}
				checkRequestError(t, res, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED")
				if got := res.header.Get("Allow"); got != "POST" {
					t.Errorf("Allow = %q, want POST", got)
				}
			}
		})
	}
	t.Run("PostIsNotRefused", func(t *testing.T) {
		res := postQuery(t, ts, gqlResponse, `{"query":"mutation { x }"}`)
		// POST takes mutations; this schema has none, so validation fails.
		checkRequestError(t, res, http.StatusBadRequest, "GRAPHQL_VALIDATION_FAILED")
	})
}

// Spec "Request": a server MUST accept POST and MAY accept GET. Any other
// method on /graphql gets 405 with an Allow header (RFC 9110); HEAD too,
// by choice (see graphqlMethods).
func TestGraphQL_Methods(t *testing.T) {
	ts, _ := newServer(t, nil)
	for _, method := range []string{http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodHead, http.MethodOptions, "PROPFIND"} {
		t.Run(method, func(t *testing.T) {
			req, err := http.NewRequest(method, ts.URL+"/graphql?query=%7B__typename%7D", strings.NewReader(`{"query":"{ __typename }"}`))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			res := do(t, req)
			if res.status != http.StatusMethodNotAllowed {
				t.Fatalf("status = %d, want 405", res.status)
			}
			if got := res.header.Get("Allow"); got != "GET, POST" {
				t.Errorf("Allow = %q, want \"GET, POST\"", got)
			}
			if method == http.MethodHead {
				return // no body
			}
			checkRequestError(t, res, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED")
			checkMedia(t, res, jsonMedia)
		})
	}
}

// Responses vary with Accept and must not be cached (see writeResult);
// spec "Body": the Content-Type names the encoding.
func TestGraphQL_ResponseHeaders(t *testing.T) {
	ts, _ := newServer(t, nil)
	for name, res := range map[string]result{
		"PostSuccess":  postQuery(t, ts, gqlResponse, `{"query":"{ __typename }"}`),
		"GetSuccess":   get(t, ts, jsonMedia, "query=%7B__typename%7D"),
		"RequestError": postQuery(t, ts, gqlResponse, `{"query":"{"}`),
		"Malformed":    postQuery(t, ts, jsonMedia, `{`),
		"WrongMethod":  get(t, ts, "", "query="+url.QueryEscape("mutation { x }")),
	} {
		t.Run(name, func(t *testing.T) {
			if got := res.header.Values("Vary"); !contains(got, "Accept") {
				t.Errorf("Vary = %q, want it to include Accept", got)
			}
			if got := res.header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
			if got := res.header.Get("Content-Type"); !strings.HasSuffix(got, "; charset=utf-8") {
				t.Errorf("Content-Type = %q, want a utf-8 charset", got)
			}
			if res.header.Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id")
			}
		})
	}
}

// The body limit middleware: an oversized body gets 413 with a
// GraphQL-shaped error, whether it declares its length or not.
func TestGraphQL_BodyLimit(t *testing.T) {
	small, _ := newServer(t, func(c *server.Config) { c.BodyLimit = 100 })
	defaults, _ := newServer(t, nil)
	padded := func(n int) string { // a valid request of exactly n bytes, padded outside the document (see MaxDocumentBytes)
		head, tail := `{"query":"{ __typename }"`, `}`
		return head + strings.Repeat(" ", n-len(head)-len(tail)) + tail
	}
	for _, tc := range []struct {
		name    string
		ts      func() string
		body    string
		chunked bool
		status  int
	}{
		{"AtLimit", func() string { return small.URL }, padded(100), false, http.StatusOK},
		{"DeclaredOverLimit", func() string { return small.URL }, padded(101), false, http.StatusRequestEntityTooLarge},
		{"StreamedOverLimit", func() string { return small.URL }, padded(101), true, http.StatusRequestEntityTooLarge},
		{"StreamedAtLimit", func() string { return small.URL }, padded(100), true, http.StatusOK},
		{"DefaultIsOneMiB", func() string { return defaults.URL }, padded(1 << 20), false, http.StatusOK},
		{"DefaultOverOneMiB", func() string { return defaults.URL }, padded(1<<20 + 1), false, http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body = strings.NewReader(tc.body)
			req, err := http.NewRequest(http.MethodPost, tc.ts()+"/graphql", body)
			if err != nil {
				t.Fatal(err)
			}
			if tc.chunked {
				req.ContentLength = -1 // unknown: sent chunked
				req.Body = readerOnly{body}
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", gqlResponse)
			res := do(t, req)
			if tc.status == http.StatusOK {
				if res.status != http.StatusOK {
					t.Errorf("status = %d, want 200; body %s", res.status, res.body)
				}
				return
			}
			checkRequestError(t, res, tc.status, "PAYLOAD_TOO_LARGE")
			checkMedia(t, res, gqlResponse)
		})
	}
}

// readerOnly hides the length of a reader from net/http.
type readerOnly struct{ r *strings.Reader }

func (r readerOnly) Read(p []byte) (int, error) { return r.r.Read(p) }
func (r readerOnly) Close() error               { return nil }

func TestGraphQL_Introspection(t *testing.T) {
	on, _ := newServer(t, func(c *server.Config) { c.Introspection = true })
	off, _ := newServer(t, nil)
	for _, tc := range []struct{ name, query string }{
		{"Schema", `{ __schema { queryType { name } } }`},
		{"Type", `{ __type(name: \"Asset\") { name } }`},
		{"InFragment", `{ ...F } fragment F on Query { __schema { queryType { name } } }`},
		{"InInlineFragment", `{ ... on Query { __type(name: \"Asset\") { name } } }`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"query":"` + tc.query + `"}`
			res := postQuery(t, on, gqlResponse, body)
			if res.status != http.StatusOK || !res.hasData() || res.fields["errors"] != nil {
				t.Errorf("on: got %d %s, want 200 with data", res.status, res.body)
			}
			res = postQuery(t, off, gqlResponse, body)
			checkRequestError(t, res, http.StatusBadRequest, "GRAPHQL_VALIDATION_FAILED")
			if errs := res.errors(t); len(errs) == 0 || len(errs[0].Locations) == 0 {
				t.Errorf("off: error has no location: %s", res.body)
			}
		})
	}
	t.Run("TypenameStaysAllowed", func(t *testing.T) {
		res := postQuery(t, off, gqlResponse, `{"query":"{ __typename }"}`)
		if res.status != http.StatusOK {
			t.Errorf("status = %d; body %s", res.status, res.body)
		}
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		for _, part := range strings.Split(v, ",") {
			if strings.TrimSpace(part) == s {
				return true
			}
		}
	}
	return false
}

func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
