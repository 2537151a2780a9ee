package postgres

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/marketgraph/marketgraph"
)

// assetColumns are the columns every asset query selects, in assetRow's
// terms.
const assetColumns = `id, symbol, name, rank, category, market_cap, volume_24h, change_24h, supply`

// assetRow is one row of assets as pgx scans it; the domain type stays free
// of storage tags.
type assetRow struct {
	ID        string  `db:"id"`
	Symbol    string  `db:"symbol"`
	Name      string  `db:"name"`
	Rank      int     `db:"rank"`
	Category  string  `db:"category"`
	MarketCap float64 `db:"market_cap"`
	Volume24h float64 `db:"volume_24h"`
	Change24h float64 `db:"change_24h"`
	Supply    float64 `db:"supply"`
}

func (r assetRow) asset() *marketgraph.Asset {
	return &marketgraph.Asset{
		ID:        r.ID,
		Symbol:    r.Symbol,
		Name:      r.Name,
		Rank:      r.Rank,
		Category:  r.Category,
		MarketCap: r.MarketCap,
		Volume24h: r.Volume24h,
		Change24h: r.Change24h,
		Supply:    r.Supply,
	}
}

// FindAssetsByIDs returns the assets with the given ids, in no particular
// order; unknown ids are absent, and so are ids that fail CheckText, which
// PostgreSQL could not even compare.
func (db *DB) FindAssetsByIDs(ctx context.Context, ids []string) ([]*marketgraph.Asset, error) {
	const q = `SELECT ` + assetColumns + ` FROM assets WHERE id = ANY($1)`
	ids = lookupIDs(ids)
	if len(ids) == 0 {
		return []*marketgraph.Asset{}, nil
	}
	rows, _ := db.pool.Query(ctx, q, ids)
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[assetRow])
	if err != nil {
		return nil, dbError(err, "find assets")
	}
	as := make([]*marketgraph.Asset, len(rs))
	for i, r := range rs {
		as[i] = r.asset()
	}
	return as, nil
}

// FindAssetBySymbol returns the best-ranked asset with symbol, compared
// case-insensitively (rank, then id, decides between namesakes), or
// NOT_FOUND; BAD_USER_INPUT when symbol fails CheckText.
func (db *DB) FindAssetBySymbol(ctx context.Context, symbol string) (*marketgraph.Asset, error) {
	const q = `SELECT ` + assetColumns + ` FROM assets WHERE lower(symbol) = lower($1) ORDER BY rank, id LIMIT 1`
	if err := marketgraph.CheckText("symbol", symbol); err != nil {
		return nil, err
	}
	rows, _ := db.pool.Query(ctx, q, symbol)
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[assetRow])
	if err != nil {
		return nil, dbError(err, fmt.Sprintf("asset with symbol %q", symbol))
	}
	return r.asset(), nil
}

// lookupIDs returns the ids worth sending in a batch lookup: without
// repeats, so an asset asked for twice is read once, and without the ids that
// fail CheckText. No row can have those (Load refuses them), and PostgreSQL
// would fail the whole statement on a NUL byte or invalid UTF-8 where the
// memory store simply finds nothing.
func lookupIDs(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if marketgraph.CheckText("id", id) == nil {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
