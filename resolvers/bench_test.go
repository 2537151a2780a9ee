package resolvers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph/auth"
	"github.com/marketgraph/marketgraph/loaders"
	"github.com/marketgraph/marketgraph/marketdata"
	"github.com/marketgraph/marketgraph/ratelimit"
	"github.com/marketgraph/marketgraph/server"
)

// BenchmarkHundredAssets measures the 100-asset query (quote, 7 daily
// candles and latest signal per asset) through the real handler on the
// memory store, beside a baseline that writes the identical response bytes
// from a plain net/http handler: the ratio is what GraphQL execution costs.
func BenchmarkHundredAssets(b *testing.B) {
	store, _, quotes := memoryFixture(b)
	// The production default window (1 ms): it is part of what a client waits.
	h := newHandler(store, quotes, slog.New(slog.DiscardHandler))
	reqBody, _ := json.Marshal(map[string]any{"query": hundredAssets})
	response := post(b, h, hundredAssets, nil)
	if r := decode(b, response); len(r.Errors) > 0 {
		b.Fatalf("errors: %s", response)
	}

	serve := func(b *testing.B, h http.Handler) {
		b.ReportAllocs()
		b.SetBytes(int64(len(response)))
		for b.Loop() {
			req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(reqBody))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/graphql-response+json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK || rec.Body.Len() != len(response) {
				b.Fatalf("status %d, %d bytes", rec.Code, rec.Body.Len())
			}
		}
	}
	b.Run("graphql", func(b *testing.B) { serve(b, h) })
	// The same through the resilience layer with a warm cache (a long TTL
	// on the fixed clock): what the production path adds on a cache hit.
	b.Run("graphql-resilient-warm", func(b *testing.B) {
		r := marketdata.NewResilient(quotes, marketdata.ResilienceConfig{CallsPerMinute: -1, CacheTTL: time.Hour, Now: func() time.Time { return quoteTime }})
		hr := newHandler(store, r, slog.New(slog.DiscardHandler))
		post(b, hr, hundredAssets, nil)
		before := quotes.calls.Load()
		serve(b, hr)
		if n := quotes.calls.Load() - before; n != 0 {
			b.Fatalf("%d provider calls on a warm cache", n)
		}
	})
	// Authentication (an API key, cached after the first request), the
	// request limiter and the cost budget, all in memory, with limits no
	// run reaches: what access control adds to every request.
	b.Run("graphql-access", func(b *testing.B) {
		key, _, err := auth.IssueAPIKey(context.Background(), store, auth.NewKey{Account: "bench", Scopes: []auth.Scope{auth.ScopeRead}}, nil)
		if err != nil {
			b.Fatal(err)
		}
		keys := auth.NewAPIKeyAuthenticator(auth.APIKeyConfig{Store: store, CacheTTL: time.Minute})
		defer keys.Close()
		lim, err := ratelimit.New(ratelimit.Config{AnonymousPerMinute: 1 << 30, AuthenticatedPerMinute: 1 << 30})
		if err != nil {
			b.Fatal(err)
		}
		ha := newHandlerConfig(store, quotes, slog.New(slog.DiscardHandler), loaders.DefaultWait, func(c *server.Config) {
			c.Auth = &auth.Authenticator{Keys: keys}
			c.AnonymousScopes = []auth.Scope{}
			c.RateLimit = lim.Handler
			c.Costs = &ratelimit.Costs{Budget: ratelimit.NewMemoryBudget(ratelimit.BudgetOptions{}), Authenticated: 1 << 40}
		})
		b.ReportAllocs()
		for b.Loop() {
			req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(reqBody))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/graphql-response+json")
			req.Header.Set("X-API-Key", key)
			rec := httptest.NewRecorder()
			ha.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK || rec.Body.Len() < len(response) {
				b.Fatalf("status %d, %d bytes: %.300s", rec.Code, rec.Body.Len(), rec.Body.String())
			}
		}
	})
	b.Run("baseline", func(b *testing.B) {
		serve(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var req struct{ Query string }
			if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "application/graphql-response+json; charset=utf-8")
			w.Write(response)
		}))
	})
}
