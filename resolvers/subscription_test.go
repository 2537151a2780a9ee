package resolvers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/graph"
	"github.com/marketgraph/marketgraph/loaders"
	"github.com/marketgraph/marketgraph/pubsub"
	"github.com/marketgraph/marketgraph/resolvers"
	"github.com/marketgraph/marketgraph/server"
)

// wait is the generous deadline of everything asynchronous below: a loaded
// two-core machine under -race is slow, and a passing test never waits it.
const wait = 20 * time.Second

const allowedOrigin = "https://app.example.com"

// subServer serves the real handler over HTTP, wired as cmd/marketgraph
// wires it, with an in-process bus the test publishes on.
func subServer(t *testing.T) (*httptest.Server, *pubsub.Local) {
	t.Helper()
	store, _, quotes := memoryFixture(t)
	bus := pubsub.NewLocal(0)
	t.Cleanup(func() { _ = bus.Close() })
	log := slog.New(slog.DiscardHandler)
	h := server.New(server.Config{
		Schema: graph.NewExecutableSchema(graph.Config{
			Resolvers:  resolvers.New(resolvers.Deps{Store: store, Log: log, Now: func() time.Time { return quoteTime }, Bus: bus}),
			Complexity: resolvers.Complexity(),
		}),
		Logger:           log,
		OperationContext: loaders.PerOperation(loaders.Config{Store: store, Quotes: quotes}),
		AllowedOrigins:   []string{allowedOrigin},
	})
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts, bus
}

// wsClient is one socket speaking one subprotocol.
type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
	ctx  context.Context
}

type wsMsg struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

func dial(t *testing.T, ts *httptest.Server, proto string, header http.Header) (*wsClient, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	url := "ws" + strings.TrimPrefix(ts.URL, "http") + server.GraphQLPath
	conn, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{proto}, HTTPHeader: header})
	if err != nil {
		return nil, resp, err
	}
	t.Cleanup(func() { _ = conn.CloseNow() })
	return &wsClient{t: t, conn: conn, ctx: ctx}, resp, nil
}

// connect dials and completes connection_init / connection_ack.
func connect(t *testing.T, ts *httptest.Server, proto string) *wsClient {
	t.Helper()
	c, _, err := dial(t, ts, proto, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.send(wsMsg{Type: "connection_init", Payload: json.RawMessage(`{}`)})
	if m := c.read(); m.Type != "connection_ack" {
		t.Fatalf("got %s, want connection_ack", m.Type)
	}
	if got := c.conn.Subprotocol(); got != proto {
		t.Fatalf("subprotocol %q, want %q", got, proto)
	}
	return c
}

func (c *wsClient) send(m wsMsg) {
	c.t.Helper()
	if err := wsjson.Write(c.ctx, c.conn, m); err != nil {
		c.t.Fatalf("write %s: %v", m.Type, err)
	}
}

// read returns the next message that is not a keep-alive.
func (c *wsClient) read() wsMsg {
	c.t.Helper()
	for {
		var m wsMsg
		if err := wsjson.Read(c.ctx, c.conn, &m); err != nil {
			c.t.Fatalf("read: %v", err)
		}
		switch m.Type {
		case "ka", "pong":
			continue
		case "ping":
			c.send(wsMsg{Type: "pong"})
			continue
		}
		return m
	}
}

func subscribeMsg(proto, id, query string) wsMsg {
	typ := "subscribe"
	if proto == "graphql-ws" {
		typ = "start"
	}
	p, _ := json.Marshal(map[string]any{"query": query})
	return wsMsg{ID: id, Type: typ, Payload: p}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func publishTick(t *testing.T, bus pubsub.Bus, asset string, seq uint64, price float64) {
	t.Helper()
	b, err := json.Marshal(marketgraph.PriceTick{
		AssetID:  asset,
		Quote:    &marketgraph.Quote{AssetID: asset, Price: price, Currency: marketgraph.CurrencyUSD, AsOf: quoteTime},
		Sequence: seq,
		At:       quoteTime,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := bus.Publish(context.Background(), marketgraph.TickTopic(asset), b); err != nil {
		t.Fatal(err)
	}
}

type tickData struct {
	PriceTicks struct {
		Asset    struct{ ID string } `json:"asset"`
		Quote    struct{ Price float64 }
		Sequence uint64
	} `json:"priceTicks"`
}

// nextTick reads one next/data message of subscription id.
func (c *wsClient) nextTick(id string) tickData {
	c.t.Helper()
	m := c.read()
	if (m.Type != "next" && m.Type != "data") || m.ID != id {
		c.t.Fatalf("got %s %s: %s, want next of %s", m.Type, m.ID, m.Payload, id)
	}
	var p struct {
		Data   tickData
		Errors []any
	}
	if err := json.Unmarshal(m.Payload, &p); err != nil || len(p.Errors) > 0 {
		c.t.Fatalf("payload %s: %v", m.Payload, err)
	}
	return p.Data
}

const ticksQuery = `subscription { priceTicks(assetIds: ["bitcoin", "ethereum"]) { asset { id } quote { price } sequence at } }`

func TestSubscriptions_PriceTicks(t *testing.T) {
	for _, tc := range []struct{ proto, stop string }{
		{"graphql-transport-ws", "complete"},
		{"graphql-ws", "stop"},
	} {
		t.Run(tc.proto, func(t *testing.T) {
			ts, bus := subServer(t)
			c := connect(t, ts, tc.proto)
			c.send(subscribeMsg(tc.proto, "1", ticksQuery))
			waitFor(t, "bus subscribers", func() bool {
				return bus.Subscribers(marketgraph.TickTopic("bitcoin")) == 1 && bus.Subscribers(marketgraph.TickTopic("ethereum")) == 1
			})
			publishTick(t, bus, "bitcoin", 7, 91234.5)
			publishTick(t, bus, "ethereum", 3, 3210.25)
			got := map[string]tickData{}
			for len(got) < 2 {
				d := c.nextTick("1")
				got[d.PriceTicks.Asset.ID] = d
			}
			if d := got["bitcoin"].PriceTicks; d.Quote.Price != 91234.5 || d.Sequence != 7 {
				t.Errorf("bitcoin tick = %+v", d)
			}
			if d := got["ethereum"].PriceTicks; d.Quote.Price != 3210.25 || d.Sequence != 3 {
				t.Errorf("ethereum tick = %+v", d)
			}
			c.send(wsMsg{ID: "1", Type: tc.stop})
			waitFor(t, "bus subscriptions released", func() bool {
				return bus.Subscribers(marketgraph.TickTopic("bitcoin")) == 0 && bus.Subscribers(marketgraph.TickTopic("ethereum")) == 0
			})
		})
	}
}

func TestSubscriptions_Origin(t *testing.T) {
	ts, _ := subServer(t)
	t.Run("Refused", func(t *testing.T) {
		_, resp, err := dial(t, ts, "graphql-transport-ws", http.Header{"Origin": {"https://evil.example"}})
		if err == nil {
			t.Fatal("upgrade from a foreign origin succeeded")
		}
		if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("response %v, want 403", resp)
		}
	})
	for name, h := range map[string]http.Header{
		"Allowed":  {"Origin": {allowedOrigin}},
		"NoOrigin": nil,
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := dial(t, ts, "graphql-transport-ws", h); err != nil {
				t.Fatalf("dial: %v", err)
			}
		})
	}
}

func TestSubscriptions_BadArguments(t *testing.T) {
	ts, bus := subServer(t)
	many := make([]string, 101)
	for i := range many {
		many[i] = fmt.Sprintf("%q", fmt.Sprintf("a%d", i))
	}
	for _, tc := range []struct{ name, query, code, mention string }{
		{"UnknownAsset", `subscription { priceTicks(assetIds: ["bitcoin", "no-such-coin"]) { sequence } }`, marketgraph.ENOTFOUND, "no-such-coin"},
		{"NoAssets", `subscription { priceTicks(assetIds: []) { sequence } }`, marketgraph.EBADINPUT, "assetIds"},
		{"TooManyAssets", `subscription { priceTicks(assetIds: [` + strings.Join(many, ",") + `]) { sequence } }`, marketgraph.EBADINPUT, "assetIds"},
		{"IntervalTooLong", `subscription { priceTicks(assetIds: ["bitcoin"], minIntervalMs: 60001) { sequence } }`, marketgraph.EBADINPUT, "minIntervalMs"},
		{"SignalsUnknownAsset", `subscription { signals(assetIds: ["no-such-coin"]) { id } }`, marketgraph.ENOTFOUND, "no-such-coin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := connect(t, ts, "graphql-transport-ws")
			c.send(subscribeMsg("graphql-transport-ws", "1", tc.query))
			m := c.read()
			if m.Type != "error" && m.Type != "next" {
				t.Fatalf("got %s: %s", m.Type, m.Payload)
			}
			var errs []struct {
				Message    string
				Extensions struct{ Code string }
			}
			if m.Type == "next" {
				var p struct{ Errors json.RawMessage }
				_ = json.Unmarshal(m.Payload, &p)
				m.Payload = p.Errors
			}
			if err := json.Unmarshal(m.Payload, &errs); err != nil || len(errs) == 0 {
				t.Fatalf("payload %s: %v", m.Payload, err)
			}
			if errs[0].Extensions.Code != tc.code || !strings.Contains(errs[0].Message, tc.mention) {
				t.Errorf("error %+v, want %s mentioning %q", errs[0], tc.code, tc.mention)
			}
		})
	}
	if n := bus.Subscribers(marketgraph.TickTopic("bitcoin")); n != 0 {
		t.Errorf("%d subscriptions left on the bus", n)
	}
}

// With minIntervalMs, a burst of ticks of one asset reaches the client as
// fewer ticks, the last of which is the newest.
func TestSubscriptions_Throttle(t *testing.T) {
	ts, bus := subServer(t)
	c := connect(t, ts, "graphql-transport-ws")
	c.send(subscribeMsg("graphql-transport-ws", "1", `subscription { priceTicks(assetIds: ["bitcoin"], minIntervalMs: 1000) { asset { id } quote { price } sequence } }`))
	waitFor(t, "bus subscriber", func() bool { return bus.Subscribers(marketgraph.TickTopic("bitcoin")) == 1 })
	for i := 1; i <= 10; i++ {
		publishTick(t, bus, "bitcoin", uint64(i), float64(i))
	}
	received := 0
	for {
		d := c.nextTick("1").PriceTicks
		received++
		if d.Sequence == 10 {
			if d.Quote.Price != 10 {
				t.Errorf("last tick price %v, want 10", d.Quote.Price)
			}
			break
		}
	}
	if received >= 10 {
		t.Errorf("received %d ticks of a burst of 10, want them coalesced", received)
	}
}

// Clients that connect, subscribe and vanish without a word leave nothing
// behind: no goroutine, no bus subscription.
func TestSubscriptions_AbruptDisconnectsLeakNothing(t *testing.T) {
	ts, bus := subServer(t)
	// A first client warms up the server's lazily started goroutines.
	warm := connect(t, ts, "graphql-transport-ws")
	_ = warm.conn.CloseNow()
	waitFor(t, "warm-up client gone", func() bool { return bus.Subscribers(marketgraph.TickTopic("bitcoin")) == 0 })
	time.Sleep(100 * time.Millisecond)
	base := runtime.NumGoroutine()

	clients := make([]*wsClient, 20)
	for i := range clients {
		proto := []string{"graphql-transport-ws", "graphql-ws"}[i%2]
		clients[i] = connect(t, ts, proto)
		clients[i].send(subscribeMsg(proto, "1", ticksQuery))
	}
	waitFor(t, "20 subscribers", func() bool { return bus.Subscribers(marketgraph.TickTopic("bitcoin")) == 20 })
	publishTick(t, bus, "bitcoin", 1, 1)
	// Abrupt: no complete, no close handshake, the TCP connection just
	// goes away.
	for _, c := range clients {
		_ = c.conn.CloseNow()
	}
	waitFor(t, "bus subscriptions released", func() bool { return bus.Subscribers(marketgraph.TickTopic("bitcoin")) == 0 })
	var n int
	deadline := time.Now().Add(wait)
	for n = runtime.NumGoroutine(); n > base+5; n = runtime.NumGoroutine() {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before the clients came:\n%s", n, base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A subscription in another currency carries the quote in that currency,
// loaded for each tick, not the USD quote the bus carried.
func TestSubscriptions_PriceTicksInCurrency(t *testing.T) {
	ts, bus := subServer(t)
	c := connect(t, ts, "graphql-transport-ws")
	c.send(subscribeMsg("graphql-transport-ws", "1", `subscription { priceTicks(assetIds: ["bitcoin"], currency: EUR) { asset { id } quote { price currency } sequence } }`))
	waitFor(t, "bus subscriber", func() bool { return bus.Subscribers(marketgraph.TickTopic("bitcoin")) == 1 })
	publishTick(t, bus, "bitcoin", 1, 1)
	m := c.read()
	var p struct {
		Data struct {
			PriceTicks struct {
				Quote struct {
					Price    float64
					Currency string
				}
				Sequence int
			}
		}
	}
	if err := json.Unmarshal(m.Payload, &p); err != nil || m.Type != "next" {
		t.Fatalf("got %s %s: %v", m.Type, m.Payload, err)
	}
	q := p.Data.PriceTicks.Quote
	if q.Currency != "EUR" || q.Price == 1 || q.Price <= 0 || p.Data.PriceTicks.Sequence != 1 {
		t.Errorf("tick = %+v, want the EUR quote of sequence 1", p.Data.PriceTicks)
	}
}

func TestSubscriptions_Signals(t *testing.T) {
	for _, tc := range []struct{ name, args string }{
		{"OneAsset", `(assetIds: ["ethereum"])`},
		{"TopOfCatalog", ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, bus := subServer(t)
			c := connect(t, ts, "graphql-transport-ws")
			c.send(subscribeMsg("graphql-transport-ws", "s", `subscription { signals`+tc.args+` { id kind asset { id } } }`))
			waitFor(t, "bus subscriber", func() bool { return bus.Subscribers(marketgraph.SignalTopic("ethereum")) == 1 })
			b, _ := json.Marshal(marketgraph.SignalEvent{Signal: &marketgraph.Signal{
				ID: "sig-1", AssetID: "ethereum", Kind: marketgraph.SignalBuy, Strength: 0.5,
				Indicator: "rsi_14", Reason: "oversold", EmittedAt: quoteTime,
			}})
			if err := bus.Publish(context.Background(), marketgraph.SignalTopic("ethereum"), b); err != nil {
				t.Fatal(err)
			}
			m := c.read()
			want := `{"data":{"signals":{"id":"sig-1","kind":"BUY","asset":{"id":"ethereum"}}}}`
			if m.Type != "next" || string(m.Payload) != want {
				t.Errorf("got %s %s, want next %s", m.Type, m.Payload, want)
			}
		})
	}
}
