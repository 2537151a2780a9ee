package cgfake

import (
	"context"
	"hash/fnv"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/marketgraph/marketgraph"
)

// quotesAt is the optional method of a source that can quote the past (the
// simulator has it).
type quotesAt interface {
	QuotesAt(ctx context.Context, ids []string, currency marketgraph.Currency, t time.Time) (map[string]*marketgraph.Quote, error)
}

// maxChartPoints bounds a chart, so that a range from 1970 costs no more
// than a few years of daily points; the newest points are kept.
const maxChartPoints = 5000

// chart is the /coins/{id}/market_chart/range body: [milliseconds, value]
// pairs.
type chart struct {
	Prices       [][2]any `json:"prices"`
	MarketCaps   [][2]any `json:"market_caps"`
	TotalVolumes [][2]any `json:"total_volumes"`
}

// marketChart serves /coins/{id}/market_chart/range with the granularity
// CoinGecko documents: 5-minutely for a range up to a day, hourly up to 90
// days, daily (at 00:00 UTC) beyond. A range ending in the future ends now.
func (f *Fake) marketChart(ctx context.Context, id string, q url.Values, flt *Fault) response {
	vs := q.Get("vs_currency")
	if vs == "" {
		return errorResponse(http.StatusBadRequest, "Missing parameter vs_currency")
	}
	cur, ok := currency(vs)
	if !ok {
		return errorResponse(http.StatusBadRequest, "invalid vs_currency")
	}
	from, okFrom := unixParam(q.Get("from"))
	to, okTo := unixParam(q.Get("to"))
	if !okFrom || !okTo {
		return errorResponse(http.StatusBadRequest, "invalid from or to: expected UNIX timestamps")
	}
	if dropped(flt, id) {
		return errorResponse(http.StatusNotFound, "coin not found")
	}
	now := time.Now()
	live, err := f.src.Quotes(ctx, []string{id}, cur)
	if err != nil {
		return srcError(err)
	}
	anchor := quoteOf(live, id)
	if anchor == nil {
		return errorResponse(http.StatusNotFound, "coin not found")
	}

	out := chart{Prices: [][2]any{}, MarketCaps: [][2]any{}, TotalVolumes: [][2]any{}}
	past, _ := f.src.(quotesAt)
	for _, t := range sampleTimes(from, min(to, now.Unix())) {
		at := time.Unix(t, 0).UTC()
		var qt *marketgraph.Quote
		if past != nil {
			qs, err := past.QuotesAt(ctx, []string{id}, cur, at)
			if err != nil {
				return srcError(err)
			}
			qt = quoteOf(qs, id)
		} else {
			qt = walk(anchor, id, now, at)
		}
		if qt == nil {
			continue
		}
		ms := t * 1000
		out.Prices = append(out.Prices, [2]any{ms, qt.Price})
		out.MarketCaps = append(out.MarketCaps, [2]any{ms, nullable(qt.MarketCap, flt.NullFields)})
		out.TotalVolumes = append(out.TotalVolumes, [2]any{ms, nullable(qt.Volume24h, flt.NullFields)})
	}
	return response{http.StatusOK, out}
}

// unixParam parses a UNIX timestamp in seconds (a fraction is allowed and
// dropped).
func unixParam(v string) (int64, bool) {
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || x < 0 || x > 1e11 || math.IsNaN(x) {
		return 0, false
	}
	return int64(x), true
}

// sampleTimes are the instants of a chart of [from, to], in Unix seconds.
func sampleTimes(from, to int64) []int64 {
	if from > to {
		return nil
	}
	step := int64(86400)
	switch span := to - from; {
	case span <= 86400:
		step = 300
	case span <= 90*86400:
		step = 3600
	}
	first := (from + step - 1) / step * step
	if n := (to-first)/step + 1; n > maxChartPoints {
		first += (n - maxChartPoints) * step
	}
	var out []int64
	for t := first; t <= to; t += step {
		out = append(out, t)
	}
	return out
}

// walk is the synthetic history of a source without QuotesAt: the live
// quote scaled by a smooth deterministic wave (±7 % at most), equal to the
// live quote now.
func walk(live *marketgraph.Quote, id string, now, at time.Time) *marketgraph.Quote {
	h := fnv.New64a()
	_, _ = h.Write([]byte(id))
	phase := float64(h.Sum64()%6283) / 1000
	wave := func(t time.Time) float64 {
		s := float64(t.Unix())
		return 1 + 0.05*math.Sin(2*math.Pi*s/(7*86400)+phase) + 0.02*math.Sin(2*math.Pi*s/86400+2*phase)
	}
	k := wave(at) / wave(now)
	q := *live
	q.Price, q.AsOf = live.Price*k, at
	if live.MarketCap != nil {
		q.MarketCap = ptr(*live.MarketCap * k)
	}
	return &q
}
