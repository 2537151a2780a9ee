package pgtest_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/marketgraph/marketgraph/internal/pgtest"
)

func TestNewDatabase(t *testing.T) {
	ctx := context.Background()
	var name string
	t.Run("Created", func(t *testing.T) {
		url := pgtest.NewDatabase(t)
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatalf("connect to the new database: %v", err)
		}
		defer conn.Close(ctx)
		if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&name); err != nil {
			t.Fatalf("current_database: %v", err)
		}
		if !strings.HasPrefix(name, "mg_test_pgtest_") {
			t.Errorf("database %q is not named after the package", name)
		}
		// A connection left open must not stop the drop.
		if _, err := conn.Exec(ctx, "CREATE TABLE t (x int)"); err != nil {
			t.Fatalf("use the new database: %v", err)
		}
	})
	if name == "" {
		t.Skip("no database was created")
	}

	t.Run("DroppedWhenTestEnds", func(t *testing.T) {
		conn, err := pgx.Connect(ctx, os.Getenv(pgtest.EnvURL))
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		defer conn.Close(ctx)
		var exists bool
		if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
			t.Fatalf("look for %s: %v", name, err)
		}
		if exists {
			t.Errorf("database %s still exists after its test ended", name)
		}
	})

	t.Run("UniqueNames", func(t *testing.T) {
		a, b := pgtest.NewDatabase(t), pgtest.NewDatabase(t)
		if a == b {
			t.Errorf("two calls returned the same database %s", a)
		}
	})
}

func TestNewDatabase_SkipsWithoutURL(t *testing.T) {
	t.Setenv(pgtest.EnvURL, "")
	t.Setenv("CI", "")
	skipped := false
	t.Run("Inner", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		pgtest.NewDatabase(t)
	})
	if !skipped {
		t.Errorf("NewDatabase without %s did not skip", pgtest.EnvURL)
	}
}
