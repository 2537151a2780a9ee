package pubsub

import (
	"slices"
	"sync"
)

// fanout is the set of subscriptions of each topic and the delivery of a
// payload to them. Local is a fanout and nothing more; Redis feeds one from
// its single Redis connection, so both buses hand payloads to subscribers
// the same way.
type fanout struct {
	mu     sync.RWMutex
	closed bool
	// topics maps a topic to its subscribers. The slices are never modified
	// in place (copy on write), so deliver can hand out to a snapshot
	// without holding mu while subscribers come and go.
	topics map[string][]*Subscription
}

func newFanout() fanout {
	return fanout{topics: map[string][]*Subscription{}}
}

// deliver gives payload to every current subscriber of topic without
// waiting for any of them.
func (f *fanout) deliver(topic string, payload []byte) error {
	f.mu.RLock()
	closed, subs := f.closed, f.topics[topic]
	f.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	for _, s := range subs {
		s.deliver(payload)
	}
	return nil
}

// add registers s under its topic and reports whether it is the topic's
// first subscriber.
func (f *fanout) add(s *Subscription) (first bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false, ErrClosed
	}
	subs := f.topics[s.topic]
	f.topics[s.topic] = append(subs[:len(subs):len(subs)], s)
	return len(subs) == 0, nil
}

// remove forgets s and reports whether its topic has no subscriber left
// because of it. Removing a subscription that is not there (the bus was
// closed meanwhile) reports false.
func (f *fanout) remove(s *Subscription) (last bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	subs := f.topics[s.topic]
	i := slices.Index(subs, s)
	if i < 0 {
		return false
	}
	if len(subs) == 1 {
		delete(f.topics, s.topic)
		return true
	}
	f.topics[s.topic] = slices.Delete(slices.Clone(subs), i, i+1)
	return false
}

// close refuses further use and ends every subscription. It reports false
// when f was already closed.
func (f *fanout) close() bool {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return false
	}
	f.closed = true
	topics := f.topics
	f.topics = map[string][]*Subscription{}
	f.mu.Unlock()
	// Outside mu: Close calls back into remove, which finds nothing.
	for _, subs := range topics {
		for _, s := range subs {
			s.Close()
		}
	}
	return true
}

// isClosed reports whether close was called.
func (f *fanout) isClosed() bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.closed
}

// count returns how many subscriptions topic has now.
func (f *fanout) count(topic string) int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return len(f.topics[topic])
}
