package server_test

import (
	"crypto/sha256"
	"encoding/base64"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/marketgraph/marketgraph/server"
)

// The IDE must work with no internet: every script and stylesheet the page
// loads comes from this server, and its integrity attribute matches the
// bytes served (a browser refuses the asset otherwise).
func TestPlayground_AssetsAreLocal(t *testing.T) {
	ts, _ := newServer(t, func(c *server.Config) { c.Playground = true })
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/playground", nil)
	page := do(t, req)
	if page.status != http.StatusOK {
		t.Fatalf("playground: %d", page.status)
	}
	tag := regexp.MustCompile(`(?s)(?:src|href)="([^"]+)"\s+integrity="([^"]+)"`)
	found := tag.FindAllStringSubmatch(page.body, -1)
	if len(found) < 4 {
		t.Fatalf("found %d assets with integrity in the page, want at least 4 (GraphiQL js/css, React, ReactDOM)", len(found))
	}
	for _, m := range found {
		url, integrity := html.UnescapeString(m[1]), html.UnescapeString(m[2])
		if !strings.HasPrefix(url, "/playground/assets/") {
			t.Errorf("asset %s is not served locally", url)
			continue
		}
		req, _ := http.NewRequest(http.MethodGet, ts.URL+url, nil)
		res := do(t, req)
		if res.status != http.StatusOK || len(res.body) == 0 {
			t.Errorf("GET %s = %d (%d bytes)", url, res.status, len(res.body))
			continue
		}
		sum := sha256.Sum256([]byte(res.body))
		if got := "sha256-" + base64.StdEncoding.EncodeToString(sum[:]); got != integrity {
			t.Errorf("%s: integrity %s, served bytes hash to %s", url, integrity, got)
		}
	}
	if strings.Contains(page.body, "cdn.") {
		t.Errorf("the page still mentions a CDN")
	}
	t.Run("UnknownAsset", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+"/playground/assets/nope.js", nil)
		if res := do(t, req); res.status != http.StatusNotFound {
			t.Errorf("status %d, want 404", res.status)
		}
	})
	t.Run("OffMeansNoAssets", func(t *testing.T) {
		off, _ := newServer(t, func(c *server.Config) { c.Playground = false })
		req, _ := http.NewRequest(http.MethodGet, off.URL+"/playground/assets/graphiql.min.js", nil)
		if res := do(t, req); res.status != http.StatusNotFound {
			t.Errorf("status %d, want 404", res.status)
		}
	})
}
