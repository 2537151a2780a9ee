package server_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/marketgraph/marketgraph/server"
)

// tickGaps reads c until the test ends and reports the longest time
// between two of its ticks, counted from now.
type tickGaps struct {
	mu     sync.Mutex
	last   time.Time
	maxGap time.Duration
}

func watchTicks(c *sock) *tickGaps {
	g := &tickGaps{last: time.Now()}
	go func() {
		for {
			_, b, err := c.conn.Read(c.ctx)
			if err != nil {
				return
			}
			var m sockMsg
			_ = json.Unmarshal(b, &m)
			if m.Type == "next" {
				g.mu.Lock()
				g.maxGap = max(g.maxGap, time.Since(g.last))
				g.last = time.Now()
				g.mu.Unlock()
			}
		}
	}()
	return g
}

func (g *tickGaps) longest() time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	return max(g.maxGap, time.Since(g.last))
}

// publishFor publishes a tick of each asset every 10 ms for d.
func (s *liveServer) publishFor(t *testing.T, d time.Duration, assets ...string) {
	for end := time.Now().Add(d); time.Now().Before(end); {
		for _, a := range assets {
			s.publish(t, a)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A socket whose client reads slowly, with an operation on gqlgen's path
// (large results) beside one on the fast path, holds its connection for
// whole write timeouts: the tick rounds, which write every socket from the
// hub's goroutines, must not wait for it (they hand the socket to a writer
// goroutine), and another socket keeps its ticks.
func TestWebSocket_SlowGeneralWriteDoesNotHoldTheRounds(t *testing.T) {
	s := newLiveServer(t, func(c *server.Config) { c.StreamWriteTimeout = 2 * time.Second })
	small := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(2048)
		}
		return conn, err
	}}}
	slow, err := s.tryDial(t, &websocket.DialOptions{HTTPClient: small}, "graphql-transport-ws")
	if err != nil {
		t.Fatal(err)
	}
	slow.init(nil)
	slow.subscribe("subscribe", "f", tickQuery, map[string]any{"ids": []string{"ethereum"}})
	s.publishUntil(t, slow, "ethereum", "f", "next")
	heavy := `subscription($ids: [ID!]!) { priceTicks(assetIds: $ids) { sequence asset { id candles(interval: MINUTE, last: 200) { start open high low close volume } } } }`
	slow.subscribe("subscribe", "h", heavy, map[string]any{"ids": []string{"bitcoin"}})

	fast := s.dial(t, "graphql-transport-ws")
	fast.init(nil)
	fast.subscribe("subscribe", "x", tickQuery, map[string]any{"ids": []string{"ethereum"}})
	s.publishUntil(t, fast, "ethereum", "x", "next")
	gaps := watchTicks(fast)
	s.publishFor(t, 5*time.Second, "bitcoin", "ethereum")
	if g := gaps.longest(); g > time.Second {
		t.Errorf("the other socket went %v without a tick", g)
	}
	// The case arose: the slow socket's write did block, for the whole
	// write timeout.
	waitUntil(t, "the slow client disconnected", func() bool {
		return len(s.logs.find("websocket: disconnecting a client that stopped reading")) > 0
	})
}

// A socket the server closes (here for a malformed message) while ticks
// flow waits for its client's close frame, which a client that stopped
// reading never sends: the rounds must not wait for that either.
func TestWebSocket_ClosingSocketDoesNotHoldTheRounds(t *testing.T) {
	s := newLiveServer(t, nil)
	victim := s.dial(t, "graphql-transport-ws")
	victim.init(nil)
	victim.subscribe("subscribe", "f", tickQuery, map[string]any{"ids": []string{"ethereum"}})
	s.publishUntil(t, victim, "ethereum", "f", "next")

	fast := s.dial(t, "graphql-transport-ws")
	fast.init(nil)
	fast.subscribe("subscribe", "x", tickQuery, map[string]any{"ids": []string{"ethereum"}})
	s.publishUntil(t, fast, "ethereum", "x", "next")
	gaps := watchTicks(fast)
	victim.raw(`{"type":"bogus"}`) // 4400; the client never reads again
	s.publishFor(t, 4*time.Second, "ethereum")
	if g := gaps.longest(); g > time.Second {
		t.Errorf("the other socket went %v without a tick", g)
	}
}
