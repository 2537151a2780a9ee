package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/auth"
	"github.com/marketgraph/marketgraph/internal/logtest"
	"github.com/marketgraph/marketgraph/memory"
)

// keyClock is a clock the test moves.
type keyClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *keyClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *keyClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// keyStore is the memory store, counting lookups and recording touches;
// lookupErr and touchErr make those fail, and lookupGate and touchGate,
// when set, hold every call until they are closed.
type keyStore struct {
	*memory.Store
	mu         sync.Mutex
	lookups    int
	touches    []map[string]time.Time
	lookupErr  error
	lookupGate chan struct{}
	touchErr   error
	touchGate  chan struct{}
	touched    chan struct{} // receives after each touch, if not full
}

func newKeyStore() *keyStore {
	return &keyStore{Store: memory.New(), touched: make(chan struct{}, 100)}
}

func (s *keyStore) APIKeyByPrefix(ctx context.Context, prefix string) (*marketgraph.APIKey, error) {
	s.mu.Lock()
	s.lookups++
	err, gate := s.lookupErr, s.lookupGate
	s.mu.Unlock()
	if gate != nil {
		<-gate
	}
	if err != nil {
		return nil, err
	}
	return s.Store.APIKeyByPrefix(ctx, prefix)
}

func (s *keyStore) TouchAPIKeys(ctx context.Context, used map[string]time.Time) error {
	s.mu.Lock()
	gate, err := s.touchGate, s.touchErr
	s.touches = append(s.touches, maps.Clone(used))
	s.mu.Unlock()
	if gate != nil {
		<-gate
	}
	select {
	case s.touched <- struct{}{}:
	default:
	}
	if err != nil {
		return err
	}
	return s.Store.TouchAPIKeys(ctx, used)
}

func (s *keyStore) lookupCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lookups
}

func (s *keyStore) touchCalls() []map[string]time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.touches)
}

func (s *keyStore) set(f func(s *keyStore)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

// logBuffer is a JSON log in memory, safe for concurrent writers.
type logBuffer struct{ logtest.Buffer }

// records decodes every line.
func (l *logBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// fixture is an authenticator over a fresh store with one key.
type fixture struct {
	store  *keyStore
	clock  *keyClock
	log    *logBuffer
	a      *auth.APIKeyAuthenticator
	secret string
	key    *marketgraph.APIKey
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newFixture(t *testing.T, edit func(*auth.APIKeyConfig)) *fixture {
	t.Helper()
	f := &fixture{store: newKeyStore(), clock: &keyClock{t: t0}, log: &logBuffer{}}
	cfg := auth.APIKeyConfig{
		Store:         f.store,
		Log:           slog.New(slog.NewJSONHandler(f.log, nil)),
		CacheTTL:      5 * time.Second,
		FlushInterval: time.Hour, // tests flush by hand
		Now:           f.clock.now,
	}
	if edit != nil {
		edit(&cfg)
	}
	f.a = auth.NewAPIKeyAuthenticator(cfg)
	t.Cleanup(func() { f.a.Close() })
	f.secret, f.key = f.issue(t, auth.NewKey{Account: "acme", Scopes: []auth.Scope{auth.ScopeRead, auth.ScopeSubscribe}})
	return f
}

func (f *fixture) issue(t *testing.T, n auth.NewKey) (string, *marketgraph.APIKey) {
	t.Helper()
	secret, k, err := auth.IssueAPIKey(context.Background(), f.store.Store, n, nil)
	if err != nil {
		t.Fatal(err)
	}
	return secret, k
}

func (f *fixture) authOK(t *testing.T, secret string) *auth.Principal {
	t.Helper()
	p, err := f.a.Authenticate(context.Background(), secret)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	return p
}

// sibling returns a well-formed key with the prefix of secret and another
// secret part: what someone who saw the prefix in a log could try.
func sibling(secret string) string {
	b := []byte(secret)
	for i := 3 + auth.PrefixLen; i < len(b)-1; i++ {
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
	}
	return string(b)
}

func TestAPIKeyAuthenticator_Principal(t *testing.T) {
	f := newFixture(t, nil)
	expires := t0.Add(90 * 24 * time.Hour)
	secret, k := f.issue(t, auth.NewKey{Account: "partner", Scopes: []auth.Scope{auth.ScopeSubscribe, auth.ScopeAdmin}, RatePerMinute: 600, CostPerMinute: 100000, ExpiresAt: expires})
	p := f.authOK(t, secret)
	want := auth.Principal{
		AccountID: k.AccountID, Scopes: []auth.Scope{auth.ScopeSubscribe, auth.ScopeAdmin}, Method: auth.MethodAPIKey,
		KeyID: k.ID, KeyPrefix: k.Prefix, ExpiresAt: expires, RatePerMinute: 600, CostPerMinute: 100000,
	}
	if p.AccountID != want.AccountID || !slices.Equal(p.Scopes, want.Scopes) || p.Method != want.Method || p.KeyID != want.KeyID ||
		p.KeyPrefix != want.KeyPrefix || !p.ExpiresAt.Equal(want.ExpiresAt) || p.RatePerMinute != want.RatePerMinute || p.CostPerMinute != want.CostPerMinute {
		t.Errorf("Principal = %+v, want %+v", *p, want)
	}
	// Principals are the caller's to change: the cached key is not.
	p.Scopes[0] = auth.ScopeWrite
	if again := f.authOK(t, secret); !slices.Equal(again.Scopes, want.Scopes) {
		t.Errorf("after changing a principal, the next one has scopes %v", again.Scopes)
	}
	if f.log.String() != "" {
		t.Errorf("successes logged: %s", f.log)
	}
}

// TestAPIKeyAuthenticator_UnknownScopes: scopes this version does not know
// are dropped, the key keeps the others.
func TestAPIKeyAuthenticator_UnknownScopes(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	acct, err := f.store.EnsureAccount(ctx, "future")
	if err != nil {
		t.Fatal(err)
	}
	g, err := auth.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	k := &marketgraph.APIKey{AccountID: acct.ID, Prefix: g.Prefix, Hash: g.Hash, Scopes: []string{"billing", "read", "read", "READ"}}
	if err := f.store.CreateAPIKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if p := f.authOK(t, g.Key); !slices.Equal(p.Scopes, []auth.Scope{auth.ScopeRead}) {
		t.Errorf("Scopes = %v, want [read]", p.Scopes)
	}
}

func TestAPIKeyAuthenticator_Failures(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	revokedSecret, revoked := f.issue(t, auth.NewKey{Account: "acme", Scopes: []auth.Scope{auth.ScopeRead}})
	if err := f.store.RevokeAPIKey(ctx, revoked.ID); err != nil {
		t.Fatal(err)
	}
	expiredSecret, expired := f.issue(t, auth.NewKey{Account: "acme", Scopes: []auth.Scope{auth.ScopeRead}, ExpiresAt: t0})
	unknown, err := auth.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, key, msg, reason, prefix string
		lookup                         bool // false: refused without a lookup
	}{
		{"Malformed", f.secret[:20], "malformed API key", "malformed", "", false},
		{"MalformedNUL", f.secret[:20] + "\x00" + f.secret[21:], "malformed API key", "malformed", "", false},
		{"Unknown", unknown.Key, "unknown API key", "unknown_key", unknown.Prefix, true},
		{"WrongSecret", sibling(f.secret), "unknown API key", "secret_mismatch", f.key.Prefix, true},
		// A revoked or expired key says so only to its holder.
		{"WrongSecretOfRevoked", sibling(revokedSecret), "unknown API key", "secret_mismatch", revoked.Prefix, true},
		{"Revoked", revokedSecret, "API key revoked", "revoked", revoked.Prefix, true},
		{"Expired", expiredSecret, "API key expired", "expired", expired.Prefix, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, logged := f.store.lookupCount(), len(f.log.records(t))
			actx := auth.WithAuditAttrs(ctx, slog.String("remote_addr", "192.0.2.7:5555"))
			p, err := f.a.Authenticate(actx, tc.key)
			wantAuthErr(t, "Authenticate", err, marketgraph.EUNAUTHENTICATED, tc.msg)
			if p != nil {
				t.Errorf("principal %+v alongside an error", p)
			}
			if !tc.lookup && f.store.lookupCount() != before {
				t.Errorf("a %s key was looked up", tc.name)
			}
			recs := f.log.records(t)[logged:]
			if len(recs) != 1 {
				t.Fatalf("%d log lines, want 1 audit line: %v", len(recs), recs)
			}
			r := recs[0]
			for k, want := range map[string]any{"level": "WARN", "event": "auth_failure", "method": "apikey", "reason": tc.reason, "remote_addr": "192.0.2.7:5555"} {
				if r[k] != want {
					t.Errorf("audit %s = %v, want %v (line %v)", k, r[k], want, r)
				}
			}
			if got, _ := r["key_prefix"].(string); got != tc.prefix {
				t.Errorf("audit key_prefix = %q, want %q", got, tc.prefix)
			}
		})
	}
	t.Run("NoLookupForMalformed", func(t *testing.T) {
		before := f.store.lookupCount()
		for _, key := range []string{"", "mg_", "Bearer x", strings.Repeat("mg_", 1000), f.secret + "A"} {
			if _, err := f.a.Authenticate(ctx, key); marketgraph.ErrorMessage(err) != "malformed API key" {
				t.Errorf("Authenticate(%.20q): %v", key, err)
			}
		}
		if n := f.store.lookupCount() - before; n != 0 {
			t.Errorf("%d lookups for malformed keys", n)
		}
	})
	t.Run("ExpiresOnTheClock", func(t *testing.T) {
		secret, _ := f.issue(t, auth.NewKey{Account: "acme", Scopes: []auth.Scope{auth.ScopeRead}, ExpiresAt: t0.Add(time.Second)})
		f.authOK(t, secret)
		f.clock.advance(time.Second)
		_, err := f.a.Authenticate(ctx, secret)
		wantAuthErr(t, "at the expiry", err, marketgraph.EUNAUTHENTICATED, "API key expired")
	})
}

// TestAPIKeyAuthenticator_Revocation: a key is read from the store once
// per CacheTTL, so a revocation takes effect within CacheTTL on every
// replica, with no message between them.
func TestAPIKeyAuthenticator_Revocation(t *testing.T) {
	f := newFixture(t, nil)
	// A second replica over the same store, with a shorter cache.
	other := auth.NewAPIKeyAuthenticator(auth.APIKeyConfig{Store: f.store, CacheTTL: 2 * time.Second, Now: f.clock.now, FlushInterval: time.Hour})
	t.Cleanup(func() { other.Close() })

	for range 5 {
		f.authOK(t, f.secret)
		if _, err := other.Authenticate(context.Background(), f.secret); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.store.lookupCount(); n != 2 {
		t.Errorf("%d lookups for 10 requests on 2 replicas, want 2", n)
	}
	if err := f.store.RevokeAPIKey(context.Background(), f.key.ID); err != nil {
		t.Fatal(err)
	}
	f.clock.advance(2 * time.Second)
	_, err := other.Authenticate(context.Background(), f.secret)
	wantAuthErr(t, "replica with a 2s cache, 2s later", err, marketgraph.EUNAUTHENTICATED, "API key revoked")
	f.authOK(t, f.secret) // its copy is 2s old, it trusts it for 5s
	f.clock.advance(3 * time.Second)
	_, err = f.a.Authenticate(context.Background(), f.secret)
	wantAuthErr(t, "replica with a 5s cache, 5s later", err, marketgraph.EUNAUTHENTICATED, "API key revoked")
}

func TestAPIKeyAuthenticator_NegativeCache(t *testing.T) {
	const size = 4
	f := newFixture(t, func(c *auth.APIKeyConfig) {
		c.NegativeCacheTTL = time.Second
		c.CacheSize = size
	})
	ctx := context.Background()
	f.authOK(t, f.secret)
	unknown := make([]string, 10)
	for i := range unknown {
		g, err := auth.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		unknown[i] = g.Key
	}
	lookups := func() int { return f.store.lookupCount() - 1 }

	for range 3 {
		f.a.Authenticate(ctx, unknown[0])
	}
	if n := lookups(); n != 1 {
		t.Errorf("3 tries of one unknown key: %d lookups, want 1", n)
	}
	f.clock.advance(time.Second)
	f.a.Authenticate(ctx, unknown[0])
	if n := lookups(); n != 2 {
		t.Errorf("after NegativeCacheTTL: %d lookups, want 2", n)
	}

	// A flood of distinct unknown keys: the cache keeps the last `size`,
	// so the oldest are asked about again, and the known key stays cached.
	for _, k := range unknown[1:] {
		f.a.Authenticate(ctx, k)
	}
	base := lookups()
	for _, k := range unknown[len(unknown)-size:] {
		f.a.Authenticate(ctx, k)
	}
	if n := lookups() - base; n != 0 {
		t.Errorf("the newest %d unknown keys: %d lookups, want 0 (cached)", size, n)
	}
	f.a.Authenticate(ctx, unknown[1])
	if n := lookups() - base; n != 1 {
		t.Errorf("an evicted unknown key: %d lookups, want 1", n)
	}
	before := f.store.lookupCount()
	f.authOK(t, f.secret)
	if f.store.lookupCount() != before {
		t.Error("the flood of unknown keys evicted the known one")
	}
}

// TestAPIKeyAuthenticator_SharedLookup: requests for one key arriving
// together share one store lookup.
func TestAPIKeyAuthenticator_SharedLookup(t *testing.T) {
	f := newFixture(t, nil)
	gate := make(chan struct{})
	f.store.set(func(s *keyStore) { s.lookupGate = gate })
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if _, err := f.a.Authenticate(context.Background(), f.secret); err != nil {
				t.Error(err)
			}
		})
	}
	// Hold the lookup a moment so that most requests arrive while it is
	// under way. Those that come later find the key cached: however the
	// goroutines are scheduled, one lookup is right.
	for f.store.lookupCount() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	close(gate)
	wg.Wait()
	if n := f.store.lookupCount(); n != 1 {
		t.Errorf("%d lookups for 50 concurrent requests, want 1", n)
	}
}

func TestAPIKeyAuthenticator_StoreDown(t *testing.T) {
	f := newFixture(t, nil)
	boom := errors.New("connection refused")
	f.store.set(func(s *keyStore) { s.lookupErr = boom })
	_, err := f.a.Authenticate(context.Background(), f.secret)
	if !errors.Is(err, boom) || marketgraph.ErrorCode(err) != marketgraph.EINTERNAL {
		t.Errorf("err = %v, want the store's error as INTERNAL", err)
	}
	recs := f.log.records(t)
	if len(recs) != 1 || recs[0]["reason"] != "store_error" || recs[0]["key_prefix"] != f.key.Prefix {
		t.Errorf("audit lines %v, want one store_error with the prefix", recs)
	}
	// A failure is not cached: the next request asks again.
	f.store.set(func(s *keyStore) { s.lookupErr = nil })
	f.authOK(t, f.secret)
}

// TestAPIKeyAuthenticator_LastUsed: uses are written in one TouchAPIKeys
// call per flush, never per request, and Close writes the rest.
func TestAPIKeyAuthenticator_LastUsed(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	other, otherKey := f.issue(t, auth.NewKey{Account: "beta", Scopes: []auth.Scope{auth.ScopeRead}})
	for range 10 {
		f.authOK(t, f.secret)
	}
	f.clock.advance(time.Second)
	f.authOK(t, f.secret)
	f.clock.advance(time.Second)
	f.authOK(t, other)
	f.a.Authenticate(ctx, sibling(f.secret)) // a failure is no use

	if calls := f.store.touchCalls(); len(calls) != 0 {
		t.Fatalf("%d TouchAPIKeys calls before any flush", len(calls))
	}
	if err := f.a.Close(); err != nil {
		t.Fatal(err)
	}
	calls := f.store.touchCalls()
	want := map[string]time.Time{f.key.ID: t0.Add(time.Second), otherKey.ID: t0.Add(2 * time.Second)}
	if len(calls) != 1 || !maps.Equal(calls[0], want) {
		t.Fatalf("TouchAPIKeys calls %v, want one with %v", calls, want)
	}
	for _, k := range []*marketgraph.APIKey{f.key, otherKey} {
		got, err := f.store.Store.APIKeyByPrefix(ctx, k.Prefix)
		if err != nil || !got.LastUsedAt.Equal(want[k.ID]) {
			t.Errorf("key %s last used %v (%v), want %v", k.Prefix, got.LastUsedAt, err, want[k.ID])
		}
	}
	f.authOK(t, f.secret)
	if err := f.a.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if n := len(f.store.touchCalls()); n != 1 {
		t.Errorf("%d TouchAPIKeys calls after a use past Close, want still 1", n)
	}
}

func TestAPIKeyAuthenticator_FlushFailure(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	f.authOK(t, f.secret)
	f.store.set(func(s *keyStore) { s.touchErr = errors.New("database is down") })
	if err := f.a.Flush(ctx); err == nil {
		t.Fatal("Flush hid the store's error")
	}
	if !strings.Contains(f.log.String(), "database is down") {
		t.Errorf("the failed flush was not logged: %s", f.log)
	}
	f.store.set(func(s *keyStore) { s.touchErr = nil })
	f.clock.advance(time.Second)
	f.authOK(t, f.secret)
	if err := f.a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	calls := f.store.touchCalls()
	if len(calls) != 2 || !maps.Equal(calls[1], map[string]time.Time{f.key.ID: t0.Add(time.Second)}) {
		t.Errorf("TouchAPIKeys calls %v, want the failed batch retried with the newer use", calls)
	}
	if err := f.a.Flush(ctx); err != nil || len(f.store.touchCalls()) != 2 {
		t.Errorf("Flush with nothing pending: %v, %d calls; want no call", err, len(f.store.touchCalls()))
	}
}

// TestAPIKeyAuthenticator_PeriodicFlush: the flusher writes on its own, and
// a slow write never holds up a request.
func TestAPIKeyAuthenticator_PeriodicFlush(t *testing.T) {
	f := newFixture(t, func(c *auth.APIKeyConfig) { c.FlushInterval = 10 * time.Millisecond })
	gate := make(chan struct{})
	defer close(gate)
	f.store.set(func(s *keyStore) { s.touchGate = gate })
	// Every write is stuck on the gate: requests go on regardless.
	authenticate := func() {
		t.Helper()
		done := make(chan error, 1)
		go func() {
			_, err := f.a.Authenticate(context.Background(), f.secret)
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a request waited for the last-used write")
		}
	}
	authenticate()
	// Wait until the flusher is inside TouchAPIKeys, stuck on the gate.
	deadline := time.After(10 * time.Second)
	for len(f.store.touchCalls()) == 0 {
		select {
		case <-deadline:
			t.Fatal("no flush within 10s")
		case <-time.After(time.Millisecond):
		}
	}
	authenticate()
}

// TestAPIKeyAuthenticator_SecretsNeverLogged runs successes and every kind
// of failure, then searches the log for any piece of the secrets beyond
// their prefixes.
func TestAPIKeyAuthenticator_SecretsNeverLogged(t *testing.T) {
	f := newFixture(t, nil)
	ctx := auth.WithAuditAttrs(context.Background(), slog.String("request_id", "r1"))
	revokedSecret, revoked := f.issue(t, auth.NewKey{Account: "acme", Scopes: []auth.Scope{auth.ScopeRead}})
	if err := f.store.RevokeAPIKey(ctx, revoked.ID); err != nil {
		t.Fatal(err)
	}
	expiredSecret, _ := f.issue(t, auth.NewKey{Account: "acme", Scopes: []auth.Scope{auth.ScopeRead}, ExpiresAt: t0})
	secrets := []string{f.secret, revokedSecret, expiredSecret}

	for range 3 {
		f.a.Authenticate(ctx, f.secret)
	}
	tries := []string{
		revokedSecret, expiredSecret, sibling(f.secret),
		f.secret[:len(f.secret)-1],          // truncated
		f.secret + "x",                      // one too many
		f.secret[:30] + "!" + f.secret[31:], // a typo
		"Bearer " + f.secret,                // the header pasted whole
	}
	for _, k := range tries {
		f.a.Authenticate(ctx, k)
	}
	f.store.set(func(s *keyStore) { s.lookupErr = errors.New("store down") })
	f.clock.advance(time.Minute)
	f.a.Authenticate(ctx, f.secret)
	if err := f.a.Close(); err != nil {
		t.Fatal(err)
	}

	log := f.log.String()
	if n := strings.Count(log, `"event":"auth_failure"`); n != len(tries)+1 {
		t.Errorf("%d audit lines for %d failures:\n%s", n, len(tries)+1, log)
	}
	for _, s := range secrets {
		secret := s[3+auth.PrefixLen:] // what follows the prefix
		for i := 0; i+8 <= len(secret); i++ {
			if piece := secret[i : i+8]; strings.Contains(log, piece) {
				t.Fatalf("the log holds %q, a piece of a secret:\n%s", piece, log)
			}
		}
	}
}
