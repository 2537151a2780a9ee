package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
)

func TestLoad_BadData(t *testing.T) {
	ctx := context.Background()
	db := newDB(t, nil)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	btc := &marketgraph.Asset{ID: "bitcoin", Symbol: "BTC", Name: "Bitcoin", Rank: 1}
	candle := func(asset string, iv marketgraph.CandleInterval) *marketgraph.Candle {
		return &marketgraph.Candle{AssetID: asset, Interval: iv, Start: at, Open: 1, High: 1, Low: 1, Close: 1, Volume: 1}
	}
	signal := func(id, asset string, kind marketgraph.SignalKind, strength float64) *marketgraph.Signal {
		return &marketgraph.Signal{ID: id, AssetID: asset, Kind: kind, Strength: strength, Indicator: "rsi_14", EmittedAt: at}
	}
	for _, tc := range []struct {
		name string
		ds   *marketgraph.Dataset
		want string // in the message
	}{
		{"NilDataset", nil, "no dataset"},
		{"AssetWithoutID", &marketgraph.Dataset{Assets: []*marketgraph.Asset{{Symbol: "X"}}}, "asset 0 has no id"},
		{"AssetIDWithNUL", &marketgraph.Dataset{Assets: []*marketgraph.Asset{btc, {ID: "x\x00", Symbol: "X"}}}, "asset 1: id: must not contain NUL bytes"},
		// Only ids are checked before the database sees them; other text
		// PostgreSQL cannot store is still BAD_USER_INPUT, not INTERNAL.
		{"NameWithNUL", &marketgraph.Dataset{Assets: []*marketgraph.Asset{{ID: "x", Symbol: "X", Name: "X\x00"}}}, "load dataset: text with a character the database cannot store"},
		{"UnknownInterval", &marketgraph.Dataset{Assets: []*marketgraph.Asset{btc}, Candles: []*marketgraph.Candle{candle("bitcoin", "WEEK")}}, `unknown interval "WEEK"`},
		{"CandleOfUnknownAsset", &marketgraph.Dataset{Assets: []*marketgraph.Asset{btc}, Candles: []*marketgraph.Candle{candle("nope", marketgraph.IntervalDay)}}, "nope"},
		{"SignalOfUnknownAsset", &marketgraph.Dataset{Signals: []*marketgraph.Signal{signal("s1", "nope", marketgraph.SignalBuy, 0.5)}}, "nope"},
		{"UnknownKind", &marketgraph.Dataset{Signals: []*marketgraph.Signal{signal("s1", "bitcoin", "SHORT", 0.5)}}, `unknown kind "SHORT"`},
		{"StrengthAboveOne", &marketgraph.Dataset{Signals: []*marketgraph.Signal{signal("s1", "bitcoin", marketgraph.SignalBuy, 1.5)}}, "strength 1.5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := db.Load(ctx, tc.ds)
			if code := marketgraph.ErrorCode(err); code != marketgraph.EBADINPUT {
				t.Fatalf("Load: code %q (err %v), want %s", code, err, marketgraph.EBADINPUT)
			}
			if msg := marketgraph.ErrorMessage(err); !strings.Contains(msg, tc.want) {
				t.Errorf("Load: message %q does not mention %q", msg, tc.want)
			}
		})
	}
	t.Run("NothingWrittenOnError", func(t *testing.T) {
		// The asset is valid but its candle is not: the transaction keeps
		// the asset out too.
		ds := &marketgraph.Dataset{Assets: []*marketgraph.Asset{btc}, Candles: []*marketgraph.Candle{candle("nope", marketgraph.IntervalDay)}}
		if err := db.Load(ctx, ds); err == nil {
			t.Fatal("Load succeeded, want an error")
		}
		page, err := db.ListAssets(ctx, marketgraph.AssetListParams{First: 10})
		if err != nil {
			t.Fatalf("ListAssets: %v", err)
		}
		if page.TotalCount != 0 {
			t.Errorf("%d assets after a failed Load, want 0", page.TotalCount)
		}
	})
}
