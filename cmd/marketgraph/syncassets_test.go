package main

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/demo"
	"github.com/marketgraph/marketgraph/marketdata"
	"github.com/marketgraph/marketgraph/marketdata/coingecko"
	"github.com/marketgraph/marketgraph/marketdata/coingecko/cgfake"
	"github.com/marketgraph/marketgraph/postgres"
)

// frozenUpstream is fakeUpstream with the market stopped: its simulator's
// clock stands still, so /coins/markets sends the same figures every time,
// as a provider between two of its updates does.
func frozenUpstream(t *testing.T) (*cgfake.Fake, string, []*marketgraph.Asset) {
	t.Helper()
	ds := demo.Generate(demo.DefaultSeed, time.Now())
	sim := marketdata.NewSimulator(ds, marketdata.SimulatorConfig{Seed: demo.DefaultSeed, Now: func() time.Time { return ds.End }})
	fake := cgfake.New(sim, ds.Assets)
	ts := httptest.NewServer(fake)
	t.Cleanup(ts.Close)
	return fake, ts.URL + "/api/v3", ds.Assets
}

// catalog lists every stored asset by rank.
func catalog(t *testing.T, db *postgres.DB) []*marketgraph.Asset {
	t.Helper()
	page, err := db.ListAssets(context.Background(), marketgraph.AssetListParams{First: marketgraph.MaxAssetPageSize})
	if err != nil {
		t.Fatal(err)
	}
	return page.Assets
}

func openTestDB(t *testing.T, url string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), postgres.Config{URL: url, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

// TestSyncAssets: on an empty database sync-assets fills the catalog from
// /coins/markets in one call; running it again changes nothing; a known
// asset keeps its category.
func TestSyncAssets(t *testing.T) {
	url := migratedDatabase(t)
	fake, upstream, want := frozenUpstream(t)
	vars := map[string]string{"DATABASE_URL": url, "MARKETGRAPH_PROVIDER_URL": upstream}
	sync := func(t *testing.T) string {
		t.Helper()
		var out bytes.Buffer
		if err := run(context.Background(), []string{"sync-assets", "-provider-budget", "6000"}, env(vars), &out, io.Discard); err != nil {
			t.Fatalf("sync-assets: %v\n%s", err, out.String())
		}
		return out.String()
	}
	db := openTestDB(t, url)

	var first []*marketgraph.Asset
	t.Run("EmptyDatabase", func(t *testing.T) {
		out := sync(t)
		if !strings.Contains(out, "page 1/1: 100 assets\n") || !strings.Contains(out, "100 new") {
			t.Errorf("output %q", out)
		}
		if n := fake.Calls(cgfake.PathMarkets); n != 1 {
			t.Errorf("%d /coins/markets calls, want 1", n)
		}
		first = catalog(t, db)
		if len(first) != len(want) {
			t.Fatalf("%d assets stored, want %d", len(first), len(want))
		}
		byID := map[string]*marketgraph.Asset{}
		for _, a := range first {
			byID[a.ID] = a
		}
		for _, w := range want {
			a := byID[w.ID]
			switch {
			case a == nil:
				t.Errorf("%s missing", w.ID)
			case a.Rank != w.Rank || a.Symbol != w.Symbol || a.Name != w.Name || a.Supply != w.Supply:
				t.Errorf("%s stored as rank %d %s %q supply %v, want rank %d %s %q supply %v",
					w.ID, a.Rank, a.Symbol, a.Name, a.Supply, w.Rank, w.Symbol, w.Name, w.Supply)
			case a.Category != "" || !(a.MarketCap > 0) || !(a.Volume24h > 0):
				t.Errorf("%s: category %q, market cap %v, volume %v; want no category and the market's figures", w.ID, a.Category, a.MarketCap, a.Volume24h)
			}
		}
	})

	t.Run("SecondRunChangesNothing", func(t *testing.T) {
		out := sync(t)
		if !strings.Contains(out, "0 new, 0 updated, 100 unchanged") {
			t.Errorf("output %q", out)
		}
		if again := catalog(t, db); !reflect.DeepEqual(again, first) {
			t.Error("the catalog changed on the second run")
		}
	})

	t.Run("KeepsCategory", func(t *testing.T) {
		btc := *first[0]
		btc.Category = "layer-1"
		btc.Rank = 99 // stale: the sync puts it back
		if err := db.UpsertAssets(context.Background(), []*marketgraph.Asset{&btc}); err != nil {
			t.Fatal(err)
		}
		out := sync(t)
		if !strings.Contains(out, "0 new, 1 updated, 99 unchanged") {
			t.Errorf("output %q", out)
		}
		got := catalog(t, db)
		want := append([]*marketgraph.Asset(nil), first...)
		btc.Rank = first[0].Rank
		want[0] = &btc
		if !reflect.DeepEqual(got, want) {
			t.Errorf("after the sync %+v, want %+v", *got[0], btc)
		}
	})
}

// TestFetchMarkets pages through the market, in order, as far as -top
// asks or the market goes.
func TestFetchMarkets(t *testing.T) {
	fake, upstream, _ := frozenUpstream(t)
	client, err := coingecko.New(coingecko.Config{BaseURL: upstream})
	if err != nil {
		t.Fatal(err)
	}
	// The market in one page, by market cap: what the pages must add up to.
	want, err := client.Markets(context.Background(), marketgraph.CurrencyUSD, nil, 1, coingecko.MaxPerPage)
	if err != nil || len(want) != 100 {
		t.Fatalf("one page: %d markets, %v", len(want), err)
	}
	for _, tt := range []struct {
		name      string
		top, per  int
		calls     int
		lastLines string
	}{
		{"AllPages", 150, 40, 3, "page 3/4: 20 assets (the end of the market)\n"},
		{"Truncated", 50, 40, 2, "page 2/2: 10 assets\n"},
		{"OnePage", 40, 40, 1, "page 1/1: 40 assets\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := fake.Calls(cgfake.PathMarkets)
			var out bytes.Buffer
			got, err := fetchMarkets(context.Background(), client, newPacer(-1), tt.top, tt.per, &out)
			if err != nil {
				t.Fatal(err)
			}
			if n := fake.Calls(cgfake.PathMarkets) - before; n != tt.calls {
				t.Errorf("%d calls, want %d", n, tt.calls)
			}
			if !strings.HasSuffix(out.String(), tt.lastLines) {
				t.Errorf("output %q", out.String())
			}
			if n := min(tt.top, len(want)); len(got) != n {
				t.Fatalf("%d markets, want %d", len(got), n)
			}
			for i, m := range got {
				if m.ID != want[i].ID {
					t.Fatalf("market %d is %s, want %s (by market cap)", i, m.ID, want[i].ID)
				}
			}
		})
	}
	t.Run("FailedPage", func(t *testing.T) {
		fake.SetFault(cgfake.Fault{Status: 500})
		defer fake.SetFault(cgfake.Fault{})
		_, err := fetchMarkets(context.Background(), client, newPacer(-1), 100, 40, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "page 1/3") {
			t.Errorf("err = %v, want one naming page 1/3", err)
		}
	})
}
