package resolvers

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/graph"
	"github.com/marketgraph/marketgraph/loaders"
	"github.com/marketgraph/marketgraph/pubsub"
	"github.com/marketgraph/marketgraph/tickhub"
)

type subscriptionResolver struct{ *Resolver }

var _ graph.SubscriptionResolver = (*subscriptionResolver)(nil)

// Limits of the subscription arguments.
const (
	maxSubscribedAssets = 100
	maxMinIntervalMs    = 60_000
	// maxPendingSignals bounds the signals waiting for a slow client;
	// ticks need no such bound beyond the asset count, as they coalesce.
	maxPendingSignals = 64
)

// errNoBus answers subscriptions on a server built without a bus.
var errNoBus = marketgraph.Errorf(marketgraph.EUPSTREAM, "subscriptions are not available")

// PriceTicks streams the ticks of the given assets, converted to currency,
// at most one per asset per minIntervalMs (the newest). With resumeFrom it
// first sends what the client missed (see resume).
//
// No gap, no duplicate: the live topics are subscribed BEFORE the history
// is read, so a tick published meanwhile is in the history or arrives live
// (pubsub.Bus.History promises it), possibly both; live ticks not newer
// than the newest retained one are then dropped as duplicates.
func (r *subscriptionResolver) PriceTicks(ctx context.Context, assetIds []string, currency *marketgraph.Currency, minIntervalMs *int, resumeFrom *string) (<-chan *marketgraph.PriceTick, error) {
	if r.bus == nil {
		return nil, errNoBus
	}
	ms, err := intArg("minIntervalMs", minIntervalMs, 0, 0, maxMinIntervalMs)
	if err != nil {
		return nil, err
	}
	ids, err := r.checkAssets(ctx, assetIds)
	if err != nil {
		return nil, err
	}
	points, err := parseResumeFrom(resumeFrom, ids)
	if err != nil {
		return nil, err
	}
	cur := currencyArg(currency)
	if claim := tickhub.ClaimFrom(ctx); claim != nil && ms == 0 && points == nil && cur == marketgraph.CurrencyUSD {
		return r.handOver(ctx, claim, ids)
	}
	subs, err := r.subscribe(ctx, ids, marketgraph.TickTopic)
	if err != nil {
		return nil, err
	}
	rs := &resumption{}
	if points != nil {
		if rs, err = r.resume(ctx, points, cur); err != nil {
			for _, s := range subs {
				s.Close()
			}
			return nil, err
		}
	}
	// Replayed ticks are this subscriber's own copies: they get their
	// asset here, as live ones get it when first decoded.
	for _, t := range rs.backlog {
		if t.Asset == nil {
			if t.Asset, err = r.catalog.get(ctx, t.AssetID); err != nil {
				for _, s := range subs {
					s.Close()
				}
				return nil, err
			}
		}
	}
	out := make(chan *marketgraph.PriceTick)
	p := &pump[*marketgraph.PriceTick]{
		subs:     subs,
		out:      out,
		log:      r.log,
		interval: time.Duration(ms) * time.Millisecond,
		max:      len(ids),
		backlog:  rs.backlog,
		decode: func(b []byte) (*marketgraph.PriceTick, string, bool) {
			t, ok := r.ticks.decode(ctx, r.log, r.catalog, b)
			if !ok || rs.duplicate(t) {
				return nil, "", false
			}
			return t, t.AssetID, true
		},
	}
	if cur != marketgraph.CurrencyUSD {
		p.prepare = func(ctx context.Context, t *marketgraph.PriceTick) (*marketgraph.PriceTick, bool) {
			return r.convert(ctx, t, cur)
		}
	}
	go p.run(ctx)
	return out, nil
}

// handOver gives the subscription to the transport's tick hub (see
// tickhub.Claim): the live ticks of ids, in USD, with their assets from the
// catalog, which is what the pump would send. The channel returned is
// closed: gqlgen is not asked for events of an operation handed over.
func (r *subscriptionResolver) handOver(ctx context.Context, claim tickhub.Claim, ids []string) (<-chan *marketgraph.PriceTick, error) {
	assets := make([]*marketgraph.Asset, len(ids))
	for i, id := range ids {
		a, err := r.catalog.get(ctx, id)
		if err != nil {
			return nil, err
		}
		assets[i] = a
	}
	claim.Take(assets)
	out := make(chan *marketgraph.PriceTick)
	close(out)
	return out, nil
}

// convert replaces the USD quote the ingest pipeline published with the
// quote in cur, loaded now (the loaders of a subscription do not cache). A
// tick whose quote cannot be loaded is skipped: the next one will try again.
func (r *subscriptionResolver) convert(ctx context.Context, t *marketgraph.PriceTick, cur marketgraph.Currency) (*marketgraph.PriceTick, bool) {
	q, err := loaders.For(ctx).QuoteByAsset.Load(ctx, loaders.QuoteKey{AssetID: t.AssetID, Currency: cur})()
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("priceTicks: tick skipped, no quote in currency", "asset", t.AssetID, "currency", string(cur), "error", err.Error())
		}
		return nil, false
	}
	c := *t
	c.Quote = q
	return &c, true
}

// Signals streams new signals of the given assets, or of the top of the
// catalog when assetIds is absent.
func (r *subscriptionResolver) Signals(ctx context.Context, assetIds []string) (<-chan *marketgraph.Signal, error) {
	if r.bus == nil {
		return nil, errNoBus
	}
	var ids []string
	var err error
	if assetIds == nil {
		ids, err = r.topAssets(ctx)
	} else {
		ids, err = r.checkAssets(ctx, assetIds)
	}
	if err != nil {
		return nil, err
	}
	subs, err := r.subscribe(ctx, ids, marketgraph.SignalTopic)
	if err != nil {
		return nil, err
	}
	out := make(chan *marketgraph.Signal)
	p := &pump[*marketgraph.Signal]{
		subs: subs,
		out:  out,
		log:  r.log,
		max:  maxPendingSignals,
		decode: func(b []byte) (*marketgraph.Signal, string, bool) {
			e, ok := decodeJSON[marketgraph.SignalEvent](r.log, b)
			if !ok || e.Signal == nil || e.Signal.ID == "" {
				return nil, "", false
			}
			return e.Signal, e.Signal.ID, true
		},
	}
	go p.run(ctx)
	return out, nil
}

// checkAssets validates a list of asset ids: 1 to maxSubscribedAssets of
// them, each an asset of the catalog. Duplicates count once.
func (r *subscriptionResolver) checkAssets(ctx context.Context, ids []string) ([]string, error) {
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	if len(ids) < 1 || len(ids) > maxSubscribedAssets {
		return nil, marketgraph.Errorf(marketgraph.EBADINPUT, "assetIds: give between 1 and %d asset ids, got %d", maxSubscribedAssets, len(ids))
	}
	for _, id := range ids {
		if id == "" {
			return nil, marketgraph.Errorf(marketgraph.EBADINPUT, "assetIds: must not contain an empty id")
		}
		if err := marketgraph.CheckText("assetIds", id); err != nil {
			return nil, err
		}
	}
	_, errs := loaders.For(ctx).AssetByID.LoadMany(ctx, ids)()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// topAssets is the first page of the catalog by rank.
func (r *subscriptionResolver) topAssets(ctx context.Context) ([]string, error) {
	page, err := r.store.ListAssets(ctx, marketgraph.AssetListParams{
		First: marketgraph.MaxAssetPageSize,
		Order: marketgraph.DefaultAssetOrder,
	})
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(page.Assets))
	for i, a := range page.Assets {
		ids[i] = a.ID
	}
	return ids, nil
}

// subscribe subscribes to topic(id) for every id; on failure it releases
// what it had subscribed.
func (r *subscriptionResolver) subscribe(ctx context.Context, ids []string, topic func(string) string) ([]*pubsub.Subscription, error) {
	subs := make([]*pubsub.Subscription, 0, len(ids))
	for _, id := range ids {
		s, err := r.bus.Subscribe(ctx, topic(id))
		if err != nil {
			for _, s := range subs {
				s.Close()
			}
			return nil, fmt.Errorf("subscribe to %s: %w", topic(id), err)
		}
		subs = append(subs, s)
	}
	return subs, nil
}
