package server_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/marketgraph/marketgraph/auth"
	"github.com/marketgraph/marketgraph/graph"
	"github.com/marketgraph/marketgraph/memory"
	"github.com/marketgraph/marketgraph/server"
)

const (
	jwtSecret   = "an HS256 secret of at least 32 bytes, for tests"
	jwtIssuer   = "https://id.example.com/"
	jwtAudience = "marketgraph"
)

// authzFixture is a server with real API keys (memory store) and HS256
// tokens, no anonymous access, and the credentials of every case of the
// authorisation matrix.
type authzFixture struct {
	store *memory.Store
	auth  *auth.Authenticator
	ts    *httptest.Server
	logs  *logCapture
	creds map[string]string // case → Authorization header value ("" for none)
	keys  map[auth.Scope]string
}

func newAuthzFixture(t *testing.T) *authzFixture {
	t.Helper()
	ctx := context.Background()
	store := memory.New()
	logs := &logCapture{}
	log := slog.New(logs)
	issue := func(n auth.NewKey) string {
		key, _, err := auth.IssueAPIKey(ctx, store, n, nil)
		if err != nil {
			t.Fatal(err)
		}
		return key
	}
	f := &authzFixture{store: store, creds: map[string]string{}, keys: map[auth.Scope]string{}, logs: logs}
	for _, s := range auth.AllScopes {
		f.keys[s] = issue(auth.NewKey{Account: "acme-" + string(s), Scopes: []auth.Scope{s}})
	}
	revoked, stored, err := auth.IssueAPIKey(ctx, store, auth.NewKey{Account: "acme", Scopes: auth.AllScopes}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.RevokeAPIKey(ctx, stored.ID); err != nil {
		t.Fatal(err)
	}
	expiring := issue(auth.NewKey{Account: "acme", Scopes: auth.AllScopes, ExpiresAt: time.Now().Add(50 * time.Millisecond)})
	unknown, err := auth.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keys := auth.NewAPIKeyAuthenticator(auth.APIKeyConfig{Store: store, Log: log, CacheTTL: 100 * time.Millisecond})
	t.Cleanup(func() { _ = keys.Close() })
	verifier, err := auth.NewJWTVerifier(ctx, auth.JWTConfig{HS256Secret: []byte(jwtSecret), Issuer: jwtIssuer, Audience: jwtAudience, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = verifier.Close() })
	token := func(secret, aud string, exp time.Time, scope string) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
			"iss": jwtIssuer, "aud": aud, "sub": "user-1", "exp": exp.Unix(), "scope": scope,
		}).SignedString([]byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	hour := time.Now().Add(time.Hour)
	f.creds["anonymous"] = ""
	f.creds["malformed key"] = "Bearer mg_not-a-key"
	f.creds["unknown key"] = "Bearer " + unknown.Key
	f.creds["revoked key"] = "Bearer " + revoked
	f.creds["expired key"] = "Bearer " + expiring
	f.creds["expired JWT"] = "Bearer " + token(jwtSecret, jwtAudience, time.Now().Add(-time.Hour), "read subscribe write admin")
	f.creds["bad signature"] = "Bearer " + token(jwtSecret+"!", jwtAudience, hour, "read subscribe write admin")
	f.creds["wrong audience"] = "Bearer " + token(jwtSecret, "someone-else", hour, "read subscribe write admin")
	f.creds["JWT without scopes"] = "Bearer " + token(jwtSecret, jwtAudience, hour, "")
	f.creds["JWT with every scope"] = "Bearer " + token(jwtSecret, jwtAudience, hour, "read subscribe write admin")
	time.Sleep(60 * time.Millisecond) // the expiring key has expired

	f.auth = &auth.Authenticator{Keys: keys, JWT: verifier, Log: log}
	cfg := server.Config{
		Schema:          graph.NewExecutableSchema(graph.Config{Resolvers: nil}),
		Logger:          log,
		Auth:            f.auth,
		AnonymousScopes: []auth.Scope{},
		Introspection:   true,
		// Open streams check their credentials again this often.
		StreamReauthInterval: 100 * time.Millisecond,
	}
	f.ts = httptest.NewServer(server.New(cfg))
	t.Cleanup(f.ts.Close)
	return f
}

// rootField is one field of Query, Mutation or Subscription with a document
// that selects it.
type rootField struct {
	op, name string
	scope    auth.Scope
	doc      string
}

// rootFields lists every root field of the schema with its access rule. A
// field without @hasScope fails the test: a field added later must say who
// may call it.
func rootFields(t *testing.T) []rootField {
	t.Helper()
	schema := graph.NewExecutableSchema(graph.Config{}).Schema()
	var out []rootField
	for _, root := range []struct {
		op  string
		def *ast.Definition
	}{{"query", schema.Query}, {"mutation", schema.Mutation}, {"subscription", schema.Subscription}} {
		if root.def == nil {
			continue
		}
		for _, f := range root.def.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			d := f.Directives.ForName("hasScope")
			if d == nil {
				t.Errorf("%s.%s has no @hasScope access rule", root.def.Name, f.Name)
				continue
			}
			scope := strings.ToLower(d.Arguments.ForName("scope").Value.Raw)
			out = append(out, rootField{op: root.op, name: f.Name, scope: auth.Scope(scope), doc: root.op + " { " + selectField(schema, f) + " }"})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].op+out[i].name < out[j].op+out[j].name })
	if len(out) == 0 {
		t.Fatal("the schema has no root fields")
	}
	return out
}

// selectField writes a selection of f with a valid value for each required
// argument and __typename under it when it is an object.
func selectField(schema *ast.Schema, f *ast.FieldDefinition) string {
	var args []string
	for _, a := range f.Arguments {
		if a.Type.NonNull && a.DefaultValue == nil {
			args = append(args, a.Name+": "+literal(schema, a.Type))
		}
	}
	s := f.Name
	if len(args) > 0 {
		s += "(" + strings.Join(args, ", ") + ")"
	}
	if def := schema.Types[f.Type.Name()]; def != nil && def.Kind != ast.Scalar && def.Kind != ast.Enum {
		s += " { __typename }"
	}
	return s
}

// literal is a valid GraphQL literal of type typ.
func literal(schema *ast.Schema, typ *ast.Type) string {
	if typ.Elem != nil {
		return "[" + literal(schema, typ.Elem) + "]"
	}
	switch def := schema.Types[typ.Name()]; {
	case def.Kind == ast.Enum:
		return def.EnumValues[0].Name
	case def.Kind == ast.InputObject:
		var fields []string
		for _, f := range def.Fields {
			if f.Type.NonNull && f.DefaultValue == nil {
				fields = append(fields, f.Name+": "+literal(schema, f.Type))
			}
		}
		return "{" + strings.Join(fields, ", ") + "}"
	case typ.Name() == "Int" || typ.Name() == "Float":
		return "1"
	case typ.Name() == "Boolean":
		return "true"
	case typ.Name() == "Time":
		return `"2026-11-26T00:00:00Z"`
	}
	return `"bitcoin"`
}

// The authorisation matrix, built from the schema: every root field against
// every kind of caller. Bad credentials never get past authentication
// (401); anonymous callers, where anonymous access is off, are
// UNAUTHENTICATED; credentials without the field's scope are FORBIDDEN;
// with it (or admin), the operation gets past access control.
func TestAuthorizationMatrix(t *testing.T) {
	f := newAuthzFixture(t)
	fields := rootFields(t)
	type outcome struct {
		status int
		code   string
	}
	for _, rf := range fields {
		for name, header := range f.creds {
			want := outcome{http.StatusUnauthorized, "UNAUTHENTICATED"}
			switch name {
			case "JWT without scopes":
				want = outcome{http.StatusForbidden, "FORBIDDEN"}
			case "JWT with every scope":
				want = outcome{}
			}
			check(t, f, rf, name, header, want.status, want.code)
		}
		for _, s := range auth.AllScopes {
			name := "key with scope " + string(s)
			if s == rf.scope || s == auth.ScopeAdmin {
				check(t, f, rf, name, "Bearer "+f.keys[s], 0, "")
			} else {
				check(t, f, rf, name, "Bearer "+f.keys[s], http.StatusForbidden, "FORBIDDEN")
			}
		}
		// X-API-Key is the same path as a bearer API key.
		check(t, f, rf, "X-API-Key header", "X-API-Key: "+f.keys[rf.scope], 0, "")
	}
}

// check sends rf's document with header and asserts the outcome: status and
// code, or (status 0) that access control let it through, whatever
// happened next.
func check(t *testing.T, f *authzFixture, rf rootField, name, header string, status int, code string) {
	t.Helper()
	gotStatus, got, body := send(t, f, rf, header)
	if status == 0 {
		if gotStatus == http.StatusUnauthorized || gotStatus == http.StatusForbidden || got == "UNAUTHENTICATED" || got == "FORBIDDEN" {
			t.Errorf("%s %s, %s: refused (%d %s), want it let through", rf.op, rf.name, name, gotStatus, body)
		}
		return
	}
	if gotStatus != status || got != code {
		t.Errorf("%s %s, %s: %d %s, want %d %s", rf.op, rf.name, name, gotStatus, got, status, code)
	}
}

// send posts rf's document with header ("Bearer ...", "X-API-Key: ...", or
// "" for none) and returns the status, the first error's code and the body.
func send(t *testing.T, f *authzFixture, rf rootField, header string) (int, string, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": rf.doc})
	req, _ := http.NewRequest(http.MethodPost, f.ts.URL+server.GraphQLPath, strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", gqlResponse)
	if k, v, ok := strings.Cut(header, ": "); ok && k == "X-API-Key" {
		req.Header.Set(k, v)
	} else if header != "" {
		req.Header.Set("Authorization", header)
	}
	res := do(t, req)
	code := ""
	if errs := res.fields["errors"]; errs != nil {
		var list []struct{ Extensions map[string]any }
		_ = json.Unmarshal(errs, &list)
		if len(list) > 0 {
			code = fmt.Sprint(list[0].Extensions["code"])
		}
	}
	return res.status, code, res.body
}

// Every refusal leaves one audit line naming the reason; none holds a
// secret.
func TestAuthorization_AuditTrail(t *testing.T) {
	f := newAuthzFixture(t)
	rf := rootFields(t)[0]
	for name, header := range f.creds {
		if name == "JWT with every scope" {
			continue
		}
		before := len(f.logs.find("auth failure"))
		send(t, f, rf, header)
		recs := f.logs.find("auth failure")
		if len(recs) != before+1 {
			t.Errorf("%s: %d audit lines, want 1", name, len(recs)-before)
			continue
		}
		if recs[len(recs)-1].Attrs["reason"] == nil {
			t.Errorf("%s: audit line without a reason: %v", name, recs[len(recs)-1].Attrs)
		}
	}
	f.logs.mu.Lock()
	defer f.logs.mu.Unlock()
	for _, r := range f.logs.records {
		line := fmt.Sprint(r.Msg, r.Attrs)
		for name, header := range f.creds {
			secret := strings.TrimPrefix(header, "Bearer ")
			if secret != "" && strings.Contains(line, secret) {
				t.Errorf("the secret of %q is in the log: %s", name, line)
			}
		}
		for _, k := range f.keys {
			if strings.Contains(line, k) {
				t.Errorf("an API key is in the log: %s", line)
			}
		}
	}
}

// On a WebSocket the credential comes in connection_init and goes through
// the same checks: a bad one closes the socket with 4401, a subscription
// without the subscribe scope is refused with FORBIDDEN, and with it the
// subscription gets past access control.
func TestAuthorization_WebSocket(t *testing.T) {
	f := newAuthzFixture(t)
	s := &liveServer{ts: f.ts}
	sub := `subscription { priceTicks(assetIds: ["bitcoin"]) { sequence } }`
	t.Run("BadKey", func(t *testing.T) {
		c := s.dial(t, "graphql-transport-ws")
		c.raw(`{"type":"connection_init","payload":{"apiKey":"` + strings.TrimPrefix(f.creds["revoked key"], "Bearer ") + `"}}`)
		if code, reason := c.closeCode(); code != 4401 || !strings.Contains(reason, "revoked") {
			t.Fatalf("closed with %d %q, want 4401", code, reason)
		}
	})
	for _, tc := range []struct {
		scope auth.Scope
		code  string
	}{{auth.ScopeRead, "FORBIDDEN"}, {auth.ScopeSubscribe, ""}, {auth.ScopeAdmin, ""}} {
		t.Run("KeyWithScope_"+string(tc.scope), func(t *testing.T) {
			c := s.dial(t, "graphql-transport-ws")
			c.init(map[string]any{"authorization": "Bearer " + f.keys[tc.scope]})
			c.subscribe("subscribe", "1", sub, nil)
			m := c.read()
			refused := m.Type == "error" && (strings.Contains(string(m.Payload), `"FORBIDDEN"`) || strings.Contains(string(m.Payload), `"UNAUTHENTICATED"`))
			if tc.code != "" && (!refused || !strings.Contains(string(m.Payload), tc.code)) {
				t.Fatalf("got %s %s, want an error coded %s", m.Type, m.Payload, tc.code)
			}
			if tc.code == "" && refused {
				t.Fatalf("refused: %s", m.Payload)
			}
		})
	}
}

// A key with only the subscribe scope cannot read, through a tick's asset,
// the market data READ guards.
func TestAuthorization_NestedFields(t *testing.T) {
	f := newAuthzFixture(t)
	s := &liveServer{ts: f.ts}
	c := s.dial(t, "graphql-transport-ws")
	c.init(map[string]any{"apiKey": f.keys[auth.ScopeSubscribe]})
	c.subscribe("subscribe", "1", `subscription { priceTicks(assetIds: ["bitcoin"]) { sequence asset { candles(interval: DAY, last: 5) { close } } } }`, nil)
	if m := c.read(); m.Type != "error" || !strings.Contains(string(m.Payload), `"FORBIDDEN"`) || !strings.Contains(string(m.Payload), "candles") {
		t.Fatalf("got %s %s, want FORBIDDEN naming candles", m.Type, m.Payload)
	}
}

// Revoking a key ends the sockets and event streams it opened: their
// credentials are checked again while they are open.
func TestAuthorization_RevokedWhileOpen(t *testing.T) {
	f := newAuthzFixture(t)
	s := f.liveServer(t)
	key, stored, err := auth.IssueAPIKey(context.Background(), f.store, auth.NewKey{Account: "soon-revoked", Scopes: []auth.Scope{auth.ScopeSubscribe}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := s.dial(t, "graphql-transport-ws")
	c.init(map[string]any{"apiKey": key})
	sse := sseRequest(t, s, `{"query":"subscription { priceTicks(assetIds: [\"bitcoin\"]) { sequence } }"}`, func(r *http.Request) {
		r.Header.Set("X-API-Key", key)
	})
	if sse.StatusCode != 200 {
		t.Fatalf("event stream: %d", sse.StatusCode)
	}
	if err := f.store.RevokeAPIKey(context.Background(), stored.ID); err != nil {
		t.Fatal(err)
	}
	if code, reason := c.closeCode(); code != 4401 || !strings.Contains(reason, "revoked") {
		t.Fatalf("socket closed with %d %q, want 4401", code, reason)
	}
	events := sseEvents(bufio.NewReader(sse.Body))
	var last []sseEvent
	for ev := range events {
		last = append(last, ev)
	}
	if n := len(last); n < 2 || last[n-1].name != "complete" || !strings.Contains(last[n-2].data, "UNAUTHENTICATED") {
		t.Fatalf("event stream ended with %+v, want an UNAUTHENTICATED next, then complete", last)
	}
}

// An event stream opened with a token ends when the token expires.
func TestAuthorization_SSETokenExpires(t *testing.T) {
	f := newAuthzFixture(t)
	s := f.liveServer(t)
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": jwtIssuer, "aud": jwtAudience, "sub": "user-2", "scope": "subscribe",
		"exp": time.Now().Add(1500 * time.Millisecond).Unix(),
	}).SignedString([]byte(jwtSecret))
	if err != nil {
		t.Fatal(err)
	}
	sse := sseRequest(t, s, `{"query":"subscription { priceTicks(assetIds: [\"bitcoin\"]) { sequence } }"}`, func(r *http.Request) {
		r.Header.Set("Authorization", "Bearer "+tok)
	})
	if sse.StatusCode != 200 {
		t.Fatalf("event stream: %d", sse.StatusCode)
	}
	var last []sseEvent
	for ev := range sseEvents(bufio.NewReader(sse.Body)) {
		last = append(last, ev)
	}
	if n := len(last); n < 2 || last[n-1].name != "complete" || !strings.Contains(last[n-2].data, "expired") {
		t.Fatalf("event stream ended with %+v, want an expiry error, then complete", last)
	}
}

// liveServer is a server with real resolvers behind the fixture's
// authenticator.
func (f *authzFixture) liveServer(t *testing.T) *liveServer {
	return newLiveServer(t, func(c *server.Config) {
		c.Auth = f.auth
		c.AnonymousScopes = []auth.Scope{}
		c.StreamReauthInterval = 100 * time.Millisecond
	})
}
