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
// after marketgraph.FoldCase (rank, then id, decides between namesakes), or
// NOT_FOUND; BAD_USER_INPUT when symbol fails CheckText. The argument is
// folded in Go and the column by mg_fold, the same rule in SQL, so the
// answer does not depend on the database's locale.
func (db *DB) FindAssetBySymbol(ctx context.Context, symbol string) (*marketgraph.Asset, error) {
	const q = `SELECT ` + assetColumns + ` FROM assets WHERE mg_fold(symbol) = $1 ORDER BY rank, id LIMIT 1`
	if err := marketgraph.CheckText("symbol", symbol); err != nil {
		return nil, err
	}
	rows, _ := db.pool.Query(ctx, q, marketgraph.FoldCase(symbol))
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[assetRow])
	if err != nil {
		return nil, dbError(err, fmt.Sprintf("asset with symbol %q", symbol))
	}
	return r.asset(), nil
}

// symbolRow is one answer of FindAssetsBySymbols: the folded symbol it
// answers and the asset.
type symbolRow struct {
	Folded string `db:"folded"`
	assetRow
}

// FindAssetsBySymbols returns, keyed by each symbol's marketgraph.FoldUpper,
// the asset FindAssetBySymbol would return for that key, in one statement;
// symbols that match nothing or fail CheckText are absent.
//
// Each folded symbol is answered by its own LIMIT 1 lookup, the very query
// of FindAssetBySymbol, so both use assets_fold_symbol_idx the same way: one
// short index scan per symbol, already in (rank, id) order.
func (db *DB) FindAssetsBySymbols(ctx context.Context, symbols []string) (map[string]*marketgraph.Asset, error) {
	const q = `SELECT k.folded, a.* FROM unnest($1::text[]) AS k(folded)
		CROSS JOIN LATERAL (
			SELECT ` + assetColumns + ` FROM assets
			WHERE mg_fold(symbol) = k.folded ORDER BY rank, id LIMIT 1
		) AS a`
	folded := lookupSymbols(symbols)
	out := make(map[string]*marketgraph.Asset, len(folded))
	if len(folded) == 0 {
		return out, nil
	}
	rows, _ := db.pool.Query(ctx, q, folded)
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[symbolRow])
	if err != nil {
		return nil, dbError(err, "find assets by symbol")
	}
	for _, r := range rs {
		// FoldUpper(FoldCase(s)) == FoldUpper(s): the key of every symbol
		// that folds to r.Folded.
		out[marketgraph.FoldUpper(r.Folded)] = r.asset()
	}
	return out, nil
}

// lookupSymbols returns the symbols worth sending, folded with
// marketgraph.FoldCase as the statement compares them, without repeats, and
// without the symbols that fail CheckText, which no asset has and which
// would fail the whole statement (see lookupIDs).
func lookupSymbols(symbols []string) []string {
	out := make([]string, 0, len(symbols))
	for _, s := range symbols {
		if marketgraph.CheckText("symbol", s) == nil {
			out = append(out, marketgraph.FoldCase(s))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
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
