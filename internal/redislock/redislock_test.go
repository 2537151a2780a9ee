package redislock_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/marketgraph/marketgraph/internal/redislock"
	"github.com/marketgraph/marketgraph/internal/redistest"
)

const poll = 50 * time.Millisecond

func client(t *testing.T, url string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	// As redisconn.Dial's bounded client: calls end at their deadline.
	opts.ContextTimeoutEnabled, opts.MaxRetries, opts.DialerRetries = true, -1, 1
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// key is a key of this test's own.
func key(t *testing.T) string {
	return fmt.Sprintf("marketgraph-test:lock:%s:%d", t.Name(), time.Now().UnixNano())
}

// acquired runs Acquire in the background and reports its result.
type acquired struct {
	held    context.Context
	release func()
	err     error
}

func acquire(ctx context.Context, l *redislock.Lock) <-chan acquired {
	ch := make(chan acquired, 1)
	go func() {
		held, release, err := l.Acquire(ctx)
		ch <- acquired{held, release, err}
	}()
	return ch
}

func within(t *testing.T, ch <-chan acquired, d time.Duration, what string) acquired {
	t.Helper()
	select {
	case a := <-ch:
		if a.err != nil {
			t.Fatalf("%s: %v", what, a.err)
		}
		return a
	case <-time.After(d):
		t.Fatalf("%s: not within %v", what, d)
	}
	return acquired{}
}

// One holder at a time: a second waits while the first holds the lock
// (renewing it past its expiry), and takes it once the first releases.
func TestLock_OneHolderAtATime(t *testing.T) {
	url := redistest.URL(t)
	k := key(t)
	a := redislock.New(client(t, url), k, poll, nil)
	b := redislock.New(client(t, url), k, poll, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := within(t, acquire(ctx, a), 5*time.Second, "the first")
	second := acquire(ctx, b)
	select {
	case <-second:
		t.Fatal("the second acquired a held lock")
	case <-time.After(10 * poll): // three polls is the key's expiry: renewals kept it
	}
	if first.held.Err() != nil {
		t.Fatalf("the first lost its lock: %v", context.Cause(first.held))
	}
	first.release()
	if !errors.Is(context.Cause(first.held), redislock.ErrReleased) {
		t.Errorf("released lock's cause: %v", context.Cause(first.held))
	}
	s := within(t, second, 5*time.Second, "the second, after the release")
	s.release()
}

// A holder cut off from Redis gives the lock up before its key expires,
// and another process takes it over after; the first learns it lost it.
func TestLock_HolderCutOffGivesUpBeforeTakeover(t *testing.T) {
	url := redistest.URL(t)
	proxy := redistest.NewProxy(t)
	k := key(t)
	a := redislock.New(client(t, proxy.URL()), k, poll, nil)
	b := redislock.New(client(t, url), k, poll, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := within(t, acquire(ctx, a), 5*time.Second, "the first")
	defer first.release()
	second := acquire(ctx, b)
	proxy.Stall()
	var lostAt time.Time
	select {
	case <-first.held.Done():
		lostAt = time.Now()
	case <-time.After(5 * time.Second):
		t.Fatal("the cut-off holder still believes it holds the lock")
	}
	if !errors.Is(context.Cause(first.held), redislock.ErrUnreachable) {
		t.Errorf("cause: %v, want ErrUnreachable", context.Cause(first.held))
	}
	s := within(t, second, 5*time.Second, "the takeover")
	defer s.release()
	if took := time.Now(); took.Before(lostAt) {
		t.Errorf("taken over at %v, before the holder gave up at %v", took, lostAt)
	}
}

// A holder whose key was taken (it expired during a long pause, and
// another process set it) learns it lost the lock at its next renewal.
func TestLock_KeyTakenIsLost(t *testing.T) {
	url := redistest.URL(t)
	c := client(t, url)
	k := key(t)
	a := redislock.New(c, k, poll, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := within(t, acquire(ctx, a), 5*time.Second, "the first")
	defer first.release()
	if err := c.Set(ctx, k, "someone else", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-first.held.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the holder did not notice its key was taken")
	}
	if !errors.Is(context.Cause(first.held), redislock.ErrLost) {
		t.Errorf("cause: %v, want ErrLost", context.Cause(first.held))
	}
	first.release() // must not delete the other holder's key
	if v, err := c.Get(ctx, k).Result(); err != nil || v != "someone else" {
		t.Errorf("after the loser's release the key is %q (%v)", v, err)
	}
	c.Del(ctx, k)
}

// Acquire waits while Redis is away and takes the lock when it is back; it
// ends with the context.
func TestLock_WaitsForRedis(t *testing.T) {
	proxy := redistest.NewProxy(t)
	k := key(t)
	a := redislock.New(client(t, proxy.URL()), k, poll, nil)
	proxy.Cut()
	ctx, cancel := context.WithCancel(context.Background())
	got := acquire(ctx, a)
	select {
	case r := <-got:
		t.Fatalf("acquired without Redis: %v", r.err)
	case <-time.After(5 * poll):
	}
	proxy.Restore()
	r := within(t, got, 5*time.Second, "after Redis came back")
	r.release()

	proxy.Cut()
	ended := acquire(ctx, a)
	cancel()
	select {
	case r := <-ended:
		if !errors.Is(r.err, context.Canceled) {
			t.Errorf("Acquire ended with %v, want the context's error", r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Acquire outlived its context")
	}
}
