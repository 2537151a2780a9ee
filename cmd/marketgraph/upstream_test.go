package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph/demo"
	"github.com/marketgraph/marketgraph/marketdata"
	"github.com/marketgraph/marketgraph/marketdata/coingecko/cgfake"
)

// fakeUpstream starts a counting fake CoinGecko over the demo catalog.
func fakeUpstream(t *testing.T) (*cgfake.Fake, string) {
	t.Helper()
	ds := demo.Generate(demo.DefaultSeed, time.Now())
	fake := cgfake.New(marketdata.NewSimulator(ds, marketdata.SimulatorConfig{Seed: demo.DefaultSeed}), ds.Assets)
	ts := httptest.NewServer(fake)
	t.Cleanup(ts.Close)
	return fake, ts.URL + "/api/v3"
}

// quotePage is the query of the upstream tests: 100 assets' quotes.
const quotePage = `{ assets(first: 100) { edges { node { id quote { price stale asOf } } } } }`

type quoteResult struct {
	status int
	stale  int
	quoted int
	errors []map[string]any
}

func postQuotes(t *testing.T, client *http.Client, base string) quoteResult {
	body, _ := json.Marshal(map[string]string{"query": quotePage})
	resp, err := client.Post(base+"/graphql", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Error(err)
		return quoteResult{}
	}
	defer resp.Body.Close()
	var out struct {
		Data struct {
			Assets struct {
				Edges []struct {
					Node struct {
						Quote *struct{ Stale bool }
					}
				}
			}
		}
		Errors []map[string]any
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Error(err)
	}
	r := quoteResult{status: resp.StatusCode, errors: out.Errors}
	for _, e := range out.Data.Assets.Edges {
		if e.Node.Quote != nil {
			r.quoted++
			if e.Node.Quote.Stale {
				r.stale++
			}
		}
	}
	return r
}

// TestUpstream_Faults: whatever the upstream does, a request ends in a
// correct answer within its deadline: fresh quotes, stale ones with stale:
// true, or UPSTREAM_UNAVAILABLE for assets never quoted; never a 500 or a
// hang.
func TestUpstream_Faults(t *testing.T) {
	fake, url := fakeUpstream(t)
	base, stop := startServe(t, map[string]string{"MARKETGRAPH_PROVIDER": "coingecko", "MARKETGRAPH_PROVIDER_URL": url},
		"-ingest=false", "-quote-ttl", "50ms", "-provider-timeout", "2s", "-provider-budget", "6000",
		"-provider-breaker-cooldown", "100ms")
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()
	client := &http.Client{Timeout: 30 * time.Second}

	t.Run("ColdFailureIsUpstreamUnavailable", func(t *testing.T) {
		fake.SetFault(cgfake.Fault{Status: 500})
		r := postQuotes(t, client, base)
		if r.status != http.StatusOK || r.quoted != 0 || len(r.errors) != 100 {
			t.Fatalf("status %d, %d quotes, %d errors; want 200 and 100 errors", r.status, r.quoted, len(r.errors))
		}
		ext, _ := r.errors[0]["extensions"].(map[string]any)
		if ext["code"] != "UPSTREAM_UNAVAILABLE" {
			t.Errorf("code %v, want UPSTREAM_UNAVAILABLE", ext["code"])
		}
		fake.SetFault(cgfake.Fault{})
	})
	// healthy waits until the whole page is quoted fresh: any open breaker
	// has probed and closed, and last-known quotes exist for every asset.
	healthy := func(t *testing.T) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			r := postQuotes(t, client, base)
			if r.quoted == 100 && r.stale == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("never recovered: %d quotes, %d stale", r.quoted, r.stale)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	for _, tc := range []struct {
		name  string
		fault cgfake.Fault
		stale int // how many of the 100 quotes come back stale
	}{
		{"Status500", cgfake.Fault{Status: 500}, 100},
		{"RateLimited", cgfake.Fault{Status: 429, RetryAfter: "1"}, 100},
		{"Malformed", cgfake.Fault{Malformed: true}, 100},
		{"Truncated", cgfake.Fault{Truncated: true}, 100},
		{"Slow", cgfake.Fault{Latency: 10 * time.Second}, 100},
		{"DroppedIDs", cgfake.Fault{DropIDs: []string{"bitcoin", "ethereum"}}, 2},
		{"Nulls", cgfake.Fault{NullFields: true}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			healthy(t)
			fake.SetFault(tc.fault)
			defer fake.SetFault(cgfake.Fault{})
			time.Sleep(100 * time.Millisecond) // past the fresh TTL
			before := fake.Calls(cgfake.PathSimplePrice)
			start := time.Now()
			r := postQuotes(t, client, base)
			if fake.Calls(cgfake.PathSimplePrice) == before {
				t.Fatalf("the fault was never met: no upstream call")
			}
			if r.status != http.StatusOK || r.quoted != 100 || r.stale != tc.stale || len(r.errors) > 0 {
				t.Errorf("status %d, %d quotes (%d stale), errors %v; want 100 quotes, %d stale", r.status, r.quoted, r.stale, r.errors, tc.stale)
			}
			t.Logf("%s answered in %s", tc.name, time.Since(start).Round(time.Millisecond))
		})
	}
}
