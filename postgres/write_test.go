package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/storetest"
)

// writeBatches returns a batch of each kind over the fixture: 100 assets
// with a new market cap, 100 new minute candles per listed asset after the
// fixture's end, and 100 new signals.
func writeBatches(ds *marketgraph.Dataset, assets int) ([]*marketgraph.Asset, []*marketgraph.Candle, []*marketgraph.Signal) {
	var as []*marketgraph.Asset
	for _, a := range ds.Assets {
		c := *a
		c.MarketCap += 1
		as = append(as, &c)
	}
	var cs []*marketgraph.Candle
	var ss []*marketgraph.Signal
	for i, a := range ds.Assets[:assets] {
		for j := range 100 {
			p := 10 + float64(j)/3
			cs = append(cs, &marketgraph.Candle{AssetID: a.ID, Interval: marketgraph.IntervalMinute, Start: ds.End.Add(time.Duration(j) * time.Minute),
				Open: p, High: p + 1, Low: p - 1, Close: p + 0.5, Volume: 3})
		}
		ss = append(ss, &marketgraph.Signal{ID: fmt.Sprintf("w-%03d", i), AssetID: a.ID, Kind: marketgraph.SignalBuy, Strength: 0.5, Indicator: "rsi_14", EmittedAt: ds.End})
	}
	return as, cs, ss
}

// TestWrite_OneStatementPerBatch: a batch costs one statement whatever its
// size, which is what lets ingest write every asset's bars each tick.
func TestWrite_OneStatementPerBatch(t *testing.T) {
	ctx := context.Background()
	counter := &statementCounter{}
	db := newDB(t, counter)
	ds := storetest.Fixture()
	if err := db.Load(ctx, ds); err != nil {
		t.Fatalf("Load: %v", err)
	}
	as, cs, ss := writeBatches(ds, 20)
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"UpsertAssets", func() error { return db.UpsertAssets(ctx, as) }},
		{"UpsertCandles", func() error { return db.UpsertCandles(ctx, cs) }},
		{"InsertSignals", func() error {
			got, err := db.InsertSignals(ctx, ss)
			if err == nil && len(got) != len(ss) {
				err = fmt.Errorf("%d signals returned, want %d", len(got), len(ss))
			}
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			counter.reset()
			if err := tc.call(); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if n := len(counter.statements()); n != 1 {
				t.Errorf("%s sent %d statements, want 1:\n%s", tc.name, n, strings.Join(counter.statements(), "\n"))
			}
		})
	}
}

// TestWrite_IdenticalRewriteTouchesNoRow: writing the same rows again must
// not create new row versions (ingest rewrites the current bars every tick),
// and must leave updated_at at the time of the last real change.
func TestWrite_IdenticalRewriteTouchesNoRow(t *testing.T) {
	ctx := context.Background()
	db, url := newDBWithURL(t, nil)
	ds := storetest.Fixture()
	if err := db.Load(ctx, ds); err != nil {
		t.Fatalf("Load: %v", err)
	}
	as, cs, _ := writeBatches(ds, 3)
	if err := db.UpsertAssets(ctx, as); err != nil {
		t.Fatalf("UpsertAssets: %v", err)
	}
	if err := db.UpsertCandles(ctx, cs); err != nil {
		t.Fatalf("UpsertCandles: %v", err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	versions := func() string {
		t.Helper()
		const q = `SELECT (SELECT string_agg(xmin::text || updated_at::text, ',' ORDER BY id) FROM assets)
	|| '|' || (SELECT string_agg(xmin::text, ',' ORDER BY asset_id, "interval", start) FROM candles)`
		var v string
		if err := conn.QueryRow(ctx, q).Scan(&v); err != nil {
			t.Fatalf("row versions: %v", err)
		}
		return v
	}
	before := versions()
	if err := db.UpsertAssets(ctx, as); err != nil {
		t.Fatalf("UpsertAssets again: %v", err)
	}
	if err := db.UpsertCandles(ctx, cs); err != nil {
		t.Fatalf("UpsertCandles again: %v", err)
	}
	if versions() != before {
		t.Error("rewriting identical rows created new row versions")
	}
	// A real change does make one: the check above can fail.
	cs[0].Close += 0.25
	if err := db.UpsertCandles(ctx, cs[:1]); err != nil {
		t.Fatalf("UpsertCandles: %v", err)
	}
	if versions() == before {
		t.Error("changing a candle left every row version as it was")
	}
}

// TestWrite_UnknownAssetNamed: the foreign key's refusal names the asset.
func TestWrite_UnknownAssetNamed(t *testing.T) {
	ctx := context.Background()
	db := newDB(t, nil)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	err := db.UpsertCandles(ctx, []*marketgraph.Candle{{AssetID: "no-such-coin", Interval: marketgraph.IntervalDay, Start: at, Open: 1, High: 1, Low: 1, Close: 1}})
	if marketgraph.ErrorCode(err) != marketgraph.EBADINPUT || !strings.Contains(marketgraph.ErrorMessage(err), "no-such-coin") {
		t.Errorf("UpsertCandles: %v, want BAD_USER_INPUT naming no-such-coin", err)
	}
	_, err = db.InsertSignals(ctx, []*marketgraph.Signal{{ID: "s", AssetID: "no-such-coin", Kind: marketgraph.SignalBuy, EmittedAt: at}})
	if marketgraph.ErrorCode(err) != marketgraph.EBADINPUT || !strings.Contains(marketgraph.ErrorMessage(err), "no-such-coin") {
		t.Errorf("InsertSignals: %v, want BAD_USER_INPUT naming no-such-coin", err)
	}
}
