package server_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/server"
)

func TestHealth_Healthz(t *testing.T) {
	ts, _ := newServer(t, func(c *server.Config) {
		// Liveness does not depend on the store.
		c.Ready = func(context.Context) error { return errors.New("down") }
	})
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		t.Run(method, func(t *testing.T) {
			req, err := http.NewRequest(method, ts.URL+"/healthz", nil)
			if err != nil {
				t.Fatal(err)
			}
			res := do(t, req)
			if res.status != http.StatusOK {
				t.Errorf("status = %d, want 200", res.status)
			}
			want := `{"status":"ok"}`
			if method == http.MethodHead {
				want = ""
			}
			if res.body != want {
				t.Errorf("body = %q, want %q", res.body, want)
			}
			if got := res.header.Get("Content-Type"); got != "application/json; charset=utf-8" {
				t.Errorf("Content-Type = %q", got)
			}
			if got := res.header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
		})
	}
}

func TestHealth_Readyz(t *testing.T) {
	secret := errors.New(`failed to connect to "postgres://app:hunter2@10.0.0.5:5432/market": dial tcp: connection refused`)
	for _, tc := range []struct {
		name   string
		ready  func(context.Context) error
		status int
		body   string
	}{
		{"NoCheck", nil, http.StatusOK, `{"status":"ready","checks":{"store":"ok"}}`},
		{"StoreUp", func(context.Context) error { return nil }, http.StatusOK, `{"status":"ready","checks":{"store":"ok"}}`},
		{"StoreDown", func(context.Context) error { return fmt.Errorf("ping: %w", secret) }, http.StatusServiceUnavailable, `{"status":"unavailable","checks":{"store":"unreachable"}}`},
		{"StoreTimeout", func(ctx context.Context) error { return fmt.Errorf("ping: %w", context.DeadlineExceeded) }, http.StatusServiceUnavailable, `{"status":"unavailable","checks":{"store":"timeout"}}`},
		{"DomainError", func(context.Context) error {
			return marketgraph.Errorf(marketgraph.EUPSTREAM, "migrations pending")
		}, http.StatusServiceUnavailable, `{"status":"unavailable","checks":{"store":"migrations pending"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hadDeadline bool
			ts, logs := newServer(t, func(c *server.Config) {
				if tc.ready != nil {
					c.Ready = func(ctx context.Context) error {
						_, hadDeadline = ctx.Deadline()
						return tc.ready(ctx)
					}
				}
			})
			req, err := http.NewRequest(http.MethodGet, ts.URL+"/readyz", nil)
			if err != nil {
				t.Fatal(err)
			}
			res := do(t, req)
			if res.status != tc.status || res.body != tc.body {
				t.Errorf("got %d %s, want %d %s", res.status, res.body, tc.status, tc.body)
			}
			if strings.Contains(res.body, "hunter2") || strings.Contains(res.body, "postgres://") {
				t.Errorf("the body leaks the DSN: %s", res.body)
			}
			if tc.ready != nil && !hadDeadline {
				t.Error("the check ran without a deadline")
			}
			recs := logs.find("readiness check failed")
			if tc.status == http.StatusOK {
				if len(recs) != 0 {
					t.Errorf("logged a failure: %+v", recs)
				}
				return
			}
			if len(recs) != 1 || recs[0].Attrs["request_id"] != res.header.Get("X-Request-Id") {
				t.Fatalf("failure records = %+v, want one with the request id", recs)
			}
			logged := fmt.Sprint(recs[0].Attrs["error"])
			if tc.name == "StoreDown" && (!strings.Contains(logged, "connection refused") || !strings.Contains(logged, "postgres://app:xxxxx@10.0.0.5")) {
				t.Errorf("the log lacks the real error: %v", logged)
			}
			if strings.Contains(logged, "hunter2") {
				t.Errorf("the log holds the password: %v", logged)
			}
		})
	}
}

// Components show their state; a degraded one makes the answer "degraded"
// but keeps 200, since the replica still serves (stale quotes, say).
func TestHealth_ReadyzComponents(t *testing.T) {
	for _, tc := range []struct {
		name     string
		degraded bool
		body     string
	}{
		{"Healthy", false, `{"status":"ready","checks":{"provider":"closed","store":"ok"}}`},
		{"Degraded", true, `{"status":"degraded","checks":{"provider":"open","store":"ok"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, _ := newServer(t, func(c *server.Config) {
				c.Components = map[string]server.Component{
					"provider": func(context.Context) (string, bool) {
						if tc.degraded {
							return "open", true
						}
						return "closed", false
					},
				}
			})
			req, _ := http.NewRequest(http.MethodGet, ts.URL+"/readyz", nil)
			res := do(t, req)
			if res.status != http.StatusOK || res.body != tc.body {
				t.Errorf("got %d %s, want 200 %s", res.status, res.body, tc.body)
			}
		})
	}
}
