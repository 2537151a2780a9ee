package auth

import (
	"context"
	"log/slog"

	"github.com/marketgraph/marketgraph"
)

// Authenticator is the one code path from a presented credential to a
// caller, shared by HTTP headers and a WebSocket's connection_init: API
// keys go to Keys, other bearer tokens to JWT.
type Authenticator struct {
	// Keys checks API keys; nil refuses them.
	Keys *APIKeyAuthenticator
	// JWT checks bearer tokens that are not API keys; nil refuses them.
	JWT *JWTVerifier
	// Log receives the audit lines of failures the checkers above do not
	// log themselves. nil discards them.
	Log *slog.Logger
}

// Authenticate returns the caller c identifies: nil, without error, for an
// anonymous caller (no credential). Errors are client-safe marketgraph
// errors: UNAUTHENTICATED, or UPSTREAM_UNAVAILABLE when a JWKS cannot be
// fetched; anything else is a failure of the server (a store error) and is
// INTERNAL. Every failure leaves one audit line.
func (a *Authenticator) Authenticate(ctx context.Context, c Credential) (*Principal, error) {
	switch c.Method {
	case "":
		return nil, nil
	case MethodAPIKey:
		if a.Keys == nil {
			AuditFailure(ctx, a.Log, MethodAPIKey, ReasonNotAccepted)
			return nil, marketgraph.Errorf(marketgraph.EUNAUTHENTICATED, "API keys are not accepted by this server")
		}
		return a.Keys.Authenticate(ctx, c.Token)
	case MethodJWT:
		if a.JWT == nil {
			AuditFailure(ctx, a.Log, MethodJWT, ReasonNotAccepted)
			return nil, marketgraph.Errorf(marketgraph.EUNAUTHENTICATED, "bearer tokens other than API keys are not accepted by this server")
		}
		p, err := a.JWT.Verify(ctx, c.Token)
		if err != nil {
			// The verifier's messages are short and client-safe, and name
			// the reason ("token expired"); they serve as the audit reason.
			AuditFailure(ctx, a.Log, MethodJWT, marketgraph.ErrorMessage(err))
			return nil, err
		}
		return p, nil
	}
	AuditFailure(ctx, a.Log, c.Method, ReasonMalformed)
	return nil, marketgraph.Errorf(marketgraph.EUNAUTHENTICATED, "unsupported credential")
}

// ReasonNotAccepted is the audit reason for a kind of credential the server
// is not configured to check.
const ReasonNotAccepted = "method_not_accepted"
