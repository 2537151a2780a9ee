package resolvers_test

import (
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/marketgraph/marketgraph/loaders"
	"github.com/marketgraph/marketgraph/ratelimit"
	"github.com/marketgraph/marketgraph/server"
)

// Query.rateLimit reports the caller's cost budget as the server left it,
// without spending; me is null for an anonymous caller.
func TestRateLimitAndMe(t *testing.T) {
	store, _, quotes := memoryFixture(t)
	h := newHandlerConfig(store, quotes, slog.New(slog.DiscardHandler), loaders.DefaultWait, func(c *server.Config) {
		c.Costs = &ratelimit.Costs{Budget: ratelimit.NewMemoryBudget(ratelimit.BudgetOptions{}), Anonymous: 1000}
	})
	post(t, h, `{ asset(id: "bitcoin") { symbol } }`, nil)
	var r struct {
		Data struct {
			RateLimit *struct {
				Limit, Cost, Remaining int
				ResetAt                string
			}
			Me *struct{ ID string }
		}
		Errors []any
	}
	body := post(t, h, `{ rateLimit { limit cost remaining resetAt } me { id } }`, nil)
	if err := json.Unmarshal(body, &r); err != nil || len(r.Errors) > 0 {
		t.Fatalf("%s: %v", body, err)
	}
	rl := r.Data.RateLimit
	if rl == nil || rl.Limit != 1000 || rl.Remaining >= 1000 || rl.Remaining <= 0 || rl.Cost < 1 || rl.ResetAt == "" {
		t.Fatalf("rateLimit %+v from %s", rl, body)
	}
	if r.Data.Me != nil {
		t.Fatalf("me %+v for an anonymous caller", r.Data.Me)
	}
	again := post(t, h, `{ rateLimit { remaining } }`, nil)
	var r2 struct {
		Data struct{ RateLimit struct{ Remaining int } }
	}
	_ = json.Unmarshal(again, &r2)
	if r2.Data.RateLimit.Remaining != rl.Remaining {
		t.Fatalf("reporting spent points: %d then %d", rl.Remaining, r2.Data.RateLimit.Remaining)
	}
}
