package memory

import (
	"context"
	"sort"
	"strings"

	"github.com/marketgraph/marketgraph"
)

// filter is an AssetFilter prepared for matching many entries.
type filter struct {
	ids              map[string]bool // nil: no id filter
	category, search *string         // marketgraph.FoldCase-d
	none             bool            // true when nothing filters
}

func newFilter(f marketgraph.AssetFilter) filter {
	var out filter
	if f.IDs != nil {
		out.ids = make(map[string]bool, len(f.IDs))
		for _, id := range f.IDs {
			out.ids[id] = true
		}
	}
	if f.Category != nil {
		c := marketgraph.FoldCase(*f.Category)
		out.category = &c
	}
	if f.Search != nil {
		q := marketgraph.FoldCase(*f.Search)
		out.search = &q
	}
	out.none = out.ids == nil && out.category == nil && out.search == nil
	return out
}

// match reports whether e passes every part of the filter. Search is a plain
// substring test, so %, _ and \ are literal.
func (f *filter) match(e *entry) bool {
	if f.ids != nil && !f.ids[e.asset.ID] {
		return false
	}
	if f.category != nil && e.category != *f.category {
		return false
	}
	if f.search != nil && !strings.Contains(e.symbol, *f.search) && !strings.Contains(e.name, *f.search) {
		return false
	}
	return true
}

// ListAssets returns one page of assets: those matching the filter, in the
// requested order, strictly after the After position (compared by value, so
// the cursor's asset need not exist or match). TotalCount ignores After.
// Returns BAD_USER_INPUT for parameters NormalizeListParams rejects.
func (s *Store) ListAssets(ctx context.Context, p marketgraph.AssetListParams) (*marketgraph.AssetPage, error) {
	p, err := marketgraph.NormalizeListParams(p)
	if err != nil {
		return nil, err
	}
	f := newFilter(p.Filter)
	s.mu.RLock()
	defer s.mu.RUnlock()
	all := s.orders[p.Order]
	start := 0
	if p.After != nil {
		start = sort.Search(len(all), func(i int) bool {
			return p.Order.Compare(all[i].position(p.Order.Field), p.After) > 0
		})
	}
	page := &marketgraph.AssetPage{}
	picked := make([]*entry, 0, min(p.First, len(all)-start))
	if f.none {
		// Without a filter the count is known and the page is a slice.
		page.TotalCount = len(all)
		end := min(start+p.First, len(all))
		picked = append(picked, all[start:end]...)
		page.HasNextPage = end < len(all)
	} else {
		for i, e := range all {
			if !f.match(e) {
				continue
			}
			page.TotalCount++
			switch {
			case i < start:
			case len(picked) < p.First:
				picked = append(picked, e)
			default:
				page.HasNextPage = true
			}
		}
	}
	page.Assets = copyAssets(picked)
	return page, nil
}
