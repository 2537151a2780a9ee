package storetest

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/marketgraph/marketgraph"
)

// expectedSignals returns the fixture's signals of the given assets, newest
// first, ties by id descending, at most first per asset, with times in UTC as
// a store returns them.
func expectedSignals(assetIDs []string, first int) map[string][]*marketgraph.Signal {
	want := map[string]bool{}
	for _, id := range assetIDs {
		want[id] = true
	}
	out := map[string][]*marketgraph.Signal{}
	if first <= 0 {
		return out
	}
	for _, s := range Fixture().Signals {
		if want[s.AssetID] {
			s.EmittedAt = s.EmittedAt.UTC()
			out[s.AssetID] = append(out[s.AssetID], s)
		}
	}
	for id, ss := range out {
		sort.Slice(ss, func(i, j int) bool {
			if !ss[i].EmittedAt.Equal(ss[j].EmittedAt) {
				return ss[i].EmittedAt.After(ss[j].EmittedAt)
			}
			return ss[i].ID > ss[j].ID
		})
		out[id] = ss[:min(first, len(ss))]
	}
	return out
}

// signalLines renders a result map of signals (see groupLines).
func signalLines(m map[string][]*marketgraph.Signal) []string {
	return groupLines(m, "signals", formatSignal)
}

func testSignalsByAssets(t *testing.T, s marketgraph.Store) {
	ctx := context.Background()
	all := append([]string{"nope"}, ids(Fixture().Assets)...)
	for _, tc := range []struct {
		name  string
		ids   []string
		first int
	}{
		{"All", all, marketgraph.MaxSignalFirst},
		{"FirstOne", all, 1},
		{"FirstTwo", all, 2},
		{"FirstThree", all, 3},
		{"FirstZero", all, 0},
		{"Some", []string{"ethereum", "tether", "nope", "ethereum"}, 10},
		{"Empty", []string{}, 10},
		{"Nil", nil, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.SignalsByAssets(ctx, tc.ids, tc.first)
			if err != nil {
				t.Fatalf("SignalsByAssets: %v", err)
			}
			if tc.first <= 0 {
				for id, ss := range got {
					if len(ss) > 0 {
						t.Errorf("first %d: %d signals for %s, want none", tc.first, len(ss), id)
					}
				}
				return
			}
			checkLines(t, "signals", signalLines(got), signalLines(expectedSignals(tc.ids, tc.first)))
		})
	}
	t.Run("ByHand", func(t *testing.T) {
		got, err := s.SignalsByAssets(ctx, []string{"bitcoin", "ethereum", "tether"}, 10)
		if err != nil {
			t.Fatalf("SignalsByAssets: %v", err)
		}
		sigIDs := func(ss []*marketgraph.Signal) string {
			return strings.Join(lines(ss, func(s *marketgraph.Signal) string { return s.ID }), ",")
		}
		if got, want := sigIDs(got["bitcoin"]), "sig-btc-0,sig-btc-4b,sig-btc-4a,sig-btc-3,sig-btc-2,sig-btc-1"; got != want {
			t.Errorf("bitcoin: %s, want %s", got, want)
		}
		if got, want := sigIDs(got["ethereum"]), "sig-eth-c,sig-eth-b,sig-eth-a,sig-eth-z"; got != want {
			t.Errorf("ethereum: %s, want %s", got, want)
		}
		if _, ok := got["tether"]; ok {
			t.Errorf("tether has no signals but has an entry")
		}
	})
}

func testLatestSignals(t *testing.T, s marketgraph.Store) {
	ctx := context.Background()
	latest := func(t *testing.T, in []string) []string {
		t.Helper()
		got, err := s.LatestSignals(ctx, in)
		if err != nil {
			t.Fatalf("LatestSignals(%v): %v", in, err)
		}
		keys := make([]string, 0, len(got))
		for k := range got {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make([]string, len(keys))
		for i, k := range keys {
			out[i] = k + ": " + formatSignal(got[k])
		}
		return out
	}
	want := func(in []string) []string {
		var out []string
		for id, ss := range expectedSignals(in, 1) {
			out = append(out, id+": "+formatSignal(ss[0]))
		}
		sort.Strings(out)
		return out
	}
	all := append([]string{"nope"}, ids(Fixture().Assets)...)
	t.Run("All", func(t *testing.T) { checkLines(t, "latest", latest(t, all), want(all)) })
	t.Run("Duplicates", func(t *testing.T) {
		in := []string{"ethereum", "ethereum", "tether"}
		checkLines(t, "latest", latest(t, in), want(in))
	})
	t.Run("Empty", func(t *testing.T) { checkLines(t, "latest", latest(t, []string{}), nil) })
	t.Run("NoneAbsent", func(t *testing.T) { checkLines(t, "latest", latest(t, []string{"tether", "nope"}), nil) })
	t.Run("ByHand", func(t *testing.T) {
		got := latest(t, []string{"bitcoin", "ethereum", "dai", "asset-003", "tether"})
		var keys []string
		for _, l := range got {
			keys = append(keys, strings.Fields(l)[1])
		}
		// sig-btc-0 was loaded in UTC+1 and comes back in UTC.
		checkLines(t, "latest ids", keys, []string{"sig-a003-1", "sig-btc-0", "sig-dai-1", "sig-eth-c"})
		if !strings.HasSuffix(got[1], "2026-10-31T23:30:00Z UTC") {
			t.Errorf("bitcoin's latest signal: %s, want emitted 2026-10-31T23:30:00Z in UTC", got[1])
		}
	})
}
