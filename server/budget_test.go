package server_test

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph/ratelimit"
	"github.com/marketgraph/marketgraph/server"
)

// The cost budget, through the handler: every response reports
// extensions.cost; operations spend their cost until one would overspend,
// which is refused with COST_LIMIT_EXCEEDED and its cost, spending nothing;
// a rateLimit-only query spends nothing; the next window refills it.
func TestCostBudget(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 11, 26, 10, 0, 10, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	ts, _ := newServer(t, func(c *server.Config) {
		c.Costs = &ratelimit.Costs{Budget: ratelimit.NewMemoryBudget(ratelimit.BudgetOptions{Now: clock}), Anonymous: 25}
		c.Introspection = true
	})
	type cost struct {
		Requested, Limit, Remaining int
		ResetAt                     string
	}
	send := func(query string) (res result, c cost, code string) {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"query": query})
		res = postQuery(t, ts, gqlResponse, string(body))
		var r struct {
			Errors []struct {
				Extensions struct {
					Code string
					Cost cost
				}
			}
			Extensions struct{ Cost cost }
		}
		if err := json.Unmarshal([]byte(res.body), &r); err != nil {
			t.Fatalf("%s: %v", res.body, err)
		}
		// Resolvers are nil in this schema: executed fields fail
		// (INTERNAL), which is not what this test is about.
		if len(r.Errors) > 0 && r.Errors[0].Extensions.Code == "COST_LIMIT_EXCEEDED" {
			return res, r.Errors[0].Extensions.Cost, "COST_LIMIT_EXCEEDED"
		}
		return res, r.Extensions.Cost, ""
	}
	const q = `{ asset(id: "bitcoin") { id symbol } }`
	_, first, code := send(q)
	if code != "" || first.Requested < 1 || first.Limit != 25 || first.Remaining != 25-first.Requested || first.ResetAt != "2026-11-26T10:01:00Z" {
		t.Fatalf("first: %+v %s", first, code)
	}
	spent := first.Requested
	for spent+first.Requested <= 25 {
		_, c, code := send(q)
		spent += first.Requested
		if code != "" || c.Remaining != 25-spent {
			t.Fatalf("after spending %d: %+v %s", spent, c, code)
		}
	}
	res, refused, code := send(q)
	if code != "COST_LIMIT_EXCEEDED" || refused.Requested != first.Requested || refused.Remaining != 25-spent || res.hasData() {
		t.Fatalf("overspending: %d %s", res.status, res.body)
	}
	// Reporting spends nothing, even with the budget spent.
	res, report, code := send(`{ rateLimit { __typename } }`)
	if code != "" || report.Remaining != 25-spent || report.Limit != 25 {
		t.Fatalf("rateLimit: %+v %s %s", report, code, res.body)
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	if _, c, code := send(q); code != "" || c.Remaining != 25-first.Requested || c.ResetAt != "2026-11-26T10:02:00Z" {
		t.Fatalf("next window: %+v %s", c, code)
	}
}
