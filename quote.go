package marketgraph

import (
	"context"
	"time"
)

// Currency is a quote currency.
type Currency string

// The currencies quotes are offered in.
const (
	CurrencyUSD Currency = "USD"
	CurrencyEUR Currency = "EUR"
	CurrencyBTC Currency = "BTC"
	CurrencyETH Currency = "ETH"
)

// Currencies lists every supported currency.
var Currencies = []Currency{CurrencyUSD, CurrencyEUR, CurrencyBTC, CurrencyETH}

// Valid reports whether c is a supported currency.
func (c Currency) Valid() bool {
	for _, x := range Currencies {
		if c == x {
			return true
		}
	}
	return false
}

// Quote is the live market figure of one asset in one currency.
type Quote struct {
	AssetID   string    `json:"assetId"`
	Price     float64   `json:"price"`
	MarketCap *float64  `json:"marketCap"`
	Volume24h *float64  `json:"volume24h"`
	Change24h *float64  `json:"change24h"`
	Currency  Currency  `json:"currency"`
	AsOf      time.Time `json:"asOf"`
	// Stale is true when the provider could not be reached and this is the
	// last quote known.
	Stale bool `json:"stale"`
}

// QuoteProvider is a source of live quotes, batch-shaped: one call for many
// assets.
type QuoteProvider interface {
	// Quotes returns the quotes of the given assets in currency, keyed by
	// asset id. It may return a map and an error together: the map holds
	// what could be answered (possibly stale), the error applies to the ids
	// missing from it. With a nil error a missing id is one the provider
	// does not know (NOT_FOUND for the caller); with an error it could not
	// be answered (UPSTREAM_UNAVAILABLE, or the context's error).
	Quotes(ctx context.Context, assetIDs []string, currency Currency) (map[string]*Quote, error)
}
