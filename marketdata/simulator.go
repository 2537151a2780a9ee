package marketdata

import (
	"context"
	"math"
	"strings"
	"time"

	"github.com/marketgraph/marketgraph"
)

// Salts separating an asset's independent random streams.
const (
	priceSalt  = 0x7072696365 // "price"
	volumeSalt = 0x766f6c756d // "volum"
)

// volumeWiggle is how far the simulated 24 h volume strays from the
// catalog's, as a fraction; it drifts over about an hour.
const volumeWiggle = 0.05

// SimulatorConfig configures a Simulator.
type SimulatorConfig struct {
	// Seed selects the price paths: the same seed and dataset give the same
	// quote for the same instant on every machine; another seed, another
	// market.
	Seed int64
	// Now is the clock Quotes reads; nil means time.Now.
	Now func() time.Time
}

// Simulator is a Provider that invents a live market continuing a dataset.
// Each asset starts at the dataset's end from the close of its newest minute
// candle, so the first quotes agree with the candles the store serves, and
// then follows a deterministic random-walk-like path: quotes move every
// second, yet the quote of any instant can be recomputed exactly.
//
// Daily volatility (σ, the standard deviation of a day's log return) comes
// from the asset's category: about 0.1 % for stablecoins, 8 % for meme
// coins, 4 % for everything else.
//
// A Simulator is immutable once built: safe for concurrent use, and it runs
// no goroutines.
type Simulator struct {
	now    func() time.Time
	path   path
	anchor int64 // unix seconds of the dataset's end
	assets map[string]*simAsset
}

var _ Provider = (*Simulator)(nil)

// simAsset is one asset's anchor: everything its quotes derive from.
type simAsset struct {
	priceKey  uint64
	volumeKey uint64
	sigma     float64
	price0    float64 // USD price at the anchor
	x0        float64 // the path at the anchor, subtracted so x(anchor) = 0
	ref24     float64 // USD price 24 h before the anchor
	// history holds the closes of the dataset's last 24 h of minute
	// candles, one per minute from the anchor−24h on, gaps filled forward:
	// the prices 24 h changes are measured against until the simulation is
	// a day old. Nil when the dataset has no minute candles for the asset.
	history []float64
	supply  float64
	volume  float64 // USD, from the catalog
}

// NewSimulator returns a simulator anchored at ds: at ds.End each asset's
// price is the close of its newest MINUTE candle (or, without candles, its
// catalog market cap divided by its supply; an asset with neither is not
// quoted). Its 24 h change compares with the dataset's minute closes of the
// last day until the simulation is a day old; an asset without minute
// candles compares with the price its catalog 24 h change implies. A nil ds
// quotes nothing.
func NewSimulator(ds *marketgraph.Dataset, cfg SimulatorConfig) *Simulator {
	s := &Simulator{now: cfg.Now, path: newPath(), assets: map[string]*simAsset{}}
	if s.now == nil {
		s.now = time.Now
	}
	if ds == nil {
		return s
	}
	s.anchor = ds.End.Unix()

	newest, history := minuteAnchors(ds, s.anchor-secondsPerDay)
	for _, a := range ds.Assets {
		price := 0.0
		if c := newest[a.ID]; c != nil {
			price = c.Close
		} else if a.MarketCap > 0 && a.Supply > 0 {
			price = a.MarketCap / a.Supply
		}
		if !positive(price) {
			continue
		}
		sa := &simAsset{
			priceKey:  streamKey(cfg.Seed, a.ID, priceSalt),
			volumeKey: streamKey(cfg.Seed, a.ID, volumeSalt),
			sigma:     volatility(a.Category),
			price0:    price,
			ref24:     price,
			history:   history[a.ID],
			supply:    a.Supply,
			volume:    a.Volume24h,
		}
		sa.x0 = s.path.at(sa.priceKey, s.anchor)
		if sa.history != nil {
			sa.ref24 = sa.history[0]
		} else if f := 1 + a.Change24h/100; f > 0 {
			sa.ref24 = price / f
		}
		s.assets[a.ID] = sa
	}
	return s
}

// minuteAnchors finds, per asset, the newest minute candle and the closes of
// the minute candles starting in [from, from+24h), in one pass over the
// candles. Gaps in a history take the close before them; leading gaps the
// oldest close.
func minuteAnchors(ds *marketgraph.Dataset, from int64) (newest map[string]*marketgraph.Candle, history map[string][]float64) {
	newest, history = map[string]*marketgraph.Candle{}, map[string][]float64{}
	const slots = secondsPerDay / 60
	for _, c := range ds.Candles {
		if c.Interval != marketgraph.IntervalMinute || !positive(c.Close) {
			continue
		}
		if n := newest[c.AssetID]; n == nil || c.Start.After(n.Start) {
			newest[c.AssetID] = c
		}
		if d := c.Start.Unix() - from; d >= 0 && d < secondsPerDay {
			h := history[c.AssetID]
			if h == nil {
				h = make([]float64, slots)
				history[c.AssetID] = h
			}
			h[d/60] = c.Close
		}
	}
	for _, h := range history {
		first := 0
		for h[first] == 0 {
			first++
		}
		for i := range h {
			switch {
			case i < first:
				h[i] = h[first]
			case h[i] == 0:
				h[i] = h[i-1]
			}
		}
	}
	return newest, history
}

// volatility is the daily σ of a category. Matching is by substring so
// that "Stablecoins" and "Meme" variants of the demo's names all count.
func volatility(category string) float64 {
	c := strings.ToLower(category)
	switch {
	case strings.Contains(c, "stable"):
		return 0.001
	case strings.Contains(c, "meme"):
		return 0.08
	default:
		return 0.04
	}
}

func positive(f float64) bool { return f > 0 && !math.IsInf(f, 1) }

// Quotes returns the quotes of the given assets in currency as of now.
func (s *Simulator) Quotes(ctx context.Context, assetIDs []string, currency marketgraph.Currency) (map[string]*marketgraph.Quote, error) {
	return s.QuotesAt(ctx, assetIDs, currency, s.now())
}

// QuotesAt returns the quotes of the given assets in currency as of t. The
// simulator moves once per second: t is truncated to the second, which is
// also the quotes' AsOf. Prices, market caps and volumes are converted to
// currency, and Change24h is the change of the converted price. Unknown ids
// are absent from the map. BTC and ETH are UPSTREAM_UNAVAILABLE when the
// dataset lacks bitcoin or ethereum; an unsupported currency is
// BAD_USER_INPUT; a done ctx returns ctx.Err().
func (s *Simulator) QuotesAt(ctx context.Context, assetIDs []string, currency marketgraph.Currency, t time.Time) (map[string]*marketgraph.Quote, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make(map[string]*marketgraph.Quote, len(assetIDs))
	if len(assetIDs) == 0 {
		return out, nil
	}
	sec := t.Unix()
	conv, err := s.conversion(currency, sec)
	if err != nil {
		return nil, err
	}
	asOf := time.Unix(sec, 0).UTC()
	for _, id := range assetIDs {
		a := s.assets[id]
		if a == nil || out[id] != nil {
			continue
		}
		price := conv.price(s.price(a, sec))
		change := (price/conv.ref(s.ref(a, sec)) - 1) * 100
		q := &marketgraph.Quote{
			AssetID:   id,
			Price:     price,
			Change24h: &change,
			Currency:  currency,
			AsOf:      asOf,
		}
		if a.supply > 0 {
			mc := price * a.supply
			q.MarketCap = &mc
		}
		if a.volume > 0 {
			v := conv.price(a.volume * (1 + volumeWiggle*valueNoise(a.volumeKey, 0, 3600, sec)))
			q.Volume24h = &v
		}
		out[id] = q
	}
	return out, nil
}

// price is a's USD price at unix second sec: the anchor price before the
// anchor, anchor × exp(σ·x) after it, where x is the path relative to the
// anchor.
func (s *Simulator) price(a *simAsset, sec int64) float64 {
	if sec <= s.anchor {
		return a.price0
	}
	return a.price0 * math.Exp(a.sigma*(s.path.at(a.priceKey, sec)-a.x0))
}

// ref is a's USD price 24 h before sec, what Change24h compares with:
// simulated once the simulation is a day old, before that the close of the
// dataset's minute candle that ended last by then.
func (s *Simulator) ref(a *simAsset, sec int64) float64 {
	prev := sec - secondsPerDay
	if prev >= s.anchor {
		return s.price(a, prev)
	}
	if a.history == nil {
		return a.ref24
	}
	// The candle starting at m closes at m+60: the one that ended last by
	// prev started at floor(prev−60), counted in minutes from the window.
	i := floorDiv(prev-60-(s.anchor-secondsPerDay), 60)
	switch {
	case i < 0:
		return a.ref24
	case i >= int64(len(a.history)):
		return a.history[len(a.history)-1]
	}
	return a.history[i]
}
