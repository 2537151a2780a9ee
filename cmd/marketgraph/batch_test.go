package main

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph/internal/pgtest"
)

// migratedDatabase is a new, migrated, empty database.
func migratedDatabase(t *testing.T) string {
	t.Helper()
	url := pgtest.NewDatabase(t)
	if err := run(context.Background(), []string{"migrate"}, env(map[string]string{"DATABASE_URL": url}), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	return url
}

func TestPacer(t *testing.T) {
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	sec := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

	t.Run("EvenSpacing", func(t *testing.T) {
		p := newPacer(30) // one call every 2 s
		for _, tc := range []struct {
			ready time.Time
			wait  time.Duration
		}{
			{sec(0), 0},                          // the first call goes at once
			{sec(0), 2 * time.Second},            // the next one 2 s after it
			{sec(1), 3 * time.Second},            // then at 4 s
			{sec(10), 0},                         // idle long enough: at once
			{sec(10.5), 1500 * time.Millisecond}, // nothing saved up while idle
		} {
			if got := p.Reserve(tc.ready); got != tc.wait {
				t.Errorf("ready at %s: wait %s, want %s", tc.ready.Sub(t0), got, tc.wait)
			}
		}
	})

	t.Run("NoMinuteHoldsMore", func(t *testing.T) {
		for _, perMinute := range []int{1, 7, 30, 6000} {
			p := newPacer(perMinute)
			// Callers always ready: the (perMinute+1)th call starts a
			// minute or more after the first.
			var starts []time.Time
			for range perMinute + 1 {
				starts = append(starts, t0.Add(p.Reserve(t0)))
			}
			if d := starts[perMinute].Sub(starts[0]); d < time.Minute {
				t.Errorf("%d a minute: %d calls within %s", perMinute, perMinute+1, d)
			}
		}
	})

	t.Run("Defaults", func(t *testing.T) {
		p0 := newPacer(0)
		p0.Reserve(t0)
		if got := p0.Reserve(t0); got != 2*time.Second {
			t.Errorf("budget 0 paces every %s, want 2s (30 a minute)", got)
		}
		p := newPacer(-1)
		for range 3 {
			if d := p.Reserve(t0); d != 0 {
				t.Fatalf("an unlimited pacer made a call wait %s", d)
			}
		}
	})

	t.Run("HoldUntil", func(t *testing.T) {
		for _, perMinute := range []int{-1, 30} {
			p := newPacer(perMinute)
			p.Reserve(sec(0))
			p.HoldUntil(sec(20)) // the provider said: come back in 20 s
			if d := p.Reserve(sec(11)); d != 9*time.Second {
				t.Errorf("budget %d: wait %s after a hold, want 9s", perMinute, d)
			}
			p.HoldUntil(sec(5)) // an earlier hold changes nothing
			interval := map[int]time.Duration{-1: 0, 30: 2 * time.Second}[perMinute]
			if d := p.Reserve(sec(20)); d != interval {
				t.Errorf("budget %d: wait %s, want %s", perMinute, d, interval)
			}
		}
	})

	t.Run("WaitHonoursContext", func(t *testing.T) {
		p := newPacer(1)
		p.Reserve(time.Now()) // the next call is a minute away
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := p.Wait(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("wait on a cancelled context: %v", err)
		}
	})
}

func TestSplitIDs(t *testing.T) {
	got := splitIDs(" bitcoin, ethereum,,bitcoin ,solana ")
	if want := []string{"bitcoin", "ethereum", "solana"}; !slices.Equal(got, want) {
		t.Errorf("splitIDs = %q, want %q", got, want)
	}
	if got := splitIDs(""); len(got) != 0 {
		t.Errorf("splitIDs(\"\") = %q", got)
	}
}

// TestBatch_Config: the batch commands' settings fail fast, naming the
// setting.
func TestBatch_Config(t *testing.T) {
	for _, tt := range []struct {
		name    string
		args    []string
		vars    map[string]string
		mention string
	}{
		{"ZeroDays", []string{"backfill", "-days", "0"}, nil, "-days"},
		{"TooManyDays", []string{"backfill", "-days", "366"}, nil, "-days"},
		{"BadDaysEnv", []string{"backfill"}, map[string]string{"MARKETGRAPH_BACKFILL_DAYS": "a week"}, "MARKETGRAPH_BACKFILL_DAYS"},
		{"ZeroTop", []string{"sync-assets", "-top", "0"}, nil, "-top"},
		{"TopTooLarge", []string{"sync-assets", "-top", "100000"}, nil, "-top"},
		{"BackfillWithoutDatabase", []string{"backfill"}, nil, "DATABASE_URL"},
		{"SyncWithoutDatabase", []string{"sync-assets"}, nil, "DATABASE_URL"},
		{"BadProviderURL", []string{"sync-assets", "-provider-url", "ftp://x"}, map[string]string{"DATABASE_URL": "postgres://127.0.0.1:1/x"}, "MARKETGRAPH_PROVIDER_URL"},
		{"NoTopForBackfill", []string{"backfill", "-top", "5"}, nil, "-top"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), tt.args, env(tt.vars), io.Discard, io.Discard)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %q does not name %q", err, tt.mention)
			}
		})
	}
}
