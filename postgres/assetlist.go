package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/marketgraph/marketgraph"
)

// assetFilter is the WHERE clause of a filtered asset list: $1 ids, $2 the
// category and $3 the search text, both folded with marketgraph.FoldCase; a
// NULL parameter does not filter. Columns are folded with mg_fold, the same
// rule, rather than lower() or ILIKE, which follow the database's locale.
// strpos finds the search text literally, so %, _ and \ need no escaping.
const assetFilter = `($1::text[] IS NULL OR id = ANY($1))
	AND ($2::text IS NULL OR mg_fold(category) = $2)
	AND ($3::text IS NULL OR strpos(mg_fold(symbol), $3) > 0 OR strpos(mg_fold(name), $3) > 0)`

// orderColumn returns the column an ordering sorts by. These are the only
// words spliced into the SQL text, and they come from this switch, never
// from a request.
func orderColumn(f marketgraph.AssetOrderField) (string, bool) {
	switch f {
	case marketgraph.AssetOrderRank:
		return "rank", true
	case marketgraph.AssetOrderName:
		return "sort_name", true
	case marketgraph.AssetOrderMarketCap:
		return "market_cap", true
	case marketgraph.AssetOrderChange24h:
		return "change_24h", true
	}
	return "", false
}

// assetPageRow is an asset with the number of assets matching the filter,
// which the page query returns on every row.
type assetPageRow struct {
	assetRow
	TotalCount int `db:"total_count"`
}

// ListAssets returns one page of assets by keyset pagination: the page
// starts after the cursor's (key, id), so pages stay stable while rows are
// inserted before them. One statement returns the page and the total count;
// a second counts only when a cursor lies past the last matching asset,
// where no row is left to carry the count.
func (db *DB) ListAssets(ctx context.Context, p marketgraph.AssetListParams) (*marketgraph.AssetPage, error) {
	const qPage = `SELECT ` + assetColumns + `,
	(SELECT count(*) FROM assets WHERE ` + assetFilter + `) AS total_count
FROM assets
WHERE ` + assetFilter + `
	AND %s
ORDER BY %s %s, id
LIMIT $4`
	const qCount = `SELECT count(*) FROM assets WHERE ` + assetFilter

	p, err := marketgraph.NormalizeListParams(p)
	if err != nil {
		return nil, err
	}
	col, ok := orderColumn(p.Order.Field)
	if !ok {
		return nil, marketgraph.Errorf(marketgraph.EBADINPUT, "orderBy: unknown field %q", p.Order.Field)
	}
	dir := "ASC"
	if p.Order.Direction == marketgraph.OrderDesc {
		dir = "DESC"
	}
	// One row more than the page tells whether another page follows, even
	// for first = 0.
	args := append(filterArgs(p.Filter), p.First+1)
	after := "true"
	if c := p.After; c != nil {
		// Ties are broken by id ascending in both directions, so a
		// descending page continues with a smaller key, or the same key and
		// a larger id.
		after = fmt.Sprintf("(%[1]s, id) > ($5, $6)", col)
		if dir == "DESC" {
			after = fmt.Sprintf("(%[1]s < $5 OR (%[1]s = $5 AND id > $6))", col)
		}
		args = append(args, cursorKey(c, p.Order.Field), c.ID)
	}
	rows, _ := db.pool.Query(ctx, fmt.Sprintf(qPage, after, col, dir), args...)
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[assetPageRow])
	if err != nil {
		return nil, dbError(err, "list assets")
	}
	page := &marketgraph.AssetPage{Assets: []*marketgraph.Asset{}}
	if len(rs) > 0 {
		page.TotalCount = rs[0].TotalCount
	}
	if len(rs) > p.First {
		page.HasNextPage = true
		rs = rs[:p.First]
	}
	for _, r := range rs {
		page.Assets = append(page.Assets, r.asset())
	}
	// With no row to carry it the count is 0, unless a cursor skipped every
	// matching asset.
	if page.TotalCount == 0 && p.After != nil {
		if err := db.pool.QueryRow(ctx, qCount, args[:3]...).Scan(&page.TotalCount); err != nil {
			return nil, dbError(err, "count assets")
		}
	}
	return page, nil
}

// filterArgs returns $1..$3 of assetFilter.
func filterArgs(f marketgraph.AssetFilter) []any {
	// A nil IDs is sent as NULL and does not filter; an empty one is '{}'
	// and matches nothing.
	return []any{f.IDs, foldPtr(f.Category), foldPtr(f.Search)}
}

// foldPtr returns marketgraph.FoldCase of *s, or nil (NULL) for nil.
func foldPtr(s *string) *string {
	if s == nil {
		return nil
	}
	f := marketgraph.FoldCase(*s)
	return &f
}

// cursorKey is the sort key a cursor holds for field, typed like its column.
func cursorKey(c *marketgraph.AssetCursor, field marketgraph.AssetOrderField) any {
	switch field {
	case marketgraph.AssetOrderRank:
		return c.Int
	case marketgraph.AssetOrderName:
		return c.Str
	default:
		return c.Num
	}
}
