package storetest

import (
	"context"
	"fmt"
	"sort"
	"testing"

	"github.com/marketgraph/marketgraph"
)

// This file holds the ListAssets checks of everything but plain ordering and
// paging: empty pages, filters, cursors by value and parameter validation.

func testListFirstZero(t *testing.T, s marketgraph.Store) {
	rank := marketgraph.DefaultAssetOrder
	all := expectedAssets(marketgraph.AssetFilter{}, rank, nil)
	lastCursor := marketgraph.CursorFor(all[len(all)-1], rank.Field)
	secondLast := marketgraph.CursorFor(all[len(all)-2], rank.Field)
	for _, tc := range []struct {
		name     string
		p        marketgraph.AssetListParams
		total    int
		hasNext  bool
		numFirst int
	}{
		{"NoCursor", marketgraph.AssetListParams{}, 100, true, 0},
		{"AfterLast", marketgraph.AssetListParams{After: &lastCursor}, 100, false, 0},
		{"AfterSecondLast", marketgraph.AssetListParams{After: &secondLast}, 100, true, 0},
		{"NoMatch", marketgraph.AssetListParams{Filter: marketgraph.AssetFilter{Category: ptr("nothing")}}, 0, false, 0},
		{"Filtered", marketgraph.AssetListParams{Filter: marketgraph.AssetFilter{Category: ptr("stablecoin")}}, 3, true, 0},
		{"AfterLastFirstOne", marketgraph.AssetListParams{After: &lastCursor, First: 1}, 100, false, 0},
		{"AfterSecondLastFirstOne", marketgraph.AssetListParams{After: &secondLast, First: 1}, 100, false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page := list(t, s, tc.p)
			if len(page.Assets) != tc.numFirst || page.TotalCount != tc.total || page.HasNextPage != tc.hasNext {
				t.Errorf("got %d assets, TotalCount %d, HasNextPage %v; want %d, %d, %v",
					len(page.Assets), page.TotalCount, page.HasNextPage, tc.numFirst, tc.total, tc.hasNext)
			}
		})
	}
}

func testListFilters(t *testing.T, s marketgraph.Store) {
	for _, tc := range []struct {
		name string
		f    marketgraph.AssetFilter
		want []string // sorted by id; nil means "whatever the reference says"
	}{
		{"IDs", marketgraph.AssetFilter{IDs: []string{"dai", "bitcoin", "nope", "dai"}}, []string{"bitcoin", "dai"}},
		{"IDsEmptyMatchesNothing", marketgraph.AssetFilter{IDs: []string{}}, []string{}},
		{"IDsCaseSensitive", marketgraph.AssetFilter{IDs: []string{"Bitcoin"}}, []string{}},
		{"CategoryLower", marketgraph.AssetFilter{Category: ptr("stablecoin")}, []string{"dai", "tether", "usd-coin"}},
		{"CategoryUpper", marketgraph.AssetFilter{Category: ptr("STABLECOIN")}, []string{"dai", "tether", "usd-coin"}},
		{"CategoryMixed", marketgraph.AssetFilter{Category: ptr("sTaBlEcOiN")}, []string{"dai", "tether", "usd-coin"}},
		{"CategoryExactNotPrefix", marketgraph.AssetFilter{Category: ptr("Stable")}, []string{}},
		{"CategoryWithSpace", marketgraph.AssetFilter{Category: ptr("layer 1")}, nil},
		{"CategoryWildcard", marketgraph.AssetFilter{Category: ptr("Layer _")}, []string{}},
		{"SearchSymbol", marketgraph.AssetFilter{Search: ptr("btc")}, []string{"bitcoin", "wrapped-bitcoin"}},
		{"SearchName", marketgraph.AssetFilter{Search: ptr("ETHER")}, []string{"bridged-ether", "ethereum", "tether"}},
		{"SearchSubstring", marketgraph.AssetFilter{Search: ptr("itcoi")}, []string{"bitcoin", "wrapped-bitcoin"}},
		{"SearchSharedSymbol", marketgraph.AssetFilter{Search: ptr("Dup")}, []string{"asset-010", "asset-050"}},
		{"SearchPercent", marketgraph.AssetFilter{Search: ptr("%")}, []string{"fifty-percent"}},
		{"SearchPercentInside", marketgraph.AssetFilter{Search: ptr("50%")}, []string{"fifty-percent"}},
		{"SearchUnderscore", marketgraph.AssetFilter{Search: ptr("_")}, []string{"under-score"}},
		{"SearchUnderscoreInside", marketgraph.AssetFilter{Search: ptr("r_s")}, []string{"under-score"}},
		{"SearchBackslash", marketgraph.AssetFilter{Search: ptr(`\`)}, []string{"back-slash"}},
		{"SearchBackslashInside", marketgraph.AssetFilter{Search: ptr(`k\s`)}, []string{"back-slash"}},
		{"SearchEmptyMatchesAll", marketgraph.AssetFilter{Search: ptr("")}, nil},
		{"SearchNothing", marketgraph.AssetFilter{Search: ptr("zzzz")}, []string{}},
		{"CategoryAndSearch", marketgraph.AssetFilter{Category: ptr("DEFI"), Search: ptr("alp")}, []string{"alpha-a", "alpha-b", "alpha-c"}},
		{"AllThree", marketgraph.AssetFilter{IDs: []string{"alpha-a", "alpha-c", "tether"}, Category: ptr("defi"), Search: ptr("ALPHA")}, []string{"alpha-a", "alpha-c"}},
		// Case-insensitive means marketgraph.FoldCase, ASCII letters only,
		// whatever Unicode or a database's locale would fold.
		{"SearchKelvinSignIsNotK", marketgraph.AssetFilter{Search: ptr("\u212A")}, []string{"kelvin-coin"}},
		{"SearchKNotKelvinSign", marketgraph.AssetFilter{Search: ptr("k")}, []string{"back-slash", "book-shelf", "cafe-token", "kaspa"}},
		{"SearchKelvinSpeltWithK", marketgraph.AssetFilter{Search: ptr("kelvin")}, []string{}},
		{"SearchKelvinSignASCIIFolded", marketgraph.AssetFilter{Search: ptr("\u212AELVIN")}, []string{"kelvin-coin"}},
		{"SearchLowerAccent", marketgraph.AssetFilter{Search: ptr("é")}, []string{"cafe-token"}},
		{"SearchUpperAccent", marketgraph.AssetFilter{Search: ptr("É")}, []string{"eclair"}},
		{"SearchAccentNotFolded", marketgraph.AssetFilter{Search: ptr("CAFÉ")}, []string{}},
		{"SearchAccentASCIIFolded", marketgraph.AssetFilter{Search: ptr("CAFé")}, []string{"cafe-token"}},
		{"SearchUpperAccentASCIIFolded", marketgraph.AssetFilter{Search: ptr("ÉCLAIR")}, []string{"eclair"}},
		{"CategoryLowerAccent", marketgraph.AssetFilter{Category: ptr("café")}, []string{"cafe-token"}},
		{"CategoryUpperAccent", marketgraph.AssetFilter{Category: ptr("CAFÉ")}, []string{"eclair"}},
		{"CategoryUpperAccentASCIIFolded", marketgraph.AssetFilter{Category: ptr("cAfÉ")}, []string{"eclair"}},
		{"CategoryLowerAccentASCIIFolded", marketgraph.AssetFilter{Category: ptr("CAFé")}, []string{"cafe-token"}},
		{"CategoryAccentRequired", marketgraph.AssetFilter{Category: ptr("cafe")}, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref := expectedAssets(tc.f, marketgraph.DefaultAssetOrder, nil)
			if tc.want != nil {
				// Guard the reference itself against the hand-written answer.
				refIDs := ids(ref)
				sort.Strings(refIDs)
				checkLines(t, "reference", refIDs, tc.want)
			}
			for _, o := range allOrders() {
				page := list(t, s, marketgraph.AssetListParams{Filter: tc.f, Order: o, First: marketgraph.MaxAssetPageSize})
				checkLines(t, orderName(o), lines(page.Assets, formatAsset), lines(expectedAssets(tc.f, o, nil), formatAsset))
				if page.TotalCount != len(ref) || page.HasNextPage {
					t.Errorf("%s: TotalCount %d, HasNextPage %v; want %d, false", orderName(o), page.TotalCount, page.HasNextPage, len(ref))
				}
			}
		})
	}
}

func testListCursorByValue(t *testing.T, s marketgraph.Store) {
	check := func(t *testing.T, f marketgraph.AssetFilter, o marketgraph.AssetOrder, after marketgraph.AssetCursor, first ...string) {
		t.Helper()
		page := list(t, s, marketgraph.AssetListParams{Filter: f, Order: o, First: marketgraph.MaxAssetPageSize, After: &after})
		want := expectedAssets(f, o, &after)
		checkLines(t, fmt.Sprintf("after %+v", after), lines(page.Assets, formatAsset), lines(want, formatAsset))
		if len(first) > 0 {
			checkRun(t, "by hand", ids(page.Assets)[:min(len(first), len(page.Assets))], first...)
		}
		if total := len(expectedAssets(f, o, nil)); page.TotalCount != total {
			t.Errorf("TotalCount %d, want %d (After must not change it)", page.TotalCount, total)
		}
	}
	mcapAsc := marketgraph.AssetOrder{Field: marketgraph.AssetOrderMarketCap, Direction: marketgraph.OrderAsc}
	mcapDesc := marketgraph.AssetOrder{Field: marketgraph.AssetOrderMarketCap, Direction: marketgraph.OrderDesc}
	t.Run("FromFilteredList", func(t *testing.T) {
		stable := list(t, s, marketgraph.AssetListParams{Filter: marketgraph.AssetFilter{Category: ptr("stablecoin")}, Order: mcapDesc, First: 2})
		if len(stable.Assets) != 2 {
			t.Fatalf("stablecoins: %d assets, want 2", len(stable.Assets))
		}
		check(t, marketgraph.AssetFilter{}, mcapDesc, marketgraph.CursorFor(stable.Assets[1], mcapDesc.Field))
	})
	t.Run("AssetFilteredOut", func(t *testing.T) {
		check(t, marketgraph.AssetFilter{Category: ptr("defi")}, mcapAsc, marketgraph.CursorFor(fixtureAsset("bitcoin"), mcapAsc.Field))
		check(t, marketgraph.AssetFilter{Category: ptr("meme")}, marketgraph.DefaultAssetOrder, marketgraph.CursorFor(fixtureAsset("alpha-b"), marketgraph.AssetOrderRank))
	})
	t.Run("UnknownIDInTie", func(t *testing.T) {
		// alpha-a, alpha-b and alpha-c share a market cap of 5e8.
		c := marketgraph.AssetCursor{Field: marketgraph.AssetOrderMarketCap, Num: 5e8, ID: "alpha-b0"}
		check(t, marketgraph.AssetFilter{}, mcapAsc, c, "alpha-c")
		check(t, marketgraph.AssetFilter{}, mcapDesc, c, "alpha-c")
		name := marketgraph.AssetCursor{Field: marketgraph.AssetOrderName, Str: "alpha", ID: "alpha-a"}
		check(t, marketgraph.AssetFilter{}, marketgraph.AssetOrder{Field: marketgraph.AssetOrderName, Direction: marketgraph.OrderAsc}, name, "alpha-b", "alpha-c")
		check(t, marketgraph.AssetFilter{}, marketgraph.AssetOrder{Field: marketgraph.AssetOrderName, Direction: marketgraph.OrderDesc}, name, "alpha-b", "alpha-c")
	})
	t.Run("KeyBetweenAssets", func(t *testing.T) {
		c := marketgraph.AssetCursor{Field: marketgraph.AssetOrderChange24h, Num: 0.25, ID: "zzz"}
		check(t, marketgraph.AssetFilter{}, marketgraph.AssetOrder{Field: marketgraph.AssetOrderChange24h, Direction: marketgraph.OrderAsc}, c, "under-x-score", "under-score")
		check(t, marketgraph.AssetFilter{}, marketgraph.AssetOrder{Field: marketgraph.AssetOrderChange24h, Direction: marketgraph.OrderDesc}, c, "fifty-plain")
	})
	t.Run("BeforeFirstAndAfterLast", func(t *testing.T) {
		check(t, marketgraph.AssetFilter{}, marketgraph.DefaultAssetOrder, marketgraph.AssetCursor{Field: marketgraph.AssetOrderRank, Int: 0, ID: "a"}, "bitcoin")
		check(t, marketgraph.AssetFilter{}, marketgraph.DefaultAssetOrder, marketgraph.AssetCursor{Field: marketgraph.AssetOrderRank, Int: 1000, ID: "a"})
	})
}

func testListValidation(t *testing.T, s marketgraph.Store) {
	rankCursor := marketgraph.CursorFor(fixtureAsset("bitcoin"), marketgraph.AssetOrderRank)
	for _, tc := range []struct {
		name string
		p    marketgraph.AssetListParams
	}{
		{"FirstNegative", marketgraph.AssetListParams{First: -1}},
		{"FirstTooLarge", marketgraph.AssetListParams{First: marketgraph.MaxAssetPageSize + 1}},
		{"UnknownField", marketgraph.AssetListParams{First: 1, Order: marketgraph.AssetOrder{Field: "VOLUME", Direction: marketgraph.OrderAsc}}},
		{"LowerCaseField", marketgraph.AssetListParams{First: 1, Order: marketgraph.AssetOrder{Field: "rank", Direction: marketgraph.OrderAsc}}},
		{"UnknownDirection", marketgraph.AssetListParams{First: 1, Order: marketgraph.AssetOrder{Field: marketgraph.AssetOrderRank, Direction: "SIDEWAYS"}}},
		{"CursorOfAnotherOrdering", marketgraph.AssetListParams{First: 1, Order: marketgraph.AssetOrder{Field: marketgraph.AssetOrderName}, After: &rankCursor}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page, err := s.ListAssets(context.Background(), tc.p)
			checkCode(t, "ListAssets", err, marketgraph.EBADINPUT)
			if page != nil {
				t.Errorf("page %+v alongside an error", page)
			}
		})
	}
	t.Run("FirstMax", func(t *testing.T) {
		page := list(t, s, marketgraph.AssetListParams{First: marketgraph.MaxAssetPageSize})
		if len(page.Assets) != 100 || page.HasNextPage {
			t.Errorf("got %d assets, HasNextPage %v; want 100, false", len(page.Assets), page.HasNextPage)
		}
	})
}
