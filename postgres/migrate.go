package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// migrationFS holds the schema as numbered files, applied in name order and
// never edited once released: a change is a new file.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// migrationLockID is the advisory lock that serialises migrators: two
// replicas starting with -migrate at once take turns instead of colliding.
const migrationLockID = 0x6d675f6d6967 // "mg_mig"

// migration is one embedded file; its version is the file name without .sql.
type migration struct {
	version string
	sql     string
}

// migrations returns the embedded migrations in the order they apply.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	slices.Sort(names)
	ms := make([]migration, 0, len(names))
	for _, name := range names {
		b, err := migrationFS.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		ms = append(ms, migration{version: strings.TrimSuffix(path.Base(name), ".sql"), sql: string(b)})
	}
	return ms, nil
}

// Migrate applies the migrations the database has not seen yet, each in its
// own transaction together with its row in schema_migrations, and returns
// the versions it applied. Running it again applies nothing.
func (db *DB) Migrate(ctx context.Context) (applied []string, err error) {
	ms, err := migrations()
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		ok, err := db.apply(ctx, m)
		if err != nil {
			return applied, err
		}
		if ok {
			db.log.InfoContext(ctx, "migration applied", "version", m.version)
			applied = append(applied, m.version)
		}
	}
	return applied, nil
}

// apply runs m unless it is recorded already, and reports whether it ran.
// The transaction-level lock is taken before anything is read, so the check
// and the change are atomic with respect to other migrators.
func (db *DB) apply(ctx context.Context, m migration) (bool, error) {
	const qLock = `SELECT pg_advisory_xact_lock($1)`
	const qTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    text PRIMARY KEY,
	applied_at timestamptz NOT NULL DEFAULT now()
)`
	const qSeen = `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`
	const qRecord = `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, now())`

	ran := false
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, qLock, int64(migrationLockID)); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		if _, err := tx.Exec(ctx, qTable); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		var seen bool
		if err := tx.QueryRow(ctx, qSeen, m.version).Scan(&seen); err != nil {
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		if seen {
			return nil
		}
		// No arguments: pgx sends the file with the simple protocol, which
		// accepts several statements.
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, qRecord, m.version); err != nil {
			return fmt.Errorf("record: %w", err)
		}
		ran = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("migration %s: %w", m.version, err)
	}
	return ran, nil
}

// PendingMigrations returns the versions Migrate would apply, so that serve
// can refuse to start on a schema older than its code.
func (db *DB) PendingMigrations(ctx context.Context) ([]string, error) {
	const qExists = `SELECT to_regclass('schema_migrations') IS NOT NULL`
	const qApplied = `SELECT version FROM schema_migrations`

	ms, err := migrations()
	if err != nil {
		return nil, err
	}
	var exists bool
	if err := db.pool.QueryRow(ctx, qExists).Scan(&exists); err != nil {
		return nil, fmt.Errorf("pending migrations: %w", err)
	}
	var done []string
	if exists {
		rows, _ := db.pool.Query(ctx, qApplied)
		done, err = pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, fmt.Errorf("pending migrations: %w", err)
		}
	}
	var pending []string
	for _, m := range ms {
		if !slices.Contains(done, m.version) {
			pending = append(pending, m.version)
		}
	}
	return pending, nil
}
