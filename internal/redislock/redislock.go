// Package redislock elects one process among several through a Redis key,
// for deployments whose processes share Redis but no PostgreSQL (the
// memory store): the ingest pipeline's ingest.Lock.
//
// The holder sets the key to a token of its own, with an expiry of three
// polls, and renews it every poll only while the key still holds its token
// (one Lua call). A holder that cannot renew for two polls gives the lock
// up before the key can expire, so two processes never both believe they
// hold it (clocks are not compared: each side counts its own time); one
// that dies or freezes stops renewing, and another process takes over
// within about three polls.
package redislock

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// Lock is one key's lock. Acquire it; it is safe to Acquire again after a
// loss, not to hold it twice at once.
type Lock struct {
	client *redis.Client
	key    string
	poll   time.Duration
	ttl    time.Duration
	log    *slog.Logger
}

// Errors a held context ends with (context.Cause).
var (
	// ErrLost: the key no longer holds this process's token (it expired
	// and another process took it, or someone deleted it).
	ErrLost = errors.New("redislock: the lock is held by another process now")
	// ErrUnreachable: Redis did not answer the renewals for two polls;
	// the lock is given up before its key may expire.
	ErrUnreachable = errors.New("redislock: Redis unreachable: the lock is given up before it expires")
	// ErrReleased: release was called.
	ErrReleased = errors.New("redislock: released")
)

// New returns the lock named key (the caller's prefix included) on client,
// which should honour call deadlines (redisconn.Dial's bounded client).
// Acquire retries every poll (1 s when poll is not positive), and a held
// lock is renewed as often; log receives acquisitions, losses and failures
// to reach Redis (nil discards them).
func New(client *redis.Client, key string, poll time.Duration, log *slog.Logger) *Lock {
	if poll <= 0 {
		poll = time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Lock{client: client, key: key, poll: poll, ttl: 3 * poll, log: log.With("lock", key)}
}

// renew extends the key's expiry while it holds the token: 1, else 0.
var renew = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 0`)

// unlock deletes the key while it holds the token.
var unlock = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("DEL", KEYS[1])
end
return 0`)

// Acquire blocks until the lock is held or ctx ends. It returns a context
// that is cancelled when the lock is lost (context.Cause says why: ErrLost,
// ErrUnreachable), when ctx ends, or when release is called; release stops
// the renewals and deletes the key if it still holds this holder's token.
// Failing to reach Redis is not an error: Acquire logs it and tries again
// every poll, as it does while another process holds the lock. Its only
// error is ctx's.
func (l *Lock) Acquire(ctx context.Context) (held context.Context, release func(), err error) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	t := time.NewTicker(l.poll)
	defer t.Stop()
	unreachable := false
	for {
		cctx, cancel := context.WithTimeout(ctx, l.poll)
		ok, err := l.client.SetNX(cctx, l.key, token, l.ttl).Result()
		cancel()
		switch {
		case err == nil && ok:
			l.log.Info("lock acquired")
			return l.hold(ctx, token)
		case err != nil && ctx.Err() == nil && !unreachable:
			unreachable = true
			l.log.Warn("lock: cannot reach Redis, retrying", "error", err.Error())
		case err == nil && unreachable:
			unreachable = false
			l.log.Info("lock: Redis reachable again")
		}
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-t.C:
		}
	}
}

// hold renews the held lock until it is lost or released. The holder gives
// the lock up when no renewal has succeeded by the key's expiry less a
// poll, counted from the start of the last successful call (the key
// expires no earlier), whether or not a renewal is still waiting for
// Redis: a client that does not honour the call's deadline cannot keep a
// holder believing it holds a lock that expired.
func (l *Lock) hold(ctx context.Context, token string) (context.Context, func(), error) {
	held, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(l.poll)
		defer t.Stop()
		giveUp := time.NewTimer(l.ttl - l.poll)
		defer giveUp.Stop()
		type result struct {
			start time.Time
			n     int
			err   error
		}
		results := make(chan result, 1)
		inFlight := false
		for {
			select {
			case <-held.Done():
				return
			case <-giveUp.C:
				l.log.Warn("lock given up: Redis did not answer the renewals in time")
				cancel(ErrUnreachable)
				return
			case <-t.C:
				if inFlight {
					continue
				}
				inFlight = true
				go func() {
					start := time.Now()
					rctx, rcancel := context.WithTimeout(held, l.poll)
					defer rcancel()
					n, err := renew.Run(rctx, l.client, []string{l.key}, token, l.ttl.Milliseconds()).Int()
					results <- result{start, n, err}
				}()
			case r := <-results:
				inFlight = false
				switch {
				case r.err == nil && r.n == 1:
					giveUp.Reset(time.Until(r.start.Add(l.ttl - l.poll)))
				case r.err == nil:
					l.log.Warn("lock lost: another process holds it")
					cancel(ErrLost)
					return
				}
			}
		}
	}()
	release := func() {
		cancel(ErrReleased)
		<-done
		rctx, rcancel := context.WithTimeout(context.Background(), l.poll)
		defer rcancel()
		_ = unlock.Run(rctx, l.client, []string{l.key}, token).Err()
	}
	return held, release, nil
}
