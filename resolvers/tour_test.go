package resolvers_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTour runs the README's tour queries through the real handler on the
// embedded default and compares the responses with golden files.
func TestTour(t *testing.T) {
	store, _, quotes := memoryFixture(t)
	h := newHandler(store, quotes, slog.New(slog.DiscardHandler))
	files, err := filepath.Glob(filepath.Join("..", "testdata", "tour", "*.graphql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no tour queries: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".graphql")
		t.Run(name, func(t *testing.T) {
			q, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			body := post(t, h, string(q), nil)
			if r := decode(t, body); len(r.Errors) > 0 {
				t.Fatalf("errors: %s", body)
			}
			golden(t, "tour-"+name, body)
		})
	}
}
