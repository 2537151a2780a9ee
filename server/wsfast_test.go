package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/marketgraph/marketgraph"
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

// The tick hub's messages are gqlgen's, byte for byte: two servers on one
// bus, one with the hub and one without, answer the same subscriptions to
// the same ticks, for selections with aliases, __typename, nullable fields
// and every field the hub writes, on both subprotocols.
func TestWebSocket_TickHubMatchesGqlgen(t *testing.T) {
	end := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	ds := demo.Generate(demo.DefaultSeed, end)
	store := memory.New()
	if err := store.Load(context.Background(), ds); err != nil {
		t.Fatal(err)
	}
	sim := marketdata.NewSimulator(ds, marketdata.SimulatorConfig{Seed: demo.DefaultSeed})
	bus := pubsub.NewLocal(0)
	t.Cleanup(func() { _ = bus.Close() })
	hub := tickhub.New(tickhub.Config{Bus: bus, Assets: store.FindAssetsByIDs})
	t.Cleanup(hub.Close)
	start := func(ticks server.TickHub) string {
		cfg := server.Config{
			Schema: graph.NewExecutableSchema(graph.Config{
				Resolvers:  resolvers.New(resolvers.Deps{Store: store, Bus: bus}),
				Complexity: resolvers.Complexity(),
			}),
			OperationContext: loaders.PerOperation(loaders.Config{Store: store, Quotes: sim}),
			Ticks:            ticks,
		}
		ts := httptest.NewServer(server.New(cfg))
		t.Cleanup(ts.Close)
		return "ws" + strings.TrimPrefix(ts.URL, "http") + server.GraphQLPath
	}
	fast, slow := start(hub), start(nil)

	selections := []string{
		`sequence`,
		`sequence at delivery __typename`,
		`t: __typename s: sequence quote { price }`,
		`quote { price marketCap volume24h change24h currency asOf stale __typename }`,
		`asset { id symbol name rank category __typename }`,
		`a: asset { x: id y: symbol } q: quote { p: price c: currency } at`,
		`quote { stale } sequence asset { name } delivery at quote2: quote { asOf }`,
	}
	ids := []string{"bitcoin", "ethereum", "tether"}
	for _, proto := range []string{"graphql-transport-ws", "graphql-ws"} {
		for i, sel := range selections {
			t.Run(fmt.Sprintf("%s/%d", proto, i), func(t *testing.T) {
				query := `subscription($ids: [ID!]!) { pt: priceTicks(assetIds: $ids) { ` + sel + ` } }`
				if i%2 == 1 {
					query = `subscription($ids: [ID!]!) { priceTicks(assetIds: $ids, currency: USD) { ` + sel + ` } }`
				}
				a, b := rawSock(t, fast, proto, query, ids), rawSock(t, slow, proto, query, ids)
				// Both are live once a tick reaches both.
				var seq uint64
				for live := false; !live; {
					seq++
					publishTick(t, bus, "bitcoin", seq, nil)
					live = a.poll() && b.poll()
				}
				a.drop()
				b.drop()
				if hub.Topics() == 0 {
					t.Fatal("the fast path is not in use")
				}
				mc, ch := 1.5e12, -2.25
				for _, id := range ids {
					seq++
					publishTick(t, bus, id, seq, &marketgraph.Quote{AssetID: id, Price: 1234567.125 + float64(seq), MarketCap: &mc, Change24h: &ch, Currency: marketgraph.CurrencyUSD, AsOf: end, Stale: seq%2 == 0})
					if ga, gb := a.next(), b.next(); ga != gb {
						t.Fatalf("fast path sent\n%s\ngqlgen sent\n%s", ga, gb)
					}
				}
			})
		}
	}
}

// rawSockT is a client reading raw messages.
type rawSockT struct {
	t    *testing.T
	conn *websocket.Conn
	ctx  context.Context
	msgs chan string
}

func rawSock(t *testing.T, url, proto, query string, ids []string) *rawSockT {
	ctx, cancel := context.WithTimeout(context.Background(), streamWait)
	t.Cleanup(cancel)
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{proto}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.CloseNow() })
	s := &rawSockT{t: t, conn: conn, ctx: ctx, msgs: make(chan string, 100)}
	_ = conn.Write(ctx, websocket.MessageText, []byte(`{"type":"connection_init"}`))
	typ := "subscribe"
	if proto == "graphql-ws" {
		typ = "start"
	}
	b, _ := json.Marshal(map[string]any{"type": typ, "id": "op1", "payload": map[string]any{"query": query, "variables": map[string]any{"ids": ids}}})
	_ = conn.Write(ctx, websocket.MessageText, b)
	go func() {
		defer close(s.msgs)
		for {
			_, b, err := conn.Read(ctx)
			if err != nil {
				return
			}
			m := string(b)
			if strings.Contains(m, `"type":"next"`) || strings.Contains(m, `"type":"data"`) {
				s.msgs <- m
			}
		}
	}()
	return s
}

// poll reports whether a result arrived within a short while.
func (s *rawSockT) poll() bool {
	select {
	case <-s.msgs:
		return true
	case <-time.After(20 * time.Millisecond):
		return false
	}
}

// drop forgets the results received so far.
func (s *rawSockT) drop() {
	time.Sleep(50 * time.Millisecond)
	for {
		select {
		case <-s.msgs:
		default:
			return
		}
	}
}

func (s *rawSockT) next() string {
	s.t.Helper()
	select {
	case m, ok := <-s.msgs:
		if !ok {
			s.t.Fatal("socket closed")
		}
		return m
	case <-s.ctx.Done():
		s.t.Fatal("no result")
		return ""
	}
}

func publishTick(t *testing.T, bus pubsub.Bus, asset string, seq uint64, q *marketgraph.Quote) {
	t.Helper()
	now := time.Now().UTC()
	if q == nil {
		q = &marketgraph.Quote{AssetID: asset, Price: 1, Currency: marketgraph.CurrencyUSD, AsOf: now}
	}
	b, err := json.Marshal(marketgraph.PriceTick{AssetID: asset, Sequence: seq, At: now, Quote: q})
	if err != nil {
		t.Fatal(err)
	}
	if err := bus.Publish(context.Background(), marketgraph.TickTopic(asset), b); err != nil {
		t.Fatal(err)
	}
}

// A client may send its first messages in the same packet as the upgrade
// request, before it has seen the 101: net/http has read them by then, and
// they must reach the socket, which reads through a smaller buffer of its
// own. Large enough messages are sent too, so that they exceed that buffer.
func TestWebSocket_EarlyMessagesAfterUpgrade(t *testing.T) {
	s := newLiveServer(t, nil)
	for _, size := range []int{0, 2000, 6000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			conn, err := net.Dial("tcp", strings.TrimPrefix(s.ts.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(streamWait))
			init, _ := json.Marshal(map[string]any{"type": "connection_init", "payload": map[string]any{"padding": strings.Repeat("x", size)}})
			sub, _ := json.Marshal(map[string]any{"type": "subscribe", "id": "1", "payload": map[string]any{"query": `{ __typename }`}})
			var b bytes.Buffer
			b.WriteString("GET " + server.GraphQLPath + " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
				"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n")
			b.Write(clientFrame(init))
			b.Write(clientFrame(sub))
			if _, err := conn.Write(b.Bytes()); err != nil { // one write: one packet on loopback
				t.Fatal(err)
			}
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("status %d", resp.StatusCode)
			}
			for _, want := range []string{`"connection_ack"`, `"__typename":"Query"`, `"complete"`} {
				if got := serverFrame(t, br); !strings.Contains(got, want) {
					t.Fatalf("got %s, want a message with %s", got, want)
				}
			}
		})
	}
}

// clientFrame is p as a masked text frame, as a client sends it.
func clientFrame(p []byte) []byte {
	f := []byte{0x81}
	switch n := len(p); {
	case n < 126:
		f = append(f, 0x80|byte(n))
	case n < 1<<16:
		f = append(f, 0x80|126, byte(n>>8), byte(n))
	default:
		panic("frame too large for this test")
	}
	key := []byte{1, 2, 3, 4}
	f = append(f, key...)
	for i, c := range p {
		f = append(f, c^key[i%4])
	}
	return f
}

// serverFrame reads one unmasked text frame of at most 64 KiB.
func serverFrame(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		t.Fatal(err)
	}
	n := int(h[1] & 0x7f)
	if n == 126 {
		var l [2]byte
		if _, err := io.ReadFull(br, l[:]); err != nil {
			t.Fatal(err)
		}
		n = int(l[0])<<8 | int(l[1])
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(br, p); err != nil {
		t.Fatal(err)
	}
	return string(p)
}
