package resolvers

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/loaders"
	"github.com/marketgraph/marketgraph/memory"
)

// countingStore counts asset lookups by id.
type countingStore struct {
	*memory.Store
	lookups atomic.Int64
	fail    atomic.Bool
}

func (s *countingStore) FindAssetsByIDs(ctx context.Context, ids []string) ([]*marketgraph.Asset, error) {
	s.lookups.Add(1)
	if s.fail.Load() {
		return nil, marketgraph.Errorf(marketgraph.EINTERNAL, "store down")
	}
	return s.Store.FindAssetsByIDs(ctx, ids)
}

// A stale catalog entry is reloaded once, not by every caller at once, and
// a failed reload keeps serving the stale asset.
func TestAssetCatalog_OneReloadWhenStale(t *testing.T) {
	mem := memory.New()
	if err := mem.UpsertAssets(context.Background(), []*marketgraph.Asset{{ID: "bitcoin", Symbol: "BTC", Name: "Bitcoin"}}); err != nil {
		t.Fatal(err)
	}
	store := &countingStore{Store: mem}
	var mu sync.Mutex
	now := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	c := newAssetCatalog(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	// Each subscription has loaders of its own, as each operation does.
	newCtx := func() context.Context {
		return loaders.With(context.Background(), loaders.New(loaders.Config{Store: store, Wait: time.Millisecond, NoCache: true}))
	}
	ctx := newCtx()
	if a, err := c.get(ctx, "bitcoin"); err != nil || a.Symbol != "BTC" {
		t.Fatalf("first get: %v %v", a, err)
	}
	mu.Lock()
	now = now.Add(assetCatalogTTL)
	mu.Unlock()
	before := store.lookups.Load()
	var wg sync.WaitGroup
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if a, err := c.get(newCtx(), "bitcoin"); err != nil || a == nil {
				t.Errorf("get: %v %v", a, err)
			}
		}()
	}
	wg.Wait()
	if n := store.lookups.Load() - before; n != 1 {
		t.Fatalf("%d store lookups for 200 callers of a stale entry, want 1", n)
	}
	mu.Lock()
	now = now.Add(assetCatalogTTL)
	mu.Unlock()
	store.fail.Store(true)
	if a, err := c.get(ctx, "bitcoin"); err != nil || a.Symbol != "BTC" {
		t.Fatalf("get with the store down: %v %v, want the stale asset", a, err)
	}
}
