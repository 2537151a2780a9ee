package cgfake_test

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
)

func TestFake_SimplePrice(t *testing.T) {
	_, srv := newFake(t, nil)
	src := newSource()
	t.Run("Currencies", func(t *testing.T) {
		v := get(t, srv, "/simple/price?ids=bitcoin,nope&vs_currencies=usd,eur,btc,eth&include_market_cap=true&include_last_updated_at=true").json(t).(map[string]any)
		if len(v) != 1 {
			t.Fatalf("coins %v, want bitcoin only (unknown ids absent)", v)
		}
		btc := v["bitcoin"].(map[string]any)
		for _, c := range marketgraph.Currencies {
			q, _ := src.Quotes(context.Background(), []string{"bitcoin"}, c)
			vs := map[marketgraph.Currency]string{"USD": "usd", "EUR": "eur", "BTC": "btc", "ETH": "eth"}[c]
			if btc[vs] != q["bitcoin"].Price || btc[vs+"_market_cap"] != *q["bitcoin"].MarketCap {
				t.Errorf("%s: %v / %v, want %v / %v", vs, btc[vs], btc[vs+"_market_cap"], q["bitcoin"].Price, *q["bitcoin"].MarketCap)
			}
			if _, ok := btc[vs+"_24h_vol"]; ok {
				t.Errorf("%s_24h_vol sent without include_24hr_vol", vs)
			}
		}
		if btc["last_updated_at"] != float64(asOf.Unix()) {
			t.Errorf("last_updated_at = %v, want %d", btc["last_updated_at"], asOf.Unix())
		}
	})
	t.Run("Precision", func(t *testing.T) {
		v := get(t, srv, "/simple/price?ids=dogecoin&vs_currencies=usd&precision=2").json(t).(map[string]any)
		got := v["dogecoin"].(map[string]any)["usd"].(float64)
		q, _ := src.Quotes(context.Background(), []string{"dogecoin"}, "USD")
		if want := math.Round(q["dogecoin"].Price*100) / 100; got != want {
			t.Errorf("price at precision 2 = %v, want %v", got, want)
		}
	})
}

func TestFake_Markets(t *testing.T) {
	_, srv := newFake(t, nil)
	ids := func(path string) string {
		var out []string
		for _, row := range get(t, srv, path).json(t).([]any) {
			out = append(out, row.(map[string]any)["id"].(string))
		}
		return fmt.Sprint(out)
	}
	tests := []struct{ path, want string }{
		{"/coins/markets?vs_currency=usd", "[bitcoin ethereum tether dogecoin unquoted-coin]"},
		{"/coins/markets?vs_currency=usd&order=market_cap_asc", "[dogecoin tether ethereum bitcoin unquoted-coin]"},
		{"/coins/markets?vs_currency=usd&order=id_desc", "[unquoted-coin tether ethereum dogecoin bitcoin]"},
		{"/coins/markets?vs_currency=usd&order=volume_desc&per_page=2&page=2", "[tether dogecoin]"},
		{"/coins/markets?vs_currency=usd&ids=tether,nope,bitcoin", "[bitcoin tether]"},
		{"/coins/markets?vs_currency=usd&per_page=250&page=9", "[]"},
	}
	for _, tt := range tests {
		if got := ids(tt.path); got != tt.want {
			t.Errorf("GET %s lists %s, want %s", tt.path, got, tt.want)
		}
	}
	t.Run("Row", func(t *testing.T) {
		row := get(t, srv, "/coins/markets?vs_currency=eur&ids=ethereum").json(t).([]any)[0].(map[string]any)
		q, _ := newSource().Quotes(context.Background(), []string{"ethereum"}, "EUR")
		e := q["ethereum"]
		want := map[string]any{
			"id": "ethereum", "symbol": "eth", "name": "Ethereum", "current_price": e.Price,
			"market_cap": *e.MarketCap, "market_cap_rank": 2.0, "total_volume": *e.Volume24h,
			"price_change_percentage_24h": *e.Change24h, "circulating_supply": 120e6,
			"last_updated": asOf.Format("2006-01-02T15:04:05.000Z"),
		}
		for k, v := range want {
			if row[k] != v {
				t.Errorf("%s = %v, want %v", k, row[k], v)
			}
		}
		if hi, lo := row["high_24h"].(float64), row["low_24h"].(float64); hi < e.Price || lo > e.Price || hi <= lo {
			t.Errorf("high %v low %v around price %v", hi, lo, e.Price)
		}
	})
}

func TestFake_MarketChartRange(t *testing.T) {
	// pairs decodes one series.
	pairs := func(v any) [][2]float64 {
		var out [][2]float64
		for _, p := range v.([]any) {
			pp := p.([]any)
			out = append(out, [2]float64{pp[0].(float64), pp[1].(float64)})
		}
		return out
	}
	now := time.Now().Unix()
	t.Run("Granularity", func(t *testing.T) {
		_, srv := newFake(t, nil)
		for _, tt := range []struct {
			name     string
			from, to int64
			step     int64
		}{
			{"Day", now - 86400, now, 300},
			{"Weeks", now - 30*86400, now - 86400, 3600},
			{"Year", now - 365*86400, now, 86400},
		} {
			v := get(t, srv, fmt.Sprintf("/coins/bitcoin/market_chart/range?vs_currency=usd&from=%d&to=%d", tt.from, tt.to)).json(t).(map[string]any)
			ps := pairs(v["prices"])
			if n := (tt.to - tt.from) / tt.step; int64(len(ps)) < n || int64(len(ps)) > n+1 {
				t.Errorf("%s: %d samples, want about %d", tt.name, len(ps), n)
			}
			for i, p := range ps {
				ms := int64(p[0])
				if ms%(tt.step*1000) != 0 || ms < tt.from*1000 || ms > tt.to*1000 || i > 0 && ms-int64(ps[i-1][0]) != tt.step*1000 {
					t.Fatalf("%s: sample %d at %d ms, want every %d s within the range, aligned", tt.name, i, ms, tt.step)
				}
			}
		}
	})
	t.Run("FutureClamped", func(t *testing.T) {
		_, srv := newFake(t, nil)
		v := get(t, srv, fmt.Sprintf("/coins/bitcoin/market_chart/range?vs_currency=usd&from=%d&to=%d", now-3600, now+86400)).json(t).(map[string]any)
		ps := pairs(v["prices"])
		if last := int64(ps[len(ps)-1][0]) / 1000; last > time.Now().Unix() {
			t.Errorf("last sample at %d, in the future", last)
		}
	})
	t.Run("FromAfterTo", func(t *testing.T) {
		_, srv := newFake(t, nil)
		v := get(t, srv, fmt.Sprintf("/coins/bitcoin/market_chart/range?vs_currency=usd&from=%d&to=%d", now, now-3600)).json(t).(map[string]any)
		if len(v["prices"].([]any)) != 0 {
			t.Errorf("prices %v, want none", v["prices"])
		}
	})
	t.Run("Bounded", func(t *testing.T) {
		_, srv := newFake(t, nil)
		v := get(t, srv, fmt.Sprintf("/coins/bitcoin/market_chart/range?vs_currency=usd&from=0&to=%d", now)).json(t).(map[string]any)
		if n := len(v["prices"].([]any)); n > 5000 || n < 4000 {
			t.Errorf("%d samples since 1970, want the newest 5000 days", n)
		}
	})
	t.Run("WalkWithoutHistory", func(t *testing.T) {
		// A source without QuotesAt: a deterministic walk around the live
		// price.
		_, srv := newFake(t, newSource())
		path := fmt.Sprintf("/coins/ethereum/market_chart/range?vs_currency=usd&from=%d&to=%d", now-30*86400, now)
		a, b := get(t, srv, path).json(t).(map[string]any), get(t, srv, path).json(t).(map[string]any)
		if !reflect.DeepEqual(a, b) {
			t.Error("two identical calls gave different charts")
		}
		live, _ := newSource().Quotes(context.Background(), []string{"ethereum"}, "USD")
		p0 := live["ethereum"].Price
		ps := pairs(a["prices"])
		if len(ps) < 700 {
			t.Fatalf("%d samples, want hourly over 30 days", len(ps))
		}
		varied := false
		for _, p := range ps {
			if p[1] < p0*0.85 || p[1] > p0*1.15 {
				t.Fatalf("sample %v strays more than 15%% from the live price %v", p, p0)
			}
			varied = varied || p[1] != ps[0][1]
		}
		if !varied {
			t.Error("the walk is flat")
		}
	})
}
