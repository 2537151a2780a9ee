package marketgraph_test

import (
	"encoding/base64"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/marketgraph/marketgraph"
)

func TestNormalizeListParams_Defaults(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   marketgraph.AssetOrder
		want marketgraph.AssetOrder
	}{
		{"ZeroOrder", marketgraph.AssetOrder{}, marketgraph.DefaultAssetOrder},
		{"EmptyDirection", marketgraph.AssetOrder{Field: marketgraph.AssetOrderName}, marketgraph.AssetOrder{Field: marketgraph.AssetOrderName, Direction: marketgraph.OrderAsc}},
		{"EmptyField", marketgraph.AssetOrder{Direction: marketgraph.OrderDesc}, marketgraph.AssetOrder{Field: marketgraph.AssetOrderRank, Direction: marketgraph.OrderDesc}},
		{"Given", marketgraph.AssetOrder{Field: marketgraph.AssetOrderChange24h, Direction: marketgraph.OrderDesc}, marketgraph.AssetOrder{Field: marketgraph.AssetOrderChange24h, Direction: marketgraph.OrderDesc}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			filter := marketgraph.AssetFilter{IDs: []string{"bitcoin"}}
			got, err := marketgraph.NormalizeListParams(marketgraph.AssetListParams{Order: tc.in, First: 7, Filter: filter})
			if err != nil {
				t.Fatalf("NormalizeListParams: %v", err)
			}
			if got.Order != tc.want || got.First != 7 || len(got.Filter.IDs) != 1 {
				t.Errorf("got %+v, want order %+v, first 7 and the filter unchanged", got, tc.want)
			}
		})
	}
}

func TestNormalizeListParams_Errors(t *testing.T) {
	rank := marketgraph.AssetCursor{Field: marketgraph.AssetOrderRank, Int: 1, ID: "bitcoin"}
	noID := marketgraph.AssetCursor{Field: marketgraph.AssetOrderRank, Int: 1}
	for _, tc := range []struct {
		name   string
		p      marketgraph.AssetListParams
		prefix string
	}{
		{"FirstNegative", marketgraph.AssetListParams{First: -1}, "first:"},
		{"FirstTooLarge", marketgraph.AssetListParams{First: marketgraph.MaxAssetPageSize + 1}, "first:"},
		{"UnknownField", marketgraph.AssetListParams{Order: marketgraph.AssetOrder{Field: "VOLUME"}}, "orderBy:"},
		{"UnknownDirection", marketgraph.AssetListParams{Order: marketgraph.AssetOrder{Direction: "asc"}}, "orderBy:"},
		{"CursorOfAnotherOrdering", marketgraph.AssetListParams{Order: marketgraph.AssetOrder{Field: marketgraph.AssetOrderName}, After: &rank}, "after:"},
		{"CursorWithoutID", marketgraph.AssetListParams{After: &noID}, "after:"},
		{"CursorIDWithNUL", marketgraph.AssetListParams{After: &marketgraph.AssetCursor{Field: marketgraph.AssetOrderRank, ID: "a\x00"}}, "after: malformed cursor"},
		{"CursorStrWithNUL", marketgraph.AssetListParams{Order: marketgraph.AssetOrder{Field: marketgraph.AssetOrderName}, After: &marketgraph.AssetCursor{Field: marketgraph.AssetOrderName, Str: "\x00", ID: "a"}}, "after: malformed cursor"},
		{"CursorNumNaN", marketgraph.AssetListParams{Order: marketgraph.AssetOrder{Field: marketgraph.AssetOrderMarketCap}, After: &marketgraph.AssetCursor{Field: marketgraph.AssetOrderMarketCap, Num: math.NaN(), ID: "a"}}, "after: malformed cursor"},
		{"CursorNumInf", marketgraph.AssetListParams{Order: marketgraph.AssetOrder{Field: marketgraph.AssetOrderChange24h}, After: &marketgraph.AssetCursor{Field: marketgraph.AssetOrderChange24h, Num: math.Inf(-1), ID: "a"}}, "after: malformed cursor"},
		{"FilterIDWithNUL", marketgraph.AssetListParams{Filter: marketgraph.AssetFilter{IDs: []string{"bitcoin", "\x00"}}}, "filter.ids: must not contain NUL bytes"},
		{"FilterCategoryInvalidUTF8", marketgraph.AssetListParams{Filter: marketgraph.AssetFilter{Category: textPtr("\xff")}}, "filter.category: must be valid UTF-8"},
		{"FilterSearchTooLong", marketgraph.AssetListParams{Filter: marketgraph.AssetFilter{Search: textPtr(strings.Repeat("x", marketgraph.MaxTextLen+1))}}, "filter.search: longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := marketgraph.NormalizeListParams(tc.p)
			if code := marketgraph.ErrorCode(err); code != marketgraph.EBADINPUT {
				t.Fatalf("code %q (err %v), want %s", code, err, marketgraph.EBADINPUT)
			}
			if msg := marketgraph.ErrorMessage(err); len(msg) < len(tc.prefix) || msg[:len(tc.prefix)] != tc.prefix {
				t.Errorf("message %q does not name the argument (%s)", msg, tc.prefix)
			}
		})
	}
	t.Run("Bounds", func(t *testing.T) {
		for _, first := range []int{0, marketgraph.MaxAssetPageSize} {
			if _, err := marketgraph.NormalizeListParams(marketgraph.AssetListParams{First: first, After: &rank}); err != nil {
				t.Errorf("first %d: %v", first, err)
			}
		}
	})
}

func TestCheckText(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string // want "" means valid
	}{
		{"Empty", "", ""},
		{"Plain", "bitcoin", ""},
		{"Unicode", "Ðogecoin 🚀", ""},
		{"LongestAllowed", strings.Repeat("é", marketgraph.MaxTextLen/2), ""},
		{"NUL", "bit\x00coin", "id: must not contain NUL bytes"},
		{"InvalidUTF8", "bit\xc3coin", "id: must be valid UTF-8"},
		{"TooLong", strings.Repeat("a", marketgraph.MaxTextLen+1), "id: longer than 256 bytes"},
		// The bound is in bytes: 129 two-byte runes are 258 bytes.
		{"TooLongInBytes", strings.Repeat("é", marketgraph.MaxTextLen/2+1), "id: longer than 256 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := marketgraph.CheckText("id", tc.in)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("CheckText: %v, want nil", err)
				}
				return
			}
			if code := marketgraph.ErrorCode(err); code != marketgraph.EBADINPUT {
				t.Fatalf("code %q (err %v), want %s", code, err, marketgraph.EBADINPUT)
			}
			if msg := marketgraph.ErrorMessage(err); msg != tc.want {
				t.Errorf("message %q, want %q", msg, tc.want)
			}
		})
	}
}

func TestDecodeAssetCursor(t *testing.T) {
	encode := func(json string) string { return base64.RawURLEncoding.EncodeToString([]byte(json)) }
	t.Run("RoundTrip", func(t *testing.T) {
		for _, c := range []marketgraph.AssetCursor{
			{Field: marketgraph.AssetOrderRank, Int: math.MaxInt32, ID: "bitcoin"},
			{Field: marketgraph.AssetOrderRank, Int: math.MinInt32, ID: "bitcoin"},
			{Field: marketgraph.AssetOrderName, Str: "ðogecoin", ID: "dogecoin"},
			{Field: marketgraph.AssetOrderMarketCap, Num: 1.5e12, ID: "bitcoin"},
		} {
			got, err := marketgraph.DecodeAssetCursor(c.Encode(), c.Field)
			if err != nil || *got != c {
				t.Errorf("DecodeAssetCursor(Encode(%+v)) = %+v, %v", c, got, err)
			}
		}
	})
	cases := []struct{ name, cursor string }{
		{"NotBase64", "!!!"},
		{"NotJSON", encode("rank 1")},
		{"NoID", encode(`{"f":"RANK","i":1}`)},
		{"IDWithNUL", encode(`{"f":"RANK","i":1,"id":"bit\u0000coin"}`)},
		{"StrWithNUL", encode(`{"f":"RANK","i":1,"s":"\u0000","id":"bitcoin"}`)},
		{"NumOverflow", encode(`{"f":"RANK","n":1e999,"id":"bitcoin"}`)},
	}
	if strconv.IntSize == 64 {
		cases = append(cases,
			struct{ name, cursor string }{"IntHuge", encode(`{"f":"RANK","i":99999999999999,"id":"bitcoin"}`)},
			struct{ name, cursor string }{"IntJustOverInt32", encode(`{"f":"RANK","i":2147483648,"id":"bitcoin"}`)},
			struct{ name, cursor string }{"IntJustUnderInt32", encode(`{"f":"RANK","i":-2147483649,"id":"bitcoin"}`)},
		)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := marketgraph.DecodeAssetCursor(tc.cursor, marketgraph.AssetOrderRank)
			if code := marketgraph.ErrorCode(err); code != marketgraph.EBADINPUT {
				t.Fatalf("code %q (err %v, cursor %+v), want %s", code, err, c, marketgraph.EBADINPUT)
			}
			if msg := marketgraph.ErrorMessage(err); msg != "after: malformed cursor" {
				t.Errorf("message %q, want %q", msg, "after: malformed cursor")
			}
		})
	}
}

func textPtr(s string) *string { return &s }
