package storetest

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/marketgraph/marketgraph"
)

// symbolLines renders the answer of FindAssetsBySymbols sorted by key, for
// comparing maps line by line.
func symbolLines(m map[string]*marketgraph.Asset) []string {
	out := make([]string, 0, len(m))
	for k, a := range m {
		out = append(out, fmt.Sprintf("%s => %s", k, formatAsset(a)))
	}
	sort.Strings(out)
	return out
}

// expectedBySymbol is what FindAssetsBySymbols must answer for a map of keys
// to fixture asset ids.
func expectedBySymbol(want map[string]string) []string {
	m := make(map[string]*marketgraph.Asset, len(want))
	for k, id := range want {
		m[k] = fixtureAsset(id)
	}
	return symbolLines(m)
}

// bestBySymbol works out from the fixture alone, not from a store, which
// asset each key (marketgraph.FoldUpper of a symbol) names: the lowest rank,
// then the lowest id.
func bestBySymbol() map[string]*marketgraph.Asset {
	best := map[string]*marketgraph.Asset{}
	for _, a := range Fixture().Assets {
		k := marketgraph.FoldUpper(a.Symbol)
		if b := best[k]; b == nil || a.Rank < b.Rank || (a.Rank == b.Rank && a.ID < b.ID) {
			best[k] = a
		}
	}
	return best
}

func testFindAssetsBySymbols(t *testing.T, s marketgraph.Store) {
	ctx := context.Background()
	find := func(t *testing.T, in []string, want map[string]string) {
		t.Helper()
		got, err := s.FindAssetsBySymbols(ctx, in)
		if err != nil {
			t.Fatalf("FindAssetsBySymbols(%q): %v", in, err)
		}
		checkLines(t, fmt.Sprintf("FindAssetsBySymbols(%q)", in), symbolLines(got), expectedBySymbol(want))
	}
	t.Run("KeysUpperCasedAsGiven", func(t *testing.T) {
		find(t, []string{"btc", "usdt", "wBtC", "S042", "dai"}, map[string]string{
			"BTC": "bitcoin", "USDT": "tether", "WBTC": "wrapped-bitcoin", "S042": "asset-042", "DAI": "dai",
		})
	})
	t.Run("BestRankWins", func(t *testing.T) {
		// ethereum (rank 2, ETH) beats bridged-ether (rank 61, eth), whose
		// id sorts first; asset-010 beats asset-050 for DUP.
		find(t, []string{"eth", "dup"}, map[string]string{"ETH": "ethereum", "DUP": "asset-010"})
		find(t, []string{"ETH"}, map[string]string{"ETH": "ethereum"})
	})
	t.Run("Duplicates", func(t *testing.T) {
		find(t, []string{"eth", "ETH", "Eth", "btc", "eth"}, map[string]string{"ETH": "ethereum", "BTC": "bitcoin"})
	})
	t.Run("MissingAbsent", func(t *testing.T) {
		find(t, []string{"NOPE", "btc", "", "BT", "%", "bitcoin"}, map[string]string{"BTC": "bitcoin"})
	})
	t.Run("OnlyMissing", func(t *testing.T) {
		find(t, []string{"NOPE", "_"}, nil)
	})
	t.Run("ASCIIFoldingOnly", func(t *testing.T) {
		// Keys are FoldUpper, not strings.ToUpper: "écu" keeps its é (and
		// matches nothing, as in FindAssetBySymbol), so it does not share
		// the key ÉCU with the symbols that do match eclair.
		find(t, []string{"\u212AAS", "kas", "écu"}, map[string]string{"KAS": "kaspa"})
		find(t, []string{"écu"}, nil)
		find(t, []string{"Écu", "écu", "ÉCU"}, map[string]string{"ÉCU": "eclair"})
	})
	t.Run("Empty", func(t *testing.T) {
		find(t, []string{}, nil)
		find(t, nil, nil)
	})
	t.Run("AllAgreeWithFindAssetBySymbol", func(t *testing.T) {
		// Every symbol of the fixture, folded to lower case, in one call: the
		// answer for each key is the fixture's best-ranked namesake and
		// exactly what FindAssetBySymbol says for that key.
		best := bestBySymbol()
		var in []string
		want := map[string]string{}
		for k, a := range best {
			in = append(in, marketgraph.FoldCase(k))
			want[k] = a.ID
		}
		sort.Strings(in)
		find(t, in, want)
		got, err := s.FindAssetsBySymbols(ctx, in)
		if err != nil {
			t.Fatalf("FindAssetsBySymbols: %v", err)
		}
		for k, a := range got {
			one, err := s.FindAssetBySymbol(ctx, k)
			if err != nil || formatAsset(one) != formatAsset(a) {
				t.Errorf("FindAssetBySymbol(%q) = %s, %v; FindAssetsBySymbols said %s", k, formatAsset(one), err, formatAsset(a))
			}
		}
	})
	t.Run("Copies", func(t *testing.T) {
		got, err := s.FindAssetsBySymbols(ctx, []string{"BTC"})
		if err != nil || got["BTC"] == nil {
			t.Fatalf("FindAssetsBySymbols(BTC) = %v, %v", got, err)
		}
		got["BTC"].Name = "Mutated"
		find(t, []string{"BTC"}, map[string]string{"BTC": "bitcoin"})
	})
}

// testHostileSymbols: FindAssetsBySymbols skips symbols that fail CheckText,
// as it does any unknown symbol, and still answers the others.
func testHostileSymbols(t *testing.T, s marketgraph.Store) {
	ctx := context.Background()
	hostile := hostileTexts()
	hostile["NULAfterRealSymbol"] = "BTC\x00"
	for name, sym := range hostile {
		t.Run(name, func(t *testing.T) {
			got, err := s.FindAssetsBySymbols(ctx, []string{"usdt", sym, "btc"})
			if err != nil {
				t.Fatalf("FindAssetsBySymbols: %v", err)
			}
			checkLines(t, "FindAssetsBySymbols", symbolLines(got), expectedBySymbol(map[string]string{"USDT": "tether", "BTC": "bitcoin"}))
			got, err = s.FindAssetsBySymbols(ctx, []string{sym})
			if err != nil || len(got) != 0 {
				t.Errorf("FindAssetsBySymbols(only the bad symbol) = %v, %v; want nothing, no error", symbolLines(got), err)
			}
		})
	}
	t.Run("LongestAllowed", func(t *testing.T) {
		got, err := s.FindAssetsBySymbols(ctx, []string{strings.Repeat("b", marketgraph.MaxTextLen), "btc"})
		if err != nil {
			t.Fatalf("FindAssetsBySymbols: %v", err)
		}
		checkLines(t, "FindAssetsBySymbols", symbolLines(got), expectedBySymbol(map[string]string{"BTC": "bitcoin"}))
	})
}
