package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/auth"
	"github.com/marketgraph/marketgraph/demo"
	"github.com/marketgraph/marketgraph/graph"
	"github.com/marketgraph/marketgraph/loaders"
	"github.com/marketgraph/marketgraph/marketdata"
	"github.com/marketgraph/marketgraph/memory"
	"github.com/marketgraph/marketgraph/pubsub"
	"github.com/marketgraph/marketgraph/resolvers"
	"github.com/marketgraph/marketgraph/server"
	"github.com/marketgraph/marketgraph/tickhub"
)

// streamWait bounds everything asynchronous in these tests; a passing test
// never waits it out.
const streamWait = 20 * time.Second

// liveServer is the real handler with real resolvers on the demo dataset
// and an in-process bus the test publishes ticks on.
type liveServer struct {
	ts      *httptest.Server
	h       *server.Handler
	bus     *pubsub.Local
	logs    *logCapture
	nextSeq map[string]uint64
}

func newLiveServer(t testing.TB, edit func(*server.Config)) *liveServer {
	t.Helper()
	end := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	ds := demo.Generate(demo.DefaultSeed, end)
	store := memory.New()
	if err := store.Load(context.Background(), ds); err != nil {
		t.Fatal(err)
	}
	sim := marketdata.NewSimulator(ds, marketdata.SimulatorConfig{Seed: demo.DefaultSeed})
	bus := pubsub.NewLocal(0)
	t.Cleanup(func() { _ = bus.Close() })
	logs := &logCapture{}
	log := slog.New(logs)
	// Subscriptions the tick hub can serve take the fast path, as in
	// production; edit can set Ticks to nil for gqlgen's.
	hub := tickhub.New(tickhub.Config{Bus: bus, Assets: store.FindAssetsByIDs, Log: log})
	t.Cleanup(hub.Close)
	cfg := server.Config{
		Ticks: hub,
		Schema: graph.NewExecutableSchema(graph.Config{
			Resolvers:  resolvers.New(resolvers.Deps{Store: store, Log: log, Bus: bus}),
			Complexity: resolvers.Complexity(),
		}),
		Logger:           log,
		OperationContext: loaders.PerOperation(loaders.Config{Store: store, Quotes: sim}),
	}
	if edit != nil {
		edit(&cfg)
	}
	h := server.New(cfg)
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return &liveServer{ts: ts, h: h, bus: bus, logs: logs, nextSeq: map[string]uint64{}}
}

// publish publishes the next tick of asset, as the ingest pipeline would,
// and returns its sequence.
func (s *liveServer) publish(t testing.TB, asset string) uint64 {
	t.Helper()
	s.nextSeq[asset]++
	seq := s.nextSeq[asset]
	now := time.Now().UTC()
	b, err := json.Marshal(marketgraph.PriceTick{
		AssetID: asset, Sequence: seq, At: now,
		Quote: &marketgraph.Quote{AssetID: asset, Price: 100 + float64(seq), Currency: marketgraph.CurrencyUSD, AsOf: now},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.bus.Publish(context.Background(), marketgraph.TickTopic(asset), b); err != nil {
		t.Fatal(err)
	}
	return seq
}

func (s *liveServer) wsURL() string {
	return "ws" + strings.TrimPrefix(s.ts.URL, "http") + server.GraphQLPath
}

// sock is a test client socket.
type sock struct {
	t    *testing.T
	conn *websocket.Conn
	ctx  context.Context
}

type sockMsg struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

func (s *liveServer) dial(t *testing.T, protos ...string) *sock {
	t.Helper()
	c, err := s.tryDial(t, nil, protos...)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	return c
}

func (s *liveServer) tryDial(t *testing.T, opts *websocket.DialOptions, protos ...string) (*sock, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), streamWait)
	t.Cleanup(cancel)
	if opts == nil {
		opts = &websocket.DialOptions{}
	}
	opts.Subprotocols = protos
	conn, _, err := websocket.Dial(ctx, s.wsURL(), opts)
	if err != nil {
		return nil, err
	}
	conn.SetReadLimit(1 << 20)
	t.Cleanup(func() { _ = conn.CloseNow() })
	return &sock{t: t, conn: conn, ctx: ctx}, nil
}

func (c *sock) raw(s string) {
	c.t.Helper()
	if err := c.conn.Write(c.ctx, websocket.MessageText, []byte(s)); err != nil {
		c.t.Fatalf("write %s: %v", s, err)
	}
}

// read returns the next message; it fails the test if the socket closes.
func (c *sock) read() sockMsg {
	c.t.Helper()
	_, b, err := c.conn.Read(c.ctx)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	var m sockMsg
	if err := json.Unmarshal(b, &m); err != nil {
		c.t.Fatalf("message %s: %v", b, err)
	}
	return m
}

// readType reads messages until one of type typ, skipping keep-alives.
func (c *sock) readType(typ string) sockMsg {
	c.t.Helper()
	for {
		m := c.read()
		if m.Type == typ {
			return m
		}
		if m.Type != "ka" && m.Type != "ping" && m.Type != "pong" {
			c.t.Fatalf("got %s %s, want %s", m.Type, m.Payload, typ)
		}
	}
}

// closeCode reads until the socket closes and returns its close status
// and reason.
func (c *sock) closeCode() (websocket.StatusCode, string) {
	c.t.Helper()
	for {
		_, _, err := c.conn.Read(c.ctx)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if ok := asCloseError(err, &ce); ok {
			return ce.Code, ce.Reason
		}
		if c.ctx.Err() != nil {
			c.t.Fatal("socket still open")
		}
		return -1, err.Error()
	}
}

func asCloseError(err error, ce *websocket.CloseError) bool {
	code := websocket.CloseStatus(err)
	if code == -1 {
		return false
	}
	*ce = websocket.CloseError{Code: code, Reason: closeReason(err)}
	return true
}

func closeReason(err error) string {
	s := err.Error()
	if i := strings.Index(s, "reason = "); i >= 0 {
		return s[i+len("reason = "):]
	}
	return s
}

func (c *sock) init(payload any) {
	c.t.Helper()
	b, _ := json.Marshal(map[string]any{"type": "connection_init", "payload": payload})
	c.raw(string(b))
	c.readType("connection_ack")
}

const tickQuery = `subscription($ids: [ID!]!) { priceTicks(assetIds: $ids) { sequence asset { id } quote { price } } }`

func (c *sock) subscribe(typ, id, query string, vars map[string]any) {
	c.t.Helper()
	b, _ := json.Marshal(map[string]any{"type": typ, "id": id, "payload": map[string]any{"query": query, "variables": vars}})
	c.raw(string(b))
}

// tick decodes a next (or data) payload of tickQuery.
func tick(t *testing.T, m sockMsg) (asset string, seq int) {
	t.Helper()
	var p struct {
		Data struct {
			PriceTicks struct {
				Sequence int
				Asset    struct{ ID string }
			}
		}
		Errors []any
	}
	if err := json.Unmarshal(m.Payload, &p); err != nil || len(p.Errors) > 0 {
		t.Fatalf("payload %s: %v", m.Payload, err)
	}
	return p.Data.PriceTicks.Asset.ID, p.Data.PriceTicks.Sequence
}

// publishUntil publishes ticks of asset until c receives one on id, which
// it returns: a subscription is live only once its bus subscriptions are,
// which the client cannot see.
func (s *liveServer) publishUntil(t *testing.T, c *sock, asset, id, next string) sockMsg {
	t.Helper()
	got := make(chan sockMsg, 1)
	go func() {
		for {
			_, b, err := c.conn.Read(c.ctx)
			if err != nil {
				close(got)
				return
			}
			var m sockMsg
			_ = json.Unmarshal(b, &m)
			if m.Type != "ka" {
				got <- m
				return
			}
		}
	}()
	tk := time.NewTicker(20 * time.Millisecond)
	defer tk.Stop()
	for {
		s.publish(t, asset)
		select {
		case m, ok := <-got:
			if !ok {
				t.Fatal("socket closed before the first tick")
			}
			if m.Type != next || m.ID != id {
				t.Fatalf("got %+v, want %s for %s", m, next, id)
			}
			return m
		case <-tk.C:
		case <-c.ctx.Done():
			t.Fatal("no tick arrived")
		}
	}
}

// Both subprotocols, end to end: init, ack, a subscription's results,
// ping, the client ending it, and a query on the same socket.
func TestWebSocket_Protocols(t *testing.T) {
	for _, tc := range []struct {
		proto, subscribe, next, stop string
	}{
		{"graphql-transport-ws", "subscribe", "next", "complete"},
		{"graphql-ws", "start", "data", "stop"},
	} {
		t.Run(tc.proto, func(t *testing.T) {
			s := newLiveServer(t, nil)
			c := s.dial(t, tc.proto)
			if c.conn.Subprotocol() != tc.proto {
				t.Fatalf("subprotocol %q", c.conn.Subprotocol())
			}
			c.init(nil)
			c.subscribe(tc.subscribe, "t1", tickQuery, map[string]any{"ids": []string{"bitcoin"}})
			first := s.publishUntil(t, c, "bitcoin", "t1", tc.next)
			asset, seq := tick(t, first)
			if asset != "bitcoin" || seq < 1 {
				t.Fatalf("first tick %s %d", asset, seq)
			}
			want := s.publish(t, "bitcoin")
			for {
				_, got := tick(t, c.readType(tc.next))
				if got == int(want) {
					break
				}
			}
			if tc.proto == "graphql-transport-ws" {
				c.raw(`{"type":"ping","payload":{"x":1}}`)
				c.readType("pong")
			}
			c.raw(`{"type":"` + tc.stop + `","id":"t1"}`)
			if tc.proto == "graphql-ws" {
				if m := c.readType("complete"); m.ID != "t1" {
					t.Fatalf("complete for %q", m.ID)
				}
			}
			c.subscribe(tc.subscribe, "q1", `{ asset(id: "ethereum") { symbol } }`, nil)
			m := c.readType(tc.next)
			if m.ID != "q1" || !strings.Contains(string(m.Payload), `"symbol":"ETH"`) {
				t.Fatalf("query result %+v %s", m, m.Payload)
			}
			if m := c.readType("complete"); m.ID != "q1" {
				t.Fatalf("complete for %q", m.ID)
			}
		})
	}
}

// Every protocol violation closes the socket with its graphql-transport-ws
// close code, and a reason a person can act on.
func TestWebSocket_CloseCodes(t *testing.T) {
	s := newLiveServer(t, func(c *server.Config) {
		c.WebSocketInitTimeout = 300 * time.Millisecond
		c.WebSocketReadLimit = 2048
		c.Authenticate = func(ctx context.Context, p map[string]any) (context.Context, error) {
			switch p["apiKey"] {
			case "forbidden":
				return nil, marketgraph.Errorf(marketgraph.EFORBIDDEN, "this key may not subscribe")
			case "bad":
				return nil, marketgraph.Errorf(marketgraph.EUNAUTHENTICATED, "unknown API key")
			}
			return ctx, nil
		}
	})
	sub := `{"type":"subscribe","id":"1","payload":{"query":"{ __typename }"}}`
	for _, tc := range []struct {
		name   string
		protos []string
		steps  func(c *sock)
		code   websocket.StatusCode
		reason string
	}{
		{"NotJSON", nil, func(c *sock) { c.raw(`{"type":`) }, 4400, "Invalid message"},
		{"UnknownType", nil, func(c *sock) { c.raw(`{"type":"hello"}`) }, 4400, "unknown type"},
		{"IDNotAString", nil, func(c *sock) { c.init(nil); c.raw(`{"type":"subscribe","id":7,"payload":{"query":"{__typename}"}}`) }, 4400, "Invalid message"},
		{"MissingID", nil, func(c *sock) { c.init(nil); c.raw(`{"type":"subscribe","payload":{"query":"{__typename}"}}`) }, 4400, "needs an id"},
		{"PayloadNotObject", nil, func(c *sock) { c.init(nil); c.raw(`{"type":"subscribe","id":"1","payload":"{__typename}"}`) }, 4400, "Invalid message"},
		{"MissingQuery", nil, func(c *sock) { c.init(nil); c.raw(`{"type":"subscribe","id":"1","payload":{}}`) }, 4400, "query"},
		{"InitPayloadNotObject", nil, func(c *sock) { c.raw(`{"type":"connection_init","payload":[1]}`) }, 4400, "must be an object"},
		{"Binary", nil, func(c *sock) { _ = c.conn.Write(c.ctx, websocket.MessageBinary, []byte(`{"type":"connection_init"}`)) }, 4400, "binary"},
		{"SubscribeBeforeInit", nil, func(c *sock) { c.raw(sub) }, 4401, "Unauthorized"},
		{"BadCredentials", nil, func(c *sock) { c.raw(`{"type":"connection_init","payload":{"apiKey":"bad"}}`) }, 4401, "unknown API key"},
		{"Forbidden", nil, func(c *sock) { c.raw(`{"type":"connection_init","payload":{"apiKey":"forbidden"}}`) }, 4403, "may not subscribe"},
		{"InitTimeout", nil, func(*sock) {}, 4408, "initialisation timeout"},
		{"DuplicateID", nil, func(c *sock) {
			c.init(nil)
			c.subscribe("subscribe", "dup", tickQuery, map[string]any{"ids": []string{"bitcoin"}})
			c.subscribe("subscribe", "dup", tickQuery, map[string]any{"ids": []string{"bitcoin"}})
		}, 4409, "Subscriber for dup already exists"},
		{"InitTwice", nil, func(c *sock) { c.init(nil); c.raw(`{"type":"connection_init"}`) }, 4429, "Too many initialisation requests"},
		{"TooLarge", nil, func(c *sock) { c.init(nil); c.raw(`{"type":"ping","payload":"` + strings.Repeat("x", 4096) + `"}`) }, websocket.StatusMessageTooBig, ""},
		{"NoSubprotocol", []string{}, func(*sock) {}, 4406, "Subprotocol not acceptable"},
		{"LegacyUnknownType", []string{"graphql-ws"}, func(c *sock) { c.init(nil); c.raw(`{"type":"subscribe","id":"1"}`) }, 4400, "unknown type"},
		{"LegacyInitTwice", []string{"graphql-ws"}, func(c *sock) { c.init(nil); c.raw(`{"type":"connection_init"}`) }, 4429, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			protos := tc.protos
			if protos == nil {
				protos = []string{"graphql-transport-ws"}
			}
			c := s.dial(t, protos...)
			tc.steps(c)
			code, reason := c.closeCode()
			if code != tc.code || !strings.Contains(reason, tc.reason) {
				t.Fatalf("closed with %d %q, want %d containing %q", code, reason, tc.code, tc.reason)
			}
		})
	}
}

// A socket authenticated with a credential that expires is closed with
// 4401 when it does.
func TestWebSocket_CredentialsExpire(t *testing.T) {
	s := newLiveServer(t, func(c *server.Config) {
		c.Authenticate = func(ctx context.Context, _ map[string]any) (context.Context, error) {
			return auth.WithPrincipal(ctx, &auth.Principal{AccountID: "acme", ExpiresAt: time.Now().Add(300 * time.Millisecond)}), nil
		}
	})
	c := s.dial(t, "graphql-transport-ws")
	c.init(map[string]any{"authorization": "Bearer x"})
	if code, reason := c.closeCode(); code != 4401 || !strings.Contains(reason, "expired") {
		t.Fatalf("closed with %d %q, want 4401 credentials expired", code, reason)
	}
}

// Operations per socket are capped: one more is refused with an error
// message coded RATE_LIMITED, and completing one frees its place.
func TestWebSocket_OperationsPerSocket(t *testing.T) {
	s := newLiveServer(t, func(c *server.Config) { c.MaxSubscriptionsPerConnection = 2 })
	c := s.dial(t, "graphql-transport-ws")
	c.init(nil)
	vars := map[string]any{"ids": []string{"bitcoin"}}
	c.subscribe("subscribe", "a", tickQuery, vars)
	c.subscribe("subscribe", "b", tickQuery, vars)
	c.subscribe("subscribe", "c", tickQuery, vars)
	m := c.readType("error")
	if m.ID != "c" || !strings.Contains(string(m.Payload), `"RATE_LIMITED"`) || !strings.Contains(string(m.Payload), "limit 2") {
		t.Fatalf("third operation: %+v %s", m, m.Payload)
	}
	c.raw(`{"type":"complete","id":"a"}`)
	// The place is freed once the operation has wound down: retry until the
	// server takes it.
	deadline := time.Now().Add(streamWait)
	for attempt := 0; ; attempt++ {
		id := fmt.Sprintf("d%d", attempt)
		c.subscribe("subscribe", id, `{ asset(id: "bitcoin") { symbol } }`, nil)
		for {
			m := c.read()
			if m.ID != id {
				continue // ticks of b
			}
			if m.Type == "next" {
				return
			}
			if m.Type != "error" || time.Now().After(deadline) {
				t.Fatalf("after completing one: %+v %s", m, m.Payload)
			}
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Sockets per caller are capped: one more is closed with 1013 (try again
// later); closing one lets the caller in again.
func TestWebSocket_ConnectionsPerCaller(t *testing.T) {
	s := newLiveServer(t, func(c *server.Config) {
		c.MaxConnectionsPerCaller = 2
		c.Authenticate = func(ctx context.Context, p map[string]any) (context.Context, error) {
			return auth.WithPrincipal(ctx, &auth.Principal{AccountID: fmt.Sprint(p["account"])}), nil
		}
	})
	a1 := s.dial(t, "graphql-transport-ws")
	a1.init(map[string]any{"account": "a"})
	a2 := s.dial(t, "graphql-ws")
	a2.init(map[string]any{"account": "a"})
	a3 := s.dial(t, "graphql-transport-ws")
	a3.raw(`{"type":"connection_init","payload":{"account":"a"}}`)
	if code, reason := a3.closeCode(); code != 1013 || !strings.Contains(reason, "limit 2") {
		t.Fatalf("third socket of a: %d %q", code, reason)
	}
	// Another caller is not affected.
	b := s.dial(t, "graphql-transport-ws")
	b.init(map[string]any{"account": "b"})
	_ = a1.conn.Close(websocket.StatusNormalClosure, "")
	waitUntil(t, "a's first socket released", func() bool { return s.h.OpenStreams() == 2 })
	a4 := s.dial(t, "graphql-transport-ws")
	a4.init(map[string]any{"account": "a"})
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitUntilFor(t, what, streamWait, cond)
}

func waitUntilFor(t *testing.T, what string, wait time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// sseRequest POSTs body asking for an event stream.
func sseRequest(t *testing.T, s *liveServer, body string, edit func(*http.Request)) *http.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), streamWait)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.ts.URL+server.GraphQLPath, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	if edit != nil {
		edit(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// sseEvent is one event of a stream.
type sseEvent struct {
	name, data string
}

// sseEvents parses a stream into events as they arrive; comments are
// skipped.
func sseEvents(r *bufio.Reader) <-chan sseEvent {
	out := make(chan sseEvent, 64)
	go func() {
		defer close(out)
		var ev sseEvent
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSuffix(line, "\n")
			switch {
			case line == "":
				if ev.name != "" {
					out <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"):
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data:"):
				ev.data += strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " ")
			}
		}
	}()
	return out
}

func nextEvent(t *testing.T, events <-chan sseEvent) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-events:
		if !ok {
			t.Fatal("stream ended")
		}
		return ev
	case <-time.After(streamWait):
		t.Fatal("no event")
	}
	return sseEvent{}
}

// GraphQL over SSE, distinct connections mode: a subscription streams next
// events; a query sends one next and complete; validation errors arrive as
// a next event on an accepted stream; a malformed request is a 400.
func TestSSE(t *testing.T) {
	s := newLiveServer(t, nil)
	t.Run("Subscription", func(t *testing.T) {
		resp := sseRequest(t, s, `{"query":"subscription { priceTicks(assetIds: [\"bitcoin\"]) { sequence asset { id } } }"}`, nil)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		events := sseEvents(bufio.NewReader(resp.Body))
		var ev sseEvent
		waitUntil(t, "a tick", func() bool {
			s.publish(t, "bitcoin")
			select {
			case ev = <-events:
				return true
			case <-time.After(20 * time.Millisecond):
				return false
			}
		})
		if ev.name != "next" || !strings.Contains(ev.data, `"id":"bitcoin"`) {
			t.Fatalf("event %+v", ev)
		}
	})
	t.Run("QueryOverGET", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), streamWait)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.ts.URL+server.GraphQLPath+`?query={asset(id:"bitcoin"){symbol}}`, nil)
		req.Header.Set("Accept", "text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		events := sseEvents(bufio.NewReader(resp.Body))
		if ev := nextEvent(t, events); ev.name != "next" || !strings.Contains(ev.data, `"symbol":"BTC"`) {
			t.Fatalf("event %+v", ev)
		}
		if ev := nextEvent(t, events); ev.name != "complete" {
			t.Fatalf("event %+v, want complete", ev)
		}
	})
	t.Run("ValidationError", func(t *testing.T) {
		resp := sseRequest(t, s, `{"query":"subscription { priceTicks(assetIds: [\"bitcoin\"]) { nope } }"}`, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		events := sseEvents(bufio.NewReader(resp.Body))
		if ev := nextEvent(t, events); ev.name != "next" || !strings.Contains(ev.data, "GRAPHQL_VALIDATION_FAILED") {
			t.Fatalf("event %+v", ev)
		}
		if ev := nextEvent(t, events); ev.name != "complete" {
			t.Fatalf("event %+v, want complete", ev)
		}
	})
	t.Run("ResolverRefusal", func(t *testing.T) {
		resp := sseRequest(t, s, `{"query":"subscription { priceTicks(assetIds: []) { sequence } }"}`, nil)
		events := sseEvents(bufio.NewReader(resp.Body))
		if ev := nextEvent(t, events); ev.name != "next" || !strings.Contains(ev.data, "BAD_USER_INPUT") {
			t.Fatalf("event %+v", ev)
		}
		if ev := nextEvent(t, events); ev.name != "complete" {
			t.Fatalf("event %+v, want complete", ev)
		}
	})
	t.Run("MalformedBody", func(t *testing.T) {
		resp := sseRequest(t, s, `{"query":`, nil)
		if resp.StatusCode != 400 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	})
}

// A client that stops reading is disconnected once a write has waited for
// the write timeout, and logged; a fast client of the same asset goes on
// receiving every tick meanwhile.
func TestWebSocket_SlowConsumer(t *testing.T) {
	// Big events (about 20 KB each) fill the socket buffers quickly; the
	// selection reads candles, so gqlgen executes it per tick.
	heavy := `subscription($ids: [ID!]!) { priceTicks(assetIds: $ids) { sequence asset { id candles(interval: MINUTE, last: 200) { start open high low close volume } } } }`
	testSlowConsumer(t, heavy, []string{"bitcoin", "ethereum", "tether", "solana", "ripple"})
}

// The same with the slow client on the tick hub's fast path, whose
// batched writes have the same deadline. Its messages are small and
// coalesce per asset, so it takes all 100 assets to fill the buffers.
func TestWebSocket_SlowConsumerFastPath(t *testing.T) {
	var ids []string
	for _, a := range demo.Generate(demo.DefaultSeed, time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)).Assets {
		ids = append(ids, a.ID)
	}
	testSlowConsumer(t, tickQuery, ids)
}

func testSlowConsumer(t *testing.T, slowQuery string, ids []string) {
	s := newLiveServer(t, func(c *server.Config) {
		c.StreamWriteTimeout = 300 * time.Millisecond
	})
	// The slow client's receive buffer is tiny, so the server's writes to
	// it block after a few kilobytes rather than megabytes.
	small := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(2048)
		}
		return conn, err
	}}}
	vars := map[string]any{"ids": ids}
	slow, err := s.tryDial(t, &websocket.DialOptions{HTTPClient: small}, "graphql-transport-ws")
	if err != nil {
		t.Fatal(err)
	}
	slow.init(nil)
	slow.subscribe("subscribe", "s", slowQuery, vars)
	s.publishUntil(t, slow, "bitcoin", "s", "next")
	fast := s.dial(t, "graphql-transport-ws")
	fast.init(nil)
	fast.subscribe("subscribe", "f", tickQuery, vars)
	s.publishUntil(t, fast, "bitcoin", "f", "next")

	// The fast client reads everything, in its own goroutine.
	var mu sync.Mutex
	seen := map[string]int{}
	go func() {
		for {
			_, b, err := fast.conn.Read(fast.ctx)
			if err != nil {
				return
			}
			var m sockMsg
			_ = json.Unmarshal(b, &m)
			if m.Type == "next" {
				a, q := tick(t, m)
				mu.Lock()
				seen[a] = q
				mu.Unlock()
			}
		}
	}()
	// Filling the socket buffers takes megabytes of ticks: under -race on
	// a loaded machine that is many seconds, so this wait is longer.
	waitUntilFor(t, "the slow client to be disconnected", 3*streamWait, func() bool {
		for range 20 {
			for _, id := range ids {
				s.publish(t, id)
			}
		}
		return len(s.logs.find("websocket: disconnecting a client that stopped reading")) > 0
	})
	waitUntil(t, "the slow socket to be released", func() bool { return s.h.OpenStreams() == 1 })
	// The fast client still gets the newest tick of each asset.
	final := map[string]int{}
	for _, id := range ids {
		final[id] = int(s.publish(t, id))
	}
	waitUntil(t, "the fast client to see the last ticks", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, id := range ids {
			if seen[id] != final[id] {
				return false
			}
		}
		return true
	})
}

// Event streams count against the caller's share too: one more is
// answered 429 RATE_LIMITED.
func TestSSE_ConnectionsPerCaller(t *testing.T) {
	s := newLiveServer(t, func(c *server.Config) { c.MaxConnectionsPerCaller = 1 })
	q := `{"query":"subscription { priceTicks(assetIds: [\"bitcoin\"]) { sequence } }"}`
	first := sseRequest(t, s, q, nil)
	if first.StatusCode != 200 {
		t.Fatalf("first stream: %d", first.StatusCode)
	}
	second := sseRequest(t, s, q, nil)
	if second.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("second stream: %d, want 429", second.StatusCode)
	}
	var body struct {
		Errors []struct{ Extensions struct{ Code string } }
	}
	if err := json.NewDecoder(second.Body).Decode(&body); err != nil || len(body.Errors) != 1 || body.Errors[0].Extensions.Code != "RATE_LIMITED" {
		t.Fatalf("429 body: %+v %v", body, err)
	}
}

// On shutdown, every open operation receives complete, sockets close with
// 1001, event streams end with complete, and new streams are refused.
func TestStreams_Shutdown(t *testing.T) {
	s := newLiveServer(t, nil)
	vars := map[string]any{"ids": []string{"bitcoin"}}
	modern := s.dial(t, "graphql-transport-ws")
	modern.init(nil)
	modern.subscribe("subscribe", "m", tickQuery, vars)
	s.publishUntil(t, modern, "bitcoin", "m", "next")
	legacy := s.dial(t, "graphql-ws")
	legacy.init(nil)
	legacy.subscribe("start", "l", tickQuery, vars)
	s.publishUntil(t, legacy, "bitcoin", "l", "data")
	resp := sseRequest(t, s, `{"query":"subscription { priceTicks(assetIds: [\"bitcoin\"]) { sequence } }"}`, nil)
	events := sseEvents(bufio.NewReader(resp.Body))
	waitUntil(t, "the event stream's first tick", func() bool {
		s.publish(t, "bitcoin")
		select {
		case <-events:
			return true
		case <-time.After(20 * time.Millisecond):
			return false
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), streamWait)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.h.Shutdown(ctx) }()

	for _, c := range []struct {
		sock *sock
		id   string
	}{{modern, "m"}, {legacy, "l"}} {
		for {
			m := c.sock.read()
			if m.Type == "complete" {
				if m.ID != c.id {
					t.Fatalf("complete for %q, want %q", m.ID, c.id)
				}
				break
			}
		}
		if code, reason := c.sock.closeCode(); code != 1001 || !strings.Contains(reason, "shutting down") {
			t.Fatalf("closed with %d %q, want 1001", code, reason)
		}
	}
	for ev := range events {
		if ev.name == "complete" {
			break
		}
		if ev.name != "next" {
			t.Fatalf("event %+v", ev)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if n := s.h.OpenStreams(); n != 0 {
		t.Fatalf("%d streams open after Shutdown", n)
	}
	_, err := s.tryDial(t, nil, "graphql-transport-ws")
	if err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("dial during shutdown: %v, want a 503", err)
	}
	if r := sseRequest(t, s, `{"query":"{ __typename }"}`, nil); r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("event stream during shutdown: %d, want 503", r.StatusCode)
	}
}

// A burst of sockets and streams that connect, subscribe and go away,
// politely or not, leaves no goroutine behind.
func TestStreams_NoGoroutineLeak(t *testing.T) {
	s := newLiveServer(t, func(c *server.Config) { c.WebSocketInitTimeout = 200 * time.Millisecond })
	vars := map[string]any{"ids": []string{"bitcoin", "ethereum"}}
	// Warm up once, so that lazily started goroutines (HTTP client
	// connection pools, timers) are part of the baseline.
	w := s.dial(t, "graphql-transport-ws")
	w.init(nil)
	_ = w.conn.Close(websocket.StatusNormalClosure, "")
	waitUntil(t, "the warm-up socket to close", func() bool { return s.h.OpenStreams() == 0 })
	http.DefaultClient.CloseIdleConnections()
	time.Sleep(50 * time.Millisecond)
	before := runtime.NumGoroutine()

	for i := range 40 {
		switch i % 5 {
		case 0: // subscribe, then vanish without a close frame
			c := s.dial(t, "graphql-transport-ws")
			c.init(nil)
			c.subscribe("subscribe", "x", tickQuery, vars)
			_ = c.conn.CloseNow()
		case 1: // subscribe, complete, close politely
			c := s.dial(t, "graphql-transport-ws")
			c.init(nil)
			c.subscribe("subscribe", "x", tickQuery, vars)
			c.raw(`{"type":"complete","id":"x"}`)
			_ = c.conn.Close(websocket.StatusNormalClosure, "")
		case 2: // never initialise: the init timeout closes it
			s.dial(t, "graphql-ws")
		case 3: // legacy, terminate
			c := s.dial(t, "graphql-ws")
			c.init(nil)
			c.subscribe("start", "x", tickQuery, vars)
			c.raw(`{"type":"connection_terminate"}`)
		case 4: // an event stream the client abandons
			ctx, cancel := context.WithCancel(context.Background())
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.ts.URL+server.GraphQLPath,
				strings.NewReader(`{"query":"subscription { priceTicks(assetIds: [\"bitcoin\"]) { sequence } }"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "text/event-stream")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			cancel()
			resp.Body.Close()
		}
		s.publish(t, "bitcoin")
	}
	http.DefaultClient.CloseIdleConnections()
	deadline := time.Now().Add(streamWait)
	for {
		n := runtime.NumGoroutine()
		if s.h.OpenStreams() == 0 && n <= before {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines before the burst, %d after, %d streams open:\n%s", before, n, s.h.OpenStreams(), buf)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// An id is free again as soon as the client completes its operation: a
// client that reuses it at once is not closed with 4409.
func TestWebSocket_IDReusedAfterComplete(t *testing.T) {
	s := newLiveServer(t, nil)
	c := s.dial(t, "graphql-transport-ws")
	c.init(nil)
	for i := range 30 {
		c.subscribe("subscribe", "same", tickQuery, map[string]any{"ids": []string{"bitcoin"}})
		c.raw(`{"type":"complete","id":"same"}`)
		if i%10 == 9 {
			c.raw(`{"type":"ping"}`)
			c.readType("pong")
		}
	}
	c.subscribe("subscribe", "q", `{ asset(id: "bitcoin") { symbol } }`, nil)
	for {
		m := c.read()
		if m.ID == "q" && m.Type == "next" {
			return
		}
	}
}

// A close reason cut to fit the frame stays valid UTF-8, so the client
// sees the code rather than a failed connection.
func TestWebSocket_LongReasonStaysUTF8(t *testing.T) {
	s := newLiveServer(t, nil)
	c := s.dial(t, "graphql-transport-ws")
	c.init(nil)
	id := strings.Repeat("é", 60) // 120 bytes: the reason exceeds 123
	c.subscribe("subscribe", id, tickQuery, map[string]any{"ids": []string{"bitcoin"}})
	c.subscribe("subscribe", id, tickQuery, map[string]any{"ids": []string{"bitcoin"}})
	if code, reason := c.closeCode(); code != 4409 || !utf8.ValidString(reason) {
		t.Fatalf("closed with %d %q, want 4409 and a valid reason", code, reason)
	}
}

// The keep-alive pings every socket each interval, a socket receiving
// ticks as well as an idle one, on both subprotocols (the legacy one with
// its "ka" messages too); sockets whose client answers stay open, and one
// whose client stopped answering is closed after about two intervals.
func TestWebSocket_KeepAlive(t *testing.T) {
	const interval = 150 * time.Millisecond
	s := newLiveServer(t, func(c *server.Config) { c.WebSocketKeepAlive = interval })
	dialCounting := func(proto string, pings *atomic.Int64) *sock {
		c, err := s.tryDial(t, &websocket.DialOptions{OnPingReceived: func(context.Context, []byte) bool {
			pings.Add(1)
			return true // answered with a pong
		}}, proto)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	var tickingPings, idlePings, legacyPings atomic.Int64
	ticking := dialCounting("graphql-transport-ws", &tickingPings)
	ticking.init(nil)
	ticking.subscribe("subscribe", "1", tickQuery, map[string]any{"ids": []string{"bitcoin"}})
	s.publishUntil(t, ticking, "bitcoin", "1", "next")
	idle := dialCounting("graphql-transport-ws", &idlePings)
	idle.init(nil)
	legacy := dialCounting("graphql-ws", &legacyPings)
	legacy.init(nil)
	mute := s.dial(t, "graphql-transport-ws") // never reads again: answers no ping
	mute.init(nil)
	if n := s.h.OpenStreams(); n != 4 {
		t.Fatalf("%d open streams, want 4", n)
	}

	var kas atomic.Int64
	for _, c := range []*sock{ticking, idle, legacy} {
		go func() {
			for {
				_, b, err := c.conn.Read(c.ctx)
				if err != nil {
					return
				}
				var m sockMsg
				_ = json.Unmarshal(b, &m)
				if c == legacy && m.Type == "ka" {
					kas.Add(1)
				}
			}
		}()
	}
	stop := time.Now().Add(10 * interval)
	for time.Now().Before(stop) {
		s.publish(t, "bitcoin")
		time.Sleep(20 * time.Millisecond)
	}
	waitUntil(t, "the server to close the socket that answers no ping", func() bool { return s.h.OpenStreams() == 3 })
	// The keep-alive closed it, not the client's own deadline.
	if n := len(s.logs.find("websocket: no pong within the keep-alive interval, closing")); n != 1 {
		t.Errorf("%d keep-alive closes logged, want the mute socket's", n)
	}
	for name, n := range map[string]*atomic.Int64{"ticking": &tickingPings, "idle": &idlePings, "legacy": &legacyPings} {
		// Ten intervals: at least four pings, however slow the machine.
		if got := n.Load(); got < 4 {
			t.Errorf("%s socket: %d pings in ten keep-alive intervals", name, got)
		}
	}
	if got := kas.Load(); got < 4 { // one follows the ack, the rest the keep-alive
		t.Errorf("legacy socket: %d ka messages in ten keep-alive intervals", got)
	}
	// The answering sockets are all still open.
	if n := s.h.OpenStreams(); n != 3 {
		t.Errorf("%d open streams, want 3", n)
	}
}
