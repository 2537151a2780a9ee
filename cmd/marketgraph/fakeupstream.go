package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/marketgraph/marketgraph/demo"
	"github.com/marketgraph/marketgraph/marketdata"
	"github.com/marketgraph/marketgraph/marketdata/coingecko/cgfake"
)

// runFakeUpstream serves a fake CoinGecko v3 API over the demo catalog, its
// prices from the simulator, for manual runs and load tests against
// MARKETGRAPH_PROVIDER=coingecko without the internet. Faults are for tests
// (cgfake.Fake.SetFault); the process serves a healthy upstream.
func runFakeUpstream(ctx context.Context, cfg *config, stdout io.Writer) error {
	ds := demo.Generate(cfg.Seed, time.Now())
	sim := marketdata.NewSimulator(ds, marketdata.SimulatorConfig{Seed: cfg.Seed})
	fake := cgfake.New(sim, ds.Assets)
	return cgfake.ListenAndServe(ctx, cfg.Addr, fake, func(addr string) {
		fmt.Fprintf(stdout, "fake CoinGecko API listening on http://%s/api/v3\n", addr)
	})
}
