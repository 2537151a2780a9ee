package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/storetest"
)

// TestCandles_DemoSize loads a dataset the size of the demo seed (100 assets
// with 90 daily, 168 hourly and 1440 minute candles each) twice, reads it
// back, and checks that the 100-asset candle query walks the primary key
// rather than scanning the table.
func TestCandles_DemoSize(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 170k candles")
	}
	ctx := context.Background()
	counter := &statementCounter{}
	db, url := newDBWithURL(t, counter)
	ds := largeDataset()
	if err := db.Load(ctx, ds); err != nil {
		t.Fatalf("Load: %v", err)
	}
	if err := db.Load(ctx, ds); err != nil {
		t.Fatalf("second Load: %v", err)
	}
	ids := assetIDs(ds)

	t.Run("AllMinutes", func(t *testing.T) {
		m, err := db.CandlesByAssets(ctx, ids, marketgraph.CandleRange{Interval: marketgraph.IntervalMinute})
		if err != nil {
			t.Fatalf("CandlesByAssets: %v", err)
		}
		n := 0
		for _, cs := range m {
			n += len(cs)
		}
		if want := 100 * 1440; n != want {
			t.Errorf("%d minute candles after loading twice, want %d", n, want)
		}
	})

	t.Run("PlanUsesPrimaryKey", func(t *testing.T) {
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "ANALYZE"); err != nil {
			t.Fatalf("ANALYZE: %v", err)
		}
		from := ds.End.Add(-30 * 24 * time.Hour)
		for _, r := range []marketgraph.CandleRange{
			{Interval: marketgraph.IntervalDay, Last: 7},
			{Interval: marketgraph.IntervalHour, From: &from, To: &ds.End},
		} {
			counter.reset()
			if _, err := db.CandlesByAssets(ctx, ids, r); err != nil {
				t.Fatalf("CandlesByAssets: %v", err)
			}
			sql, args := counter.last()
			rows, err := conn.Query(ctx, "EXPLAIN "+sql, args...)
			if err != nil {
				t.Fatalf("EXPLAIN: %v", err)
			}
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatalf("EXPLAIN: %v", err)
			}
			text := strings.Join(lines, "\n")
			if !strings.Contains(text, "candles_pkey") || strings.Contains(text, "Seq Scan on candles") {
				t.Errorf("plan for %+v does not walk candles_pkey:\n%s", r, text)
			}
		}
	})
}

// assetIDs returns the ids of the dataset's assets.
func assetIDs(ds *marketgraph.Dataset) []string {
	ids := make([]string, len(ds.Assets))
	for i, a := range ds.Assets {
		ids[i] = a.ID
	}
	return ids
}

// largeDataset is the contract fixture's 100 assets, each with a demo-sized
// history.
func largeDataset() *marketgraph.Dataset {
	ds := storetest.Fixture()
	ds.Candles, ds.Signals = nil, nil
	for _, a := range ds.Assets {
		for _, iv := range []struct {
			interval marketgraph.CandleInterval
			n        int
		}{{marketgraph.IntervalDay, 90}, {marketgraph.IntervalHour, 168}, {marketgraph.IntervalMinute, 1440}} {
			for j := range iv.n {
				p := 100 + float64(j)*0.01
				ds.Candles = append(ds.Candles, &marketgraph.Candle{
					AssetID: a.ID, Interval: iv.interval,
					Start: ds.End.Add(-time.Duration(iv.n-j) * iv.interval.Duration()),
					Open:  p, High: p * 1.01, Low: p * 0.99, Close: p, Volume: 1000,
				})
			}
		}
	}
	return ds
}
