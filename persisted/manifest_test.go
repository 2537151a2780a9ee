package persisted_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/marketgraph/marketgraph/persisted"
)

const (
	docAsset = `query Asset($id: ID!) { asset(id: $id) { symbol } }`
	docTicks = `subscription Ticks { priceTicks(assetIds: ["bitcoin"]) { sequence } }`
)

// apolloManifest builds an Apollo manifest; edit may spoil an entry.
func apolloManifest(t *testing.T, edit func(ops []map[string]any)) string {
	t.Helper()
	ops := []map[string]any{
		{"id": persisted.Hash(docAsset), "body": docAsset, "name": "Asset", "type": "query"},
		{"id": persisted.Hash(docTicks), "body": docTicks, "name": "Ticks", "type": "subscription"},
	}
	if edit != nil {
		edit(ops)
	}
	b, err := json.Marshal(map[string]any{"format": "apollo-persisted-query-manifest", "version": 1, "operations": ops})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "manifest.json")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadManifest(t *testing.T) {
	t.Run("Apollo", func(t *testing.T) {
		docs, err := persisted.LoadManifest(writeFile(t, apolloManifest(t, nil)))
		if err != nil {
			t.Fatal(err)
		}
		if len(docs) != 2 || docs[persisted.Hash(docAsset)] != docAsset || docs[persisted.Hash(docTicks)] != docTicks {
			t.Errorf("documents %v", docs)
		}
	})
	t.Run("Relay", func(t *testing.T) {
		// The Relay compiler's ids are MD5 digests; any id without spaces goes.
		b, _ := json.Marshal(map[string]string{"3be4abb81fa595e25eb725b2c6a87508": docTicks, "asset-query": docAsset})
		docs, err := persisted.LoadManifest(writeFile(t, string(b)))
		if err != nil {
			t.Fatal(err)
		}
		if len(docs) != 2 || docs["3be4abb81fa595e25eb725b2c6a87508"] != docTicks {
			t.Errorf("documents %v", docs)
		}
	})

	for _, tc := range []struct {
		name, content string
		mention       []string
	}{
		{"NotJSON", `{"format":`, []string{"not valid JSON"}},
		{"Array", `["query { a }"]`, []string{"Apollo", "Relay"}},
		{"Empty", `{}`, []string{"no documents"}},
		{"UnknownFormat", `{"format":"persisted-queries","version":1,"operations":[]}`, []string{"format", "apollo-persisted-query-manifest"}},
		{"ApolloVersion2", `{"format":"apollo-persisted-query-manifest","version":2,"operations":[]}`, []string{"version 1"}},
		{"ApolloNoOperations", `{"format":"apollo-persisted-query-manifest","version":1}`, []string{`"operations" is missing`}},
		{"ApolloOperationsNotArray", `{"format":"apollo-persisted-query-manifest","version":1,"operations":{}}`, []string{"array"}},
		{"ApolloEmpty", `{"format":"apollo-persisted-query-manifest","version":1,"operations":[]}`, []string{"no documents"}},
		{"ApolloWrongID", apolloManifest(t, func(ops []map[string]any) { ops[1]["id"] = persisted.Hash("{ other }") }),
			[]string{`operation 1 ("Ticks")`, persisted.Hash("{ other }"), "not the SHA-256", persisted.Hash(docTicks)}},
		{"ApolloUppercaseID", apolloManifest(t, func(ops []map[string]any) { ops[0]["id"] = strings.ToUpper(persisted.Hash(docAsset)) }),
			[]string{`operation 0 ("Asset")`, "not the SHA-256"}},
		{"ApolloMissingID", apolloManifest(t, func(ops []map[string]any) { delete(ops[0], "id") }), []string{`operation 0 ("Asset")`, "id is missing"}},
		{"ApolloMissingBody", apolloManifest(t, func(ops []map[string]any) { delete(ops[1], "body") }), []string{`operation 1 ("Ticks")`, "body is missing"}},
		{"ApolloBodyNotGraphQL", apolloManifest(t, func(ops []map[string]any) {
			ops[0]["body"], ops[0]["id"] = "query {", persisted.Hash("query {")
		}), []string{`operation 0 ("Asset")`, "does not parse"}},
		{"RelayNotString", `{"abc": {"text": "query { a }"}}`, []string{`entry "abc"`, "must be a string", "an object"}},
		{"RelayNotGraphQL", `{"abc": "SELECT 1"}`, []string{`entry "abc"`, "does not parse"}},
		{"RelayEmptyDocument", `{"abc": "  "}`, []string{`entry "abc"`, "empty"}},
		{"RelayIDWithSpace", `{"a b": "{ a }"}`, []string{`entry "a b"`, "spaces"}},
		{"RelayIDTooLong", `{"` + strings.Repeat("x", 300) + `": "{ a }"}`, []string{"longer than 256"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, tc.content)
			_, err := persisted.LoadManifest(path)
			if err == nil {
				t.Fatal("no error")
			}
			for _, m := range append(tc.mention, path) {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
		})
	}
	t.Run("MissingFile", func(t *testing.T) {
		_, err := persisted.LoadManifest(filepath.Join(t.TempDir(), "nope.json"))
		if err == nil || !strings.Contains(err.Error(), "nope.json") {
			t.Errorf("err = %v, want one naming the file", err)
		}
	})
}
