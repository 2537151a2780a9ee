package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/marketdata"
	"github.com/marketgraph/marketgraph/server"
)

// Providers -provider accepts.
const (
	providerSimulator = "simulator"
	providerCoinGecko = "coingecko"
)

// newProvider builds the configured quote provider wrapped in the
// resilience layer (the simulator too: it then behaves like an upstream,
// cache and all). The returned component reports the breaker to /readyz.
func newProvider(cfg *config, ds *marketgraph.Dataset, log *slog.Logger) (*marketdata.Resilient, server.Component, error) {
	rc := marketdata.ResilienceConfig{
		CallTimeout:      cfg.ProviderTimeout,
		CallsPerMinute:   cfg.ProviderBudget,
		CacheTTL:         cfg.QuoteTTL,
		BreakerThreshold: cfg.BreakerThreshold,
		BreakerCooldown:  cfg.BreakerCooldown,
		Logger:           log.With("component", "provider", "provider", cfg.Provider),
	}
	var base marketgraph.QuoteProvider
	switch cfg.Provider {
	case providerSimulator:
		base = marketdata.NewSimulator(ds, marketdata.SimulatorConfig{Seed: cfg.Seed})
		// The simulator costs nothing to call: no budget unless one is set.
		if rc.CallsPerMinute == 0 {
			rc.CallsPerMinute = -1
		}
		if rc.CacheTTL == 0 {
			rc.CacheTTL = time.Second // it moves once a second
		}
	case providerCoinGecko:
		c, err := newUpstream(cfg)
		if err != nil {
			return nil, nil, err
		}
		base = c
	default:
		return nil, nil, fmt.Errorf("-provider / MARKETGRAPH_PROVIDER: %q is not %s or %s", cfg.Provider, providerSimulator, providerCoinGecko)
	}
	r := marketdata.NewResilient(base, rc)
	component := func(context.Context) (string, bool) {
		h := r.Health()
		return h.Breaker, h.Breaker != marketdata.BreakerClosed
	}
	return r, component, nil
}
