package postgres_test

import (
	"context"
	"testing"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/postgres"
)

// benchDB is a database holding the demo-sized dataset.
func benchDB(b *testing.B) (*postgres.DB, []string) {
	b.Helper()
	db := newDB(b, nil)
	ds := largeDataset()
	if err := db.Load(context.Background(), ds); err != nil {
		b.Fatalf("Load: %v", err)
	}
	return db, assetIDs(ds)
}

func BenchmarkListAssets(b *testing.B) {
	ctx := context.Background()
	db, _ := benchDB(b)
	search := "a"
	for _, bc := range []struct {
		name string
		p    marketgraph.AssetListParams
	}{
		{"Rank20", marketgraph.AssetListParams{First: 20}},
		{"Rank100", marketgraph.AssetListParams{First: 100}},
		{"MarketCapDescAfter", marketgraph.AssetListParams{
			First: 20,
			Order: marketgraph.AssetOrder{Field: marketgraph.AssetOrderMarketCap, Direction: marketgraph.OrderDesc},
			After: &marketgraph.AssetCursor{Field: marketgraph.AssetOrderMarketCap, Num: 1e9, ID: "m"},
		}},
		{"Search", marketgraph.AssetListParams{First: 20, Filter: marketgraph.AssetFilter{Search: &search}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := db.ListAssets(ctx, bc.p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCandlesByAssets(b *testing.B) {
	ctx := context.Background()
	db, ids := benchDB(b)
	for _, bc := range []struct {
		name string
		r    marketgraph.CandleRange
	}{
		{"100AssetsDayLast7", marketgraph.CandleRange{Interval: marketgraph.IntervalDay, Last: 7}},
		{"100AssetsMinuteLast100", marketgraph.CandleRange{Interval: marketgraph.IntervalMinute, Last: 100}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := db.CandlesByAssets(ctx, ids, bc.r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
