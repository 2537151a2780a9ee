package marketdata

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"time"

	"github.com/marketgraph/marketgraph"
)

// RetryAfterError is an upstream error that knows whether the same call may
// succeed later and how long the provider asked callers to wait. Provider
// clients return errors implementing it (an HTTP 429 or 5xx is temporary; a
// 429's Retry-After is its delay); Resilient finds it with errors.As, so it
// may be wrapped.
type RetryAfterError interface {
	error
	// RetryAfterDelay is how long the provider asked callers to wait
	// before trying again; 0 when it did not say.
	RetryAfterDelay() time.Duration
	// IsTemporary reports whether retrying the same call may succeed.
	IsTemporary() bool
}

// fly makes flight f's upstream call, records its answer in the cache,
// and releases its waiters. It runs in its own goroutine, detached from
// the cancellation of the caller that started it (whose context values it
// keeps, for logs and traces): waiters leave on their own contexts, and the
// call is bounded by CallTimeout instead.
func (r *Resilient) fly(parent context.Context, f *flight, currency marketgraph.Currency) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), r.cfg.CallTimeout)
	defer cancel()
	// The deadline again on the configured clock, for the waits that
	// clock decides (budget, backoff).
	deadline := r.cfg.Now().Add(r.cfg.CallTimeout)
	quotes, err := r.call(ctx, deadline, f.ids, currency)

	now := r.cfg.Now()
	r.mu.Lock()
	if err == nil {
		r.cache.store(f.ids, currency, quotes, now)
	}
	for _, id := range f.ids {
		delete(r.inflight, cacheKey{id, currency})
	}
	r.mu.Unlock()
	f.quotes, f.err = quotes, err
	close(f.done)
}

// call asks the provider for ids, retrying temporary failures while the
// breaker, the budget and the deadline allow.
func (r *Resilient) call(ctx context.Context, deadline time.Time, ids []string, currency marketgraph.Currency) (map[string]*marketgraph.Quote, error) {
	var last error // the latest upstream failure: more telling than what stopped the retries
	for retry := 0; ; retry++ {
		ok, probe := r.breaker.allow()
		if !ok {
			if last != nil {
				return nil, last
			}
			return nil, marketgraph.Errorf(marketgraph.EUPSTREAM, "market data provider unavailable (circuit open)")
		}
		if err := r.spend(ctx, deadline); err != nil {
			r.breaker.release(probe)
			if last != nil {
				return nil, last
			}
			return nil, err
		}
		quotes, err := r.attempt(ctx, ids, currency)
		if err == nil {
			r.breaker.success()
			return quotes, nil
		}
		if marketgraph.ErrorCode(err) == marketgraph.EBADINPUT {
			r.breaker.release(probe) // our question was wrong, not the provider
			return nil, err
		}
		last = upstreamError(err)
		r.breaker.failure(marketgraph.ErrorMessage(last))
		r.log.Warn("market data call failed", "currency", currency, "ids", len(ids), "attempt", retry+1, "error", err)

		temp, after := temporary(err)
		if after > 0 && r.budget != nil {
			// For every call, not just this one; but no longer than the
			// breaker's cooldown: a provider asking for hours (or a bogus
			// header) would otherwise silence us while /readyz looks
			// healthy. A call after the cap risks one more 429, which
			// holds again.
			r.budget.holdUntil(r.cfg.Now().Add(min(after, r.cfg.BreakerCooldown)))
		}
		if !temp || retry >= r.cfg.MaxRetries || ctx.Err() != nil {
			return nil, last
		}
		wait := r.backoff(retry, after)
		if r.cfg.Now().Add(wait).After(deadline) {
			return nil, last // the provider's wait outlasts ours: answer stale now
		}
		if r.cfg.Sleep(ctx, wait) != nil {
			return nil, last
		}
	}
}

// attempt is one upstream call. A panicking provider fails the call
// instead of the process: the call runs in a goroutine of ours.
func (r *Resilient) attempt(ctx context.Context, ids []string, currency marketgraph.Currency) (quotes map[string]*marketgraph.Quote, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("market data provider panicked: %v", p)
		}
	}()
	return r.p.Quotes(ctx, ids, currency)
}

// spend takes one call from the budget, waiting for it if need be; it
// fails at once if no call can be had before deadline.
func (r *Resilient) spend(ctx context.Context, deadline time.Time) error {
	if r.budget == nil {
		return nil
	}
	now := r.cfg.Now()
	slot, ok := r.budget.reserve(now, deadline)
	if !ok {
		r.log.Warn("market data call budget exhausted", "callsPerMinute", r.cfg.CallsPerMinute)
		return marketgraph.Errorf(marketgraph.EUPSTREAM, "market data provider call budget exhausted")
	}
	if err := r.cfg.Sleep(ctx, slot.Sub(now)); err != nil {
		return upstreamError(err)
	}
	return nil
}

// backoff is the wait before retry number retry+1: full jitter, uniform in
// [0, min(BackoffMax, BackoffBase·2^retry)], and at least after, the
// provider's Retry-After.
func (r *Resilient) backoff(retry int, after time.Duration) time.Duration {
	ceil := max(r.cfg.BackoffMax, 0)
	if retry < 62 {
		if d := r.cfg.BackoffBase << retry; d > 0 && d < ceil {
			ceil = d
		}
	}
	return max(rand.N(ceil+1), after)
}

// temporary reports whether err is worth retrying, and the wait the
// provider asked for. Cancellation and deadlines never are: the deadline
// is the whole call's, and an attempt that used it up leaves no time.
func temporary(err error) (retry bool, after time.Duration) {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false, 0
	}
	var ra RetryAfterError
	if errors.As(err, &ra) {
		return ra.IsTemporary(), max(ra.RetryAfterDelay(), 0)
	}
	var ne net.Error
	return errors.As(err, &ne), 0
}

// upstreamError gives a provider failure the code UPSTREAM_UNAVAILABLE
// with a client-safe message, keeping the cause in the chain for logs. A
// provider's own UPSTREAM_UNAVAILABLE is kept as it is: its message is
// already safe, and more precise.
func upstreamError(err error) error {
	switch {
	case marketgraph.ErrorCode(err) == marketgraph.EUPSTREAM:
		return err
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %w", marketgraph.Errorf(marketgraph.EUPSTREAM, "market data provider timed out"), err)
	default:
		return fmt.Errorf("%w: %w", marketgraph.Errorf(marketgraph.EUPSTREAM, "market data provider unavailable"), err)
	}
}
