package resolvers

import (
	"context"
	"encoding/json"
	"log/slog"
	"reflect"
	"time"

	"github.com/marketgraph/marketgraph/pubsub"
)

// pump moves the events of several bus subscriptions to one subscription
// channel gqlgen reads. It runs in one goroutine per GraphQL subscription,
// however many topics it reads, and never waits on the bus: while the client
// is slow, events wait here, bounded, instead.
//
// Events with the same key coalesce: a newer one replaces the one still
// waiting, so a slow client of price ticks gets the newest tick per asset
// rather than a growing queue. Keys that never repeat (signal ids) queue up
// to max, the oldest dropped beyond that.
type pump[T any] struct {
	subs []*pubsub.Subscription
	out  chan<- T
	log  *slog.Logger
	// decode turns a payload into an event; ok false skips it.
	decode func(payload []byte) (ev T, key string, ok bool)
	// prepare runs just before an event is sent (a currency conversion);
	// ok false skips it. nil sends events as they are.
	prepare func(ctx context.Context, ev T) (T, bool)
	// interval, when positive, holds events back so that at most one batch
	// is released per interval: at most one event per key per interval,
	// the newest.
	interval time.Duration
	// max bounds the events waiting to be sent.
	max int
	// backlog is sent before any event from the bus, in order and in full,
	// neither prepared, coalesced nor throttled: the ticks a resumed
	// subscription replays. Events arriving meanwhile wait as usual.
	backlog []T
}

// queue is events by key in arrival order of their keys.
type queue[T any] struct {
	order []string
	byKey map[string]T
}

func newQueue[T any]() queue[T] { return queue[T]{byKey: map[string]T{}} }

// put adds ev, replacing the waiting event of the same key; beyond max keys
// the oldest is dropped.
func (q *queue[T]) put(key string, ev T, max int) {
	if _, ok := q.byKey[key]; !ok {
		if len(q.order) >= max {
			delete(q.byKey, q.order[0])
			q.order = q.order[1:]
		}
		q.order = append(q.order, key)
	}
	q.byKey[key] = ev
}

func (q *queue[T]) len() int { return len(q.order) }

// head returns the oldest key's event without removing it.
func (q *queue[T]) head() T { return q.byKey[q.order[0]] }

// pop removes the oldest key's event.
func (q *queue[T]) pop() {
	delete(q.byKey, q.order[0])
	q.order = q.order[1:]
}

// Fixed positions in the select cases of run.
const (
	caseDone = iota
	caseTimer
	caseSend
	caseSubs
)

// run pumps until ctx ends or a bus subscription ends (the bus closed), then
// releases every subscription and closes out, which completes the GraphQL
// subscription.
func (p *pump[T]) run(ctx context.Context) {
	defer close(p.out)
	defer func() {
		for _, s := range p.subs {
			s.Close()
		}
	}()
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	held, ready := newQueue[T](), newQueue[T]()
	// One select over every topic keeps this at one goroutine per
	// subscription; reflect.Select is the only way to wait on a number of
	// channels known at run time.
	cases := make([]reflect.SelectCase, caseSubs+len(p.subs))
	cases[caseDone] = reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())}
	cases[caseTimer] = reflect.SelectCase{Dir: reflect.SelectRecv}
	cases[caseSend] = reflect.SelectCase{Dir: reflect.SelectSend}
	for i, s := range p.subs {
		cases[caseSubs+i] = reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(s.C)}
	}
	// offered is the key of the event caseSend offers, "" when it offers
	// none: an event is prepared once, not again at every wake-up.
	offered := ""
	put := func(key string, ev T) {
		if key == offered {
			offered = "" // a newer event replaces the one offered
		}
		ready.put(key, ev, p.max)
		if offered != "" && ready.order[0] != offered {
			offered = "" // the queue was full and dropped it
		}
	}
	backlog := p.backlog
	p.backlog = nil
	for {
		if len(backlog) > 0 {
			cases[caseSend].Chan = reflect.ValueOf(p.out)
			cases[caseSend].Send = reflect.ValueOf(backlog[0])
		}
		for len(backlog) == 0 && offered == "" && ready.len() > 0 {
			ev, ok := ready.head(), true
			if p.prepare != nil {
				ev, ok = p.prepare(ctx, ev)
			}
			if ok {
				offered = ready.order[0]
				cases[caseSend].Chan = reflect.ValueOf(p.out)
				cases[caseSend].Send = reflect.ValueOf(ev)
				break
			}
			ready.pop()
		}
		if len(backlog) == 0 && offered == "" {
			cases[caseSend].Chan = reflect.Value{} // a zero Chan disables the case
		}
		if ctx.Err() != nil {
			return
		}
		chosen, v, ok := reflect.Select(cases)
		switch chosen {
		case caseDone:
			return
		case caseTimer:
			cases[caseTimer].Chan = reflect.Value{}
			for held.len() > 0 {
				k := held.order[0]
				put(k, held.byKey[k])
				held.pop()
			}
		case caseSend:
			if len(backlog) > 0 {
				var zero T
				backlog[0] = zero // sent: let it go
				backlog = backlog[1:]
				continue
			}
			ready.pop()
			offered = ""
		default:
			if !ok {
				return // the bus closed
			}
			ev, key, ok := p.decode(v.Bytes())
			if !ok {
				continue
			}
			if p.interval <= 0 {
				put(key, ev)
				continue
			}
			held.put(key, ev, p.max)
			if !cases[caseTimer].Chan.IsValid() {
				if timer == nil {
					timer = time.NewTimer(p.interval)
				} else {
					timer.Reset(p.interval)
				}
				cases[caseTimer].Chan = reflect.ValueOf(timer.C)
			}
		}
	}
}

// decodeJSON decodes a bus payload into a new T, logging what does not
// decode: a payload of another version, or a bug in a publisher.
func decodeJSON[T any](log *slog.Logger, payload []byte) (*T, bool) {
	v := new(T)
	if err := json.Unmarshal(payload, v); err != nil {
		log.Warn("subscription: undecodable bus payload skipped", "error", err.Error())
		return nil, false
	}
	return v, true
}
