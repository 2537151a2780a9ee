package postgres_test

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/marketgraph/marketgraph/internal/pgtest"
	"github.com/marketgraph/marketgraph/postgres"
)

// newDB returns a migrated, empty database of its own, closed when t ends.
func newDB(t testing.TB, tracer pgx.QueryTracer) *postgres.DB {
	t.Helper()
	db, _ := newDBWithURL(t, tracer)
	return db
}

// newDBWithURL is newDB that also returns the database's URL, for tests
// that look at it with plain SQL.
func newDBWithURL(t testing.TB, tracer pgx.QueryTracer) (*postgres.DB, string) {
	t.Helper()
	url := pgtest.NewDatabase(t)
	db, err := postgres.Open(context.Background(), postgres.Config{URL: url, Tracer: tracer})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(db.Close)
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return db, url
}

// statementCounter is a tracer that records every statement sent: queries,
// the queries of a batch, and COPYs.
type statementCounter struct {
	mu   sync.Mutex
	sqls []string
	args [][]any
}

func (c *statementCounter) add(sql string, args []any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sqls = append(c.sqls, sql)
	c.args = append(c.args, args)
}

// reset forgets what was recorded so far.
func (c *statementCounter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sqls, c.args = nil, nil
}

// statements returns what was recorded since the last reset.
func (c *statementCounter) statements() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.sqls...)
}

// last returns the most recent statement and its arguments.
func (c *statementCounter) last() (string, []any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.sqls) == 0 {
		return "", nil
	}
	return c.sqls[len(c.sqls)-1], c.args[len(c.args)-1]
}

func (c *statementCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	c.add(data.SQL, data.Args)
	return ctx
}

func (c *statementCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c *statementCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

func (c *statementCounter) TraceBatchQuery(_ context.Context, _ *pgx.Conn, data pgx.TraceBatchQueryData) {
	c.add(data.SQL, data.Args)
}

func (c *statementCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

func (c *statementCounter) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceCopyFromStartData) context.Context {
	c.add("COPY "+data.TableName.Sanitize(), nil)
	return ctx
}

func (c *statementCounter) TraceCopyFromEnd(context.Context, *pgx.Conn, pgx.TraceCopyFromEndData) {}
