package memory

import (
	"context"
	"slices"

	"github.com/marketgraph/marketgraph"
)

// entry is one stored asset with what filtering and ordering need computed
// once at load time instead of on every request.
type entry struct {
	asset                        marketgraph.Asset
	symbol, name, category       string // marketgraph.FoldCase-d
	rank, sortName, mcap, change marketgraph.AssetCursor
}

// position returns the cursor of the entry in the ordering by field.
func (e *entry) position(f marketgraph.AssetOrderField) *marketgraph.AssetCursor {
	switch f {
	case marketgraph.AssetOrderName:
		return &e.sortName
	case marketgraph.AssetOrderMarketCap:
		return &e.mcap
	case marketgraph.AssetOrderChange24h:
		return &e.change
	}
	return &e.rank
}

// assets is the asset catalog and its indexes; Store embeds it.
type assets struct {
	byID map[string]*entry
	// bySymbol maps a FoldCase-d symbol to its best-ranked asset.
	bySymbol map[string]*entry
	// orders holds every asset in each of the eight orderings.
	orders map[marketgraph.AssetOrder][]*entry
}

func newAssets() assets {
	return assets{byID: map[string]*entry{}, bySymbol: map[string]*entry{}, orders: map[marketgraph.AssetOrder][]*entry{}}
}

// putAssets stores the assets, inserting new ids and, when replace is set,
// replacing existing ones (Load keeps them, UpsertAssets replaces them), and
// rebuilds the indexes if anything changed; s.mu must be held for writing.
// Entries are replaced, never changed in place. Within in, the last of
// several assets with one id wins when replace is set, the first otherwise.
func (s *assets) putAssets(in []*marketgraph.Asset, replace bool) {
	changed := false
	for _, a := range in {
		old, ok := s.byID[a.ID]
		if ok && (!replace || old.asset == *a) {
			continue
		}
		s.byID[a.ID] = newEntry(a)
		changed = true
	}
	if changed {
		s.reindex()
	}
}

// newEntry computes what filtering and ordering need of a.
func newEntry(a *marketgraph.Asset) *entry {
	e := &entry{asset: *a, symbol: marketgraph.FoldCase(a.Symbol), name: marketgraph.FoldCase(a.Name), category: marketgraph.FoldCase(a.Category)}
	e.rank = marketgraph.CursorFor(a, marketgraph.AssetOrderRank)
	e.sortName = marketgraph.CursorFor(a, marketgraph.AssetOrderName)
	e.mcap = marketgraph.CursorFor(a, marketgraph.AssetOrderMarketCap)
	e.change = marketgraph.CursorFor(a, marketgraph.AssetOrderChange24h)
	return e
}

// reindex rebuilds bySymbol and the eight orderings from byID. Rebuilding
// from scratch is what makes an update as simple as an insert: a changed
// symbol or rank can hand a symbol to another asset, and a changed key
// moves an asset in its ordering. The catalog is a few thousand assets and
// changes once per sync, so the cost does not matter.
func (s *assets) reindex() {
	all := make([]*entry, 0, len(s.byID))
	bySymbol := make(map[string]*entry, len(s.byID))
	for _, e := range s.byID {
		all = append(all, e)
		if best := bySymbol[e.symbol]; best == nil || marketgraph.DefaultAssetOrder.Compare(&e.rank, &best.rank) < 0 {
			bySymbol[e.symbol] = e
		}
	}
	s.bySymbol = bySymbol
	for _, f := range []marketgraph.AssetOrderField{marketgraph.AssetOrderRank, marketgraph.AssetOrderName, marketgraph.AssetOrderMarketCap, marketgraph.AssetOrderChange24h} {
		for _, d := range []marketgraph.OrderDirection{marketgraph.OrderAsc, marketgraph.OrderDesc} {
			o := marketgraph.AssetOrder{Field: f, Direction: d}
			sorted := slices.Clone(all)
			slices.SortFunc(sorted, func(a, b *entry) int { return o.Compare(a.position(f), b.position(f)) })
			s.orders[o] = sorted
		}
	}
}

// FindAssetsByIDs returns the assets with the given ids, each once, in no
// particular order; unknown ids are absent, which covers ids that fail
// CheckText since Load refuses them.
func (s *Store) FindAssetsByIDs(ctx context.Context, ids []string) ([]*marketgraph.Asset, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	found := make([]*entry, 0, len(ids))
	var seen map[*entry]bool // only for long lists; a scan is cheaper below
	if len(ids) > 32 {
		seen = make(map[*entry]bool, len(ids))
	}
	for _, id := range ids {
		e, ok := s.byID[id]
		if !ok || (seen != nil && seen[e]) || (seen == nil && slices.Contains(found, e)) {
			continue
		}
		if seen != nil {
			seen[e] = true
		}
		found = append(found, e)
	}
	return copyAssets(found), nil
}

// FindAssetBySymbol returns the best-ranked asset with this symbol, compared
// after marketgraph.FoldCase, or NOT_FOUND; BAD_USER_INPUT when symbol fails
// CheckText, as every store answers.
func (s *Store) FindAssetBySymbol(ctx context.Context, symbol string) (*marketgraph.Asset, error) {
	if err := marketgraph.CheckText("symbol", symbol); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.bySymbol[marketgraph.FoldCase(symbol)]
	if !ok {
		return nil, marketgraph.Errorf(marketgraph.ENOTFOUND, "no asset with symbol %q", symbol)
	}
	a := e.asset
	return &a, nil
}

// FindAssetsBySymbols returns, keyed by each symbol's marketgraph.FoldUpper,
// the asset FindAssetBySymbol would return for that key; symbols that match
// nothing or fail CheckText are absent.
func (s *Store) FindAssetsBySymbols(ctx context.Context, symbols []string) (map[string]*marketgraph.Asset, error) {
	out := make(map[string]*marketgraph.Asset, len(symbols))
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, sym := range symbols {
		if marketgraph.CheckText("symbol", sym) != nil {
			continue
		}
		key := marketgraph.FoldUpper(sym)
		if _, done := out[key]; done {
			continue
		}
		// FoldCase(key) == FoldCase(sym), so this is the answer of
		// FindAssetBySymbol for sym and for key alike.
		if e, ok := s.bySymbol[marketgraph.FoldCase(key)]; ok {
			a := e.asset
			out[key] = &a
		}
	}
	return out, nil
}

// copyAssets copies the entries' assets into one block, so a page costs two
// allocations rather than one per asset.
func copyAssets(es []*entry) []*marketgraph.Asset {
	block := make([]marketgraph.Asset, len(es))
	out := make([]*marketgraph.Asset, len(es))
	for i, e := range es {
		block[i] = e.asset
		out[i] = &block[i]
	}
	return out
}
