package postgres_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/marketgraph/marketgraph/internal/pgtest"
	"github.com/marketgraph/marketgraph/postgres"
)

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	open := func(t *testing.T) *postgres.DB {
		t.Helper()
		db, err := postgres.Open(ctx, postgres.Config{URL: pgtest.NewDatabase(t)})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(db.Close)
		return db
	}

	t.Run("Idempotent", func(t *testing.T) {
		db := open(t)
		pending, err := db.PendingMigrations(ctx)
		if err != nil {
			t.Fatalf("PendingMigrations before: %v", err)
		}
		if len(pending) == 0 || pending[0] != "0001_init" {
			t.Fatalf("PendingMigrations on an empty database = %q, want it to start with 0001_init", pending)
		}
		applied, err := db.Migrate(ctx)
		if err != nil {
			t.Fatalf("first Migrate: %v", err)
		}
		if !slices.Equal(applied, pending) {
			t.Errorf("first Migrate applied %q, want the pending %q", applied, pending)
		}
		again, err := db.Migrate(ctx)
		if err != nil {
			t.Fatalf("second Migrate: %v", err)
		}
		if len(again) != 0 {
			t.Errorf("second Migrate applied %q, want nothing", again)
		}
		pending, err = db.PendingMigrations(ctx)
		if err != nil {
			t.Fatalf("PendingMigrations after: %v", err)
		}
		if len(pending) != 0 {
			t.Errorf("PendingMigrations after Migrate = %q, want none", pending)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		// Two replicas started with -migrate at once: the advisory lock
		// makes them take turns, so each migration runs exactly once and
		// neither fails.
		db := open(t)
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			applied []string
		)
		for range 4 {
			wg.Go(func() {
				got, err := db.Migrate(ctx)
				if err != nil {
					t.Errorf("concurrent Migrate: %v", err)
				}
				mu.Lock()
				applied = append(applied, got...)
				mu.Unlock()
			})
		}
		wg.Wait()
		slices.Sort(applied)
		// Every migration is pending on a fresh database.
		want, err := open(t).PendingMigrations(ctx)
		if err != nil {
			t.Fatalf("PendingMigrations: %v", err)
		}
		if !slices.Equal(applied, want) {
			t.Errorf("concurrent Migrates applied %q between them, want each of %q once", applied, want)
		}
	})
}
