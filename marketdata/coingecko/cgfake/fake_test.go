package cgfake_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph/marketdata/coingecko/cgfake"
)

const priceQuery = "/simple/price?ids=bitcoin,ethereum,tether&vs_currencies=usd&include_market_cap=true&include_24hr_vol=true&include_24hr_change=true&include_last_updated_at=true&precision=full"

func TestFake_Shapes(t *testing.T) {
	_, srv := newFake(t, nil)
	to := time.Now().Add(-time.Hour).Unix()
	chartQuery := fmt.Sprintf("/coins/bitcoin/market_chart/range?vs_currency=usd&from=%d&to=%d", to-2*86400, to)
	tests := []struct {
		name, path, file string
		status           int
		exact            bool // the body must equal the sample, not just its shape
	}{
		{"SimplePrice", priceQuery, "simple_price.json", 200, false},
		{"Markets", "/coins/markets?vs_currency=usd&order=market_cap_desc&per_page=2&page=1", "coins_markets.json", 200, false},
		{"MarketChartRange", chartQuery, "market_chart_range.json", 200, false},
		{"Ping", "/ping", "ping.json", 200, true},
		{"InvalidCurrency", "/coins/markets?vs_currency=gbp", "error_invalid_vs_currency.json", 400, true},
		{"CoinNotFound", "/coins/nope/market_chart/range?vs_currency=usd&from=0&to=1", "error_coin_not_found.json", 404, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, prefix := range []string{"", "/api/v3"} {
				r := get(t, srv, prefix+tt.path)
				if r.status != tt.status {
					t.Fatalf("GET %s: status %d (%s), want %d", prefix+tt.path, r.status, r.body, tt.status)
				}
				got, want := r.json(t), sample(t, tt.file)
				if tt.exact && !reflect.DeepEqual(got, want) {
					t.Errorf("body %s, want the sample %s", r.body, tt.file)
				}
				assertShape(t, got, want)
			}
		})
	}
	t.Run("NoNullsWhenHealthy", func(t *testing.T) {
		// The shape check lets null match anything: check the fake sends
		// numbers where it knows them.
		v := get(t, srv, priceQuery).json(t).(map[string]any)
		for _, id := range []string{"bitcoin", "ethereum", "tether"} {
			for k, x := range v[id].(map[string]any) {
				if _, ok := x.(float64); !ok {
					t.Errorf("%s.%s = %v, want a number", id, k, x)
				}
			}
		}
	})
	t.Run("RateLimit", func(t *testing.T) {
		f, srv := newFake(t, nil)
		f.SetFault(cgfake.Fault{Status: 429})
		r := get(t, srv, priceQuery)
		assertShape(t, r.json(t), sample(t, "error_rate_limit.json"))
		if !reflect.DeepEqual(r.json(t), sample(t, "error_rate_limit.json")) {
			t.Errorf("429 body %s, want the sample", r.body)
		}
	})
	t.Run("KeyMissing", func(t *testing.T) {
		f, srv := newFake(t, nil)
		f.RequireKey("x-cg-demo-api-key", "k")
		r := get(t, srv, priceQuery)
		if r.status != 401 || !reflect.DeepEqual(r.json(t), sample(t, "error_key_missing.json")) {
			t.Errorf("status %d body %s, want 401 and the sample", r.status, r.body)
		}
	})
}

func TestFake_Validation(t *testing.T) {
	_, srv := newFake(t, nil)
	tests := []struct {
		name, path string
		status     int
		message    string
	}{
		{"PriceNoIDs", "/simple/price?vs_currencies=usd", 400, "Missing parameter ids"},
		{"PriceBlankIDs", "/simple/price?ids=,&vs_currencies=usd", 400, "Missing parameter ids"},
		{"PriceNoCurrency", "/simple/price?ids=bitcoin", 400, "Missing parameter vs_currencies"},
		{"PriceUnknownCurrency", "/simple/price?ids=bitcoin&vs_currencies=usd,gbp", 400, "invalid vs_currency"},
		{"PricePrecision", "/simple/price?ids=bitcoin&vs_currencies=usd&precision=19", 400, "invalid precision"},
		{"MarketsNoCurrency", "/coins/markets", 400, "Missing parameter vs_currency"},
		{"MarketsUnknownCurrency", "/coins/markets?vs_currency=jpy", 400, "invalid vs_currency"},
		{"MarketsPerPage251", "/coins/markets?vs_currency=usd&per_page=251", 400, "invalid per_page"},
		{"MarketsPerPage0", "/coins/markets?vs_currency=usd&per_page=0", 400, "invalid per_page"},
		{"MarketsPage0", "/coins/markets?vs_currency=usd&page=0", 400, "invalid page"},
		{"MarketsOrder", "/coins/markets?vs_currency=usd&order=gecko_desc", 400, "invalid order"},
		{"ChartNoCurrency", "/coins/bitcoin/market_chart/range?from=0&to=1", 400, "Missing parameter vs_currency"},
		{"ChartNoFrom", "/coins/bitcoin/market_chart/range?vs_currency=usd&to=1", 400, "invalid from or to"},
		{"ChartBadTo", "/coins/bitcoin/market_chart/range?vs_currency=usd&from=0&to=soon", 400, "invalid from or to"},
		{"ChartUnknownCoin", "/coins/nope/market_chart/range?vs_currency=usd&from=0&to=1", 404, "coin not found"},
		{"UnknownPath", "/coins/list", 404, "Not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := get(t, srv, tt.path)
			var body struct{ Error string }
			if err := json.Unmarshal(r.body, &body); err != nil || r.status != tt.status || !strings.HasPrefix(body.Error, tt.message) {
				t.Errorf("GET %s = %d %s, want %d {\"error\":%q...}", tt.path, r.status, r.body, tt.status, tt.message)
			}
		})
	}
	t.Run("Method", func(t *testing.T) {
		resp, err := srv.Client().Post(srv.URL+"/ping", "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST status %d, want 405", resp.StatusCode)
		}
	})
}

func TestFake_Calls(t *testing.T) {
	f, srv := newFake(t, nil)
	get(t, srv, priceQuery)
	get(t, srv, "/api/v3"+priceQuery)
	get(t, srv, "/simple/price") // a 400 is still a call
	get(t, srv, "/coins/markets?vs_currency=usd")
	get(t, srv, "/coins/bitcoin/market_chart/range?vs_currency=usd&from=0&to=1")
	get(t, srv, "/api/v3/coins/ethereum/market_chart/range?vs_currency=usd&from=0&to=1")
	get(t, srv, "/ping")
	get(t, srv, "/coins/list")
	want := map[string]int{
		cgfake.PathSimplePrice: 3, cgfake.PathMarkets: 1, cgfake.PathMarketChartRange: 2,
		cgfake.PathPing: 1, cgfake.PathOther: 1,
	}
	for path, n := range want {
		if got := f.Calls(path); got != n {
			t.Errorf("Calls(%s) = %d, want %d", path, got, n)
		}
	}
}

func TestFake_RequireKey(t *testing.T) {
	f, srv := newFake(t, nil)
	f.RequireKey("x-cg-pro-api-key", "right")
	for _, tt := range []struct {
		name, header, key string
		status            int
		message           string
	}{
		{"Missing", "", "", 401, "API Key Missing"},
		{"OtherHeader", "x-cg-demo-api-key", "right", 401, "API Key Missing"},
		{"Wrong", "x-cg-pro-api-key", "wrong", 401, "Incorrect API Key"},
		{"Right", "x-cg-pro-api-key", "right", 200, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := get(t, srv, "/ping", tt.header, tt.key)
			var body struct {
				Status struct {
					ErrorCode    int    `json:"error_code"`
					ErrorMessage string `json:"error_message"`
				}
			}
			_ = json.Unmarshal(r.body, &body)
			if r.status != tt.status || body.Status.ErrorMessage != tt.message || tt.status == 401 && body.Status.ErrorCode != 10002 {
				t.Errorf("status %d body %s, want %d %q", r.status, r.body, tt.status, tt.message)
			}
		})
	}
	f.RequireKey("", "")
	if r := get(t, srv, "/ping"); r.status != 200 {
		t.Errorf("status %d after lifting the requirement, want 200", r.status)
	}
}

func TestFake_Concurrent(t *testing.T) {
	f, srv := newFake(t, nil)
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			get(t, srv, priceQuery)
		}()
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				f.SetFault(cgfake.Fault{Status: 500, DropIDs: []string{"bitcoin"}})
			} else {
				f.SetFault(cgfake.Fault{})
			}
			_ = f.Calls(cgfake.PathSimplePrice)
		}()
	}
	wg.Wait()
	if got := f.Calls(cgfake.PathSimplePrice); got != n {
		t.Errorf("Calls = %d, want %d", got, n)
	}
}

func TestListenAndServe(t *testing.T) {
	f := cgfake.New(newSource(), catalog())
	f.SetFault(cgfake.Fault{Latency: time.Hour}) // shutdown must not wait for it
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- cgfake.ListenAndServe(ctx, "127.0.0.1:0", f, func(a string) { addrc <- a }) }()
	addr := <-addrc

	slow := make(chan error, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/ping")
		if err == nil {
			resp.Body.Close()
		}
		slow <- err
	}()
	for f.Calls(cgfake.PathPing) == 0 {
		time.Sleep(time.Millisecond) // until the slow call is in flight
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("ListenAndServe = %v, want nil after ctx is done", err)
	}
	<-slow
	if _, err := http.Get("http://" + addr + "/ping"); err == nil {
		t.Error("the fake still answers after shutdown")
	}
	if err := cgfake.ListenAndServe(context.Background(), "256.0.0.1:0", f, nil); err == nil {
		t.Error("ListenAndServe on a bad address succeeded")
	}
}
