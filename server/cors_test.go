package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/marketgraph/marketgraph/server"
)

// CORS follows the WebSocket Origin allowlist: an allowed origin's preflight
// and request get the CORS headers (credentials only when enabled), any
// other origin gets none, so the browser blocks the page.
func TestCORS(t *testing.T) {
	for _, creds := range []bool{false, true} {
		ts, _ := newServer(t, func(c *server.Config) {
			c.AllowedOrigins = []string{"https://app.example.com"}
			c.CORSAllowCredentials = creds
		})
		preflight := func(origin string) *http.Response {
			req, _ := http.NewRequest(http.MethodOptions, ts.URL+server.GraphQLPath, nil)
			req.Header.Set("Origin", origin)
			req.Header.Set("Access-Control-Request-Method", "POST")
			req.Header.Set("Access-Control-Request-Headers", "content-type, x-api-key")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp
		}
		ok := preflight("https://app.example.com")
		if ok.StatusCode >= 300 || ok.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
			!strings.Contains(strings.ToLower(ok.Header.Get("Access-Control-Allow-Headers")), "x-api-key") {
			t.Errorf("allowed origin's preflight: %d %v", ok.StatusCode, ok.Header)
		}
		if got := ok.Header.Get("Access-Control-Allow-Credentials") == "true"; got != creds {
			t.Errorf("credentials %v, want %v", got, creds)
		}
		if bad := preflight("https://evil.example"); bad.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("other origin's preflight allowed: %v", bad.Header)
		}
		req, _ := http.NewRequest(http.MethodPost, ts.URL+server.GraphQLPath, strings.NewReader(`{"query":"{ __typename }"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", "https://app.example.com")
		res := do(t, req)
		if res.header.Get("Access-Control-Allow-Origin") != "https://app.example.com" || !strings.Contains(res.header.Get("Access-Control-Expose-Headers"), "X-Ratelimit-Remaining") {
			t.Errorf("allowed origin's request: %v", res.header)
		}
	}
}
