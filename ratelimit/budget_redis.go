package ratelimit

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisBudget is a Budget kept in Redis, shared by replicas. A caller's
// points of one window are the key Prefix+"cost:{"+key+"}:"+window start in
// Unix milliseconds, expiring when the window ends. Get it from
// Redis.Budget.
//
// While Redis is unreachable, failing open allows any operation that costs
// no more than the whole limit and reports the budget as though nothing had
// been spent this window; failing closed returns ErrUnavailable.
type RedisBudget struct {
	r   *Redis
	now func() time.Time
}

var _ Budget = (*RedisBudget)(nil)

// Budget returns a RedisBudget; opts.MaxKeys does not apply.
func (r *Redis) Budget(opts BudgetOptions) *RedisBudget {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &RedisBudget{r: r, now: opts.Now}
}

// spendScript adds ARGV[1] to the points used (KEYS[1]) if they stay within
// ARGV[2], setting the key to expire in ARGV[3] milliseconds. It returns
// {1 if spent else 0, points used afterwards}.
var spendScript = redis.NewScript(`
local cost = tonumber(ARGV[1])
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used + cost > tonumber(ARGV[2]) then
  return {0, used}
end
used = redis.call('INCRBY', KEYS[1], cost)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {1, used}
`)

// Spend implements Budget, check-and-spend in one Lua script.
func (b *RedisBudget) Spend(ctx context.Context, key string, cost, limit int) (State, error) {
	now := b.now()
	start := windowOf(now)
	resetAt := start.Add(BudgetWindow)
	if cost <= 0 || cost > limit {
		// Decided without the spent points; Remaining needs them.
		return b.peek(ctx, key, limit, cost)
	}
	var res []int64
	err := b.r.call(ctx, false, func(ctx context.Context) error {
		var err error
		res, err = spendScript.Run(ctx, b.r.client, []string{b.key(key, start)},
			cost, limit, max(resetAt.Sub(now).Milliseconds(), 1)).Int64Slice()
		return err
	})
	if err != nil {
		return b.unavailable(cost, limit, resetAt)
	}
	st, _ := charge(int(res[1]), 0, limit, resetAt)
	st.Cost, st.Allowed = cost, res[0] == 1
	return st, nil
}

// Peek implements Budget: one GET.
func (b *RedisBudget) Peek(ctx context.Context, key string, limit int) (State, error) {
	return b.peek(ctx, key, limit, 0)
}

// peek reads key's points and decides cost without charging it: for Peek
// (0), and for Spend when the cost alone decides (below 1, or over the
// whole limit).
func (b *RedisBudget) peek(ctx context.Context, key string, limit, cost int) (State, error) {
	start := windowOf(b.now())
	resetAt := start.Add(BudgetWindow)
	var used int
	err := b.r.call(ctx, false, func(ctx context.Context) error {
		n, err := b.r.client.Get(ctx, b.key(key, start)).Int()
		if errors.Is(err, redis.Nil) {
			return nil
		}
		used = n
		return err
	})
	if err != nil {
		return b.unavailable(cost, limit, resetAt)
	}
	st, _ := charge(used, cost, limit, resetAt)
	return st, nil
}

// unavailable answers by the policy while Redis is unreachable.
func (b *RedisBudget) unavailable(cost, limit int, resetAt time.Time) (State, error) {
	if err := b.r.failure(); err != nil {
		return State{Limit: limit, Cost: cost, ResetAt: resetAt}, err
	}
	st, _ := charge(0, cost, limit, resetAt)
	return st, nil
}

// key names key's points in the window starting at start.
func (b *RedisBudget) key(key string, start time.Time) string {
	return b.r.prefix + "cost:{" + key + "}:" + strconv.FormatInt(start.UnixMilli(), 10)
}
