package ratelimit

import (
	"context"
	"sync"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/auth"
)

// BudgetWindow is the length of a cost-budget window. Windows are aligned
// to the clock (each starts on a minute), the same for every caller.
const BudgetWindow = time.Minute

// Defaults of Costs.
const (
	DefaultAnonymousCostPerMinute     = 20_000
	DefaultAuthenticatedCostPerMinute = 200_000
)

// State is a caller's cost budget after Spend or Peek.
type State struct {
	// Limit is the points the caller may spend per window.
	Limit int
	// Cost is what the operation asked to spend (0 for Peek).
	Cost int
	// Remaining is the points left in the window, after the operation's
	// cost when it was allowed.
	Remaining int
	// ResetAt is when the window ends and the budget is whole again.
	ResetAt time.Time
	// Allowed says whether the operation was charged and may run. Peek
	// always allows.
	Allowed bool
}

// Err returns nil for an allowed operation, and the COST_LIMIT_EXCEEDED
// error for a refused one; its message gives the cost, what remains and
// when the budget refills. The GraphQL layer adds the cost to the error's
// extensions.
func (s State) Err() error {
	if s.Allowed {
		return nil
	}
	return marketgraph.Errorf(marketgraph.ECOSTLIMIT,
		"the operation costs %d points; %d of %d remain until %s",
		s.Cost, s.Remaining, s.Limit, s.ResetAt.UTC().Format(time.RFC3339))
}

// Budget keeps the points each caller has spent in the current window.
type Budget interface {
	// Spend charges cost to key's budget of limit points per window if it
	// fits in what remains; if not, the operation is refused
	// (State.Allowed false) and nothing is spent. A cost below 1 spends
	// nothing and is allowed. It returns ErrUnavailable (RATE_LIMITED)
	// only when the budget cannot be read and the policy is to fail
	// closed.
	Spend(ctx context.Context, key string, cost, limit int) (State, error)
	// Peek returns key's budget without spending any of it. It returns
	// ErrUnavailable under the same condition as Spend.
	Peek(ctx context.Context, key string, limit int) (State, error)
}

// charge decides one Spend or Peek given the points already used, and
// returns the state and the points used afterwards. Used may exceed limit
// when an account's limit was lowered mid-window.
func charge(used, cost, limit int, resetAt time.Time) (State, int) {
	st := State{Limit: limit, Cost: cost, ResetAt: resetAt, Allowed: true}
	switch {
	case cost <= 0:
	case used <= limit && cost <= limit-used: // no overflow: both sides are small
		used += cost
	default:
		st.Allowed = false
	}
	st.Remaining = max(limit-used, 0)
	return st, used
}

// windowOf returns the start of the budget window holding t.
func windowOf(t time.Time) time.Time { return t.Truncate(BudgetWindow) }

// BudgetOptions configures NewMemoryBudget and Redis.Budget.
type BudgetOptions struct {
	// Now is the clock (default time.Now); tests move it.
	Now func() time.Time
	// MaxKeys bounds how many callers a MemoryBudget tracks in one window
	// (default 100,000): past it, a new caller evicts an arbitrary one,
	// whose next operation finds its budget whole. Redis ignores it.
	MaxKeys int
}

// MemoryBudget is a Budget for one process. Every caller shares the one
// window, so when it ends all of them are forgotten at once: memory holds
// only the callers of the current minute, at most MaxKeys.
type MemoryBudget struct {
	now     func() time.Time
	maxKeys int

	mu     sync.Mutex
	window time.Time
	used   map[string]int
}

var _ Budget = (*MemoryBudget)(nil)

// NewMemoryBudget returns an empty MemoryBudget.
func NewMemoryBudget(opts BudgetOptions) *MemoryBudget {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxKeys <= 0 {
		opts.MaxKeys = 100_000
	}
	return &MemoryBudget{now: opts.Now, maxKeys: opts.MaxKeys, used: map[string]int{}}
}

// Spend implements Budget. It never fails.
func (b *MemoryBudget) Spend(_ context.Context, key string, cost, limit int) (State, error) {
	start := windowOf(b.now())
	b.mu.Lock()
	defer b.mu.Unlock()
	b.roll(start)
	old, tracked := b.used[key]
	st, used := charge(old, cost, limit, start.Add(BudgetWindow))
	if used != old {
		if !tracked && len(b.used) >= b.maxKeys {
			for k := range b.used {
				delete(b.used, k)
				break
			}
		}
		b.used[key] = used
	}
	return st, nil
}

// Peek implements Budget. It never fails.
func (b *MemoryBudget) Peek(_ context.Context, key string, limit int) (State, error) {
	start := windowOf(b.now())
	b.mu.Lock()
	defer b.mu.Unlock()
	b.roll(start)
	st, _ := charge(b.used[key], 0, limit, start.Add(BudgetWindow))
	return st, nil
}

// roll forgets every caller when the window has changed.
func (b *MemoryBudget) roll(start time.Time) {
	if !b.window.Equal(start) {
		b.window = start
		clear(b.used)
	}
}

// Len returns how many callers have spent in the current window.
func (b *MemoryBudget) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.used)
}

// Costs charges operations to their caller's budget: the key is CallerKey,
// the limit Principal.CostPerMinute when positive, or the default for
// anonymous callers or accounts.
type Costs struct {
	// Budget keeps the points.
	Budget Budget
	// Anonymous and Authenticated are the points per minute of anonymous
	// callers and of accounts (0: DefaultAnonymousCostPerMinute,
	// DefaultAuthenticatedCostPerMinute).
	Anonymous     int
	Authenticated int
}

// Limit returns the points per minute of the caller in ctx.
func (c Costs) Limit(ctx context.Context) int {
	p := auth.PrincipalFrom(ctx)
	switch {
	case p == nil:
		return orDefault(c.Anonymous, DefaultAnonymousCostPerMinute)
	case p.CostPerMinute > 0:
		return p.CostPerMinute
	default:
		return orDefault(c.Authenticated, DefaultAuthenticatedCostPerMinute)
	}
}

// Spend charges cost to the caller in ctx (see Budget.Spend).
func (c Costs) Spend(ctx context.Context, cost int) (State, error) {
	return c.Budget.Spend(ctx, CallerKey(ctx), cost, c.Limit(ctx))
}

// Peek returns the budget of the caller in ctx without spending (see
// Budget.Peek).
func (c Costs) Peek(ctx context.Context) (State, error) {
	return c.Budget.Peek(ctx, CallerKey(ctx), c.Limit(ctx))
}

// orDefault returns v, or def when v is not positive.
func orDefault(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}
