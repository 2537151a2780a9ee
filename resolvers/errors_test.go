package resolvers_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

// TestErrors checks that every argument error is BAD_USER_INPUT naming the
// argument, that an unknown asset is null with NOT_FOUND on its path, and
// that one bad field does not fail its neighbours. candles and signals are
// non-null lists, so their errors null the enclosing asset, as the GraphQL
// spec requires.
func TestErrors(t *testing.T) {
	store, _, quotes := memoryFixture(t)
	h := newHandler(store, quotes, slog.New(slog.DiscardHandler))

	tests := []struct {
		name     string
		query    string
		code     string
		mention  string // the message names this argument
		path     string // the error's path, dot-joined
		wantData string // a fragment the data must contain
	}{
		{"UnknownAssetID", `{ asset(id: "no-such-coin") { id } }`, "NOT_FOUND", "no-such-coin", "asset", `"asset":null`},
		{"UnknownSymbol", `{ asset(symbol: "NOPE") { id } }`, "NOT_FOUND", "NOPE", "asset", `"asset":null`},
		{"IDWithNUL", "{ asset(id: \"bit\\u0000coin\") { id } }", "BAD_USER_INPUT", "NUL", "asset", `"asset":null`},
		{"SymbolWithNUL", "{ asset(symbol: \"BT\\u0000C\") { id } }", "BAD_USER_INPUT", "NUL", "asset", `"asset":null`},
		{"SearchWithNUL", "{ assets(filter: {search: \"bit\\u0000\"}) { totalCount } }", "BAD_USER_INPUT", "NUL", "assets", `"data":null`},
		{"IDAndSymbol", `{ asset(id: "bitcoin", symbol: "BTC") { id } }`, "BAD_USER_INPUT", "symbol", "asset", `"asset":null`},
		{"NeitherIDNorSymbol", `{ asset { id } }`, "BAD_USER_INPUT", "id", "asset", `"asset":null`},
		{"FirstTooLarge", `{ assets(first: 251) { totalCount } }`, "BAD_USER_INPUT", "first", "assets", `"data":null`},
		{"FirstNegative", `{ assets(first: -1) { totalCount } }`, "BAD_USER_INPUT", "first", "assets", `"data":null`},
		{"MalformedCursor", `{ assets(after: "!!not-a-cursor") { totalCount } }`, "BAD_USER_INPUT", "after", "assets", `"data":null`},
		{"NegativeLast", `{ asset(id: "bitcoin") { id candles(interval: DAY, last: -1) { close } } }`, "BAD_USER_INPUT", "last", "asset.candles", `"asset":null`},
		{"LastTooLarge", `{ asset(id: "bitcoin") { id candles(interval: DAY, last: 1001) { close } } }`, "BAD_USER_INPUT", "last", "asset.candles", `"asset":null`},
		{"FromAfterTo", `{ asset(id: "bitcoin") { id candles(interval: HOUR, from: "2026-11-02T00:00:00Z", to: "2026-11-01T00:00:00Z") { close } } }`, "BAD_USER_INPUT", "from", "asset.candles", `"asset":null`},
		{"RangeTooLong", `{ asset(id: "bitcoin") { id candles(interval: MINUTE, from: "2026-10-01T00:00:00Z", to: "2026-11-01T00:00:00Z") { close } } }`, "BAD_USER_INPUT", "from", "asset.candles", `"asset":null`},
		{"SignalsFirstTooLarge", `{ asset(id: "bitcoin") { id signals(first: 101) { id } } }`, "BAD_USER_INPUT", "first", "asset.signals", `"asset":null`},
		{"OverviewTopTooLarge", `{ marketOverview(top: 51) { totalMarketCap } }`, "BAD_USER_INPUT", "top", "marketOverview", `"data":null`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := post(t, h, tt.query, nil)
			r := decode(t, body)
			if len(r.Errors) != 1 {
				t.Fatalf("want one error, got %s", body)
			}
			e := r.Errors[0]
			if got := e.Extensions["code"]; got != tt.code {
				t.Errorf("code = %v, want %s (%s)", got, tt.code, body)
			}
			if !strings.Contains(e.Message, tt.mention) {
				t.Errorf("message %q does not mention %q", e.Message, tt.mention)
			}
			var parts []string
			for _, p := range e.Path {
				if s, ok := p.(string); ok {
					parts = append(parts, s)
				}
			}
			if got := strings.Join(parts, "."); got != tt.path {
				t.Errorf("path = %q, want %q", got, tt.path)
			}
			if !bytes.Contains(compact(t, body), []byte(tt.wantData)) {
				t.Errorf("body lacks %s: %s", tt.wantData, body)
			}
		})
	}

	t.Run("MissingAssetDoesNotFailNeighbours", func(t *testing.T) {
		body := post(t, h, `{ a: asset(id: "bitcoin") { id quote { price } } b: asset(id: "nope") { id } c: asset(id: "ethereum") { id } }`, nil)
		r := decode(t, body)
		if len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "NOT_FOUND" {
			t.Fatalf("want one NOT_FOUND, got %s", body)
		}
		var data struct {
			A *struct {
				ID    string
				Quote *struct{ Price float64 }
			}
			B *struct{ ID string }
			C *struct{ ID string }
		}
		if err := json.Unmarshal(r.Data, &data); err != nil {
			t.Fatal(err)
		}
		if data.A == nil || data.A.ID != "bitcoin" || data.A.Quote == nil || data.A.Quote.Price <= 0 || data.B != nil || data.C == nil {
			t.Errorf("neighbours affected: %s", body)
		}
	})
}

func compact(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
