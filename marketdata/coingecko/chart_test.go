package coingecko_test

import (
	"context"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/marketdata/coingecko"
	"github.com/marketgraph/marketgraph/marketdata/coingecko/cgfake"
)

func TestMarketChartRange_Shapes(t *testing.T) {
	ctx := context.Background()
	from, to := time.Unix(1711843200, 0), time.Unix(1711850400, 0)
	ms := func(v int64) time.Time { return time.UnixMilli(v).UTC() }
	t.Run("Full", func(t *testing.T) {
		c, rec := serveBody(t, 200, testdata(t, "market_chart_range.json"), nil)
		got, err := c.MarketChartRange(ctx, "bitcoin", marketgraph.CurrencyUSD, from, to)
		if err != nil {
			t.Fatal(err)
		}
		want := &coingecko.MarketChart{
			Prices: []coingecko.Point{
				{ms(1711843200000), 69702.3087473573}, {ms(1711846800000), 69789.14235293}, {ms(1711850400000), 69640.11948713}},
			MarketCaps: []coingecko.Point{
				{ms(1711843200000), 1370247487960.0945}, {ms(1711846800000), 1371957389285.3247}, {ms(1711850400000), 1369018541262.8762}},
			TotalVolumes: []coingecko.Point{
				{ms(1711843200000), 16408802301.837431}, {ms(1711846800000), 16172163587.119682}, {ms(1711850400000), 16011283512.771606}},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("chart =\n%+v\nwant\n%+v", got, want)
		}
		uris, _ := rec.requests()
		u, _ := url.Parse(uris[0])
		q := u.Query()
		if u.Path != "/coins/bitcoin/market_chart/range" || q.Get("vs_currency") != "usd" ||
			q.Get("from") != "1711843200" || q.Get("to") != "1711850400" {
			t.Errorf("request %s, want /coins/bitcoin/market_chart/range?vs_currency=usd&from=1711843200&to=1711850400", uris[0])
		}
	})
	t.Run("Nulls", func(t *testing.T) {
		c, _ := serveBody(t, 200, testdata(t, "market_chart_range_nulls.json"), nil)
		got, err := c.MarketChartRange(ctx, "bitcoin", marketgraph.CurrencyUSD, from, to)
		if err != nil {
			t.Fatal(err)
		}
		wantPrices := []coingecko.Point{{ms(1711843200000), 69702.3087473573}, {ms(1711850400000), 69640.11948713}}
		if !reflect.DeepEqual(got.Prices, wantPrices) || len(got.MarketCaps) != 0 || len(got.TotalVolumes) != 0 {
			t.Errorf("chart = %+v, want the null samples skipped", got)
		}
	})
	t.Run("EscapedID", func(t *testing.T) {
		c, rec := serveBody(t, 200, testdata(t, "market_chart_range.json"), nil)
		if _, err := c.MarketChartRange(ctx, "a/b?c", marketgraph.CurrencyEUR, from, to); err != nil {
			t.Fatal(err)
		}
		uris, _ := rec.requests()
		u, _ := url.Parse(uris[0])
		if u.EscapedPath() != "/coins/a%2Fb%3Fc/market_chart/range" || u.Query().Get("vs_currency") != "eur" {
			t.Errorf("request %s, want the id escaped as one path segment", uris[0])
		}
	})
	t.Run("Malformed", func(t *testing.T) {
		for _, body := range []string{`{"prices":[[1,2,3]]}`, `{"prices":[1]}`, `{"prices":[[1e300,2]]}`, `[]`} {
			c, _ := serveBody(t, 200, []byte(body), nil)
			_, err := c.MarketChartRange(ctx, "bitcoin", marketgraph.CurrencyUSD, from, to)
			if ue := upstreamError(t, err); !ue.Temporary {
				t.Errorf("body %s: error %+v, want a temporary malformed-response error", body, ue)
			}
		}
	})
}

func TestMarketChartRange_Fake(t *testing.T) {
	ctx := context.Background()
	src := newSource()
	e := newEnv(t, src, nil)
	t.Run("HistoryFromSource", func(t *testing.T) {
		to := time.Now().Add(-24 * time.Hour)
		from := to.Add(-48 * time.Hour)
		got, err := e.client.MarketChartRange(ctx, "ethereum", marketgraph.CurrencyETH, from, to)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Prices) < 47 || len(got.MarketCaps) != len(got.Prices) || len(got.TotalVolumes) != len(got.Prices) {
			t.Fatalf("got %d prices, %d caps, %d volumes; want about 48 hourly samples of each",
				len(got.Prices), len(got.MarketCaps), len(got.TotalVolumes))
		}
		for i, p := range got.Prices {
			if p.At.Before(from.Truncate(time.Second)) || p.At.After(to) || i > 0 && p.At.Sub(got.Prices[i-1].At) != time.Hour {
				t.Fatalf("sample %d at %v: want hourly samples within the range", i, p.At)
			}
			qs, _ := src.QuotesAt(ctx, []string{"ethereum"}, marketgraph.CurrencyETH, p.At)
			if q := qs["ethereum"]; p.Value != q.Price || got.MarketCaps[i].Value != *q.MarketCap {
				t.Fatalf("sample %d = %v, want the source's price %v then", i, p.Value, q.Price)
			}
		}
		if n := e.fake.Calls(cgfake.PathMarketChartRange); n != 1 {
			t.Errorf("%d calls, want 1", n)
		}
	})
	t.Run("UnknownCoin", func(t *testing.T) {
		_, err := e.client.MarketChartRange(ctx, "unquoted-coin", marketgraph.CurrencyUSD, time.Unix(0, 0), time.Now())
		if ue := upstreamError(t, err); ue.Status != 404 || ue.Temporary || ue.Endpoint != "/coins/{id}/market_chart/range" {
			t.Errorf("error %+v, want a permanent 404", ue)
		}
	})
	t.Run("Input", func(t *testing.T) {
		now := time.Now()
		for name, call := range map[string]func() error{
			"EmptyID":     func() error { _, err := e.client.MarketChartRange(ctx, "", "USD", now, now); return err },
			"Currency":    func() error { _, err := e.client.MarketChartRange(ctx, "bitcoin", "GBP", now, now); return err },
			"FromAfterTo": func() error { _, err := e.client.MarketChartRange(ctx, "bitcoin", "USD", now, now.Add(-1)); return err },
			"Before1970":  func() error { _, err := e.client.MarketChartRange(ctx, "bitcoin", "USD", time.Time{}, now); return err },
		} {
			if err := call(); marketgraph.ErrorCode(err) != marketgraph.EBADINPUT {
				t.Errorf("%s: error %v, want BAD_USER_INPUT", name, err)
			}
		}
	})
}
