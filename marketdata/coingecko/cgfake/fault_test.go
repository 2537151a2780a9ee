package cgfake_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph/marketdata/coingecko/cgfake"
)

func TestFake_Faults(t *testing.T) {
	t.Run("Latency", func(t *testing.T) {
		f, srv := newFake(t, nil)
		f.SetFault(cgfake.Fault{Latency: time.Hour})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/ping", nil)
		resp, err := srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("request under an hour of latency = %v, want the deadline to pass first", err)
		}
	})
	t.Run("Status", func(t *testing.T) {
		for _, status := range []int{500, 502, 503, 429, 401, 400, 404} {
			f, srv := newFake(t, nil)
			f.SetFault(cgfake.Fault{Status: status})
			r := get(t, srv, priceQuery)
			if r.status != status || strings.Contains(string(r.body), "bitcoin") {
				t.Errorf("status %d body %s, want %d and an error body", r.status, r.body, status)
			}
			r.json(t)
		}
	})
	t.Run("RetryAfter", func(t *testing.T) {
		f, srv := newFake(t, nil)
		date := time.Now().Add(time.Minute).UTC().Format(http.TimeFormat)
		for _, v := range []string{"30", date} {
			f.SetFault(cgfake.Fault{Status: 429, RetryAfter: v})
			if r := get(t, srv, priceQuery); r.status != 429 || r.header.Get("Retry-After") != v {
				t.Errorf("status %d Retry-After %q, want 429 and %q", r.status, r.header.Get("Retry-After"), v)
			}
		}
	})
	t.Run("Malformed", func(t *testing.T) {
		f, srv := newFake(t, nil)
		f.SetFault(cgfake.Fault{Malformed: true})
		r := get(t, srv, priceQuery)
		if r.status != 200 || json.Valid(r.body) {
			t.Errorf("status %d body %s, want 200 and a body that is not JSON", r.status, r.body)
		}
	})
	t.Run("Truncated", func(t *testing.T) {
		f, srv := newFake(t, nil)
		healthy := get(t, srv, priceQuery)
		f.SetFault(cgfake.Fault{Truncated: true})
		r := get(t, srv, priceQuery)
		if r.status != 200 || json.Valid(r.body) || len(r.body) == 0 || !strings.HasPrefix(string(healthy.body), string(r.body)) {
			t.Errorf("body %q, want a strict prefix of %q", r.body, healthy.body)
		}
	})
	t.Run("DropIDs", func(t *testing.T) {
		f, srv := newFake(t, nil)
		f.SetFault(cgfake.Fault{DropIDs: []string{"bitcoin", "tether"}})
		price := get(t, srv, priceQuery).json(t).(map[string]any)
		if _, ok := price["bitcoin"]; ok || price["ethereum"] == nil || len(price) != 1 {
			t.Errorf("/simple/price = %v, want ethereum only", price)
		}
		var ids []string
		for _, row := range get(t, srv, "/coins/markets?vs_currency=usd").json(t).([]any) {
			ids = append(ids, row.(map[string]any)["id"].(string))
		}
		if strings.Join(ids, ",") != "ethereum,dogecoin,unquoted-coin" {
			t.Errorf("/coins/markets ids %v, want bitcoin and tether dropped", ids)
		}
		if r := get(t, srv, "/coins/bitcoin/market_chart/range?vs_currency=usd&from=0&to=1"); r.status != 404 {
			t.Errorf("chart of a dropped coin: status %d, want 404", r.status)
		}
	})
	t.Run("NullFields", func(t *testing.T) {
		f, srv := newFake(t, nil)
		f.SetFault(cgfake.Fault{NullFields: true})
		btc := get(t, srv, priceQuery).json(t).(map[string]any)["bitcoin"].(map[string]any)
		for k, v := range btc {
			if (k == "usd") != (v != nil) {
				t.Errorf("/simple/price bitcoin.%s = %v, want only the price set", k, v)
			}
		}
		row := get(t, srv, "/coins/markets?vs_currency=usd&per_page=1").json(t).([]any)[0].(map[string]any)
		for k, v := range row {
			set := k == "id" || k == "symbol" || k == "name" || k == "image" || k == "current_price"
			if set != (v != nil) {
				t.Errorf("/coins/markets %s = %v, want null unless id, symbol, name, image or price", k, v)
			}
		}
		to := time.Now().Unix()
		ch := get(t, srv, fmt.Sprintf("/coins/bitcoin/market_chart/range?vs_currency=usd&from=%d&to=%d", to-3600, to)).json(t).(map[string]any)
		for _, series := range []string{"market_caps", "total_volumes"} {
			pairs := ch[series].([]any)
			if len(pairs) == 0 || pairs[0].([]any)[1] != nil {
				t.Errorf("chart %s = %v, want null values", series, pairs)
			}
		}
		if ch["prices"].([]any)[0].([]any)[1] == nil {
			t.Error("chart prices are null, want numbers")
		}
	})
	t.Run("FailNext", func(t *testing.T) {
		f, srv := newFake(t, nil)
		f.SetFault(cgfake.Fault{FailNext: 2, Status: 503, RetryAfter: "1"})
		var got []int
		for range 4 {
			got = append(got, get(t, srv, "/ping").status)
		}
		if fmt.Sprint(got) != "[503 503 200 200]" {
			t.Errorf("statuses %v, want two failures then healthy", got)
		}
		f.SetFault(cgfake.Fault{FailNext: 1}) // nothing said: a 500
		if a, b := get(t, srv, "/ping").status, get(t, srv, "/ping").status; a != 500 || b != 200 {
			t.Errorf("statuses %d, %d; want 500 then 200", a, b)
		}
		f.SetFault(cgfake.Fault{FailNext: 1, DropIDs: []string{"bitcoin"}})
		first := get(t, srv, priceQuery).json(t).(map[string]any)
		second := get(t, srv, priceQuery).json(t).(map[string]any)
		if first["bitcoin"] != nil || second["bitcoin"] == nil {
			t.Errorf("bitcoin in %v then %v, want dropped once", first, second)
		}
	})
	t.Run("Clear", func(t *testing.T) {
		f, srv := newFake(t, nil)
		f.SetFault(cgfake.Fault{Status: 500})
		f.SetFault(cgfake.Fault{})
		if r := get(t, srv, priceQuery); r.status != 200 {
			t.Errorf("status %d after clearing the fault, want 200", r.status)
		}
	})
	t.Run("DropIDsCopied", func(t *testing.T) {
		f, srv := newFake(t, nil)
		drop := []string{"bitcoin"}
		f.SetFault(cgfake.Fault{DropIDs: drop})
		drop[0] = "ethereum"
		if p := get(t, srv, priceQuery).json(t).(map[string]any); p["bitcoin"] != nil || p["ethereum"] == nil {
			t.Errorf("/simple/price = %v, want the fault as set, whatever the caller does to its slice", p)
		}
	})
}
