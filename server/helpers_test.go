package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph/graph"
	"github.com/marketgraph/marketgraph/server"
)

// logRecord is one captured log line.
type logRecord struct {
	Level  slog.Level
	Msg    string
	Attrs  map[string]any
	Marker any // ctx.Value(markerKey{}) of the context logged with
	Time   time.Time
}

type markerKey struct{}

// logCapture is a slog.Handler that keeps every record, with the value the
// logging context carried under markerKey.
type logCapture struct {
	mu      sync.Mutex
	records []logRecord
}

func (c *logCapture) Enabled(context.Context, slog.Level) bool { return true }

func (c *logCapture) Handle(ctx context.Context, r slog.Record) error {
	attrs := map[string]any{}
	r.Attrs(func(a slog.Attr) bool {
		attrs[a.Key] = a.Value.Any()
		return true
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	c.records = append(c.records, logRecord{Level: r.Level, Msg: r.Message, Attrs: attrs, Marker: ctx.Value(markerKey{}), Time: r.Time})
	return nil
}

func (c *logCapture) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *logCapture) WithGroup(string) slog.Handler      { return c }

// find returns the records with message msg.
func (c *logCapture) find(msg string) []logRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []logRecord
	for _, r := range c.records {
		if r.Msg == msg {
			out = append(out, r)
		}
	}
	return out
}

// errorRecords returns the records at error level.
func (c *logCapture) errorRecords() []logRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []logRecord
	for _, r := range c.records {
		if r.Level >= slog.LevelError {
			out = append(out, r)
		}
	}
	return out
}

// newServer starts the real handler on the real generated schema. No
// resolvers: documents that fail before execution never need them, and a
// field that reaches one panics, which exercises panic recovery.
func newServer(t *testing.T, edit func(*server.Config)) (*httptest.Server, *logCapture) {
	t.Helper()
	logs := &logCapture{}
	cfg := server.Config{
		Schema: graph.NewExecutableSchema(graph.Config{Resolvers: nil}),
		Logger: slog.New(logs),
	}
	if edit != nil {
		edit(&cfg)
	}
	ts := httptest.NewServer(server.New(cfg))
	t.Cleanup(ts.Close)
	return ts, logs
}

// result is an HTTP response, read.
type result struct {
	status int
	header http.Header
	body   string
	// fields are the top-level members of a JSON object body.
	fields map[string]json.RawMessage
}

// hasData reports whether the body has a data entry (even null).
func (r result) hasData() bool {
	_, ok := r.fields["data"]
	return ok
}

// gqlError is an entry of the errors list.
type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Locations  []any          `json:"locations"`
	Extensions map[string]any `json:"extensions"`
}

func (r result) errors(t *testing.T) []gqlError {
	t.Helper()
	raw, ok := r.fields["errors"]
	if !ok {
		return nil
	}
	var errs []gqlError
	if err := json.Unmarshal(raw, &errs); err != nil {
		t.Fatalf("errors entry %s: %v", raw, err)
	}
	return errs
}

// code is the extensions.code of the first error, "" without errors.
func (r result) code(t *testing.T) string {
	t.Helper()
	errs := r.errors(t)
	if len(errs) == 0 {
		return ""
	}
	code, _ := errs[0].Extensions["code"].(string)
	return code
}

func do(t *testing.T, req *http.Request) result {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	res := result{status: resp.StatusCode, header: resp.Header, body: string(b)}
	_ = json.Unmarshal(b, &res.fields) // non-JSON bodies leave fields nil
	return res
}

// post sends body to /graphql with the given Content-Type and Accept; an
// empty header value leaves the header out.
func post(t *testing.T, ts *httptest.Server, contentType, accept, body string) result {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, ts.URL+"/graphql", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	setHeaders(req, contentType, accept)
	return do(t, req)
}

// postQuery posts a JSON body with the recommended Content-Type.
func postQuery(t *testing.T, ts *httptest.Server, accept, body string) result {
	t.Helper()
	return post(t, ts, "application/json", accept, body)
}

// get sends a GET to /graphql with rawQuery as the URL's query component.
func get(t *testing.T, ts *httptest.Server, accept, rawQuery string) result {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, ts.URL+"/graphql?"+rawQuery, nil)
	if err != nil {
		t.Fatal(err)
	}
	setHeaders(req, "", accept)
	return do(t, req)
}

func setHeaders(req *http.Request, contentType, accept string) {
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	// Go's client sends no Accept unless told to, so "" means none.
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
}

const (
	gqlResponse = "application/graphql-response+json"
	jsonMedia   = "application/json"
)
