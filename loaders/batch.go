package loaders

import (
	"context"
	"fmt"
	"sync"

	"github.com/graph-gophers/dataloader/v7"
)

// loadGroup answers the keys of one group, in their order.
type loadGroup[K comparable, V any, G comparable] func(ctx context.Context, g G, keys []K) []*dataloader.Result[V]

// batch answers keys group by group: groupOf names the group of a key (the
// part of it a store or provider call takes once, such as the currency), and
// load makes one call for all the keys of a group. Results come back in the
// order of keys. Several groups are loaded concurrently, so a document that
// mixes currencies or candle ranges waits for its slowest call, not for their
// sum.
func batch[K comparable, V any, G comparable](ctx context.Context, keys []K, groupOf func(K) G, load loadGroup[K, V, G]) []*dataloader.Result[V] {
	var order []G
	members := map[G][]int{}
	for i, k := range keys {
		g := groupOf(k)
		if _, seen := members[g]; !seen {
			order = append(order, g)
		}
		members[g] = append(members[g], i)
	}

	out := make([]*dataloader.Result[V], len(keys))
	run := func(g G) {
		idx := members[g]
		sub := make([]K, len(idx))
		for j, i := range idx {
			sub[j] = keys[i]
		}
		rs := safeLoad(ctx, g, sub, load)
		for j, i := range idx {
			out[i] = rs[j]
		}
	}
	if len(order) == 1 {
		run(order[0])
		return out
	}
	var wg sync.WaitGroup
	for _, g := range order {
		wg.Go(func() { run(g) })
	}
	wg.Wait()
	return out
}

// safeLoad calls load, turning a panic (which in a goroutine of ours would
// take the whole server down) or a wrong number of results into an error
// for each key of the group.
func safeLoad[K comparable, V any, G comparable](ctx context.Context, g G, keys []K, load loadGroup[K, V, G]) (rs []*dataloader.Result[V]) {
	defer func() {
		if r := recover(); r != nil {
			rs = failAll[V](len(keys), fmt.Errorf("loaders: panic in batch function: %v", r))
		}
	}()
	rs = load(ctx, g, keys)
	if len(rs) != len(keys) {
		return failAll[V](len(keys), fmt.Errorf("loaders: batch function returned %d results for %d keys", len(rs), len(keys)))
	}
	return rs
}

// failAll gives each of n keys the error err.
func failAll[V any](n int, err error) []*dataloader.Result[V] {
	rs := make([]*dataloader.Result[V], n)
	for i := range rs {
		rs[i] = &dataloader.Result[V]{Error: err}
	}
	return rs
}

// uniqueIDs returns the asset ids of keys without repeats, in order of first
// appearance: without a cache the same key can reach a batch twice.
func uniqueIDs[K any](keys []K, id func(K) string) []string {
	seen := make(map[string]bool, len(keys))
	ids := make([]string, 0, len(keys))
	for _, k := range keys {
		if s := id(k); !seen[s] {
			seen[s] = true
			ids = append(ids, s)
		}
	}
	return ids
}

// single is the group of loaders whose keys all share one call.
type single struct{}

func one[K any](K) single { return single{} }
