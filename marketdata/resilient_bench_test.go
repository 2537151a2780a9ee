package marketdata_test

import (
	"context"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/marketdata"
)

// benchSimulator quotes the 100 assets of a catalog-only dataset.
func benchSimulator() (*marketdata.Simulator, []string) {
	page := ids("coin", 100)
	ds := &marketgraph.Dataset{End: t0}
	for _, id := range page {
		ds.Assets = append(ds.Assets, &marketgraph.Asset{ID: id, Category: "Layer 1", MarketCap: 1e9, Supply: 1e7, Volume24h: 1e8})
	}
	return marketdata.NewSimulator(ds, marketdata.SimulatorConfig{}), page
}

// BenchmarkProvider_Direct is the simulator's cost for one page of quotes,
// what BenchmarkResilient_CacheHit compares with.
func BenchmarkProvider_Direct(b *testing.B) {
	sim, page := benchSimulator()
	ctx := context.Background()
	for b.Loop() {
		if qs, err := sim.Quotes(ctx, page, marketgraph.CurrencyUSD); err != nil || len(qs) != len(page) {
			b.Fatal(len(qs), err)
		}
	}
}

// BenchmarkResilient_CacheHit is one page of quotes answered from the cache.
func BenchmarkResilient_CacheHit(b *testing.B) {
	sim, page := benchSimulator()
	r := marketdata.NewResilient(sim, marketdata.ResilienceConfig{CacheTTL: time.Hour, CallsPerMinute: -1})
	ctx := context.Background()
	if _, err := r.Quotes(ctx, page, marketgraph.CurrencyUSD); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if qs, err := r.Quotes(ctx, page, marketgraph.CurrencyUSD); err != nil || len(qs) != len(page) {
			b.Fatal(len(qs), err)
		}
	}
}

// BenchmarkResilient_CacheHitParallel is the cache-hit path under
// concurrent requests: they share a read lock.
func BenchmarkResilient_CacheHitParallel(b *testing.B) {
	sim, page := benchSimulator()
	r := marketdata.NewResilient(sim, marketdata.ResilienceConfig{CacheTTL: time.Hour, CallsPerMinute: -1})
	ctx := context.Background()
	if _, err := r.Quotes(ctx, page, marketgraph.CurrencyUSD); err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if qs, err := r.Quotes(ctx, page, marketgraph.CurrencyUSD); err != nil || len(qs) != len(page) {
				b.Error(len(qs), err)
				return
			}
		}
	})
}
