package marketgraph_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
)

// The events cross process boundaries as JSON, so their field names are a
// wire format: renaming a Go field must not change them.
func TestEvents_WireFormat(t *testing.T) {
	at := time.Date(2025, 6, 1, 12, 0, 1, 0, time.UTC)
	t.Run("PriceTick", func(t *testing.T) {
		tick := marketgraph.PriceTick{
			AssetID:  "bitcoin",
			Quote:    &marketgraph.Quote{AssetID: "bitcoin", Price: 1.5, Currency: marketgraph.CurrencyUSD, AsOf: at},
			Sequence: 7,
			At:       at,
		}
		got, err := json.Marshal(tick)
		if err != nil {
			t.Fatal(err)
		}
		want := `{"assetId":"bitcoin","quote":{"assetId":"bitcoin","price":1.5,"marketCap":null,"volume24h":null,"change24h":null,"currency":"USD","asOf":"2025-06-01T12:00:01Z","stale":false},"sequence":7,"at":"2025-06-01T12:00:01Z"}`
		if string(got) != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	})
	t.Run("SignalEvent", func(t *testing.T) {
		ev := marketgraph.SignalEvent{Signal: &marketgraph.Signal{ID: "s", AssetID: "bitcoin", Kind: marketgraph.SignalBuy, Strength: 0.5, Indicator: "rsi_14", Reason: "r", EmittedAt: at}}
		got, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		want := `{"signal":{"id":"s","assetId":"bitcoin","kind":"BUY","strength":0.5,"indicator":"rsi_14","reason":"r","emittedAt":"2025-06-01T12:00:01Z"}}`
		if string(got) != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	})
	t.Run("Topics", func(t *testing.T) {
		if got := marketgraph.TickTopic("bitcoin"); got != "ticks.bitcoin" {
			t.Errorf("TickTopic = %q", got)
		}
		if got := marketgraph.SignalTopic("bitcoin"); got != "signals.bitcoin" {
			t.Errorf("SignalTopic = %q", got)
		}
	})
}
