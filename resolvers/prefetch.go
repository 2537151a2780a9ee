package resolvers

import (
	"context"
	"encoding/json"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/loaders"
)

// prefetchAssetFields makes batching of a page of assets deterministic.
//
// gqlgen resolves every element of a list in its own goroutine, and a
// dataloader batches the keys that arrive within its window (1 ms). On a busy
// machine the hundred goroutines of a page do not all reach their loaders
// inside one window, and a page that should cost one provider call costs two
// or three. So the assets resolver, which knows every asset of the page,
// looks ahead at what the query selects under edges.node and prefetches
// those keys: one batch call per loader, whatever the scheduler does (see
// loaders.Loaders.PrefetchQuotes). The element resolvers then find their
// keys in the operation's loader cache.
//
// Only the fields that go through loaders are looked at; a field whose
// arguments do not parse is skipped, and its resolver reports the error.
func prefetchAssetFields(ctx context.Context, assets []*marketgraph.Asset) {
	l := loaders.For(ctx)
	if l == nil || !l.Cached || len(assets) == 0 || !graphql.HasOperationContext(ctx) {
		return
	}
	opCtx := graphql.GetOperationContext(ctx)
	var (
		quotes  []loaders.QuoteKey
		candles []loaders.CandleKey
		signals []loaders.SignalsKey
		latest  []string
	)
	for _, edges := range graphql.CollectFieldsCtx(ctx, []string{"AssetConnection"}) {
		if edges.Name != "edges" {
			continue
		}
		for _, node := range graphql.CollectFields(opCtx, edges.Selections, []string{"AssetEdge"}) {
			if node.Name != "node" {
				continue
			}
			for _, f := range graphql.CollectFields(opCtx, node.Selections, []string{"Asset"}) {
				args := f.ArgumentMap(opCtx.Variables)
				switch f.Name {
				case "quote":
					cur := marketgraph.CurrencyUSD
					if s, ok := args["currency"].(string); ok {
						cur = marketgraph.Currency(s)
					}
					for _, a := range assets {
						quotes = append(quotes, loaders.QuoteKey{AssetID: a.ID, Currency: cur})
					}
				case "candles", "candleSeries":
					rng, ok := candleArgs(args)
					if !ok {
						continue
					}
					for _, a := range assets {
						candles = append(candles, loaders.NewCandleKey(a.ID, rng))
					}
				case "signals":
					first := marketgraph.DefaultSignalFirst
					if v, present := args["first"]; present && v != nil {
						n, ok := toInt(v)
						if !ok {
							continue
						}
						first = n
					}
					if first <= 0 || first > marketgraph.MaxSignalFirst {
						continue
					}
					for _, a := range assets {
						signals = append(signals, loaders.SignalsKey{AssetID: a.ID, First: first})
					}
				case "latestSignal":
					if latest == nil {
						for _, a := range assets {
							latest = append(latest, a.ID)
						}
					}
				}
			}
		}
	}
	// Each of these is one batch call (per currency, range or size), all
	// running concurrently; none of them waits.
	l.PrefetchQuotes(ctx, quotes)
	l.PrefetchCandles(ctx, candles)
	l.PrefetchSignals(ctx, signals)
	l.PrefetchLatestSignals(ctx, latest)
}

// candleArgs reads the arguments of candles or candleSeries the way the
// resolver will, so the prefetched key is the one the resolver asks for.
func candleArgs(args map[string]any) (marketgraph.CandleRange, bool) {
	interval, _ := args["interval"].(string)
	var from, to *time.Time
	for name, dst := range map[string]**time.Time{"from": &from, "to": &to} {
		v, present := args[name]
		if !present || v == nil {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return marketgraph.CandleRange{}, false
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return marketgraph.CandleRange{}, false
		}
		*dst = &t
	}
	var last *int
	if v, present := args["last"]; present && v != nil {
		n, ok := toInt(v)
		if !ok {
			return marketgraph.CandleRange{}, false
		}
		last = &n
	}
	rng, none, err := candleRange(marketgraph.CandleInterval(interval), from, to, last)
	return rng, err == nil && !none
}

// toInt reads an Int argument: int64 from a literal, and from variables
// whatever the JSON decoder and gqlparser's coercion made of it.
func toInt(v any) (int, bool) {
	switch n := v.(type) {
	case int64:
		return int(n), true
	case int:
		return n, true
	case float64:
		return int(n), n == float64(int(n))
	case json.Number:
		i, err := n.Int64()
		return int(i), err == nil
	}
	return 0, false
}
