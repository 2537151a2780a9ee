package subload_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/demo"
	"github.com/marketgraph/marketgraph/graph"
	"github.com/marketgraph/marketgraph/loaders"
	"github.com/marketgraph/marketgraph/marketdata"
	"github.com/marketgraph/marketgraph/memory"
	"github.com/marketgraph/marketgraph/pubsub"
	"github.com/marketgraph/marketgraph/resolvers"
	"github.com/marketgraph/marketgraph/server"
	"github.com/marketgraph/marketgraph/subload"
)

// wait is the generous deadline of everything asynchronous below; a
// passing test never waits it.
const wait = 20 * time.Second

// tickEvery is how often the test publisher sends one tick per asset.
const tickEvery = 200 * time.Millisecond

// liveServer is the real handler over HTTP on the memory store, with an
// in-process bus a publisher feeds with one tick per asset every
// tickEvery, and a listener that can cut every connection.
type liveServer struct {
	url   string // ws://.../graphql
	bus   *pubsub.Local
	conns *trackingListener
}

func newLiveServer(t *testing.T) *liveServer {
	t.Helper()
	ds := demo.Generate(demo.DefaultSeed, time.Now())
	store := memory.New()
	if err := store.Load(context.Background(), ds); err != nil {
		t.Fatal(err)
	}
	quotes := marketdata.NewSimulator(ds, marketdata.SimulatorConfig{Seed: demo.DefaultSeed})
	bus := pubsub.NewLocal(0)
	t.Cleanup(func() { _ = bus.Close() })
	log := slog.New(slog.DiscardHandler)
	h := server.New(server.Config{
		Schema: graph.NewExecutableSchema(graph.Config{
			Resolvers:  resolvers.New(resolvers.Deps{Store: store, Log: log, Bus: bus}),
			Complexity: resolvers.Complexity(),
		}),
		Logger:           log,
		OperationContext: loaders.PerOperation(loaders.Config{Store: store, Quotes: quotes}),
	})
	ts := httptest.NewUnstartedServer(h)
	tl := &trackingListener{Listener: ts.Listener}
	ts.Listener = tl
	ts.Start()
	t.Cleanup(ts.Close)

	page, err := store.ListAssets(context.Background(), marketgraph.AssetListParams{Order: marketgraph.DefaultAssetOrder, First: subload.DefaultAssets})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		publish(ctx, t, bus, page.Assets)
	}()
	t.Cleanup(func() {
		stop()
		wg.Wait()
	})
	return &liveServer{url: "ws" + strings.TrimPrefix(ts.URL, "http") + server.GraphQLPath, bus: bus, conns: tl}
}

// publish sends a tick of every asset every tickEvery, each asset's
// sequence going up by one, stamped with the time of publication, until
// ctx ends.
func publish(ctx context.Context, t *testing.T, bus pubsub.Bus, assets []*marketgraph.Asset) {
	tick := time.NewTicker(tickEvery)
	defer tick.Stop()
	for seq := uint64(1); ; seq++ {
		for _, a := range assets {
			now := time.Now()
			b, err := json.Marshal(marketgraph.PriceTick{
				AssetID:  a.ID,
				Quote:    &marketgraph.Quote{AssetID: a.ID, Price: float64(seq), Currency: marketgraph.CurrencyUSD, AsOf: now},
				Sequence: seq,
				At:       now,
			})
			if err != nil {
				t.Error(err)
				return
			}
			if err := bus.Publish(ctx, marketgraph.TickTopic(a.ID), b); err != nil && ctx.Err() == nil {
				t.Error(err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// trackingListener remembers the connections it accepted so that a test
// can cut them all, as a crashing server or a network failure would.
type trackingListener struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.conns = append(l.conns, c)
		l.mu.Unlock()
	}
	return c, err
}

// cut closes every connection accepted so far.
func (l *trackingListener) cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		_ = c.Close()
	}
	l.conns = nil
}

// output collects what a run writes, for tests that wait on its progress
// lines.
type output struct {
	mu sync.Mutex
	b  strings.Builder
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// waitFor waits until the output holds s.
func (o *output) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !strings.Contains(o.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %q in:\n%s", s, o)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// background runs Run until the returned stop is called, which cancels it
// and returns its result.
func background(cfg subload.Config, out *output) (stop func() (*subload.Report, error)) {
	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		rep *subload.Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := subload.Run(ctx, cfg, out)
		done <- result{rep, err}
	}()
	return func() (*subload.Report, error) {
		cancel()
		r := <-done
		return r.rep, r.err
	}
}

func TestRun_LiveServer(t *testing.T) {
	srv := newLiveServer(t)
	var out output
	rep, err := subload.Run(context.Background(), subload.Config{
		URL:                 srv.url,
		Subscribers:         20,
		Rate:                200,
		AssetsPerSubscriber: 5,
		Duration:            time.Second,
		Progress:            -1,
	}, &out)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, &out)
	}
	t.Logf("\n%s", &out)
	if rep.Connected != 20 || rep.ConnectFailed != 0 || rep.Disconnected != 0 || rep.Ended != 0 || rep.Errors != 0 {
		t.Errorf("connected %d, failed %v, disconnected %v, ended %d, errors %v; want 20 and no failures",
			rep.Connected, rep.ConnectFailures, rep.Disconnects, rep.Ended, rep.ErrorMessages)
	}
	// The assets come from the server's catalog, and 20 subscribers of 5
	// cover the top 100 once each.
	if rep.Assets != subload.DefaultAssets {
		t.Errorf("%d distinct assets, want %d", rep.Assets, subload.DefaultAssets)
	}
	if rep.Ticks == 0 || rep.SteadyLatency.Count == 0 {
		t.Fatalf("%d ticks, %d in the steady phase: want some", rep.Ticks, rep.SteadyLatency.Count)
	}
	if rep.Latency.Count != rep.Ticks {
		t.Errorf("latency of %d ticks, received %d", rep.Latency.Count, rep.Ticks)
	}
	// Missed ticks are not an error here: on a loaded machine (CI runs
	// this under -race beside other packages) a subscriber more than a
	// tick behind gets the newest tick of each asset, by design, and the
	// tool counts the jump. That count is checked exactly in
	// TestRun_Protocol, against a scripted server.
	if rep.OutOfOrder != 0 || rep.Skewed != 0 {
		t.Errorf("out of order %d, skewed %d; want none", rep.OutOfOrder, rep.Skewed)
	}
	if rep.MissedTicks >= rep.Ticks {
		t.Errorf("missed %d ticks, received %d: the stream barely flowed", rep.MissedTicks, rep.Ticks)
	}
	for _, l := range []subload.Percentiles{rep.Latency, rep.SteadyLatency} {
		if !(0 < l.P50 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max && l.Mean <= l.Max) {
			t.Errorf("percentiles out of order: %+v", l)
		}
		// Not a timing assertion: a latency of minutes means the tick's
		// own timestamp was not what was measured against.
		if l.Max > time.Minute {
			t.Errorf("max latency %s: not measured from the tick's at", l.Max)
		}
	}
	if len(rep.ByURL) != 1 || rep.ByURL[0].Connected != 20 || rep.ByURL[0].Latency != rep.Latency {
		t.Errorf("by URL %+v", rep.ByURL)
	}
	if rep.Client.Goroutines < 20 {
		t.Errorf("%d goroutines with 20 sockets open", rep.Client.Goroutines)
	}
	for _, s := range []string{"20 connected", "p99.9", "steady", "this tool"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("report lacks %q", s)
		}
	}
	// The run closed its sockets, and the server let go of the
	// subscriptions.
	for _, id := range []string{"bitcoin", "ethereum"} {
		deadline := time.Now().Add(wait)
		for srv.bus.Subscribers(marketgraph.TickTopic(id)) > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%s still has %d subscribers after the run", id, srv.bus.Subscribers(marketgraph.TickTopic(id)))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// Sockets the server side cuts are disconnects, not a normal end.
func TestRun_ServerCutsSockets(t *testing.T) {
	srv := newLiveServer(t)
	var out output
	stop := background(subload.Config{
		URL:                 srv.url,
		Subscribers:         20,
		AssetsPerSubscriber: 2,
		Duration:            time.Minute,
		Progress:            20 * time.Millisecond,
	}, &out)
	out.waitFor(t, "connected 20/20")
	srv.conns.cut()
	out.waitFor(t, "disconnected 20,")
	rep, err := stop()
	if !errors.Is(err, context.Canceled) || rep == nil || !rep.Interrupted {
		t.Fatalf("Run = %v, %v; want an interrupted report", rep, err)
	}
	if rep.Connected != 20 || rep.Disconnected != 20 || len(rep.Disconnects) == 0 {
		t.Errorf("connected %d, disconnected %d %v; want 20 and 20", rep.Connected, rep.Disconnected, rep.Disconnects)
	}
	if !strings.Contains(out.String(), "INTERRUPTED") || !strings.Contains(out.String(), "disconnected: 20 ×") {
		t.Errorf("report:\n%s", &out)
	}
}

func TestRun_Config(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  subload.Config
		want string
	}{
		{"NoURL", subload.Config{Subscribers: 1}, "no server URL"},
		{"BadScheme", subload.Config{URL: "ftp://x/graphql", Subscribers: 1}, "want ws://"},
		{"NoSubscribers", subload.Config{URL: "ws://127.0.0.1:1/graphql"}, "at least 1"},
		{"NegativeRate", subload.Config{URL: "ws://127.0.0.1:1/graphql", Subscribers: 1, Rate: -1}, "rate"},
		{"TooFewAssets", subload.Config{URL: "ws://127.0.0.1:1/graphql", Subscribers: 1, AssetsPerSubscriber: 3, Assets: []string{"a", "b"}}, "only 2 assets"},
		{"NoServer", subload.Config{URL: "ws://127.0.0.1:1/graphql", Subscribers: 1}, "fetch assets"},
		{"NoServerProcess", subload.Config{URL: "ws://127.0.0.1:1/graphql", Subscribers: 1, AssetsPerSubscriber: 1, Assets: []string{"a"}, ServerPID: 1 << 30}, "server process"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := subload.Run(context.Background(), tc.cfg, &output{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}
