package auth

import "time"

// ttlCache maps strings to values that expire, holding at most max
// entries: when full, a new entry evicts the oldest one inserted. Eviction
// by insertion order (a ring of keys) costs nothing per hit and needs no
// sweeping, and it is all a cache of a few seconds needs: what matters is
// the bound, which keeps a flood of distinct keys from growing memory. It
// is not safe for concurrent use.
type ttlCache[V any] struct {
	max   int
	items map[string]ttlItem[V]
	// ring holds the key of every entry inserted, oldest at next once it
	// is full; overwriting a slot deletes its key from items, so items
	// never outgrows the ring. An expired entry stays until its slot is
	// reused or its key is put again.
	ring []string
	next int
}

type ttlItem[V any] struct {
	value   V
	expires time.Time
}

func newTTLCache[V any](max int) *ttlCache[V] {
	return &ttlCache[V]{max: max, items: make(map[string]ttlItem[V])}
}

// get returns the value of key if it has not expired at now.
func (c *ttlCache[V]) get(key string, now time.Time) (V, bool) {
	it, ok := c.items[key]
	if !ok || !now.Before(it.expires) {
		var zero V
		return zero, false
	}
	return it.value, true
}

// put stores value under key until expires, evicting the oldest entry if
// the cache is full.
func (c *ttlCache[V]) put(key string, value V, expires time.Time) {
	if _, ok := c.items[key]; ok {
		c.items[key] = ttlItem[V]{value, expires}
		return
	}
	if len(c.ring) < c.max {
		c.ring = append(c.ring, key)
	} else {
		delete(c.items, c.ring[c.next])
		c.ring[c.next] = key
		c.next = (c.next + 1) % c.max
	}
	c.items[key] = ttlItem[V]{value, expires}
}

// len is the number of entries held, expired ones included.
func (c *ttlCache[V]) len() int { return len(c.items) }
