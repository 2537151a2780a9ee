package coingecko_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/marketdata/coingecko"
	"github.com/marketgraph/marketgraph/marketdata/coingecko/cgfake"
)

func TestQuotes_Shapes(t *testing.T) {
	ctx := context.Background()
	t.Run("Full", func(t *testing.T) {
		c, _ := serveBody(t, 200, testdata(t, "simple_price.json"), nil)
		qs, err := c.Quotes(ctx, []string{"bitcoin", "ethereum", "tether", "missing-coin"}, marketgraph.CurrencyUSD)
		if err != nil {
			t.Fatal(err)
		}
		if len(qs) != 3 || qs["missing-coin"] != nil {
			t.Fatalf("got %d quotes (%v), want bitcoin, ethereum, tether", len(qs), keys(qs))
		}
		mc, vol, ch := 1317802988326.2493, 31260929299.52484, 3.637278946773539
		want := &marketgraph.Quote{AssetID: "bitcoin", Price: 67187.33589365664, MarketCap: &mc, Volume24h: &vol,
			Change24h: &ch, Currency: marketgraph.CurrencyUSD, AsOf: time.Unix(1711356300, 0).UTC()}
		assertQuote(t, qs["bitcoin"], want)
		if got := qs["tether"].Change24h; got == nil || *got != -0.02410337213740285 {
			t.Errorf("tether change = %v, want the negative change sent", got)
		}
	})
	t.Run("OnlyRequestedIDs", func(t *testing.T) {
		c, _ := serveBody(t, 200, testdata(t, "simple_price.json"), nil)
		qs, err := c.Quotes(ctx, []string{"bitcoin"}, marketgraph.CurrencyUSD)
		if err != nil || len(qs) != 1 || qs["bitcoin"] == nil {
			t.Fatalf("Quotes = %v, %v; want only bitcoin", keys(qs), err)
		}
	})
	t.Run("Nulls", func(t *testing.T) {
		c, _ := serveBody(t, 200, testdata(t, "simple_price_nulls.json"), nil)
		before := time.Now().UTC().Truncate(time.Second)
		qs, err := c.Quotes(ctx, []string{"bitcoin", "partial-coin", "dead-coin", "empty-coin", "missing-coin"}, marketgraph.CurrencyUSD)
		after := time.Now().UTC()
		if err != nil {
			t.Fatal(err)
		}
		if len(qs) != 2 {
			t.Fatalf("got quotes for %v, want bitcoin and partial-coin (a null price or an empty coin is no quote)", keys(qs))
		}
		b := qs["bitcoin"]
		if b.Price != 67187.33589365664 || b.MarketCap != nil || b.Volume24h != nil || b.Change24h != nil {
			t.Errorf("bitcoin = %+v, want a price and nil figures", b)
		}
		if b.AsOf.Before(before) || b.AsOf.After(after) {
			t.Errorf("bitcoin AsOf = %v, want the response time (a null last_updated_at)", b.AsOf)
		}
		p := qs["partial-coin"]
		if p.Price != 0.012345678901234 || p.MarketCap != nil || p.Volume24h != nil || p.Change24h != nil || p.Stale {
			t.Errorf("partial-coin = %+v, want its price and nil figures", p)
		}
	})
	t.Run("UnknownFields", func(t *testing.T) {
		// Fields the client does not read may be added, of any type.
		body := `{"bitcoin":{"usd":2.5,"usd_note":"new","eur":"x","extra":{"a":[1]},"last_updated_at":1711356300},` +
			`"status":{"usd":3},"error":{"usd":4}}`
		c, _ := serveBody(t, 200, []byte(body), nil)
		qs, err := c.Quotes(ctx, []string{"bitcoin", "status", "error"}, marketgraph.CurrencyUSD)
		if err != nil || qs["bitcoin"] == nil || qs["bitcoin"].Price != 2.5 {
			t.Fatalf("Quotes = %v, %v; want bitcoin at 2.5", keys(qs), err)
		}
		// Coins named like the keys of error bodies are still coins.
		if qs["status"] == nil || qs["status"].Price != 3 || qs["error"] == nil || qs["error"].Price != 4 {
			t.Errorf("Quotes = %v, want the coins status and error too", keys(qs))
		}
	})
	t.Run("OtherCurrencyKeys", func(t *testing.T) {
		// The sample has usd fields only: asked in EUR, no coin has a price.
		c, _ := serveBody(t, 200, testdata(t, "simple_price.json"), nil)
		qs, err := c.Quotes(ctx, []string{"bitcoin"}, marketgraph.CurrencyEUR)
		if err != nil || len(qs) != 0 {
			t.Fatalf("Quotes in EUR = %v, %v; want none", keys(qs), err)
		}
	})
	t.Run("Request", func(t *testing.T) {
		c, rec := serveBody(t, 200, testdata(t, "simple_price.json"), nil)
		if _, err := c.Quotes(ctx, []string{"bitcoin", "ethereum"}, marketgraph.CurrencyBTC); err != nil {
			t.Fatal(err)
		}
		uris, hdrs := rec.requests()
		if len(uris) != 1 {
			t.Fatalf("%d calls, want 1", len(uris))
		}
		u, _ := url.Parse(uris[0])
		q := u.Query()
		want := map[string]string{
			"vs_currencies": "btc", "include_market_cap": "true", "include_24hr_vol": "true",
			"include_24hr_change": "true", "include_last_updated_at": "true", "precision": "full",
			"ids": "bitcoin,ethereum",
		}
		if u.Path != "/simple/price" {
			t.Errorf("path = %s, want /simple/price", u.Path)
		}
		for k, v := range want {
			if q.Get(k) != v {
				t.Errorf("%s = %q, want %q", k, q.Get(k), v)
			}
		}
		if got := hdrs[0].Get(coingecko.DemoKeyHeader); got != testKey {
			t.Errorf("key header = %q, want the key", got)
		}
		if strings.Contains(uris[0], testKey) {
			t.Errorf("the key is in the URL %s", uris[0])
		}
	})
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func assertQuote(t *testing.T, got, want *marketgraph.Quote) {
	t.Helper()
	if got == nil {
		t.Fatalf("no quote for %s", want.AssetID)
	}
	if got.AssetID != want.AssetID || got.Price != want.Price || got.Currency != want.Currency ||
		!got.AsOf.Equal(want.AsOf) || got.Stale != want.Stale ||
		!ptrEq(got.MarketCap, want.MarketCap) || !ptrEq(got.Volume24h, want.Volume24h) || !ptrEq(got.Change24h, want.Change24h) {
		t.Errorf("quote = %s, want %s", fmtQuote(got), fmtQuote(want))
	}
}

func fmtQuote(q *marketgraph.Quote) string {
	f := func(p *float64) string {
		if p == nil {
			return "nil"
		}
		return fmt.Sprint(*p)
	}
	return fmt.Sprintf("{%s %v %s cap=%s vol=%s ch=%s %s stale=%v}", q.AssetID, q.Price, q.Currency,
		f(q.MarketCap), f(q.Volume24h), f(q.Change24h), q.AsOf.Format(time.RFC3339), q.Stale)
}

func TestQuotes_Fake(t *testing.T) {
	ctx := context.Background()
	src := newSource()
	e := newEnv(t, src, nil)
	ids := []string{"bitcoin", "ethereum", "bitcoin", "unquoted-coin", "nope", "", "dogecoin"}
	for i, cur := range marketgraph.Currencies {
		t.Run(string(cur), func(t *testing.T) {
			got, err := e.client.Quotes(ctx, ids, cur)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := src.Quotes(ctx, ids, cur)
			if len(got) != len(want) {
				t.Fatalf("got quotes for %v, want %v", keys(got), keys(want))
			}
			for id, w := range want {
				assertQuote(t, got[id], w)
			}
			if n := e.fake.Calls(cgfake.PathSimplePrice); n != i+1 {
				t.Errorf("%d calls so far, want %d (one per Quotes)", n, i+1)
			}
			uris, _ := e.rec.requests()
			u, _ := url.Parse(uris[len(uris)-1])
			if got := u.Query().Get("ids"); got != "bitcoin,ethereum,unquoted-coin,nope,dogecoin" {
				t.Errorf("ids sent = %q, want each id once, blanks dropped", got)
			}
		})
	}
}

func TestQuotes_Batching(t *testing.T) {
	ctx := context.Background()
	var many []string
	for i := range 30 {
		many = append(many, fmt.Sprintf("coin-with-a-long-name-%02d", i))
	}
	src := newSource(many...)

	// sentIDs returns every id sent, in order, across calls.
	sentIDs := func(uris []string) []string {
		var out []string
		for _, s := range uris {
			u, _ := url.Parse(s)
			out = append(out, strings.Split(u.Query().Get("ids"), ",")...)
		}
		return out
	}

	t.Run("ByCount", func(t *testing.T) {
		e := newEnv(t, src, func(c *coingecko.Config) { c.MaxIDsPerCall = 7 })
		qs, err := e.client.Quotes(ctx, many, marketgraph.CurrencyUSD)
		if err != nil {
			t.Fatal(err)
		}
		if len(qs) != 30 {
			t.Errorf("got %d quotes, want 30", len(qs))
		}
		if n := e.fake.Calls(cgfake.PathSimplePrice); n != 5 {
			t.Errorf("%d calls, want 5 (30 ids, 7 per call)", n)
		}
		uris, _ := e.rec.requests()
		if got := sentIDs(uris); !slices.Equal(got, many) {
			t.Errorf("ids sent = %v, want each once in order", got)
		}
	})
	t.Run("ByURLLength", func(t *testing.T) {
		var maxLen int
		e := newEnv(t, src, func(c *coingecko.Config) {
			maxLen = len(c.BaseURL) + 400
			c.MaxURLLen = maxLen
		})
		qs, err := e.client.Quotes(ctx, many, marketgraph.CurrencyUSD)
		if err != nil {
			t.Fatal(err)
		}
		if len(qs) != 30 {
			t.Errorf("got %d quotes, want 30", len(qs))
		}
		uris, _ := e.rec.requests()
		if len(uris) < 3 {
			t.Errorf("%d calls, want the ids split over several", len(uris))
		}
		for _, u := range uris {
			if l := len(e.srv.URL) + len(u); l > maxLen {
				t.Errorf("URL of %d bytes over the %d limit: %s", l, maxLen, u)
			}
		}
		if got := sentIDs(uris); !slices.Equal(got, many) {
			t.Errorf("ids sent = %v, want each once in order", got)
		}
	})
	t.Run("IDTooLongAlone", func(t *testing.T) {
		e := newEnv(t, src, func(c *coingecko.Config) { c.MaxURLLen = len(c.BaseURL) + 400 })
		huge := strings.Repeat("x", 500)
		qs, err := e.client.Quotes(ctx, []string{"bitcoin", huge, "ethereum"}, marketgraph.CurrencyUSD)
		if err != nil {
			t.Fatal(err)
		}
		if len(qs) != 2 || qs[huge] != nil {
			t.Errorf("got %v, want bitcoin and ethereum, the oversized id absent", keys(qs))
		}
		uris, _ := e.rec.requests()
		if len(uris) != 1 || strings.Contains(uris[0], huge) {
			t.Errorf("calls %v, want one without the oversized id", uris)
		}
	})
	t.Run("CommaInID", func(t *testing.T) {
		e := newEnv(t, src, nil)
		qs, err := e.client.Quotes(ctx, []string{"bitcoin,ethereum"}, marketgraph.CurrencyUSD)
		if err != nil || len(qs) != 0 {
			t.Errorf("Quotes(an id with a comma) = %v, %v; want nothing", keys(qs), err)
		}
		if n := e.fake.Calls(cgfake.PathSimplePrice); n != 0 {
			t.Errorf("%d calls, want none", n)
		}
	})
	t.Run("OneChunkFailsAll", func(t *testing.T) {
		fake := cgfake.New(src, nil)
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 2 {
				http.Error(w, `{"error":"boom"}`, http.StatusInternalServerError)
				return
			}
			fake.ServeHTTP(w, r)
		}))
		defer srv.Close()
		c := newClient(t, srv.URL, func(c *coingecko.Config) { c.MaxIDsPerCall = 10 })
		qs, err := c.Quotes(ctx, many, marketgraph.CurrencyUSD)
		if qs != nil {
			t.Errorf("got %d quotes with the error, want none", len(qs))
		}
		if ue := upstreamError(t, err); ue.Status != 500 || !ue.Temporary {
			t.Errorf("error %v, want a temporary HTTP 500", err)
		}
		if n := calls.Load(); n != 2 {
			t.Errorf("%d calls, want 2 (no call after the failure)", n)
		}
	})
}

func TestQuotes_Input(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, newSource(), nil)
	t.Run("UnsupportedCurrency", func(t *testing.T) {
		_, err := e.client.Quotes(ctx, []string{"bitcoin"}, "GBP")
		if marketgraph.ErrorCode(err) != marketgraph.EBADINPUT {
			t.Errorf("error %v, want BAD_USER_INPUT", err)
		}
	})
	t.Run("NoIDs", func(t *testing.T) {
		for _, ids := range [][]string{nil, {}, {""}} {
			qs, err := e.client.Quotes(ctx, ids, marketgraph.CurrencyUSD)
			if err != nil || qs == nil || len(qs) != 0 {
				t.Errorf("Quotes(%q) = %v, %v; want an empty map", ids, qs, err)
			}
		}
	})
	if n := e.fake.Calls(cgfake.PathSimplePrice); n != 0 {
		t.Errorf("%d calls, want none", n)
	}
}
