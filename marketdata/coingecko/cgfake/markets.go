package cgfake

import (
	"cmp"
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/marketgraph/marketgraph"
)

// maxPerPage is the largest page /coins/markets serves.
const maxPerPage = 250

// marketRow is one row of /coins/markets, every field the real API sends,
// in its order. Numbers the fake cannot know (all-time highs, ROI, fully
// diluted valuation) are null, as the real API sends for coins lacking
// them.
type marketRow struct {
	ID                           string    `json:"id"`
	Symbol                       string    `json:"symbol"`
	Name                         string    `json:"name"`
	Image                        string    `json:"image"`
	CurrentPrice                 *float64  `json:"current_price"`
	MarketCap                    *float64  `json:"market_cap"`
	MarketCapRank                *int      `json:"market_cap_rank"`
	FullyDilutedValuation        *float64  `json:"fully_diluted_valuation"`
	TotalVolume                  *float64  `json:"total_volume"`
	High24h                      *float64  `json:"high_24h"`
	Low24h                       *float64  `json:"low_24h"`
	PriceChange24h               *float64  `json:"price_change_24h"`
	PriceChangePercentage24h     *float64  `json:"price_change_percentage_24h"`
	MarketCapChange24h           *float64  `json:"market_cap_change_24h"`
	MarketCapChangePercentage24h *float64  `json:"market_cap_change_percentage_24h"`
	CirculatingSupply            *float64  `json:"circulating_supply"`
	TotalSupply                  *float64  `json:"total_supply"`
	MaxSupply                    *float64  `json:"max_supply"`
	ATH                          *float64  `json:"ath"`
	ATHChangePercentage          *float64  `json:"ath_change_percentage"`
	ATHDate                      *string   `json:"ath_date"`
	ATL                          *float64  `json:"atl"`
	ATLChangePercentage          *float64  `json:"atl_change_percentage"`
	ATLDate                      *string   `json:"atl_date"`
	ROI                          *struct{} `json:"roi"`
	LastUpdated                  *string   `json:"last_updated"`
}

// marketOrders are the orders served, each as a comparison of rows.
var marketOrders = map[string]func(a, b *marketRow) int{
	"market_cap_desc": func(a, b *marketRow) int { return -cmpNullable(a.MarketCap, b.MarketCap, true) },
	"market_cap_asc":  func(a, b *marketRow) int { return cmpNullable(a.MarketCap, b.MarketCap, false) },
	"volume_desc":     func(a, b *marketRow) int { return -cmpNullable(a.TotalVolume, b.TotalVolume, true) },
	"volume_asc":      func(a, b *marketRow) int { return cmpNullable(a.TotalVolume, b.TotalVolume, false) },
	"id_asc":          func(a, b *marketRow) int { return 0 },
	"id_desc":         func(a, b *marketRow) int { return strings.Compare(b.ID, a.ID) },
}

// cmpNullable compares numbers with nulls last in the listing: smallest
// when the order is descending (negated by the caller), largest otherwise.
func cmpNullable(a, b *float64, desc bool) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		if desc {
			return -1
		}
		return 1
	case b == nil:
		if desc {
			return 1
		}
		return -1
	}
	return cmp.Compare(*a, *b)
}

// markets serves /coins/markets: the catalog (or its ids) with the
// source's figures, sorted and paginated.
func (f *Fake) markets(ctx context.Context, host string, q url.Values, flt *Fault) response {
	vs := q.Get("vs_currency")
	if vs == "" {
		return errorResponse(http.StatusBadRequest, "Missing parameter vs_currency")
	}
	cur, ok := currency(vs)
	if !ok {
		return errorResponse(http.StatusBadRequest, "invalid vs_currency")
	}
	perPage, ok := intParam(q.Get("per_page"), 100)
	if !ok || perPage < 1 || perPage > maxPerPage {
		return errorResponse(http.StatusBadRequest, "invalid per_page: must be between 1 and 250")
	}
	page, ok := intParam(q.Get("page"), 1)
	if !ok || page < 1 {
		return errorResponse(http.StatusBadRequest, "invalid page")
	}
	order := q.Get("order")
	if order == "" {
		order = "market_cap_desc"
	}
	less, ok := marketOrders[order]
	if !ok {
		return errorResponse(http.StatusBadRequest, "invalid order")
	}

	var want map[string]bool
	if v := q.Get("ids"); v != "" {
		want = map[string]bool{}
		for _, id := range splitList(v) {
			want[id] = true
		}
	}
	var assets []marketgraph.Asset
	for _, a := range f.catalog {
		if (want == nil || want[a.ID]) && !dropped(flt, a.ID) {
			assets = append(assets, a)
		}
	}
	ids := make([]string, len(assets))
	for i, a := range assets {
		ids[i] = a.ID
	}
	quotes, err := f.src.Quotes(ctx, ids, cur)
	if err != nil {
		return srcError(err)
	}

	rows := make([]*marketRow, len(assets))
	for i := range assets {
		rows[i] = marketRowOf(&assets[i], quoteOf(quotes, assets[i].ID), host, flt.NullFields)
	}
	slices.SortStableFunc(rows, func(a, b *marketRow) int {
		return cmp.Or(less(a, b), strings.Compare(a.ID, b.ID))
	})
	start := min((page-1)*perPage, len(rows))
	end := min(start+perPage, len(rows))
	return response{http.StatusOK, rows[start:end]}
}

// marketRowOf builds a row from a catalog entry and its quote (nil when
// the source does not quote it: the market numbers are then null).
func marketRowOf(a *marketgraph.Asset, qt *marketgraph.Quote, host string, null bool) *marketRow {
	r := &marketRow{
		ID:     a.ID,
		Symbol: strings.ToLower(a.Symbol),
		Name:   a.Name,
		Image:  "http://" + host + "/images/" + url.PathEscape(a.ID) + ".png",
	}
	if qt != nil {
		r.CurrentPrice = ptr(qt.Price)
	}
	if null {
		return r
	}
	if a.Rank > 0 {
		r.MarketCapRank = &a.Rank
	}
	if a.Supply > 0 {
		r.CirculatingSupply, r.TotalSupply = ptr(a.Supply), ptr(a.Supply)
	}
	if qt == nil {
		return r
	}
	r.MarketCap, r.TotalVolume = qt.MarketCap, qt.Volume24h
	r.LastUpdated = ptr(qt.AsOf.UTC().Format("2006-01-02T15:04:05.000Z"))
	r.High24h, r.Low24h = ptr(qt.Price), ptr(qt.Price)
	if ch := qt.Change24h; ch != nil && *ch > -100 {
		ref := qt.Price / (1 + *ch/100)
		r.High24h, r.Low24h = ptr(max(qt.Price, ref)), ptr(min(qt.Price, ref))
		r.PriceChange24h = ptr(qt.Price - ref)
		r.PriceChangePercentage24h = ch
		if mc := qt.MarketCap; mc != nil {
			r.MarketCapChange24h = ptr(*mc - *mc/(1+*ch/100))
			r.MarketCapChangePercentage24h = ch
		}
	}
	return r
}

func ptr[T any](v T) *T { return &v }

// intParam parses an optional integer parameter.
func intParam(v string, def int) (int, bool) {
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	return n, err == nil
}
