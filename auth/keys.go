package auth

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/marketgraph/marketgraph"
)

// KeyStore is what APIKeyAuthenticator needs of a store;
// marketgraph.AccountStore has it.
type KeyStore interface {
	APIKeyByPrefix(ctx context.Context, prefix string) (*marketgraph.APIKey, error)
	TouchAPIKeys(ctx context.Context, used map[string]time.Time) error
}

// Defaults of APIKeyConfig.
const (
	DefaultCacheTTL         = 5 * time.Second
	DefaultNegativeCacheTTL = 5 * time.Second
	DefaultCacheSize        = 10_000
	DefaultFlushInterval    = 10 * time.Second
)

// lookupTimeout bounds one store lookup. The lookup is shared by every
// request waiting for the same prefix, so it does not run under any one
// request's context.
const lookupTimeout = 5 * time.Second

// APIKeyConfig configures an APIKeyAuthenticator.
type APIKeyConfig struct {
	// Store looks keys up and records their use.
	Store KeyStore
	// Log receives the audit trail of failures and failed flushes; nil
	// discards them.
	Log *slog.Logger
	// CacheTTL is how long a key found in the store is trusted before it is
	// read again (0: DefaultCacheTTL). It is also how long a revocation
	// takes to reach every replica: there is no channel telling replicas
	// that a key was revoked, each one simply reads the key again once its
	// cached copy is CacheTTL old. A few seconds keep revocation prompt
	// while a busy key costs one lookup per CacheTTL per replica.
	CacheTTL time.Duration
	// NegativeCacheTTL is how long a prefix the store does not know is
	// refused without asking again (0: DefaultNegativeCacheTTL), so that a
	// client retrying a wrong key does not cost a lookup per request.
	NegativeCacheTTL time.Duration
	// CacheSize bounds each of the two caches, known keys and unknown
	// prefixes (0: DefaultCacheSize). A flood of made-up keys evicts the
	// oldest unknown prefixes, never a known key.
	CacheSize int
	// FlushInterval is how often the keys used since the last flush have
	// their last-used time written, in one TouchAPIKeys call (0:
	// DefaultFlushInterval). Close flushes too.
	FlushInterval time.Duration
	// Now is the clock (nil: time.Now); tests set it.
	Now func() time.Time
}

// APIKeyAuthenticator turns an API key into a Principal. It is safe for
// concurrent use; Close it to stop its flusher and write the last uses.
type APIKeyAuthenticator struct {
	store       KeyStore
	log         *slog.Logger
	now         func() time.Time
	ttl, negTTL time.Duration

	mu       sync.RWMutex
	known    *ttlCache[*cachedKey] // by prefix
	unknown  *ttlCache[struct{}]   // prefixes the store does not have
	inflight map[string]*lookup    // store lookups under way, by prefix

	usage *usageBatcher
}

// cachedKey is a stored key with its principal's scopes worked out once.
type cachedKey struct {
	key    *marketgraph.APIKey
	scopes []Scope
}

// lookup is one store lookup that every request for its prefix waits for.
type lookup struct {
	done chan struct{}
	key  *cachedKey // nil: not found
	err  error      // a store failure; not cached
}

// NewAPIKeyAuthenticator returns an authenticator over cfg.Store and starts
// its last-used flusher.
func NewAPIKeyAuthenticator(cfg APIKeyConfig) *APIKeyAuthenticator {
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = DefaultCacheTTL
	}
	if cfg.NegativeCacheTTL <= 0 {
		cfg.NegativeCacheTTL = DefaultNegativeCacheTTL
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = DefaultFlushInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &APIKeyAuthenticator{
		store:    cfg.Store,
		log:      cfg.Log,
		now:      cfg.Now,
		ttl:      cfg.CacheTTL,
		negTTL:   cfg.NegativeCacheTTL,
		known:    newTTLCache[*cachedKey](cfg.CacheSize),
		unknown:  newTTLCache[struct{}](cfg.CacheSize),
		inflight: map[string]*lookup{},
		usage:    newUsageBatcher(cfg.Store, cfg.Log, cfg.FlushInterval),
	}
}

// Authenticate returns the principal of key. Errors are UNAUTHENTICATED
// with a message safe for the client ("malformed API key", "unknown API
// key", "API key revoked", "API key expired"), or, when the store cannot be
// reached, a wrapped store error (INTERNAL). Each failure is logged once as
// an audit line (see AuditFailure) with ctx's audit attributes. A malformed
// key is refused without a lookup; the revoked and expired messages are
// given only to a caller holding the real key.
func (a *APIKeyAuthenticator) Authenticate(ctx context.Context, key string) (*Principal, error) {
	prefix, err := ParseKey(key)
	if err != nil {
		AuditFailure(ctx, a.log, MethodAPIKey, ReasonMalformed)
		return nil, err
	}
	fail := func(reason, msg string) (*Principal, error) {
		AuditFailure(ctx, a.log, MethodAPIKey, reason, slog.String("key_prefix", prefix))
		return nil, marketgraph.Errorf(marketgraph.EUNAUTHENTICATED, "%s", msg)
	}
	c, err := a.find(ctx, prefix)
	if err != nil {
		AuditFailure(ctx, a.log, MethodAPIKey, ReasonStoreFailed, slog.String("key_prefix", prefix), slog.String("error", err.Error()))
		return nil, fmt.Errorf("authenticate API key %s: %w", prefix, err)
	}
	if c == nil {
		return fail(ReasonUnknown, msgUnknown)
	}
	k := c.key
	if !MatchKey(key, k.Hash) {
		return fail(ReasonMismatch, msgUnknown)
	}
	now := a.now()
	if !k.RevokedAt.IsZero() {
		return fail(ReasonRevoked, msgRevoked)
	}
	if !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt) {
		return fail(ReasonExpired, msgExpired)
	}
	a.usage.record(k.ID, now)
	return &Principal{
		AccountID:     k.AccountID,
		Scopes:        slices.Clone(c.scopes),
		Method:        MethodAPIKey,
		KeyID:         k.ID,
		KeyPrefix:     k.Prefix,
		ExpiresAt:     k.ExpiresAt,
		RatePerMinute: k.RatePerMinute,
		CostPerMinute: k.CostPerMinute,
	}, nil
}

// find returns the key with prefix from the caches or the store, nil when
// the store has none. Concurrent requests for one prefix share one store
// lookup.
func (a *APIKeyAuthenticator) find(ctx context.Context, prefix string) (*cachedKey, error) {
	now := a.now()
	a.mu.RLock()
	c, hit := a.known.get(prefix, now)
	_, miss := a.unknown.get(prefix, now)
	a.mu.RUnlock()
	switch {
	case hit:
		return c, nil
	case miss:
		return nil, nil
	}

	a.mu.Lock()
	l, waiting := a.inflight[prefix]
	if !waiting {
		l = &lookup{done: make(chan struct{})}
		a.inflight[prefix] = l
	}
	a.mu.Unlock()
	if !waiting {
		a.fetch(ctx, prefix, l)
	}
	select {
	case <-l.done:
		return l.key, l.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// fetch runs lookup l for prefix and caches its answer.
func (a *APIKeyAuthenticator) fetch(ctx context.Context, prefix string, l *lookup) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lookupTimeout)
	defer cancel()
	k, err := a.store.APIKeyByPrefix(ctx, prefix)
	switch {
	case err == nil:
		l.key = &cachedKey{key: k, scopes: knownScopes(k.Scopes)}
	case marketgraph.ErrorCode(err) != marketgraph.ENOTFOUND:
		l.err = err
	}
	now := a.now()
	a.mu.Lock()
	switch {
	case l.err != nil:
	case l.key != nil:
		a.known.put(prefix, l.key, now.Add(a.ttl))
	default:
		a.unknown.put(prefix, struct{}{}, now.Add(a.negTTL))
	}
	delete(a.inflight, prefix)
	a.mu.Unlock()
	close(l.done)
}

// Flush writes the last-used times recorded since the last flush now, in
// one TouchAPIKeys call.
func (a *APIKeyAuthenticator) Flush(ctx context.Context) error { return a.usage.flush(ctx) }

// Close stops the periodic flush and writes the last-used times recorded
// since the last one. Uses recorded after Close are not written.
func (a *APIKeyAuthenticator) Close() error { return a.usage.close() }
