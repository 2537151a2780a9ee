package storetest

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/marketgraph/marketgraph"
)

// allOrders is every ordering in both directions.
func allOrders() []marketgraph.AssetOrder {
	var out []marketgraph.AssetOrder
	for _, f := range []marketgraph.AssetOrderField{marketgraph.AssetOrderRank, marketgraph.AssetOrderName, marketgraph.AssetOrderMarketCap, marketgraph.AssetOrderChange24h} {
		for _, d := range []marketgraph.OrderDirection{marketgraph.OrderAsc, marketgraph.OrderDesc} {
			out = append(out, marketgraph.AssetOrder{Field: f, Direction: d})
		}
	}
	return out
}

func orderName(o marketgraph.AssetOrder) string { return string(o.Field) + "_" + string(o.Direction) }

// matchesFilter is the reference reading of marketgraph.AssetFilter.
func matchesFilter(a *marketgraph.Asset, f marketgraph.AssetFilter) bool {
	if f.IDs != nil {
		found := false
		for _, id := range f.IDs {
			found = found || id == a.ID
		}
		if !found {
			return false
		}
	}
	if f.Category != nil && marketgraph.FoldCase(a.Category) != marketgraph.FoldCase(*f.Category) {
		return false
	}
	if f.Search != nil {
		q := marketgraph.FoldCase(*f.Search)
		if !strings.Contains(marketgraph.FoldCase(a.Symbol), q) && !strings.Contains(marketgraph.FoldCase(a.Name), q) {
			return false
		}
	}
	return true
}

// expectedAssets returns the fixture's assets matching f, in order o, that
// come strictly after the position after (when not nil).
func expectedAssets(f marketgraph.AssetFilter, o marketgraph.AssetOrder, after *marketgraph.AssetCursor) []*marketgraph.Asset {
	var out []*marketgraph.Asset
	for _, a := range Fixture().Assets {
		if !matchesFilter(a, f) {
			continue
		}
		if after != nil && o.Compare(ptr(marketgraph.CursorFor(a, o.Field)), after) <= 0 {
			continue
		}
		out = append(out, a)
	}
	sort.SliceStable(out, func(i, j int) bool {
		return o.Compare(ptr(marketgraph.CursorFor(out[i], o.Field)), ptr(marketgraph.CursorFor(out[j], o.Field))) < 0
	})
	return out
}

// list calls ListAssets and fails t on an error.
func list(t *testing.T, s marketgraph.Store, p marketgraph.AssetListParams) *marketgraph.AssetPage {
	t.Helper()
	page, err := s.ListAssets(context.Background(), p)
	if err != nil {
		t.Fatalf("ListAssets(%+v): %v", p, err)
	}
	if page == nil {
		t.Fatalf("ListAssets(%+v) returned a nil page", p)
	}
	return page
}

// checkRun fails t unless want appears in got as one consecutive run.
func checkRun(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	for i := range got {
		if i+len(want) <= len(got) && strings.Join(got[i:i+len(want)], ",") == strings.Join(want, ",") {
			return
		}
	}
	t.Errorf("%s: want %s consecutively in %s", what, joinIDs(want), joinIDs(got))
}

func testListAssets(t *testing.T, s marketgraph.Store) {
	t.Run("Orderings", func(t *testing.T) { testListOrderings(t, s) })
	t.Run("Paging", func(t *testing.T) { testListPaging(t, s) })
	t.Run("FirstZero", func(t *testing.T) { testListFirstZero(t, s) })
	t.Run("Filters", func(t *testing.T) { testListFilters(t, s) })
	t.Run("CursorByValue", func(t *testing.T) { testListCursorByValue(t, s) })
	t.Run("Validation", func(t *testing.T) { testListValidation(t, s) })
}

func testListOrderings(t *testing.T, s marketgraph.Store) {
	for _, o := range allOrders() {
		t.Run(orderName(o), func(t *testing.T) {
			page := list(t, s, marketgraph.AssetListParams{Order: o, First: marketgraph.MaxAssetPageSize})
			checkLines(t, "order", lines(page.Assets, formatAsset), lines(expectedAssets(marketgraph.AssetFilter{}, o, nil), formatAsset))
			if page.TotalCount != 100 || page.HasNextPage {
				t.Errorf("TotalCount %d, HasNextPage %v; want 100, false", page.TotalCount, page.HasNextPage)
			}
		})
	}
	// Spot checks written out by hand, so the reference above cannot be
	// wrong in the same way as a store.
	got := func(t *testing.T, f marketgraph.AssetOrderField, d marketgraph.OrderDirection) []string {
		return ids(list(t, s, marketgraph.AssetListParams{Order: marketgraph.AssetOrder{Field: f, Direction: d}, First: 100}).Assets)
	}
	t.Run("RankByHand", func(t *testing.T) {
		asc := got(t, marketgraph.AssetOrderRank, marketgraph.OrderAsc)
		checkRun(t, "RANK ASC", asc[:4], "bitcoin", "ethereum", "tether", "usd-coin")
		checkRun(t, "RANK ASC tie", asc, "alpha-a", "alpha-b", "alpha-c")
		desc := got(t, marketgraph.AssetOrderRank, marketgraph.OrderDesc)
		checkRun(t, "RANK DESC tie by id ascending", desc, "alpha-c", "alpha-a", "alpha-b")
		checkRun(t, "RANK DESC end", desc[96:], "usd-coin", "tether", "ethereum", "bitcoin")
	})
	t.Run("NameByHand", func(t *testing.T) {
		// alpha, ALPHA and Alpha sort equal; ids break the tie.
		checkRun(t, "NAME ASC", got(t, marketgraph.AssetOrderName, marketgraph.OrderAsc), "alpha-a", "alpha-b", "alpha-c")
		checkRun(t, "NAME DESC", got(t, marketgraph.AssetOrderName, marketgraph.OrderDesc), "alpha-a", "alpha-b", "alpha-c")
		// Byte-wise on lower-cased names: "back\slash" < "bitcoin" < "bookshelf" < "bridged ether".
		checkRun(t, "NAME ASC bytes", got(t, marketgraph.AssetOrderName, marketgraph.OrderAsc), "back-slash", "bitcoin", "book-shelf", "bridged-ether")
	})
	t.Run("MarketCapByHand", func(t *testing.T) {
		desc := got(t, marketgraph.AssetOrderMarketCap, marketgraph.OrderDesc)
		checkRun(t, "MARKET_CAP DESC", desc[:3], "bitcoin", "ethereum", "tether")
		checkRun(t, "MARKET_CAP DESC tie", desc, "alpha-a", "alpha-b", "alpha-c")
		checkRun(t, "MARKET_CAP ASC tie", got(t, marketgraph.AssetOrderMarketCap, marketgraph.OrderAsc), "alpha-a", "alpha-b", "alpha-c")
	})
	t.Run("Change24hByHand", func(t *testing.T) {
		asc := got(t, marketgraph.AssetOrderChange24h, marketgraph.OrderAsc)
		desc := got(t, marketgraph.AssetOrderChange24h, marketgraph.OrderDesc)
		if asc[0] != "back-slash" || desc[0] != "book-shelf" {
			t.Errorf("CHANGE_24H first: ASC %s, DESC %s; want back-slash, book-shelf", asc[0], desc[0])
		}
		// bitcoin and wrapped-bitcoin share 2.5; 0.3 < 0.30000000000000004.
		checkRun(t, "CHANGE_24H DESC tie", desc, "bitcoin", "wrapped-bitcoin")
		checkRun(t, "CHANGE_24H ASC tie", asc, "bitcoin", "wrapped-bitcoin")
		checkRun(t, "CHANGE_24H ASC precision", asc, "under-x-score", "under-score")
	})
	t.Run("Defaults", func(t *testing.T) {
		want := ids(expectedAssets(marketgraph.AssetFilter{}, marketgraph.DefaultAssetOrder, nil))
		checkLines(t, "zero Order", ids(list(t, s, marketgraph.AssetListParams{First: 100}).Assets), want)
		nameAsc := ids(expectedAssets(marketgraph.AssetFilter{}, marketgraph.AssetOrder{Field: marketgraph.AssetOrderName, Direction: marketgraph.OrderAsc}, nil))
		checkLines(t, "empty Direction", ids(list(t, s, marketgraph.AssetListParams{First: 100, Order: marketgraph.AssetOrder{Field: marketgraph.AssetOrderName}}).Assets), nameAsc)
	})
}

// pageThrough lists every asset matching f in order o, size at a time,
// passing each page's last cursor through its opaque string form as the
// server does, and checks the page invariants on the way.
func pageThrough(t *testing.T, s marketgraph.Store, f marketgraph.AssetFilter, o marketgraph.AssetOrder, size int) []*marketgraph.Asset {
	t.Helper()
	total := len(expectedAssets(f, o, nil))
	wantPages := max(1, (total+size-1)/size)
	var all []*marketgraph.Asset
	var after *marketgraph.AssetCursor
	for n := 1; ; n++ {
		if n > wantPages {
			t.Fatalf("more than the %d pages %d assets fill", wantPages, total)
		}
		page := list(t, s, marketgraph.AssetListParams{Filter: f, Order: o, First: size, After: after})
		if page.TotalCount != total {
			t.Errorf("page %d: TotalCount %d, want %d", n, page.TotalCount, total)
		}
		if last := n == wantPages; page.HasNextPage == last {
			t.Fatalf("page %d of %d: HasNextPage %v", n, wantPages, page.HasNextPage)
		}
		if want := min(size, total-(n-1)*size); len(page.Assets) != want {
			t.Errorf("page %d: %d assets, want %d", n, len(page.Assets), want)
		}
		all = append(all, page.Assets...)
		if !page.HasNextPage {
			return all
		}
		if len(page.Assets) == 0 {
			t.Fatalf("page %d: no assets but HasNextPage", n)
		}
		c, err := marketgraph.DecodeAssetCursor(marketgraph.CursorFor(page.Assets[len(page.Assets)-1], o.Field).Encode(), o.Field)
		if err != nil {
			t.Fatalf("cursor round trip: %v", err)
		}
		after = c
	}
}

func testListPaging(t *testing.T, s marketgraph.Store) {
	filters := []struct {
		name string
		f    marketgraph.AssetFilter
		size int
	}{
		{"All", marketgraph.AssetFilter{}, 7},
		{"AllOnePage", marketgraph.AssetFilter{}, 100},
		{"Category", marketgraph.AssetFilter{Category: ptr("DEFI")}, 3},
		{"Search", marketgraph.AssetFilter{Search: ptr("a")}, 7},
		{"IDs", marketgraph.AssetFilter{IDs: []string{"bitcoin", "alpha-c", "alpha-a", "alpha-b", "asset-009", "asset-010", "nope"}}, 2},
		{"Combined", marketgraph.AssetFilter{Category: ptr("layer 1"), Search: ptr("0")}, 4},
		{"Empty", marketgraph.AssetFilter{Search: ptr("no such asset")}, 7},
	}
	for _, fc := range filters {
		for _, o := range allOrders() {
			t.Run(fc.name+"/"+orderName(o), func(t *testing.T) {
				got := pageThrough(t, s, fc.f, o, fc.size)
				checkLines(t, "all pages", lines(got, formatAsset), lines(expectedAssets(fc.f, o, nil), formatAsset))
			})
		}
	}
}
