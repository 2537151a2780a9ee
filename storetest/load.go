package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
)

// snapshot renders everything a store holds for the fixture's asset ids:
// the full list of assets, every candle of every interval and every signal.
func snapshot(t *testing.T, s marketgraph.Store) []string {
	t.Helper()
	ctx := context.Background()
	page, err := s.ListAssets(ctx, marketgraph.AssetListParams{First: marketgraph.MaxAssetPageSize})
	if err != nil {
		t.Fatalf("ListAssets: %v", err)
	}
	out := lines(page.Assets, formatAsset)
	all := ids(Fixture().Assets)
	for _, iv := range []marketgraph.CandleInterval{marketgraph.IntervalMinute, marketgraph.IntervalHour, marketgraph.IntervalDay} {
		out = append(out, candleLines(candles(t, s, all, marketgraph.CandleRange{Interval: iv}))...)
	}
	sigs, err := s.SignalsByAssets(ctx, all, marketgraph.MaxSignalFirst)
	if err != nil {
		t.Fatalf("SignalsByAssets: %v", err)
	}
	return append(out, signalLines(sigs)...)
}

// wantSnapshot is snapshot of a store holding exactly the fixture.
func wantSnapshot() []string {
	out := lines(expectedAssets(marketgraph.AssetFilter{}, marketgraph.DefaultAssetOrder, nil), formatAsset)
	all := ids(Fixture().Assets)
	for _, iv := range []marketgraph.CandleInterval{marketgraph.IntervalMinute, marketgraph.IntervalHour, marketgraph.IntervalDay} {
		out = append(out, candleLines(expectedCandles(all, marketgraph.CandleRange{Interval: iv}))...)
	}
	return append(out, signalLines(expectedSignals(all, marketgraph.MaxSignalFirst))...)
}

func testLoad(t *testing.T, newStore func(t *testing.T) marketgraph.Store) {
	ctx := context.Background()
	s := newStore(t)
	t.Run("EmptyStore", func(t *testing.T) {
		if err := s.Ping(ctx); err != nil {
			t.Fatalf("Ping: %v", err)
		}
		page := list(t, s, marketgraph.AssetListParams{First: 10})
		if len(page.Assets) != 0 || page.TotalCount != 0 || page.HasNextPage {
			t.Errorf("ListAssets on an empty store: %d assets, TotalCount %d, HasNextPage %v", len(page.Assets), page.TotalCount, page.HasNextPage)
		}
		_, err := s.FindAssetBySymbol(ctx, "BTC")
		checkCode(t, "FindAssetBySymbol on an empty store", err, marketgraph.ENOTFOUND)
		if m, err := s.FindAssetsBySymbols(ctx, []string{"BTC"}); err != nil || len(m) != 0 {
			t.Errorf("FindAssetsBySymbols on an empty store = %v, %v; want nothing, no error", m, err)
		}
		if m := candles(t, s, []string{"bitcoin"}, marketgraph.CandleRange{Interval: marketgraph.IntervalDay}); len(m) != 0 {
			t.Errorf("CandlesByAssets on an empty store: %v", candleLines(m))
		}
	})
	t.Run("EmptyDataset", func(t *testing.T) {
		if err := s.Load(ctx, &marketgraph.Dataset{}); err != nil {
			t.Fatalf("Load(empty dataset): %v", err)
		}
	})
	t.Run("UnstorableAssetID", func(t *testing.T) {
		// Lookups treat such ids as unknown, so no store may hold one.
		for name, id := range hostileTexts() {
			ds := &marketgraph.Dataset{Assets: []*marketgraph.Asset{
				{ID: "fine", Symbol: "FINE", Name: "Fine", Rank: 1},
				{ID: id, Symbol: "BAD", Name: "Bad", Rank: 2},
			}}
			if err := s.Load(ctx, ds); err == nil {
				t.Errorf("%s: Load succeeded, want an error", name)
			}
		}
		if page := list(t, s, marketgraph.AssetListParams{First: 10}); page.TotalCount != 0 {
			t.Errorf("after refused Loads: %v, want an empty store", ids(page.Assets))
		}
	})
	ds := Fixture()
	if err := s.Load(ctx, ds); err != nil {
		t.Fatalf("Load(Fixture()): %v", err)
	}
	want := wantSnapshot()
	t.Run("Everything", func(t *testing.T) { checkLines(t, "after one Load", snapshot(t, s), want) })
	t.Run("Twice", func(t *testing.T) {
		if err := s.Load(ctx, Fixture()); err != nil {
			t.Fatalf("second Load(Fixture()): %v", err)
		}
		checkLines(t, "after a second Load", snapshot(t, s), want)
	})
	t.Run("DatasetMutatedAfterLoad", func(t *testing.T) {
		ds.Assets[0].Name = "Mutated"
		ds.Candles[0].Close = -1
		ds.Signals[0].Kind = "MUTATED"
		checkLines(t, "after mutating the loaded dataset", snapshot(t, s), want)
	})
	t.Run("ExistingRowsUnchanged", func(t *testing.T) { testLoadExisting(t, s) })
	t.Run("SymbolTieBrokenByID", func(t *testing.T) { testSymbolTie(t, s) })
}

// testSymbolTie loads namesakes of equal rank, the better id last and in
// another case, which the fixture cannot hold without upsetting the other
// tests: both symbol lookups must pick the lowest id.
func testSymbolTie(t *testing.T, s marketgraph.Store) {
	ctx := context.Background()
	ds := &marketgraph.Dataset{Assets: []*marketgraph.Asset{
		{ID: "tie-c", Symbol: "TIE", Name: "Tie C", Rank: 500},
		{ID: "tie-b", Symbol: "Tie", Name: "Tie B", Rank: 500},
		{ID: "tie-a", Symbol: "tie", Name: "Tie A", Rank: 500},
		{ID: "tie-0", Symbol: "TIE", Name: "Tie 0", Rank: 501},
	}}
	if err := s.Load(ctx, ds); err != nil {
		t.Fatalf("Load(namesakes): %v", err)
	}
	one, err := s.FindAssetBySymbol(ctx, "TIE")
	if err != nil || one.ID != "tie-a" {
		t.Errorf("FindAssetBySymbol(TIE) = %s, %v; want tie-a", formatAsset(one), err)
	}
	many, err := s.FindAssetsBySymbols(ctx, []string{"tIe", "TIE"})
	if err != nil || len(many) != 1 || many["TIE"] == nil || many["TIE"].ID != "tie-a" {
		t.Errorf("FindAssetsBySymbols(tIe, TIE) = %v, %v; want TIE => tie-a only", symbolLines(many), err)
	}
}

// testLoadExisting loads a dataset that changes existing rows (which must be
// left alone) and adds new ones (which must appear).
func testLoadExisting(t *testing.T, s marketgraph.Store) {
	ctx := context.Background()
	orig := Fixture()
	end := orig.End
	day := 24 * time.Hour
	ds := Fixture()
	newCoin := &marketgraph.Asset{ID: "newcoin", Symbol: "NEW", Name: "New Coin", Rank: 101, Category: "Meme", MarketCap: 1.5, Volume24h: 0.25, Change24h: -0.5, Supply: 10}
	ds.Assets = append(ds.Assets, newCoin)
	for _, a := range ds.Assets {
		if a.ID == "bitcoin" {
			a.Name, a.MarketCap, a.Rank = "Changed", 1, 77
		}
	}
	for _, c := range ds.Candles {
		if c.AssetID == "bitcoin" && c.Interval == marketgraph.IntervalDay && c.Start.Equal(end.Add(-day)) {
			c.Close, c.Volume = -1, -1
		}
	}
	for _, sg := range ds.Signals {
		if sg.ID == "sig-btc-1" {
			sg.Kind, sg.AssetID, sg.EmittedAt = marketgraph.SignalSell, "ethereum", end
		}
	}
	newCandle := fixtureCandle("bitcoin", marketgraph.IntervalDay, end, 1.25, 3)
	newCoinCandle := fixtureCandle("newcoin", marketgraph.IntervalDay, end.Add(-day), 2.5, 4)
	newSignal := &marketgraph.Signal{ID: "sig-usdt-1", AssetID: "tether", Kind: marketgraph.SignalHold, Strength: 0.5, Indicator: "rsi_14", Reason: "new", EmittedAt: end.Add(-day)}
	ds.Candles = append(ds.Candles, newCandle, newCoinCandle)
	ds.Signals = append(ds.Signals, newSignal)
	if err := s.Load(ctx, ds); err != nil {
		t.Fatalf("Load(changed fixture): %v", err)
	}

	got, err := s.FindAssetsByIDs(ctx, []string{"bitcoin", "newcoin"})
	if err != nil {
		t.Fatalf("FindAssetsByIDs: %v", err)
	}
	checkLines(t, "assets", sortedByID(got), sortedByID([]*marketgraph.Asset{fixtureAsset("bitcoin"), newCoin}))
	if page := list(t, s, marketgraph.AssetListParams{}); page.TotalCount != 101 {
		t.Errorf("TotalCount %d after adding one asset, want 101", page.TotalCount)
	}

	m := candles(t, s, []string{"bitcoin", "newcoin"}, marketgraph.CandleRange{Interval: marketgraph.IntervalDay, Last: 2})
	wantBTC := expectedCandles([]string{"bitcoin"}, marketgraph.CandleRange{Interval: marketgraph.IntervalDay, Last: 1})["bitcoin"]
	checkLines(t, "candles", candleLines(m), candleLines(map[string][]*marketgraph.Candle{
		"bitcoin": append(wantBTC, newCandle),
		"newcoin": {newCoinCandle},
	}))

	sigs, err := s.SignalsByAssets(ctx, []string{"bitcoin", "ethereum", "tether"}, marketgraph.MaxSignalFirst)
	if err != nil {
		t.Fatalf("SignalsByAssets: %v", err)
	}
	want := expectedSignals([]string{"bitcoin", "ethereum"}, marketgraph.MaxSignalFirst)
	want["tether"] = []*marketgraph.Signal{newSignal}
	checkLines(t, "signals", signalLines(sigs), signalLines(want))
}
