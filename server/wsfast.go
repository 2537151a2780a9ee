package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/ratelimit"
	"github.com/marketgraph/marketgraph/tickhub"
)

// TickHub delivers priceTicks subscriptions without executing them per
// event (tickhub.Hub). The WebSocket transport compiles a plan for each
// subscription it could hand over, runs the operation through gqlgen as
// usual with a tickhub.Claim in its context, and, when the resolver takes
// the claim, subscribes the operation to the hub instead of reading its
// events: the socket then needs no goroutine per operation, and a tick
// costs one encoding per selection rather than one execution per
// subscriber.
type TickHub interface {
	Compile(opCtx *graphql.OperationContext) (*tickhub.Plan, bool)
	Subscribe(plan *tickhub.Plan, assets []*marketgraph.Asset, r tickhub.Receiver) (*tickhub.Subscription, error)
}

// wsClaim is a socket's claim on one operation.
type wsClaim struct {
	plan   *tickhub.Plan
	assets []*marketgraph.Asset
}

func (cl *wsClaim) Take(assets []*marketgraph.Asset) { cl.assets = assets }

// fastOp is an operation handed over to the hub. Its frames go through the
// socket's send queue; its fields after prefix are guarded by the socket's
// outMu.
type fastOp struct {
	c      *wsConn
	id     string
	prefix []byte // {"type":"next","id":...,"payload":
	// ext is the first result's extensions (the cost the operation was
	// charged, as costBudget adds it on the general path); nil once sent.
	ext   map[string]any
	sub   *tickhub.Subscription
	ended bool
}

// outItem is one queued message: a tick of an operation, replaced by a
// newer tick of the same asset while it waits, or a ready message (op nil,
// the message in enc.Payload). Two words: a socket keeps a queue of them
// as long as its most ticks in one round.
type outItem struct {
	op  *fastOp
	enc *tickhub.Encoded
}

// Ready messages of the keep-alive (see keepAlive): pingItem stands for a
// ping frame, not a text message.
var (
	pingItem  = &tickhub.Encoded{}
	kaMessage = &tickhub.Encoded{Payload: []byte(`{"type":"ka"}`)}
)

// handOver subscribes the operation id to the hub, reporting false when it
// cannot (the operation or the socket has ended meanwhile, or the hub
// refused) and the general path must finish it.
func (c *wsConn) handOver(ctx, rctx context.Context, id string, cl *wsClaim) bool {
	o := &fastOp{c: c, id: id}
	o.prefix = append(o.prefix, `{"type":"`...)
	o.prefix = append(o.prefix, c.proto.next...)
	o.prefix = append(o.prefix, `","id":`...)
	o.prefix = append(o.prefix, jsonString(id)...)
	o.prefix = append(o.prefix, `,"payload":`...)
	if c.t.cfg.Costs != nil {
		if st, ok := ratelimit.StateFrom(rctx); ok {
			cost, _ := OperationCost(rctx)
			o.ext = map[string]any{"cost": costExtension(st, cost)}
		}
	}
	c.mu.Lock()
	if ctx.Err() != nil || c.shuttingDown {
		c.mu.Unlock()
		return false
	}
	c.ops[id] = &wsOp{cancel: o.end, fast: o}
	c.mu.Unlock()
	c.outMu.Lock()
	if cap(c.out) == 0 {
		// A round queues one tick per asset: the queue's size for good.
		c.out = make([]outItem, 0, len(cl.assets)+1)
	}
	c.outMu.Unlock()
	sub, err := c.t.cfg.Ticks.Subscribe(cl.plan, cl.assets, o)
	if err != nil {
		c.log().WarnContext(c.ctx, "websocket: tick hub refused a subscription", "error", err.Error())
		c.mu.Lock()
		o.end(nil) // as a subscription whose bus closed: complete
		c.mu.Unlock()
		return true
	}
	c.outMu.Lock()
	ended := o.ended
	if !ended {
		o.sub = sub
	}
	c.outMu.Unlock()
	if ended {
		sub.Close()
	}
	return true
}

// end ends a handed-over operation for cause, as run ends one of gqlgen's:
// complete when it ended by itself (nil) or the server shuts down, and,
// for the legacy protocol, when the client completed it. Queued ticks of
// the operation are dropped; the complete follows any tick being written.
// c.mu is held.
func (o *fastOp) end(cause error) {
	c := o.c
	c.outMu.Lock()
	if o.ended {
		c.outMu.Unlock()
		return
	}
	o.ended = true
	sub := o.sub
	kept := c.out[:0]
	for _, it := range c.out {
		if it.op != o {
			kept = append(kept, it)
		}
	}
	clear(c.out[len(kept):])
	c.out = kept
	if cause == nil || errors.Is(cause, errShutdown) || (errors.Is(cause, errClientComplete) && c.proto.legacy) {
		b, _ := json.Marshal(map[string]any{"type": "complete", "id": o.id})
		c.enqueueLocked(outItem{enc: &tickhub.Encoded{Payload: b}})
	}
	c.outMu.Unlock()
	if sub != nil {
		sub.Close()
	}
	if op := c.ops[o.id]; op != nil && op.fast == o {
		delete(c.ops, o.id)
	}
}

// Deliver queues the ticks of one round of the operation, each replacing
// a waiting tick of the same asset (a slow client gets the newest tick of
// each asset, never a growing queue). It returns the socket as the round's
// sender the first time in a round, nil after: the hub sends once all the
// round's ticks are queued, so that the ticks of all the socket's
// operations leave in one write to the network (writes are most of the CPU
// a tick costs at ten thousand subscribers).
func (o *fastOp) Deliver(ticks []*tickhub.Encoded) tickhub.Sender {
	c := o.c
	c.outMu.Lock()
	defer c.outMu.Unlock()
	if o.ended || c.outDead {
		return nil
	}
	n := len(c.out)
next:
	for _, t := range ticks {
		for i := range n {
			if it := &c.out[i]; it.op == o && it.enc.AssetID == t.AssetID {
				it.enc = t
				continue next
			}
		}
		c.out = append(c.out, outItem{op: o, enc: t})
	}
	if c.sendDue {
		return nil
	}
	c.sendDue = true
	return c
}

// Send writes what Deliver queued (flushNow), on the hub's goroutine.
func (c *wsConn) Send() { c.flushNow() }

// flushNow writes the send queue without blocking, unless a writer runs
// (it will write the queue). What the network does not take at once, and
// what is queued meanwhile, is left to a writer goroutine (drain), which
// waits for the network within the write timeout.
//
// It never waits, for the network or for a lock held across a write: when
// another write holds the connection (a message of gqlgen's path, the
// library's pong or close frame), the writer goroutine waits for it
// instead. The hub's goroutines call it for every socket of a round, and
// one socket must not hold up the others.
func (c *wsConn) flushNow() {
	c.outMu.Lock()
	c.sendDue = false
	if !c.claimWriterLocked() {
		c.outMu.Unlock()
		return
	}
	if !c.hold.mu.TryLock() {
		c.outMu.Unlock()
		go c.drain()
		return
	}
	bp := framePool.Get().(*[]byte)
	buf := c.encodeLocked((*bp)[:0])
	c.outMu.Unlock()
	done, err := c.hold.writeNowLocked(buf)
	*bp = buf
	framePool.Put(bp) // writeNowLocked kept a copy of what it did not write
	if err != nil {
		c.writeFailed()
		if !errors.Is(err, net.ErrClosed) {
			// Not a connection already closed or closing (a close frame
			// sent, CloseNow, the library's own timeouts), each of which
			// ends the socket anyway: it broke, or an earlier write timed
			// out. Closing it may wait for the library, which the hub's
			// goroutine must not.
			go c.cancel(errSocketClosed)
		}
		return
	}
	if done {
		c.outMu.Lock()
		if len(c.out) == 0 || c.outDead || c.ctx.Err() != nil {
			c.writerOn = false
			c.outMu.Unlock()
			c.writing.Done()
			return
		}
		c.outMu.Unlock()
	}
	go c.drain() // the writer stays on: drain writes the rest first
}

// writeFailed empties the queue of a socket whose write failed and stops
// its writer: nothing is queued any more.
func (c *wsConn) writeFailed() {
	c.outMu.Lock()
	c.outDead = true
	clear(c.out)
	c.out = c.out[:0]
	c.writerOn = false
	c.outMu.Unlock()
	c.writing.Done()
}

// enqueueLocked queues a ready message and starts the writer if none runs.
// outMu is held.
func (c *wsConn) enqueueLocked(it outItem) {
	if c.outDead {
		return
	}
	c.out = append(c.out, it)
	c.startWriterLocked()
}

// startWriterLocked starts a writer for the send queue unless one runs or
// there is nothing to write. outMu is held.
func (c *wsConn) startWriterLocked() {
	if c.claimWriterLocked() {
		go c.drain()
	}
}

// claimWriterLocked makes the caller the socket's writer, counted in
// writing, unless a writer runs, there is nothing to write, or nothing may
// be written any more. outMu is held.
func (c *wsConn) claimWriterLocked() bool {
	if c.writerOn || c.outDead || c.outStopped || len(c.out) == 0 || c.ctx.Err() != nil {
		return false
	}
	c.writerOn = true
	c.writing.Add(1)
	return true
}

// framePool holds the buffers a writer assembles frames in.
var framePool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// drain writes the send queue until it is empty, then ends: a socket has
// a writer goroutine only while it has something the network did not take
// at once. It first writes what writeNowLocked left, then everything queued by
// the time it looks, in one write to the network however many messages.
// The writer is on (writerOn) and counted (writing) when it starts.
func (c *wsConn) drain() {
	if !c.writeFrames(nil) {
		c.writeFailed()
		return
	}
	bp := framePool.Get().(*[]byte)
	defer framePool.Put(bp)
	for {
		c.outMu.Lock()
		if len(c.out) == 0 || c.outDead || c.ctx.Err() != nil {
			clear(c.out)
			c.out = c.out[:0]
			c.writerOn = false
			c.outMu.Unlock()
			c.writing.Done()
			return
		}
		buf := c.encodeLocked((*bp)[:0])
		c.outMu.Unlock()
		*bp = buf
		if len(buf) > 0 && !c.writeFrames(buf) {
			c.writeFailed()
			return
		}
	}
}

// encodeLocked appends the frames of the send queue to buf and empties the
// queue, keeping its array: a socket's queue is allocated once. outMu is
// held; encoding a round's ticks is copying a few kilobytes.
func (c *wsConn) encodeLocked(buf []byte) []byte {
	for _, it := range c.out {
		switch {
		case it.enc == pingItem:
			buf = append(buf, 0x89, 0x00) // final, ping, unmasked, no payload
			c.ping.CompareAndSwap(pingQueued, pingSent)
		case it.op == nil:
			buf = append(appendTextFrameHeader(buf, len(it.enc.Payload)), it.enc.Payload...)
		case it.op.ext != nil:
			payload, err := json.Marshal(&graphql.Response{Data: it.enc.Data, Extensions: it.op.ext})
			if err != nil {
				continue
			}
			it.op.ext = nil
			buf = appendTextFrameHeader(buf, len(it.op.prefix)+len(payload)+1)
			buf = append(append(append(buf, it.op.prefix...), payload...), '}')
		default:
			buf = appendTextFrameHeader(buf, len(it.op.prefix)+len(it.enc.Payload)+1)
			buf = append(append(append(buf, it.op.prefix...), it.enc.Payload...), '}')
		}
	}
	clear(c.out)
	c.out = c.out[:0]
	c.sendDue = false
	return buf
}

// writeFrames writes buf, complete text frames (appendTextFrameHeader),
// in one write to the network within the write timeout, disconnecting a
// client that does not take them in time. The frames are encoded here
// rather than by the WebSocket library, whose per-frame path (locks, a
// buffered writer, a flush per frame) was a fifth of the CPU a tick costs
// at ten thousand subscribers; the library still writes its control frames
// (ping, pong, close), which holdConn keeps apart from these.
func (c *wsConn) writeFrames(buf []byte) bool {
	err := c.hold.writeFrames(buf, c.t.cfg.StreamWriteTimeout)
	if err == nil {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.stuckClient()
		return false
	}
	c.cancel(errSocketClosed)
	return false
}

// appendTextFrameHeader appends the header of a final, unmasked text frame
// of n bytes (RFC 6455 §5.2): a server's frames are never masked.
func appendTextFrameHeader(b []byte, n int) []byte {
	const finText = 0x80 | 0x1
	switch {
	case n <= 125:
		return append(b, finText, byte(n))
	case n <= 0xffff:
		return append(b, finText, 126, byte(n>>8), byte(n))
	default:
		return append(b, finText, 127,
			byte(uint64(n)>>56), byte(uint64(n)>>48), byte(uint64(n)>>40), byte(uint64(n)>>32),
			byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// holdConn is the socket's network connection. The WebSocket library
// writes its control frames to it, each in one Write (through a buffered
// writer larger than any control frame, flushed at the end of each frame);
// writeNowLocked and writeFrames write the socket's messages. A mutex keeps the
// two apart, so no frame is ever split by another, and once the library has
// written a close frame no message follows it.
type holdConn struct {
	net.Conn
	// raw writes without waiting (writeNowLocked); nil where the platform has
	// no such write, and every write then waits.
	raw syscall.RawConn
	mu  sync.Mutex
	// closeSent is set once a close frame was written.
	closeSent bool
	// pending is what writeNowLocked could not write at once: the end of a
	// frame, which must leave before any other frame.
	pending []byte
	// broken is the error of a write that failed or timed out, part of
	// a frame perhaps written: nothing can follow it.
	broken error
}

// Write writes a frame of the WebSocket library, after what is pending.
func (h *holdConn) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.usable(); err != nil {
		return 0, err
	}
	if err := h.writePendingLocked(); err != nil {
		return 0, err
	}
	if len(p) > 0 && p[0]&0x0f == 0x8 {
		h.closeSent = true
	}
	n, err := h.Conn.Write(p)
	if err != nil {
		return n, h.fail(err)
	}
	return n, nil
}

// writePendingLocked writes what writeNowLocked left, which goes before
// any other frame. h.mu is held.
func (h *holdConn) writePendingLocked() error {
	if len(h.pending) == 0 {
		return nil
	}
	if _, err := h.Conn.Write(h.pending); err != nil {
		return h.fail(err)
	}
	h.pending = nil
	return nil
}

// usable reports why nothing may be written any more, if so. h.mu is held.
func (h *holdConn) usable() error {
	switch {
	case h.broken != nil:
		return h.broken
	case h.closeSent:
		return net.ErrClosed
	}
	return nil
}

// fail records err, a failed write, and returns it. h.mu is held.
func (h *holdConn) fail(err error) error {
	h.broken, h.pending = err, nil
	return err
}

// writeNowLocked writes b, complete frames, as far as the network takes
// it without waiting, keeps a copy of the rest as pending, and unlocks
// h.mu, which the caller locked. It reports whether all of b was written;
// when not, writeFrames must follow.
func (h *holdConn) writeNowLocked(b []byte) (bool, error) {
	defer h.mu.Unlock()
	if err := h.usable(); err != nil {
		return false, err
	}
	n := 0
	if h.raw != nil && len(h.pending) == 0 {
		var err error
		if n, err = writeNonBlocking(h.raw, b); err != nil {
			return false, h.fail(err)
		}
	}
	if n == len(b) {
		return true, nil
	}
	h.pending = append(h.pending, b[n:]...)
	return false, nil
}

// writeFrames writes what is pending, then b, complete frames, within
// timeout.
func (h *holdConn) writeFrames(b []byte, timeout time.Duration) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.usable(); err != nil {
		return err
	}
	if len(h.pending) == 0 && len(b) == 0 {
		return nil
	}
	_ = h.Conn.SetWriteDeadline(time.Now().Add(timeout))
	defer func() { _ = h.Conn.SetWriteDeadline(time.Time{}) }()
	if err := h.writePendingLocked(); err != nil {
		return err
	}
	if len(b) == 0 {
		return nil
	}
	if _, err := h.Conn.Write(b); err != nil {
		return h.fail(err)
	}
	return nil
}

// hijackWriter hands the WebSocket library a holdConn in place of the
// hijacked connection.
type hijackWriter struct {
	http.ResponseWriter
	conn *holdConn
}

// Hijack hijacks the connection and wraps it. The WebSocket library keeps
// the reader and writer it is handed for the socket's life: net/http's are
// 4 KiB each, a fifth of a subscriber's memory apiece, so it gets small ones
// instead (see wsReadBuffer, wsWriteBuffer), the reader holding whatever the
// client sent after its upgrade request that net/http had already read.
func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if err := brw.Writer.Flush(); err != nil {
		_ = nc.Close()
		return nil, nil, err
	}
	w.conn = &holdConn{Conn: nc, raw: rawConn(nc)}
	br, err := smallReader(brw.Reader, w.conn)
	if err != nil {
		_ = nc.Close()
		return nil, nil, err
	}
	return w.conn, bufio.NewReadWriter(br, bufio.NewWriterSize(w.conn, wsWriteBuffer)), nil
}

// The sizes of a socket's buffers. Client messages are small (a subscribe
// is a few hundred bytes); a larger one takes more reads, nothing else. The
// messages the server sends are encoded and written by writeFrames; the
// writer only holds the library's control frames (at most 127 bytes), so
// that each leaves in one write (which holdConn relies on).
const (
	wsReadBuffer  = 256
	wsWriteBuffer = 128
)

// smallReader returns a reader of conn of wsReadBuffer bytes, or more when
// old holds more, with what old had buffered in its buffer: the library
// reads those bytes first (it keeps what the reader buffered, not the
// reader's source).
func smallReader(old *bufio.Reader, conn net.Conn) (*bufio.Reader, error) {
	n := old.Buffered()
	if n == 0 {
		return bufio.NewReaderSize(conn, wsReadBuffer), nil
	}
	early, err := old.Peek(n)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(bytes.Clone(early)), conn), max(wsReadBuffer, n))
	// The copy is all the first read returns: this never reads conn.
	if _, err := br.Peek(n); err != nil {
		return nil, err
	}
	return br, nil
}

// Unwrap lets http.ResponseController reach the wrapped writer.
func (w *hijackWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
