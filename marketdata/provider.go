// Package marketdata is where live quotes come from: the providers behind
// marketgraph.QuoteProvider (the simulator, the embedded default that needs
// no network and no API key; the CoinGecko client in marketdata/coingecko)
// and the resilience layer any of them is wrapped in (Resilient: deadline,
// retries, circuit breaker, call budget, shared cache, stale on error).
package marketdata

import "github.com/marketgraph/marketgraph"

// Provider is a source of live quotes. It is batch-shaped from the start:
// one call carries many asset ids and one currency, so a page of 100 assets
// costs one upstream request, never 100.
//
// Quotes may return a non-nil map AND a non-nil error: the map holds what
// could be answered (possibly stale, Quote.Stale set), and the error applies
// to the ids missing from the map, so a caller must not drop the map because
// of the error. With a nil error, an id missing from the map is one the
// provider does not know: NOT_FOUND for the caller. With a non-nil error, a
// missing id could not be answered: it gets the error (UPSTREAM_UNAVAILABLE
// when the provider failed, ctx.Err() when the caller's context ended),
// never NOT_FOUND. A plain provider that fails returns a nil map and the
// error, which fits the same rule.
//
// It is an alias, not a new interface, so anything written against the
// domain's marketgraph.QuoteProvider accepts a Provider and vice versa.
type Provider = marketgraph.QuoteProvider
