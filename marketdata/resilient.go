package marketdata

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/marketgraph/marketgraph"
)

// The defaults of ResilienceConfig.
const (
	// DefaultCallTimeout stays well below the GraphQL operation deadline
	// (15 s), so a request hit by a slow provider still answers, stale.
	DefaultCallTimeout = 3 * time.Second
	// DefaultMaxRetries is the number of retries after a first attempt.
	DefaultMaxRetries  = 2
	DefaultBackoffBase = 100 * time.Millisecond
	DefaultBackoffMax  = 2 * time.Second
	// DefaultBreakerThreshold failures in a row open the breaker.
	DefaultBreakerThreshold = 5
	DefaultBreakerCooldown  = 30 * time.Second
	// DefaultCallsPerMinute fits CoinGecko's free demo plan (30 a minute).
	DefaultCallsPerMinute = 30
	// DefaultCacheTTL is near CoinGecko's own update cadence: fresher
	// quotes would cost calls without changing the answer.
	DefaultCacheTTL = 10 * time.Second
	DefaultStaleFor = 24 * time.Hour
)

// ResilienceConfig configures a Resilient. A zero field takes its default;
// where a field can switch a mechanism off, a negative value does so.
type ResilienceConfig struct {
	// CallTimeout bounds the upstream work of one call: waiting for the
	// budget, every attempt and the backoffs between them. Default 3 s.
	CallTimeout time.Duration
	// MaxRetries is how many times a call failing with a temporary error
	// (network error, 5xx, 429) is retried. Quote calls are GETs, so
	// retrying is safe. Default 2; negative: no retries.
	MaxRetries int
	// BackoffBase and BackoffMax shape the waits between attempts:
	// retry n waits a uniformly random time in [0, min(BackoffMax,
	// BackoffBase·2ⁿ)] ("full jitter", so callers that failed together do
	// not retry together), or the provider's Retry-After if longer.
	// Defaults 100 ms and 2 s.
	BackoffBase, BackoffMax time.Duration
	// BreakerThreshold is how many failed upstream calls in a row open the
	// circuit breaker. Default 5.
	BreakerThreshold int
	// BreakerCooldown is how long the breaker stays open before letting
	// one probe through. Default 30 s.
	BreakerCooldown time.Duration
	// CallsPerMinute is the client-side budget of upstream calls, retries
	// included; no minute window ever holds more. Default 30, CoinGecko's
	// demo plan; negative: no budget (the simulator needs none).
	CallsPerMinute int
	// Burst is how many calls may go back to back after an idle spell
	// before the rest are paced evenly. Default CallsPerMinute/6 (at least
	// 1): 5 for the default budget, enough for one page of quotes in each
	// currency at once.
	Burst int
	// CacheTTL is how long a quote is served from memory without asking
	// the provider. Default 10 s; negative: always ask (quotes are still
	// remembered for StaleFor).
	CacheTTL time.Duration
	// StaleFor is how long after it was received a quote may still be
	// served, marked stale, when the provider fails. Default 24 h;
	// negative: never serve stale.
	StaleFor time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives breaker transitions and failed calls; nil discards.
	Logger *slog.Logger
	// Sleep waits d or until ctx is done; nil means a real timer. Tests
	// replace it with a fake clock's.
	Sleep func(ctx context.Context, d time.Duration) error
}

// withDefaults fills the zero fields of c.
func (c ResilienceConfig) withDefaults() ResilienceConfig {
	setDefault(&c.CallTimeout, DefaultCallTimeout)
	setDefault(&c.MaxRetries, DefaultMaxRetries)
	c.MaxRetries = max(c.MaxRetries, 0)
	setDefault(&c.BackoffBase, DefaultBackoffBase)
	setDefault(&c.BackoffMax, DefaultBackoffMax)
	setDefault(&c.BreakerThreshold, DefaultBreakerThreshold)
	setDefault(&c.BreakerCooldown, DefaultBreakerCooldown)
	setDefault(&c.CallsPerMinute, DefaultCallsPerMinute)
	setDefault(&c.Burst, max(c.CallsPerMinute/6, 1))
	setDefault(&c.CacheTTL, DefaultCacheTTL)
	setDefault(&c.StaleFor, DefaultStaleFor)
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Sleep == nil {
		c.Sleep = sleep
	}
	return c
}

// setDefault sets *v to def when it is zero; a negative value is a choice
// (switch the mechanism off) and stays.
func setDefault[T int | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

// sleep waits d, or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Health is the state of a Resilient's provider, for /readyz.
type Health struct {
	// Breaker is BreakerClosed, BreakerOpen or BreakerHalfOpen.
	Breaker string `json:"breaker"`
	// ConsecutiveFailures counts the failed upstream calls since the last
	// success.
	ConsecutiveFailures int `json:"consecutiveFailures"`
	// LastError is the client-safe message of the latest failure since the
	// last success; empty after a success.
	LastError string `json:"lastError,omitempty"`
	// LastSuccess is when the provider last answered; zero if never.
	LastSuccess time.Time `json:"lastSuccess"`
}

// Resilient wraps a Provider with what a provider across a network needs:
// a cross-request cache, coalescing of concurrent calls, a deadline,
// retries, a circuit breaker, a call budget, and stale answers when the
// provider fails. It is a Provider itself, safe for concurrent use.
//
// Concurrent calls share upstream work per asset: a call asks the provider
// only for the ids that are neither fresh in the cache nor already being
// fetched by another call, and waits for those other calls for the rest.
// 1,000 requests for the same page from a cold cache make one upstream
// call; overlapping pages make one call each for their new ids.
//
// An upstream call runs detached from the caller that started it (it keeps
// the caller's context values, not its cancellation) and is bounded by
// CallTimeout: a caller that gives up returns at once without failing the
// others waiting for the same call, and the answer still fills the cache.
//
// Quotes follows the Provider contract for partial answers: when the
// provider fails, each asked id with a quote received in the last StaleFor
// is answered with that quote, Stale set and AsOf unchanged; the error
// (UPSTREAM_UNAVAILABLE) is returned for the ids missing from the map. The
// quotes returned are shared between callers and must not be modified.
type Resilient struct {
	p       Provider
	cfg     ResilienceConfig
	log     *slog.Logger
	breaker *breaker
	budget  *budget // nil: no limit

	mu       sync.RWMutex // guards cache and inflight together
	cache    quoteCache
	inflight map[cacheKey]*flight
}

var _ Provider = (*Resilient)(nil)

// flight is one upstream call, shared by every caller waiting for its ids.
// Its quotes and err are written once, before done is closed.
type flight struct {
	ids    []string
	done   chan struct{}
	quotes map[string]*marketgraph.Quote
	err    error
}

// NewResilient wraps p; see ResilienceConfig for the defaults.
func NewResilient(p Provider, cfg ResilienceConfig) *Resilient {
	cfg = cfg.withDefaults()
	return &Resilient{
		p:        p,
		cfg:      cfg,
		log:      cfg.Logger,
		breaker:  newBreaker(cfg.BreakerThreshold, cfg.BreakerCooldown, cfg.Now, cfg.Logger),
		budget:   newBudget(cfg.CallsPerMinute, cfg.Burst),
		cache:    newQuoteCache(cfg.CacheTTL, cfg.StaleFor),
		inflight: map[cacheKey]*flight{},
	}
}

// Health reports the provider's state as the breaker sees it.
func (r *Resilient) Health() Health { return r.breaker.health() }

// Quotes returns the quotes of assetIDs in currency: from the cache when
// fresh, otherwise from the provider, or stale when the provider fails.
// The map and a non-nil error can come together: the error then applies to
// the ids missing from the map. It is UPSTREAM_UNAVAILABLE when the
// provider failed (or the breaker is open, or the budget ran out before
// CallTimeout), the provider's own BAD_USER_INPUT for a currency it does not
// offer, and ctx.Err() when ctx is done first. With a nil error, a missing
// id is one the provider does not know. An unknown id asked for together
// with ids the provider failed on gets the error too: the contract has one
// error per call, and "could not check" is the honest answer for it.
func (r *Resilient) Quotes(ctx context.Context, assetIDs []string, currency marketgraph.Currency) (map[string]*marketgraph.Quote, error) {
	return r.quotes(ctx, assetIDs, currency, true)
}

// Refresh is Quotes without the fresh cache: it asks the provider for every
// id not already being fetched (joining calls in flight, which are fresh by
// definition), then caches the answers for Quotes. It is for a poller such
// as ingest, whose tick is about as long as the cache's TTL: through Quotes
// it would find the previous tick's answer still fresh on every other tick
// and see no new quote. Failures are answered as by Quotes, stale included.
func (r *Resilient) Refresh(ctx context.Context, assetIDs []string, currency marketgraph.Currency) (map[string]*marketgraph.Quote, error) {
	return r.quotes(ctx, assetIDs, currency, false)
}

// Refreshing adapts r so that its Quotes method refreshes: hand it to a
// poller that only knows marketgraph.QuoteProvider.
func (r *Resilient) Refreshing() marketgraph.QuoteProvider { return refreshing{r} }

type refreshing struct{ r *Resilient }

func (f refreshing) Quotes(ctx context.Context, ids []string, c marketgraph.Currency) (map[string]*marketgraph.Quote, error) {
	return f.r.Refresh(ctx, ids, c)
}

func (r *Resilient) quotes(ctx context.Context, assetIDs []string, currency marketgraph.Currency, useCache bool) (map[string]*marketgraph.Quote, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make(map[string]*marketgraph.Quote, len(assetIDs))
	if useCache && r.allFresh(assetIDs, currency, out) {
		return out, nil
	}
	waits, own := r.plan(assetIDs, currency, out, useCache)
	if own != nil {
		go r.fly(ctx, own, currency)
	}
	var err error
	for f, ids := range waits {
		select {
		case <-f.done:
		case <-ctx.Done():
			return out, ctx.Err()
		}
		if e := r.settle(f, ids, currency, out); e != nil && err == nil {
			err = e
		}
	}
	return out, err
}

// allFresh is the cache-hit path: it answers every id from the cache under
// a read lock, or reports false as soon as one id needs the provider.
func (r *Resilient) allFresh(ids []string, currency marketgraph.Currency, out map[string]*marketgraph.Quote) bool {
	now := r.cfg.Now()
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, id := range ids {
		q, ok := r.cache.fresh(cacheKey{id, currency}, now)
		if !ok {
			return false
		}
		if q != nil {
			out[id] = q
		}
	}
	return true
}

// plan sorts ids, in one critical section, into those the cache answers
// (written to out), those another call is fetching (waits, by flight), and
// the rest, which go into own, a new flight registered for them; own is nil
// when there are none. Waits include own. Without useCache no id is answered
// from the cache.
func (r *Resilient) plan(ids []string, currency marketgraph.Currency, out map[string]*marketgraph.Quote, useCache bool) (waits map[*flight][]string, own *flight) {
	now := r.cfg.Now()
	waits = map[*flight][]string{}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range ids {
		k := cacheKey{id, currency}
		if q, ok := r.cache.fresh(k, now); ok && useCache {
			if q != nil {
				out[id] = q
			}
			continue
		}
		f := r.inflight[k]
		if f == nil {
			if own == nil {
				own = &flight{done: make(chan struct{})}
			}
			f = own
			own.ids = append(own.ids, id)
			r.inflight[k] = own
		}
		waits[f] = append(waits[f], id)
	}
	return waits, own
}

// settle writes the answers of finished flight f for ids to out: its
// quotes, or else last known quotes marked stale. It returns f's error if
// an id is left without an answer because f failed.
func (r *Resilient) settle(f *flight, ids []string, currency marketgraph.Currency, out map[string]*marketgraph.Quote) error {
	now := r.cfg.Now()
	r.mu.RLock()
	defer r.mu.RUnlock()
	var err error
	for _, id := range ids {
		if q := f.quotes[id]; q != nil {
			out[id] = q
		} else if q := r.cache.stale(cacheKey{id, currency}, now); q != nil {
			out[id] = q
		} else if f.err != nil {
			err = f.err
		}
	}
	return err
}
