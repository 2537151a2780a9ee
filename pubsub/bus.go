// Package pubsub is the event bus the ingest pipeline publishes on and
// subscriptions read from: price ticks, new signals and, later, per-account
// events. Payloads are opaque bytes, encoded once by the publisher and
// shared by every subscriber, so a tick fanned out to ten thousand
// subscribers costs one encoding, not ten thousand.
//
// Local is the in-process bus. A Redis bus (several replicas) implements the
// same Bus interface: it holds one Redis subscription per topic and fans out
// to its local subscribers through the same Subscription type, so nothing
// above the bus changes when it arrives.
//
// Either bus can retain the newest payloads of some topics (Retention) and
// hand them out again (Bus.History): that is how a price-tick subscriber
// that reconnects catches up on the ticks it missed.
package pubsub

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// ErrClosed is returned by Publish and Subscribe once the bus is closed.
var ErrClosed = errors.New("pubsub: bus closed")

// errEmptyTopic is returned for the empty topic, almost certainly a bug in
// the caller rather than a topic anyone means.
var errEmptyTopic = errors.New("pubsub: empty topic")

// Bus carries payloads from publishers to the subscribers of a topic.
// Delivery is at most once and best effort: a subscriber that falls behind
// loses messages (how many is counted by Subscription.Dropped) rather than
// slowing the publisher or anyone else.
type Bus interface {
	// Publish sends payload to every current subscriber of topic without
	// waiting for any of them. The payload is shared, not copied: neither
	// the caller nor any subscriber may modify it afterwards. Returns
	// ErrClosed after Close, ctx.Err() when ctx is done, and, for buses
	// that cross the network, the transport's error.
	Publish(ctx context.Context, topic string, payload []byte) error
	// Subscribe starts receiving the payloads published on topic from now
	// on. The subscription ends, and its channel is closed, when ctx ends,
	// when Subscription.Close is called, or when the bus is closed. Returns
	// ErrClosed after Close and ctx.Err() when ctx is already done.
	Subscribe(ctx context.Context, topic string) (*Subscription, error)
	// History returns up to max of the newest payloads the bus retains for
	// topic (every retained one when max < 1), oldest first; none for a
	// topic its Retention does not keep. With Redis the history is shared
	// by every replica, so it survives the publisher moving to another
	// process.
	//
	// Subscribing to a topic and then calling History misses nothing in
	// between: a payload published too late to be in the answer is
	// delivered to every subscription to topic made before History was
	// called (subject, like any delivery, to a full buffer dropping its
	// oldest). A payload may be in both; payloads that carry their own
	// sequence numbers let the caller drop the overlap.
	//
	// Returns ErrClosed after Close, ctx.Err() when ctx is done, and, for
	// buses that cross the network, the transport's error.
	History(ctx context.Context, topic string, max int) ([][]byte, error)
	// Close ends every subscription and refuses further use. It is safe to
	// call more than once.
	Close() error
}

// DefaultBuffer is how many payloads a subscription holds when the bus is
// given no buffer size: about a minute of one asset's ticks at one per
// second.
const DefaultBuffer = 64

// Subscription is one subscriber's view of one topic. Read payloads from C
// until it is closed.
//
// C is bounded: when it is full and another payload arrives, the OLDEST
// payload waiting in it is discarded to make room and counted in Dropped. A
// subscriber that falls behind therefore sees the newest events and a gap,
// never an ever-growing queue, and never slows the publisher or the other
// subscribers. (Coalescing ticks per asset is the job of the subscription
// layer above; the bus only bounds memory.)
type Subscription struct {
	// C delivers payloads in the order one publisher published them. It is
	// closed when the subscription ends. Payloads are shared with every
	// other subscriber: read them, never modify them.
	C <-chan []byte

	topic   string
	ch      chan []byte
	dropped atomic.Uint64
	once    sync.Once
	// detach removes the subscription from whatever feeds it; it is called
	// once, by Close, without mu held.
	detach func(*Subscription)

	// mu serialises deliveries with each other and with closing, so that
	// nothing is ever sent on a closed channel and two publishers never
	// interleave a drop with a send.
	mu     sync.Mutex
	closed bool
	stop   func() bool // stops watching the subscriber's context
}

// newSubscription makes a subscription to topic holding up to buffer
// payloads; detach is called once when it ends.
func newSubscription(topic string, buffer int, detach func(*Subscription)) *Subscription {
	ch := make(chan []byte, buffer)
	return &Subscription{C: ch, topic: topic, ch: ch, detach: detach}
}

// watch ends s when ctx ends. It costs no goroutine while ctx is alive.
func (s *Subscription) watch(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// If ctx is already done, AfterFunc runs Close at once on its own
	// goroutine, which waits for mu: stop is set before Close reads it.
	s.stop = context.AfterFunc(ctx, s.Close)
}

// Topic returns the topic s receives.
func (s *Subscription) Topic() string { return s.topic }

// Dropped returns how many payloads were discarded because s was full.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// deliver queues payload without ever blocking: when the buffer is full, the
// oldest queued payload is dropped. It does nothing once s is closed.
func (s *Subscription) deliver(payload []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	for {
		select {
		case s.ch <- payload:
			return
		default:
		}
		// Full. The reader may empty a slot meanwhile, in which case
		// nothing is dropped and the next send succeeds; deliveries are
		// serialised by mu, so nobody else can fill it again.
		select {
		case <-s.ch:
			s.dropped.Add(1)
		default:
		}
	}
}

// Close ends the subscription: it stops receiving and C is closed, after
// the payloads already queued in it. It is safe to call more than once and
// from any goroutine.
func (s *Subscription) Close() {
	s.once.Do(func() {
		s.mu.Lock()
		stop := s.stop
		s.mu.Unlock()
		if stop != nil {
			stop()
		}
		s.detach(s)
		s.mu.Lock()
		s.closed = true
		close(s.ch)
		s.mu.Unlock()
	})
}
