package server_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/marketgraph/marketgraph/graph"
	"github.com/marketgraph/marketgraph/server"
)

func TestServer_RequestID(t *testing.T) {
	ts, _ := newServer(t, nil)
	send := func(path, id string) result {
		req, err := http.NewRequest(http.MethodGet, ts.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if id != "" {
			req.Header.Set("X-Request-Id", id)
		}
		return do(t, req)
	}
	for _, path := range []string{"/healthz", "/graphql?query=%7B__typename%7D", "/graphql", "/nope"} {
		t.Run(strings.TrimPrefix(path, "/"), func(t *testing.T) {
			a, b := send(path, ""), send(path, "")
			if a.header.Get("X-Request-Id") == "" || a.header.Get("X-Request-Id") == b.header.Get("X-Request-Id") {
				t.Errorf("X-Request-Id = %q then %q, want two distinct ids", a.header.Get("X-Request-Id"), b.header.Get("X-Request-Id"))
			}
			if got := send(path, "client-chosen-7").header.Get("X-Request-Id"); got != "client-chosen-7" {
				t.Errorf("X-Request-Id = %q, want the client's id echoed", got)
			}
		})
	}
}

// The access log is one record per request with the agreed attributes. The
// handler is called directly, so the record is written when ServeHTTP
// returns.
func TestServer_AccessLog(t *testing.T) {
	logs := &logCapture{}
	h := server.New(server.Config{Schema: graph.NewExecutableSchema(graph.Config{}), Logger: slog.New(logs)})
	q := url.Values{"query": {"query ($k: String) { __typename }"}, "variables": {`{"k":"hunter2"}`}}
	req := httptest.NewRequest(http.MethodGet, "/graphql?"+q.Encode(), nil)
	req.RemoteAddr = "192.0.2.7:51234"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)

	recs := logs.find("http request")
	if len(recs) != 1 {
		t.Fatalf("got %d access log records, want 1", len(recs))
	}
	a := recs[0].Attrs
	for key, want := range map[string]any{
		"method":     "GET",
		"path":       "/graphql",
		"status":     int64(rec.Code),
		"bytes":      int64(rec.Body.Len()),
		"request_id": rec.Header().Get("X-Request-Id"),
		"remote":     "192.0.2.7:51234",
	} {
		if a[key] != want {
			t.Errorf("%s = %v (%T), want %v (%T)", key, a[key], a[key], want, want)
		}
	}
	if d, ok := a["duration"].(time.Duration); !ok || d <= 0 {
		t.Errorf("duration = %v, want a positive time.Duration", a["duration"])
	}
	for k, v := range a {
		if s, ok := v.(string); ok && strings.Contains(s, "hunter2") {
			t.Errorf("attribute %s logs the query string: %q", k, s)
		}
	}
}

// OperationContext runs once per GraphQL operation, never for requests that
// fail before execution, and the operation runs with the context it returns.
func TestServer_OperationContext(t *testing.T) {
	var calls, withRequestID atomic.Int32
	ts, logs := newServer(t, func(c *server.Config) {
		c.OperationContext = func(ctx context.Context) context.Context {
			calls.Add(1)
			if middleware.GetReqID(ctx) != "" {
				withRequestID.Add(1)
			}
			return context.WithValue(ctx, markerKey{}, "operation context")
		}
	})
	for _, tc := range []struct {
		name  string
		send  func() result
		calls int32
	}{
		{"Post", func() result { return postQuery(t, ts, "", `{"query":"{ __typename }"}`) }, 1},
		{"Get", func() result { return get(t, ts, "", "query=%7B__typename%7D") }, 1},
		{"ParseError", func() result { return postQuery(t, ts, "", `{"query":"{"}`) }, 0},
		{"ValidationError", func() result { return postQuery(t, ts, "", `{"query":"{ nope }"}`) }, 0},
		{"MalformedBody", func() result { return postQuery(t, ts, "", `{`) }, 0},
		{"GetMutation", func() result { return get(t, ts, "", "query=mutation%7Bx%7D") }, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := calls.Load()
			tc.send()
			if got := calls.Load() - before; got != tc.calls {
				t.Errorf("OperationContext called %d times, want %d", got, tc.calls)
			}
		})
	}
	if withRequestID.Load() != calls.Load() {
		t.Errorf("%d of %d calls had no request id in their context", calls.Load()-withRequestID.Load(), calls.Load())
	}

	t.Run("OperationRunsWithItsContext", func(t *testing.T) {
		// The resolver panics (there are none); the recover function logs
		// with the context the field resolved in.
		postQuery(t, ts, "", `{"query":"{ asset(id: \"bitcoin\") { id } }"}`)
		recs := logs.find("panic serving graphql")
		if len(recs) != 1 || recs[0].Marker != "operation context" {
			t.Errorf("panic records = %+v, want one logged within the operation's context", recs)
		}
	})
}

func TestServer_Playground(t *testing.T) {
	for _, enabled := range []bool{true, false} {
		t.Run(map[bool]string{true: "On", false: "Off"}[enabled], func(t *testing.T) {
			ts, _ := newServer(t, func(c *server.Config) { c.Playground = enabled })
			req, err := http.NewRequest(http.MethodGet, ts.URL+"/playground", nil)
			if err != nil {
				t.Fatal(err)
			}
			res := do(t, req)
			if !enabled {
				if res.status != http.StatusNotFound {
					t.Errorf("status = %d, want 404", res.status)
				}
				return
			}
			if res.status != http.StatusOK || !strings.HasPrefix(res.header.Get("Content-Type"), "text/html") {
				t.Fatalf("got %d %q, want 200 text/html", res.status, res.header.Get("Content-Type"))
			}
			if !strings.Contains(res.body, `"/graphql"`) {
				t.Errorf("the playground does not point at /graphql")
			}
		})
	}
}

// Outside /graphql, a wrong method is 405 with the path's methods in Allow,
// even for methods chi's router does not know; an unknown path is 404.
func TestServer_MethodNotAllowed(t *testing.T) {
	ts, _ := newServer(t, nil)
	for _, tc := range []struct {
		method, path, allow string
		status              int
	}{
		{http.MethodPost, "/healthz", "GET, HEAD", http.StatusMethodNotAllowed},
		{http.MethodDelete, "/readyz", "GET, HEAD", http.StatusMethodNotAllowed},
		{"PROPFIND", "/healthz", "GET, HEAD", http.StatusMethodNotAllowed},
		{"PROPFIND", "/graphql", "GET, POST", http.StatusMethodNotAllowed},
		{"PROPFIND", "/nope", "", http.StatusNotFound},
		{http.MethodGet, "/nope", "", http.StatusNotFound},
	} {
		t.Run(tc.method+tc.path, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, ts.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			res := do(t, req)
			if res.status != tc.status || res.header.Get("Allow") != tc.allow {
				t.Errorf("got %d Allow %q, want %d Allow %q", res.status, res.header.Get("Allow"), tc.status, tc.allow)
			}
			if tc.status == http.StatusMethodNotAllowed {
				checkRequestError(t, res, tc.status, "METHOD_NOT_ALLOWED")
			}
		})
	}
}

func TestServer_QueryCacheSizes(t *testing.T) {
	for name, size := range map[string]int{"Default": 0, "One": 1, "Disabled": -1} {
		t.Run(name, func(t *testing.T) {
			ts, _ := newServer(t, func(c *server.Config) { c.QueryCacheSize = size })
			// Alternate documents so that a one-entry cache evicts, and
			// repeat them so that cached documents are served.
			for _, q := range []string{"{ a: __typename }", "{ b: __typename }", "{ a: __typename }", "{ a: __typename }", "{ nope }", "{ nope }"} {
				res := postQuery(t, ts, gqlResponse, `{"query":"`+q+`"}`)
				want := http.StatusOK
				if q == "{ nope }" {
					want = http.StatusBadRequest // invalid documents are never cached
				}
				if res.status != want {
					t.Errorf("%s: status = %d, want %d; body %s", q, res.status, want, res.body)
				}
				// A GET checks the cached document's operation type.
				if want == http.StatusOK {
					if res := get(t, ts, gqlResponse, url.Values{"query": {q}}.Encode()); res.status != http.StatusOK {
						t.Errorf("GET %s: status = %d; body %s", q, res.status, res.body)
					}
				}
			}
		})
	}
}
