package ratelimit_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph/ratelimit"
)

// BenchmarkLimiter measures what the limiter adds to a request: a bare
// handler, then the limiter with in-process counters (anonymous callers
// from 1,024 addresses, and accounts), then with Redis (skipped without
// TEST_REDIS_URL). Limits are high enough never to refuse.
func BenchmarkLimiter(b *testing.B) {
	const callers = 1024
	anonymous := make([]*http.Request, callers)
	accounts := make([]*http.Request, callers)
	for i := range callers {
		anonymous[i] = request(fmt.Sprintf("203.0.%d.%d:1", i/256, i%256))
		accounts[i] = request("203.0.113.7:1", "X-Test-Account", fmt.Sprint("acct-", i))
	}
	const high = 1 << 30
	run := func(b *testing.B, h http.Handler, reqs []*http.Request) {
		var next atomic.Uint64
		b.ReportAllocs()
		b.SetParallelism(8) // requests in flight, as on a server; Redis round trips overlap
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, reqs[next.Add(1)%callers])
				if w.Code != http.StatusOK {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
	memory := ratelimit.Config{AnonymousPerMinute: high, AuthenticatedPerMinute: high}

	b.Run("Bare", func(b *testing.B) { run(b, testPrincipal(ok), anonymous) })
	b.Run("Memory/Anonymous", func(b *testing.B) { run(b, newHandler(b, memory), anonymous) })
	b.Run("Memory/Account", func(b *testing.B) { run(b, newHandler(b, memory), accounts) })
	b.Run("Redis/Anonymous", func(b *testing.B) {
		r := newRedis(b, ratelimit.RedisConfig{Timeout: time.Second})
		run(b, newHandler(b, ratelimit.Config{AnonymousPerMinute: high, Redis: r}), anonymous)
	})
}
