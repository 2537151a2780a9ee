package loaders_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/marketgraph/marketgraph"
)

func TestAssetBySymbol(t *testing.T) {
	t.Run("KeyOrderOneCall", func(t *testing.T) {
		l, s, _ := setup(false)
		assets, errs := loadAll(l.AssetBySymbol, "SOL", "BTC", "ETH")
		noErrors(t, errs)
		for i, want := range []string{"solana", "bitcoin", "ethereum"} {
			if assets[i] == nil || assets[i].ID != want {
				t.Errorf("result %d = %+v, want %s", i, assets[i], want)
			}
		}
		if calls := s.Calls("FindAssetsBySymbols"); len(calls) != 1 || len(calls[0].IDs) != 3 {
			t.Errorf("store calls = %+v, want one with three symbols", calls)
		}
	})
	t.Run("Missing", func(t *testing.T) {
		l, _, _ := setup(false)
		assets, errs := loadAll(l.AssetBySymbol, "BTC", "NOPE", "ETH")
		if marketgraph.ErrorCode(errs[1]) != marketgraph.ENOTFOUND || marketgraph.ErrorMessage(errs[1]) != `no asset with symbol "NOPE"` {
			t.Errorf("missing key: error %v, want NOT_FOUND naming it", errs[1])
		}
		if assets[1] != nil {
			t.Errorf("missing key: asset %+v, want nil", assets[1])
		}
		if errs[0] != nil || errs[2] != nil || assets[0].ID != "bitcoin" || assets[2].ID != "ethereum" {
			t.Errorf("neighbours of a missing key: %v %v, %v %v", assets[0], errs[0], assets[2], errs[2])
		}
	})
	t.Run("KeyNotUpperCased", func(t *testing.T) {
		// The store answers by the upper-cased symbol; a lower-case key
		// must still find it rather than miss it.
		l, _, _ := setup(false)
		assets, errs := loadAll(l.AssetBySymbol, "btc")
		if errs[0] != nil || assets[0] == nil || assets[0].ID != "bitcoin" {
			t.Errorf("btc = %+v, %v; want bitcoin", assets[0], errs[0])
		}
	})
	t.Run("RepeatedKeyAskedOnce", func(t *testing.T) {
		l, s, _ := setup(true)
		assets, errs := loadAll(l.AssetBySymbol, "BTC", "BTC")
		noErrors(t, errs)
		if assets[0] == nil || assets[1] == nil {
			t.Errorf("assets = %v", assets)
		}
		if calls := s.Calls("FindAssetsBySymbols"); len(calls) != 1 || !reflect.DeepEqual(calls[0].IDs, []string{"BTC"}) {
			t.Errorf("store calls = %+v, want one for [BTC]", calls)
		}
	})
	t.Run("StoreError", func(t *testing.T) {
		l, s, _ := setup(false)
		down := errors.New("connection refused")
		s.fail["FindAssetsBySymbols"] = down
		_, errs := loadAll(l.AssetBySymbol, "BTC", "ETH")
		for i, err := range errs {
			if !errors.Is(err, down) || marketgraph.ErrorCode(err) != marketgraph.EINTERNAL {
				t.Errorf("key %d: error %v, want the store's error (INTERNAL)", i, err)
			}
		}
	})
}
