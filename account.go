package marketgraph

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"math"
	"strings"
	"time"
	"unicode"
)

// Account is a customer of the API: the owner of API keys, and the unit rate
// limits and cost budgets are kept for.
type Account struct {
	// ID is the account's stable identifier ("acc_" and 16 hex digits).
	ID string
	// Name is unique and chosen by the operator (`apikey create -account`).
	Name      string
	CreatedAt time.Time
}

// APIKey is a stored API key: everything about it except the key itself,
// which is shown once at creation and kept only as a hash.
type APIKey struct {
	// ID is the key's stable identifier ("key_" and 16 hex digits), the one
	// `apikey revoke` takes. It is not secret.
	ID        string
	AccountID string
	// AccountName is the name of the key's account, filled in by the store
	// on the way out (CreateAPIKey, ListAPIKeys, APIKeyByPrefix); it is not
	// read on the way in.
	AccountName string
	// Prefix is the short, non-secret start of the key the store finds it
	// by: unique across keys, and fine to log.
	Prefix string
	// Hash is the digest of the whole key (see package auth).
	Hash []byte
	// Scopes are the permissions the key carries, by name.
	Scopes []string
	// RatePerMinute and CostPerMinute override the server's default
	// request rate and query-cost budget for this key; 0 keeps the
	// defaults.
	RatePerMinute int
	CostPerMinute int
	// ExpiresAt, RevokedAt and LastUsedAt are zero for never.
	ExpiresAt  time.Time
	RevokedAt  time.Time
	LastUsedAt time.Time
	CreatedAt  time.Time
}

// AccountStore keeps accounts and their API keys. Times come back in UTC to
// the microsecond; stores hand out copies.
type AccountStore interface {
	// EnsureAccount returns the account called name, creating it first if
	// there is none. BAD_USER_INPUT when ValidateAccountName refuses name.
	EnsureAccount(ctx context.Context, name string) (*Account, error)
	// CreateAPIKey stores k and fills in k.ID, k.CreatedAt and
	// k.AccountName; k.RevokedAt and k.LastUsedAt are ignored (a new key is
	// neither revoked nor used). BAD_USER_INPUT when ValidateAPIKey refuses
	// k or its account does not exist; CONFLICT when another key has k's
	// prefix (the caller draws a new key and tries again).
	CreateAPIKey(ctx context.Context, k *APIKey) error
	// APIKeyByPrefix returns the key with prefix, revoked and expired keys
	// included; NOT_FOUND when there is none, including for a prefix that
	// fails CheckText.
	APIKeyByPrefix(ctx context.Context, prefix string) (*APIKey, error)
	// ListAPIKeys returns every key, revoked and expired ones included,
	// oldest first (ties by id).
	ListAPIKeys(ctx context.Context) ([]*APIKey, error)
	// RevokeAPIKey marks the key revoked now. Revoking a revoked key
	// changes nothing (it keeps its first revocation time); NOT_FOUND when
	// no key has that id.
	RevokeAPIKey(ctx context.Context, id string) error
	// TouchAPIKeys records when keys were last used, in one write for the
	// whole batch: each key's LastUsedAt becomes the given time unless it
	// is already as late, so batches applied out of order never move it
	// back. Unknown ids, ids that fail CheckText and zero or out-of-range
	// times are skipped.
	TouchAPIKeys(ctx context.Context, used map[string]time.Time) error
}

// MaxAPIKeyLimit bounds RatePerMinute and CostPerMinute: PostgreSQL's
// integer column.
const MaxAPIKeyLimit = math.MaxInt32

// maxScopes bounds how many scopes one key may list; there are four today.
const maxScopes = 16

// maxHashLen bounds a stored hash: 64 bytes is SHA-512's digest.
const maxHashLen = 64

// NewID returns a new random identifier: kind, an underscore and 16 hex
// digits ("key_3f9a0c1b2d4e5f60"). 64 random bits make a collision
// vanishingly unlikely, and the stores' unique keys catch one anyway.
func NewID(kind string) string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return kind + "_" + hex.EncodeToString(b[:])
}

// ValidateAccountName returns a BAD_USER_INPUT error when name cannot name
// an account: empty, failing CheckText, with leading or trailing spaces, or
// holding a control character (names are printed in tables and logs).
func ValidateAccountName(name string) error {
	if name == "" {
		return Errorf(EBADINPUT, "account name: must not be empty")
	}
	if err := CheckText("account name", name); err != nil {
		return err
	}
	if strings.TrimSpace(name) != name {
		return Errorf(EBADINPUT, "account name: must not start or end with a space")
	}
	if strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return Errorf(EBADINPUT, "account name: must not contain control characters")
	}
	return nil
}

// ValidateAPIKey returns a BAD_USER_INPUT error when AccountStore.CreateAPIKey
// cannot store k: a nil key, an account id or prefix that is empty or fails
// CheckText, an empty or overlong hash, no scopes, too many, or one that is
// empty or fails CheckText, a limit outside 0..MaxAPIKeyLimit, or an expiry
// out of range. Which scope names exist is for package auth to say.
func ValidateAPIKey(k *APIKey) error {
	if k == nil {
		return Errorf(EBADINPUT, "API key is nil")
	}
	for _, f := range []struct{ name, value string }{{"account id", k.AccountID}, {"prefix", k.Prefix}} {
		if f.value == "" {
			return Errorf(EBADINPUT, "API key: no %s", f.name)
		}
		if err := CheckText(f.name, f.value); err != nil {
			return Errorf(EBADINPUT, "API key: %s", ErrorMessage(err))
		}
	}
	switch {
	case len(k.Hash) == 0 || len(k.Hash) > maxHashLen:
		return Errorf(EBADINPUT, "API key %q: hash of %d bytes, want 1 to %d", k.Prefix, len(k.Hash), maxHashLen)
	case len(k.Scopes) == 0:
		return Errorf(EBADINPUT, "API key %q: no scopes", k.Prefix)
	case len(k.Scopes) > maxScopes:
		return Errorf(EBADINPUT, "API key %q: %d scopes, at most %d", k.Prefix, len(k.Scopes), maxScopes)
	case k.RatePerMinute < 0 || k.RatePerMinute > MaxAPIKeyLimit:
		return Errorf(EBADINPUT, "API key %q: rate per minute %d outside 0..%d", k.Prefix, k.RatePerMinute, MaxAPIKeyLimit)
	case k.CostPerMinute < 0 || k.CostPerMinute > MaxAPIKeyLimit:
		return Errorf(EBADINPUT, "API key %q: cost per minute %d outside 0..%d", k.Prefix, k.CostPerMinute, MaxAPIKeyLimit)
	case !k.ExpiresAt.IsZero() && !storableTime(k.ExpiresAt):
		return Errorf(EBADINPUT, "API key %q: expiry %s out of range", k.Prefix, k.ExpiresAt.UTC().Format(time.RFC3339))
	}
	for _, s := range k.Scopes {
		if s == "" {
			return Errorf(EBADINPUT, "API key %q: empty scope", k.Prefix)
		}
		if err := CheckText("scope", s); err != nil {
			return Errorf(EBADINPUT, "API key %q: %s", k.Prefix, ErrorMessage(err))
		}
	}
	return nil
}

// TouchableTime reports whether AccountStore.TouchAPIKeys records t: not
// zero and within the range every store can hold.
func TouchableTime(t time.Time) bool { return !t.IsZero() && storableTime(t) }
