package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/marketgraph/marketgraph/demo"
	"github.com/marketgraph/marketgraph/postgres"
)

// openDB opens PostgreSQL for a subcommand that needs it.
func openDB(ctx context.Context, cfg *config) (*postgres.DB, error) {
	if cfg.DatabaseURL == "" {
		return nil, fmt.Errorf("DATABASE_URL: not set (or pass -database-url)")
	}
	return postgres.Open(ctx, postgres.Config{URL: cfg.DatabaseURL, MaxConns: int32(cfg.DBMaxConns)})
}

// openMigratedDB opens PostgreSQL and checks that no migration is pending,
// so a command never writes into a schema it does not know.
func openMigratedDB(ctx context.Context, cfg *config) (*postgres.DB, error) {
	db, err := openDB(ctx, cfg)
	if err != nil {
		return nil, err
	}
	pending, err := db.PendingMigrations(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("check migrations: %w", err)
	}
	if len(pending) > 0 {
		db.Close()
		return nil, fmt.Errorf("DATABASE_URL: %d migrations pending: run `marketgraph migrate` first", len(pending))
	}
	return db, nil
}

// runMigrate applies pending migrations; running it again applies nothing.
func runMigrate(ctx context.Context, cfg *config, stdout io.Writer) error {
	db, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	applied, err := db.Migrate(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, v := range applied {
		fmt.Fprintln(stdout, "applied", v)
	}
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "no pending migrations")
	}
	return nil
}

// runSeed loads the demo dataset. The first run records the seed and the
// instant the dataset was generated for; later runs regenerate that same
// dataset, so seeding again changes nothing.
func runSeed(ctx context.Context, cfg *config, stdout io.Writer) error {
	db, err := openMigratedDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	rec, ok, err := db.SeedRecord(ctx)
	if err != nil {
		return err
	}
	if !ok {
		rec, err = db.RecordSeed(ctx, postgres.SeedRecord{Seed: cfg.Seed, End: time.Now().UTC().Truncate(time.Hour)})
		if err != nil {
			return err
		}
	} else if rec.Seed != cfg.Seed {
		fmt.Fprintf(stdout, "this database was seeded with -seed %d; regenerating that dataset\n", rec.Seed)
	}
	start := time.Now()
	ds := demo.Generate(rec.Seed, rec.End)
	if err := db.Load(ctx, ds); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	if ok {
		// Load inserts only missing rows: after a complete first run, none.
		fmt.Fprintf(stdout, "already seeded (seed %d, dataset end %s): checked %d assets, %d candles, %d signals; existing rows are never changed (%s)\n",
			rec.Seed, ds.End.Format(time.RFC3339), len(ds.Assets), len(ds.Candles), len(ds.Signals), time.Since(start).Round(time.Millisecond))
		return nil
	}
	fmt.Fprintf(stdout, "seeded %d assets, %d candles, %d signals (seed %d, dataset end %s) in %s\n",
		len(ds.Assets), len(ds.Candles), len(ds.Signals), rec.Seed, ds.End.Format(time.RFC3339), time.Since(start).Round(time.Millisecond))
	return nil
}
