// Package resolvers holds the hand-written GraphQL resolvers, one file per
// GraphQL type. Resolvers translate: they map arguments, ask a loader (or,
// for root lists, a service) and map errors. They hold no state of their own.
package resolvers

import (
	"log/slog"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/graph"
	"github.com/marketgraph/marketgraph/pubsub"
)

// Deps is what the resolvers need. Per-operation loaders are not here: they
// arrive in the context (loaders.For), installed by the server's operation
// middleware.
type Deps struct {
	// Store answers the root lists that are not keyed (assets pages, symbol
	// lookups); everything keyed goes through loaders.
	Store marketgraph.Store
	Log   *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Bus carries the events subscriptions stream; nil refuses every
	// subscription with "subscriptions are not available". The ticks it
	// retains (pubsub.Retention) are what priceTicks(resumeFrom:) replays.
	Bus pubsub.Bus
	// ResumeWindow is how far back, by publication time, a resumed
	// priceTicks subscription replays missed ticks; beyond it the client
	// gets the current state, marked RESYNC. DefaultResumeWindow when
	// zero.
	ResumeWindow time.Duration
}

// Resolver is the root of the resolver tree.
type Resolver struct {
	store        marketgraph.Store
	log          *slog.Logger
	now          func() time.Time
	bus          pubsub.Bus
	resumeWindow time.Duration
	// ticks and catalog are shared by every subscription (see shared.go).
	ticks   *sharedTicks
	catalog *assetCatalog
}

var _ graph.ResolverRoot = (*Resolver)(nil)

// New returns the root resolver.
func New(d Deps) *Resolver {
	r := &Resolver{store: d.Store, log: d.Log, now: d.Now, bus: d.Bus, resumeWindow: d.ResumeWindow}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.resumeWindow <= 0 {
		r.resumeWindow = DefaultResumeWindow
	}
	r.ticks = newSharedTicks()
	r.catalog = newAssetCatalog(r.now)
	return r
}

// Query returns the Query resolver.
func (r *Resolver) Query() graph.QueryResolver { return &queryResolver{r} }

// Asset returns the Asset resolver.
func (r *Resolver) Asset() graph.AssetResolver { return &assetResolver{r} }

// Signal returns the Signal resolver.
func (r *Resolver) Signal() graph.SignalResolver { return &signalResolver{r} }

// Subscription returns the Subscription resolver.
func (r *Resolver) Subscription() graph.SubscriptionResolver { return &subscriptionResolver{r} }
