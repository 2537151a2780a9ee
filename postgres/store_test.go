package postgres_test

import (
	"testing"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/storetest"
)

// TestStore_Contract runs the suite memory/ passes too, so both stores give
// the same answers, down to ordering, paging and float bits.
func TestStore_Contract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) marketgraph.Store {
		// A database of its own each time: an empty store, dropped with t.
		return newDB(t, nil)
	})
}
