// Package storetest is the contract every marketgraph.Store must honour,
// written once and run against each implementation (memory/, postgres/), so
// that the stores answer the same inputs with the same outputs, down to
// ordering, paging and float precision.
//
// A store's test calls Run with a constructor:
//
//	func TestStore_Contract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) marketgraph.Store { return memory.New() })
//	}
//
// Beyond the doc comments of marketgraph.Store, the suite pins down these
// choices:
//
//   - ListAssets sorts by the order's key in the order's direction and breaks
//     ties by id ASCENDING in both directions. After is a position by value:
//     the page holds the assets strictly after (key, id) in that ordering,
//     whether or not an asset with that id exists or passes the filter.
//     TotalCount counts every asset matching the filter, ignoring After.
//   - A nil AssetFilter.IDs does not filter; an empty non-nil one matches
//     nothing. Category is an exact match after marketgraph.FoldCase of both
//     sides; Search is a literal substring of the FoldCase-d symbol or name
//     (no wildcards: %, _ and \ match themselves). FoldCase folds ASCII
//     letters only, whatever the store's locale: "É" is not "é" and a
//     Kelvin sign is not a "k".
//   - Parameters are validated as marketgraph.NormalizeListParams does.
//   - FindAssetsByIDs returns each asset at most once. FindAssetBySymbol
//     compares FoldCase-d symbols and prefers the lowest rank number, then
//     the lowest id, and FindAssetsBySymbols answers each key (FoldUpper of
//     a symbol) exactly as FindAssetBySymbol does.
//   - Text that fails marketgraph.CheckText (a NUL byte, invalid UTF-8, too
//     long) gets the domain's answer, never the storage's: BAD_USER_INPUT
//     from FindAssetBySymbol and ListAssets (filter or cursor), and "no such
//     asset" from FindAssetsByIDs, FindAssetsBySymbols, CandlesByAssets,
//     SignalsByAssets and LatestSignals, which batch unrelated keys. So does a cursor whose rank
//     is outside the int32 range or whose number is NaN or infinite. Load
//     refuses an asset whose id fails CheckText.
//   - Times come back in UTC (Location() == time.UTC), floats bit for bit.
//   - CandlesByAssets refuses an unknown interval with BAD_USER_INPUT, even
//     for no assets.
//   - SignalsByAssets with first <= 0 returns no signals.
//   - Stores hand out copies: mutating a result or a loaded Dataset does not
//     change the store.
//   - The marketgraph.MarketWriter methods check the whole batch (with
//     marketgraph.ValidateAsset, ValidateCandle and ValidateSignal, and for
//     the asset of each candle and signal) before writing, and refuse a bad
//     batch with BAD_USER_INPUT without writing any of it. Of several rows
//     with one key in a batch, the last wins for UpsertAssets and
//     UpsertCandles, the first for InsertSignals. Writing the same rows
//     again changes nothing. InsertSignals returns the inserted signals
//     with times in UTC to the microsecond.
//   - marketgraph.AccountStore: see accounts.go.
package storetest

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
)

// Run runs the contract suite. newStore must return an empty store; Run calls
// it more than once, and never uses a store again after asking for the next,
// so an implementation may empty and reuse one database on each call.
func Run(t *testing.T, newStore func(t *testing.T) marketgraph.Store) {
	t.Helper()
	t.Run("Load", func(t *testing.T) { testLoad(t, newStore) })
	t.Run("Write", func(t *testing.T) { testWrite(t, newStore) })
	t.Run("Accounts", func(t *testing.T) { testAccounts(t, newStore) })

	s := newStore(t)
	if err := s.Load(context.Background(), Fixture()); err != nil {
		t.Fatalf("Load(Fixture()): %v", err)
	}
	t.Run("Ping", func(t *testing.T) {
		if err := s.Ping(context.Background()); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})
	t.Run("FindAssetsByIDs", func(t *testing.T) { testFindAssetsByIDs(t, s) })
	t.Run("FindAssetBySymbol", func(t *testing.T) { testFindAssetBySymbol(t, s) })
	t.Run("FindAssetsBySymbols", func(t *testing.T) { testFindAssetsBySymbols(t, s) })
	t.Run("ListAssets", func(t *testing.T) { testListAssets(t, s) })
	t.Run("CandlesByAssets", func(t *testing.T) { testCandlesByAssets(t, s) })
	t.Run("SignalsByAssets", func(t *testing.T) { testSignalsByAssets(t, s) })
	t.Run("LatestSignals", func(t *testing.T) { testLatestSignals(t, s) })
	t.Run("Copies", func(t *testing.T) { testCopies(t, s) })
	t.Run("HostileInput", func(t *testing.T) { testHostileInput(t, s) })
}

// formatTime shows an instant and its location, so a time that is equal but
// not in UTC is reported as a difference.
func formatTime(t time.Time) string {
	return t.Format(time.RFC3339Nano) + " " + t.Location().String()
}

// formatAsset, formatCandle and formatSignal render a value in full; %v
// prints floats in their shortest exact form, so any loss of precision shows.
func formatAsset(a *marketgraph.Asset) string {
	if a == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%+v", *a)
}

func formatCandle(c *marketgraph.Candle) string {
	if c == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%s %s %s o=%v h=%v l=%v c=%v v=%v", c.AssetID, c.Interval, formatTime(c.Start), c.Open, c.High, c.Low, c.Close, c.Volume)
}

func formatSignal(s *marketgraph.Signal) string {
	if s == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%s %s %s %v %s %q %s", s.ID, s.AssetID, s.Kind, s.Strength, s.Indicator, s.Reason, formatTime(s.EmittedAt))
}

// lines renders each element of xs with f.
// groupLines renders a per-asset result map in asset id order: a header
// line per entry (so an empty entry differs from an absent one), then one
// line per item.
func groupLines[T any](m map[string][]T, noun string, f func(T) string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		out = append(out, fmt.Sprintf("%s: %d %s", k, len(m[k]), noun))
		out = append(out, lines(m[k], f)...)
	}
	return out
}

func lines[T any](xs []T, f func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

// diffLines reports the first difference between two rendered lists, or ""
// when they are equal.
func diffLines(got, want []string) string {
	for i := 0; i < len(got) || i < len(want); i++ {
		g, w := "<missing>", "<missing>"
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			return fmt.Sprintf("first difference at index %d (got %d, want %d elements):\n got: %s\nwant: %s", i, len(got), len(want), g, w)
		}
	}
	return ""
}

// checkLines fails t with the first difference between got and want.
func checkLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if d := diffLines(got, want); d != "" {
		t.Errorf("%s: %s", what, d)
	}
}

// checkCode fails t unless err carries the given error code.
func checkCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := marketgraph.ErrorCode(err); got != code {
		t.Errorf("%s: error code %q (err %v), want %q", what, got, err, code)
	}
}

// ids returns the ids of assets, in order.
func ids(assets []*marketgraph.Asset) []string {
	return lines(assets, func(a *marketgraph.Asset) string { return a.ID })
}

// joinIDs is for messages.
func joinIDs(ids []string) string { return strings.Join(ids, ",") }

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }
