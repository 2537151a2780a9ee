package marketgraph

import (
	"sort"
	"time"
)

// MarketOverview is a market-wide summary over a set of assets' quotes.
type MarketOverview struct {
	Currency       Currency  `json:"currency"`
	TotalMarketCap float64   `json:"totalMarketCap"`
	TotalVolume24h float64   `json:"totalVolume24h"`
	TopGainers     []*Asset  `json:"topGainers"`
	TopLosers      []*Asset  `json:"topLosers"`
	AsOf           time.Time `json:"asOf"`
}

// NewMarketOverview sums the market cap and volume of the quoted assets and
// picks the top n gainers (largest change first) and losers (most negative
// first). Assets without a quote or without a change are left out of the
// rankings; ties are broken by asset id. AsOf is the oldest quote's time: the
// overview is no fresher than its stalest input.
func NewMarketOverview(currency Currency, assets []*Asset, quotes map[string]*Quote, n int) *MarketOverview {
	o := &MarketOverview{Currency: currency, TopGainers: []*Asset{}, TopLosers: []*Asset{}}
	type ranked struct {
		a      *Asset
		change float64
	}
	var rs []ranked
	for _, a := range assets {
		q := quotes[a.ID]
		if q == nil {
			continue
		}
		if q.MarketCap != nil {
			o.TotalMarketCap += *q.MarketCap
		}
		if q.Volume24h != nil {
			o.TotalVolume24h += *q.Volume24h
		}
		if o.AsOf.IsZero() || q.AsOf.Before(o.AsOf) {
			o.AsOf = q.AsOf
		}
		if q.Change24h != nil {
			rs = append(rs, ranked{a, *q.Change24h})
		}
	}
	sort.Slice(rs, func(i, j int) bool {
		if rs[i].change != rs[j].change {
			return rs[i].change > rs[j].change
		}
		return rs[i].a.ID < rs[j].a.ID
	})
	for i := 0; i < len(rs) && i < n && rs[i].change > 0; i++ {
		o.TopGainers = append(o.TopGainers, rs[i].a)
	}
	for i := len(rs) - 1; i >= 0 && len(rs)-1-i < n && rs[i].change < 0; i-- {
		o.TopLosers = append(o.TopLosers, rs[i].a)
	}
	return o
}
