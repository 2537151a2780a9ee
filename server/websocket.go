package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/auth"
	"github.com/marketgraph/marketgraph/tickhub"
)

// Defaults of the WebSocket settings of Config.
const (
	DefaultWebSocketKeepAlive   = 15 * time.Second
	DefaultWebSocketInitTimeout = 10 * time.Second
	DefaultWebSocketReadLimit   = 64 << 10 // 64 KiB
)

// Close codes. The 44xx ones are graphql-transport-ws's (the protocol of the
// graphql-ws library), used for the legacy graphql-ws subprotocol too, which
// defines none of its own; the 10xx ones are RFC 6455's.
const (
	closeNormal          websocket.StatusCode = 1000
	closeGoingAway       websocket.StatusCode = 1001
	closePolicyViolation websocket.StatusCode = 1008
	closeInternalError   websocket.StatusCode = 1011
	closeTryAgainLater   websocket.StatusCode = 1013
	closeBadRequest      websocket.StatusCode = 4400
	closeUnauthorized    websocket.StatusCode = 4401
	closeForbidden       websocket.StatusCode = 4403
	closeBadSubprotocol  websocket.StatusCode = 4406
	closeInitTimeout     websocket.StatusCode = 4408
	closeDuplicateID     websocket.StatusCode = 4409
	closeTooManyInits    websocket.StatusCode = 4429
)

// maxOperationID bounds a subscribe message's id: ids are echoed in every
// message of the operation, and clients use short counters or UUIDs.
const maxOperationID = 128

// wsProtocol is what differs between the two subprotocols: message names.
type wsProtocol struct {
	name      string
	subscribe string // client starts an operation
	stop      string // client ends an operation
	next      string // server sends a result
	legacy    bool
}

var (
	// graphqlTransportWS is the graphql-transport-ws subprotocol, the
	// protocol of the graphql-ws library (GraphQL over WebSocket).
	graphqlTransportWS = &wsProtocol{name: "graphql-transport-ws", subscribe: "subscribe", stop: "complete", next: "next"}
	// graphqlWS is the legacy graphql-ws subprotocol of Apollo's
	// subscriptions-transport-ws, still spoken by many clients.
	graphqlWS = &wsProtocol{name: "graphql-ws", subscribe: "start", stop: "stop", next: "data", legacy: true}
)

// wsMessage is a message of either subprotocol.
type wsMessage struct {
	Type    string          `json:"type"`
	ID      string          `json:"id,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// webSocket is the WebSocket transport for both subprotocols. It is written
// here rather than taken from gqlgen because partners hold these sockets for
// hours: gqlgen's closes protocol errors with 1002 rather than the codes
// clients act on (4400, 4408, 4409, 4429), has no write deadline, so one
// client that stops reading holds its goroutines forever, bounds neither
// the operations per socket nor the sockets per caller, and cannot be shut
// down gracefully because net/http forgets hijacked connections.
type webSocket struct {
	cfg     *Config
	streams *streams
	present graphql.ErrorPresenterFunc
	recover graphql.RecoverFunc
}

var _ graphql.Transport = (*webSocket)(nil)

// Supports reports whether r asks for a WebSocket.
func (t *webSocket) Supports(r *http.Request) bool { return isUpgrade(r) }

// Do accepts the WebSocket and serves it until it closes.
func (t *webSocket) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	if t.streams.isClosing() {
		writeRequestError(w, errorMedia(r), &requestError{
			status: http.StatusServiceUnavailable, code: codeShuttingDown,
			message: "the server is shutting down: reconnect in a moment",
		})
		return
	}
	hw := &hijackWriter{ResponseWriter: w}
	var c *wsConn
	conn, err := websocket.Accept(hw, r, &websocket.AcceptOptions{
		// The keep-alive's pings are the socket's own (keepAlive): a pong
		// only tells that the peer is there. The read loop, which calls
		// this, starts once c is set.
		OnPongReceived: func(context.Context, []byte) { c.ping.Store(pingIdle) },
		Subprotocols:   []string{graphqlTransportWS.name, graphqlWS.name},
		// The Origin allowlist was checked before (checkOrigin) with this
		// server's rules; the library's same-host check would refuse
		// allowed cross-origin pages.
		InsecureSkipVerify: true,
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		return // Accept has answered the request
	}
	conn.SetReadLimit(t.cfg.WebSocketReadLimit)
	var proto *wsProtocol
	switch conn.Subprotocol() {
	case graphqlTransportWS.name:
		proto = graphqlTransportWS
	case graphqlWS.name:
		proto = graphqlWS
	default:
		_ = conn.Close(closeBadSubprotocol, "Subprotocol not acceptable: use graphql-transport-ws or graphql-ws")
		return
	}
	// The socket outlives this handler: net/http cancels the request's
	// context when the handler returns, so the socket's context keeps the
	// values (request id, caller) but not the cancellation.
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(r.Context()))
	// The socket keeps the request for its headers and address, not its
	// body: limitBody's reader holds the ResponseWriter, and through it
	// net/http's connection with its two 4 KiB buffers.
	req := *r
	req.Body, req.GetBody = http.NoBody, nil
	c = &wsConn{
		t: t, conn: conn, proto: proto, exec: exec, req: &req,
		ctx: ctx, opCtx: ctx, hold: hw.conn,
		ops: map[string]*wsOp{},
		// Ending the socket's context closes the connection, which ends
		// the read loop (see serve).
		cancel: func(cause error) { cancel(cause); _ = conn.CloseNow() },
	}
	// The read loop runs on a goroutine of its own and the handler
	// returns: the goroutine that served the upgrade has a deep stack
	// (router, middleware, gqlgen), which ten thousand idle sockets would
	// otherwise each keep. The access log records the upgrade, not the
	// socket's lifetime.
	go c.serve()
}

// wsConn is one accepted socket.
type wsConn struct {
	t     *webSocket
	conn  *websocket.Conn
	proto *wsProtocol
	exec  graphql.GraphExecutor
	// req is the upgrade request, without its body, until
	// connection_init is accepted; c.mu guards it from then on.
	req *http.Request
	// caller is the caller's key among the open streams, from
	// connection_init on.
	caller string

	// ctx lives as long as the socket; cancel ends it with the reason,
	// and closes the connection (at once: closeWith sends its close
	// frame first).
	ctx    context.Context
	cancel context.CancelCauseFunc

	mu sync.Mutex
	// inited and acked follow connection_init and connection_ack.
	inited, acked bool
	// opCtx is the context operations start from: ctx with the caller's
	// identity once connection_init was accepted.
	opCtx context.Context
	// ops holds each running operation by id.
	ops map[string]*wsOp
	// running counts operation goroutines; shuttingDown stops new ones.
	running      sync.WaitGroup
	shuttingDown bool
	release      func()
	timers       []*time.Timer
	// stuck logs and closes a client that stopped reading once, however
	// many of its operations notice.
	stuck sync.Once
	// keepTimer is the keep-alive's timer; only serve and keepAlive use it.
	keepTimer *time.Timer
	// ping is where the keep-alive's ping is: pingIdle (answered, or none
	// sent), pingQueued, pingSent.
	ping atomic.Int32
	// recheck authenticates the socket's credentials again, nil when it
	// has none; reauthTimer runs it (see reauthenticate).
	recheck     func(context.Context) error
	reauthTimer *time.Timer

	// hold is the network connection under conn, which the socket's
	// messages are written to (writeFrames), apart from the library's
	// control frames.
	hold *holdConn
	// The send queue of handed-over operations (see drain). outDead is
	// set once a write failed: nothing is queued any more.
	outMu sync.Mutex
	out   []outItem
	// sendDue is set once a round's Deliver returned the socket as the
	// round's sender, until the queue is written.
	sendDue bool
	// outStopped, set on shutdown once the operations' completes are
	// queued, starts no writer any more: shutdown waits for the last.
	outStopped bool
	writerOn   bool
	outDead    bool
	writing    sync.WaitGroup
}

// wsOp is one running operation. Its cancel function is called with c.mu
// held: a handed-over operation's (fastOp.end) needs it.
type wsOp struct {
	cancel context.CancelCauseFunc
	// fast is the operation as handed over to the tick hub, or nil.
	fast *fastOp
}

// Causes of a cancelled operation context.
var (
	errClientComplete = errors.New("the client completed the operation")
	errSocketClosed   = errors.New("the socket closed")
)

// serve reads messages until the socket closes, then releases everything.
func (c *wsConn) serve() {
	defer c.finish()
	defer func() {
		// This goroutine is outside net/http's recovery: a panic here
		// would end the process.
		if p := recover(); p != nil {
			c.log().Error("websocket: panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			_ = c.conn.CloseNow()
		}
	}()
	c.after(c.t.cfg.WebSocketInitTimeout, func() {
		c.mu.Lock()
		inited := c.inited
		c.mu.Unlock()
		if !inited {
			c.closeWith(closeInitTimeout, "Connection initialisation timeout")
		}
	})
	c.keepTimer = c.after(c.t.cfg.WebSocketKeepAlive, c.keepAlive)
	for {
		// Not c.ctx: the library would register each read with it (a
		// child context, kept in a map the socket's context holds for
		// good); c.cancel closes the connection instead, which ends
		// the read as surely.
		typ, data, err := c.conn.Read(context.Background())
		if err != nil {
			return // closed by the client, by us, or the read limit tripped (1009)
		}
		if typ != websocket.MessageText {
			c.closeWith(closeBadRequest, "Invalid message received: binary frames are not supported")
			return
		}
		if !c.handleApart(data) {
			return
		}
	}
}

// handleApart handles a message on a goroutine of its own and waits for
// it. The read goroutine lives as long as the socket, and a goroutine's
// stack does not shrink back to what it needs between messages: handling
// (JSON decoding, authentication, parsing) would grow it to 16 KiB, kept
// by each of ten thousand idle sockets, where reading needs a few.
func (c *wsConn) handleApart(data []byte) bool {
	done := make(chan bool, 1)
	go func() {
		ok := false
		defer func() {
			if p := recover(); p != nil {
				// This goroutine is outside net/http's recovery too.
				c.log().Error("websocket: panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				_ = c.conn.CloseNow()
			}
			done <- ok
		}()
		ok = c.handle(data)
	}()
	return <-done
}

// after runs f once after d, unless the socket has ended by then. The
// socket keeps a handful of such timers (init, keep-alive, credentials),
// each armed once; the keep-alive re-arms its own with Reset.
func (c *wsConn) after(d time.Duration, f func()) *time.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := time.AfterFunc(d, func() {
		if c.ctx.Err() == nil {
			f()
		}
	})
	c.timers = append(c.timers, t)
	return t
}

// finish ends every operation and waits for them, stops the timers and
// releases the socket's place among the open streams.
func (c *wsConn) finish() {
	c.cancel(errSocketClosed)
	c.mu.Lock()
	for _, op := range c.ops {
		op.cancel(errSocketClosed)
	}
	for _, t := range c.timers {
		t.Stop()
	}
	release := c.release
	c.mu.Unlock()
	c.running.Wait()
	_ = c.conn.CloseNow()
	c.writing.Wait()
	if release != nil {
		release()
	}
}

// closeWith closes the socket with code and a client-safe reason, and ends
// its context. A close reason is at most 123 bytes (RFC 6455 §5.5).
func (c *wsConn) closeWith(code websocket.StatusCode, reason string) {
	if len(reason) > 123 {
		cut := 120
		for cut > 0 && !utf8.RuneStart(reason[cut]) {
			cut-- // never split a character: an invalid reason fails the close
		}
		reason = reason[:cut] + "..."
	}
	// Close before cancelling: a cancelled context makes the library drop
	// the connection without the close frame that carries the code.
	_ = c.conn.Close(code, reason)
	c.cancel(fmt.Errorf("closed with %d: %s", code, reason))
}

// The states of a socket's keep-alive ping (wsConn.ping).
const (
	pingIdle   = iota // answered, or none sent yet
	pingQueued        // in the send queue
	pingSent          // written (or being written), not yet answered
)

// keepAlive pings the client (a WebSocket ping, which every RFC 6455 client
// answers, browsers included) and closes a socket whose peer did not answer
// the previous ping within an interval: a peer gone without a word. The
// legacy subprotocol also gets its "ka" message. It re-arms itself.
//
// The ping is a frame of the socket's own (pingItem), written at once
// through the send queue, without the WebSocket library's Ping (a context,
// a timer, a channel and a map entry per ping, a sixth of the server's CPU
// at ten thousand sockets). It is not held for the next round of ticks,
// though that would save a write: the pongs would then all come in the
// rounds' bursts, which the keep-alive's timers otherwise spread out.
func (c *wsConn) keepAlive() {
	switch c.ping.Load() {
	case pingSent:
		if c.ctx.Err() == nil {
			c.log().DebugContext(c.ctx, "websocket: no pong within the keep-alive interval, closing")
			_ = c.conn.CloseNow()
			c.cancel(errors.New("keep-alive timeout"))
		}
		return
	case pingQueued:
		// A writer that has not finished within an interval holds it:
		// the peer has another interval to answer once it is written.
		c.flushNow()
	default:
		c.mu.Lock()
		legacyKA := c.proto.legacy && c.acked
		c.mu.Unlock()
		c.outMu.Lock()
		if c.outDead || c.outStopped {
			c.outMu.Unlock()
			return
		}
		if legacyKA {
			c.out = append(c.out, outItem{enc: kaMessage})
		}
		c.ping.Store(pingQueued)
		c.out = append(c.out, outItem{enc: pingItem})
		c.outMu.Unlock()
		c.flushNow()
	}
	c.keepTimer.Reset(c.t.cfg.WebSocketKeepAlive)
}

func (c *wsConn) log() *slog.Logger { return c.t.cfg.Logger }

// handle acts on one message; false ends the socket.
func (c *wsConn) handle(data []byte) bool {
	var m wsMessage
	if err := json.Unmarshal(data, &m); err != nil {
		c.closeWith(closeBadRequest, "Invalid message received: not a JSON object with a string type and id")
		return false
	}
	switch {
	case m.Type == "connection_init":
		return c.init(m.Payload)
	case m.Type == c.proto.subscribe:
		return c.subscribe(m)
	case m.Type == c.proto.stop:
		c.stop(m.ID)
		return true
	case m.Type == "ping" && !c.proto.legacy:
		return c.write([]byte(`{"type":"pong"}`))
	case m.Type == "pong" && !c.proto.legacy:
		return true
	case m.Type == "connection_terminate" && c.proto.legacy:
		c.closeWith(closeNormal, "")
		return false
	default:
		t := m.Type
		if len(t) > 32 {
			t = t[:32]
		}
		c.closeWith(closeBadRequest, fmt.Sprintf("Invalid message received: unknown type %q", t))
		return false
	}
}

// init handles connection_init: once only, through Config.Authenticate,
// then within the caller's share of sockets.
func (c *wsConn) init(payload json.RawMessage) bool {
	c.mu.Lock()
	again := c.inited
	c.inited = true
	c.mu.Unlock()
	if again {
		c.closeWith(closeTooManyInits, "Too many initialisation requests")
		return false
	}
	var p map[string]any
	if len(payload) > 0 && string(payload) != "null" {
		if jsonKind(payload) != "an object" || json.Unmarshal(payload, &p) != nil {
			c.closeWith(closeBadRequest, "Invalid message received: the connection_init payload must be an object")
			return false
		}
	}
	ctx := c.ctx
	if authenticate := c.t.cfg.Authenticate; authenticate != nil {
		actx, err := authenticate(ctx, p)
		if err != nil {
			// graphql-ws clients give up after 4401 and 4403 but retry
			// 1011 and 1013: a failure on the server's side (a JWKS or the
			// store unreachable) must not look like bad credentials.
			code := closeUnauthorized
			switch marketgraph.ErrorCode(err) {
			case marketgraph.EFORBIDDEN:
				code = closeForbidden
			case marketgraph.EUPSTREAM:
				code = closeTryAgainLater
			case marketgraph.EINTERNAL:
				code = closeInternalError
			}
			// The reason is seen by the client: only a client-safe message.
			msg := marketgraph.ErrorMessage(err)
			if c.proto.legacy {
				c.writeJSON(map[string]any{"type": "connection_error", "payload": map[string]any{"message": msg}})
			}
			c.closeWith(code, msg)
			return false
		}
		if actx != nil {
			ctx = actx
		}
	}
	caller := callerKey(ctx, c.req, c.t.cfg.ClientIP)
	release, err := c.t.streams.add(c, caller)
	switch {
	case errors.Is(err, errTooManyStreams):
		c.log().WarnContext(ctx, "websocket: refused, too many connections for caller",
			"caller", caller, "limit", c.t.cfg.MaxConnectionsPerCaller)
		c.closeWith(closeTryAgainLater, fmt.Sprintf("too many open connections for this caller (limit %d)", c.t.cfg.MaxConnectionsPerCaller))
		return false
	case err != nil:
		c.closeWith(closeGoingAway, "server shutting down")
		return false
	}
	recheck := c.credentialCheck(p)
	// The upgrade request is not needed past this point: the socket
	// drops it, headers and all, which were a tenth of what ten thousand
	// idle sockets kept.
	c.mu.Lock()
	c.release, c.opCtx, c.acked, c.caller, c.req = release, ctx, true, caller, nil
	c.mu.Unlock()
	// A socket must not outlive its credentials: a token or key that
	// expires ends the socket it opened.
	if p := auth.PrincipalFrom(ctx); p != nil && !p.ExpiresAt.IsZero() {
		c.after(time.Until(p.ExpiresAt), func() { c.closeWith(closeUnauthorized, "credentials expired") })
	}
	// Revoking an API key ends the sockets it opened too: the
	// credentials are checked again every StreamReauthInterval.
	if recheck != nil && c.t.cfg.StreamReauthInterval > 0 {
		c.recheck = recheck
		c.reauthTimer = c.after(c.t.cfg.StreamReauthInterval, c.reauthenticate)
	}
	if !c.write([]byte(`{"type":"connection_ack"}`)) {
		return false
	}
	if c.proto.legacy {
		return c.write([]byte(`{"type":"ka"}`))
	}
	return true
}

// credentialCheck returns the function that checks the socket's
// credentials again: those of its connection_init payload, else those of
// the upgrade request's headers; nil for an anonymous socket.
func (c *wsConn) credentialCheck(payload map[string]any) func(context.Context) error {
	if cred, err := auth.CredentialsFromInit(payload); err == nil && cred.Method != "" && c.t.cfg.Authenticate != nil {
		authenticate := c.t.cfg.Authenticate
		return func(ctx context.Context) error {
			_, err := authenticate(ctx, payload)
			return err
		}
	}
	if cred, err := auth.Credentials(c.req); err == nil && cred.Method != "" && c.t.cfg.Auth != nil {
		a := c.t.cfg.Auth
		return func(ctx context.Context) error {
			_, err := a.Authenticate(ctx, cred)
			return err
		}
	}
	return nil
}

// reauthenticate checks the socket's credentials again and closes it when
// they are refused now (a revoked key: 4401). A failure on the server's
// side (store or JWKS unreachable) keeps the socket: the next check will
// tell.
func (c *wsConn) reauthenticate() {
	err := c.recheck(c.ctx)
	switch code := marketgraph.ErrorCode(err); {
	case err == nil, code == marketgraph.EUPSTREAM, code == marketgraph.EINTERNAL:
		c.reauthTimer.Reset(c.t.cfg.StreamReauthInterval)
	case code == marketgraph.EFORBIDDEN:
		c.closeWith(closeForbidden, marketgraph.ErrorMessage(err))
	default:
		c.closeWith(closeUnauthorized, marketgraph.ErrorMessage(err))
	}
}

// subscribe starts an operation.
func (c *wsConn) subscribe(m wsMessage) bool {
	c.mu.Lock()
	acked := c.acked
	c.mu.Unlock()
	if !acked {
		c.closeWith(closeUnauthorized, "Unauthorized")
		return false
	}
	if m.ID == "" || len(m.ID) > maxOperationID {
		c.closeWith(closeBadRequest, fmt.Sprintf("Invalid message received: %s needs an id of 1 to %d bytes", m.Type, maxOperationID))
		return false
	}
	fields, re := decodeBody(m.Payload)
	var params *graphql.RawParams
	if re == nil {
		params, re = parseParams(fields)
	}
	if re != nil {
		c.closeWith(closeBadRequest, "Invalid message received: "+re.message)
		return false
	}

	c.mu.Lock()
	if _, dup := c.ops[m.ID]; dup {
		c.mu.Unlock()
		c.closeWith(closeDuplicateID, "Subscriber for "+m.ID+" already exists")
		return false
	}
	var refuse *gqlerror.Error
	switch max := c.t.cfg.MaxSubscriptionsPerConnection; {
	case c.shuttingDown:
		refuse = codedError(codeShuttingDown, "the server is shutting down: reconnect in a moment")
	case max > 0 && len(c.ops) >= max:
		refuse = codedError(marketgraph.ERATELIMITED, fmt.Sprintf("too many operations on this socket (limit %d): complete one first", max))
	}
	if refuse != nil {
		c.mu.Unlock()
		return c.sendErrors(m.ID, gqlerror.List{refuse})
	}
	ctx, cancel := context.WithCancelCause(c.opCtx)
	op := &wsOp{cancel: cancel}
	c.ops[m.ID] = op
	c.running.Add(1)
	c.mu.Unlock()

	go c.run(ctx, op, m.ID, params)
	return true
}

// codedError is a GraphQL error with an extensions code.
func codedError(code, msg string) *gqlerror.Error {
	return &gqlerror.Error{Message: msg, Extensions: map[string]any{"code": code}}
}

// stop ends the operation id at the client's request; an unknown id (one
// that has completed meanwhile) is ignored, as the protocol requires. The
// id is free again at once: the client may reuse it in its next message,
// while the old operation winds down.
func (c *wsConn) stop(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if op := c.ops[id]; op != nil {
		delete(c.ops, id)
		op.cancel(errClientComplete)
	}
}

// run executes one operation and sends its results.
func (c *wsConn) run(ctx context.Context, op *wsOp, id string, params *graphql.RawParams) {
	defer c.running.Done()
	handedOver := false
	defer func() {
		// A handed-over operation, or a newer one reusing the id, owns
		// the entry now.
		c.mu.Lock()
		if !handedOver && c.ops[id] == op {
			delete(c.ops, id)
		}
		c.mu.Unlock()
		op.cancel(nil)
	}()
	defer func() {
		if p := recover(); p != nil {
			c.sendErrors(id, gqlerror.List{c.t.present(ctx, c.t.recover(ctx, p))})
		}
	}()
	start := graphql.Now()
	// params.Headers stays nil: the socket keeps no request headers
	// (see init); resolvers learn the caller from the context.
	params.ReadTime = graphql.TraceTiming{Start: start, End: start}
	ctx = graphql.StartOperationTrace(ctx)
	opCtx, errs := c.exec.CreateOperationContext(ctx, params)
	if len(errs) == 0 {
		if err := findDeferError(opCtx); err != nil {
			errs = gqlerror.List{err}
		}
	}
	if len(errs) > 0 {
		errs = clarify(opCtx, errs, params.OperationName)
		resp := c.exec.DispatchError(graphql.WithOperationContext(ctx, opCtx), errs)
		c.sendErrors(id, resp.Errors)
		return
	}
	// A priceTicks subscription the tick hub can serve is offered to it;
	// the resolver takes the offer when the arguments suit it.
	var claim *wsClaim
	if hub := c.t.cfg.Ticks; hub != nil {
		if plan, ok := hub.Compile(opCtx); ok {
			claim = &wsClaim{plan: plan}
			ctx = tickhub.WithClaim(ctx, claim)
		}
	}
	responses, rctx := c.exec.DispatchOperation(ctx, opCtx)
	if claim != nil && claim.assets != nil && c.handOver(ctx, rctx, id, claim) {
		handedOver = true
		return
	}
	for {
		resp := responses(rctx)
		if resp == nil || ctx.Err() != nil {
			break // ended, or completed by the client: nothing more is sent
		}
		if !c.sendNext(id, resp) {
			return
		}
	}
	// The operation ended: by itself, or because the server shuts down,
	// both of which the client must hear; or because the client completed
	// it (graphql-transport-ws expects no answer, the legacy protocol a
	// complete) or went away.
	switch cause := context.Cause(ctx); {
	case ctx.Err() == nil, errors.Is(cause, errShutdown):
		c.sendComplete(id)
	case errors.Is(cause, errClientComplete) && c.proto.legacy:
		c.sendComplete(id)
	}
}

// findDeferError refuses @defer, which needs incremental delivery.
func findDeferError(opCtx *graphql.OperationContext) *gqlerror.Error {
	p := findDefer(opCtx.Doc, opCtx.Operation.SelectionSet, map[string]bool{})
	if p == nil {
		return nil
	}
	err := gqlerror.ErrorPosf(p, "@defer is not supported")
	err.Extensions = map[string]any{"code": codeBadRequest}
	return err
}

// sendNext sends one result.
func (c *wsConn) sendNext(id string, resp *graphql.Response) bool {
	payload, err := json.Marshal(resp)
	if err != nil {
		c.log().ErrorContext(c.ctx, "websocket: result not encodable", "error", err.Error())
		return false
	}
	b := make([]byte, 0, len(payload)+len(id)+48)
	b = append(b, `{"type":"`...)
	b = append(b, c.proto.next...)
	b = append(b, `","id":`...)
	b = append(b, jsonString(id)...)
	b = append(b, `,"payload":`...)
	b = append(b, payload...)
	b = append(b, '}')
	return c.write(b)
}

// sendErrors sends an error message, which ends the operation; the legacy
// protocol also wants a complete.
func (c *wsConn) sendErrors(id string, errs gqlerror.List) bool {
	if !c.writeJSON(map[string]any{"type": "error", "id": id, "payload": errs}) {
		return false
	}
	if c.proto.legacy {
		return c.sendComplete(id)
	}
	return true
}

func (c *wsConn) sendComplete(id string) bool {
	return c.writeJSON(map[string]any{"type": "complete", "id": id})
}

func (c *wsConn) writeJSON(v any) bool {
	b, err := json.Marshal(v)
	if err != nil {
		c.log().ErrorContext(c.ctx, "websocket: message not encodable", "error", err.Error())
		return false
	}
	return c.write(b)
}

// write sends one message within the write timeout. A client that has not
// taken a message for that long has stopped reading (or its network has):
// it is disconnected, so that it holds no goroutine or buffer any longer,
// and the event is logged. It gets no close frame: after a write that
// timed out, perhaps part of a frame written, the connection takes nothing
// more (holdConn.broken), so the log line is what an operator sees.
func (c *wsConn) write(b []byte) bool {
	if c.ctx.Err() != nil {
		return false
	}
	// One frame, encoded here and written in one write to the network,
	// whatever the size of the socket's small write buffer.
	return c.writeFrames(append(appendTextFrameHeader(make([]byte, 0, len(b)+10), len(b)), b...))
}

// stuckClient logs and disconnects a client that stopped reading, once.
func (c *wsConn) stuckClient() {
	c.stuck.Do(func() {
		c.mu.Lock()
		caller := c.caller
		if caller == "" { // before connection_init
			caller = callerKey(c.opCtx, c.req, c.t.cfg.ClientIP)
		}
		c.mu.Unlock()
		c.log().WarnContext(c.ctx, "websocket: disconnecting a client that stopped reading",
			"caller", caller,
			"write_timeout", c.t.cfg.StreamWriteTimeout.String())
		c.closeWith(closePolicyViolation, "client too slow: messages were not read in time")
	})
}

// shutdown completes the socket's operations, then closes it with 1001.
func (c *wsConn) shutdown() {
	c.mu.Lock()
	c.shuttingDown = true
	for _, op := range c.ops {
		op.cancel(errShutdown)
	}
	c.mu.Unlock()
	// No writer starts after the completes' (a keep-alive ping's, say):
	// writing.Wait must not race a writing.Add from zero.
	c.outMu.Lock()
	c.outStopped = true
	c.outMu.Unlock()
	go func() {
		c.running.Wait()
		// The completes of handed-over operations are queued: they leave
		// before the close.
		c.writing.Wait()
		c.closeWith(closeGoingAway, "server shutting down")
	}()
}

// isUpgrade reports whether r asks for a WebSocket.
func isUpgrade(r *http.Request) bool {
	return r.Header.Get("Upgrade") != ""
}

// originAllowed reports whether a WebSocket upgrade from r's Origin may
// proceed. Browsers send Origin on every WebSocket handshake and cannot
// forge it, and a WebSocket is not protected by CORS: without this check any
// web page could open a socket with the visitor's credentials (cross-site
// WebSocket hijacking). Clients that are not browsers send no Origin and
// need no protection from it.
func originAllowed(cfg *Config, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || cfg.AllowAllOrigins {
		return true
	}
	for _, o := range cfg.AllowedOrigins {
		// Scheme and host are case-insensitive (RFC 6454 §4).
		if strings.EqualFold(strings.TrimSuffix(o, "/"), origin) {
			return true
		}
	}
	return false
}

// checkOrigin refuses WebSocket upgrades from origins not allowed with 403.
func checkOrigin(cfg *Config, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isUpgrade(r) && !originAllowed(cfg, r) {
			writeRequestError(w, errorMedia(r), &requestError{
				status:  http.StatusForbidden,
				code:    marketgraph.EFORBIDDEN,
				message: "WebSocket connections from origin " + r.Header.Get("Origin") + " are not allowed",
			})
			return
		}
		next.ServeHTTP(w, r)
	})
}
