package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/storetest"
)

// TestStatements_OnePerBatch counts the SQL statements each read sends: a
// loader batch of 100 assets must cost one statement, not 100.
func TestStatements_OnePerBatch(t *testing.T) {
	ctx := context.Background()
	counter := &statementCounter{}
	db := newDB(t, counter)
	ds := storetest.Fixture()
	if err := db.Load(ctx, ds); err != nil {
		t.Fatalf("Load: %v", err)
	}
	var all []string
	for _, a := range ds.Assets {
		all = append(all, a.ID)
	}
	if len(all) != 100 {
		t.Fatalf("fixture has %d assets, want 100", len(all))
	}
	afterRank3 := marketgraph.AssetCursor{Field: marketgraph.AssetOrderRank, Int: 3, ID: "tether"}
	search := "a"
	pastTheEnd := marketgraph.AssetCursor{Field: marketgraph.AssetOrderRank, Int: 1000, ID: "zzz"}

	for _, tc := range []struct {
		name string
		call func() (int, error) // returns how many results came back
		max  int                 // statements allowed
	}{
		{"CandlesByAssets", func() (int, error) {
			m, err := db.CandlesByAssets(ctx, all, marketgraph.CandleRange{Interval: marketgraph.IntervalDay, Last: 7})
			return len(m), err
		}, 1},
		{"SignalsByAssets", func() (int, error) {
			m, err := db.SignalsByAssets(ctx, all, 10)
			return len(m), err
		}, 1},
		{"LatestSignals", func() (int, error) {
			m, err := db.LatestSignals(ctx, all)
			return len(m), err
		}, 1},
		{"FindAssetsByIDs", func() (int, error) {
			as, err := db.FindAssetsByIDs(ctx, all)
			return len(as), err
		}, 1},
		{"ListAssets", func() (int, error) {
			p, err := db.ListAssets(ctx, marketgraph.AssetListParams{First: 100})
			if err != nil {
				return 0, err
			}
			return len(p.Assets), nil
		}, 1},
		{"ListAssetsAfterFiltered", func() (int, error) {
			p, err := db.ListAssets(ctx, marketgraph.AssetListParams{
				First:  7,
				After:  &afterRank3,
				Filter: marketgraph.AssetFilter{Search: &search},
			})
			if err != nil {
				return 0, err
			}
			return len(p.Assets), nil
		}, 1},
		// A cursor past every matching asset leaves no row to carry the
		// total count, which then costs a second statement.
		{"ListAssetsPastTheEnd", func() (int, error) {
			p, err := db.ListAssets(ctx, marketgraph.AssetListParams{First: 7, After: &pastTheEnd})
			if err != nil {
				return 0, err
			}
			return p.TotalCount, nil
		}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			counter.reset()
			n, err := tc.call()
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if n == 0 {
				t.Fatalf("%s returned nothing; the count would prove nothing", tc.name)
			}
			if got := counter.statements(); len(got) > tc.max {
				t.Errorf("%s sent %d statements, want at most %d:\n%s", tc.name, len(got), tc.max, strings.Join(got, "\n---\n"))
			}
		})
	}
}
