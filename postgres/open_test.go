package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph/postgres"
)

func TestOpen_Errors(t *testing.T) {
	const password = "s3cret-Pa55word"
	for _, tc := range []struct {
		name, url, wantHost string
	}{
		// Port 1 on the loopback refuses connections at once.
		{"Unreachable", "postgres://mg:" + password + "@127.0.0.1:1/mg?sslmode=disable", "127.0.0.1:1"},
		{"UnreachableKeywordValue", "host=127.0.0.1 port=1 user=mg password=" + password + " dbname=mg sslmode=disable", "127.0.0.1:1"},
		// pgx reports one line per host and attempt (sslmode=prefer tries
		// each address twice); the error must still be one line.
		{"UnreachableByName", "postgres://mg:" + password + "@localhost:1/mg", "localhost:1"},
		{"UnreachableSeveralHosts", "postgres://mg:" + password + "@127.0.0.1:1,127.0.0.1:2/mg", "127.0.0.1:2"},
		{"UnreachableIPv6", "postgres://mg:" + password + "@[::1]:1/mg?sslmode=disable", "[::1]:1"},
		{"Unparsable", "postgres://mg:" + password + "@127.0.0.1:notaport/mg", ""},
		{"Empty", "", ""},
		{"UnknownParameter", "postgres://mg:" + password + "@127.0.0.1/mg?sslmode=sometimes", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			db, err := postgres.Open(ctx, postgres.Config{URL: tc.url})
			if err == nil {
				db.Close()
				t.Fatalf("Open(%s) succeeded, want an error", tc.name)
			}
			msg := err.Error()
			t.Logf("Open: %s", msg)
			if !strings.Contains(msg, "DATABASE_URL") {
				t.Errorf("error %q does not name DATABASE_URL", msg)
			}
			if password != "" && strings.Contains(msg, password) {
				t.Errorf("error %q contains the password", msg)
			}
			if strings.ContainsAny(msg, "\r\n") {
				t.Errorf("error %q spans several lines", msg)
			}
			if tc.wantHost != "" && !strings.Contains(msg, tc.wantHost) {
				t.Errorf("error %q does not name the host %s", msg, tc.wantHost)
			}
		})
	}
}

func TestOpen_Ping(t *testing.T) {
	db := newDB(t, nil)
	if err := db.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}
