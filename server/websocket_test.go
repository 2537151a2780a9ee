package server_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/server"
)

type authKey struct{}

// The connection_init payload reaches Config.Authenticate, whose context
// the socket then runs with, and whose refusal closes the socket with 4401.
func TestWebSocket_Authenticate(t *testing.T) {
	got := make(chan map[string]any, 1)
	ts, _ := newServer(t, func(c *server.Config) {
		c.Authenticate = func(ctx context.Context, p map[string]any) (context.Context, error) {
			got <- p
			if p["apiKey"] != "good" {
				return ctx, marketgraph.Errorf(marketgraph.EUNAUTHENTICATED, "unknown API key")
			}
			return context.WithValue(ctx, authKey{}, "caller"), nil
		}
	})
	dial := func(t *testing.T, payload map[string]any) (*websocket.Conn, context.Context) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		t.Cleanup(cancel)
		url := "ws" + strings.TrimPrefix(ts.URL, "http") + server.GraphQLPath
		conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		t.Cleanup(func() { _ = conn.CloseNow() })
		if err := wsjson.Write(ctx, conn, map[string]any{"type": "connection_init", "payload": payload}); err != nil {
			t.Fatal(err)
		}
		return conn, ctx
	}
	t.Run("Accepted", func(t *testing.T) {
		conn, ctx := dial(t, map[string]any{"apiKey": "good", "authorization": "Bearer x"})
		var m struct{ Type string }
		if err := wsjson.Read(ctx, conn, &m); err != nil || m.Type != "connection_ack" {
			t.Fatalf("got %+v, %v; want connection_ack", m, err)
		}
		if p := <-got; p["authorization"] != "Bearer x" {
			t.Errorf("payload %v lost authorization", p)
		}
	})
	t.Run("Refused", func(t *testing.T) {
		conn, ctx := dial(t, map[string]any{"apiKey": "bad"})
		<-got
		for {
			var m struct{ Type string }
			err := wsjson.Read(ctx, conn, &m)
			if err == nil {
				if m.Type == "connection_ack" {
					t.Fatal("refused caller was acknowledged")
				}
				continue
			}
			if code := websocket.CloseStatus(err); code != 4401 {
				t.Fatalf("closed with %v (%v), want 4401", code, err)
			}
			return
		}
	})
}

// Subscriptions need a stream; POST answers one JSON document, so it
// refuses them with a message that says why.
func TestWebSocket_SubscriptionOverPOSTRefused(t *testing.T) {
	ts, _ := newServer(t, nil)
	res := post(t, ts, "application/json", gqlResponse, `{"query":"subscription { priceTicks(assetIds: [\"bitcoin\"]) { sequence } }"}`)
	if res.status != http.StatusBadRequest || !strings.Contains(res.body, "subscriptions cannot be answered") {
		t.Errorf("status %d body %s", res.status, res.body)
	}
}

// A socket that never sends connection_init is closed after the init
// timeout.
func TestWebSocket_InitTimeout(t *testing.T) {
	ts, _ := newServer(t, func(c *server.Config) { c.WebSocketInitTimeout = 50 * time.Millisecond })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(ts.URL, "http") + server.GraphQLPath
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	var m any
	err = wsjson.Read(ctx, conn, &m)
	if err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("socket still open (%v, %v)", m, err)
	}
}
