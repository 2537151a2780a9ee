package demo_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/marketgraph/marketgraph/demo"
)

func TestAssets(t *testing.T) {
	assets := demo.Assets()
	if len(assets) != 100 {
		t.Fatalf("got %d assets, want 100", len(assets))
	}
	t.Run("RanksInOrder", func(t *testing.T) {
		for i, a := range assets {
			if a.Rank != i+1 {
				t.Errorf("asset %d (%s) has rank %d", i, a.ID, a.Rank)
			}
		}
	})
	t.Run("UniqueIDsAndSymbols", func(t *testing.T) {
		ids, symbols := map[string]bool{}, map[string]bool{}
		slug := regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
		for _, a := range assets {
			if ids[a.ID] {
				t.Errorf("duplicate id %q", a.ID)
			}
			if symbols[a.Symbol] {
				t.Errorf("duplicate symbol %q", a.Symbol)
			}
			ids[a.ID], symbols[a.Symbol] = true, true
			if !slug.MatchString(a.ID) {
				t.Errorf("id %q is not a slug", a.ID)
			}
			if a.Symbol == "" || a.Symbol != strings.ToUpper(a.Symbol) {
				t.Errorf("%s: symbol %q is not upper case", a.ID, a.Symbol)
			}
			if a.Name == "" {
				t.Errorf("%s: no name", a.ID)
			}
		}
		for _, id := range []string{"bitcoin", "ethereum", "tether", "binancecoin", "solana", "ripple", "usd-coin"} {
			if !ids[id] {
				t.Errorf("%s is missing", id)
			}
		}
	})
	t.Run("Categories", func(t *testing.T) {
		known := map[string]bool{
			demo.CategoryLayer1: true, demo.CategoryLayer2: true, demo.CategoryStablecoin: true,
			demo.CategoryDeFi: true, demo.CategoryExchangeToken: true, demo.CategoryMeme: true,
			demo.CategoryInfrastructure: true, demo.CategoryGaming: true, demo.CategoryPrivacy: true,
			demo.CategoryOracle: true, demo.CategoryStorage: true, demo.CategoryAI: true,
		}
		used := map[string]bool{}
		for _, a := range assets {
			if !known[a.Category] {
				t.Errorf("%s: unknown category %q", a.ID, a.Category)
			}
			used[a.Category] = true
		}
		if len(used) != len(known) {
			t.Errorf("%d of %d categories used; every category should have an asset", len(used), len(known))
		}
	})
	t.Run("FiguresRankedByMarketCap", func(t *testing.T) {
		prev := 0.0
		for i, a := range assets {
			if a.Price <= 0 || a.Supply <= 0 || a.Volume24h <= 0 {
				t.Errorf("%s: figures must be positive: %+v", a.ID, a)
			}
			mcap := a.Price * a.Supply
			if i > 0 && mcap > prev {
				t.Errorf("%s (rank %d) has a larger market cap (%.4g) than rank %d (%.4g)", a.ID, a.Rank, mcap, a.Rank-1, prev)
			}
			if a.Category == demo.CategoryStablecoin && (a.Price < 0.99 || a.Price > 1.01) {
				t.Errorf("%s: stablecoin anchored at %v", a.ID, a.Price)
			}
			prev = mcap
		}
	})
	t.Run("FreshCopy", func(t *testing.T) {
		assets[0].Price = -1
		if demo.Assets()[0].Price == -1 {
			t.Error("changing the returned slice changed the catalog")
		}
	})
}
