package marketdata_test

import (
	"context"
	"errors"
	"math"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/marketdata"
)

// end is the anchor of the test dataset.
var end = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// series says how the test dataset's minute closes run: close i (i = 0 at
// end−24h, 1439 at end−1m) is base × (1 + slope × i).
type series struct {
	base, slope float64
}

func (s series) close(i int) float64 { return s.base * (1 + s.slope*float64(i)) }

var testSeries = map[string]series{
	"bitcoin":  {base: 60000, slope: 0.0001},
	"ethereum": {base: 3000, slope: -0.00005},
	"tether":   {base: 1, slope: 0},
	"dogecoin": {base: 0.2, slope: 0.0002},
	"solana":   {base: 150, slope: 0.00003},
}

// testDataset has five assets with a day of minute candles (listed newest
// first, and with hour candles whose closes must be ignored), one asset known
// only from the catalog and one the simulator cannot price.
func testDataset() *marketgraph.Dataset {
	ds := &marketgraph.Dataset{End: end}
	cat := map[string]string{"bitcoin": "Layer 1", "ethereum": "Layer 1", "tether": "Stablecoin", "dogecoin": "Meme", "solana": "Layer 1"}
	for _, id := range []string{"bitcoin", "ethereum", "tether", "dogecoin", "solana"} {
		s := testSeries[id]
		ds.Assets = append(ds.Assets, &marketgraph.Asset{
			ID: id, Category: cat[id], Supply: 1e6, Volume24h: 5e8,
		})
		for i := 1439; i >= 0; i-- {
			ds.Candles = append(ds.Candles, &marketgraph.Candle{
				AssetID: id, Interval: marketgraph.IntervalMinute,
				Start: end.Add(-24*time.Hour + time.Duration(i)*time.Minute),
				Close: s.close(i),
			})
		}
		ds.Candles = append(ds.Candles, &marketgraph.Candle{
			AssetID: id, Interval: marketgraph.IntervalHour, Start: end, Close: 12345,
		})
	}
	ds.Assets = append(ds.Assets,
		&marketgraph.Asset{ID: "catalogcoin", Category: "DeFi", MarketCap: 1e9, Supply: 1e8, Change24h: 25, Volume24h: 1e6},
		&marketgraph.Asset{ID: "ghost", Category: "DeFi"},
	)
	return ds
}

func newSim(seed int64) *marketdata.Simulator {
	return marketdata.NewSimulator(testDataset(), marketdata.SimulatorConfig{Seed: seed})
}

// quotesAt fails the test on error.
func quotesAt(t *testing.T, s *marketdata.Simulator, ids []string, c marketgraph.Currency, at time.Time) map[string]*marketgraph.Quote {
	t.Helper()
	qs, err := s.QuotesAt(context.Background(), ids, c, at)
	if err != nil {
		t.Fatalf("QuotesAt(%v, %s, %s): %v", ids, c, at, err)
	}
	return qs
}

func quoteAt(t *testing.T, s *marketdata.Simulator, id string, c marketgraph.Currency, at time.Time) *marketgraph.Quote {
	t.Helper()
	q := quotesAt(t, s, []string{id}, c, at)[id]
	if q == nil {
		t.Fatalf("no %s quote for %s at %s", c, id, at)
	}
	return q
}

func near(a, b, rel float64) bool { return math.Abs(a-b) <= rel*math.Max(math.Abs(a), math.Abs(b)) }

func TestSimulator_Anchor(t *testing.T) {
	s := newSim(1)
	t.Run("FirstQuoteIsNewestMinuteClose", func(t *testing.T) {
		for id, ser := range testSeries {
			q := quoteAt(t, s, id, marketgraph.CurrencyUSD, end)
			if want := ser.close(1439); q.Price != want {
				t.Errorf("%s: price at anchor = %v, want newest minute close %v", id, q.Price, want)
			}
			if !q.AsOf.Equal(end) || q.Stale || q.Currency != marketgraph.CurrencyUSD || q.AssetID != id {
				t.Errorf("%s: quote = %+v", id, q)
			}
		}
	})
	t.Run("BeforeAnchor", func(t *testing.T) {
		q := quoteAt(t, s, "bitcoin", marketgraph.CurrencyUSD, end.Add(-time.Hour))
		if want := testSeries["bitcoin"].close(1439); q.Price != want {
			t.Errorf("price before anchor = %v, want anchor price %v", q.Price, want)
		}
	})
	t.Run("CatalogFallback", func(t *testing.T) {
		q := quoteAt(t, s, "catalogcoin", marketgraph.CurrencyUSD, end)
		if q.Price != 10 {
			t.Errorf("price = %v, want market cap / supply = 10", q.Price)
		}
		if q.Change24h == nil || !near(*q.Change24h, 25, 1e-9) {
			t.Errorf("change24h = %v, want the catalog's 25", q.Change24h)
		}
	})
	t.Run("Unpriceable", func(t *testing.T) {
		if qs := quotesAt(t, s, []string{"ghost"}, marketgraph.CurrencyUSD, end); len(qs) != 0 {
			t.Errorf("quotes for an asset without candles, cap or supply: %v", qs)
		}
	})
	t.Run("QuotesReadsNow", func(t *testing.T) {
		now := end.Add(90*time.Minute + 300*time.Millisecond)
		sim := marketdata.NewSimulator(testDataset(), marketdata.SimulatorConfig{Seed: 1, Now: func() time.Time { return now }})
		got, err := sim.Quotes(context.Background(), []string{"bitcoin"}, marketgraph.CurrencyUSD)
		if err != nil {
			t.Fatal(err)
		}
		want := quotesAt(t, s, []string{"bitcoin"}, marketgraph.CurrencyUSD, now)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Quotes = %+v, want QuotesAt(now) = %+v", got["bitcoin"], want["bitcoin"])
		}
	})
}

func TestSimulator_Deterministic(t *testing.T) {
	ids := []string{"bitcoin", "ethereum", "tether", "dogecoin", "solana", "catalogcoin"}
	times := []time.Time{end, end.Add(17 * time.Second), end.Add(3 * time.Hour), end.Add(50 * time.Hour)}
	t.Run("SameSeed", func(t *testing.T) {
		a, b := newSim(7), newSim(7)
		for _, at := range times {
			for _, c := range marketgraph.Currencies {
				qa, qb := quotesAt(t, a, ids, c, at), quotesAt(t, b, ids, c, at)
				if !reflect.DeepEqual(qa, qb) {
					t.Errorf("%s %s: two simulators with the same seed disagree", c, at)
				}
			}
		}
	})
	t.Run("OncePerSecond", func(t *testing.T) {
		s := newSim(7)
		at := end.Add(time.Hour)
		q1 := quoteAt(t, s, "bitcoin", marketgraph.CurrencyUSD, at)
		q2 := quoteAt(t, s, "bitcoin", marketgraph.CurrencyUSD, at.Add(999*time.Millisecond))
		if !reflect.DeepEqual(q1, q2) || !q1.AsOf.Equal(at) {
			t.Errorf("quotes within one second differ: %+v vs %+v", q1, q2)
		}
	})
	t.Run("OtherSeed", func(t *testing.T) {
		at := end.Add(time.Hour)
		a := quoteAt(t, newSim(7), "bitcoin", marketgraph.CurrencyUSD, at)
		b := quoteAt(t, newSim(8), "bitcoin", marketgraph.CurrencyUSD, at)
		if a.Price == b.Price {
			t.Errorf("seeds 7 and 8 give the same price %v an hour after the anchor", a.Price)
		}
	})
}

func TestSimulator_Moves(t *testing.T) {
	s := newSim(3)
	ids := []string{"bitcoin", "ethereum", "tether", "dogecoin", "solana", "catalogcoin"}
	t.Run("OverTime", func(t *testing.T) {
		at := end.Add(5 * time.Minute)
		a := quotesAt(t, s, ids, marketgraph.CurrencyUSD, at)
		b := quotesAt(t, s, ids, marketgraph.CurrencyUSD, at.Add(time.Hour))
		for _, id := range ids {
			if a[id].Price == b[id].Price {
				t.Errorf("%s: price %v did not move in an hour", id, a[id].Price)
			}
		}
	})
	t.Run("PositiveAndPegged", func(t *testing.T) {
		for at := end; at.Before(end.Add(7 * 24 * time.Hour)); at = at.Add(7 * time.Minute) {
			qs := quotesAt(t, s, ids, marketgraph.CurrencyUSD, at)
			for _, id := range ids {
				if p := qs[id].Price; !(p > 0) || math.IsInf(p, 0) {
					t.Fatalf("%s at %s: price %v", id, at, p)
				}
			}
			if p := qs["tether"].Price; p < 0.98 || p > 1.02 {
				t.Fatalf("stablecoin at %s: price %v, want within 2%% of 1", at, p)
			}
		}
	})
}

// TestSimulator_Volatility checks that the daily log returns of the path
// have about the documented standard deviations (4 % for most assets, 8 %
// for meme coins, 0.1 % for stablecoins), measured over 200 days.
func TestSimulator_Volatility(t *testing.T) {
	s := newSim(11)
	want := map[string]float64{"solana": 0.04, "bitcoin": 0.04, "dogecoin": 0.08, "tether": 0.001}
	ids := []string{"solana", "bitcoin", "dogecoin", "tether"}
	sum := map[string]float64{}
	n := 0
	start := end.Add(24 * time.Hour)
	for at := start; at.Before(start.Add(200 * 24 * time.Hour)); at = at.Add(time.Hour) {
		now := quotesAt(t, s, ids, marketgraph.CurrencyUSD, at)
		prev := quotesAt(t, s, ids, marketgraph.CurrencyUSD, at.Add(-24*time.Hour))
		for _, id := range ids {
			r := math.Log(now[id].Price / prev[id].Price)
			sum[id] += r * r
		}
		n++
	}
	for _, id := range ids {
		sd := math.Sqrt(sum[id] / float64(n))
		if sd < want[id]*0.6 || sd > want[id]*1.4 {
			t.Errorf("%s: daily volatility %.4f, want about %.4f", id, sd, want[id])
		}
	}
}

func TestSimulator_Fields(t *testing.T) {
	s := newSim(5)
	at := end.Add(36 * time.Hour)
	q := quoteAt(t, s, "solana", marketgraph.CurrencyUSD, at)
	if q.MarketCap == nil || !near(*q.MarketCap, q.Price*1e6, 1e-12) {
		t.Errorf("market cap = %v, want price × supply = %v", q.MarketCap, q.Price*1e6)
	}
	if q.Volume24h == nil || *q.Volume24h < 5e8*0.95 || *q.Volume24h > 5e8*1.05 {
		t.Errorf("volume24h = %v, want within 5%% of the catalog's 5e8", q.Volume24h)
	}
	noSupply := &marketgraph.Dataset{End: end, Assets: []*marketgraph.Asset{{ID: "x"}}, Candles: []*marketgraph.Candle{
		{AssetID: "x", Interval: marketgraph.IntervalMinute, Start: end.Add(-time.Minute), Close: 2},
	}}
	q = quoteAt(t, marketdata.NewSimulator(noSupply, marketdata.SimulatorConfig{}), "x", marketgraph.CurrencyUSD, at)
	if q.MarketCap != nil || q.Volume24h != nil {
		t.Errorf("asset without supply or volume: market cap %v, volume %v, want both null", q.MarketCap, q.Volume24h)
	}
}

func TestSimulator_Change24h(t *testing.T) {
	s := newSim(9)
	sol := testSeries["solana"]
	check := func(t *testing.T, at time.Time, ref float64) {
		t.Helper()
		q := quoteAt(t, s, "solana", marketgraph.CurrencyUSD, at)
		want := (q.Price/ref - 1) * 100
		if q.Change24h == nil || !near(*q.Change24h, want, 1e-9) {
			t.Errorf("change24h at %s = %v, want %v", at, q.Change24h, want)
		}
	}
	t.Run("AtAnchor", func(t *testing.T) {
		// Against the minute candle starting at end−24h.
		check(t, end, sol.close(0))
	})
	t.Run("WithinFirstDay", func(t *testing.T) {
		// 6 h in, 24 h ago is end−18h: the last candle closed by then
		// started at end−18h−1m, minute 359 of the dataset's day.
		check(t, end.Add(6*time.Hour), sol.close(359))
	})
	t.Run("AfterFirstDay", func(t *testing.T) {
		at := end.Add(25*time.Hour + 13*time.Second)
		check(t, at, quoteAt(t, s, "solana", marketgraph.CurrencyUSD, at.Add(-24*time.Hour)).Price)
	})
}

func TestSimulator_Currencies(t *testing.T) {
	s := newSim(2)
	ids := []string{"bitcoin", "ethereum", "solana"}
	for _, at := range []time.Time{end, end.Add(7 * time.Hour), end.Add(30 * time.Hour)} {
		usd := quotesAt(t, s, ids, marketgraph.CurrencyUSD, at)
		t.Run("EUR", func(t *testing.T) {
			eur := quotesAt(t, s, ids, marketgraph.CurrencyEUR, at)
			for _, id := range ids {
				u, e := usd[id], eur[id]
				if !near(e.Price, u.Price*marketdata.EURPerUSD, 1e-12) ||
					!near(*e.MarketCap, *u.MarketCap*0.92, 1e-12) ||
					!near(*e.Volume24h, *u.Volume24h*0.92, 1e-12) ||
					!near(*e.Change24h, *u.Change24h, 1e-9) || e.Currency != marketgraph.CurrencyEUR {
					t.Errorf("%s at %s: EUR %+v is not 0.92 × USD %+v", id, at, e, u)
				}
			}
		})
		t.Run("BTC", func(t *testing.T) {
			btc := quotesAt(t, s, ids, marketgraph.CurrencyBTC, at)
			if q := btc["bitcoin"]; q.Price != 1 || *q.Change24h != 0 {
				t.Errorf("bitcoin in BTC at %s: price %v change %v, want 1 and 0", at, q.Price, *q.Change24h)
			}
			if want := usd["solana"].Price / usd["bitcoin"].Price; !near(btc["solana"].Price, want, 1e-12) {
				t.Errorf("solana in BTC = %v, want %v", btc["solana"].Price, want)
			}
			// The change in BTC is the change of the price in BTC.
			ratio := (1 + *usd["solana"].Change24h/100) / (1 + *usd["bitcoin"].Change24h/100)
			if want := (ratio - 1) * 100; !near(*btc["solana"].Change24h, want, 1e-6) {
				t.Errorf("solana change in BTC = %v, want %v", *btc["solana"].Change24h, want)
			}
		})
		t.Run("ETH", func(t *testing.T) {
			eth := quotesAt(t, s, ids, marketgraph.CurrencyETH, at)
			if want := usd["bitcoin"].Price / usd["ethereum"].Price; !near(eth["bitcoin"].Price, want, 1e-12) {
				t.Errorf("bitcoin in ETH = %v, want %v", eth["bitcoin"].Price, want)
			}
			if want := *usd["bitcoin"].MarketCap / usd["ethereum"].Price; !near(*eth["bitcoin"].MarketCap, want, 1e-12) {
				t.Errorf("bitcoin market cap in ETH = %v, want %v", *eth["bitcoin"].MarketCap, want)
			}
		})
	}
	t.Run("NoBitcoin", func(t *testing.T) {
		ds := testDataset()
		ds.Assets = ds.Assets[1:] // drops bitcoin
		sim := marketdata.NewSimulator(ds, marketdata.SimulatorConfig{})
		_, err := sim.QuotesAt(context.Background(), []string{"ethereum"}, marketgraph.CurrencyBTC, end)
		if code := marketgraph.ErrorCode(err); code != marketgraph.EUPSTREAM {
			t.Errorf("BTC quotes without bitcoin: error %v, want %s", err, marketgraph.EUPSTREAM)
		}
		if q := quoteAt(t, sim, "ethereum", marketgraph.CurrencyETH, end); q.Price != 1 {
			t.Errorf("ethereum in ETH = %v, want 1", q.Price)
		}
	})
	t.Run("Unsupported", func(t *testing.T) {
		_, err := s.QuotesAt(context.Background(), []string{"bitcoin"}, "JPY", end)
		if code := marketgraph.ErrorCode(err); code != marketgraph.EBADINPUT {
			t.Errorf("JPY: error %v, want %s", err, marketgraph.EBADINPUT)
		}
	})
}

func TestSimulator_Batch(t *testing.T) {
	s := newSim(4)
	t.Run("UnknownIDsAbsent", func(t *testing.T) {
		qs := quotesAt(t, s, []string{"nope", "bitcoin", "bitcoin", "ghost"}, marketgraph.CurrencyUSD, end)
		if len(qs) != 1 || qs["bitcoin"] == nil {
			t.Errorf("quotes = %v, want bitcoin only", qs)
		}
	})
	t.Run("Empty", func(t *testing.T) {
		qs, err := s.QuotesAt(context.Background(), nil, marketgraph.CurrencyUSD, end)
		if err != nil || qs == nil || len(qs) != 0 {
			t.Errorf("no ids: %v, %v; want an empty map and no error", qs, err)
		}
	})
	t.Run("Cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := s.Quotes(ctx, []string{"bitcoin"}, marketgraph.CurrencyUSD); !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled context: error %v, want context.Canceled", err)
		}
	})
	t.Run("NilDataset", func(t *testing.T) {
		sim := marketdata.NewSimulator(nil, marketdata.SimulatorConfig{})
		if qs := quotesAt(t, sim, []string{"bitcoin"}, marketgraph.CurrencyUSD, end); len(qs) != 0 {
			t.Errorf("quotes from an empty simulator: %v", qs)
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		at := end.Add(2 * time.Hour)
		want := quotesAt(t, s, []string{"bitcoin", "dogecoin"}, marketgraph.CurrencyETH, at)
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				got, err := s.QuotesAt(context.Background(), []string{"bitcoin", "dogecoin"}, marketgraph.CurrencyETH, at)
				if err != nil || !reflect.DeepEqual(got, want) {
					t.Errorf("concurrent QuotesAt = %v, %v", got, err)
				}
			})
		}
		wg.Wait()
	})
}
