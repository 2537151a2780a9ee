package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/storetest"
)

// TestAssets_SymbolPlanUsesIndex checks that the symbol lookups, which
// compare mg_fold(symbol) with a symbol folded in Go, are answered from
// assets_fold_symbol_idx rather than by reading the whole catalog: the
// expression in the queries must be the one the index was built on.
func TestAssets_SymbolPlanUsesIndex(t *testing.T) {
	ctx := context.Background()
	counter := &statementCounter{}
	db, url := newDBWithURL(t, counter)
	ds := storetest.Fixture()
	ds.Candles, ds.Signals = nil, nil
	// Enough assets that reading them all would be the worse plan.
	for i := range 5000 {
		ds.Assets = append(ds.Assets, &marketgraph.Asset{
			ID: fmt.Sprintf("extra-%04d", i), Symbol: fmt.Sprintf("X%04d", i), Name: fmt.Sprintf("Extra %d", i), Rank: 1000 + i,
		})
	}
	if err := db.Load(ctx, ds); err != nil {
		t.Fatalf("Load: %v", err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "ANALYZE assets"); err != nil {
		t.Fatalf("ANALYZE: %v", err)
	}

	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"FindAssetBySymbol", func() error {
			_, err := db.FindAssetBySymbol(ctx, "eth")
			return err
		}},
		{"FindAssetsBySymbols", func() error {
			_, err := db.FindAssetsBySymbols(ctx, []string{"btc", "ETH", "x0042"})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			counter.reset()
			if err := tc.call(); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			sql, args := counter.last()
			rows, err := conn.Query(ctx, "EXPLAIN "+sql, args...)
			if err != nil {
				t.Fatalf("EXPLAIN: %v", err)
			}
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatalf("EXPLAIN: %v", err)
			}
			if text := strings.Join(lines, "\n"); !strings.Contains(text, "assets_fold_symbol_idx") || strings.Contains(text, "Seq Scan on assets") {
				t.Errorf("plan does not use assets_fold_symbol_idx:\n%s", text)
			}
		})
	}
}
