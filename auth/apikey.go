package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/marketgraph/marketgraph"
)

// The API key format: "mg_" followed by 32 random bytes in unpadded
// base64url (43 characters), 46 characters in all:
//
//	mg_Xk3q9V0cZr1sT2uW4yA6bC8dE0fG2hJ4kL6mN8pQ0rQ
//	   └─ prefix ─┘
//
// The marker makes a leaked key easy to recognise (secret scanners, log
// reviews) and tells it apart from a JWT in the same Authorization header.
// The first PrefixLen characters of the random part are the key's prefix:
// the store finds the key by it, logs and listings show it, and it is not a
// secret. Twelve characters carry 72 random bits, so prefixes collide only
// after some 2^36 keys; the store's unique index catches a collision anyway
// and IssueAPIKey draws a new key. The 184 bits left after the prefix are
// still far beyond guessing.
const (
	// KeyMarker starts every API key.
	KeyMarker = "mg_"
	// PrefixLen is the length of a key's prefix.
	PrefixLen = 12
	// keyBytes is the random part's length before encoding.
	keyBytes = 32
	// KeyLen is the length of a whole key.
	KeyLen = len(KeyMarker) + (keyBytes*8+5)/6
)

// keyEncoding is base64url without padding, so a key survives URLs, headers
// and shells without quoting.
var keyEncoding = base64.RawURLEncoding

// Client-safe messages of API-key failures, all UNAUTHENTICATED. A wrong
// secret with a known prefix is "unknown API key" too: only the holder of
// the real key learns that it is revoked or expired.
const (
	msgMalformed = "malformed API key"
	msgUnknown   = "unknown API key"
	msgRevoked   = "API key revoked"
	msgExpired   = "API key expired"
)

// GeneratedKey is a new API key: the key to hand to its owner once, and
// what the store keeps instead of it.
type GeneratedKey struct {
	// Key is the secret: show it once, never store or log it.
	Key string
	// Prefix and Hash are what the store keeps.
	Prefix string
	Hash   []byte
}

// GenerateKey draws a new key from random (crypto/rand.Reader when nil).
func GenerateKey(random io.Reader) (GeneratedKey, error) {
	if random == nil {
		random = rand.Reader
	}
	var b [keyBytes]byte
	if _, err := io.ReadFull(random, b[:]); err != nil {
		return GeneratedKey{}, fmt.Errorf("generate API key: %w", err)
	}
	key := KeyMarker + keyEncoding.EncodeToString(b[:])
	return GeneratedKey{Key: key, Prefix: key[len(KeyMarker) : len(KeyMarker)+PrefixLen], Hash: HashKey(key)}, nil
}

// ParseKey checks that key has the shape of an API key (the marker, the
// length, base64url characters that decode to 32 bytes) and returns its
// prefix. A malformed key is refused here, before any store lookup, with an
// UNAUTHENTICATED "malformed API key".
func ParseKey(key string) (prefix string, err error) {
	if len(key) != KeyLen || !strings.HasPrefix(key, KeyMarker) {
		return "", marketgraph.Errorf(marketgraph.EUNAUTHENTICATED, msgMalformed)
	}
	secret := key[len(KeyMarker):]
	for i := 0; i < len(secret); i++ {
		if !isKeyChar(secret[i]) {
			return "", marketgraph.Errorf(marketgraph.EUNAUTHENTICATED, msgMalformed)
		}
	}
	// 43 characters carry 258 bits; the last character's 2 spare bits
	// must be zero, so that one key has exactly one spelling. Strict
	// decoding checks that.
	if _, err := keyEncoding.Strict().DecodeString(secret); err != nil {
		return "", marketgraph.Errorf(marketgraph.EUNAUTHENTICATED, msgMalformed)
	}
	return secret[:PrefixLen], nil
}

// isKeyChar reports whether c is in the base64url alphabet.
func isKeyChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// HashKey is the digest the store keeps of key: SHA-256 of the whole key.
//
// A fast, unsalted hash is right here, unlike for passwords. Password
// hashes are slow and salted because passwords are guessable: an attacker
// holding the hashes tries likely passwords, and slowness multiplies the
// cost of each guess. An API key is 256 bits from crypto/rand, so there is
// nothing likely to try: inverting SHA-256 on such an input is as hard as
// guessing the key, slow hash or not, and no two keys share a hash that a
// salt would need to separate. A fast hash also keeps authentication cheap
// on every request, where bcrypt would cost tens of milliseconds and hand
// attackers a way to burn CPU.
func HashKey(key string) []byte {
	sum := sha256.Sum256([]byte(key))
	return sum[:]
}

// MatchKey reports whether key hashes to hash. The comparison takes the
// same time wherever the digests differ (crypto/subtle), so response times
// reveal nothing about how close a guess came.
func MatchKey(key string, hash []byte) bool {
	return subtle.ConstantTimeCompare(HashKey(key), hash) == 1
}

// ParseScopes parses a comma-separated list of scope names ("read,subscribe"):
// spaces around names are trimmed, repeats dropped, and the result is in
// AllScopes order. BAD_USER_INPUT for an empty list, an empty item or an
// unknown name.
func ParseScopes(s string) ([]Scope, error) {
	want := map[Scope]bool{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, marketgraph.Errorf(marketgraph.EBADINPUT, "scopes: empty item in %q; want a comma-separated list of %s", s, scopeNames())
		}
		if !slices.Contains(AllScopes, Scope(item)) {
			return nil, marketgraph.Errorf(marketgraph.EBADINPUT, "scopes: unknown scope %q; want %s", item, scopeNames())
		}
		want[Scope(item)] = true
	}
	var out []Scope
	for _, sc := range AllScopes {
		if want[sc] {
			out = append(out, sc)
		}
	}
	return out, nil
}

// scopeNames lists the scopes for messages: "read, subscribe, write, admin".
func scopeNames() string {
	names := make([]string, len(AllScopes))
	for i, s := range AllScopes {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// knownScopes keeps the stored scope names this version knows, in order.
// Unknown names are dropped rather than refusing the key: a name this code
// does not know grants nothing here anyway, and refusing would lock a key
// out of every replica still running an older version while a newer one
// (which added a scope) rolls out.
func knownScopes(names []string) []Scope {
	var out []Scope
	for _, n := range names {
		if s := Scope(n); slices.Contains(AllScopes, s) && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// KeyIssuer is what IssueAPIKey needs of a store.
type KeyIssuer interface {
	EnsureAccount(ctx context.Context, name string) (*marketgraph.Account, error)
	CreateAPIKey(ctx context.Context, k *marketgraph.APIKey) error
}

// NewKey says what key to issue.
type NewKey struct {
	// Account is the account's name; it is created if it does not exist.
	Account string
	// Scopes must not be empty.
	Scopes []Scope
	// RatePerMinute and CostPerMinute override the server defaults; 0
	// keeps them.
	RatePerMinute int
	CostPerMinute int
	// ExpiresAt is zero for never.
	ExpiresAt time.Time
}

// issueAttempts bounds the retries on a prefix collision: one in 2^72 per
// existing key, so a second attempt already means something else is wrong.
const issueAttempts = 3

// IssueAPIKey creates a key for n.Account (creating the account if needed)
// and returns the secret, to be shown once, and the stored key. random is
// crypto/rand.Reader when nil. BAD_USER_INPUT when the store refuses the
// account name or the key (see marketgraph.ValidateAPIKey), or n has no
// scopes or an unknown one.
func IssueAPIKey(ctx context.Context, store KeyIssuer, n NewKey, random io.Reader) (string, *marketgraph.APIKey, error) {
	if len(n.Scopes) == 0 {
		return "", nil, marketgraph.Errorf(marketgraph.EBADINPUT, "scopes: at least one of %s", scopeNames())
	}
	scopes := make([]string, len(n.Scopes))
	for i, s := range n.Scopes {
		if !slices.Contains(AllScopes, s) {
			return "", nil, marketgraph.Errorf(marketgraph.EBADINPUT, "scopes: unknown scope %q; want %s", s, scopeNames())
		}
		scopes[i] = string(s)
	}
	acct, err := store.EnsureAccount(ctx, n.Account)
	if err != nil {
		return "", nil, err
	}
	for attempt := 1; ; attempt++ {
		g, err := GenerateKey(random)
		if err != nil {
			return "", nil, err
		}
		k := &marketgraph.APIKey{
			AccountID:     acct.ID,
			Prefix:        g.Prefix,
			Hash:          g.Hash,
			Scopes:        scopes,
			RatePerMinute: n.RatePerMinute,
			CostPerMinute: n.CostPerMinute,
			ExpiresAt:     n.ExpiresAt,
		}
		err = store.CreateAPIKey(ctx, k)
		if err == nil {
			return g.Key, k, nil
		}
		if marketgraph.ErrorCode(err) != marketgraph.ECONFLICT || attempt == issueAttempts {
			return "", nil, err
		}
	}
}
