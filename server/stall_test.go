package server_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/marketgraph/marketgraph/server"
)

// tickLog records when a socket's ticks arrived.
type tickLog struct {
	mu sync.Mutex
	at []time.Time
	n  atomic.Int64
}

// watchTicks reads c until the test ends, recording its ticks.
func watchTicks(c *sock) *tickLog {
	l := &tickLog{}
	go func() {
		for {
			_, b, err := c.conn.Read(c.ctx)
			if err != nil {
				return
			}
			var m sockMsg
			_ = json.Unmarshal(b, &m)
			if m.Type == "next" {
				l.mu.Lock()
				l.at = append(l.at, time.Now())
				l.mu.Unlock()
				l.n.Add(1)
			}
		}
	}()
	return l
}

// between counts the ticks that arrived between from and to.
func (l *tickLog) between(from, to time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, at := range l.at {
		if at.After(from) && at.Before(to) {
			n++
		}
	}
	return n
}

// publishMeanwhile publishes a tick of each asset every 10 ms, on a
// goroutine of its own, until the returned stop is called.
func (s *liveServer) publishMeanwhile(t *testing.T, assets ...string) (stop func()) {
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-done:
				return
			case <-time.After(10 * time.Millisecond):
			}
			for _, a := range assets {
				s.publish(t, a)
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// A socket whose client reads slowly, with an operation on gqlgen's path
// (large results) beside one on the fast path, has its connection held by
// a write for a whole write timeout, until the server cuts it off: the tick
// rounds, which write every socket from the hub's goroutines, must not wait
// for it (they hand the socket to a writer goroutine), so another socket
// keeps getting ticks while that write is blocked.
func TestWebSocket_SlowGeneralWriteDoesNotHoldTheRounds(t *testing.T) {
	const writeTimeout = 2 * time.Second
	s := newLiveServer(t, func(c *server.Config) { c.StreamWriteTimeout = writeTimeout })
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
	ticks := watchTicks(fast)
	stop := s.publishMeanwhile(t, "bitcoin", "ethereum")
	waitUntil(t, "the slow client cut off", func() bool {
		return len(s.logs.find("websocket: disconnecting a client that stopped reading")) > 0
	})
	stop()
	// The blocked write began a write timeout before the cut-off: the
	// other socket's ticks of that span, margins aside, are the ones a
	// round waiting for the blocked socket would have held back.
	cut := s.logs.find("websocket: disconnecting a client that stopped reading")[0].Time
	if n := ticks.between(cut.Add(-writeTimeout+200*time.Millisecond), cut.Add(-200*time.Millisecond)); n == 0 {
		t.Errorf("the other socket got no tick while the slow socket's write was blocked (%d in all)", ticks.n.Load())
	}
}

// A socket the server closes (here for a malformed message) while ticks
// flow waits for its client's close frame, which a client that stopped
// reading never sends, before it is released: the rounds must not wait for
// that, so another socket gets ticks before the closing one is released.
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
	ticks := watchTicks(fast)
	victim.raw(`{"type":"bogus"}`) // 4400; the client never reads again
	stop := s.publishMeanwhile(t, "ethereum")
	waitUntil(t, "the closing socket released", func() bool { return s.h.OpenStreams() == 1 })
	beforeRelease := ticks.n.Load()
	stop()
	if beforeRelease < 3 { // a round or two may pass before one reaches the closing socket
		t.Errorf("the other socket got %d ticks while the closing socket waited for its close handshake", beforeRelease)
	}
}
