package persisted

import (
	"container/list"
	"context"
	"sync"

	"github.com/99designs/gqlgen/graphql"
)

// DefaultLRUBytes is the memory budget of an LRU given none: the total
// size of the documents it holds.
const DefaultLRUBytes = 16 << 20

// LRU is an in-process cache of documents that evicts the least recently
// used one when it holds too many entries or too many bytes. gqlgen's own
// lru package bounds entries only, which lets anyone who can reach the
// server pin entries × body limit bytes (a gigabyte at the defaults); this
// one bounds both. It is safe for concurrent use.
type LRU struct {
	maxEntries int
	maxBytes   int64

	mu    sync.Mutex
	bytes int64
	order *list.List // front: most recently used; values are *lruEntry
	items map[string]*list.Element
}

type lruEntry struct{ key, value string }

var _ graphql.Cache[string] = (*LRU)(nil)

// NewLRU returns an LRU of at most entries documents and maxBytes bytes of
// keys and documents; maxBytes ≤ 0 means DefaultLRUBytes. It panics when
// entries is not positive: that is a wiring mistake.
func NewLRU(entries int, maxBytes int64) *LRU {
	if entries < 1 {
		panic("persisted.NewLRU: entries must be positive")
	}
	if maxBytes <= 0 {
		maxBytes = DefaultLRUBytes
	}
	return &LRU{maxEntries: entries, maxBytes: maxBytes, order: list.New(), items: map[string]*list.Element{}}
}

// Get returns the document stored under key and marks it recently used.
func (l *LRU) Get(_ context.Context, key string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	el, ok := l.items[key]
	if !ok {
		return "", false
	}
	l.order.MoveToFront(el)
	return el.Value.(*lruEntry).value, true
}

// Add stores value under key, evicting the least recently used documents
// as needed. A key or value too large to keep (see MaxDocumentBytes) is
// ignored.
func (l *LRU) Add(_ context.Context, key, value string) {
	size := int64(len(key) + len(value))
	if len(key) > maxKeyBytes || len(value) > MaxDocumentBytes || size > l.maxBytes {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if el, ok := l.items[key]; ok {
		e := el.Value.(*lruEntry)
		l.bytes += int64(len(value) - len(e.value))
		e.value = value
		l.order.MoveToFront(el)
	} else {
		l.items[key] = l.order.PushFront(&lruEntry{key: key, value: value})
		l.bytes += size
	}
	for l.order.Len() > l.maxEntries || l.bytes > l.maxBytes {
		el := l.order.Back()
		e := el.Value.(*lruEntry)
		l.order.Remove(el)
		delete(l.items, e.key)
		l.bytes -= int64(len(e.key) + len(e.value))
	}
}

// Len returns how many documents the LRU holds.
func (l *LRU) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.order.Len()
}

// Tiered returns a cache that asks near first and far on a miss, copying
// what far finds into near; Add stores in both. With an LRU as near and
// Redis as far, a replica answers its hot documents without a round trip
// and learns the others from the replicas that saw them first.
func Tiered(near, far graphql.Cache[string]) graphql.Cache[string] {
	return tiered{near: near, far: far}
}

type tiered struct{ near, far graphql.Cache[string] }

func (t tiered) Get(ctx context.Context, key string) (string, bool) {
	if v, ok := t.near.Get(ctx, key); ok {
		return v, true
	}
	v, ok := t.far.Get(ctx, key)
	if ok {
		t.near.Add(ctx, key, v)
	}
	return v, ok
}

func (t tiered) Add(ctx context.Context, key, value string) {
	t.near.Add(ctx, key, value)
	t.far.Add(ctx, key, value)
}
