package storetest

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
)

// signalAssets are the assets the signal writes touch.
var signalAssets = []string{"bitcoin", "ethereum", "tether", "asset-004"}

// wantSignals is the fixture's signals of signalAssets plus added, as
// SignalsByAssets must answer them.
func wantSignals(added []*marketgraph.Signal) map[string][]*marketgraph.Signal {
	out := expectedSignals(signalAssets, marketgraph.MaxSignalFirst)
	for _, a := range added {
		c := *a
		c.EmittedAt = c.EmittedAt.UTC()
		out[c.AssetID] = append(out[c.AssetID], &c)
	}
	for _, ss := range out {
		slices.SortFunc(ss, func(a, b *marketgraph.Signal) int {
			if c := b.EmittedAt.Compare(a.EmittedAt); c != 0 {
				return c
			}
			return strings.Compare(b.ID, a.ID)
		})
	}
	return out
}

func testInsertSignals(t *testing.T, s marketgraph.Store) {
	ctx := context.Background()
	end := Fixture().End
	cet := time.FixedZone("CET", 3600)
	sig := func(id, asset string, kind marketgraph.SignalKind, strength float64, at time.Time) *marketgraph.Signal {
		return &marketgraph.Signal{ID: id, AssetID: asset, Kind: kind, Strength: strength, Indicator: "rsi_14", Reason: "written by " + id, EmittedAt: at}
	}
	var added []*marketgraph.Signal
	check := func(t *testing.T, what string) {
		t.Helper()
		got, err := s.SignalsByAssets(ctx, signalAssets, marketgraph.MaxSignalFirst)
		if err != nil {
			t.Fatalf("SignalsByAssets: %v", err)
		}
		checkLines(t, what, signalLines(got), signalLines(wantSignals(added)))
	}
	insert := func(t *testing.T, in []*marketgraph.Signal, want ...*marketgraph.Signal) {
		t.Helper()
		got, err := s.InsertSignals(ctx, in)
		if err != nil {
			t.Fatalf("InsertSignals: %v", err)
		}
		wantUTC := make([]*marketgraph.Signal, len(want))
		for i, w := range want {
			c := *w
			c.EmittedAt = c.EmittedAt.UTC()
			wantUTC[i] = &c
		}
		checkLines(t, "InsertSignals returned", lines(got, formatSignal), lines(wantUTC, formatSignal))
		added = append(added, want...)
	}

	newBTC := sig("sig-new-btc", "bitcoin", marketgraph.SignalSell, 0.125, end)
	newUSDT := sig("sig-new-usdt", "tether", marketgraph.SignalHold, 1, end.Add(-time.Hour).In(cet))
	changedOld := sig("sig-btc-1", "ethereum", marketgraph.SignalHold, 0.99, end) // exists, for bitcoin
	batch := []*marketgraph.Signal{newUSDT, changedOld, newBTC}

	t.Run("New", func(t *testing.T) {
		insert(t, batch, newUSDT, newBTC)
		check(t, "after inserting")
		latest, err := s.LatestSignals(ctx, []string{"bitcoin", "tether"})
		if err != nil {
			t.Fatalf("LatestSignals: %v", err)
		}
		if l := latest["bitcoin"]; l == nil || l.ID != newBTC.ID {
			t.Errorf("latest bitcoin signal %s, want %s", formatSignal(l), newBTC.ID)
		}
	})
	t.Run("Again", func(t *testing.T) {
		insert(t, batch)
		check(t, "after inserting the same signals again")
	})
	t.Run("FirstWinsInBatch", func(t *testing.T) {
		first := sig("sig-twice", "asset-004", marketgraph.SignalBuy, 0.5, end.Add(-time.Minute))
		second := sig("sig-twice", "asset-004", marketgraph.SignalSell, 0.25, end)
		insert(t, []*marketgraph.Signal{first, second}, first)
		check(t, "after a batch with one id twice")
	})
	t.Run("Empty", func(t *testing.T) {
		if got, err := s.InsertSignals(ctx, nil); err != nil || len(got) != 0 {
			t.Errorf("InsertSignals(nil) = %v, %v; want nothing", lines(got, formatSignal), err)
		}
	})
	t.Run("Refused", func(t *testing.T) {
		valid := sig("sig-valid", "asset-004", marketgraph.SignalBuy, 0.75, end)
		with := func(change func(s *marketgraph.Signal)) *marketgraph.Signal {
			s := sig("sig-bad", "tether", marketgraph.SignalBuy, 0.5, end)
			change(s)
			return s
		}
		for _, tc := range []struct {
			name string
			bad  *marketgraph.Signal
		}{
			{"Nil", nil},
			{"UnknownAsset", with(func(s *marketgraph.Signal) { s.AssetID = "nope" })},
			{"NoAsset", with(func(s *marketgraph.Signal) { s.AssetID = "" })},
			{"NoID", with(func(s *marketgraph.Signal) { s.ID = "" })},
			{"HostileID", with(func(s *marketgraph.Signal) { s.ID = "sig\xff" })},
			{"HostileReason", with(func(s *marketgraph.Signal) { s.Reason = "a\x00b" })},
			{"UnknownKind", with(func(s *marketgraph.Signal) { s.Kind = "SHORT" })},
			{"StrengthAboveOne", with(func(s *marketgraph.Signal) { s.Strength = 1.5 })},
			{"NegativeStrength", with(func(s *marketgraph.Signal) { s.Strength = -0.1 })},
			{"NaNStrength", with(func(s *marketgraph.Signal) { s.Strength = math.NaN() })},
			{"NoEmissionTime", with(func(s *marketgraph.Signal) { s.EmittedAt = time.Time{} })},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.InsertSignals(ctx, []*marketgraph.Signal{valid, tc.bad})
				checkCode(t, "InsertSignals", err, marketgraph.EBADINPUT)
				if len(got) != 0 {
					t.Errorf("InsertSignals returned %v alongside an error", lines(got, formatSignal))
				}
				check(t, "after a refused batch")
			})
		}
		// Accepted alone: the refusals were for the bad signals.
		insert(t, []*marketgraph.Signal{valid}, valid)
		check(t, "after the valid signal alone")
	})
}
