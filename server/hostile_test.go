package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/marketgraph/marketgraph/graph"
	"github.com/marketgraph/marketgraph/server"
)

// countingSchema counts the calls of Schema. gqlgen asks for the schema
// first to validate a document it has parsed, then for everything after
// (variable coercion, the operation context mutators, execution), and
// nothing before: a request that never asks for it was refused before
// validation.
type countingSchema struct {
	graphql.ExecutableSchema
	calls atomic.Int64
}

func (s *countingSchema) Schema() *ast.Schema {
	s.calls.Add(1)
	return s.ExecutableSchema.Schema()
}

// newCountingServer is newServer on a countingSchema, counting from zero.
func newCountingServer(t *testing.T, edit func(*server.Config)) (*httptest.Server, *logCapture, *countingSchema) {
	t.Helper()
	cs := &countingSchema{ExecutableSchema: graph.NewExecutableSchema(graph.Config{Resolvers: nil})}
	ts, logs := newServer(t, func(c *server.Config) {
		c.Schema = cs
		if edit != nil {
			edit(c)
		}
	})
	cs.calls.Store(0)
	return ts, logs, cs
}

// Builders of hostile documents.

func repeat(format string, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, format, i)
	}
	return b.String()
}

// nestedList is a filter whose ids are n lists deep: n+2 levels with the
// operation's selection set and the filter object.
func nestedList(n int) string {
	return `{ assets(filter: {ids: ` + strings.Repeat("[", n) + `"x"` + strings.Repeat("]", n) + `}) { totalCount } }`
}

// nestedInline is n levels of inline fragments, the operation's own
// selection set included.
func nestedInline(n int) string {
	return "{" + strings.Repeat(" ... {", n-1) + " __typename" + strings.Repeat(" }", n)
}

func aliases(n int) string { return "{" + repeat(" a%d: __typename", n) + " }" }

func repeatedFields(n int) string { return "{" + strings.Repeat(" __typename", n) + " }" }

// fragments spreads n fragments on one asset.
func fragments(n int) string {
	return `{ asset(id: "x") {` + repeat(" ...F%d", n) + " } }" + repeat(" fragment F%d on Asset { id }", n)
}

// fragmentCycle is n fragments spreading the next, the last the first.
func fragmentCycle(n int) string {
	var b strings.Builder
	b.WriteString(`{ asset(id: "x") { ...F0 } }`)
	for i := range n {
		fmt.Fprintf(&b, " fragment F%d on Asset { id ...F%d }", i, (i+1)%n)
	}
	return b.String()
}

func directives(n int) string {
	return "{ __typename" + strings.Repeat(" @skip(if: false)", n) + " }"
}

// body is a POST body with the document and, if not empty, raw JSON
// variables and extensions.
func body(query, variables, extensions string) string {
	b := `{"query":` + jsonString(query)
	if variables != "" {
		b += `,"variables":` + variables
	}
	if extensions != "" {
		b += `,"extensions":` + extensions
	}
	return b + "}"
}

// hostileCase is a request built to cost the server as much as it can.
type hostileCase struct {
	name string
	edit func(*server.Config)
	body func() string // built when used: some are a megabyte
	// The refusal: status with application/graphql-response+json, code,
	// and a part of the message.
	status int
	code   string
	msg    string
	// validated: the refusal is validation's, which must have run; all
	// the others are refused before it.
	validated bool
}

const (
	validationFailed = "GRAPHQL_VALIDATION_FAILED"
	badUserInput     = "BAD_USER_INPUT"
)

// unbounded turns off the limits that would otherwise refuse a large
// document first, to reach the one a case is about.
func unbounded(c *server.Config) { c.MaxDocumentBytes, c.MaxTokens = -1, -1 }

const idsQuery = `query ($ids: [ID!]) { assets(filter: {ids: $ids}) { totalCount } }`

func hostileCases() []hostileCase {
	doc := func(q string) func() string { return func() string { return body(q, "", "") } }
	vars := func(q, v string) func() string { return func() string { return body(q, v, "") } }
	bad := http.StatusBadRequest
	return []hostileCase{
		// Nesting, in fields, in a literal, in inline fragments.
		{"FieldNesting1000", nil, doc(nested(1000)), bad, validationFailed, "the operation is 1000 levels deep; the limit is 15", false},
		{"ListNesting1000", nil, doc(nestedList(998)), bad, validationFailed, "nests selection sets, lists and input objects 1000 levels deep; the limit is 32", false},
		{"ListNesting1001", nil, doc(nestedList(999)), bad, validationFailed, "nests selection sets, lists and input objects more than 1000 levels deep; the limit is 32", false},
		{"InlineFragmentNesting1000", nil, doc(nestedInline(1000)), bad, validationFailed, "1000 levels deep; the limit is 32", false},
		// Aliases: the document size stops ten thousand first.
		{"Aliases10000", nil, doc(aliases(10000)), bad, validationFailed, "bytes long; the limit is 32768 bytes", false},
		{"Aliases10000Unbounded", unbounded, doc(aliases(10000)), bad, validationFailed, "the operation has 10000 aliases, fragments included; the limit is 100", false},
		{"Aliases101", nil, doc(aliases(101)), bad, validationFailed, "has 101 aliases, fragments included; the limit is 100", false},
		{"RootFields21", nil, doc(aliases(21)), bad, validationFailed, "selects 21 root fields, fragments included; the limit is 20", false},
		// The same field again and again: the pairs validation compares.
		{"RepeatedFields2900", nil, doc(repeatedFields(2900)), bad, validationFailed, `selects 2899 fields again under a response name already selected in the same selection set ("__typename", for one); the limit is 50`, false},
		{"RepeatedFields10000", nil, doc(repeatedFields(10000)), bad, validationFailed, "bytes long; the limit is 32768 bytes", false},
		{"FragmentFanOut", nil, doc(fanOut(64)), bad, validationFailed, "selects more than 9223372036854775806 fields again", false},
		// Fragments.
		{"Fragments3000", nil, doc(fragments(3000)), bad, validationFailed, "bytes long; the limit is 32768 bytes", false},
		{"Fragments3000Unbounded", unbounded, doc(fragments(3000)), bad, validationFailed, "the document defines 3000 fragments; the limit is 100", false},
		{"FragmentCycle", nil, doc(`{ asset(id: "x") { ...A } } fragment A on Asset { ...B } fragment B on Asset { ...A }`), bad, validationFailed, `fragment "A" spreads itself`, false},
		{"FragmentCycle100", nil, doc(fragmentCycle(100)), bad, validationFailed, `fragment "F0" spreads itself`, false},
		// Directives: the size, then the tokens.
		{"Directives3000", nil, doc(directives(3000)), bad, validationFailed, "bytes long; the limit is 32768 bytes", false},
		{"Directives3000Unbounded", func(c *server.Config) { c.MaxDocumentBytes = -1 }, doc(directives(3000)), bad, validationFailed, "the document has more than 5000 tokens (names, values and punctuation); the limit is 5000", false},
		// A megabyte string: the body limit refuses the request; a smaller
		// one, the document limit.
		{"String1MB", nil, doc(`{ asset(id: "` + strings.Repeat("x", 1<<20) + `") { id } }`), http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE", "the request body is larger than 1048576 bytes", false},
		{"String100KB", nil, doc(`{ asset(id: "` + strings.Repeat("x", 100<<10) + `") { id } }`), bad, validationFailed, "the document is 102424 bytes long; the limit is 32768 bytes", false},
		// Variables: refused before they are decoded, declared or not.
		{"VariablesHuge", nil, vars(idsQuery, `{"ids":[`+strings.Repeat(`"bitcoin",`, 100000)+`"x"]}`), bad, badUserInput, "the variables hold more than 1000 values; the limit is 1000", false},
		{"VariablesHugeUndeclared", nil, vars(`{ __typename }`, `{"x":[`+strings.Repeat(`1,`, 400000)+`1]}`), bad, badUserInput, "the variables hold more than 1000 values", false},
		{"VariablesDeepList", nil, vars(idsQuery, `{"ids":`+strings.Repeat("[", 1000)+strings.Repeat("]", 1000)+`}`), bad, badUserInput, `variable "$ids" nests lists and objects more than 32 levels deep; the limit is 32`, false},
		{"VariablesDeepObject", nil, vars(`{ __typename }`, `{"x":`+strings.Repeat(`{"a":`, 5000)+"1"+strings.Repeat("}", 5000)+`}`), bad, badUserInput, `variable "$x" nests lists and objects more than 32 levels deep`, false},
		{"ExtensionsHuge", nil, func() string { return body(`{ __typename }`, "", `{"x":[`+strings.Repeat(`1,`, 400000)+`1]}`) }, bad, "BAD_REQUEST", `request parameter "extensions" holds more than 1000 values`, false},
		// Controls: what reaches validation does call for the schema.
		{"ControlInvalid", nil, doc(`{ nope }`), bad, validationFailed, `Cannot query field "nope"`, true},
		{"FragmentSpreadsItself", nil, doc(`{ __typename ...A } fragment A on Query { ...A }`), bad, validationFailed, `fragment "A" spreads itself`, false},
	}
}

// Hostile documents are refused with the right code, and all but the
// controls before validation: their cost does not depend on validation's
// (see BenchmarkHostileDocuments for the times).
func TestHostileDocuments(t *testing.T) {
	for _, tc := range hostileCases() {
		t.Run(tc.name, func(t *testing.T) {
			ts, logs, cs := newCountingServer(t, tc.edit)
			res := postQuery(t, ts, gqlResponse, tc.body())
			checkRequestError(t, res, tc.status, tc.code)
			checkMedia(t, res, gqlResponse)
			if errs := res.errors(t); len(errs) == 0 || !strings.Contains(errs[0].Message, tc.msg) {
				t.Errorf("errors = %+v, want one containing %q", errs, tc.msg)
			}
			if calls := cs.calls.Load(); tc.validated != (calls > 0) {
				t.Errorf("the schema was asked for %d times: validated %v, want %v", calls, calls > 0, tc.validated)
			}
			if recs := logs.errorRecords(); len(recs) != 0 {
				t.Errorf("errors logged (a resolver ran?): %+v", recs)
			}
		})
	}
}

// The limits hold on every transport, with the same code and message: they
// run in CreateOperationContext, which all share.
func TestHostileDocuments_Transports(t *testing.T) {
	cases := map[string]hostileCase{}
	for _, tc := range hostileCases() {
		cases[tc.name] = tc
	}
	for _, name := range []string{"FieldNesting1000", "ListNesting1000", "InlineFragmentNesting1000", "Aliases101", "RepeatedFields2900", "FragmentCycle", "VariablesDeepList"} {
		tc := cases[name]
		var req struct {
			Query     string          `json:"query"`
			Variables json.RawMessage `json:"variables"`
		}
		if err := json.Unmarshal([]byte(tc.body()), &req); err != nil {
			t.Fatal(err)
		}
		check := func(t *testing.T, errs []gqlError, cs *countingSchema) {
			t.Helper()
			if len(errs) == 0 || errs[0].Extensions["code"] != tc.code || !strings.Contains(errs[0].Message, tc.msg) {
				t.Errorf("errors = %+v, want %s containing %q", errs, tc.code, tc.msg)
			}
			if calls := cs.calls.Load(); calls != 0 {
				t.Errorf("validation ran (the schema was asked for %d times)", calls)
			}
		}
		t.Run(name+"/GET", func(t *testing.T) {
			ts, _, cs := newCountingServer(t, tc.edit)
			q := "query=" + url.QueryEscape(req.Query)
			if req.Variables != nil {
				q += "&variables=" + url.QueryEscape(string(req.Variables))
			}
			res := get(t, ts, gqlResponse, q)
			checkRequestError(t, res, tc.status, tc.code)
			check(t, res.errors(t), cs)
		})
		t.Run(name+"/WebSocket", func(t *testing.T) {
			ts, _, cs := newCountingServer(t, tc.edit)
			c := dialSock(t, ts)
			c.init(nil)
			msg, _ := json.Marshal(map[string]any{"type": "subscribe", "id": "1", "payload": req})
			c.raw(string(msg))
			m := c.readType("error")
			var errs []gqlError
			if err := json.Unmarshal(m.Payload, &errs); err != nil {
				t.Fatalf("error payload %s: %v", m.Payload, err)
			}
			check(t, errs, cs)
		})
		t.Run(name+"/SSE", func(t *testing.T) {
			ts, _, cs := newCountingServer(t, tc.edit)
			check(t, sseErrors(t, ts, tc.body()), cs)
		})
	}
}

// dialSock opens a graphql-transport-ws socket on ts.
func dialSock(t *testing.T, ts *httptest.Server) *sock {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), streamWait)
	t.Cleanup(cancel)
	url := "ws" + strings.TrimPrefix(ts.URL, "http") + server.GraphQLPath
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	conn.SetReadLimit(1 << 20)
	t.Cleanup(func() { _ = conn.CloseNow() })
	return &sock{t: t, conn: conn, ctx: ctx}
}

// sseErrors POSTs body for an event stream and returns the errors of its
// one next event.
func sseErrors(t *testing.T, ts *httptest.Server, body string) []gqlError {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), streamWait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+server.GraphQLPath, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	ev := nextEvent(t, sseEvents(bufio.NewReader(resp.Body)))
	var r struct{ Errors []gqlError }
	if ev.name != "next" || json.Unmarshal([]byte(ev.data), &r) != nil {
		t.Fatalf("event %q %s, want next with errors", ev.name, ev.data)
	}
	return r.Errors
}

// BenchmarkHostileDocuments times each hostile request through the whole
// handler (no network). The NoLimits entries are some of the same
// documents on a server with every document and variable limit off, for
// comparison: what the limits save.
func BenchmarkHostileDocuments(b *testing.B) {
	off := func(c *server.Config) {
		c.QueryCacheSize = -1 // or every iteration after the first would be a cache hit
		c.MaxDocumentBytes, c.MaxTokens, c.MaxNesting, c.MaxFragments = -1, -1, -1, -1
		c.MaxAliases, c.MaxRootFields, c.MaxRepeatedFields, c.MaxVariableValues = -1, -1, -1, -1
	}
	cases := hostileCases()
	for _, tc := range cases {
		switch tc.name {
		case "RepeatedFields2900", "Fragments3000", "VariablesHuge", "Aliases10000":
			tc.name, tc.edit = tc.name+"NoLimits", off
			cases = append(cases, tc)
		}
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			cfg := server.Config{
				Schema: graph.NewExecutableSchema(graph.Config{Resolvers: nil}),
				Logger: slog.New(slog.DiscardHandler),
			}
			if tc.edit != nil {
				tc.edit(&cfg)
			}
			h := server.New(cfg)
			body := tc.body()
			b.SetBytes(int64(len(body)))
			b.ResetTimer()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, server.GraphQLPath, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Accept", gqlResponse)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code == http.StatusOK && !strings.HasSuffix(tc.name, "NoLimits") {
					b.Fatalf("not refused: %.200s", rec.Body)
				}
			}
		})
	}
}
