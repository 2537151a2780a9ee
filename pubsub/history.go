package pubsub

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultRetentionTTL is how long the Redis bus keeps a topic's history
// after its last publish when Retention.TTL is zero. It only has to outlast
// a pause of the publisher (an ingest takeover, a restart): the history
// stays bounded by Retention.Count whatever the TTL. A day is generous on
// purpose, since the newest retained payload is what lets a new publisher
// continue a stream's numbering.
const DefaultRetentionTTL = 24 * time.Hour

// Retention is how much recent history a bus keeps per topic, so that a
// subscriber that comes back can catch up on what it missed (Bus.History).
// The zero value keeps nothing.
type Retention struct {
	// Count is how many of the newest payloads each retained topic keeps;
	// below 1, none (History is always empty).
	Count int
	// Prefixes limits retention to the topics beginning with one of them;
	// empty retains every topic. Retaining only what somebody replays keeps
	// the others as cheap to publish as before.
	Prefixes []string
	// TTL is, on the Redis bus, how long a topic's history outlives its
	// last publish (DefaultRetentionTTL when zero). The in-process bus
	// keeps its histories for as long as it lives.
	TTL time.Duration
}

// keeps reports whether topic has a history under r.
func (r Retention) keeps(topic string) bool {
	if r.Count < 1 {
		return false
	}
	if len(r.Prefixes) == 0 {
		return true
	}
	return slices.ContainsFunc(r.Prefixes, func(p string) bool { return strings.HasPrefix(topic, p) })
}

// ttl is r.TTL or its default.
func (r Retention) ttl() time.Duration {
	if r.TTL > 0 {
		return r.TTL
	}
	return DefaultRetentionTTL
}

// rings is the in-process history: a ring of the newest payloads per
// retained topic. A ring grows as payloads arrive, up to the count, so a
// large count costs nothing until it is used.
type rings struct {
	retain Retention
	mu     sync.Mutex
	topics map[string]*ring
}

// ring holds up to cap(buf) payloads; once full, next is the oldest.
type ring struct {
	buf  [][]byte
	next int
}

func newRings(r Retention) *rings {
	return &rings{retain: r, topics: map[string]*ring{}}
}

// add records payload as the newest of topic, forgetting the oldest beyond
// the count. Topics that are not retained are ignored.
func (h *rings) add(topic string, payload []byte) {
	if !h.retain.keeps(topic) {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.topics[topic]
	if r == nil {
		r = &ring{}
		h.topics[topic] = r
	}
	if len(r.buf) < h.retain.Count {
		r.buf = append(r.buf, payload)
		return
	}
	r.buf[r.next] = payload
	r.next = (r.next + 1) % len(r.buf)
}

// get returns up to max of the newest payloads of topic (all when max < 1),
// oldest first, in a slice of its own.
func (h *rings) get(topic string, max int) [][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.topics[topic]
	if r == nil {
		return nil
	}
	n := len(r.buf)
	if max < 1 || max > n {
		max = n
	}
	out := make([][]byte, 0, max)
	for i := n - max; i < n; i++ {
		out = append(out, r.buf[(r.next+i)%n])
	}
	return out
}
