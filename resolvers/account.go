package resolvers

import (
	"context"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/pubsub"

	"github.com/marketgraph/marketgraph/auth"
	"github.com/marketgraph/marketgraph/graph"
	"github.com/marketgraph/marketgraph/ratelimit"
)

// Me is the caller as its credentials describe it; nil for an anonymous
// caller.
func (r *queryResolver) Me(ctx context.Context) (*auth.Principal, error) {
	return auth.PrincipalFrom(ctx), nil
}

// RateLimit is the caller's cost budget as the server's budget middleware
// left it for this operation; nil when the server keeps no budgets.
func (r *queryResolver) RateLimit(ctx context.Context) (*ratelimit.State, error) {
	st, ok := ratelimit.StateFrom(ctx)
	if !ok {
		return nil, nil
	}
	return &st, nil
}

type accountResolver struct{ *Resolver }

var _ graph.AccountResolver = (*accountResolver)(nil)

// Account returns the Account resolver.
func (r *Resolver) Account() graph.AccountResolver { return &accountResolver{r} }

// ID is the caller's account id.
func (r *accountResolver) ID(_ context.Context, obj *auth.Principal) (string, error) {
	return obj.AccountID, nil
}

// KeyPrefix is the API key's public prefix, nil for a token.
func (r *accountResolver) KeyPrefix(_ context.Context, obj *auth.Principal) (*string, error) {
	if obj.KeyPrefix == "" {
		return nil, nil
	}
	return &obj.KeyPrefix, nil
}

// CredentialExpiresAt is when the credential expires, nil when it does not.
func (r *accountResolver) CredentialExpiresAt(_ context.Context, obj *auth.Principal) (*time.Time, error) {
	if obj.ExpiresAt.IsZero() {
		return nil, nil
	}
	t := obj.ExpiresAt.UTC()
	return &t, nil
}

// AuthMethod is how the caller authenticated.
func (r *accountResolver) AuthMethod(_ context.Context, obj *auth.Principal) (auth.Method, error) {
	return obj.Method, nil
}

// accountEvents subscribes to the caller's own account topic: the channel
// per-account subscription fields (alertTriggered) read. The account comes
// from the authenticated caller, never from an argument, so no caller can
// listen to another's events; an anonymous caller has none.
func (r *Resolver) accountEvents(ctx context.Context) (*pubsub.Subscription, error) {
	p := auth.PrincipalFrom(ctx)
	if p == nil || p.AccountID == "" {
		return nil, marketgraph.Errorf(marketgraph.EUNAUTHENTICATED, "account events need credentials: send an API key or a token")
	}
	if r.bus == nil {
		return nil, errNoBus
	}
	return r.bus.Subscribe(ctx, marketgraph.AccountTopic(p.AccountID))
}
