package pubsub

import (
	"context"
	"slices"
	"sync"
)

// Local is the in-process Bus: publishers and subscribers share one
// process. It runs no goroutines of its own; a subscription waiting for its
// context to end costs none either.
//
// Publish hands the payload to each subscriber's buffer and returns: it
// never waits for a reader. A subscriber whose buffer is full loses its
// oldest queued payload (see Subscription).
type Local struct {
	buffer int

	mu     sync.RWMutex
	closed bool
	// topics maps a topic to its subscribers. The slices are never modified
	// in place (copy on write), so Publish can deliver to a snapshot
	// without holding mu while subscribers come and go.
	topics map[string][]*Subscription
}

var _ Bus = (*Local)(nil)

// NewLocal returns an in-process bus whose subscriptions each hold up to
// buffer payloads (DefaultBuffer when buffer < 1).
func NewLocal(buffer int) *Local {
	if buffer < 1 {
		buffer = DefaultBuffer
	}
	return &Local{buffer: buffer, topics: map[string][]*Subscription{}}
}

// Publish delivers payload to every current subscriber of topic. It never
// blocks on a subscriber.
func (b *Local) Publish(ctx context.Context, topic string, payload []byte) error {
	if topic == "" {
		return errEmptyTopic
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.RLock()
	closed, subs := b.closed, b.topics[topic]
	b.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	for _, s := range subs {
		s.deliver(payload)
	}
	return nil
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
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, ErrClosed
	}
	subs := b.topics[topic]
	b.topics[topic] = append(subs[:len(subs):len(subs)], s)
	b.mu.Unlock()
	s.watch(ctx)
	return s, nil
}

// detach removes s from its topic.
func (b *Local) detach(s *Subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	subs := b.topics[s.topic]
	i := slices.Index(subs, s)
	if i < 0 {
		return
	}
	if len(subs) == 1 {
		delete(b.topics, s.topic)
		return
	}
	b.topics[s.topic] = slices.Delete(slices.Clone(subs), i, i+1)
}

// Close ends every subscription; Publish and Subscribe then return
// ErrClosed.
func (b *Local) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	topics := b.topics
	b.topics = map[string][]*Subscription{}
	b.mu.Unlock()
	for _, subs := range topics {
		for _, s := range subs {
			s.Close()
		}
	}
	return nil
}

// Subscribers returns how many subscriptions topic has now: for tests and
// metrics.
func (b *Local) Subscribers(topic string) int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.topics[topic])
}
