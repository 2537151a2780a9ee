// Package postgres implements the marketgraph services on PostgreSQL with pgx
// v5: a pgxpool, embedded forward-only migrations, and one SQL statement per
// batch of keys so that the loaders above it never cause N+1 queries.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/marketgraph/marketgraph"
)

// Config says how to reach PostgreSQL.
type Config struct {
	// URL is the connection string (DATABASE_URL).
	URL string
	// MaxConns caps the pool; 0 keeps pgxpool's default.
	MaxConns int32
	// Tracer, when set, sees every statement: tests count them with it, and
	// it is where tracing hooks in.
	Tracer pgx.QueryTracer
	// Logger receives the few events worth logging (migrations applied).
	// Nil discards them.
	Logger *slog.Logger
}

// connectTimeout makes start-up fail fast against an unreachable server
// when the caller's context has no deadline.
const connectTimeout = 10 * time.Second

// DB is a connection pool to a marketgraph database. It implements
// marketgraph.Store.
type DB struct {
	pool *pgxpool.Pool
	log  *slog.Logger
}

var _ marketgraph.Store = (*DB)(nil)

// Open connects to the database of cfg.URL and pings it, so a wrong setting
// is reported at start-up rather than on the first request. Its errors name
// DATABASE_URL and the host, and never contain the password.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.URL == "" {
		// pgx would fall back to PG* variables and a local socket, which
		// is never what an empty setting means here.
		return nil, errors.New("DATABASE_URL: empty connection string")
	}
	pcfg, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		// pgx's parse errors repeat the connection string; its redaction
		// of the password is best effort, so none of it is echoed here.
		return nil, errors.New("DATABASE_URL: cannot parse the connection string; expected postgres://user:password@host:port/database?sslmode=disable")
	}
	if cfg.MaxConns > 0 {
		pcfg.MaxConns = cfg.MaxConns
	}
	pcfg.ConnConfig.Tracer = cfg.Tracer
	if pcfg.ConnConfig.ConnectTimeout == 0 {
		pcfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	// JoinHostPort brackets an IPv6 address: [::1]:5432.
	where := net.JoinHostPort(pcfg.ConnConfig.Host, strconv.Itoa(int(pcfg.ConnConfig.Port)))
	password := pcfg.ConnConfig.Password

	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, connectError(where, err, password)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, connectError(where, err, password)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &DB{pool: pool, log: log}, nil
}

// Close closes every connection of the pool.
func (db *DB) Close() { db.pool.Close() }

// Ping reports whether the database is reachable.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping postgres: %w", err)
	}
	return nil
}

// connectError is the error of a failed connection: one line naming
// DATABASE_URL and the host, with the password masked, wrapping the driver's
// error so that errors.Is and errors.As still see it.
func connectError(where string, err error, password string) error {
	msg := "DATABASE_URL: cannot connect to PostgreSQL at " + where + ": " + oneLine(err.Error())
	if password != "" {
		// The driver's message should not hold the password, but a
		// start-up error ends up in logs, so this does not rely on it.
		msg = strings.ReplaceAll(msg, password, "xxxxx")
	}
	return &connectErr{msg: msg, err: err}
}

// connectErr is an error with a message of its own over a driver error.
type connectErr struct {
	msg string
	err error
}

func (e *connectErr) Error() string { return e.msg }
func (e *connectErr) Unwrap() error { return e.err }

// oneLine folds a multi-line driver message into one line. pgx lists one
// indented line per host and attempt (two per address with sslmode=prefer);
// log lines and a terminal read better with them joined by "; ", a line
// that repeats the one before dropped, and the heading's colon kept.
func oneLine(s string) string {
	var b strings.Builder
	prev := ""
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line == prev {
			continue
		}
		switch {
		case b.Len() == 0:
		case strings.HasSuffix(prev, ":"):
			b.WriteString(" ")
		default:
			b.WriteString("; ")
		}
		b.WriteString(line)
		prev = line
	}
	return b.String()
}

// dbError is the one place driver errors become domain errors: no rows is
// NOT_FOUND, a unique violation CONFLICT, data that breaks a foreign key or a
// check, text the database cannot store or a number out of its column's
// range BAD_USER_INPUT; anything else is wrapped with what was being done
// and reaches clients as INTERNAL.
func dbError(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return marketgraph.Errorf(marketgraph.ENOTFOUND, "%s: not found", what)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return marketgraph.Errorf(marketgraph.ECONFLICT, "%s: already exists (%s)", what, pgErr.Detail)
		case "23503": // foreign_key_violation
			return marketgraph.Errorf(marketgraph.EBADINPUT, "%s: %s", what, pgErr.Detail)
		case "23514", "23502", "22P02": // check_violation, not_null_violation, invalid_text_representation
			return marketgraph.Errorf(marketgraph.EBADINPUT, "%s: invalid data (%s)", what, pgErr.Message)
		case "22021", "22P05": // character_not_in_repertoire, untranslatable_character
			// A backstop: the domain rejects such text first (CheckText).
			// The server's message quotes the bytes at fault, so it is
			// not passed on.
			return marketgraph.Errorf(marketgraph.EBADINPUT, "%s: text with a character the database cannot store", what)
		case "22003": // numeric_value_out_of_range
			return marketgraph.Errorf(marketgraph.EBADINPUT, "%s: a number out of range", what)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}
