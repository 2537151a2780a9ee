package coingecko

import (
	"context"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/marketgraph/marketgraph"
)

const marketsPath = "/coins/markets"

// MaxPerPage is the largest page /coins/markets serves.
const MaxPerPage = 250

// Market is one row of /coins/markets: a coin's catalog entry and market
// snapshot, in the currency asked for.
//
// CoinGecko sends null for what it does not know (a new coin has no rank,
// some have no supply). Here every unknown number is 0, which the catalog
// already reads as "unknown": rank 0 is unranked, and a zero market cap or
// supply is never used to derive a price. An unknown or unparsable
// last_updated is the zero time. Symbol is as sent (CoinGecko sends it in
// lower case); Asset upper-cases it.
type Market struct {
	ID                string
	Symbol            string
	Name              string
	Image             string
	Rank              int
	Price             float64
	MarketCap         float64
	Volume24h         float64
	Change24h         float64 // percent
	CirculatingSupply float64
	LastUpdated       time.Time
}

// Asset returns m as a catalog entry. Category is empty: /coins/markets
// does not say, and the caller keeps the one it has.
func (m Market) Asset() *marketgraph.Asset {
	return &marketgraph.Asset{
		ID:        m.ID,
		Symbol:    strings.ToUpper(m.Symbol),
		Name:      m.Name,
		Rank:      m.Rank,
		MarketCap: m.MarketCap,
		Volume24h: m.Volume24h,
		Change24h: m.Change24h,
		Supply:    m.CirculatingSupply,
	}
}

// marketRow is a /coins/markets row on the wire; only the fields Market
// keeps are decoded.
type marketRow struct {
	ID                string   `json:"id"`
	Symbol            *string  `json:"symbol"`
	Name              *string  `json:"name"`
	Image             *string  `json:"image"`
	CurrentPrice      *float64 `json:"current_price"`
	MarketCap         *float64 `json:"market_cap"`
	MarketCapRank     *float64 `json:"market_cap_rank"`
	TotalVolume       *float64 `json:"total_volume"`
	Change24hPct      *float64 `json:"price_change_percentage_24h"`
	CirculatingSupply *float64 `json:"circulating_supply"`
	LastUpdated       *string  `json:"last_updated"`
}

// Markets returns one page of /coins/markets in currency, ordered by
// market cap, largest first: page counts from 1, perPage from 1 to
// MaxPerPage. When ids is not empty only those coins are listed; they go
// in one call, so they must fit MaxIDsPerCall and MaxURLLen (a catalog
// refresh pages through the market instead). Rows without an id are
// skipped.
//
// Bad arguments are BAD_USER_INPUT, made before any call; a done ctx
// returns ctx.Err() wrapped; any other failure is an *UpstreamError.
func (c *Client) Markets(ctx context.Context, currency marketgraph.Currency, ids []string, page, perPage int) ([]Market, error) {
	vs := vsCurrency(currency)
	if vs == "" {
		return nil, marketgraph.Errorf(marketgraph.EBADINPUT, "currency: unsupported currency %q", currency)
	}
	if perPage < 1 || perPage > MaxPerPage {
		return nil, marketgraph.Errorf(marketgraph.EBADINPUT, "perPage: must be between 1 and %d", MaxPerPage)
	}
	if page < 1 {
		return nil, marketgraph.Errorf(marketgraph.EBADINPUT, "page: must be at least 1")
	}
	q := c.base + marketsPath + "?vs_currency=" + vs + "&order=market_cap_desc&per_page=" +
		strconv.Itoa(perPage) + "&page=" + strconv.Itoa(page)
	if ids = dedupe(ids); len(ids) > 0 {
		if len(ids) > c.maxIDs {
			return nil, marketgraph.Errorf(marketgraph.EBADINPUT, "ids: at most %d per call", c.maxIDs)
		}
		esc := make([]string, len(ids))
		for i, id := range ids {
			esc[i] = url.QueryEscape(id)
		}
		q += "&ids=" + strings.Join(esc, ",")
		if len(q) > c.maxURL {
			return nil, marketgraph.Errorf(marketgraph.EBADINPUT, "ids: too long for one call")
		}
	}

	var rows []marketRow
	if err := c.get(ctx, marketsPath, q, &rows); err != nil {
		return nil, err
	}
	out := make([]Market, 0, len(rows))
	for _, r := range rows {
		if r.ID == "" {
			continue
		}
		m := Market{
			ID:                r.ID,
			Symbol:            str(r.Symbol),
			Name:              str(r.Name),
			Image:             str(r.Image),
			Rank:              rank(r.MarketCapRank),
			Price:             num(r.CurrentPrice),
			MarketCap:         num(r.MarketCap),
			Volume24h:         num(r.TotalVolume),
			Change24h:         num(r.Change24hPct),
			CirculatingSupply: num(r.CirculatingSupply),
		}
		if r.LastUpdated != nil {
			if t, err := time.Parse(time.RFC3339Nano, *r.LastUpdated); err == nil {
				m.LastUpdated = t.UTC()
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// rank is a market_cap_rank: 0 when null or not a plausible rank.
func rank(p *float64) int {
	if p == nil || !(*p >= 1 && *p <= math.MaxInt32) {
		return 0
	}
	return int(*p)
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// num is *p, 0 for null.
func num(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}
