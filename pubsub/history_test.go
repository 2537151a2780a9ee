package pubsub_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	neturl "net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph/pubsub"
)

// strs turns payloads into strings, for comparisons and messages.
func strs(ps [][]byte) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return out
}

// numbers returns "from".."to" as strings.
func numbers(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, strconv.Itoa(i))
	}
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// checkHistory runs the checks every bus passes, retaining the newest 5
// payloads of the topics beginning with "ticks.": pub publishes, sub reads
// (two replicas with Redis, the same bus in process).
func checkHistory(t *testing.T, pub, sub pubsub.Bus) {
	ctx := context.Background()
	history := func(topic string, max int) []string {
		t.Helper()
		h, err := sub.History(ctx, topic, max)
		if err != nil {
			t.Fatalf("History(%q, %d): %v", topic, max, err)
		}
		return strs(h)
	}
	t.Run("EmptyBeforeAnyPublish", func(t *testing.T) {
		if h := history("ticks.bitcoin", 0); len(h) != 0 {
			t.Errorf("History = %q, want none", h)
		}
	})
	// Nobody subscribes: the history is recorded anyway.
	for i := 1; i <= 8; i++ {
		if err := pub.Publish(ctx, "ticks.bitcoin", []byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := pub.Publish(ctx, "ticks.ethereum", []byte("eth")); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(ctx, "signals.bitcoin", []byte("sig")); err != nil {
		t.Fatal(err)
	}
	t.Run("NewestOldestFirstBounded", func(t *testing.T) {
		if h := history("ticks.bitcoin", 0); !equal(h, numbers(4, 8)) {
			t.Errorf("History = %q, want 4..8", h)
		}
	})
	t.Run("Max", func(t *testing.T) {
		if h := history("ticks.bitcoin", 1); !equal(h, []string{"8"}) {
			t.Errorf("History(max 1) = %q, want [8]", h)
		}
		if h := history("ticks.bitcoin", 3); !equal(h, numbers(6, 8)) {
			t.Errorf("History(max 3) = %q, want 6..8", h)
		}
		if h := history("ticks.bitcoin", 50); !equal(h, numbers(4, 8)) {
			t.Errorf("History(max 50) = %q, want 4..8", h)
		}
	})
	t.Run("PerTopic", func(t *testing.T) {
		if h := history("ticks.ethereum", 0); !equal(h, []string{"eth"}) {
			t.Errorf("History = %q, want [eth]", h)
		}
	})
	t.Run("OnlyRetainedPrefixes", func(t *testing.T) {
		if h := history("signals.bitcoin", 0); len(h) != 0 {
			t.Errorf("History of a topic outside the prefixes = %q, want none", h)
		}
	})
	t.Run("SubscribersStillGetEverything", func(t *testing.T) {
		s := mustSubscribe(t, sub, ctx, "ticks.bitcoin")
		defer s.Close()
		// History after Subscribe is what makes the subscription live
		// for certain (on Redis it waits for the SUBSCRIBE to be done).
		if h := history("ticks.bitcoin", 0); !equal(h, numbers(4, 8)) {
			t.Errorf("History = %q, want 4..8", h)
		}
		if err := pub.Publish(ctx, "ticks.bitcoin", []byte("9")); err != nil {
			t.Fatal(err)
		}
		if p := receive(t, s); string(p) != "9" {
			t.Errorf("subscriber got %q, want 9", p)
		}
		if h := history("ticks.bitcoin", 0); !equal(h, numbers(5, 9)) {
			t.Errorf("History = %q, want 5..9", h)
		}
	})
	t.Run("EmptyTopic", func(t *testing.T) {
		if _, err := sub.History(ctx, "", 0); err == nil {
			t.Error("History of the empty topic succeeded")
		}
	})
}

// checkSubscribeThenHistory publishes numbers on a topic without pause
// while sub subscribes and then reads History: between the history and the
// subscription, every number from 0 to the last is there. retained and
// buffer must hold every number published (at most limit).
func checkSubscribeThenHistory(t *testing.T, pub, sub pubsub.Bus, topic string, limit int) {
	ctx := context.Background()
	var published atomic.Int64
	var stopAt atomic.Int64
	stopAt.Store(int64(limit))
	var wg sync.WaitGroup
	var pubErr error
	wg.Go(func() {
		for i := int64(0); i < stopAt.Load(); i++ {
			if err := pub.Publish(ctx, topic, []byte(strconv.FormatInt(i, 10))); err != nil {
				pubErr = err
				return
			}
			published.Store(i + 1)
		}
	})
	deadline := time.Now().Add(waitLimit)
	for published.Load() < 20 {
		if time.Now().After(deadline) {
			wg.Wait()
			t.Fatalf("publisher stuck: %v", pubErr)
		}
		time.Sleep(time.Millisecond)
	}
	s := mustSubscribe(t, sub, ctx, topic)
	defer s.Close()
	h, err := sub.History(ctx, topic, 0)
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	stopAt.Store(min(int64(limit), published.Load()+50))
	wg.Wait()
	if pubErr != nil {
		t.Fatal(pubErr)
	}
	last := published.Load() - 1
	seen := map[int64]bool{}
	for _, p := range h {
		n, _ := strconv.ParseInt(string(p), 10, 64)
		seen[n] = true
	}
	if len(h) == 0 || !seen[0] {
		t.Fatalf("history of %d payloads lacks the first: retention too small for the test", len(h))
	}
	// An end marker, published until one arrives, follows everything
	// delivered: no waiting for a number that may never come.
	deadline = time.Now().Add(waitLimit)
	for ended := false; !ended; {
		if err := pub.Publish(ctx, topic, []byte("end")); err != nil {
			t.Fatal(err)
		}
		for waiting := true; waiting && !ended; {
			select {
			case p := <-s.C:
				if string(p) == "end" {
					ended = true
				} else if n, err := strconv.ParseInt(string(p), 10, 64); err == nil {
					seen[n] = true
				}
			case <-time.After(20 * time.Millisecond):
				waiting = false
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the subscription never received anything")
		}
	}
	if d := s.Dropped(); d > 0 {
		t.Fatalf("subscription dropped %d payloads: buffer too small for the test", d)
	}
	for i := int64(0); i <= last; i++ {
		if !seen[i] {
			t.Fatalf("payload %d of 0..%d is neither in the history (%d payloads) nor delivered", i, last, len(h))
		}
	}
	t.Logf("%d published, %d in the history", last+1, len(h))
}

func TestLocal_History(t *testing.T) {
	t.Run("Contract", func(t *testing.T) {
		b := pubsub.NewLocalRetaining(16, pubsub.Retention{Count: 5, Prefixes: []string{"ticks."}})
		defer b.Close()
		checkHistory(t, b, b)
	})
	t.Run("NothingWithoutRetention", func(t *testing.T) {
		b := pubsub.NewLocal(16)
		defer b.Close()
		if err := b.Publish(context.Background(), "ticks.bitcoin", []byte("1")); err != nil {
			t.Fatal(err)
		}
		if h, err := b.History(context.Background(), "ticks.bitcoin", 0); err != nil || len(h) != 0 {
			t.Errorf("History = %q, %v; want none", strs(h), err)
		}
	})
	t.Run("EveryTopicWithoutPrefixes", func(t *testing.T) {
		b := pubsub.NewLocalRetaining(16, pubsub.Retention{Count: 2})
		defer b.Close()
		for _, p := range []string{"a", "b", "c"} {
			if err := b.Publish(context.Background(), "signals.x", []byte(p)); err != nil {
				t.Fatal(err)
			}
		}
		if h, _ := b.History(context.Background(), "signals.x", 0); !equal(strs(h), []string{"b", "c"}) {
			t.Errorf("History = %q, want [b c]", strs(h))
		}
	})
	t.Run("SharedNotCopied", func(t *testing.T) {
		b := pubsub.NewLocalRetaining(16, pubsub.Retention{Count: 2})
		defer b.Close()
		p := []byte("x")
		_ = b.Publish(context.Background(), "t", p)
		h, _ := b.History(context.Background(), "t", 0)
		if len(h) != 1 || &h[0][0] != &p[0] {
			t.Error("History copied the payload: one encoding per publish is the point")
		}
	})
	t.Run("SubscribeThenHistoryMissesNothing", func(t *testing.T) {
		const limit = 100_000
		b := pubsub.NewLocalRetaining(limit, pubsub.Retention{Count: limit})
		defer b.Close()
		checkSubscribeThenHistory(t, b, b, "ticks.x", limit)
	})
	t.Run("Closed", func(t *testing.T) {
		b := pubsub.NewLocalRetaining(16, pubsub.Retention{Count: 2})
		b.Close()
		if _, err := b.History(context.Background(), "t", 0); !errors.Is(err, pubsub.ErrClosed) {
			t.Errorf("History after Close = %v, want ErrClosed", err)
		}
		if err := b.Publish(context.Background(), "t", nil); !errors.Is(err, pubsub.ErrClosed) {
			t.Errorf("Publish after Close = %v, want ErrClosed", err)
		}
	})
}

func TestRedis_History(t *testing.T) {
	url := redisURL(t)
	ctx := context.Background()
	t.Run("SharedByReplicas", func(t *testing.T) {
		prefix := testPrefix()
		retain := pubsub.Retention{Count: 5, Prefixes: []string{"ticks."}, TTL: time.Minute}
		a := newRedisBus(t, pubsub.RedisConfig{URL: url, Prefix: prefix, Retention: retain})
		b := newRedisBus(t, pubsub.RedisConfig{URL: url, Prefix: prefix, Retention: retain})
		checkHistory(t, a, b)

		rdb := admin(t)
		t.Run("ExpiresAfterTTL", func(t *testing.T) {
			ttl, err := rdb.PTTL(ctx, prefix+"history:ticks.bitcoin").Result()
			if err != nil {
				t.Fatal(err)
			}
			if ttl <= 0 || ttl > time.Minute {
				t.Errorf("PTTL = %s, want in (0, 1m]", ttl)
			}
		})
		t.Run("NoListForOtherTopics", func(t *testing.T) {
			if n, err := rdb.Exists(ctx, prefix+"history:signals.bitcoin").Result(); err != nil || n != 0 {
				t.Errorf("EXISTS history of a topic outside the prefixes = %d, %v; want 0", n, err)
			}
		})
		t.Run("SurvivesThePublisher", func(t *testing.T) {
			a.Close()
			c := newRedisBus(t, pubsub.RedisConfig{URL: url, Prefix: prefix, Retention: retain})
			h, err := c.History(ctx, "ticks.bitcoin", 0)
			if err != nil || len(h) != 5 || string(h[4]) != "9" {
				t.Errorf("History on a new bus = %q, %v; want the 5 newest ending with 9", strs(h), err)
			}
		})
	})
	t.Run("NothingWithoutRetention", func(t *testing.T) {
		prefix := testPrefix()
		b := newRedisBus(t, pubsub.RedisConfig{URL: url, Prefix: prefix})
		if err := b.Publish(ctx, "ticks.bitcoin", []byte("1")); err != nil {
			t.Fatal(err)
		}
		if h, err := b.History(ctx, "ticks.bitcoin", 0); err != nil || len(h) != 0 {
			t.Errorf("History = %q, %v; want none", strs(h), err)
		}
		if n, _ := admin(t).Exists(ctx, prefix+"history:ticks.bitcoin").Result(); n != 0 {
			t.Error("a bus without retention wrote a history list")
		}
	})
	t.Run("SubscribeThenHistoryMissesNothing", func(t *testing.T) {
		// The subscriber is a replica of its own, and its SUBSCRIBE goes
		// through a proxy that holds it back a while: Redis processes it
		// well after the history is read, unless History waits for it.
		const limit = 20_000
		prefix := testPrefix()
		retain := pubsub.Retention{Count: limit, TTL: time.Minute}
		pub := newRedisBus(t, pubsub.RedisConfig{URL: url, Prefix: prefix, Retention: retain})
		slow := slowSubscribeProxy(t, url, 100*time.Millisecond)
		for i := range 3 {
			sub := newRedisBus(t, pubsub.RedisConfig{URL: slow, Prefix: prefix, Buffer: limit, Retention: retain})
			checkSubscribeThenHistory(t, pub, sub, "t"+strconv.Itoa(i), limit)
		}
	})
	t.Run("Closed", func(t *testing.T) {
		b := newRedisBus(t, pubsub.RedisConfig{URL: url, Prefix: testPrefix(), Retention: pubsub.Retention{Count: 2, TTL: time.Minute}})
		b.Close()
		if _, err := b.History(ctx, "t", 0); !errors.Is(err, pubsub.ErrClosed) {
			t.Errorf("History after Close = %v, want ErrClosed", err)
		}
	})
}

// slowSubscribeProxy forwards connections to the Redis at rawURL, holding
// back by delay every write from the client that carries a SUBSCRIBE, and
// whatever follows it on that connection. It returns the URL to dial.
func slowSubscribeProxy(t *testing.T, rawURL string, delay time.Duration) string {
	t.Helper()
	u, err := neturl.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	target := u.Host
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				client.Close()
				continue
			}
			t.Cleanup(func() { client.Close(); server.Close() })
			go func() { _, _ = io.Copy(client, server); client.Close() }()
			go func() {
				defer server.Close()
				buf := make([]byte, 64<<10)
				for {
					n, err := client.Read(buf)
					if n > 0 {
						if bytes.Contains(bytes.ToLower(buf[:n]), []byte("subscribe")) {
							time.Sleep(delay)
						}
						if _, err := server.Write(buf[:n]); err != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	u.Host = ln.Addr().String()
	return u.String()
}
