package storetest

import (
	"context"
	"maps"
	"math"
	"slices"
	"testing"

	"github.com/marketgraph/marketgraph"
)

// assetModel is the reference catalog: the fixture's assets with every
// accepted write applied.
type assetModel map[string]*marketgraph.Asset

func newAssetModel() assetModel {
	m := assetModel{}
	for _, a := range Fixture().Assets {
		m[a.ID] = a
	}
	return m
}

func (m assetModel) apply(as ...*marketgraph.Asset) {
	for _, a := range as {
		c := *a
		m[a.ID] = &c
	}
}

// check compares every ordering of the whole catalog, the assets by id and
// a few symbol lookups with the model.
func (m assetModel) check(t *testing.T, s marketgraph.Store, what string) {
	t.Helper()
	ctx := context.Background()
	all := slices.Collect(maps.Values(m))
	for _, o := range allOrders() {
		want := slices.Clone(all)
		slices.SortFunc(want, func(a, b *marketgraph.Asset) int {
			return o.Compare(ptr(marketgraph.CursorFor(a, o.Field)), ptr(marketgraph.CursorFor(b, o.Field)))
		})
		page := list(t, s, marketgraph.AssetListParams{First: marketgraph.MaxAssetPageSize, Order: o})
		checkLines(t, what+": "+orderName(o), lines(page.Assets, formatAsset), lines(want, formatAsset))
	}
	got, err := s.FindAssetsByIDs(ctx, slices.Collect(maps.Keys(m)))
	if err != nil {
		t.Fatalf("FindAssetsByIDs: %v", err)
	}
	checkLines(t, what+": FindAssetsByIDs", sortedByID(got), sortedByID(all))
	for _, sym := range []string{"ETH", "KAS", "KASPA", "BTC", "NEW"} {
		var best *marketgraph.Asset
		for _, a := range all {
			if marketgraph.FoldCase(a.Symbol) == marketgraph.FoldCase(sym) && (best == nil ||
				marketgraph.DefaultAssetOrder.Compare(ptr(marketgraph.CursorFor(a, marketgraph.AssetOrderRank)), ptr(marketgraph.CursorFor(best, marketgraph.AssetOrderRank))) < 0) {
				best = a
			}
		}
		one, err := s.FindAssetBySymbol(ctx, sym)
		if best == nil {
			checkCode(t, what+": FindAssetBySymbol("+sym+")", err, marketgraph.ENOTFOUND)
		} else if err != nil || formatAsset(one) != formatAsset(best) {
			t.Errorf("%s: FindAssetBySymbol(%s) = %s, %v; want %s", what, sym, formatAsset(one), err, formatAsset(best))
		}
		many, err := s.FindAssetsBySymbols(ctx, []string{sym})
		if err != nil || formatAsset(many[sym]) != formatAsset(best) {
			t.Errorf("%s: FindAssetsBySymbols(%s) = %v, %v; want %s", what, sym, symbolLines(many), err, formatAsset(best))
		}
	}
}

func testUpsertAssets(t *testing.T, s marketgraph.Store) {
	ctx := context.Background()
	m := newAssetModel()
	upsert := func(t *testing.T, as ...*marketgraph.Asset) {
		t.Helper()
		if err := s.UpsertAssets(ctx, as); err != nil {
			t.Fatalf("UpsertAssets: %v", err)
		}
		m.apply(as...)
	}
	changed := func(id string, change func(a *marketgraph.Asset)) *marketgraph.Asset {
		a := *m[id]
		change(&a)
		return &a
	}

	t.Run("InsertAndUpdate", func(t *testing.T) {
		upsert(t,
			&marketgraph.Asset{ID: "newcoin", Symbol: "NEW", Name: "A New Coin", Rank: 0, Category: "Meme", MarketCap: 1.5, Volume24h: 0.25, Change24h: -99.5, Supply: 10.1},
			// Bigger than bitcoin, and under a new symbol.
			changed("kaspa", func(a *marketgraph.Asset) { a.Symbol, a.MarketCap = "KASPA", 2.6e12+0.5 }),
			// ETH now belongs to bridged-ether, whose rank is worse.
			changed("ethereum", func(a *marketgraph.Asset) { a.Symbol, a.Name = "ETH2", "zz Ethereum" }),
			changed("tether", func(a *marketgraph.Asset) {
				a.Rank, a.Category, a.Volume24h, a.Change24h, a.Supply = 99, "Pegged", 0.1, 33.3, 7.77
			}),
		)
		m.check(t, s, "after upserting")
	})
	t.Run("IdenticalRewrite", func(t *testing.T) {
		upsert(t, m["kaspa"], m["newcoin"])
		m.check(t, s, "after writing the same assets again")
	})
	t.Run("LastWinsInBatch", func(t *testing.T) {
		upsert(t,
			changed("dai", func(a *marketgraph.Asset) { a.MarketCap = 1 }),
			changed("dai", func(a *marketgraph.Asset) { a.MarketCap = 2e12 }),
		)
		m.check(t, s, "after a batch with one id twice")
	})
	t.Run("Empty", func(t *testing.T) {
		if err := s.UpsertAssets(ctx, nil); err != nil {
			t.Errorf("UpsertAssets(nil): %v", err)
		}
	})
	t.Run("Refused", func(t *testing.T) { testRefusedAssets(t, s, m) })
}

// testRefusedAssets writes batches of a new asset, a changed one and a bad
// one: each must be BAD_USER_INPUT and leave the catalog as it was.
func testRefusedAssets(t *testing.T, s marketgraph.Store, m assetModel) {
	ctx := context.Background()
	valid := func() []*marketgraph.Asset {
		btc := *m["bitcoin"]
		btc.Symbol, btc.MarketCap = "BTC2", 1
		return []*marketgraph.Asset{{ID: "other-coin", Symbol: "OTH", Name: "Other", Rank: 300}, &btc}
	}
	with := func(change func(a *marketgraph.Asset)) *marketgraph.Asset {
		a := &marketgraph.Asset{ID: "bad-coin", Symbol: "BAD", Name: "Bad", Rank: 301, Category: "Meme"}
		change(a)
		return a
	}
	type badAsset struct {
		name string
		bad  *marketgraph.Asset
	}
	cases := []badAsset{
		{"Nil", nil},
		{"NoID", with(func(a *marketgraph.Asset) { a.ID = "" })},
		{"NegativeRank", with(func(a *marketgraph.Asset) { a.Rank = -1 })},
		{"RankBeyondInt32", with(func(a *marketgraph.Asset) { a.Rank = math.MaxInt32 + 1 })},
		{"NaNMarketCap", with(func(a *marketgraph.Asset) { a.MarketCap = math.NaN() })},
		{"InfiniteChange", with(func(a *marketgraph.Asset) { a.Change24h = math.Inf(-1) })},
		{"InfiniteSupply", with(func(a *marketgraph.Asset) { a.Supply = math.Inf(1) })},
	}
	for name, text := range hostileTexts() {
		cases = append(cases,
			badAsset{"ID" + name, with(func(a *marketgraph.Asset) { a.ID = text })},
			badAsset{"Symbol" + name, with(func(a *marketgraph.Asset) { a.Symbol = text })},
			badAsset{"Name" + name, with(func(a *marketgraph.Asset) { a.Name = text })},
			badAsset{"Category" + name, with(func(a *marketgraph.Asset) { a.Category = text })},
		)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkCode(t, "UpsertAssets", s.UpsertAssets(ctx, append(valid(), tc.bad)), marketgraph.EBADINPUT)
			checkCode(t, "UpsertAssets", s.UpsertAssets(ctx, append([]*marketgraph.Asset{tc.bad}, valid()...)), marketgraph.EBADINPUT)
		})
	}
	m.check(t, s, "after refused batches")
	t.Run("ValidAlone", func(t *testing.T) {
		as := valid()
		if err := s.UpsertAssets(ctx, as); err != nil {
			t.Fatalf("UpsertAssets: %v", err)
		}
		m.apply(as...)
		m.check(t, s, "after the valid batch")
	})
}
