package ratelimit_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph/auth"
	"github.com/marketgraph/marketgraph/ratelimit"
)

// testPrincipal stands in for the auth middleware: X-Test-Account names
// the account, X-Test-Rate its RatePerMinute.
func testPrincipal(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id := r.Header.Get("X-Test-Account"); id != "" {
			rate, _ := strconv.Atoi(r.Header.Get("X-Test-Rate"))
			p := &auth.Principal{AccountID: id, Scopes: []auth.Scope{auth.ScopeRead}, Method: auth.MethodAPIKey, RatePerMinute: rate}
			r = r.WithContext(auth.WithPrincipal(r.Context(), p))
		}
		next.ServeHTTP(w, r)
	})
}

// ok is the handler behind the limiter.
var ok = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	_, _ = w.Write([]byte(`{"data":{}}`))
})

// newHandler is auth stand-in → limiter → ok.
func newHandler(t testing.TB, cfg ratelimit.Config) http.Handler {
	t.Helper()
	l, err := ratelimit.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return testPrincipal(l.Handler(ok))
}

// request builds a POST /graphql from remote with headers as name, value
// pairs.
func request(remote string, headers ...string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
	r.RemoteAddr = remote
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	return r
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// countOK sends n requests and counts the 200s.
func countOK(h http.Handler, n int, remote string, headers ...string) int {
	got := 0
	for range n {
		if serve(h, request(remote, headers...)).Code == http.StatusOK {
			got++
		}
	}
	return got
}

func TestLimiter_Headers(t *testing.T) {
	h := newHandler(t, ratelimit.Config{AnonymousPerMinute: 3})
	before := time.Now().Unix()
	for i := range 3 {
		w := serve(h, request("203.0.113.7:1"))
		if w.Code != http.StatusOK {
			t.Fatalf("request %d: status %d, want 200", i+1, w.Code)
		}
		checkHeader(t, w, "X-RateLimit-Limit", "3")
		checkHeader(t, w, "X-RateLimit-Remaining", strconv.Itoa(2-i))
		checkReset(t, w, before)
		if v := w.Header().Get("Retry-After"); v != "" {
			t.Errorf("Retry-After = %q on a 200", v)
		}
	}

	w := serve(h, request("203.0.113.7:1"))
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("4th request: status %d, want 429", w.Code)
	}
	checkHeader(t, w, "X-RateLimit-Limit", "3")
	checkHeader(t, w, "X-RateLimit-Remaining", "0")
	checkHeader(t, w, "Retry-After", "60")
	checkHeader(t, w, "Content-Type", "application/json; charset=utf-8")
	checkHeader(t, w, "Cache-Control", "no-store")
	checkReset(t, w, before)
	want := `{"errors":[{"message":"rate limit exceeded: 3 requests per minute; retry in 60s","extensions":{"code":"RATE_LIMITED"}}]}`
	if got := w.Body.String(); got != want {
		t.Errorf("body = %s\nwant   %s", got, want)
	}
}

func checkHeader(t *testing.T, w *httptest.ResponseRecorder, name, want string) {
	t.Helper()
	if got := w.Header().Get(name); got != want {
		t.Errorf("%s = %q, want %q", name, got, want)
	}
}

// checkReset checks X-RateLimit-Reset is Unix seconds within the minute
// after since.
func checkReset(t *testing.T, w *httptest.ResponseRecorder, since int64) {
	t.Helper()
	reset, err := strconv.ParseInt(w.Header().Get("X-RateLimit-Reset"), 10, 64)
	if err != nil || reset < since || reset > time.Now().Unix()+60 {
		t.Errorf("X-RateLimit-Reset = %q, want Unix seconds within a minute of %d", w.Header().Get("X-RateLimit-Reset"), since)
	}
}

// The refusal's media type follows Accept, as the server's answers do.
func TestLimiter_RefusalMediaType(t *testing.T) {
	h := newHandler(t, ratelimit.Config{AnonymousPerMinute: 1})
	serve(h, request("203.0.113.7:1"))
	for _, tc := range []struct{ accept, want string }{
		{"", "application/json"},
		{"*/*", "application/json"},
		{"text/html", "application/json"},
		{"application/json", "application/json"},
		{"application/graphql-response+json", "application/graphql-response+json"},
		{"application/graphql-response+json, application/json", "application/graphql-response+json"},
		{"application/json, application/graphql-response+json", "application/json"},
		{"application/json;q=0.9, application/graphql-response+json", "application/graphql-response+json"},
		{"application/graphql-response+json;q=0, */*", "application/json"},
		{"application/json;q=0, application/*", "application/graphql-response+json"},
	} {
		t.Run(tc.accept, func(t *testing.T) {
			w := serve(h, request("203.0.113.7:1", "Accept", tc.accept))
			if w.Code != http.StatusTooManyRequests {
				t.Fatalf("status %d, want 429", w.Code)
			}
			checkHeader(t, w, "Content-Type", tc.want+"; charset=utf-8")
			var body struct {
				Errors []struct {
					Extensions struct{ Code string }
				}
			}
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || len(body.Errors) != 1 || body.Errors[0].Extensions.Code != "RATE_LIMITED" {
				t.Errorf("body %s (%v): want one RATE_LIMITED error", w.Body, err)
			}
		})
	}
}

// Accounts are limited by account, anonymous callers by address, each
// with its own limit; an account's RatePerMinute overrides the default.
func TestLimiter_KeysAndLimits(t *testing.T) {
	h := newHandler(t, ratelimit.Config{AnonymousPerMinute: 2, AuthenticatedPerMinute: 4})
	const ip = "203.0.113.7:1"
	for _, tc := range []struct {
		name    string
		remote  string
		headers []string
		want    int
	}{
		{"Anonymous", ip, nil, 2},
		{"AnotherAddress", "203.0.113.8:1", nil, 2},
		{"AccountOnSameAddress", ip, []string{"X-Test-Account", "a1"}, 4},
		{"AccountElsewhereSharesItsCount", "198.51.100.1:1", []string{"X-Test-Account", "a1"}, 0},
		{"SecondAccount", ip, []string{"X-Test-Account", "a2"}, 4},
		{"Override", ip, []string{"X-Test-Account", "a3", "X-Test-Rate", "7"}, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := countOK(h, 10, tc.remote, tc.headers...); got != tc.want {
				t.Errorf("%d of 10 requests allowed, want %d", got, tc.want)
			}
		})
	}
	w := serve(h, request(ip, "X-Test-Account", "a3", "X-Test-Rate", "7"))
	checkHeader(t, w, "X-RateLimit-Limit", "7")
}

// A spoofed X-Forwarded-For from an untrusted peer does not change the
// limiter's key; the same header from a trusted proxy does.
func TestLimiter_SpoofedXFF(t *testing.T) {
	trusted, err := ratelimit.ParseTrustedProxies("10.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	h := newHandler(t, ratelimit.Config{AnonymousPerMinute: 2, TrustedProxies: trusted})

	const attacker = "203.0.113.7:1"
	if got := countOK(h, 2, attacker); got != 2 {
		t.Fatalf("%d of the first 2 requests allowed", got)
	}
	for i := range 20 {
		spoof := fmt.Sprintf("198.51.100.%d", i)
		if w := serve(h, request(attacker, "X-Forwarded-For", spoof)); w.Code != http.StatusTooManyRequests {
			t.Fatalf("X-Forwarded-For %s from an untrusted peer: status %d, want 429", spoof, w.Code)
		}
		if w := serve(h, request(attacker, "X-Forwarded-For", spoof+", 10.0.0.1")); w.Code != http.StatusTooManyRequests {
			t.Fatalf("X-Forwarded-For naming a trusted hop from an untrusted peer: status %d, want 429", w.Code)
		}
	}

	const proxy = "10.0.0.2:1"
	if got := countOK(h, 5, proxy, "X-Forwarded-For", "198.51.100.1"); got != 2 {
		t.Errorf("client behind the proxy: %d of 5 allowed, want 2", got)
	}
	if got := countOK(h, 5, proxy, "X-Forwarded-For", "198.51.100.2"); got != 2 {
		t.Errorf("second client behind the proxy: %d of 5 allowed, want 2", got)
	}
	if got := countOK(h, 5, proxy, "X-Forwarded-For", "203.0.113.7"); got != 0 {
		t.Errorf("the attacker's own address behind the proxy: %d of 5 allowed, want 0", got)
	}
}

func TestNew_Errors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  ratelimit.Config
	}{
		{"NegativeAnonymous", ratelimit.Config{AnonymousPerMinute: -1}},
		{"NegativeAuthenticated", ratelimit.Config{AuthenticatedPerMinute: -1}},
		{"HeaderWithoutTrust", ratelimit.Config{ClientIPHeader: "X-Real-IP"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ratelimit.New(tc.cfg); err == nil {
				t.Error("New accepted the configuration")
			}
		})
	}
}

// Zero limits mean the defaults.
func TestNew_Defaults(t *testing.T) {
	h := newHandler(t, ratelimit.Config{})
	checkHeader(t, serve(h, request("203.0.113.7:1")), "X-RateLimit-Limit", strconv.Itoa(ratelimit.DefaultAnonymousPerMinute))
	checkHeader(t, serve(h, request("203.0.113.7:1", "X-Test-Account", "a")), "X-RateLimit-Limit", strconv.Itoa(ratelimit.DefaultAuthenticatedPerMinute))
}
