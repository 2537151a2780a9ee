package pubsub_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/redis/go-redis/v9"

	"github.com/marketgraph/marketgraph/internal/redistest"
	"github.com/marketgraph/marketgraph/pubsub"
)

const waitLimit = 15 * time.Second

// redisURL returns TEST_REDIS_URL, skipping the test without it (failing
// under CI, where Redis must be there).
func redisURL(t *testing.T) string { return redistest.URL(t) }

// testPrefix returns a channel prefix no other test run uses.
func testPrefix() string { return "test:" + rand.Text()[:12] + ":" }

func newRedisBus(t *testing.T, cfg pubsub.RedisConfig) *pubsub.Redis {
	t.Helper()
	if cfg.URL == "" {
		cfg.URL = redisURL(t)
	}
	b, err := pubsub.NewRedis(context.Background(), cfg)
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// admin is a plain client to inspect Redis from outside the buses.
func admin(t *testing.T) *redis.Client {
	return redistest.Client(t)
}

// waitNumSub waits until Redis counts want subscribed connections on
// channel, that is want processes subscribed to the topic.
func waitNumSub(t *testing.T, rdb *redis.Client, channel string, want int64) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		got, err := rdb.PubSubNumSub(context.Background(), channel).Result()
		if err != nil {
			t.Fatal(err)
		}
		if got[channel] == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("PUBSUB NUMSUB %s = %d, want %d", channel, got[channel], want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// receive waits for the next payload on s.
func receive(t *testing.T, s *pubsub.Subscription) []byte {
	t.Helper()
	select {
	case p, ok := <-s.C:
		if !ok {
			t.Fatal("subscription closed while waiting for a payload")
		}
		return p
	case <-time.After(waitLimit):
		t.Fatal("no payload arrived")
		return nil
	}
}

func TestRedis_FanOutAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	prefix := testPrefix()
	a := newRedisBus(t, pubsub.RedisConfig{Prefix: prefix, Buffer: 32})
	b := newRedisBus(t, pubsub.RedisConfig{Prefix: prefix, Buffer: 32})
	rdb := admin(t)
	const topic = "ticks.bitcoin"
	channel := prefix + topic

	onA := []*pubsub.Subscription{mustSubscribe(t, a, ctx, topic), mustSubscribe(t, a, ctx, topic), mustSubscribe(t, a, ctx, topic)}
	onB := []*pubsub.Subscription{mustSubscribe(t, b, ctx, topic), mustSubscribe(t, b, ctx, topic)}
	other := mustSubscribe(t, b, ctx, "ticks.ethereum")
	waitNumSub(t, rdb, channel, 2)

	for i := range 10 {
		if err := a.Publish(ctx, topic, []byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Publish(ctx, topic, []byte("from-b")); err != nil {
		t.Fatal(err)
	}
	got := map[*pubsub.Subscription][][]byte{}
	for _, s := range append(onA[:len(onA):len(onA)], onB...) {
		for range 11 {
			got[s] = append(got[s], receive(t, s))
		}
	}

	t.Run("EveryReplicaGetsEverythingInOrder", func(t *testing.T) {
		for n, s := range append(onA[:len(onA):len(onA)], onB...) {
			for i, p := range got[s][:10] {
				if string(p) != strconv.Itoa(i) {
					t.Fatalf("subscriber %d payload %d = %q, want %d", n, i, p, i)
				}
			}
			if string(got[s][10]) != "from-b" {
				t.Errorf("subscriber %d last payload = %q, want from-b", n, got[s][10])
			}
		}
	})
	t.Run("OtherTopicsGetNothing", func(t *testing.T) {
		if p := drain(other); len(p) != 0 {
			t.Errorf("subscriber of another topic got %q", p)
		}
	})
	t.Run("LocalFanOutSharesOnePayload", func(t *testing.T) {
		x, y := got[onA[0]][0], got[onA[1]][0]
		if unsafe.SliceData(x) != unsafe.SliceData(y) {
			t.Error("two local subscribers got separate copies of one message")
		}
	})
	t.Run("OneRedisSubscriptionPerProcess", func(t *testing.T) {
		// Every subscriber has received, so every subscription is live:
		// five subscribers in two processes are two Redis subscriptions.
		n, err := rdb.PubSubNumSub(ctx, channel).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n[channel] != 2 {
			t.Errorf("PUBSUB NUMSUB = %d, want 2 (one per process)", n[channel])
		}
	})
	t.Run("LastLocalUnsubscribeLeavesRedis", func(t *testing.T) {
		onB[0].Close()
		if err := a.Publish(ctx, topic, []byte("still")); err != nil {
			t.Fatal(err)
		}
		if p := receive(t, onB[1]); string(p) != "still" {
			t.Fatalf("remaining subscriber on B got %q, want still", p)
		}
		onB[1].Close()
		waitNumSub(t, rdb, channel, 1)
		for _, s := range onA {
			s.Close()
		}
		waitNumSub(t, rdb, channel, 0)
		if a.Subscribers(topic) != 0 || b.Subscribers(topic) != 0 {
			t.Errorf("buses still hold %d and %d subscribers", a.Subscribers(topic), b.Subscribers(topic))
		}
	})
}

// A subscriber that never reads keeps the newest payloads and does not
// hold up the one that reads, nor the bus's single Redis reader.
func TestRedis_SlowSubscriber(t *testing.T) {
	const n, buffer = 300, 8
	ctx := context.Background()
	prefix := testPrefix()
	bus := newRedisBus(t, pubsub.RedisConfig{Prefix: prefix, Buffer: buffer})
	stuck := mustSubscribe(t, bus, ctx, "t")
	reader := mustSubscribe(t, bus, ctx, "t")
	waitNumSub(t, admin(t), prefix+"t", 1)

	var got []int
	done := make(chan struct{})
	go func() {
		defer close(done)
		for p := range reader.C {
			i, _ := strconv.Atoi(string(p))
			got = append(got, i)
			if i == n-1 {
				return
			}
		}
	}()
	for i := range n {
		if err := bus.Publish(ctx, "t", []byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-done:
	case <-time.After(waitLimit):
		t.Fatal("the reading subscriber never got the last payload")
	}

	// stuck was subscribed first, so it was handed n-1 before reader.
	checkSlowBeside(t, stuck, reader, got, n, buffer)
}

func TestRedis_Release(t *testing.T) {
	url := redisURL(t)
	// A first bus warms up whatever go-redis starts once per process.
	warm := newRedisBus(t, pubsub.RedisConfig{URL: url})
	warm.Close()
	rdb := admin(t)

	for _, how := range []string{"ContextEnd", "SubscriptionClose", "BusClose"} {
		t.Run(how, func(t *testing.T) {
			before := runtime.NumGoroutine()
			prefix := testPrefix()
			bus, err := pubsub.NewRedis(context.Background(), pubsub.RedisConfig{URL: url, Prefix: prefix})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var wg sync.WaitGroup
			subs := make([]*pubsub.Subscription, 20)
			for i := range subs {
				subs[i] = mustSubscribe(t, bus, ctx, "t"+strconv.Itoa(i%2))
				wg.Go(func() {
					for range subs[i].C {
					}
				})
			}
			waitNumSub(t, rdb, prefix+"t1", 1)
			switch how {
			case "ContextEnd":
				cancel()
			case "SubscriptionClose":
				for _, s := range subs {
					s.Close()
				}
			}
			if how != "BusClose" {
				waitNumSub(t, rdb, prefix+"t0", 0)
				waitNumSub(t, rdb, prefix+"t1", 0)
			}
			if err := bus.Close(); err != nil {
				t.Errorf("Close = %v", err)
			}
			wg.Wait() // every C was closed, or this hangs
			if err := bus.Close(); err != nil {
				t.Errorf("second Close = %v", err)
			}
			if err := bus.Publish(context.Background(), "t0", nil); !errors.Is(err, pubsub.ErrClosed) {
				t.Errorf("Publish after Close = %v, want ErrClosed", err)
			}
			if _, err := bus.Subscribe(context.Background(), "t0"); !errors.Is(err, pubsub.ErrClosed) {
				t.Errorf("Subscribe after Close = %v, want ErrClosed", err)
			}
			waitGoroutines(t, before)
		})
	}
}

func TestRedis_BadURL(t *testing.T) {
	const secret = "s3cr3tpw"
	for name, u := range map[string]string{
		"Empty":       "",
		"Malformed":   "redis://user:" + secret + "@127.0.0.1:notaport/0",
		"WrongScheme": "http://user:" + secret + "@127.0.0.1:6379/0",
		"BadDB":       "redis://user:" + secret + "@127.0.0.1:6379/notadb",
		"Unreachable": "redis://user:" + secret + "@127.0.0.1:1/0",
	} {
		t.Run(name, func(t *testing.T) {
			b, err := pubsub.NewRedis(context.Background(), pubsub.RedisConfig{URL: u})
			if err == nil {
				b.Close()
				t.Fatal("NewRedis succeeded")
			}
			if !strings.Contains(err.Error(), "REDIS_URL") {
				t.Errorf("error %q does not name REDIS_URL", err)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q reveals the password", err)
			}
		})
	}
}

// TestRedis_Reconnect kills the bus's pub/sub connection from outside: the
// local subscription survives, the bus reconnects and resubscribes, and
// logs the loss and the recovery once each.
func TestRedis_Reconnect(t *testing.T) {
	ctx := context.Background()
	name := "pubsubtest" + strings.ToLower(rand.Text()[:10])
	u, err := url.Parse(redisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("client_name", name) // to find this bus's connection
	u.RawQuery = q.Encode()

	logs := &recorder{}
	prefix := testPrefix()
	bus := newRedisBus(t, pubsub.RedisConfig{URL: u.String(), Prefix: prefix, Logger: slog.New(logs)})
	rdb := admin(t)
	s := mustSubscribe(t, bus, ctx, "t")
	waitNumSub(t, rdb, prefix+"t", 1)
	if state, degraded := bus.Health(); state != "ok" || degraded {
		t.Fatalf("Health() before = %s, %v; want ok, false", state, degraded)
	}

	killed := killPubSubConn(t, rdb, name)
	t.Logf("killed pub/sub connection %d", killed)

	// Publish until one gets through: those sent before the resubscription
	// are lost, which at-most-once delivery allows.
	deadline := time.Now().Add(waitLimit)
	for i := 0; ; i++ {
		if err := bus.Publish(ctx, "t", []byte("after-"+strconv.Itoa(i))); err != nil {
			t.Fatalf("Publish: %v", err)
		}
		select {
		case p, ok := <-s.C:
			if !ok {
				t.Fatal("the local subscription was closed by the connection loss")
			}
			if strings.HasPrefix(string(p), "after-") {
				goto received
			}
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no payload arrived after the connection was killed")
		}
	}
received:
	t.Run("HealthOK", func(t *testing.T) {
		if state, degraded := bus.Health(); state != "ok" || degraded {
			t.Errorf("Health() after recovery = %s, %v; want ok, false", state, degraded)
		}
	})
	t.Run("LossAndRecoveryLoggedOnce", func(t *testing.T) {
		got := logs.messages()
		if len(got) != 2 || !strings.Contains(got[0], "lost") || !strings.Contains(got[1], "recovered") {
			t.Errorf("logged %q, want one loss then one recovery", got)
		}
	})
	t.Run("StillOneRedisSubscription", func(t *testing.T) {
		waitNumSub(t, rdb, prefix+"t", 1)
	})
}

// killPubSubConn kills the pub/sub connection named name and returns its id.
func killPubSubConn(t *testing.T, rdb *redis.Client, name string) int64 {
	t.Helper()
	ctx := context.Background()
	list, err := rdb.Do(ctx, "CLIENT", "LIST", "TYPE", "pubsub").Text()
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(list) {
		fields := strings.Fields(line)
		if !slices.Contains(fields, "name="+name) {
			continue
		}
		for _, f := range fields {
			if id, ok := strings.CutPrefix(f, "id="); ok {
				if err := rdb.Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub", "ID", id).Err(); err != nil {
					t.Fatalf("CLIENT KILL: %v", err)
				}
				n, _ := strconv.ParseInt(id, 10, 64)
				return n
			}
		}
	}
	t.Fatalf("no pub/sub connection named %s in CLIENT LIST:\n%s", name, list)
	return 0
}

// recorder is a slog.Handler keeping the messages of Info and above.
type recorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *recorder) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, fmt.Sprintf("%s %s", rec.Level, rec.Message))
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }
func (r *recorder) messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...)
}
