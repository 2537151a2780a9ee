package pubsub

import (
	"context"
)

// Local is the in-process Bus: publishers and subscribers share one
// process. It runs no goroutines of its own; a subscription waiting for its
// context to end costs none either.
//
// Publish hands the payload to each subscriber's buffer and returns: it
// never waits for a reader. A subscriber whose buffer is full loses its
// oldest queued payload (see Subscription). Topics its Retention keeps
// also record each payload in a ring of the newest, which History reads.
type Local struct {
	buffer int
	subs   fanout
	hist   *rings
}

var _ Bus = (*Local)(nil)

// NewLocal returns an in-process bus whose subscriptions each hold up to
// buffer payloads (DefaultBuffer when buffer < 1). It retains nothing:
// History is always empty.
func NewLocal(buffer int) *Local {
	return NewLocalRetaining(buffer, Retention{})
}

// NewLocalRetaining is NewLocal with a history: the newest r.Count payloads
// of each topic r keeps are recorded as they are published, whether or not
// anyone subscribes, and History returns them.
func NewLocalRetaining(buffer int, r Retention) *Local {
	if buffer < 1 {
		buffer = DefaultBuffer
	}
	return &Local{buffer: buffer, subs: newFanout(), hist: newRings(r)}
}

// Publish records payload in topic's history, if it has one, then delivers
// it to every current subscriber of topic. It never blocks on a subscriber.
func (b *Local) Publish(ctx context.Context, topic string, payload []byte) error {
	if topic == "" {
		return errEmptyTopic
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if b.subs.isClosed() {
		return ErrClosed
	}
	// Recording before delivering is what History's promise rests on: a
	// payload missing from a History answer was recorded after it, so it
	// is delivered after it too, to every subscription made before it.
	b.hist.add(topic, payload)
	return b.subs.deliver(topic, payload)
}

// History returns up to max of the newest payloads retained for topic,
// oldest first (all of them when max < 1).
func (b *Local) History(ctx context.Context, topic string, max int) ([][]byte, error) {
	if topic == "" {
		return nil, errEmptyTopic
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if b.subs.isClosed() {
		return nil, ErrClosed
	}
	return b.hist.get(topic, max), nil
}

// Subscribe subscribes to topic until ctx ends or the subscription or the
// bus is closed.
func (b *Local) Subscribe(ctx context.Context, topic string) (*Subscription, error) {
	if topic == "" {
		return nil, errEmptyTopic
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := newSubscription(topic, b.buffer, b.detach)
	if _, err := b.subs.add(s); err != nil {
		return nil, err
	}
	s.watch(ctx)
	return s, nil
}

// detach removes s from its topic.
func (b *Local) detach(s *Subscription) { b.subs.remove(s) }

// Close ends every subscription; Publish and Subscribe then return
// ErrClosed.
func (b *Local) Close() error {
	b.subs.close()
	return nil
}

// Subscribers returns how many subscriptions topic has now: for tests and
// metrics.
func (b *Local) Subscribers(topic string) int { return b.subs.count(topic) }
