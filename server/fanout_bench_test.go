package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// BenchmarkTickFanout measures delivering price ticks to WebSocket
// subscribers through the whole server (bus, pump, gqlgen execution,
// encoding, socket write) and the test's clients (socket read): one op
// publishes one tick of each of 10 assets to 200 subscribers of all 10 and
// waits until every subscriber has them all. The reported ns/tick is the
// cost of one delivered tick, the figure that decides how many subscribers
// a core serves.
func BenchmarkTickFanout(b *testing.B) {
	const subscribers = 200
	ids := []string{"bitcoin", "ethereum", "tether", "binancecoin", "solana", "ripple", "usd-coin", "dogecoin", "cardano", "tron"}
	for _, q := range []struct{ name, query string }{
		{"sequence", `subscription($ids: [ID!]!) { priceTicks(assetIds: $ids) { sequence at quote { price } } }`},
		{"with-asset", `subscription($ids: [ID!]!) { priceTicks(assetIds: $ids) { sequence at quote { price } asset { id } } }`},
	} {
		b.Run(q.name, func(b *testing.B) {
			s := newLiveServer(b, nil)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var received atomic.Int64
			for i := range subscribers {
				conn, _, err := websocket.Dial(ctx, s.wsURL(), &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
				if err != nil {
					b.Fatal(err)
				}
				defer conn.CloseNow()
				_ = conn.Write(ctx, websocket.MessageText, []byte(`{"type":"connection_init"}`))
				if _, _, err := conn.Read(ctx); err != nil {
					b.Fatal(err)
				}
				sub, _ := json.Marshal(map[string]any{"type": "subscribe", "id": fmt.Sprint(i), "payload": map[string]any{"query": q.query, "variables": map[string]any{"ids": ids}}})
				_ = conn.Write(ctx, websocket.MessageText, sub)
				go func() {
					for {
						if _, _, err := conn.Read(ctx); err != nil {
							return
						}
						received.Add(1)
					}
				}()
			}
			// Every subscription is live once a tick reaches them all.
			deadline := time.Now().Add(streamWait)
			for received.Load() < subscribers {
				if time.Now().After(deadline) {
					b.Fatalf("only %d subscribers live", received.Load())
				}
				s.publish(b, ids[0])
				time.Sleep(10 * time.Millisecond)
			}
			time.Sleep(50 * time.Millisecond)
			b.ResetTimer()
			for range b.N {
				start := received.Load()
				for _, id := range ids {
					s.publish(b, id)
				}
				want := start + subscribers*int64(len(ids))
				for received.Load() < want {
					time.Sleep(50 * time.Microsecond)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*subscribers*len(ids)), "ns/tick")
		})
	}
}
