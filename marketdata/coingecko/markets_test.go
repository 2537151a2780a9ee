package coingecko_test

import (
	"context"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/marketdata/coingecko"
	"github.com/marketgraph/marketgraph/marketdata/coingecko/cgfake"
)

func TestMarkets_Shapes(t *testing.T) {
	ctx := context.Background()
	t.Run("Full", func(t *testing.T) {
		c, rec := serveBody(t, 200, testdata(t, "coins_markets.json"), nil)
		got, err := c.Markets(ctx, marketgraph.CurrencyUSD, nil, 1, 2)
		if err != nil {
			t.Fatal(err)
		}
		want := []coingecko.Market{
			{ID: "bitcoin", Symbol: "btc", Name: "Bitcoin", Image: "https://images.example/coins/images/1/large/bitcoin.png",
				Rank: 1, Price: 70187, MarketCap: 1381651251183, Volume24h: 20154184933, Change24h: 3.12502,
				CirculatingSupply: 19675987, LastUpdated: time.Date(2024, 4, 7, 16, 49, 31, 736e6, time.UTC)},
			{ID: "ethereum", Symbol: "eth", Name: "Ethereum", Image: "https://images.example/coins/images/279/large/ethereum.png",
				Rank: 2, Price: 3412.49, MarketCap: 409875391213, Volume24h: 11296713422, Change24h: 2.14307,
				CirculatingSupply: 120105326.858516, LastUpdated: time.Date(2024, 4, 7, 16, 49, 24, 180e6, time.UTC)},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Markets =\n%+v\nwant\n%+v", got, want)
		}
		uris, _ := rec.requests()
		u, _ := url.Parse(uris[0])
		q := u.Query()
		if u.Path != "/coins/markets" || q.Get("vs_currency") != "usd" || q.Get("order") != "market_cap_desc" ||
			q.Get("per_page") != "2" || q.Get("page") != "1" || q.Has("ids") {
			t.Errorf("request %s, want /coins/markets?vs_currency=usd&order=market_cap_desc&per_page=2&page=1", uris[0])
		}
	})
	t.Run("Nulls", func(t *testing.T) {
		c, _ := serveBody(t, 200, testdata(t, "coins_markets_nulls.json"), nil)
		got, err := c.Markets(ctx, marketgraph.CurrencyUSD, nil, 1, 2)
		if err != nil {
			t.Fatal(err)
		}
		want := []coingecko.Market{
			{ID: "fresh-listing", Symbol: "fresh", Name: "Fresh Listing"},
			{ID: "sparse-coin", Symbol: "spc", Name: "Sparse Coin", Image: "https://images.example/coins/images/99999/large/sparse.png",
				Price: 0.004213, Volume24h: 1520.33},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Markets =\n%+v\nwant\n%+v (nulls as 0, an unparsable time as zero)", got, want)
		}
	})
	t.Run("RowsWithoutID", func(t *testing.T) {
		c, _ := serveBody(t, 200, []byte(`[{"id":""},{"symbol":"x"},{"id":"kept","market_cap_rank":1e300}]`), nil)
		got, err := c.Markets(ctx, marketgraph.CurrencyUSD, nil, 1, 3)
		if err != nil || len(got) != 1 || got[0].ID != "kept" || got[0].Rank != 0 {
			t.Errorf("Markets = %+v, %v; want only the row with an id, its absurd rank 0", got, err)
		}
	})
	t.Run("Malformed", func(t *testing.T) {
		c, _ := serveBody(t, 200, []byte(`{"id":"bitcoin"}`), nil)
		_, err := c.Markets(ctx, marketgraph.CurrencyUSD, nil, 1, 3)
		upstreamError(t, err)
	})
}

func TestMarkets_Input(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, newSource(), func(c *coingecko.Config) { c.MaxIDsPerCall = 3 })
	tests := []struct {
		name          string
		cur           marketgraph.Currency
		ids           []string
		page, perPage int
	}{
		{"Currency", "GBP", nil, 1, 10},
		{"PerPageZero", marketgraph.CurrencyUSD, nil, 1, 0},
		{"PerPageTooLarge", marketgraph.CurrencyUSD, nil, 1, 251},
		{"PageZero", marketgraph.CurrencyUSD, nil, 0, 10},
		{"TooManyIDs", marketgraph.CurrencyUSD, []string{"a", "b", "c", "d"}, 1, 10},
		{"IDsTooLong", marketgraph.CurrencyUSD, []string{strings.Repeat("x", 3000)}, 1, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client.Markets(ctx, tt.cur, tt.ids, tt.page, tt.perPage)
			if marketgraph.ErrorCode(err) != marketgraph.EBADINPUT {
				t.Errorf("error %v, want BAD_USER_INPUT", err)
			}
		})
	}
	if n := e.fake.Calls(cgfake.PathMarkets); n != 0 {
		t.Errorf("%d calls, want none", n)
	}
}

func TestMarkets_Fake(t *testing.T) {
	ctx := context.Background()
	src := newSource()
	e := newEnv(t, src, nil)
	quotes, _ := src.Quotes(ctx, []string{"bitcoin", "ethereum", "tether", "dogecoin"}, marketgraph.CurrencyEUR)

	t.Run("Pages", func(t *testing.T) {
		var ids []string
		for page := 1; page <= 3; page++ {
			ms, err := e.client.Markets(ctx, marketgraph.CurrencyEUR, nil, page, 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range ms {
				ids = append(ids, m.ID)
			}
		}
		// By market cap, largest first; the coin without a quote last.
		want := []string{"bitcoin", "ethereum", "tether", "dogecoin", "unquoted-coin"}
		if !reflect.DeepEqual(ids, want) {
			t.Errorf("pages list %v, want %v", ids, want)
		}
		if ms, err := e.client.Markets(ctx, marketgraph.CurrencyEUR, nil, 4, 2); err != nil || len(ms) != 0 {
			t.Errorf("page past the end = %v, %v; want empty", ms, err)
		}
	})
	t.Run("Figures", func(t *testing.T) {
		ms, err := e.client.Markets(ctx, marketgraph.CurrencyEUR, []string{"bitcoin", "dogecoin", "unquoted-coin"}, 1, 250)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 3 {
			t.Fatalf("got %d rows, want 3", len(ms))
		}
		b, q := ms[0], quotes["bitcoin"]
		if b.ID != "bitcoin" || b.Symbol != "btc" || b.Name != "Bitcoin" || b.Rank != 1 || b.Price != q.Price ||
			b.MarketCap != *q.MarketCap || b.Volume24h != *q.Volume24h || b.Change24h != *q.Change24h ||
			b.CirculatingSupply != 19e6 || !b.LastUpdated.Equal(asOf) || b.Image == "" {
			t.Errorf("bitcoin row %+v does not match the source quote %s", b, fmtQuote(q))
		}
		if d := ms[1]; d.ID != "dogecoin" || d.CirculatingSupply != 0 {
			t.Errorf("second row %+v, want dogecoin without supply", d)
		}
		if u := ms[2]; u.ID != "unquoted-coin" || u.Price != 0 || u.Rank != 5 {
			t.Errorf("third row %+v, want the unquoted coin with rank 5 and no price", u)
		}
		a := b.Asset()
		if a.ID != "bitcoin" || a.Symbol != "BTC" || a.Rank != 1 || a.Supply != 19e6 || a.MarketCap != b.MarketCap {
			t.Errorf("Asset() = %+v", a)
		}
	})
}
