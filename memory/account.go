package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/marketgraph/marketgraph"
)

var _ marketgraph.AccountStore = (*Store)(nil)

// accountData is the accounts and API keys of a Store. It has a lock of its
// own: key lookups happen on every authenticated request and must not wait
// for a market-data write. Its zero value is empty and ready.
type accountData struct {
	mu       sync.RWMutex
	accounts map[string]*marketgraph.Account // by id
	byName   map[string]*marketgraph.Account
	keys     map[string]*marketgraph.APIKey // by id
	byPrefix map[string]*marketgraph.APIKey
}

// now is the stores' clock: UTC, to the microsecond as PostgreSQL keeps it.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// EnsureAccount returns the account called name, creating it if needed.
// BAD_USER_INPUT when marketgraph.ValidateAccountName refuses name.
func (s *Store) EnsureAccount(ctx context.Context, name string) (*marketgraph.Account, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("ensure account: %w", err)
	}
	if err := marketgraph.ValidateAccountName(name); err != nil {
		return nil, err
	}
	d := &s.acct
	d.mu.Lock()
	defer d.mu.Unlock()
	if a, ok := d.byName[name]; ok {
		c := *a
		return &c, nil
	}
	if d.accounts == nil {
		d.accounts, d.byName = map[string]*marketgraph.Account{}, map[string]*marketgraph.Account{}
	}
	a := &marketgraph.Account{ID: marketgraph.NewID("acc"), Name: name, CreatedAt: now()}
	d.accounts[a.ID], d.byName[name] = a, a
	c := *a
	return &c, nil
}

// CreateAPIKey stores a copy of k and fills in k's ID, CreatedAt and
// AccountName. BAD_USER_INPUT when marketgraph.ValidateAPIKey refuses k or
// its account is unknown; CONFLICT when another key has its prefix.
func (s *Store) CreateAPIKey(ctx context.Context, k *marketgraph.APIKey) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("create API key: %w", err)
	}
	if err := marketgraph.ValidateAPIKey(k); err != nil {
		return err
	}
	d := &s.acct
	d.mu.Lock()
	defer d.mu.Unlock()
	a, ok := d.accounts[k.AccountID]
	if !ok {
		return marketgraph.Errorf(marketgraph.EBADINPUT, "API key %q: unknown account %q", k.Prefix, k.AccountID)
	}
	if _, ok := d.byPrefix[k.Prefix]; ok {
		return marketgraph.Errorf(marketgraph.ECONFLICT, "API key %q: prefix already exists", k.Prefix)
	}
	if d.keys == nil {
		d.keys, d.byPrefix = map[string]*marketgraph.APIKey{}, map[string]*marketgraph.APIKey{}
	}
	k.ID, k.CreatedAt, k.AccountName = marketgraph.NewID("key"), now(), a.Name
	k.RevokedAt, k.LastUsedAt = time.Time{}, time.Time{}
	if !k.ExpiresAt.IsZero() {
		k.ExpiresAt = k.ExpiresAt.UTC().Truncate(time.Microsecond)
	}
	stored := copyKey(k)
	d.keys[k.ID], d.byPrefix[k.Prefix] = stored, stored
	return nil
}

// APIKeyByPrefix returns a copy of the key with prefix, or NOT_FOUND (a
// prefix failing CheckText was never stored, so it is a miss like any
// other).
func (s *Store) APIKeyByPrefix(ctx context.Context, prefix string) (*marketgraph.APIKey, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("API key by prefix: %w", err)
	}
	d := &s.acct
	d.mu.RLock()
	defer d.mu.RUnlock()
	k, ok := d.byPrefix[prefix]
	if !ok {
		return nil, marketgraph.Errorf(marketgraph.ENOTFOUND, "API key: not found")
	}
	return d.withAccount(k), nil
}

// ListAPIKeys returns copies of every key, oldest first, ties by id.
func (s *Store) ListAPIKeys(ctx context.Context) ([]*marketgraph.APIKey, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	d := &s.acct
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]*marketgraph.APIKey, 0, len(d.keys))
	for _, k := range d.keys {
		out = append(out, d.withAccount(k))
	}
	slices.SortFunc(out, func(a, b *marketgraph.APIKey) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// RevokeAPIKey marks the key revoked now, unless it is already; NOT_FOUND
// for an unknown id.
func (s *Store) RevokeAPIKey(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("revoke API key: %w", err)
	}
	d := &s.acct
	d.mu.Lock()
	defer d.mu.Unlock()
	k, ok := d.keys[id]
	if !ok {
		return marketgraph.Errorf(marketgraph.ENOTFOUND, "API key %q: not found", id)
	}
	if k.RevokedAt.IsZero() {
		k.RevokedAt = now()
	}
	return nil
}

// TouchAPIKeys moves each known key's LastUsedAt forward to the given time;
// earlier times, unknown ids and zero or out-of-range times change nothing.
func (s *Store) TouchAPIKeys(ctx context.Context, used map[string]time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("touch API keys: %w", err)
	}
	d := &s.acct
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, t := range used {
		k, ok := d.keys[id]
		if !ok || !marketgraph.TouchableTime(t) {
			continue
		}
		if t = t.UTC().Truncate(time.Microsecond); t.After(k.LastUsedAt) {
			k.LastUsedAt = t
		}
	}
	return nil
}

// withAccount returns a copy of k with its account's name; d.mu must be
// held.
func (d *accountData) withAccount(k *marketgraph.APIKey) *marketgraph.APIKey {
	c := copyKey(k)
	if a, ok := d.accounts[k.AccountID]; ok {
		c.AccountName = a.Name
	}
	return c
}

// copyKey copies k, its slices included.
func copyKey(k *marketgraph.APIKey) *marketgraph.APIKey {
	c := *k
	c.Hash = slices.Clone(k.Hash)
	c.Scopes = slices.Clone(k.Scopes)
	return &c
}
