package marketdata

import (
	"context"
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
	// Tokens are counted at b.refilled, the instant of the latest slot (or
	// the latest call to reserve); the slot is when a whole token is there
	// for this call, or later if a hold, the previous slot or the 60 s cap
	// says so, and the bucket is then brought to the slot. Counting from
	// now instead would let a slot pushed back by a hold also spend the
	// tokens that accrued before it, so two calls could start at once
	// after a hold even with a burst of one.
	base := latest(now, b.refilled)
	tokens := min(b.burst, b.tokens+float64(base.Sub(b.refilled))/float64(b.interval))
	slot = base
	if tokens < 1 {
		slot = base.Add(time.Duration((1 - tokens) * float64(b.interval)))
	}
	slot = latest(slot, b.hold, b.last)
	if b.full {
		slot = latest(slot, b.recent[b.next].Add(time.Minute))
	}
	if slot.After(deadline) {
		return time.Time{}, false
	}
	b.tokens = min(b.burst, tokens+float64(slot.Sub(base))/float64(b.interval)) - 1
	b.refilled = slot
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

// Budget is the call budget for callers that pace themselves rather than
// go through Resilient, such as the batch commands that page through a
// provider's catalog and history: the same rule (perMinute calls a minute,
// burst at once, never more than perMinute in any 60 s) and the same
// Retry-After hold. With perMinute ≤ 0 calls are not limited, but a hold
// still applies. Safe for concurrent use.
type Budget struct {
	b *budget // nil: no limit

	mu   sync.Mutex
	hold time.Time // for the unlimited budget only; b keeps its own
}

// NewBudget returns a budget of perMinute calls a minute, burst of them at
// once (at least 1); unlimited when perMinute ≤ 0.
func NewBudget(perMinute, burst int) *Budget {
	return &Budget{b: newBudget(perMinute, burst)}
}

// Reserve books the next call for a caller ready at now and returns how
// long it must wait before making it.
func (b *Budget) Reserve(now time.Time) time.Duration {
	if b.b == nil {
		b.mu.Lock()
		defer b.mu.Unlock()
		return max(b.hold.Sub(now), 0)
	}
	slot, _ := b.b.reserve(now, time.Unix(1<<62, 0)) // no deadline
	return slot.Sub(now)
}

// HoldUntil makes no call start before t: the provider said when to come
// back.
func (b *Budget) HoldUntil(t time.Time) {
	if b.b == nil {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.hold = latest(b.hold, t)
		return
	}
	b.b.holdUntil(t)
}

// Wait returns when the next call may start, or with ctx's error when ctx
// ends first.
func (b *Budget) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return sleep(ctx, b.Reserve(time.Now()))
}
