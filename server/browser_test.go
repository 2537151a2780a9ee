package server_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph/graph"
	"github.com/marketgraph/marketgraph/server"
)

// chromium finds a headless browser: $CHROMIUM, else Debian's chromium.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no chromium on PATH (apt-get install chromium, or set CHROMIUM)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// TestPlayground_RendersInBrowser opens /playground in headless Chromium with
// no network beyond this server, and checks that GraphiQL rendered (its
// scripts loaded from the binary and passed their integrity checks) and
// fetched the schema from /graphql.
func TestPlayground_RendersInBrowser(t *testing.T) {
	bin := chromium(t)
	var introspections atomic.Int64
	h := server.New(server.Config{
		Schema:        graph.NewExecutableSchema(graph.Config{}),
		Logger:        slog.New(slog.DiscardHandler),
		Playground:    true,
		Introspection: true,
	})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == server.GraphQLPath && r.Method == http.MethodPost {
			body, _ := io.ReadAll(r.Body)
			if bytes.Contains(body, []byte("__schema")) {
				introspections.Add(1)
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// Flags: headless, no sandbox (CI runs as root), and nothing that would
	// reach for the internet on its own.
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(), "--virtual-time-budget=15000", "--dump-dom", ts.URL+"/playground")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	dom, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(string(dom), "graphiql-container") {
		t.Errorf("GraphiQL did not render; DOM:\n%.2000s", dom)
	}
	if introspections.Load() == 0 {
		t.Errorf("GraphiQL never asked /graphql for the schema")
	}
}
