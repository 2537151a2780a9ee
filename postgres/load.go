package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/marketgraph/marketgraph"
)

// Load writes ds in one transaction, leaving rows that exist already
// untouched, so loading the same dataset twice changes nothing. Every table,
// some 170,000 candles for the demo dataset, is streamed with COPY into a
// temporary table and moved with INSERT ... SELECT of the rows not there
// yet, since COPY itself cannot skip existing rows. Bad data is a
// BAD_USER_INPUT error naming the row or key at fault.
func (db *DB) Load(ctx context.Context, ds *marketgraph.Dataset) error {
	if err := validateDataset(ds); err != nil {
		return err
	}
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if err := loadAssets(ctx, tx, ds.Assets); err != nil {
			return err
		}
		if err := loadCandles(ctx, tx, ds.Candles); err != nil {
			return err
		}
		return loadSignals(ctx, tx, ds.Signals)
	})
	if err != nil {
		return dbError(err, "load dataset")
	}
	return nil
}

// copyThenInsert creates a temporary table shaped like table, copies n rows
// made by row into it, and inserts into table those whose primary key (the
// columns key) is new.
func copyThenInsert(ctx context.Context, tx pgx.Tx, table string, key, cols []string, n int, row func(i int) []any) error {
	if n == 0 {
		return nil
	}
	tmp := "load_" + table
	// The names come from the callers below, never from input.
	create := fmt.Sprintf(`CREATE TEMP TABLE %s (LIKE %s INCLUDING DEFAULTS) ON COMMIT DROP`, tmp, table)
	if _, err := tx.Exec(ctx, create); err != nil {
		return fmt.Errorf("create %s: %w", tmp, err)
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{tmp}, cols, pgx.CopyFromSlice(n, func(i int) ([]any, error) {
		return row(i), nil
	}))
	if err != nil {
		return fmt.Errorf("copy %s: %w", table, err)
	}
	// Rows that exist already are filtered out by one anti-join first, which
	// makes loading the same data again far cheaper than letting ON
	// CONFLICT probe the primary key for each of them; ON CONFLICT still
	// covers rows a concurrent Load inserts meanwhile.
	var match []string
	for _, k := range key {
		match = append(match, fmt.Sprintf("t.%[1]s = l.%[1]s", k))
	}
	insert := fmt.Sprintf(`INSERT INTO %[1]s SELECT l.* FROM %[2]s l
WHERE NOT EXISTS (SELECT 1 FROM %[1]s t WHERE %[3]s)
ON CONFLICT DO NOTHING`, table, tmp, strings.Join(match, " AND "))
	// Statistics let the planner pick a hash or merge anti-join.
	if _, err := tx.Exec(ctx, "ANALYZE "+tmp); err != nil {
		return fmt.Errorf("analyze %s: %w", tmp, err)
	}
	if _, err := tx.Exec(ctx, insert); err != nil {
		return fmt.Errorf("insert %s: %w", table, err)
	}
	return nil
}

func loadAssets(ctx context.Context, tx pgx.Tx, as []*marketgraph.Asset) error {
	cols := []string{"id", "symbol", "name", "sort_name", "rank", "category", "market_cap", "volume_24h", "change_24h", "supply"}
	return copyThenInsert(ctx, tx, "assets", []string{"id"}, cols, len(as), func(i int) []any {
		a := as[i]
		return []any{a.ID, a.Symbol, a.Name, marketgraph.SortName(a.Name), a.Rank, a.Category, a.MarketCap, a.Volume24h, a.Change24h, a.Supply}
	})
}

func loadCandles(ctx context.Context, tx pgx.Tx, cs []*marketgraph.Candle) error {
	cols := []string{"asset_id", "interval", "start", "open", "high", "low", "close", "volume"}
	return copyThenInsert(ctx, tx, "candles", []string{"asset_id", `"interval"`, "start"}, cols, len(cs), func(i int) []any {
		c := cs[i]
		return []any{c.AssetID, string(c.Interval), c.Start, c.Open, c.High, c.Low, c.Close, c.Volume}
	})
}

func loadSignals(ctx context.Context, tx pgx.Tx, ss []*marketgraph.Signal) error {
	cols := []string{"id", "asset_id", "kind", "strength", "indicator", "reason", "emitted_at"}
	return copyThenInsert(ctx, tx, "signals", []string{"id"}, cols, len(ss), func(i int) []any {
		s := ss[i]
		return []any{s.ID, s.AssetID, string(s.Kind), s.Strength, s.Indicator, s.Reason, s.EmittedAt}
	})
}

// validateDataset applies marketgraph.ValidateDataset, the rule both stores
// share, so that bad data is refused with a message that says which row is
// wrong rather than with whatever the schema makes of it. References to
// assets are left to the foreign keys, since an asset may already be in the
// database.
func validateDataset(ds *marketgraph.Dataset) error {
	if err := marketgraph.ValidateDataset(ds); err != nil {
		return marketgraph.Errorf(marketgraph.EBADINPUT, "load dataset: %s", marketgraph.ErrorMessage(err))
	}
	return nil
}
