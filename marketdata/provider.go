// Package marketdata is where live quotes come from: the providers behind
// marketgraph.QuoteProvider. For now it holds the simulator, the embedded
// default that needs no network and no API key; the upstream HTTP client and
// the resilience layer (cache, singleflight, breaker) join it later.
package marketdata

import "github.com/marketgraph/marketgraph"

// Provider is a source of live quotes. It is batch-shaped from the start:
// one call carries many asset ids and one currency, so a page of 100 assets
// costs one upstream request, never 100. Unknown ids are absent from the
// returned map; a failure of the whole call is UPSTREAM_UNAVAILABLE.
//
// It is an alias, not a new interface, so anything written against the
// domain's marketgraph.QuoteProvider accepts a Provider and vice versa.
type Provider = marketgraph.QuoteProvider
