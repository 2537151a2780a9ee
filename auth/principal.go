// Package auth identifies callers and decides what they may do: API keys
// (mg_ plus a random secret, stored only as a hash), JWT bearer tokens
// (HS256 with a shared secret, or RS256/ES256 from a JWKS URL), scopes, and
// the context a caller's identity travels in. The same code path serves
// HTTP headers and a WebSocket's connection_init payload.
package auth

import (
	"context"
	"slices"
	"time"
)

// Scope is one permission a credential carries.
type Scope string

// The scopes. read: queries; subscribe: subscriptions; write: mutations of
// the caller's own data (watchlists, alerts); admin: operator actions.
const (
	ScopeRead      Scope = "read"
	ScopeSubscribe Scope = "subscribe"
	ScopeWrite     Scope = "write"
	ScopeAdmin     Scope = "admin"
)

// AllScopes lists every scope, in the order above.
var AllScopes = []Scope{ScopeRead, ScopeSubscribe, ScopeWrite, ScopeAdmin}

// Method is how a caller proved its identity.
type Method string

// The methods. Anonymous callers have no Principal at all.
const (
	MethodAPIKey Method = "apikey"
	MethodJWT    Method = "jwt"
)

// Principal is an authenticated caller.
type Principal struct {
	// AccountID identifies the account: the key's account, or the JWT's
	// account claim. Rate limits and cost budgets are kept per account.
	AccountID string
	// Scopes are what the credential allows.
	Scopes []Scope
	// Method is how the caller authenticated.
	Method Method
	// KeyID and KeyPrefix identify the API key (empty for a JWT). The
	// prefix is not secret and may be logged; the key never is.
	KeyID     string
	KeyPrefix string
	// ExpiresAt is when the credential stops being valid (zero: never). A
	// WebSocket authenticated with it is closed with 4401 at that time.
	ExpiresAt time.Time
	// RatePerMinute and CostPerMinute override the server's default
	// request rate and query-cost budget for this caller; 0 keeps the
	// defaults.
	RatePerMinute int
	CostPerMinute int
}

// Has reports whether p carries scope s. admin implies every scope.
func (p *Principal) Has(s Scope) bool {
	if p == nil {
		return false
	}
	return slices.Contains(p.Scopes, s) || slices.Contains(p.Scopes, ScopeAdmin)
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the caller ctx carries, nil for an anonymous one.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}
