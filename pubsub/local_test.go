package pubsub_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/marketgraph/marketgraph/pubsub"
)

// drain reads everything queued in s without waiting for more.
func drain(s *pubsub.Subscription) [][]byte {
	var out [][]byte
	for {
		select {
		case p, ok := <-s.C:
			if !ok {
				return out
			}
			out = append(out, p)
		default:
			return out
		}
	}
}

func mustSubscribe(t *testing.T, b pubsub.Bus, ctx context.Context, topic string) *pubsub.Subscription {
	t.Helper()
	s, err := b.Subscribe(ctx, topic)
	if err != nil {
		t.Fatalf("Subscribe(%q): %v", topic, err)
	}
	return s
}

func TestLocal_FanOut(t *testing.T) {
	ctx := context.Background()
	b := pubsub.NewLocal(16)
	defer b.Close()
	subs := make([]*pubsub.Subscription, 100)
	for i := range subs {
		subs[i] = mustSubscribe(t, b, ctx, "ticks.bitcoin")
	}
	other := mustSubscribe(t, b, ctx, "ticks.ethereum")
	for i := range 10 {
		if err := b.Publish(ctx, "ticks.bitcoin", []byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("EverySubscriberGetsEverything", func(t *testing.T) {
		for n, s := range subs {
			got := drain(s)
			if len(got) != 10 {
				t.Fatalf("subscriber %d got %d payloads, want 10", n, len(got))
			}
			for i, p := range got {
				if string(p) != strconv.Itoa(i) {
					t.Fatalf("subscriber %d payload %d = %q, want %d (publish order)", n, i, p, i)
				}
			}
		}
	})
	t.Run("OtherTopicsGetNothing", func(t *testing.T) {
		if got := drain(other); len(got) != 0 {
			t.Errorf("subscriber of another topic got %d payloads", len(got))
		}
	})
}

func TestLocal_PayloadShared(t *testing.T) {
	ctx := context.Background()
	b := pubsub.NewLocal(4)
	defer b.Close()
	a, c := mustSubscribe(t, b, ctx, "t"), mustSubscribe(t, b, ctx, "t")
	payload := []byte(`{"price":1}`)
	if err := b.Publish(ctx, "t", payload); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]*pubsub.Subscription{"first": a, "second": c} {
		got := <-s.C
		if unsafe.SliceData(got) != unsafe.SliceData(payload) || len(got) != len(payload) {
			t.Errorf("%s subscriber got a copy of the payload, want the publisher's bytes", name)
		}
	}
}

// A subscriber that never reads must not hold up Publish nor the subscriber
// that does read; it keeps the newest payloads and counts the rest.
func TestLocal_SlowSubscriber(t *testing.T) {
	const n, buffer = 10000, 8
	ctx := context.Background()
	b := pubsub.NewLocal(buffer)
	defer b.Close()
	stuck := mustSubscribe(t, b, ctx, "t")
	reader := mustSubscribe(t, b, ctx, "t")

	var got []int
	done := make(chan struct{})
	go func() {
		defer close(done)
		for p := range reader.C {
			i, _ := strconv.Atoi(string(p))
			got = append(got, i)
		}
	}()
	for i := range n {
		if err := b.Publish(ctx, "t", []byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	reader.Close()
	<-done

	checkSlowBeside(t, stuck, reader, got, n, buffer)
}

func TestLocal_Release(t *testing.T) {
	t.Run("ContextEnd", func(t *testing.T) {
		b := pubsub.NewLocal(4)
		defer b.Close()
		checkRelease(t, b, func(cancel context.CancelFunc, _ []*pubsub.Subscription) { cancel() })
	})
	t.Run("SubscriptionClose", func(t *testing.T) {
		b := pubsub.NewLocal(4)
		defer b.Close()
		checkRelease(t, b, func(_ context.CancelFunc, subs []*pubsub.Subscription) {
			for _, s := range subs {
				s.Close()
				s.Close() // twice is harmless
			}
		})
	})
	t.Run("BusClose", func(t *testing.T) {
		b := pubsub.NewLocal(4)
		checkRelease(t, b, func(context.CancelFunc, []*pubsub.Subscription) { b.Close() })
		if err := b.Publish(context.Background(), "t", nil); !errors.Is(err, pubsub.ErrClosed) {
			t.Errorf("Publish after Close = %v, want ErrClosed", err)
		}
		if _, err := b.Subscribe(context.Background(), "t"); !errors.Is(err, pubsub.ErrClosed) {
			t.Errorf("Subscribe after Close = %v, want ErrClosed", err)
		}
		if err := b.Close(); err != nil {
			t.Errorf("second Close = %v", err)
		}
	})
}

// checkRelease subscribes 50 readers, ends them with end, and checks that
// every reader's channel closed, the bus forgot them and no goroutine is
// left behind.
func checkRelease(t *testing.T, b *pubsub.Local, end func(context.CancelFunc, []*pubsub.Subscription)) {
	t.Helper()
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	subs := make([]*pubsub.Subscription, 50)
	for i := range subs {
		subs[i] = mustSubscribe(t, b, ctx, "t")
		wg.Go(func() {
			for range subs[i].C {
			}
		})
	}
	if err := b.Publish(ctx, "t", []byte("x")); err != nil {
		t.Fatal(err)
	}
	end(cancel, subs)
	wg.Wait() // every C was closed, or this hangs
	if n := b.Subscribers("t"); n != 0 {
		t.Errorf("bus still has %d subscribers", n)
	}
	waitGoroutines(t, before)
}

// waitGoroutines waits until no more than want goroutines run. Goroutines
// that have been told to stop may take a moment to exit, so it polls; a real
// leak keeps the count up and fails after a generous deadline.
func waitGoroutines(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= want {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines left, want at most %d:\n%s", n, want, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLocal_QueuedSurviveClose(t *testing.T) {
	ctx := context.Background()
	b := pubsub.NewLocal(4)
	defer b.Close()
	s := mustSubscribe(t, b, ctx, "t")
	for i := range 3 {
		b.Publish(ctx, "t", []byte{byte(i)})
	}
	s.Close()
	var got []byte
	for p := range s.C {
		got = append(got, p...)
	}
	if string(got) != "\x00\x01\x02" {
		t.Errorf("after Close the reader got %q, want the 3 queued payloads", got)
	}
	if err := b.Publish(ctx, "t", []byte("late")); err != nil {
		t.Errorf("Publish to a topic without subscribers = %v", err)
	}
}

func TestLocal_Errors(t *testing.T) {
	b := pubsub.NewLocal(0)
	defer b.Close()
	done, cancel := context.WithCancel(context.Background())
	cancel()
	t.Run("EmptyTopic", func(t *testing.T) {
		if _, err := b.Subscribe(context.Background(), ""); err == nil {
			t.Error("Subscribe to the empty topic succeeded")
		}
		if err := b.Publish(context.Background(), "", nil); err == nil {
			t.Error("Publish to the empty topic succeeded")
		}
	})
	t.Run("DoneContext", func(t *testing.T) {
		if _, err := b.Subscribe(done, "t"); !errors.Is(err, context.Canceled) {
			t.Errorf("Subscribe with a done context = %v, want context.Canceled", err)
		}
		if err := b.Publish(done, "t", nil); !errors.Is(err, context.Canceled) {
			t.Errorf("Publish with a done context = %v, want context.Canceled", err)
		}
	})
}

// Publishers, subscribers joining and leaving, and readers all at once:
// the race detector is the judge, and every reader must end.
func TestLocal_Concurrent(t *testing.T) {
	b := pubsub.NewLocal(8)
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for p := range 4 {
		wg.Go(func() {
			for i := range 2000 {
				b.Publish(ctx, fmt.Sprintf("t%d", i%3), []byte{byte(p)})
			}
		})
	}
	for range 20 {
		wg.Go(func() {
			for i := range 50 {
				s, err := b.Subscribe(ctx, fmt.Sprintf("t%d", i%3))
				if err != nil {
					return
				}
				for range i % 4 {
					select {
					case <-s.C:
					default:
					}
				}
				if i%2 == 0 {
					s.Close()
				}
			}
		})
	}
	wg.Wait()
	cancel()
	waitNoSubscribers(t, b, "t0", "t1", "t2")
}

func waitNoSubscribers(t *testing.T, b *pubsub.Local, topics ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, topic := range topics {
		for b.Subscribers(topic) != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("topic %s still has %d subscribers after its contexts ended", topic, b.Subscribers(topic))
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// BenchmarkLocal_Publish publishes one payload to a topic with 10,000
// subscribers that never read: the cost of a fan-out once every buffer is
// full and each delivery also drops the oldest payload.
func BenchmarkLocal_Publish(b *testing.B) {
	bus := pubsub.NewLocal(8)
	defer bus.Close()
	ctx := context.Background()
	for range 10000 {
		if _, err := bus.Subscribe(ctx, "t"); err != nil {
			b.Fatal(err)
		}
	}
	payload := []byte(`{"assetId":"bitcoin"}`)
	for b.Loop() {
		bus.Publish(ctx, "t", payload)
	}
}

// checkSlowBeside checks what a bus did with n payloads ("0".."n-1") for a
// subscriber that never read (stuck) beside one that did (reader, which got
// got): stuck keeps exactly its newest buffer payloads and counts the rest
// as dropped; reader got its payloads in order, the last one included, and
// what it missed is counted.
func checkSlowBeside(t *testing.T, stuck, reader *pubsub.Subscription, got []int, n, buffer int) {
	t.Helper()
	t.Run("StuckKeepsNewest", func(t *testing.T) {
		queued := drain(stuck)
		if len(queued) != buffer {
			t.Fatalf("stuck subscriber holds %d payloads, want its buffer of %d", len(queued), buffer)
		}
		for i, p := range queued {
			if want := strconv.Itoa(n - buffer + i); string(p) != want {
				t.Errorf("queued[%d] = %q, want %s: the oldest should have been dropped", i, p, want)
			}
		}
		if d := stuck.Dropped(); d != uint64(n-buffer) {
			t.Errorf("Dropped() = %d, want %d", d, n-buffer)
		}
	})
	t.Run("ReaderInOrderNothingLostUncounted", func(t *testing.T) {
		if uint64(len(got))+reader.Dropped() != uint64(n) {
			t.Errorf("reader got %d and dropped %d, want %d in all", len(got), reader.Dropped(), n)
		}
		for i := 1; i < len(got); i++ {
			if got[i] <= got[i-1] {
				t.Fatalf("reader got %d after %d", got[i], got[i-1])
			}
		}
		if len(got) == 0 || got[len(got)-1] != n-1 {
			t.Errorf("reader did not get the last payload")
		}
	})
}
