package resolvers

import (
	"context"
	"log/slog"
	"sync"
	"time"
	"unsafe"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/loaders"
)

// sharedTicks decodes each published tick once for every subscriber of its
// asset. The bus hands the same payload (one []byte) to all of them; without
// this, ten thousand subscribers would decode the same JSON ten thousand
// times. Decoded ticks are shared, so they are never modified: whoever needs
// a variant (another currency, a replay marker) copies first.
type sharedTicks struct {
	mu sync.Mutex
	// byPayload maps the first byte of a payload to its tick. Holding the
	// pointer keeps the payload alive, so its address cannot be reused by
	// another payload while the entry exists.
	byPayload map[*byte]sharedTick
	// ring holds the keys in insertion order; the oldest is evicted when
	// it wraps. A few thousand entries cover tens of seconds of ticks,
	// far longer than any subscriber takes to read a payload off the bus.
	ring []*byte
	next int
}

type sharedTick struct {
	n    int
	tick *marketgraph.PriceTick
}

const sharedTicksSize = 4096

func newSharedTicks() *sharedTicks {
	return &sharedTicks{byPayload: make(map[*byte]sharedTick, sharedTicksSize), ring: make([]*byte, sharedTicksSize)}
}

// decode returns the live tick in payload, with its asset from catalog,
// decoding it only the first time any subscriber asks. ok is false for a
// payload that is not a tick, or whose asset could not be loaded (logged;
// the next tick tries again).
func (s *sharedTicks) decode(ctx context.Context, log *slog.Logger, catalog *assetCatalog, payload []byte) (*marketgraph.PriceTick, bool) {
	if len(payload) == 0 {
		return nil, false
	}
	key := unsafe.SliceData(payload)
	s.mu.Lock()
	e, ok := s.byPayload[key]
	s.mu.Unlock()
	if ok && e.n == len(payload) {
		return e.tick, e.tick != nil
	}
	t, ok := decodeJSON[marketgraph.PriceTick](log, payload)
	if !ok || t.AssetID == "" || t.Quote == nil {
		t = nil
	} else {
		t.Delivery = marketgraph.DeliveryLive
		a, err := catalog.get(ctx, t.AssetID)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("priceTicks: tick skipped, its asset could not be loaded", "asset", t.AssetID, "error", err.Error())
			}
			return nil, false // not cached: another subscriber may do better
		}
		t.Asset = a
	}
	s.mu.Lock()
	if old := s.ring[s.next]; old != nil {
		delete(s.byPayload, old)
	}
	s.ring[s.next] = key
	s.next = (s.next + 1) % len(s.ring)
	s.byPayload[key] = sharedTick{n: len(payload), tick: t}
	s.mu.Unlock()
	return t, t != nil
}

// assetCatalog keeps the assets that ticks name, for PriceTick.asset: a
// tick stream would otherwise load the same asset through a batching
// loader, with its timer and goroutine, for every tick of every
// subscriber. An entry is trusted for assetCatalogTTL, so a renamed or
// re-ranked asset shows within that.
type assetCatalog struct {
	now func() time.Time
	mu  sync.RWMutex
	m   map[string]catalogEntry
}

type catalogEntry struct {
	asset *marketgraph.Asset
	at    time.Time
	// refreshing is set while one caller reloads a stale entry; the
	// others keep getting the stale asset meanwhile, so that ten thousand
	// subscribers do not reload it at once every assetCatalogTTL.
	refreshing bool
}

const assetCatalogTTL = 30 * time.Second

func newAssetCatalog(now func() time.Time) *assetCatalog {
	return &assetCatalog{now: now, m: map[string]catalogEntry{}}
}

// get returns the asset id, from the catalog when fresh, else through the
// operation's loader. A stale entry is reloaded by one caller while the
// rest are served the stale asset; a failed reload keeps it.
func (c *assetCatalog) get(ctx context.Context, id string) (*marketgraph.Asset, error) {
	now := c.now()
	c.mu.RLock()
	e, ok := c.m[id]
	c.mu.RUnlock()
	if ok && now.Sub(e.at) < assetCatalogTTL {
		return e.asset, nil
	}
	if ok {
		c.mu.Lock()
		e = c.m[id]
		if e.refreshing || now.Sub(e.at) < assetCatalogTTL {
			c.mu.Unlock()
			return e.asset, nil
		}
		e.refreshing = true
		c.m[id] = e
		c.mu.Unlock()
	}
	a, err := loaders.For(ctx).AssetByID.Load(ctx, id)()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		if ok {
			e.refreshing = false
			c.m[id] = e
			return e.asset, nil // stale beats nothing
		}
		return nil, err
	}
	c.m[id] = catalogEntry{asset: a, at: now}
	return a, nil
}
