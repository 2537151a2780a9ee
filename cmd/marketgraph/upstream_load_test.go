//go:build !race

// The race detector multiplies the CPU cost of 2,000 GraphQL requests of 100
// quotes each by five to ten, past what two cores serve in a sane time; the
// sharing of upstream calls is checked under -race in marketdata (1,000
// concurrent callers), and this end-to-end count runs without it
// (./scripts/test runs it separately).

package main

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph/marketdata/coingecko/cgfake"
)

// TestUpstream_ConcurrentRequestsShareCalls is the resilience layer's
// target: 1,000 concurrent GraphQL requests for the same 100 assets' quotes
// cost at most 2 upstream calls from a cold cache, and none from a warm one.
func TestUpstream_ConcurrentRequestsShareCalls(t *testing.T) {
	fake, url := fakeUpstream(t)
	base, stop := startServe(t, map[string]string{"MARKETGRAPH_PROVIDER": "coingecko", "MARKETGRAPH_PROVIDER_URL": url},
		"-ingest=false", "-quote-ttl", "1m", "-provider-timeout", "20s", "-operation-timeout", "40s", "-write-timeout", "60s",
		// 1,000 requests at once from one address: far past the anonymous
		// limits, which are not what this test measures.
		"-rate-anonymous", "1000000", "-cost-anonymous", "1000000000")
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1000}, Timeout: 60 * time.Second}
	burst := func() {
		var wg sync.WaitGroup
		for range 1000 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := postQuotes(t, client, base)
				if r.status != http.StatusOK || r.quoted != 100 || len(r.errors) > 0 {
					t.Errorf("status %d, %d quotes, errors %v", r.status, r.quoted, r.errors)
				}
			}()
		}
		wg.Wait()
	}
	burst()
	cold := fake.Calls(cgfake.PathSimplePrice)
	burst()
	warm := fake.Calls(cgfake.PathSimplePrice) - cold
	t.Logf("upstream calls for 1,000 concurrent requests: %d cold, %d warm", cold, warm)
	if cold < 1 || cold > 2 {
		t.Errorf("cold cache: %d upstream calls, want 1 or 2", cold)
	}
	if warm != 0 {
		t.Errorf("warm cache: %d upstream calls, want 0", warm)
	}
}
