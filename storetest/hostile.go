package storetest

import (
	"context"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/marketgraph/marketgraph"
)

// This file checks that hostile text and numbers get the same answer from
// every store. PostgreSQL fails a statement on a NUL byte or invalid UTF-8,
// and on a number its column cannot hold, where Go code would compare them
// without complaint; the contract is the domain's rule (CheckText and
// NormalizeListParams), never what the storage happens to do.

// hostileTexts are arguments that fail marketgraph.CheckText.
func hostileTexts() map[string]string {
	return map[string]string{
		"NUL":        "bit\x00coin",
		"OnlyNUL":    "\x00",
		"InvalidUTF": "bitcoin\xff",
		"TooLong":    strings.Repeat("b", marketgraph.MaxTextLen+1),
	}
}

func testHostileInput(t *testing.T, s marketgraph.Store) {
	t.Run("FindAssetBySymbol", func(t *testing.T) { testHostileSymbol(t, s) })
	t.Run("FindAssetsByIDs", func(t *testing.T) { testHostileIDs(t, s) })
	t.Run("FindAssetsBySymbols", func(t *testing.T) { testHostileSymbols(t, s) })
	t.Run("ListAssetsFilter", func(t *testing.T) { testHostileFilter(t, s) })
	t.Run("ListAssetsCursor", func(t *testing.T) { testHostileCursor(t, s) })
	t.Run("BatchLookups", func(t *testing.T) { testHostileBatches(t, s) })
}

// testHostileSymbol: a symbol that fails CheckText is BAD_USER_INPUT, not
// NOT_FOUND, from every store; the longest allowed one is an ordinary miss.
func testHostileSymbol(t *testing.T, s marketgraph.Store) {
	ctx := context.Background()
	hostile := hostileTexts()
	hostile["NULAfterRealSymbol"] = "BTC\x00"
	for name, sym := range hostile {
		t.Run(name, func(t *testing.T) {
			got, err := s.FindAssetBySymbol(ctx, sym)
			checkCode(t, "FindAssetBySymbol", err, marketgraph.EBADINPUT)
			if msg := marketgraph.ErrorMessage(err); !strings.HasPrefix(msg, "symbol: ") {
				t.Errorf("message %q does not name the argument (symbol)", msg)
			}
			if got != nil {
				t.Errorf("asset %s alongside an error", formatAsset(got))
			}
		})
	}
	t.Run("LongestAllowed", func(t *testing.T) {
		_, err := s.FindAssetBySymbol(ctx, strings.Repeat("B", marketgraph.MaxTextLen))
		checkCode(t, "FindAssetBySymbol", err, marketgraph.ENOTFOUND)
	})
}

// testHostileIDs: FindAssetsByIDs skips ids that fail CheckText, as it does
// any unknown id, and still returns the others: its ids are often a batch of
// unrelated keys, which one bad key must not spoil.
func testHostileIDs(t *testing.T, s marketgraph.Store) {
	ctx := context.Background()
	for name, id := range hostileTexts() {
		t.Run(name, func(t *testing.T) {
			got, err := s.FindAssetsByIDs(ctx, []string{"tether", id, "bitcoin"})
			if err != nil {
				t.Fatalf("FindAssetsByIDs: %v", err)
			}
			checkLines(t, "FindAssetsByIDs", sortedByID(got), sortedByID([]*marketgraph.Asset{fixtureAsset("bitcoin"), fixtureAsset("tether")}))
			got, err = s.FindAssetsByIDs(ctx, []string{id})
			if err != nil || len(got) != 0 {
				t.Errorf("FindAssetsByIDs(only the bad id) = %v, %v; want nothing, no error", ids(got), err)
			}
		})
	}
}

// testHostileFilter: filter text that fails CheckText is BAD_USER_INPUT
// naming the field.
func testHostileFilter(t *testing.T, s marketgraph.Store) {
	for name, text := range hostileTexts() {
		for _, tc := range []struct {
			field string
			f     marketgraph.AssetFilter
		}{
			{"filter.ids", marketgraph.AssetFilter{IDs: []string{"bitcoin", text}}},
			{"filter.category", marketgraph.AssetFilter{Category: ptr(text)}},
			{"filter.search", marketgraph.AssetFilter{Search: ptr(text)}},
		} {
			t.Run(tc.field+"/"+name, func(t *testing.T) {
				for _, o := range allOrders() {
					page, err := s.ListAssets(context.Background(), marketgraph.AssetListParams{Filter: tc.f, Order: o, First: 10})
					checkCode(t, orderName(o), err, marketgraph.EBADINPUT)
					if msg := marketgraph.ErrorMessage(err); !strings.HasPrefix(msg, tc.field+": ") {
						t.Errorf("%s: message %q does not name the argument (%s)", orderName(o), msg, tc.field)
					}
					if page != nil {
						t.Errorf("%s: page %+v alongside an error", orderName(o), page)
					}
				}
			})
		}
	}
	t.Run("LongestAllowed", func(t *testing.T) {
		long := strings.Repeat("b", marketgraph.MaxTextLen)
		f := marketgraph.AssetFilter{IDs: []string{long}, Category: &long, Search: &long}
		if page := list(t, s, marketgraph.AssetListParams{Filter: f, First: 10}); len(page.Assets) != 0 || page.TotalCount != 0 {
			t.Errorf("got %d assets, TotalCount %d; want none", len(page.Assets), page.TotalCount)
		}
	})
}

// testHostileCursor: a cursor no asset could have produced is "after:
// malformed cursor", whatever the store would make of its key.
func testHostileCursor(t *testing.T, s marketgraph.Store) {
	rank := marketgraph.AssetOrder{Field: marketgraph.AssetOrderRank, Direction: marketgraph.OrderAsc}
	name := marketgraph.AssetOrder{Field: marketgraph.AssetOrderName, Direction: marketgraph.OrderAsc}
	mcap := marketgraph.AssetOrder{Field: marketgraph.AssetOrderMarketCap, Direction: marketgraph.OrderDesc}
	change := marketgraph.AssetOrder{Field: marketgraph.AssetOrderChange24h, Direction: marketgraph.OrderAsc}
	type tc struct {
		name string
		o    marketgraph.AssetOrder
		c    marketgraph.AssetCursor
	}
	cases := []tc{
		{"IDWithNUL", rank, marketgraph.AssetCursor{Field: rank.Field, Int: 1, ID: "bit\x00coin"}},
		{"IDInvalidUTF8", mcap, marketgraph.AssetCursor{Field: mcap.Field, Num: 1, ID: "\xff"}},
		{"IDTooLong", rank, marketgraph.AssetCursor{Field: rank.Field, Int: 1, ID: strings.Repeat("a", marketgraph.MaxTextLen+1)}},
		{"StrWithNUL", name, marketgraph.AssetCursor{Field: name.Field, Str: "bit\x00coin", ID: "bitcoin"}},
		{"StrInvalidUTF8", name, marketgraph.AssetCursor{Field: name.Field, Str: "bitcoin\xc3", ID: "bitcoin"}},
		{"NumNaN", mcap, marketgraph.AssetCursor{Field: mcap.Field, Num: math.NaN(), ID: "bitcoin"}},
		{"NumPlusInf", change, marketgraph.AssetCursor{Field: change.Field, Num: math.Inf(1), ID: "bitcoin"}},
		{"NumMinusInf", mcap, marketgraph.AssetCursor{Field: mcap.Field, Num: math.Inf(-1), ID: "bitcoin"}},
	}
	if strconv.IntSize == 64 {
		// Ranks PostgreSQL's integer column cannot hold; a 32-bit int
		// cannot either, so there is nothing to check there.
		var huge, justOver int64 = 99999999999999, math.MaxInt32 + 1
		cases = append(cases,
			tc{"IntHuge", rank, marketgraph.AssetCursor{Field: rank.Field, Int: int(huge), ID: "bitcoin"}},
			tc{"IntHugeNegative", rank, marketgraph.AssetCursor{Field: rank.Field, Int: int(-huge), ID: "bitcoin"}},
			tc{"IntJustOverInt32", rank, marketgraph.AssetCursor{Field: rank.Field, Int: int(justOver), ID: "bitcoin"}},
		)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, dir := range []marketgraph.OrderDirection{marketgraph.OrderAsc, marketgraph.OrderDesc} {
				o := marketgraph.AssetOrder{Field: tc.o.Field, Direction: dir}
				page, err := s.ListAssets(context.Background(), marketgraph.AssetListParams{Order: o, First: 10, After: &tc.c})
				checkCode(t, orderName(o), err, marketgraph.EBADINPUT)
				if msg := marketgraph.ErrorMessage(err); msg != "after: malformed cursor" {
					t.Errorf("%s: message %q, want %q", orderName(o), msg, "after: malformed cursor")
				}
				if page != nil {
					t.Errorf("%s: page %+v alongside an error", orderName(o), page)
				}
			}
		})
	}
	t.Run("Int32Bounds", func(t *testing.T) {
		// The extremes of the column are positions like any other.
		last := marketgraph.AssetCursor{Field: rank.Field, Int: math.MaxInt32, ID: "a"}
		if page := list(t, s, marketgraph.AssetListParams{Order: rank, First: 10, After: &last}); len(page.Assets) != 0 || page.TotalCount != 100 {
			t.Errorf("after rank MaxInt32: %d assets, TotalCount %d; want 0, 100", len(page.Assets), page.TotalCount)
		}
		first := marketgraph.AssetCursor{Field: rank.Field, Int: math.MinInt32, ID: "a"}
		page := list(t, s, marketgraph.AssetListParams{Order: rank, First: 1, After: &first})
		checkRun(t, "after rank MinInt32", ids(page.Assets), "bitcoin")
	})
}

// testHostileBatches: the candle and signal lookups treat ids that fail
// CheckText as unknown assets, like FindAssetsByIDs.
func testHostileBatches(t *testing.T, s marketgraph.Store) {
	ctx := context.Background()
	for name, id := range hostileTexts() {
		t.Run(name, func(t *testing.T) {
			in := []string{id, "bitcoin"}
			r := marketgraph.CandleRange{Interval: marketgraph.IntervalDay, Last: 3}
			checkLines(t, "CandlesByAssets", candleLines(candles(t, s, in, r)), candleLines(expectedCandles([]string{"bitcoin"}, r)))
			sigs, err := s.SignalsByAssets(ctx, in, marketgraph.MaxSignalFirst)
			if err != nil {
				t.Fatalf("SignalsByAssets: %v", err)
			}
			checkLines(t, "SignalsByAssets", signalLines(sigs), signalLines(expectedSignals([]string{"bitcoin"}, marketgraph.MaxSignalFirst)))
			latest, err := s.LatestSignals(ctx, in)
			if err != nil {
				t.Fatalf("LatestSignals: %v", err)
			}
			if len(latest) != 1 || latest["bitcoin"] == nil {
				t.Errorf("LatestSignals = %v, want bitcoin's only", latest)
			}
		})
	}
}
