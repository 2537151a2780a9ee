package cgfake

import (
	"context"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/marketgraph/marketgraph"
)

// simplePrice serves /simple/price: an object keyed by coin id, each with,
// per currency vs, "vs" and, as flagged, "vs_market_cap", "vs_24h_vol",
// "vs_24h_change", plus one "last_updated_at" in Unix seconds. Coins the
// source does not quote are absent.
func (f *Fake) simplePrice(ctx context.Context, q url.Values, flt *Fault) response {
	ids := splitList(q.Get("ids"))
	if len(ids) == 0 {
		return errorResponse(http.StatusBadRequest, "Missing parameter ids")
	}
	vsList := splitList(q.Get("vs_currencies"))
	if len(vsList) == 0 {
		return errorResponse(http.StatusBadRequest, "Missing parameter vs_currencies")
	}
	digits, ok := precision(q.Get("precision"))
	if !ok {
		return errorResponse(http.StatusBadRequest, "invalid precision")
	}
	withCap := q.Get("include_market_cap") == "true"
	withVol := q.Get("include_24hr_vol") == "true"
	withChange := q.Get("include_24hr_change") == "true"
	withUpdated := q.Get("include_last_updated_at") == "true"

	kept := ids[:0:0]
	for _, id := range ids {
		if !dropped(flt, id) {
			kept = append(kept, id)
		}
	}
	out := map[string]map[string]any{}
	for _, vs := range vsList {
		cur, ok := currency(vs)
		if !ok {
			return errorResponse(http.StatusBadRequest, "invalid vs_currency")
		}
		vs = strings.ToLower(vs)
		quotes, err := f.src.Quotes(ctx, kept, cur)
		if err != nil {
			return srcError(err)
		}
		for id, qt := range quotes {
			coin := out[id]
			if coin == nil {
				coin = map[string]any{}
				out[id] = coin
			}
			coin[vs] = round(qt.Price, digits)
			if withCap {
				coin[vs+"_market_cap"] = nullable(qt.MarketCap, flt.NullFields)
			}
			if withVol {
				coin[vs+"_24h_vol"] = nullable(qt.Volume24h, flt.NullFields)
			}
			if withChange {
				coin[vs+"_24h_change"] = nullable(qt.Change24h, flt.NullFields)
			}
			if withUpdated {
				if flt.NullFields {
					coin["last_updated_at"] = nil
				} else {
					coin["last_updated_at"] = qt.AsOf.Unix()
				}
			}
		}
	}
	return response{http.StatusOK, out}
}

// precision parses the precision parameter: "full" or absent (no
// rounding, -1), or a number of decimals from 0 to 18.
func precision(v string) (int, bool) {
	if v == "" || v == "full" {
		return -1, true
	}
	n, err := strconv.Atoi(v)
	return n, err == nil && n >= 0 && n <= 18
}

// round rounds v to digits decimals; digits < 0 leaves it alone.
func round(v float64, digits int) float64 {
	if digits < 0 {
		return v
	}
	p := math.Pow10(digits)
	if r := math.Round(v*p) / p; !math.IsInf(r, 0) && !math.IsNaN(r) {
		return r
	}
	return v
}

// nullable is *p, or nil (JSON null) when p is nil or null is set.
func nullable(p *float64, null bool) any {
	if p == nil || null {
		return nil
	}
	return *p
}

// quoteOf is the quote of id in qs, nil when absent.
func quoteOf(qs map[string]*marketgraph.Quote, id string) *marketgraph.Quote {
	if qs == nil {
		return nil
	}
	return qs[id]
}
