package ratelimit_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/auth"
	"github.com/marketgraph/marketgraph/ratelimit"
)

// start is a moment half-way through a budget window.
var start = time.Date(2030, 1, 2, 3, 4, 30, 0, time.UTC)

// budgetMakers build each Budget implementation on a clock.
var budgetMakers = []struct {
	name string
	new  func(t *testing.T, now func() time.Time) ratelimit.Budget
}{
	{"Memory", func(_ *testing.T, now func() time.Time) ratelimit.Budget {
		return ratelimit.NewMemoryBudget(ratelimit.BudgetOptions{Now: now})
	}},
	{"Redis", func(t *testing.T, now func() time.Time) ratelimit.Budget {
		return newRedis(t, ratelimit.RedisConfig{Timeout: 5 * time.Second}).Budget(ratelimit.BudgetOptions{Now: now})
	}},
}

// The budget is spent and refilled as documented, by every implementation.
func TestBudget_SpendAndRefill(t *testing.T) {
	for _, m := range budgetMakers {
		t.Run(m.name, func(t *testing.T) {
			clk := newClock(start)
			b := m.new(t, clk.Now)
			ctx := context.Background()
			resetAt := time.Date(2030, 1, 2, 3, 5, 0, 0, time.UTC)
			type step struct {
				name      string
				key       string
				peek      bool
				cost      int
				limit     int
				allowed   bool
				remaining int
			}
			run := func(steps []step, resetAt time.Time) {
				t.Helper()
				for _, s := range steps {
					var st ratelimit.State
					var err error
					if s.peek {
						st, err = b.Peek(ctx, s.key, s.limit)
					} else {
						st, err = b.Spend(ctx, s.key, s.cost, s.limit)
					}
					if err != nil {
						t.Fatalf("%s: %v", s.name, err)
					}
					want := ratelimit.State{Limit: s.limit, Cost: s.cost, Remaining: s.remaining, ResetAt: resetAt, Allowed: s.allowed}
					if !st.ResetAt.Equal(want.ResetAt) || st.Limit != want.Limit || st.Cost != want.Cost ||
						st.Remaining != want.Remaining || st.Allowed != want.Allowed {
						t.Errorf("%s: state %+v, want %+v", s.name, st, want)
					}
				}
			}
			run([]step{
				{"PeekFresh", "k", true, 0, 100, true, 100},
				{"Spend60", "k", false, 60, 100, true, 40},
				{"Overspend50Refused", "k", false, 50, 100, false, 40},
				{"RefusalSpentNothing", "k", false, 40, 100, true, 0},
				{"EmptyRefusesOne", "k", false, 1, 100, false, 0},
				{"ZeroCostAllowed", "k", false, 0, 100, true, 0},
				{"PeekSpendsNothing", "k", true, 0, 100, true, 0},
				{"OtherKeyWhole", "k2", true, 0, 100, true, 100},
				{"OverWholeLimitRefused", "k2", false, 101, 100, false, 100},
				{"HugeCostRefused", "k2", false, int(^uint(0) >> 1), 100, false, 100},
				{"Spend80", "k3", false, 80, 100, true, 20},
				{"LimitLoweredBelowUsed", "k3", false, 1, 50, false, 0},
			}, resetAt)

			clk.Set(resetAt.Add(-time.Millisecond))
			run([]step{{"StillEmptyBeforeReset", "k", true, 0, 100, true, 0}}, resetAt)

			clk.Set(resetAt)
			next := resetAt.Add(time.Minute)
			run([]step{
				{"RefilledAtReset", "k", true, 0, 100, true, 100},
				{"SpendAfterRefill", "k", false, 100, 100, true, 0},
			}, next)
		})
	}
}

// A refusal's error is COST_LIMIT_EXCEEDED and says why.
func TestState_Err(t *testing.T) {
	st := ratelimit.State{Limit: 100, Cost: 50, Remaining: 40, ResetAt: time.Date(2030, 1, 2, 3, 5, 0, 0, time.UTC)}
	err := st.Err()
	if marketgraph.ErrorCode(err) != marketgraph.ECOSTLIMIT {
		t.Fatalf("code = %q, want COST_LIMIT_EXCEEDED", marketgraph.ErrorCode(err))
	}
	want := "the operation costs 50 points; 40 of 100 remain until 2030-01-02T03:05:00Z"
	if got := marketgraph.ErrorMessage(err); got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
	st.Allowed = true
	if err := st.Err(); err != nil {
		t.Errorf("allowed state: Err = %v", err)
	}
}

// Replicas spending from one budget through separate clients never spend
// more than the limit between them.
func TestRedisBudget_ConcurrentReplicas(t *testing.T) {
	prefix := testPrefix()
	clk := newClock(start)
	var budgets []ratelimit.Budget
	for range 2 {
		budgets = append(budgets, newRedis(t, ratelimit.RedisConfig{Prefix: prefix, Timeout: 5 * time.Second}).Budget(ratelimit.BudgetOptions{Now: clk.Now}))
	}
	var spent atomic.Int64
	var wg sync.WaitGroup
	for g := range 16 {
		b := budgets[g%2]
		wg.Go(func() {
			for range 20 {
				st, err := b.Spend(context.Background(), "shared", 3, 100)
				if err != nil {
					t.Error(err)
					return
				}
				if st.Allowed {
					spent.Add(3)
				}
			}
		})
	}
	wg.Wait()
	if got := spent.Load(); got != 99 {
		t.Errorf("spent %d points of 100 in spends of 3, want 99", got)
	}
}

// A window's key expires when the window ends.
func TestRedisBudget_KeyExpires(t *testing.T) {
	prefix := testPrefix()
	r := newRedis(t, ratelimit.RedisConfig{Prefix: prefix, Timeout: 5 * time.Second})
	b := r.Budget(ratelimit.BudgetOptions{Now: newClock(start).Now})
	if _, err := b.Spend(context.Background(), "k", 5, 100); err != nil {
		t.Fatal(err)
	}
	key := prefix + "cost:{k}:" + strconv.FormatInt(start.Truncate(time.Minute).UnixMilli(), 10)
	ttl, err := admin(t).PTTL(context.Background(), key).Result()
	if err != nil || ttl <= 0 || ttl > 30*time.Second {
		t.Errorf("PTTL %s = %v, %v; want the 30s left in the window", key, ttl, err)
	}
}

// MemoryBudget forgets finished windows and holds at most MaxKeys callers.
func TestMemoryBudget_Bounded(t *testing.T) {
	clk := newClock(start)
	b := ratelimit.NewMemoryBudget(ratelimit.BudgetOptions{Now: clk.Now, MaxKeys: 3})
	ctx := context.Background()
	for i := range 10 {
		if _, err := b.Spend(ctx, fmt.Sprint("k", i), 1, 10); err != nil {
			t.Fatal(err)
		}
		if n := b.Len(); n > 3 {
			t.Fatalf("%d callers tracked, want at most 3", n)
		}
	}
	if _, err := b.Peek(ctx, "k9", 10); err != nil || b.Len() != 3 {
		t.Errorf("after peeking: %d callers, %v", b.Len(), err)
	}
	clk.Set(start.Add(time.Minute))
	if _, err := b.Peek(ctx, "k9", 10); err != nil || b.Len() != 0 {
		t.Errorf("next window: %d callers tracked, want 0 (%v)", b.Len(), err)
	}
}

// Costs charges the caller CallerKey names, with its limit.
func TestCosts(t *testing.T) {
	clk := newClock(start)
	costs := ratelimit.Costs{Budget: ratelimit.NewMemoryBudget(ratelimit.BudgetOptions{Now: clk.Now}), Anonymous: 10, Authenticated: 20}
	ctxOf := func(remote string, p *auth.Principal) context.Context {
		var ctx context.Context
		ratelimit.ClientIP(nil, "")(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { ctx = r.Context() })).
			ServeHTTP(nil, request(remote))
		if p != nil {
			ctx = auth.WithPrincipal(ctx, p)
		}
		return ctx
	}
	for _, tc := range []struct {
		name  string
		ctx   context.Context
		limit int
	}{
		{"Anonymous", ctxOf("203.0.113.7:1", nil), 10},
		{"OtherAddress", ctxOf("203.0.113.8:1", nil), 10},
		{"Account", ctxOf("203.0.113.7:1", &auth.Principal{AccountID: "a1"}), 20},
		{"Override", ctxOf("203.0.113.7:1", &auth.Principal{AccountID: "a2", CostPerMinute: 30}), 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := costs.Limit(tc.ctx); got != tc.limit {
				t.Errorf("Limit = %d, want %d", got, tc.limit)
			}
			st, err := costs.Spend(tc.ctx, 4)
			if err != nil || !st.Allowed || st.Remaining != tc.limit-4 {
				t.Errorf("Spend(4) = %+v, %v; want %d remaining", st, err, tc.limit-4)
			}
			st, err = costs.Peek(tc.ctx)
			if err != nil || st.Remaining != tc.limit-4 || st.Limit != tc.limit {
				t.Errorf("Peek = %+v, %v; want %d of %d remaining", st, err, tc.limit-4, tc.limit)
			}
		})
	}
	if got := (ratelimit.Costs{}).Limit(context.Background()); got != ratelimit.DefaultAnonymousCostPerMinute {
		t.Errorf("default anonymous limit = %d", got)
	}
	acct := auth.WithPrincipal(context.Background(), &auth.Principal{AccountID: "a"})
	if got := (ratelimit.Costs{}).Limit(acct); got != ratelimit.DefaultAuthenticatedCostPerMinute {
		t.Errorf("default account limit = %d", got)
	}
	if !strings.HasPrefix(ratelimit.CallerKey(acct), "acct:") {
		t.Errorf("CallerKey = %q", ratelimit.CallerKey(acct))
	}
}
