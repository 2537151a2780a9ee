package subload

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Subprotocol is the only WebSocket subprotocol the tool speaks.
const Subprotocol = "graphql-transport-ws"

// TicksQuery is the subscription every subscriber sends, with its asset ids
// in $ids. Its selection is what the tool needs and no more: the sequence
// for gaps, the publication time for latency, the asset to tell streams
// apart, and the price so that the quote is resolved as a client would.
const TicksQuery = `subscription($ids: [ID!]!) { priceTicks(assetIds: $ids) { sequence at quote { price } asset { id } } }`

// subscriptionID is the id of each socket's one subscription.
const subscriptionID = "1"

// pongMsg answers the server's pings.
var pongMsg = []byte(`{"type":"pong"}`)

// subscriber is one socket with one subscription to K assets. Its reading
// goroutine is the only one that writes its counters; the runner reads them
// while it runs (progress) and after it ends (the report).
type subscriber struct {
	r      *runner
	target *target
	assets []string
	seqs   []uint64 // last sequence seen per asset, 0 before the first
	conn   atomic.Pointer[websocket.Conn]

	messages   atomic.Uint64 // ticks received
	missed     atomic.Uint64 // sum of the sequence jumps
	outOfOrder atomic.Uint64 // ticks whose sequence did not increase
	skewed     atomic.Uint64 // ticks stamped after they were received
	ended      atomic.Bool   // the server ended the subscription
}

// run connects, subscribes and reads until the socket ends.
func (s *subscriber) run() {
	r := s.r
	defer r.wg.Done()
	conn, err := s.connect()
	if err != nil {
		if !r.stopping.Load() {
			r.failed.Add(1)
			r.tally(&r.failures, err.Error())
		}
		r.settled.Done()
		return
	}
	s.conn.Store(conn)
	s.target.connected.Add(1)
	r.connected.Add(1)
	r.settled.Done()
	if r.stopping.Load() {
		// The run ended while this socket connected: the closer may
		// have passed it by.
		_ = conn.Close()
	}
	s.read(conn)
}

// connect dials, completes connection_init / connection_ack and sends the
// subscription. Its errors are short reasons, tallied as they are.
func (s *subscriber) connect() (*websocket.Conn, error) {
	r := s.r
	ctx, cancel := context.WithTimeout(r.ctx, r.cfg.ConnectTimeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	// The library's reads take no context: the network connection's
	// deadline bounds each step instead, and the run's end, or the
	// timeout, moves it into the past (unblock).
	var unblock func() bool
	d := *r.dialer
	d.NetDialContext = func(_ context.Context, network, addr string) (net.Conn, error) {
		c, err := r.dialer.NetDialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		_ = c.SetDeadline(deadline)
		unblock = context.AfterFunc(ctx, func() { _ = c.SetDeadline(aLongTimeAgo) })
		return c, nil
	}
	why := func(err error) string {
		if ctx.Err() != nil {
			return reason(ctx.Err())
		}
		return reason(err)
	}
	// No context of the dial's own: its deadline would outlive the
	// handshake and undo unblock's.
	conn, resp, err := d.DialContext(context.Background(), s.target.url, nil)
	if unblock != nil && conn == nil {
		unblock()
	}
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return nil, fmt.Errorf("dial: HTTP %d", resp.StatusCode)
		}
		return nil, fmt.Errorf("dial: %s", why(err))
	}
	fail := func(format string, args ...any) (*websocket.Conn, error) {
		unblock()
		_ = conn.Close()
		return nil, fmt.Errorf(format, args...)
	}
	// The handshake cleared the deadline; unblock may have run before.
	_ = conn.SetReadDeadline(deadline)
	_ = conn.SetWriteDeadline(deadline)
	if ctx.Err() != nil {
		return fail("dial: %s", why(ctx.Err()))
	}
	conn.SetReadLimit(readLimit)
	if p := conn.Subprotocol(); p != Subprotocol {
		return fail("server chose subprotocol %q, not %s", p, Subprotocol)
	}
	if err := conn.WriteMessage(websocket.TextMessage, r.initMsg); err != nil {
		return fail("connection_init: %s", why(err))
	}
	for acked := false; !acked; {
		_, b, err := conn.ReadMessage()
		if err != nil {
			return fail("before connection_ack: %s", why(err))
		}
		var m wireMsg
		_ = json.Unmarshal(b, &m)
		switch m.Type {
		case "connection_ack":
			acked = true
		case "ping":
			if err := conn.WriteMessage(websocket.TextMessage, pongMsg); err != nil {
				return fail("pong: %s", why(err))
			}
		case "pong", "ka":
		default:
			return fail("got %q before connection_ack", m.Type)
		}
	}
	sub, err := json.Marshal(map[string]any{
		"id":   subscriptionID,
		"type": "subscribe",
		"payload": map[string]any{
			"query":     TicksQuery,
			"variables": map[string]any{"ids": s.assets},
		},
	})
	if err != nil {
		return fail("encode subscribe: %v", err)
	}
	if err := conn.WriteMessage(websocket.TextMessage, sub); err != nil {
		return fail("subscribe: %s", why(err))
	}
	if !unblock() {
		// Too late: the deadline may be in the past already.
		_ = conn.Close()
		return nil, fmt.Errorf("subscribe: %s", why(ctx.Err()))
	}
	_ = conn.SetReadDeadline(time.Time{})
	_ = conn.SetWriteDeadline(time.Time{})
	return conn, nil
}

// aLongTimeAgo is a deadline in the past: it ends any read or write.
var aLongTimeAgo = time.Unix(1, 0)

// readLimit is the largest message a socket takes (the limit the tool had
// with its former WebSocket library): a tick is a few hundred bytes, and a
// server gone astray should not cost the tool memory per socket.
const readLimit = 32 << 10

// bufs holds read buffers between messages: ten thousand idle sockets
// share a few instead of keeping one each.
var bufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// read handles messages until the socket ends; an end before the run's is
// a disconnect. It closes the socket.
//
// Its goroutine is the socket's only writer of messages (pongMsg, in
// handle) once connected; the library's own answers to pings and close
// frames, and the runner's close frame, are control frames, which may be
// written concurrently.
func (s *subscriber) read(conn *websocket.Conn) {
	defer conn.Close()
	for {
		_, rd, err := conn.NextReader()
		if err != nil {
			s.disconnected(err)
			return
		}
		at := time.Now()
		buf := bufs.Get().(*bytes.Buffer)
		buf.Reset()
		_, err = buf.ReadFrom(rd)
		if err == nil {
			err = s.handle(conn, buf.Bytes(), at)
		}
		bufs.Put(buf)
		if err != nil {
			s.disconnected(err)
			return
		}
	}
}

// disconnected records why the socket ended, unless the run ended it.
func (s *subscriber) disconnected(err error) {
	if s.r.stopping.Load() {
		return
	}
	s.r.disconnected.Add(1)
	s.r.tally(&s.r.disconnects, reason(err))
}

// handle processes one message received at now. An error ends the socket.
func (s *subscriber) handle(conn *websocket.Conn, b []byte, now time.Time) error {
	if asset, seq, at, ok := quickTick(b); ok {
		s.tick(asset, seq, now.Sub(at))
		return nil
	}
	r := s.r
	var m wireMsg
	err := json.Unmarshal(b, &m)
	switch m.Type {
	case "next":
		if err != nil {
			r.errors.Add(1)
			r.tally(&r.errorMsgs, "undecodable next: "+err.Error())
			return nil
		}
		if len(m.Payload.Errors) > 0 {
			r.errors.Add(1)
			r.tally(&r.errorMsgs, m.Payload.Errors[0].String())
		}
		if m.Payload.Data == nil || m.Payload.Data.PriceTicks == nil {
			if len(m.Payload.Errors) == 0 {
				r.errors.Add(1)
				r.tally(&r.errorMsgs, "next without priceTicks")
			}
			return nil
		}
		t := m.Payload.Data.PriceTicks
		s.tick([]byte(t.Asset.ID), t.Sequence, now.Sub(t.At))
	case "error":
		var e struct {
			Payload []gqlError `json:"payload"`
		}
		msg := "error message without errors"
		if json.Unmarshal(b, &e) == nil && len(e.Payload) > 0 {
			msg = e.Payload[0].String()
		}
		r.errors.Add(1)
		r.tally(&r.errorMsgs, msg)
		s.endSubscription()
	case "complete":
		s.endSubscription()
	case "ping":
		_ = conn.SetWriteDeadline(time.Now().Add(r.cfg.ConnectTimeout))
		return conn.WriteMessage(websocket.TextMessage, pongMsg)
	case "pong", "ka":
	default:
		r.errors.Add(1)
		if err != nil {
			r.tally(&r.errorMsgs, "undecodable message: "+err.Error())
		} else {
			r.tally(&r.errorMsgs, fmt.Sprintf("unexpected message type %q", m.Type))
		}
	}
	return nil
}

// tick records one tick of asset: its latency and its place in the
// asset's stream.
func (s *subscriber) tick(asset []byte, seq uint64, latency time.Duration) {
	s.messages.Add(1)
	if latency < 0 {
		s.skewed.Add(1)
		latency = 0
	}
	if s.r.steady.Load() {
		s.target.steady.Record(latency)
	} else {
		s.target.ramp.Record(latency)
	}
	i := 0
	for i < len(s.assets) && s.assets[i] != string(asset) {
		i++
	}
	if i == len(s.assets) {
		s.r.errors.Add(1)
		s.r.tally(&s.r.errorMsgs, "tick of an asset not subscribed to")
		return
	}
	last := s.seqs[i]
	switch {
	case last == 0:
		// The first tick: the stream was joined where it was.
	case seq > last+1:
		s.missed.Add(seq - last - 1)
	case seq <= last:
		s.outOfOrder.Add(1)
	}
	s.seqs[i] = seq
}

// endSubscription records that the server ended the subscription while the
// socket stays open: the subscriber receives nothing more.
func (s *subscriber) endSubscription() {
	if !s.r.stopping.Load() && !s.ended.Swap(true) {
		s.r.ended.Add(1)
	}
}
