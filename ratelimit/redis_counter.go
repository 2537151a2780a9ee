package ratelimit

import (
	"context"
	"strconv"
	"time"

	"github.com/go-chi/httprate"
	"github.com/redis/go-redis/v9"

	"github.com/marketgraph/marketgraph"
)

// ErrLimited is what RedisCounter.IncrementBy returns when the increment
// would take the sliding-window count over the limit: another replica took
// the last requests of the window since httprate read the count. An
// httprate error handler must answer it as a refusal (Limiter does).
var ErrLimited = &marketgraph.Error{Code: marketgraph.ERATELIMITED, Message: "rate limit exceeded"}

// RedisCounter is an httprate.LimitCounter kept in Redis, so that every
// replica counts the same requests. One serves one httprate.RateLimiter:
// Config gives it the limit and window that IncrementBy enforces. Get it
// from Redis.Counter.
//
// httprate reads the counts (Get) and then increments (IncrementBy) under a
// mutex of its own, which orders the requests of one process but not those
// of several: two replicas can both read a count one below the limit. So
// IncrementBy computes the sliding-window rate again inside Redis, in the
// same Lua script that increments, and refuses with ErrLimited when it
// would exceed the limit. Both calls are one round trip each.
//
// The count of a window is the key Prefix+"req:{"+key+"}:"+window start in
// Unix milliseconds (the braces keep a caller's two windows in one Redis
// Cluster slot); it expires two windows after it was created, once it can
// no longer be the previous window.
//
// Windows are aligned to the wall clock (httprate does so for any counter
// but its own), so replicas whose clocks agree share them.
type RedisCounter struct {
	r      *Redis
	limit  int
	window time.Duration
}

var _ httprate.LimitCounter = (*RedisCounter)(nil)

// Counter returns a new counter for one httprate.RateLimiter.
func (r *Redis) Counter() *RedisCounter { return &RedisCounter{r: r} }

// Config records the limit IncrementBy enforces and the window length.
// httprate.NewRateLimiter calls it. A limit below 1 enforces nothing.
func (c *RedisCounter) Config(requestLimit int, windowLength time.Duration) {
	c.limit, c.window = requestLimit, windowLength
}

// Increment is IncrementBy(key, currentWindow, 1).
func (c *RedisCounter) Increment(key string, currentWindow time.Time) error {
	return c.IncrementBy(key, currentWindow, 1)
}

// incrementScript adds ARGV[1] to the current window's count (KEYS[1])
// unless the sliding-window rate, rounded as httprate rounds it, plus the
// increment would exceed the limit ARGV[2] (below 1: no limit). ARGV[3] is
// the weight of the previous window's count (KEYS[2]), ARGV[4] the
// expiry in milliseconds. It returns the new count, or -1 when refused.
var incrementScript = redis.NewScript(`
local amount = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
if limit > 0 then
  local curr = tonumber(redis.call('GET', KEYS[1]) or '0')
  local prev = tonumber(redis.call('GET', KEYS[2]) or '0')
  local rate = math.floor(prev * tonumber(ARGV[3]) + curr + 0.5)
  if rate + amount > limit then
    return -1
  end
end
local n = redis.call('INCRBY', KEYS[1], amount)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return n
`)

// IncrementBy adds amount to key's count in currentWindow if the limit
// allows it, and returns ErrLimited otherwise. While Redis is unreachable
// it returns nil when failing open and ErrUnavailable when failing closed.
func (c *RedisCounter) IncrementBy(key string, currentWindow time.Time, amount int) error {
	prevWeight := c.previousWeight(time.Now(), currentWindow)
	keys := []string{c.key(key, currentWindow), c.key(key, currentWindow.Add(-c.window))}
	ttl := 2 * c.window
	if ttl <= 0 {
		ttl = 2 * time.Minute
	}
	var n int64
	err := c.r.call(context.Background(), false, func(ctx context.Context) error {
		var err error
		n, err = incrementScript.Run(ctx, c.r.client, keys,
			amount, c.limit, strconv.FormatFloat(prevWeight, 'f', -1, 64), ttl.Milliseconds()).Int64()
		return err
	})
	switch {
	case err != nil:
		return c.r.failure()
	case n < 0:
		return ErrLimited
	}
	return nil
}

// Get returns key's counts in currentWindow and previousWindow, in one
// MGET. While Redis is unreachable it returns zeros when failing open and
// ErrUnavailable when failing closed.
func (c *RedisCounter) Get(key string, currentWindow, previousWindow time.Time) (curr, prev int, err error) {
	var vals []any
	err = c.r.call(context.Background(), false, func(ctx context.Context) error {
		var err error
		vals, err = c.r.client.MGet(ctx, c.key(key, currentWindow), c.key(key, previousWindow)).Result()
		return err
	})
	if err != nil {
		return 0, 0, c.r.failure()
	}
	return count(vals[0]), count(vals[1]), nil
}

// key names key's count in the window starting at w.
func (c *RedisCounter) key(key string, w time.Time) string {
	return c.r.prefix + "req:{" + key + "}:" + strconv.FormatInt(w.UnixMilli(), 10)
}

// previousWeight is how much of the previous window's count still falls in
// the sliding window at now, as httprate weighs it.
func (c *RedisCounter) previousWeight(now, currentWindow time.Time) float64 {
	if c.window <= 0 {
		return 0
	}
	elapsed := min(max(now.Sub(currentWindow), 0), c.window)
	return float64(c.window-elapsed) / float64(c.window)
}

// count reads one MGET value: a decimal string, or nil for no key.
func count(v any) int {
	s, _ := v.(string)
	n, _ := strconv.Atoi(s)
	return n
}
