package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/ingest"
	"github.com/marketgraph/marketgraph/marketdata/coingecko/cgfake"
	"github.com/marketgraph/marketgraph/postgres"
)

// storedCandles reads the candles of ids of one interval from the last ten
// days.
func storedCandles(t *testing.T, db *postgres.DB, ids []string, interval marketgraph.CandleInterval) map[string][]*marketgraph.Candle {
	t.Helper()
	from, to := time.Now().AddDate(0, 0, -10), time.Now().Add(time.Hour)
	got, err := db.CandlesByAssets(context.Background(), ids, marketgraph.CandleRange{Interval: interval, From: &from, To: &to})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// rowVersions maps each stored candle to its row version (xmin), which
// changes whenever the row is rewritten, even with the same values.
func rowVersions(t *testing.T, url string) map[string]string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT asset_id || ' ' || "interval" || ' ' || start::text, xmin::text FROM candles`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for rows.Next() {
		var key, version string
		if err := rows.Scan(&key, &version); err != nil {
			t.Fatal(err)
		}
		out[key] = version
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// completeDays counts the UTC days wholly inside [from, to).
func completeDays(from, to time.Time) int {
	n := 0
	for d := from.Truncate(24 * time.Hour); !d.Add(24 * time.Hour).After(to); d = d.Add(24 * time.Hour) {
		if !d.Before(from) {
			n++
		}
	}
	return n
}

// TestBackfill fills candles from the fake's market charts: exactly the
// complete hours and days of the window, one chart call per asset, the same
// rows again on a second run, and failures reported without stopping the
// others.
func TestBackfill(t *testing.T) {
	url := migratedDatabase(t)
	fake, upstream := fakeUpstream(t)
	vars := map[string]string{"DATABASE_URL": url, "MARKETGRAPH_PROVIDER_URL": upstream}
	backfill := func(ctx context.Context, out io.Writer, args ...string) error {
		return run(ctx, append([]string{"backfill"}, args...), env(vars), out, io.Discard)
	}
	if err := run(context.Background(), []string{"sync-assets", "-provider-budget", "-1"}, env(vars), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	db := openTestDB(t, url)
	ids := []string{"bitcoin", "ethereum"}

	var hours1, days1 map[string][]*marketgraph.Candle
	var versions1 map[string]string
	t.Run("ThreeDays", func(t *testing.T) {
		before := fake.Calls(cgfake.PathMarketChartRange)
		var out bytes.Buffer
		if err := backfill(context.Background(), &out, "-days", "3", "-assets", "bitcoin,ethereum", "-provider-budget", "6000"); err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		if n := fake.Calls(cgfake.PathMarketChartRange) - before; n != 2 {
			t.Errorf("%d chart calls, want one per asset", n)
		}
		hours1, days1 = storedCandles(t, db, ids, marketgraph.IntervalHour), storedCandles(t, db, ids, marketgraph.IntervalDay)
		versions1 = rowVersions(t, url)
		for i, id := range ids {
			hours, days := hours1[id], days1[id]
			if len(hours) != 72 {
				t.Fatalf("%s: %d hourly candles, want 72", id, len(hours))
			}
			from, to := hours[0].Start, hours[71].Start.Add(time.Hour)
			if to.Sub(from) != 72*time.Hour || to.After(time.Now()) {
				t.Errorf("%s: hours from %s to %s: not 72 consecutive complete hours", id, from, to)
			}
			if want := completeDays(from, to); len(days) != want {
				t.Errorf("%s: %d daily candles, want %d (the days wholly in %s–%s)", id, len(days), want, from, to)
			}
			rolled := map[time.Time]*marketgraph.Candle{}
			for _, c := range ingest.Rollup(marketgraph.IntervalDay, hours) {
				rolled[c.Start] = c
			}
			for _, d := range days {
				if r := rolled[d.Start]; r == nil || *r != *d {
					t.Errorf("%s: day %s is %+v, not the roll-up of its hours %+v", id, d.Start, *d, r)
				}
			}
			line := fmt.Sprintf("[%d/2] %s: 72 hourly, %d daily candles\n", i+1, id, len(days))
			if !strings.Contains(out.String(), line) {
				t.Errorf("output %q lacks %q", out.String(), line)
			}
		}
	})

	t.Run("SecondRunChangesNothing", func(t *testing.T) {
		if hours1 == nil {
			t.Skip("the first run failed")
		}
		if err := backfill(context.Background(), io.Discard, "-days", "3", "-assets", "bitcoin,ethereum", "-provider-budget", "6000"); err != nil {
			t.Fatal(err)
		}
		// The clock may have entered a new hour since the first run: the
		// window then moved by an hour, adding one bar, but every bar of
		// the first run is still there, unchanged and not even rewritten.
		hours2, days2 := storedCandles(t, db, ids, marketgraph.IntervalHour), storedCandles(t, db, ids, marketgraph.IntervalDay)
		versions2 := rowVersions(t, url)
		for _, id := range ids {
			for _, pair := range [][2][]*marketgraph.Candle{{hours1[id], hours2[id]}, {days1[id], days2[id]}} {
				first, second := pair[0], pair[1]
				if len(second) < len(first) || len(second) > len(first)+1 {
					t.Errorf("%s: %d candles after the second run, %d after the first", id, len(second), len(first))
					continue
				}
				for j, c := range first {
					if *second[j] != *c {
						t.Errorf("%s: %+v became %+v", id, *c, *second[j])
					}
				}
			}
		}
		for key, v := range versions1 {
			if versions2[key] != v {
				t.Errorf("candle %s was rewritten", key)
			}
		}
	})

	t.Run("FailingChart", func(t *testing.T) {
		fake.SetFault(cgfake.Fault{Status: 500})
		defer fake.SetFault(cgfake.Fault{})
		var out bytes.Buffer
		err := backfill(context.Background(), &out, "-days", "1", "-assets", "bitcoin,ethereum", "-provider-budget", "-1")
		if err == nil || !strings.Contains(err.Error(), "2 of 2 assets failed") {
			t.Errorf("err = %v, want 2 of 2 assets failed", err)
		}
		for _, line := range []string{"[1/2] bitcoin: failed: ", "[2/2] ethereum: failed: ", "backfilled 0 of 2 assets"} {
			if !strings.Contains(out.String(), line) {
				t.Errorf("output %q lacks %q", out.String(), line)
			}
		}
	})

	t.Run("SomeFail", func(t *testing.T) {
		// ethereum: the provider does not know it (404); nope: the catalog
		// does not. bitcoin is filled all the same.
		fake.SetFault(cgfake.Fault{DropIDs: []string{"ethereum"}})
		defer fake.SetFault(cgfake.Fault{})
		var out bytes.Buffer
		err := backfill(context.Background(), &out, "-days", "1", "-assets", "bitcoin,ethereum,nope", "-provider-budget", "-1")
		if err == nil || !strings.Contains(err.Error(), "-assets ethereum,nope") {
			t.Errorf("err = %v, want one naming -assets ethereum,nope", err)
		}
		for _, line := range []string{"[1/3] bitcoin: 24 hourly", "[2/3] ethereum: failed: ", "[3/3] nope: failed: not in the catalog", "backfilled 1 of 3 assets"} {
			if !strings.Contains(out.String(), line) {
				t.Errorf("output %q lacks %q", out.String(), line)
			}
		}
	})

	t.Run("DefaultAssets", func(t *testing.T) {
		before := fake.Calls(cgfake.PathMarketChartRange)
		var out bytes.Buffer
		if err := backfill(context.Background(), &out, "-days", "1", "-provider-budget", "-1"); err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		if n := fake.Calls(cgfake.PathMarketChartRange) - before; n != 100 {
			t.Errorf("%d chart calls, want 100 (the top 100)", n)
		}
		if !strings.Contains(out.String(), "backfilled 100 of 100 assets") {
			t.Errorf("output ends %q", out.String()[max(0, out.Len()-200):])
		}
	})

	t.Run("Interrupted", func(t *testing.T) {
		// One call a minute: the second asset waits, and the interrupt
		// that comes once the first is done ends that wait.
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		out := &cancelOn{marker: "[1/2] bitcoin: ", cancel: cancel}
		err := backfill(ctx, out, "-days", "1", "-assets", "bitcoin,ethereum", "-provider-budget", "1")
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if !strings.Contains(out.String(), "interrupted after 1 of 2 assets") {
			t.Errorf("output %q", out.String())
		}
	})
}

// cancelOn is an output that calls cancel once marker has been written.
type cancelOn struct {
	bytes.Buffer
	marker string
	cancel func()
}

func (w *cancelOn) Write(p []byte) (int, error) {
	n, err := w.Buffer.Write(p)
	if strings.Contains(w.String(), w.marker) {
		w.cancel()
	}
	return n, err
}
