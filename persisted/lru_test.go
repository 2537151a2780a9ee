package persisted_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/marketgraph/marketgraph/persisted"
)

func TestLRU(t *testing.T) {
	ctx := context.Background()
	t.Run("EvictsLeastRecentlyUsed", func(t *testing.T) {
		l := persisted.NewLRU(2, 0)
		l.Add(ctx, "a", "{ a }")
		l.Add(ctx, "b", "{ b }")
		if _, ok := l.Get(ctx, "a"); !ok { // a is now the most recent
			t.Fatal("a missing")
		}
		l.Add(ctx, "c", "{ c }")
		if _, ok := l.Get(ctx, "b"); ok {
			t.Error("b kept, want it evicted as the least recently used")
		}
		for _, k := range []string{"a", "c"} {
			if v, ok := l.Get(ctx, k); !ok || v != "{ "+k+" }" {
				t.Errorf("Get(%s) = %q, %t", k, v, ok)
			}
		}
	})
	t.Run("ByteBudget", func(t *testing.T) {
		doc := strings.Repeat("x", 100)
		l := persisted.NewLRU(100, 350) // three 101-byte entries fit, a fourth does not
		for i := range 4 {
			l.Add(ctx, fmt.Sprint(i), doc)
		}
		if n := l.Len(); n != 3 {
			t.Errorf("Len = %d, want 3 within 350 bytes", n)
		}
		if _, ok := l.Get(ctx, "0"); ok {
			t.Error("oldest entry kept over the byte budget")
		}
	})
	t.Run("Replace", func(t *testing.T) {
		l := persisted.NewLRU(2, 10)
		l.Add(ctx, "k", "12345678")
		l.Add(ctx, "k", "1")
		l.Add(ctx, "j", "1234567") // fits only if the replaced value was accounted for
		if v, ok := l.Get(ctx, "k"); !ok || v != "1" {
			t.Errorf("Get(k) = %q, %t", v, ok)
		}
		if _, ok := l.Get(ctx, "j"); !ok {
			t.Error("j missing")
		}
	})
	t.Run("TooLarge", func(t *testing.T) {
		l := persisted.NewLRU(10, 1<<30)
		l.Add(ctx, "big", strings.Repeat("x", persisted.MaxDocumentBytes+1))
		l.Add(ctx, strings.Repeat("k", 1000), "{ a }")
		if n := l.Len(); n != 0 {
			t.Errorf("Len = %d, want oversized documents and keys not stored", n)
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		l := persisted.NewLRU(50, 0)
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 200 {
					k := fmt.Sprint(g, i%60)
					l.Add(ctx, k, k)
					if v, ok := l.Get(ctx, k); ok && v != k {
						t.Errorf("Get(%s) = %s", k, v)
					}
				}
			})
		}
		wg.Wait()
		if n := l.Len(); n > 50 {
			t.Errorf("Len = %d over 50 entries", n)
		}
	})
}

func TestTiered(t *testing.T) {
	ctx := context.Background()
	near, far := persisted.NewLRU(10, 0), persisted.NewLRU(10, 0)
	c := persisted.Tiered(near, far)
	c.Add(ctx, "a", "{ a }")
	if _, ok := near.Get(ctx, "a"); !ok {
		t.Error("Add did not store near")
	}
	if _, ok := far.Get(ctx, "a"); !ok {
		t.Error("Add did not store far")
	}
	far.Add(ctx, "b", "{ b }") // registered by another replica
	if v, ok := c.Get(ctx, "b"); !ok || v != "{ b }" {
		t.Fatalf("Get(b) = %q, %t, want it from far", v, ok)
	}
	if _, ok := near.Get(ctx, "b"); !ok {
		t.Error("a far hit was not copied near")
	}
	if _, ok := c.Get(ctx, "c"); ok {
		t.Error("hit for a key nobody stored")
	}
}

func TestHash(t *testing.T) {
	// printf %s "{__typename}" | sha256sum
	if got, want := persisted.Hash("{__typename}"), "ecf4edb46db40b5132295c0291d62fb65d6759a9eedfa4d5d612dd5ec54a6b38"; got != want {
		t.Errorf("Hash = %s, want %s", got, want)
	}
}
