package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph/internal/logtest"
	"github.com/marketgraph/marketgraph/internal/pgtest"
)

// env turns a map into a getenv function.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// startServe runs `marketgraph serve` on a free port and returns its base URL
// and a stop function that cancels it and returns run's error.
func startServe(t *testing.T, vars map[string]string, args ...string) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	stderr := &logtest.Buffer{}
	done := make(chan error, 1)
	go func() {
		err := run(ctx, append([]string{"serve", "-addr", "127.0.0.1:0"}, args...), env(vars), pw, stderr)
		pw.CloseWithError(io.EOF)
		done <- err
	}()
	sc := bufio.NewScanner(pr)
	if !sc.Scan() {
		cancel()
		t.Fatalf("serve printed nothing; stderr: %s; err: %v", stderr, <-done)
	}
	line := sc.Text()
	go io.Copy(io.Discard, pr)
	const prefix = "marketgraph listening on "
	if !strings.HasPrefix(line, prefix) {
		cancel()
		t.Fatalf("first line %q", line)
	}
	base := strings.TrimSuffix(strings.TrimPrefix(line, prefix), "/graphql")
	return base, func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(20 * time.Second):
			t.Fatal("serve did not stop")
			return nil
		}
	}
}

func query(t *testing.T, base, q string) map[string]any {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": q})
	resp, err := http.Post(base+"/graphql", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if out["errors"] != nil {
		t.Fatalf("errors: %v", out["errors"])
	}
	return out
}

const tourQuery = `{ assets(first: 100) { totalCount edges { node { id quote { price } candles(interval: MINUTE, last: 2) { close } latestSignal { kind } } } } }`

// TestServe_Memory is the newcomer's path: no database, the embedded default,
// the playground, health checks, and a clean shutdown on cancel.
func TestServe_Memory(t *testing.T) {
	base, stop := startServe(t, nil)
	out := query(t, base, tourQuery)
	assets := out["data"].(map[string]any)["assets"].(map[string]any)
	if n := assets["totalCount"].(float64); n != 100 {
		t.Errorf("totalCount = %v, want 100", n)
	}
	for _, e := range assets["edges"].([]any) {
		node := e.(map[string]any)["node"].(map[string]any)
		if node["quote"] == nil || len(node["candles"].([]any)) != 2 {
			t.Fatalf("incomplete asset %v", node)
		}
	}
	for path, want := range map[string]int{"/playground": 200, "/healthz": 200, "/readyz": 200} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s = %d, want %d", path, resp.StatusCode, want)
		}
	}
	if err := stop(); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

// TestServe_Postgres is the second half of the newcomer's path: migrate,
// seed (twice), serve, and the same answers as the embedded default.
func TestServe_Postgres(t *testing.T) {
	url := pgtest.NewDatabase(t)
	vars := map[string]string{"DATABASE_URL": url}
	ctx := context.Background()

	var out bytes.Buffer
	if err := run(ctx, []string{"serve", "-addr", "127.0.0.1:0"}, env(vars), &out, io.Discard); err == nil || !strings.Contains(err.Error(), "migrate") {
		t.Fatalf("serve with pending migrations: err = %v, want one naming migrate", err)
	}
	if err := run(ctx, []string{"migrate"}, env(vars), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(ctx, []string{"migrate"}, env(vars), &out, io.Discard); err != nil || !strings.Contains(out.String(), "no pending") {
		t.Fatalf("second migrate: %v %q", err, out.String())
	}
	for i, want := range []string{"seeded 100 assets", "already seeded"} {
		out.Reset()
		if err := run(ctx, []string{"seed"}, env(vars), &out, io.Discard); err != nil {
			t.Fatalf("seed %d: %v", i, err)
		}
		if !strings.HasPrefix(out.String(), want) {
			t.Errorf("seed %d printed %q, want it to start with %q", i, out.String(), want)
		}
	}
	// With DATABASE_URL the server is not in dev mode: anonymous reads are
	// off unless enabled.
	vars["MARKETGRAPH_ANONYMOUS_READ"] = "true"
	base, stop := startServe(t, vars)
	got := query(t, base, tourQuery)
	if err := stop(); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	assets := got["data"].(map[string]any)["assets"].(map[string]any)
	if n := assets["totalCount"].(float64); n != 100 {
		t.Errorf("totalCount = %v after seeding twice, want 100", n)
	}
}

// TestRun_Config checks that bad configuration fails fast with a message
// naming the setting to fix, and never echoes a password.
func TestRun_Config(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		vars    map[string]string
		mention string
	}{
		{"UnknownCommand", []string{"frobnicate"}, nil, "frobnicate"},
		{"BadEnvInt", []string{"serve"}, map[string]string{"MARKETGRAPH_DB_MAX_CONNS": "many"}, "MARKETGRAPH_DB_MAX_CONNS"},
		{"BadEnvDuration", []string{"serve"}, map[string]string{"MARKETGRAPH_BATCH_WAIT": "soon"}, "MARKETGRAPH_BATCH_WAIT"},
		{"BadEnvBool", []string{"serve"}, map[string]string{"MARKETGRAPH_DEV": "perhaps"}, "MARKETGRAPH_DEV"},
		{"BatchWaitTooLong", []string{"serve", "-batch-wait", "1s"}, nil, "batch-wait"},
		{"BadLogLevel", []string{"serve", "-log-level", "loud"}, nil, "log-level"},
		{"MigrateWithoutDatabase", []string{"migrate"}, nil, "DATABASE_URL"},
		{"Unreachable", []string{"migrate"}, map[string]string{"DATABASE_URL": "postgres://u:s3cret@127.0.0.1:1/x?connect_timeout=2"}, "DATABASE_URL"},
		{"MalformedURL", []string{"seed"}, map[string]string{"DATABASE_URL": "postgres://u:s3cret@[::1"}, "DATABASE_URL"},
		{"BadAddr", []string{"serve", "-addr", "256.0.0.1:99999"}, nil, "MARKETGRAPH_ADDR"},
		{"OperationOutlivesWrite", []string{"serve", "-operation-timeout", "40s"}, nil, "MARKETGRAPH_WRITE_TIMEOUT"},
		{"ZeroDepth", []string{"serve", "-max-depth", "0"}, nil, "max-depth"},
		{"StrayArgument", []string{"serve", "extra"}, nil, "extra"},
		{"OriginWithPath", []string{"serve", "-allowed-origins", "https://a.example,https://b.example/app"}, nil, "MARKETGRAPH_ALLOWED_ORIGINS"},
		{"OriginWithoutScheme", []string{"serve"}, map[string]string{"MARKETGRAPH_ALLOWED_ORIGINS": "app.example.com"}, "MARKETGRAPH_ALLOWED_ORIGINS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), tt.args, env(tt.vars), io.Discard, io.Discard)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %q does not name %q", err, tt.mention)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error leaks the password: %q", err)
			}
		})
	}
	t.Run("Version", func(t *testing.T) {
		var out bytes.Buffer
		if err := run(context.Background(), []string{"version"}, env(nil), &out, io.Discard); err != nil || !strings.HasPrefix(out.String(), "marketgraph ") {
			t.Errorf("version: %v %q", err, out.String())
		}
	})
}

// TestServe_RedisBus: with REDIS_URL the server's bus is Redis, and /readyz
// reports it; a bad REDIS_URL fails fast naming the setting.
func TestServe_RedisBus(t *testing.T) {
	redisURL := os.Getenv("TEST_REDIS_URL")
	if redisURL == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("TEST_REDIS_URL is not set")
		}
		t.Skip("TEST_REDIS_URL is not set: skipping the Redis bus test")
	}
	base, stop := startServe(t, map[string]string{"REDIS_URL": redisURL})
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err := stop(); err != nil {
		t.Error(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"bus":"ok"`) {
		t.Errorf("/readyz = %d %s, want the bus reported ok", resp.StatusCode, body)
	}

	err = run(context.Background(), []string{"serve", "-addr", "127.0.0.1:0"},
		env(map[string]string{"REDIS_URL": "redis://u:s3cret@127.0.0.1:1/0"}), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "REDIS_URL") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("unreachable Redis: err = %v, want one naming REDIS_URL without the password", err)
	}
}
