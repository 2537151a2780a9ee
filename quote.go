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
	// asset id. An asset the provider does not know is absent from the map
	// (the caller reports NOT_FOUND for it); a failure of the whole call is
	// UPSTREAM_UNAVAILABLE.
	Quotes(ctx context.Context, assetIDs []string, currency Currency) (map[string]*Quote, error)
}
