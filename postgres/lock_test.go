package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/marketgraph/marketgraph/postgres"
)

// Polls are short so the tests run fast; patience is how long a test waits
// for something that must happen, far longer than it should take, so that
// a slow machine cannot fail them.
const (
	testPoll = 50 * time.Millisecond
	patience = 15 * time.Second
)

// acquisition is the outcome of one Acquire.
type acquisition struct {
	held    context.Context
	release func()
	err     error
}

// acquireAsync runs l.Acquire(ctx) in the background.
func acquireAsync(ctx context.Context, l *postgres.Lock) <-chan acquisition {
	ch := make(chan acquisition, 1)
	go func() {
		held, release, err := l.Acquire(ctx)
		ch <- acquisition{held, release, err}
	}()
	return ch
}

// await returns the outcome of an Acquire, failing t if there is none
// within patience. A successful acquisition is released when t ends.
func await(t *testing.T, ch <-chan acquisition) acquisition {
	t.Helper()
	select {
	case a := <-ch:
		if a.err == nil {
			t.Cleanup(a.release)
		}
		return a
	case <-time.After(patience):
		t.Fatalf("Acquire has not returned after %s", patience)
		return acquisition{}
	}
}

// mustAcquire acquires l, failing t if it cannot within patience. The
// context has no deadline: the held context would inherit it.
func mustAcquire(t *testing.T, l *postgres.Lock) acquisition {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	a := await(t, acquireAsync(ctx, l))
	if a.err != nil {
		t.Fatalf("Acquire: %v", a.err)
	}
	return a
}

// stillWaiting fails t if ch delivers within a few polls: the lock it waits
// for is held by someone else.
func stillWaiting(t *testing.T, ch <-chan acquisition, why string) {
	t.Helper()
	select {
	case a := <-ch:
		if a.err == nil {
			a.release()
		}
		t.Fatalf("Acquire returned (err %v) while %s", a.err, why)
	case <-time.After(10 * testPoll):
	}
}

// waitDone fails t unless ctx ends within patience.
func waitDone(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	select {
	case <-ctx.Done():
	case <-time.After(patience):
		t.Fatalf("%s: held context not cancelled after %s", what, patience)
	}
}

// adminConn is a third connection to the database, for looking at locks and
// killing sessions.
func adminConn(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// holder returns the pid of the session holding advisory lock key (whose
// high 32 bits are zero in these tests), or 0.
func holder(t *testing.T, admin *pgx.Conn, key int64) int {
	t.Helper()
	const q = `SELECT coalesce(max(pid), 0) FROM pg_locks
WHERE locktype = 'advisory' AND granted AND classid = 0 AND objid = $1 AND objsubid = 1
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`
	var pid int
	if err := admin.QueryRow(context.Background(), q, key).Scan(&pid); err != nil {
		t.Fatalf("holder: %v", err)
	}
	return pid
}

// lockSessions counts the lock's connections to the test database.
func lockSessions(t *testing.T, admin *pgx.Conn) int {
	t.Helper()
	const q = `SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND application_name = 'marketgraph lock'`
	var n int
	if err := admin.QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("lockSessions: %v", err)
	}
	return n
}

// eventually fails t unless cond holds within patience.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not so after %s", what, patience)
		}
		time.Sleep(testPoll)
	}
}

func TestLock_OneHolder(t *testing.T) {
	db, url := newDBWithURL(t, nil)
	admin := adminConn(t, url)
	const key = 42
	first := mustAcquire(t, db.AdvisoryLock(key, testPoll, nil))
	firstPID := holder(t, admin, key)
	if firstPID == 0 {
		t.Fatal("no session holds the lock after Acquire")
	}

	waiting := acquireAsync(context.Background(), db.AdvisoryLock(key, testPoll, nil))
	stillWaiting(t, waiting, "another lock holds the key")

	first.release()
	if first.held.Err() == nil {
		t.Error("held context still live after release")
	}
	second := await(t, waiting)
	if second.err != nil {
		t.Fatalf("second Acquire: %v", second.err)
	}
	if pid := holder(t, admin, key); pid == 0 || pid == firstPID {
		t.Errorf("lock held by pid %d after the first released it (pid %d)", pid, firstPID)
	}
	t.Run("ReleaseTwice", func(t *testing.T) { first.release() })
}

func TestLock_Failover(t *testing.T) {
	db, url := newDBWithURL(t, nil)
	admin := adminConn(t, url)
	const key = 43
	l1 := db.AdvisoryLock(key, testPoll, nil)
	first := mustAcquire(t, l1)
	firstPID := holder(t, admin, key)
	waiting := acquireAsync(context.Background(), db.AdvisoryLock(key, testPoll, nil))
	stillWaiting(t, waiting, "the first holder is alive")

	killed := time.Now()
	if _, err := admin.Exec(context.Background(), `SELECT pg_terminate_backend($1)`, firstPID); err != nil {
		t.Fatalf("pg_terminate_backend: %v", err)
	}
	waitDone(t, first.held, "after the holder's session was killed")
	t.Logf("loss noticed %s after the kill (poll %s)", time.Since(killed).Round(time.Millisecond), testPoll)
	if cause := context.Cause(first.held); errors.Is(cause, context.Canceled) || errors.Is(cause, context.DeadlineExceeded) {
		t.Errorf("cause of the loss: %v, want the lost connection", cause)
	}
	second := await(t, waiting)
	if second.err != nil {
		t.Fatalf("second Acquire: %v", second.err)
	}
	t.Logf("taken over %s after the kill", time.Since(killed).Round(time.Millisecond))
	secondPID := holder(t, admin, key)
	if secondPID == 0 || secondPID == firstPID {
		t.Fatalf("lock held by pid %d, want the second lock's session", secondPID)
	}
	// Releasing a lost lock must not disturb the new holder.
	first.release()
	if pid := holder(t, admin, key); pid != secondPID {
		t.Errorf("after releasing the lost lock, holder %d, want %d", pid, secondPID)
	}

	t.Run("AcquireAgainAfterLoss", func(t *testing.T) {
		again := acquireAsync(context.Background(), l1)
		stillWaiting(t, again, "the second lock holds the key")
		second.release()
		if a := await(t, again); a.err != nil {
			t.Fatalf("Acquire after a loss: %v", a.err)
		}
	})
}

func TestLock_DifferentKeys(t *testing.T) {
	db := newDB(t, nil)
	a := mustAcquire(t, db.AdvisoryLock(1, testPoll, nil))
	b := mustAcquire(t, db.AdvisoryLock(2, testPoll, nil))
	if a.held.Err() != nil || b.held.Err() != nil {
		t.Errorf("held contexts ended: %v, %v", a.held.Err(), b.held.Err())
	}
}

func TestLock_CancelWhileWaiting(t *testing.T) {
	db, url := newDBWithURL(t, nil)
	admin := adminConn(t, url)
	const key = 44
	first := mustAcquire(t, db.AdvisoryLock(key, testPoll, nil))

	ctx, cancel := context.WithCancel(context.Background())
	waiting := acquireAsync(ctx, db.AdvisoryLock(key, testPoll, nil))
	eventually(t, "the waiting lock has its session", func() bool { return lockSessions(t, admin) == 2 })
	cancel()
	a := await(t, waiting)
	if !errors.Is(a.err, context.Canceled) {
		t.Fatalf("Acquire after cancel: %v, want context.Canceled", a.err)
	}
	if a.held != nil || a.release != nil {
		t.Errorf("Acquire returned a held context or release func alongside its error")
	}
	eventually(t, "the waiting lock's session is closed", func() bool { return lockSessions(t, admin) == 1 })

	first.release()
	eventually(t, "every lock session is closed after release", func() bool { return lockSessions(t, admin) == 0 })
	mustAcquire(t, db.AdvisoryLock(key, testPoll, nil))
}

func TestLock_ParentContextEnds(t *testing.T) {
	db, url := newDBWithURL(t, nil)
	admin := adminConn(t, url)
	const key = 45
	ctx, cancel := context.WithCancel(context.Background())
	held, release, err := db.AdvisoryLock(key, testPoll, nil).Acquire(ctx)
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	defer release()
	cancel()
	waitDone(t, held, "after the parent context ended")
	// The lock is freed without release being called.
	mustAcquire(t, db.AdvisoryLock(key, testPoll, nil))
	if holder(t, admin, key) == 0 {
		t.Error("no session holds the lock")
	}
}
