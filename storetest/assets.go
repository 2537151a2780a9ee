package storetest

import (
	"context"
	"sort"
	"testing"

	"github.com/marketgraph/marketgraph"
)

// fixtureAsset returns the fixture's asset with this id, or nil.
func fixtureAsset(id string) *marketgraph.Asset {
	for _, a := range Fixture().Assets {
		if a.ID == id {
			return a
		}
	}
	return nil
}

// sortedByID returns formatted assets sorted by id, for comparing results
// that come in no particular order.
func sortedByID(assets []*marketgraph.Asset) []string {
	cp := append([]*marketgraph.Asset(nil), assets...)
	sort.Slice(cp, func(i, j int) bool { return cp[i].ID < cp[j].ID })
	return lines(cp, formatAsset)
}

func testFindAssetsByIDs(t *testing.T, s marketgraph.Store) {
	ctx := context.Background()
	find := func(t *testing.T, in []string, want ...string) {
		t.Helper()
		got, err := s.FindAssetsByIDs(ctx, in)
		if err != nil {
			t.Fatalf("FindAssetsByIDs(%q): %v", in, err)
		}
		var wantAssets []*marketgraph.Asset
		for _, id := range want {
			wantAssets = append(wantAssets, fixtureAsset(id))
		}
		checkLines(t, "FindAssetsByIDs", sortedByID(got), sortedByID(wantAssets))
	}
	t.Run("Found", func(t *testing.T) {
		find(t, []string{"tether", "bitcoin", "asset-042"}, "bitcoin", "tether", "asset-042")
	})
	t.Run("All", func(t *testing.T) {
		all := ids(Fixture().Assets)
		find(t, all, all...)
	})
	t.Run("MissingAbsent", func(t *testing.T) {
		find(t, []string{"nope", "bitcoin", "Bitcoin", "asset-999"}, "bitcoin")
	})
	t.Run("OnlyMissing", func(t *testing.T) {
		find(t, []string{"nope"})
	})
	t.Run("Duplicates", func(t *testing.T) {
		find(t, []string{"ethereum", "ethereum", "dai", "ethereum"}, "ethereum", "dai")
	})
	t.Run("Empty", func(t *testing.T) {
		find(t, []string{})
		find(t, nil)
	})
}

func testFindAssetBySymbol(t *testing.T, s marketgraph.Store) {
	ctx := context.Background()
	for _, tc := range []struct{ name, symbol, want string }{
		{"Exact", "BTC", "bitcoin"},
		{"LowerCase", "usdt", "tether"},
		{"MixedCase", "wBtC", "wrapped-bitcoin"},
		// ethereum (rank 2, symbol ETH) beats bridged-ether (rank 61, symbol
		// eth), although bridged-ether's id sorts first.
		{"BestRankWins", "eth", "ethereum"},
		{"BestRankWinsUpper", "ETH", "ethereum"},
		{"BestRankWinsGenerated", "dup", "asset-010"},
		{"ASCIIFolded", "kAs", "kaspa"},
		{"NonASCIIExact", "ÉCU", "eclair"},
		{"NonASCIIWithASCIIFolded", "Écu", "eclair"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.FindAssetBySymbol(ctx, tc.symbol)
			if err != nil {
				t.Fatalf("FindAssetBySymbol(%q): %v", tc.symbol, err)
			}
			checkLines(t, "FindAssetBySymbol("+tc.symbol+")", []string{formatAsset(got)}, []string{formatAsset(fixtureAsset(tc.want))})
		})
	}
	for _, tc := range []struct{ name, symbol string }{
		{"NotFound", "NOPE"},
		{"NotFoundEmpty", ""},
		{"NotFoundPrefix", "BT"},
		{"NotFoundWildcard", "%"},
		// FoldCase folds ASCII letters only: a Kelvin sign is not a K,
		// and é is not É.
		{"NotFoundKelvinSign", "\u212AAS"},
		{"NotFoundNonASCIIOtherCase", "écu"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.FindAssetBySymbol(ctx, tc.symbol)
			checkCode(t, "FindAssetBySymbol("+tc.symbol+")", err, marketgraph.ENOTFOUND)
			if got != nil {
				t.Errorf("FindAssetBySymbol(%q) = %s, want nil", tc.symbol, formatAsset(got))
			}
		})
	}
}

// testCopies checks that callers cannot change the store through what it
// returns.
func testCopies(t *testing.T, s marketgraph.Store) {
	ctx := context.Background()
	t.Run("Assets", func(t *testing.T) {
		got, err := s.FindAssetsByIDs(ctx, []string{"bitcoin"})
		if err != nil || len(got) != 1 {
			t.Fatalf("FindAssetsByIDs(bitcoin) = %v, %v", got, err)
		}
		got[0].Name = "Mutated"
		page, err := s.ListAssets(ctx, marketgraph.AssetListParams{First: 1})
		if err != nil || len(page.Assets) != 1 {
			t.Fatalf("ListAssets(first 1) = %v, %v", page, err)
		}
		page.Assets[0].Rank = 999
		bySymbol, err := s.FindAssetBySymbol(ctx, "BTC")
		if err != nil {
			t.Fatalf("FindAssetBySymbol(BTC): %v", err)
		}
		bySymbol.MarketCap = -1
		again, err := s.FindAssetBySymbol(ctx, "BTC")
		if err != nil {
			t.Fatalf("FindAssetBySymbol(BTC): %v", err)
		}
		checkLines(t, "bitcoin after mutating results", []string{formatAsset(again)}, []string{formatAsset(fixtureAsset("bitcoin"))})
	})
	t.Run("CandlesAndSignals", func(t *testing.T) {
		r := marketgraph.CandleRange{Interval: marketgraph.IntervalDay, Last: 1}
		cs, err := s.CandlesByAssets(ctx, []string{"bitcoin"}, r)
		if err != nil || len(cs["bitcoin"]) != 1 {
			t.Fatalf("CandlesByAssets(bitcoin) = %v, %v", cs, err)
		}
		want := formatCandle(cs["bitcoin"][0])
		cs["bitcoin"][0].Close = -1
		sigs, err := s.LatestSignals(ctx, []string{"bitcoin"})
		if err != nil || sigs["bitcoin"] == nil {
			t.Fatalf("LatestSignals(bitcoin) = %v, %v", sigs, err)
		}
		wantSig := formatSignal(sigs["bitcoin"])
		sigs["bitcoin"].Kind = "MUTATED"

		cs, err = s.CandlesByAssets(ctx, []string{"bitcoin"}, r)
		if err != nil || len(cs["bitcoin"]) != 1 {
			t.Fatalf("CandlesByAssets(bitcoin) = %v, %v", cs, err)
		}
		checkLines(t, "candle after mutating results", []string{formatCandle(cs["bitcoin"][0])}, []string{want})
		list, err := s.SignalsByAssets(ctx, []string{"bitcoin"}, 1)
		if err != nil || len(list["bitcoin"]) != 1 {
			t.Fatalf("SignalsByAssets(bitcoin, 1) = %v, %v", list, err)
		}
		checkLines(t, "signal after mutating results", []string{formatSignal(list["bitcoin"][0])}, []string{wantSig})
	})
}
