package memory_test

import (
	"context"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/memory"
	"github.com/marketgraph/marketgraph/storetest"
)

// benchStore returns a store with the fixture's 100 assets, each with 90
// daily, 168 hourly and 1440 minute candles: the demo dataset's shape.
func benchStore(b *testing.B) (*memory.Store, []string) {
	b.Helper()
	ds := storetest.Fixture()
	ds.Candles = nil
	var ids []string
	for _, a := range ds.Assets {
		ids = append(ids, a.ID)
		for _, iv := range []struct {
			interval marketgraph.CandleInterval
			n        int
		}{{marketgraph.IntervalDay, 90}, {marketgraph.IntervalHour, 168}, {marketgraph.IntervalMinute, 1440}} {
			for j := range iv.n {
				start := ds.End.Add(-time.Duration(iv.n-j) * iv.interval.Duration())
				p := 100 + float64(j)
				ds.Candles = append(ds.Candles, &marketgraph.Candle{AssetID: a.ID, Interval: iv.interval, Start: start, Open: p, High: p + 1, Low: p - 1, Close: p + 0.5, Volume: 1000})
			}
		}
	}
	s := memory.New()
	if err := s.Load(context.Background(), ds); err != nil {
		b.Fatalf("Load: %v", err)
	}
	return s, ids
}

func BenchmarkStore_ListAssetsTop100ByMarketCap(b *testing.B) {
	s, _ := benchStore(b)
	ctx := context.Background()
	p := marketgraph.AssetListParams{First: 100, Order: marketgraph.AssetOrder{Field: marketgraph.AssetOrderMarketCap, Direction: marketgraph.OrderDesc}}
	b.ReportAllocs()
	for b.Loop() {
		page, err := s.ListAssets(ctx, p)
		if err != nil || len(page.Assets) != 100 {
			b.Fatalf("ListAssets: %d assets, %v", len(page.Assets), err)
		}
	}
}

func BenchmarkStore_ListAssetsFilteredPage(b *testing.B) {
	s, _ := benchStore(b)
	ctx := context.Background()
	search := "a"
	after := marketgraph.AssetCursor{Field: marketgraph.AssetOrderName, Str: "m", ID: "m"}
	p := marketgraph.AssetListParams{First: 20, Filter: marketgraph.AssetFilter{Search: &search}, Order: marketgraph.AssetOrder{Field: marketgraph.AssetOrderName}, After: &after}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.ListAssets(ctx, p); err != nil {
			b.Fatalf("ListAssets: %v", err)
		}
	}
}

func BenchmarkStore_CandlesByAssets100Last7(b *testing.B) {
	s, ids := benchStore(b)
	ctx := context.Background()
	r := marketgraph.CandleRange{Interval: marketgraph.IntervalDay, Last: 7}
	b.ReportAllocs()
	for b.Loop() {
		m, err := s.CandlesByAssets(ctx, ids, r)
		if err != nil || len(m) != 100 {
			b.Fatalf("CandlesByAssets: %d assets, %v", len(m), err)
		}
	}
}

func BenchmarkStore_LatestSignals100(b *testing.B) {
	s, ids := benchStore(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.LatestSignals(ctx, ids); err != nil {
			b.Fatalf("LatestSignals: %v", err)
		}
	}
}
