package marketdata_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/marketdata"
)

func TestResilient_Cache(t *testing.T) {
	t.Run("HitAfterMiss", func(t *testing.T) {
		clock := newClock()
		up := newUpstream(clock.Now)
		r := newResilient(up, clock, marketdata.ResilienceConfig{})
		first := mustQuotes(t, r, "a", "b")
		second := mustQuotes(t, r, "b", "a")
		if up.N() != 1 {
			t.Fatalf("upstream calls = %d, want 1", up.N())
		}
		for _, id := range []string{"a", "b"} {
			if second[id] == nil || second[id].Price != first[id].Price || second[id].Stale {
				t.Errorf("%s: second call got %+v, want the cached %+v", id, second[id], first[id])
			}
		}
	})
	t.Run("AsksOnlyForMissingIDs", func(t *testing.T) {
		clock := newClock()
		up := newUpstream(clock.Now)
		r := newResilient(up, clock, marketdata.ResilienceConfig{})
		mustQuotes(t, r, "a", "b")
		qs := mustQuotes(t, r, "a", "b", "c", "c")
		if got := up.Calls(); len(got) != 2 || !slices.Equal(got[1], []string{"c"}) {
			t.Fatalf("upstream calls = %v, want the second for [c] only", got)
		}
		if len(qs) != 3 {
			t.Errorf("got %d quotes, want 3", len(qs))
		}
	})
	t.Run("ExpiresAfterTTL", func(t *testing.T) {
		clock := newClock()
		up := newUpstream(clock.Now)
		r := newResilient(up, clock, marketdata.ResilienceConfig{CacheTTL: 10 * time.Second})
		mustQuotes(t, r, "a")
		clock.Advance(9 * time.Second)
		mustQuotes(t, r, "a")
		if up.N() != 1 {
			t.Fatalf("upstream calls within the TTL = %d, want 1", up.N())
		}
		clock.Advance(time.Second)
		qs := mustQuotes(t, r, "a")
		if up.N() != 2 || qs["a"].Price != 2 {
			t.Fatalf("after the TTL: %d upstream calls and price %v, want 2 and the new quote", up.N(), qs["a"].Price)
		}
	})
	t.Run("RemembersUnknownIDs", func(t *testing.T) {
		clock := newClock()
		up := newUpstream(clock.Now)
		up.unknown["nope"] = true
		r := newResilient(up, clock, marketdata.ResilienceConfig{})
		for range 3 {
			qs := mustQuotes(t, r, "a", "nope")
			if _, ok := qs["nope"]; ok || qs["a"] == nil {
				t.Fatalf("got %v, want a quote for a and none for nope", qs)
			}
		}
		if up.N() != 1 {
			t.Errorf("upstream calls = %d, want 1", up.N())
		}
	})
	t.Run("Disabled", func(t *testing.T) {
		clock := newClock()
		up := newUpstream(clock.Now)
		r := newResilient(up, clock, marketdata.ResilienceConfig{CacheTTL: -1})
		mustQuotes(t, r, "a")
		mustQuotes(t, r, "a")
		if up.N() != 2 {
			t.Errorf("upstream calls = %d, want 2", up.N())
		}
	})
}

func TestResilient_SingleFlight(t *testing.T) {
	t.Run("ThousandCallersOneUpstreamCall", func(t *testing.T) {
		clock := newClock()
		up := newUpstream(clock.Now)
		up.gate = make(chan struct{})
		r := newResilient(up, clock, marketdata.ResilienceConfig{})
		page := ids("coin", 100)

		// The target: 1,000 concurrent requests for the same 100
		// assets make at most 2 upstream calls from a cold cache, 0 warm.
		run := func() {
			var wg sync.WaitGroup
			errs := make(chan error, 1000)
			for i := range 1000 {
				own := slices.Clone(page)
				rand.New(rand.NewPCG(uint64(i), 1)).Shuffle(len(own), func(a, b int) { own[a], own[b] = own[b], own[a] })
				wg.Go(func() {
					qs, err := r.Quotes(context.Background(), own, marketgraph.CurrencyUSD)
					if err == nil && len(qs) != len(own) {
						err = fmt.Errorf("got %d quotes, want %d", len(qs), len(own))
					}
					if err != nil {
						select {
						case errs <- err:
						default:
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
		}
		go func() {
			time.Sleep(20 * time.Millisecond) // let callers pile up behind the call
			close(up.gate)
		}()
		run()
		cold := up.N()
		if cold < 1 || cold > 2 {
			t.Fatalf("cold cache: %d upstream calls, want 1 or 2", cold)
		}
		var asked []string
		for _, c := range up.Calls() {
			asked = append(asked, c...)
		}
		if slices.Sort(asked); len(slices.Compact(asked)) != len(asked) {
			t.Errorf("an id was asked for twice: %v", up.Calls())
		}
		run()
		if warm := up.N() - cold; warm != 0 {
			t.Errorf("warm cache: %d upstream calls, want 0", warm)
		}
	})
	t.Run("OverlappingSetsShareCalls", func(t *testing.T) {
		clock := newClock()
		up := newUpstream(clock.Now)
		up.gate, up.entered = make(chan struct{}), make(chan int, 2)
		r := newResilient(up, clock, marketdata.ResilienceConfig{})
		all := ids("coin", 100)
		results := make(chan map[string]*marketgraph.Quote, 2)
		ask := func(ids []string) {
			qs, err := r.Quotes(context.Background(), ids, marketgraph.CurrencyUSD)
			if err != nil {
				t.Error(err)
			}
			results <- qs
		}
		go ask(all[:60])
		<-up.entered
		go ask(all[40:])
		<-up.entered
		close(up.gate)
		a, b := <-results, <-results
		if len(a)+len(b) != 120 {
			t.Errorf("got %d and %d quotes, want 60 each", len(a), len(b))
		}
		calls := up.Calls()
		if len(calls) != 2 || !slices.Equal(calls[1], all[60:]) {
			t.Errorf("second upstream call asked for %v, want only the ids the first did not: %v", calls[1], all[60:])
		}
	})
	t.Run("CallerCancelDoesNotFailOthers", func(t *testing.T) {
		clock := newClock()
		up := newUpstream(clock.Now)
		up.gate, up.entered = make(chan struct{}), make(chan int, 1)
		r := newResilient(up, clock, marketdata.ResilienceConfig{})
		page := ids("coin", 10)

		ctx, cancel := context.WithCancel(context.Background())
		first := make(chan error, 1)
		go func() {
			_, err := r.Quotes(ctx, page, marketgraph.CurrencyUSD)
			first <- err
		}()
		<-up.entered
		type result struct {
			qs  map[string]*marketgraph.Quote
			err error
		}
		second := make(chan result, 1)
		go func() {
			qs, err := r.Quotes(context.Background(), page, marketgraph.CurrencyUSD)
			second <- result{qs, err}
		}()
		cancel()
		if err := <-first; !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled caller got %v, want context.Canceled", err)
		}
		close(up.gate)
		got := <-second
		if got.err != nil || len(got.qs) != len(page) {
			t.Fatalf("other caller got %d quotes and %v, want %d and no error", len(got.qs), got.err, len(page))
		}
		up.mu.Lock()
		defer up.mu.Unlock()
		if len(up.calls) != 1 || !slices.Equal(up.ctxErrs, []error{nil}) {
			t.Errorf("upstream calls = %d, their context errors %v; want 1 call, not cancelled", len(up.calls), up.ctxErrs)
		}
	})
}

func TestResilient_StaleOnError(t *testing.T) {
	cfg := marketdata.ResilienceConfig{CacheTTL: 10 * time.Second, StaleFor: time.Hour, MaxRetries: -1}
	warm := func(t *testing.T) (*fakeClock, *fakeUpstream, *marketdata.Resilient, map[string]*marketgraph.Quote) {
		clock := newClock()
		up := newUpstream(clock.Now)
		r := newResilient(up, clock, cfg)
		known := mustQuotes(t, r, "a", "b")
		clock.Advance(time.Minute)
		up.setFail(always(errors.New("connection reset")))
		return clock, up, r, known
	}

	t.Run("KnownIDsStale", func(t *testing.T) {
		_, up, r, known := warm(t)
		qs, err := r.Quotes(context.Background(), []string{"a", "b"}, marketgraph.CurrencyUSD)
		if err != nil {
			t.Fatalf("every id has a known quote, yet got error %v", err)
		}
		for _, id := range []string{"a", "b"} {
			q := qs[id]
			if q == nil || !q.Stale || !q.AsOf.Equal(known[id].AsOf) || q.Price != known[id].Price {
				t.Errorf("%s: got %+v, want the known quote %+v marked stale", id, q, known[id])
			}
		}
		if known["a"].Stale {
			t.Error("serving stale modified the quote the cache shares")
		}
		if up.N() != 2 {
			t.Errorf("upstream calls = %d, want 2 (the stale answer still asks)", up.N())
		}
	})
	t.Run("UnknownIDGetsUpstreamError", func(t *testing.T) {
		_, _, r, _ := warm(t)
		qs, err := r.Quotes(context.Background(), []string{"a", "z"}, marketgraph.CurrencyUSD)
		if qs["a"] == nil || !qs["a"].Stale {
			t.Errorf("a: got %+v, want it stale", qs["a"])
		}
		if _, ok := qs["z"]; ok {
			t.Errorf("z: got %+v, want it absent", qs["z"])
		}
		if code := marketgraph.ErrorCode(err); code != marketgraph.EUPSTREAM {
			t.Errorf("error %v has code %q, want %s (z is unanswered, not unknown)", err, code, marketgraph.EUPSTREAM)
		}
	})
	t.Run("TooOldForStale", func(t *testing.T) {
		clock, _, r, _ := warm(t)
		clock.Advance(time.Hour)
		qs, err := r.Quotes(context.Background(), []string{"a"}, marketgraph.CurrencyUSD)
		if len(qs) != 0 || marketgraph.ErrorCode(err) != marketgraph.EUPSTREAM {
			t.Errorf("got %v, %v; want no quote and %s", qs, err, marketgraph.EUPSTREAM)
		}
	})
	t.Run("ErrorMessageIsSafe", func(t *testing.T) {
		clock := newClock()
		up := newUpstream(clock.Now)
		up.setFail(always(errors.New("GET https://x.test/?key=SECRET: connection refused")))
		r := newResilient(up, clock, cfg)
		_, err := r.Quotes(context.Background(), []string{"a"}, marketgraph.CurrencyUSD)
		if msg := marketgraph.ErrorMessage(err); msg != "market data provider unavailable" {
			t.Errorf("client message %q, want the generic one", msg)
		}
		if h := r.Health(); h.LastError != "market data provider unavailable" {
			t.Errorf("Health().LastError = %q, want the client-safe message", h.LastError)
		}
	})
	t.Run("DroppedIDServedStale", func(t *testing.T) {
		clock := newClock()
		up := newUpstream(clock.Now)
		r := newResilient(up, clock, cfg)
		known := mustQuotes(t, r, "a")
		clock.Advance(time.Minute)
		up.unknown["a"] = true // the provider's answer lacks it this time
		for range 2 {          // the second from the cache
			qs := mustQuotes(t, r, "a")
			if q := qs["a"]; q == nil || !q.Stale || !q.AsOf.Equal(known["a"].AsOf) {
				t.Errorf("got %+v, want the known quote marked stale", q)
			}
		}
		if up.N() != 2 {
			t.Errorf("upstream calls = %d, want 2", up.N())
		}
	})
	t.Run("BadInputPassesThrough", func(t *testing.T) {
		clock := newClock()
		up := newUpstream(clock.Now)
		up.setFail(always(marketgraph.Errorf(marketgraph.EBADINPUT, "unsupported currency")))
		r := newResilient(up, clock, marketdata.ResilienceConfig{BreakerThreshold: 1})
		_, err := r.Quotes(context.Background(), []string{"a"}, "XYZ")
		if marketgraph.ErrorCode(err) != marketgraph.EBADINPUT {
			t.Errorf("got %v, want the provider's %s", err, marketgraph.EBADINPUT)
		}
		if h := r.Health(); h.Breaker != marketdata.BreakerClosed || h.ConsecutiveFailures != 0 {
			t.Errorf("Health() = %+v: a bad question counted against the provider", h)
		}
	})
}

// Refresh skips the fresh cache, so a poller whose tick is about the TTL
// gets a new answer every tick, and leaves its answer for Quotes.
func TestResilient_Refresh(t *testing.T) {
	clock := newClock()
	up := newUpstream(clock.Now)
	r := newResilient(up, clock, marketdata.ResilienceConfig{})
	mustQuotes(t, r, "a", "b")
	poller := r.Refreshing()
	for i := range 3 {
		if _, err := poller.Quotes(context.Background(), []string{"a", "b"}, marketgraph.CurrencyUSD); err != nil {
			t.Fatal(err)
		}
		if up.N() != 2+i {
			t.Fatalf("after %d refreshes: %d upstream calls, want %d", i+1, up.N(), 2+i)
		}
	}
	mustQuotes(t, r, "a", "b") // fresh from the last refresh
	if up.N() != 4 {
		t.Errorf("Quotes after a refresh made an upstream call (%d calls, want 4)", up.N())
	}
}
