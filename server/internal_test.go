package server

// Internal tests: for what the real schema cannot reach from outside (a
// subscription type, a panic outside gqlgen), and for small pure functions.

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
)

// records is a minimal slog handler for the internal tests.
type records struct{ msgs []slog.Record }

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.msgs = append(r.msgs, rec)
	return nil
}
func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *records) WithGroup(string) slog.Handler      { return r }

func attr(rec slog.Record, key string) string {
	var v string
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value.String()
			return false
		}
		return true
	})
	return v
}

func TestRecoverPanics_Middleware(t *testing.T) {
	logs := &records{}
	h := middleware.RequestID(recoverPanics(slog.New(logs))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("dial postgres://app:hunter2@db/market failed")
	})))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))

	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status = %d, want 500", rec.Code)
	}
	if got, want := rec.Body.String(), `{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL"}}]}`; got != want {
		t.Errorf("body = %s, want %s", got, want)
	}
	if got := rec.Header().Get("Content-Type"); got != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
	if len(logs.msgs) != 1 {
		t.Fatalf("logged %d records, want 1", len(logs.msgs))
	}
	r := logs.msgs[0]
	if r.Level != slog.LevelError || attr(r, "request_id") == "" || !strings.Contains(attr(r, "stack"), "goroutine") {
		t.Errorf("record %v: want error level, a request id and a stack", r)
	}
	if p := attr(r, "panic"); !strings.Contains(p, "dial postgres://app:xxxxx@db") {
		t.Errorf("panic attr = %q, want the value with its password redacted", p)
	}

	t.Run("AbortHandlerPassesThrough", func(t *testing.T) {
		h := recoverPanics(slog.New(&records{}))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
			panic(http.ErrAbortHandler)
		}))
		defer func() {
			if p := recover(); p != http.ErrAbortHandler {
				t.Errorf("recovered %v, want http.ErrAbortHandler re-panicked", p)
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	})
}

// panickyExecutor fails the way a bug in gqlgen or an extension would.
type panickyExecutor struct{ graphql.GraphExecutor }

func (panickyExecutor) CreateOperationContext(context.Context, *graphql.RawParams) (*graphql.OperationContext, gqlerror.List) {
	panic("extension bug")
}

func TestTransportGuard_PanicIs500(t *testing.T) {
	logs := &records{}
	log := slog.New(logs)
	shared := &httpTransport{cache: graphql.NoCache[*ast.QueryDocument]{}, present: ErrorPresenter(log), recover: Recover(log)}
	for name, tr := range map[string]graphql.Transport{"POST": postTransport{shared}, "GET": getTransport{shared}} {
		t.Run(name, func(t *testing.T) {
			req := httptest.NewRequest(name, "/graphql?query=%7B__typename%7D", strings.NewReader(`{"query":"{ __typename }"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", mediaGraphQLResponse)
			rec := httptest.NewRecorder()
			tr.Do(rec, req, panickyExecutor{})
			if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), `"code":"INTERNAL"`) {
				t.Errorf("got %d %s, want 500 with an INTERNAL error", rec.Code, rec.Body)
			}
			if got := rec.Header().Get("Content-Type"); got != mediaGraphQLResponse+"; charset=utf-8" {
				t.Errorf("Content-Type = %q", got)
			}
		})
	}
	if len(logs.msgs) != 2 {
		t.Errorf("logged %d records, want one per panic", len(logs.msgs))
	}
}

// The schema has no Subscription type yet, so a subscription never passes
// validation through the handler; the rule is checked on a parsed document.
func TestUnsupportedOperation(t *testing.T) {
	for _, tc := range []struct {
		name, doc, message string
	}{
		{"Query", `{ a { b } }`, ""},
		{"Mutation", `mutation { a }`, ""},
		{"Subscription", `subscription { priceTicks { price } }`, "subscriptions cannot be answered"},
		{"DeferInline", `{ a { ... @defer { b } } }`, "@defer"},
		{"DeferSpread", `{ a { ...F @defer } } fragment F on A { b }`, "@defer"},
		{"DeferInsideFragment", `{ ...G } fragment G on Query { a { ... @defer { b } } }`, "@defer"},
		{"OtherDirective", `{ a { ... @include(if: true) { b } } }`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := parser.ParseQuery(&ast.Source{Input: tc.doc})
			if err != nil {
				t.Fatal(err)
			}
			got := unsupportedOperation(&graphql.OperationContext{Doc: doc, Operation: doc.Operations[0]})
			if tc.message == "" {
				if got != nil {
					t.Errorf("refused: %v", got)
				}
				return
			}
			if got == nil || !strings.Contains(got.Message, tc.message) || got.Extensions["code"] != codeBadRequest {
				t.Errorf("got %v, want a BAD_REQUEST error about %q", got, tc.message)
			}
			if len(got.Locations) == 0 {
				t.Error("the error has no location")
			}
		})
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"dial postgres://app:hunter2@db:5432/market: refused":      "dial postgres://app:xxxxx@db:5432/market: refused",
		"redis://:s3cret@cache:6379/0":                             "redis://:xxxxx@cache:6379/0",
		"host=db user=app password=hunter2 dbname=market":          "host=db user=app password=xxxxx dbname=market",
		"host=db password='two words' dbname=market":               "host=db password=xxxxx dbname=market",
		"postgres://app@db/market (no password)":                   "postgres://app@db/market (no password)",
		"https://provider.example/api?x=1 returned 503":            "https://provider.example/api?x=1 returned 503",
		`failed to connect to "user=app database=market": refused`: `failed to connect to "user=app database=market": refused`,
	} {
		if got := redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWriteResult(t *testing.T) {
	errs := gqlerror.List{{Message: "boom", Path: ast.Path{ast.PathName("a")}, Extensions: map[string]any{"code": "INTERNAL"}}}
	for _, tc := range []struct {
		name string
		errs gqlerror.List
		data []byte
		ext  map[string]any
		want string
	}{
		{"DataOnly", nil, []byte(`{"a":1}`), nil, `{"data":{"a":1}}`},
		{"NullDataIsKept", errs, []byte(`null`), nil, `{"errors":[{"message":"boom","path":["a"],"extensions":{"code":"INTERNAL"}}],"data":null}`},
		{"NoDataIsOmitted", errs, nil, nil, `{"errors":[{"message":"boom","path":["a"],"extensions":{"code":"INTERNAL"}}]}`},
		{"EmptyDataIsNull", nil, []byte{}, nil, `{"data":null}`},
		{"ExtensionsPassedThrough", nil, []byte(`{}`), map[string]any{"cost": 3}, `{"data":{},"extensions":{"cost":3}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			writeResult(rec, http.StatusOK, mediaJSON, tc.errs, tc.data, tc.ext)
			if got := rec.Body.String(); got != tc.want {
				t.Errorf("body = %s, want %s", got, tc.want)
			}
			if got := rec.Header().Get("Content-Length"); got != strconv.Itoa(len(tc.want)) {
				t.Errorf("Content-Length = %s, want %d", got, len(tc.want))
			}
		})
	}
}

// Spec "application/graphql-response+json": a request error is 400 unless
// the client may not issue the request (401, 403) or the server failed.
func TestRequestErrorStatus(t *testing.T) {
	for code, want := range map[string]int{
		"GRAPHQL_PARSE_FAILED":      http.StatusBadRequest,
		"GRAPHQL_VALIDATION_FAILED": http.StatusBadRequest,
		"BAD_USER_INPUT":            http.StatusBadRequest,
		"COST_LIMIT_EXCEEDED":       http.StatusBadRequest,
		"UNAUTHENTICATED":           http.StatusUnauthorized,
		"FORBIDDEN":                 http.StatusForbidden,
		"RATE_LIMITED":              http.StatusTooManyRequests,
		"UPSTREAM_UNAVAILABLE":      http.StatusServiceUnavailable,
		"INTERNAL":                  http.StatusInternalServerError,
		"":                          http.StatusBadRequest,
	} {
		errs := gqlerror.List{{Message: "x", Extensions: map[string]any{"code": code}}}
		if got := requestErrorStatus(errs); got != want {
			t.Errorf("requestErrorStatus(%q) = %d, want %d", code, got, want)
		}
	}
}
