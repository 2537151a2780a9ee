package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Lock is a session-level advisory lock on a dedicated connection (not from
// the pool, whose connections are shared and recycled). It elects one
// process among several, the ingester for instance: the lock lasts as long
// as the session, so when the holder dies, PostgreSQL ends its session and
// frees the lock for the next.
//
// Its connections show up in pg_stat_activity with the application_name
// "marketgraph lock" unless the connection string sets one.
type Lock struct {
	cfg  *pgx.ConnConfig
	key  int64
	poll time.Duration
	log  *slog.Logger
}

// lockAppName names the lock's connections for whoever looks at
// pg_stat_activity.
const lockAppName = "marketgraph lock"

// minPingTimeout bounds how long a check of a held lock may take before the
// lock counts as lost. With short polls, a loaded server would otherwise
// make a healthy session look dead.
const minPingTimeout = time.Second

// AdvisoryLock returns the advisory lock key on db's database. Acquire
// retries every poll (1 s when poll is not positive), and a held lock is
// checked as often; log receives acquisitions, losses and retries (nil
// discards them).
func (db *DB) AdvisoryLock(key int64, poll time.Duration, log *slog.Logger) *Lock {
	if poll <= 0 {
		poll = time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := db.pool.Config().ConnConfig.Copy()
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = lockAppName
	}
	// A holder that freezes (SIGSTOP, a stuck host) stops pinging; without a
	// server-side limit its session, and the lock, would live until TCP
	// gives up, hours later. The server ends a session idle for three polls
	// (the holder pings every poll), and probes a silent peer, so another
	// process takes over within a few polls.
	idle := max(3*poll, 3*time.Second)
	cfg.RuntimeParams["idle_session_timeout"] = strconv.FormatInt(idle.Milliseconds(), 10)
	secs := strconv.Itoa(max(int(poll/time.Second), 1))
	cfg.RuntimeParams["tcp_keepalives_idle"] = secs
	cfg.RuntimeParams["tcp_keepalives_interval"] = secs
	cfg.RuntimeParams["tcp_keepalives_count"] = "3"
	return &Lock{cfg: cfg, key: key, poll: poll, log: log.With("lock", key)}
}

// Acquire blocks until the lock is held or ctx ends. It returns a context
// that is cancelled when the lock is lost (its connection dies: checked
// every poll with a cheap query) or when release is called; release unlocks
// and closes the connection. Safe to Acquire again after a loss.
//
// The held context is also cancelled when ctx ends, which releases the
// lock; context.Cause(held) says why it ended. Failing to reach the
// database is not an error: Acquire logs it and tries again every poll, as
// it does while another session holds the lock. Its only error is ctx's.
func (l *Lock) Acquire(ctx context.Context) (held context.Context, release func(), err error) {
	conn, err := l.wait(ctx)
	if err != nil {
		return nil, nil, err
	}
	if err := ctx.Err(); err != nil {
		// Granted as ctx ended: nobody wants it any more.
		l.unlock(conn)
		closeConn(conn)
		return nil, nil, err
	}
	l.log.InfoContext(ctx, "advisory lock acquired")
	held, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.watch(held, cancel, conn)
	}()
	release = func() {
		cancel(errReleased)
		<-done
	}
	return held, release, nil
}

// errReleased is the cause of a held context ended by release.
var errReleased = errors.New("advisory lock released")

// wait connects and tries the lock every poll until it holds it, and
// returns the connection that does. Every failure closes the connection,
// which frees the lock should the server have granted it anyway.
func (l *Lock) wait(ctx context.Context) (*pgx.Conn, error) {
	const q = `SELECT pg_try_advisory_lock($1)`
	var conn *pgx.Conn
	logged := false
	for {
		if conn == nil {
			c, err := pgx.ConnectConfig(ctx, l.cfg)
			switch {
			case err == nil:
				conn = c
			case ctx.Err() != nil:
				return nil, ctx.Err()
			default:
				l.log.WarnContext(ctx, "advisory lock: cannot connect, will retry", "err", l.redact(err))
			}
		}
		if conn != nil {
			var ok bool
			err := conn.QueryRow(ctx, q, l.key).Scan(&ok)
			switch {
			case err == nil && ok:
				return conn, nil
			case err == nil && !logged:
				l.log.InfoContext(ctx, "advisory lock held by another session, waiting")
				logged = true
			case err != nil:
				closeConn(conn)
				conn = nil
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				l.log.WarnContext(ctx, "advisory lock: cannot try the lock, will retry", "err", l.redact(err))
			}
		}
		t := time.NewTimer(l.poll)
		select {
		case <-ctx.Done():
			t.Stop()
			if conn != nil {
				closeConn(conn)
			}
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// watch checks conn every poll while held lasts, cancelling held when the
// check fails, and unlocks and closes conn when held ends. It alone uses
// conn, which is not safe for concurrent use.
func (l *Lock) watch(held context.Context, cancel context.CancelCauseFunc, conn *pgx.Conn) {
	defer closeConn(conn)
	t := time.NewTicker(l.poll)
	defer t.Stop()
	for {
		select {
		case <-held.Done():
			l.unlock(conn)
			l.log.Info("advisory lock released", "cause", context.Cause(held).Error())
			return
		case <-t.C:
		}
		ctx, stop := context.WithTimeout(held, max(l.poll, minPingTimeout))
		err := conn.Ping(ctx)
		stop()
		if err != nil && held.Err() == nil {
			err = fmt.Errorf("advisory lock %d lost: %w", l.key, err)
			l.log.Warn("advisory lock lost", "err", err)
			cancel(err)
			return
		}
	}
}

// unlock frees the lock explicitly, so that the next holder need not wait
// for the server to notice the session has ended.
func (l *Lock) unlock(conn *pgx.Conn) {
	const q = `SELECT pg_advisory_unlock($1)`
	if conn.IsClosed() {
		return // the session, and the lock with it, is gone already
	}
	ctx, cancel := context.WithTimeout(context.Background(), max(l.poll, minPingTimeout))
	defer cancel()
	if _, err := conn.Exec(ctx, q, l.key); err != nil {
		l.log.Warn("advisory lock: unlock failed; closing the session frees it", "err", err)
	}
}

// closeConn closes conn within a bounded time, whatever the caller's
// context: it runs when that context has ended, too.
func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}

// redact returns err's message on one line with the password masked, as
// connectError does for start-up errors: these end up in logs.
func (l *Lock) redact(err error) string {
	msg := oneLine(err.Error())
	if l.cfg.Password != "" {
		msg = strings.ReplaceAll(msg, l.cfg.Password, "xxxxx")
	}
	return msg
}
