// Package ratelimit limits what each caller may ask of the server: how many
// requests per minute (Limiter, HTTP middleware built on go-chi/httprate)
// and how many query-cost points per minute (Budget and Costs, charged by
// the GraphQL layer once it has costed an operation).
//
// # Callers
//
// A caller is its account when the auth middleware has put an
// auth.Principal in the request's context ("acct:" + AccountID), and its
// client IP otherwise ("ip:" + address). The client IP is the TCP peer,
// unless the peer is one of the explicitly trusted proxies, in which case it
// comes from X-Forwarded-For (or a single-IP header such as X-Real-IP) via
// chi's ClientIPFrom* middlewares: a forwarding header sent by anyone else
// changes nothing. Addresses are canonicalised: IPv4-mapped IPv6 becomes
// IPv4, zones are dropped, and IPv6 clients are keyed by their /64, which an
// IPv6 client typically controls whole (see ClientKey).
//
// # Request limits
//
// Limiter counts requests in httprate's sliding window of one minute: the
// current minute's count plus the previous minute's weighted by how much of
// it still overlaps the last 60 seconds. Anonymous callers and accounts have
// separate default limits; Principal.RatePerMinute overrides an account's.
// Every answer carries X-RateLimit-Limit, X-RateLimit-Remaining and
// X-RateLimit-Reset (Unix seconds, end of the current window); a refusal is
// 429 with Retry-After and a GraphQL response whose error has code
// RATE_LIMITED.
//
// Counters live in the process by default. With Redis (NewRedis) every
// replica counts in the same Redis keys (RedisCounter): the increment is a
// Lua script that re-checks the sliding-window rate and refuses atomically,
// so replicas racing for the last request of a window never admit more than
// the limit between them.
//
// # Cost budgets
//
// Budget keeps, per caller, the points spent in fixed one-minute windows
// aligned to the clock, like the points of GitHub's GraphQL API: an
// operation spends its cost; one that costs more than what remains is
// refused (COST_LIMIT_EXCEEDED) and spends nothing; the whole budget refills
// when the window ends (State.ResetAt). Peek reads a budget without
// spending. MemoryBudget serves one process; RedisBudget is shared by
// replicas, check-and-spend in one Lua script.
//
// # When Redis is unreachable
//
// Every Redis call has a short timeout (100 ms by default). After a failure
// the counters skip Redis for a back-off period (1 s) instead of waiting on
// it for every request, then let one call probe it. The outage and the
// recovery are logged once each, not every failed call. RedisConfig.FailOpen
// chooses what callers get meanwhile: failing open they are served without
// limits (headers and budgets read as full); failing closed they are
// refused with 503, Retry-After and code RATE_LIMITED, and budgets return
// ErrUnavailable. Redis.Health reports the state for /readyz.
package ratelimit
