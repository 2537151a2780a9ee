package marketgraph_test

import (
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
