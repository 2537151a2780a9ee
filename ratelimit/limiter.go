package ratelimit

import (
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/go-chi/httprate"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/auth"
)

// Defaults of Config.
const (
	DefaultAnonymousPerMinute     = 60
	DefaultAuthenticatedPerMinute = 600
)

// window is the length of the request-limit window.
const window = time.Minute

// shards is how many httprate limiters share one limit. httprate holds a
// mutex of its own across reading and incrementing a count: with Redis, two
// round trips during which every other request of the process waits.
// Spreading callers over several limiters (a caller always lands on the
// same one, so its count stays exact) lets that many run at once.
const shards = 16

// Config configures New.
type Config struct {
	// AnonymousPerMinute is how many requests a client IP without
	// credentials may make per minute (default DefaultAnonymousPerMinute).
	AnonymousPerMinute int
	// AuthenticatedPerMinute is how many requests an account may make per
	// minute unless its Principal.RatePerMinute says otherwise (default
	// DefaultAuthenticatedPerMinute).
	AuthenticatedPerMinute int
	// TrustedProxies are the peers whose forwarding headers name the
	// client (see ClientIP and ParseTrustedProxies). None: the TCP peer is
	// the client.
	TrustedProxies []netip.Prefix
	// ClientIPHeader is the header trusted proxies name the client in:
	// "" for X-Forwarded-For, or a single-IP header they overwrite, such as
	// "X-Real-IP". It needs TrustedProxies.
	ClientIPHeader string
	// Redis, when set, keeps the counters in Redis, shared by replicas;
	// nil keeps them in this process.
	Redis *Redis
}

// Limiter is the request-rate middleware. It keys callers as CallerKey
// does, so it must run after the auth middleware.
type Limiter struct {
	anonymous     int
	authenticated int
	redis         *Redis
	clientIP      func(http.Handler) http.Handler

	seed    maphash.Seed
	mu      sync.RWMutex
	byLimit map[int]*[shards]*httprate.RateLimiter
}

// New returns a Limiter. It refuses negative limits and a ClientIPHeader
// without TrustedProxies (which would ignore the header).
func New(cfg Config) (*Limiter, error) {
	if cfg.AnonymousPerMinute < 0 || cfg.AuthenticatedPerMinute < 0 {
		return nil, errors.New("ratelimit: request limits cannot be negative")
	}
	if cfg.ClientIPHeader != "" && len(cfg.TrustedProxies) == 0 {
		return nil, fmt.Errorf("ratelimit: client IP header %q needs trusted proxies: without them it would be ignored", cfg.ClientIPHeader)
	}
	if cfg.AnonymousPerMinute == 0 {
		cfg.AnonymousPerMinute = DefaultAnonymousPerMinute
	}
	if cfg.AuthenticatedPerMinute == 0 {
		cfg.AuthenticatedPerMinute = DefaultAuthenticatedPerMinute
	}
	return &Limiter{
		anonymous:     cfg.AnonymousPerMinute,
		authenticated: cfg.AuthenticatedPerMinute,
		redis:         cfg.Redis,
		clientIP:      ClientIP(cfg.TrustedProxies, cfg.ClientIPHeader),
		seed:          maphash.MakeSeed(),
		byLimit:       map[int]*[shards]*httprate.RateLimiter{},
	}, nil
}

// Handler counts each request against its caller's limit. It answers a
// caller over its limit 429, and, while Redis is unreachable and failing
// closed, 503; both with Retry-After and a GraphQL error coded
// RATE_LIMITED. Every answer carries X-RateLimit-Limit,
// X-RateLimit-Remaining and X-RateLimit-Reset. It resolves the client
// address itself (ClientIP), so handlers below can call CallerKey.
func (l *Limiter) Handler(next http.Handler) http.Handler {
	return l.clientIP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, limit := l.caller(r)
		if l.rateLimiter(key, limit).RespondOnLimit(w, r, key) {
			return
		}
		next.ServeHTTP(w, r)
	}))
}

// caller returns the key and per-minute limit of r's caller.
func (l *Limiter) caller(r *http.Request) (string, int) {
	key := CallerKey(r.Context())
	switch p := auth.PrincipalFrom(r.Context()); {
	case p == nil:
		return key, l.anonymous
	case p.RatePerMinute > 0:
		return key, p.RatePerMinute
	default:
		return key, l.authenticated
	}
}

// rateLimiter returns the httprate limiter for key and limit, creating the
// limit's shards the first time. There are shards per distinct limit (the
// two defaults and the overrides accounts carry, which are few: plan
// tiers), because a RedisCounter enforces its limiter's one limit inside
// Redis.
func (l *Limiter) rateLimiter(key string, limit int) *httprate.RateLimiter {
	shard := maphash.String(l.seed, key) % shards
	l.mu.RLock()
	set, ok := l.byLimit[limit]
	l.mu.RUnlock()
	if ok {
		return set[shard]
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if set, ok := l.byLimit[limit]; ok {
		return set[shard]
	}
	set = new([shards]*httprate.RateLimiter)
	for i := range set {
		opts := []httprate.Option{
			httprate.WithLimitHandler(l.limited),
			httprate.WithErrorHandler(l.counterError),
		}
		if l.redis != nil {
			opts = append(opts, httprate.WithLimitCounter(l.redis.Counter()))
		}
		set[i] = httprate.NewRateLimiter(limit, window, opts...)
	}
	l.byLimit[limit] = set
	return set[shard]
}

// limited answers a request over its limit. httprate has set the headers;
// Remaining is negative when the count is over the limit, which a client
// should not see.
func (l *Limiter) limited(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	if n, err := strconv.Atoi(h.Get("X-RateLimit-Remaining")); err != nil || n < 0 {
		h.Set("X-RateLimit-Remaining", "0")
	}
	retry := h.Get("Retry-After")
	if retry == "" {
		retry = strconv.Itoa(int(window.Seconds()))
		h.Set("Retry-After", retry)
	}
	msg := fmt.Sprintf("rate limit exceeded: %s requests per minute; retry in %ss", h.Get("X-RateLimit-Limit"), retry)
	writeError(w, r, http.StatusTooManyRequests, marketgraph.ERATELIMITED, msg)
}

// counterError answers a request whose counter failed: a RedisCounter
// refusing the increment (another replica took the last requests) is a
// refusal like any other; anything else means the counts cannot be known
// and the policy is to fail closed: 503.
func (l *Limiter) counterError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrLimited) {
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("Retry-After", strconv.Itoa(int(window.Seconds())))
		l.limited(w, r)
		return
	}
	wait := time.Second
	if l.redis != nil {
		wait = l.redis.retryAfter()
	}
	secs := int(math.Ceil(wait.Seconds()))
	w.Header().Del("X-RateLimit-Remaining")
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	msg := fmt.Sprintf("rate limiting is temporarily unavailable: retry in %ds", secs)
	writeError(w, r, http.StatusServiceUnavailable, marketgraph.ERATELIMITED, msg)
}
