package marketdata

import (
	"log/slog"
	"sync"
	"time"
)

// The states of a Resilient's circuit breaker, as Health reports them.
const (
	// BreakerClosed: calls go upstream.
	BreakerClosed = "closed"
	// BreakerOpen: calls fail fast without reaching the provider, until the
	// cooldown has passed.
	BreakerOpen = "open"
	// BreakerHalfOpen: the cooldown has passed; the next call is a probe,
	// and other calls fail fast while it is in flight.
	BreakerHalfOpen = "half-open"
)

// breaker is a consecutive-failure circuit breaker. A provider that is down
// answers slowly or not at all; asking it anyway makes every request wait
// for a timeout and adds load to a service that is trying to recover.
// After threshold failures in a row the breaker opens, and for cooldown
// calls fail at once (and are answered stale). Then a single probe goes
// through: its success closes the breaker, its failure opens it again.
type breaker struct {
	threshold int
	cooldown  time.Duration
	now       func() time.Time
	log       *slog.Logger

	mu          sync.Mutex
	state       string
	failures    int
	openedAt    time.Time
	probing     bool // a half-open probe is in flight
	lastErr     string
	lastSuccess time.Time
}

func newBreaker(threshold int, cooldown time.Duration, now func() time.Time, log *slog.Logger) *breaker {
	return &breaker{threshold: threshold, cooldown: cooldown, now: now, log: log, state: BreakerClosed}
}

// allow reports whether a call may go upstream now. probe is true when the
// call is the half-open probe: its caller must then report success,
// failure or release, or no other call would ever be allowed.
func (b *breaker) allow() (ok, probe bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case BreakerClosed:
		return true, false
	case BreakerOpen:
		if b.now().Sub(b.openedAt) < b.cooldown {
			return false, false
		}
		b.set(BreakerHalfOpen)
	}
	if b.probing {
		return false, false
	}
	b.probing = true
	return true, true
}

// release ends an allowed call that never reached the provider (the budget
// ran out, or the caller's input was at fault): it says nothing about the
// provider's health.
func (b *breaker) release(probe bool) {
	if !probe {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
}

// success records that the provider answered: the breaker closes.
func (b *breaker) success() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures, b.probing, b.lastErr = 0, false, ""
	b.lastSuccess = b.now()
	if b.state != BreakerClosed {
		b.set(BreakerClosed)
	}
}

// failure records a failed upstream call; msg is its client-safe message.
func (b *breaker) failure(msg string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures++
	b.probing, b.lastErr = false, msg
	if b.state == BreakerHalfOpen || (b.state == BreakerClosed && b.failures >= b.threshold) {
		b.openedAt = b.now()
		b.set(BreakerOpen)
	}
}

// set moves to state and logs the transition, once.
func (b *breaker) set(state string) {
	b.state = state
	switch state {
	case BreakerOpen:
		b.log.Warn("market data circuit opened", "failures", b.failures, "cooldown", b.cooldown, "error", b.lastErr)
	case BreakerHalfOpen:
		b.log.Info("market data circuit half-open: probing the provider")
	case BreakerClosed:
		b.log.Info("market data circuit closed")
	}
}

// health reports the breaker as the next call would find it: open with its
// cooldown over reads half-open.
func (b *breaker) health() Health {
	b.mu.Lock()
	defer b.mu.Unlock()
	state := b.state
	if state == BreakerOpen && b.now().Sub(b.openedAt) >= b.cooldown {
		state = BreakerHalfOpen
	}
	return Health{
		Breaker:             state,
		ConsecutiveFailures: b.failures,
		LastError:           b.lastErr,
		LastSuccess:         b.lastSuccess,
	}
}
