package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/marketgraph/marketgraph/persisted"
)

// postPersisted posts body to /graphql and returns the status and the decoded
// response.
func postPersisted(t *testing.T, base string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, base+"/graphql", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/graphql-response+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

func firstErrorCode(out map[string]any) string {
	errs, _ := out["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	ext, _ := errs[0].(map[string]any)["extensions"].(map[string]any)
	code, _ := ext["code"].(string)
	return code
}

// TestServe_PersistedOnly: with -persisted-only and an Apollo manifest the
// server runs the manifest's documents by id and refuses anything else.
func TestServe_PersistedOnly(t *testing.T) {
	const doc = `query Symbol($id: ID!) { asset(id: $id) { symbol } }`
	manifest, _ := json.Marshal(map[string]any{
		"format": "apollo-persisted-query-manifest", "version": 1,
		"operations": []map[string]any{{"id": persisted.Hash(doc), "body": doc, "name": "Symbol", "type": "query"}},
	})
	path := filepath.Join(t.TempDir(), "persisted-query-manifest.json")
	if err := os.WriteFile(path, manifest, 0o600); err != nil {
		t.Fatal(err)
	}
	base, stop := startServe(t, map[string]string{"MARKETGRAPH_PERSISTED_MANIFEST": path}, "-persisted-only")
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()

	status, out := postPersisted(t, base, map[string]any{"documentId": "sha256:" + persisted.Hash(doc), "variables": map[string]any{"id": "bitcoin"}})
	if data, _ := json.Marshal(out["data"]); status != 200 || string(data) != `{"asset":{"symbol":"BTC"}}` {
		t.Errorf("listed document: %d %v", status, out)
	}
	status, out = postPersisted(t, base, map[string]any{"query": `{ asset(id: "bitcoin") { symbol } }`})
	if status != 400 || firstErrorCode(out) != "PERSISTED_QUERY_REQUIRED" || out["data"] != nil {
		t.Errorf("free-form query: %d %v, want 400 PERSISTED_QUERY_REQUIRED", status, out)
	}
}

func TestConfig_Persisted(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"id-1": 42}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		vars    map[string]string
		mention []string
	}{
		{"OnlyWithoutManifest", []string{"serve", "-persisted-only"}, nil, []string{"-persisted-manifest"}},
		{"OnlyFromEnvironment", []string{"serve"}, map[string]string{"MARKETGRAPH_PERSISTED_ONLY": "true"}, []string{"MARKETGRAPH_PERSISTED_MANIFEST"}},
		{"BadBool", []string{"serve"}, map[string]string{"MARKETGRAPH_APQ": "sometimes"}, []string{"MARKETGRAPH_APQ"}},
		{"CacheSize", []string{"serve", "-apq-cache-size", "0"}, nil, []string{"apq-cache-size"}},
		{"ManifestMissing", []string{"serve", "-addr", "127.0.0.1:0", "-persisted-manifest", filepath.Join(t.TempDir(), "nope.json")}, nil, []string{"MARKETGRAPH_PERSISTED_MANIFEST", "nope.json"}},
		{"ManifestMalformed", []string{"serve", "-addr", "127.0.0.1:0", "-persisted-manifest", bad}, nil, []string{"MARKETGRAPH_PERSISTED_MANIFEST", bad, `"id-1"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := run(context.Background(), tc.args, env(tc.vars), io.Discard, io.Discard)
			if err == nil {
				t.Fatal("no error")
			}
			for _, m := range tc.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
		})
	}
	t.Run("Defaults", func(t *testing.T) {
		c, err := parseConfig("serve", nil, env(nil), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if !c.Persisted.APQ || c.Persisted.APQCacheSize != 1000 || c.Persisted.Only || c.Persisted.Manifest != "" {
			t.Errorf("defaults %+v, want APQ on with 1000 entries, no manifest", c.Persisted)
		}
	})
}

// TestServe_APQRedis: with REDIS_URL a query registered by hash lands in
// Redis, where the other replicas find it.
func TestServe_APQRedis(t *testing.T) {
	redisURL := os.Getenv("TEST_REDIS_URL")
	if redisURL == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("TEST_REDIS_URL is not set")
		}
		t.Skip("TEST_REDIS_URL is not set: skipping the Redis APQ test")
	}
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	admin := redis.NewClient(opts)
	defer admin.Close()
	// A document no other run sends, so the shared default prefix is safe.
	query := `{ ` + "a" + strings.ToLower(rand.Text()[:10]) + `: __typename }`
	key := persisted.DefaultRedisPrefix + persisted.Hash(query)
	defer admin.Del(context.Background(), key)

	base, stop := startServe(t, map[string]string{"REDIS_URL": redisURL})
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()
	ext := map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": persisted.Hash(query)}}
	if status, out := postPersisted(t, base, map[string]any{"extensions": ext}); status != 400 || firstErrorCode(out) != "PERSISTED_QUERY_NOT_FOUND" {
		t.Fatalf("hash alone before registration: %d %v", status, out)
	}
	if status, out := postPersisted(t, base, map[string]any{"extensions": ext, "query": query}); status != 200 || out["errors"] != nil {
		t.Fatalf("registration: %d %v", status, out)
	}
	if got, err := admin.Get(context.Background(), key).Result(); err != nil || got != query {
		t.Errorf("Redis %s = %q, %v; want the query", key, got, err)
	}
}
