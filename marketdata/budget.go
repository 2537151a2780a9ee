package marketdata

import (
	"sync"
	"time"
)

// budget paces upstream calls so the server never earns the provider's
// 429: a token bucket (perMinute tokens a minute, up to burst saved) for
// even pacing, and a hard cap of perMinute calls in any 60 s window. The
// bucket alone would let burst + perMinute calls through in the first
// minute after an idle spell, and a provider's plan counts per minute.
//
// Calls reserve a slot, possibly in the future, and sleep until it comes:
// reservations are handed out in time order, so waiting callers are served
// first come first served. A reservation nobody uses (its caller gave up
// while sleeping) is not refunded; the budget errs on the provider's side.
type budget struct {
	interval time.Duration // one token's refill time: a minute / perMinute
	burst    float64

	mu       sync.Mutex
	tokens   float64
	refilled time.Time   // when tokens was last brought up to date
	recent   []time.Time // ring of the last perMinute slots reserved
	next     int         // recent[next] is the oldest slot once full
	full     bool
	last     time.Time // the latest slot reserved
	hold     time.Time // no slot before this (the provider asked to wait)
}

// newBudget returns a budget of perMinute calls a minute, burst of them at
// once; nil (no limit) when perMinute ≤ 0.
func newBudget(perMinute, burst int) *budget {
	if perMinute <= 0 {
		return nil
	}
	burst = min(max(burst, 1), perMinute)
	return &budget{
		interval: time.Minute / time.Duration(perMinute),
		burst:    float64(burst),
		tokens:   float64(burst),
		recent:   make([]time.Time, perMinute),
	}
}

// reserve books the earliest slot at or after now, and returns it; ok is
// false, and nothing is booked, when that slot would be after deadline.
func (b *budget) reserve(now, deadline time.Time) (slot time.Time, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.refilled.IsZero() {
		b.refilled = now
	}
	tokens := b.tokens
	if now.After(b.refilled) {
		tokens = min(b.burst, tokens+float64(now.Sub(b.refilled))/float64(b.interval))
	}
	tokens--
	slot = now
	if tokens < 0 {
		slot = now.Add(time.Duration(-tokens * float64(b.interval)))
	}
	slot = latest(slot, b.hold, b.last)
	if b.full {
		slot = latest(slot, b.recent[b.next].Add(time.Minute))
	}
	if slot.After(deadline) {
		return time.Time{}, false
	}
	b.tokens, b.refilled = tokens, latest(now, b.refilled)
	b.recent[b.next] = slot
	b.next = (b.next + 1) % len(b.recent)
	b.full = b.full || b.next == 0
	b.last = slot
	return slot, true
}

// holdUntil books no slot before t: the provider said when to come back.
func (b *budget) holdUntil(t time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.hold = latest(b.hold, t)
}

// latest returns the latest of ts.
func latest(t time.Time, ts ...time.Time) time.Time {
	for _, u := range ts {
		if u.After(t) {
			t = u
		}
	}
	return t
}
