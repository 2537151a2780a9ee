package auth

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestTTLCache_Bound: whatever the mix of new keys, repeated keys and
// expired entries, the cache never holds more than its bound, and the
// newest entries are always there.
func TestTTLCache_Bound(t *testing.T) {
	const max = 8
	c := newTTLCache[int](max)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 10_000 {
		key := fmt.Sprint(r.IntN(30))
		c.put(key, i, now.Add(time.Duration(r.IntN(3))*time.Second))
		if c.len() > max {
			t.Fatalf("after %d puts: %d entries, bound %d", i+1, c.len(), max)
		}
		if v, ok := c.get(key, now.Add(-time.Second)); !ok || v != i {
			t.Fatalf("the entry just put: %d, %v; want %d", v, ok, i)
		}
		now = now.Add(time.Duration(r.IntN(2)) * time.Second)
	}
}

func TestTTLCache_Expiry(t *testing.T) {
	c := newTTLCache[string](2)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c.put("a", "x", now.Add(time.Second))
	if _, ok := c.get("a", now.Add(time.Second-1)); !ok {
		t.Error("entry gone before its expiry")
	}
	if _, ok := c.get("a", now.Add(time.Second)); ok {
		t.Error("entry served at its expiry")
	}
	c.put("b", "y", now.Add(time.Hour))
	c.put("c", "z", now.Add(time.Hour))
	if _, ok := c.get("a", now); ok || c.len() != 2 {
		t.Errorf("a third key did not evict the oldest: %d entries", c.len())
	}
}
