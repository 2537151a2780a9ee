package tickhub_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/pubsub"
	"github.com/marketgraph/marketgraph/tickhub"
)

// recorder is a Receiver that records what the hub calls, in order.
type recorder struct {
	mu      sync.Mutex
	events  []string
	flushed chan struct{}
}

func newRecorder() *recorder { return &recorder{flushed: make(chan struct{}, 100)} }

// Deliver records each tick of the round; Send, the round's end.
func (r *recorder) Deliver(ts []*tickhub.Encoded) tickhub.Sender {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range ts {
		r.events = append(r.events, "deliver "+t.AssetID)
	}
	return r
}

func (r *recorder) Send() {
	r.mu.Lock()
	r.events = append(r.events, "flush")
	r.mu.Unlock()
	r.flushed <- struct{}{}
}

func (r *recorder) wait(t *testing.T) []string {
	t.Helper()
	select {
	case <-r.flushed:
	case <-time.After(10 * time.Second):
		t.Fatal("no flush")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

func plan(t *testing.T, h *tickhub.Hub) *tickhub.Plan {
	t.Helper()
	q, err := parser.ParseQuery(&ast.Source{Name: "test", Input: `subscription { priceTicks(assetIds: ["bitcoin"]) { sequence quote { price } } }`})
	if err != nil {
		t.Fatal(err)
	}
	p, ok := h.Compile(&graphql.OperationContext{Operation: q.Operations[0]})
	if !ok {
		t.Fatal("not compiled")
	}
	return p
}

// round sorts the deliveries before a round's flush.
func round(events []string) []string {
	if n := len(events); n > 0 && events[n-1] == "flush" {
		slices.Sort(events[:n-1])
	}
	return events
}

func publish(t *testing.T, bus pubsub.Bus, asset string, seq uint64) {
	t.Helper()
	now := time.Now().UTC()
	b, err := json.Marshal(marketgraph.PriceTick{AssetID: asset, Sequence: seq, At: now,
		Quote: &marketgraph.Quote{AssetID: asset, Price: 1, Currency: marketgraph.CurrencyUSD, AsOf: now}})
	if err != nil {
		t.Fatal(err)
	}
	if err := bus.Publish(context.Background(), marketgraph.TickTopic(asset), b); err != nil {
		t.Fatal(err)
	}
}

func assets(ids ...string) []*marketgraph.Asset {
	var as []*marketgraph.Asset
	for _, id := range ids {
		as = append(as, &marketgraph.Asset{ID: id, Symbol: id, Name: id})
	}
	return as
}

// The ticks of one publish round reach each receiver together: every
// Deliver of the round, then one Flush, however many assets it holds.
func TestHub_OneFlushPerRound(t *testing.T) {
	bus := pubsub.NewLocal(0)
	t.Cleanup(func() { _ = bus.Close() })
	// A window far longer than publishing three ticks takes, so that
	// they make one round however loaded the machine is.
	h := tickhub.New(tickhub.Config{Bus: bus, Window: 500 * time.Millisecond})
	t.Cleanup(h.Close)
	p := plan(t, h)
	a, b := newRecorder(), newRecorder()
	if _, err := h.Subscribe(p, assets("bitcoin", "ethereum"), a); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Subscribe(p, assets("ethereum"), b); err != nil {
		t.Fatal(err)
	}
	publish(t, bus, "ethereum", 1)
	publish(t, bus, "bitcoin", 1)
	publish(t, bus, "tether", 1) // nobody's
	// Assets are read on goroutines of their own: their order in a round
	// is not the order of publishing.
	if got, want := round(a.wait(t)), []string{"deliver bitcoin", "deliver ethereum", "flush"}; !slices.Equal(got, want) {
		t.Errorf("a got %q, want %q", got, want)
	}
	if got, want := b.wait(t), []string{"deliver ethereum", "flush"}; !slices.Equal(got, want) {
		t.Errorf("b got %q, want %q", got, want)
	}

	// The next round is delivered the same way.
	publish(t, bus, "bitcoin", 2)
	publish(t, bus, "ethereum", 2)
	if got, want := round(a.wait(t)[3:]), []string{"deliver bitcoin", "deliver ethereum", "flush"}; !slices.Equal(got, want) {
		t.Errorf("a's second round: got %q, want %q", got, want)
	}
}

// Without a window the hub delivers what has arrived at once; every tick
// is still followed by a flush, and a closed subscription gets nothing more.
func TestHub_NoWindow(t *testing.T) {
	bus := pubsub.NewLocal(0)
	t.Cleanup(func() { _ = bus.Close() })
	h := tickhub.New(tickhub.Config{Bus: bus, Window: -1})
	t.Cleanup(h.Close)
	p := plan(t, h)
	r, other := newRecorder(), newRecorder()
	sub, err := h.Subscribe(p, assets("bitcoin"), r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Subscribe(p, assets("bitcoin"), other); err != nil {
		t.Fatal(err)
	}
	for i := uint64(1); i <= 3; i++ {
		publish(t, bus, "bitcoin", i)
		if got := r.wait(t); got[len(got)-1] != "flush" || got[len(got)-2] != "deliver bitcoin" {
			t.Fatalf("tick %d: got %q", i, got)
		}
		other.wait(t)
	}
	sub.Close()
	n := len(r.snapshot())
	publish(t, bus, "bitcoin", 4)
	other.wait(t) // the tick was delivered to the others
	if got := r.snapshot(); len(got) != n {
		t.Errorf("a closed subscription got %q", got[n:])
	}
}

func (r *recorder) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// encRecorder keeps the ticks of the first round it gets, and counts its
// Delivers, and those that overlapped another, and its Sends.
type encRecorder struct {
	got                       chan []*tickhub.Encoded
	in                        atomic.Int32
	delivers, overlaps, sends atomic.Int32
}

func (r *encRecorder) Deliver(ts []*tickhub.Encoded) tickhub.Sender {
	if r.in.Add(1) > 1 {
		r.overlaps.Add(1)
	}
	defer r.in.Add(-1)
	if r.delivers.Add(1) == 1 {
		r.got <- slices.Clone(ts)
	}
	time.Sleep(time.Microsecond) // widens the window an overlap would need
	return r
}

func (r *encRecorder) Send() { r.sends.Add(1) }

// With enough subscribers the hub shares a round among several goroutines;
// each subscription still gets its own assets' ticks, once, written by its
// own plan, and every subscription of a plan shares one encoding.
func TestHub_ManySubscribersOneRound(t *testing.T) {
	bus := pubsub.NewLocal(0)
	t.Cleanup(func() { _ = bus.Close() })
	h := tickhub.New(tickhub.Config{Bus: bus, Window: 500 * time.Millisecond})
	t.Cleanup(h.Close)
	p1 := plan(t, h)
	q, err := parser.ParseQuery(&ast.Source{Name: "test", Input: `subscription { priceTicks(assetIds: ["bitcoin"]) { sequence at } }`})
	if err != nil {
		t.Fatal(err)
	}
	p2, ok := h.Compile(&graphql.OperationContext{Operation: q.Operations[0]})
	if !ok || p2 == p1 {
		t.Fatal("the second selection has no plan of its own")
	}
	type sub struct {
		plan   *tickhub.Plan
		assets []string
		r      *encRecorder
	}
	var subs []sub
	for i := range 1500 {
		s := sub{plan: p1, assets: []string{"bitcoin"}, r: &encRecorder{got: make(chan []*tickhub.Encoded, 1)}}
		switch i % 3 {
		case 1:
			s.plan, s.assets = p2, []string{"bitcoin", "ethereum"}
		case 2:
			s.assets = []string{"ethereum", "tether"}
		}
		if _, err := h.Subscribe(s.plan, assets(s.assets...), s.r); err != nil {
			t.Fatal(err)
		}
		subs = append(subs, s)
	}
	publish(t, bus, "ethereum", 1)
	publish(t, bus, "bitcoin", 1) // tether does not tick
	shared := map[string]*tickhub.Encoded{}
	for i, s := range subs {
		var got []*tickhub.Encoded
		select {
		case got = <-s.r.got:
		case <-time.After(10 * time.Second):
			t.Fatalf("subscription %d got nothing", i)
		}
		var ids []string
		for _, e := range got {
			ids = append(ids, e.AssetID)
			key := fmt.Sprintf("%p/%s", s.plan, e.AssetID)
			if first, ok := shared[key]; !ok {
				shared[key] = e
			} else if first != e {
				t.Fatalf("subscription %d: its plan encoded %s twice", i, e.AssetID)
			}
		}
		want := slices.DeleteFunc(slices.Clone(s.assets), func(id string) bool { return id == "tether" })
		if !slices.Equal(ids, want) {
			t.Fatalf("subscription %d: got %q, want %q", i, ids, want)
		}
	}
	// Each worker sends once its share is delivered.
	deadline := time.Now().Add(10 * time.Second)
	for _, s := range subs {
		for s.r.sends.Load() == 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
	for i, s := range subs {
		if d, o, n := s.r.delivers.Load(), s.r.overlaps.Load(), s.r.sends.Load(); d != 1 || o != 0 || n != 1 {
			t.Fatalf("subscription %d: %d delivers (%d overlapping) and %d sends in one round, want 1 and 1", i, d, o, n)
		}
	}
	if a, b := shared[fmt.Sprintf("%p/bitcoin", p1)], shared[fmt.Sprintf("%p/bitcoin", p2)]; bytes.Equal(a.Data, b.Data) {
		t.Errorf("two selections got the same data %s", a.Data)
	}
}
