package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/auth"
)

// mediaEventStream is the media type of Server-Sent Events.
const mediaEventStream = "text/event-stream"

// serverSentEvents serves GraphQL over Server-Sent Events in the protocol's
// "distinct connections" mode: a GET or POST to /graphql that accepts
// text/event-stream gets one stream for one operation, each result as a
// `next` event and a final `complete` event. The request itself is a
// GraphQL-over-HTTP request: malformed ones are answered 400 with a JSON
// body like any other; but errors found while validating the operation
// arrive as a `next` event on an accepted stream, as the protocol requires
// (a browser's EventSource cannot read a 400's body).
type serverSentEvents struct {
	cfg     *Config
	streams *streams
	present graphql.ErrorPresenterFunc
	recover graphql.RecoverFunc
}

var _ graphql.Transport = (*serverSentEvents)(nil)

// Supports reports whether r is a GET or POST asking for an event stream.
func (t *serverSentEvents) Supports(r *http.Request) bool {
	if isUpgrade(r) || (r.Method != http.MethodGet && r.Method != http.MethodPost) {
		return false
	}
	return acceptsEventStream(r.Header.Values("Accept"))
}

// acceptsEventStream reports whether Accept names text/event-stream with a
// non-zero quality. Wildcards do not count: a client that does not ask for
// a stream by name gets a JSON response.
func acceptsEventStream(accept []string) bool {
	for _, part := range strings.Split(strings.Join(accept, ","), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil || mt != mediaEventStream {
			continue
		}
		if q, ok := qvalue(params); ok && q > 0 {
			return true
		}
	}
	return false
}

// Do serves one stream.
func (t *serverSentEvents) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	start := graphql.Now()
	params, re := t.readParams(r)
	if re != nil {
		writeRequestError(w, mediaJSON, re)
		return
	}
	ctx, cancel := context.WithCancelCause(r.Context())
	defer cancel(nil)
	s := &sseStream{t: t, w: w, rc: http.NewResponseController(w), cancel: cancel}
	release, err := t.streams.add(s, callerKey(r.Context(), r, t.cfg.ClientIP))
	switch {
	case errors.Is(err, errTooManyStreams):
		w.Header().Set("Retry-After", "1")
		writeRequestError(w, mediaJSON, &requestError{
			status: http.StatusTooManyRequests, code: marketgraph.ERATELIMITED,
			message: fmt.Sprintf("too many open connections for this caller (limit %d)", t.cfg.MaxConnectionsPerCaller),
		})
		return
	case err != nil:
		writeRequestError(w, mediaJSON, &requestError{
			status: http.StatusServiceUnavailable, code: codeShuttingDown,
			message: "the server is shutting down: reconnect in a moment",
		})
		return
	}
	defer release()

	// The server's read deadline (ReadTimeout) would end the request, and
	// its write deadline (WriteTimeout) the response, of a stream meant to
	// last hours: writes get their own deadline instead (see event).
	_ = s.rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", mediaEventStream+"; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // tell nginx not to buffer the stream
	w.WriteHeader(http.StatusOK)
	if !s.event(ctx, func(w io.Writer) { _, _ = io.WriteString(w, ":\n\n") }) {
		return
	}
	s.mu.Lock()
	s.keepTimer = time.AfterFunc(t.cfg.WebSocketKeepAlive, s.keepAlive(ctx))
	s.mu.Unlock()
	// Timers may fire while the handler returns; once done is set they
	// write nothing (the ResponseWriter is no longer ours).
	defer func() {
		s.mu.Lock()
		s.done = true
		s.mu.Unlock()
		s.keepTimer.Stop()
	}()
	// A stream must not outlive its credentials: it ends when they expire,
	// or when a periodic check refuses them (a revoked key).
	if p := auth.PrincipalFrom(r.Context()); p != nil && !p.ExpiresAt.IsZero() {
		expiry := time.AfterFunc(time.Until(p.ExpiresAt), func() { s.cancel(errCredentialsExpired) })
		defer expiry.Stop()
	}
	if cred, err := auth.Credentials(r); err == nil && cred.Method != "" && t.cfg.Auth != nil && t.cfg.StreamReauthInterval > 0 {
		streamCtx := ctx
		var mu sync.Mutex
		var reauth *time.Timer
		check := func() {
			_, err := t.cfg.Auth.Authenticate(streamCtx, cred)
			switch code := marketgraph.ErrorCode(err); {
			case err == nil, code == marketgraph.EUPSTREAM, code == marketgraph.EINTERNAL:
				mu.Lock()
				reauth.Reset(t.cfg.StreamReauthInterval)
				mu.Unlock()
			default:
				s.cancel(errCredentialsRefused)
			}
		}
		mu.Lock()
		reauth = time.AfterFunc(t.cfg.StreamReauthInterval, check)
		mu.Unlock()
		defer func() {
			mu.Lock()
			reauth.Stop()
			mu.Unlock()
		}()
	}

	defer func() {
		if p := recover(); p != nil {
			resp := &graphql.Response{Errors: gqlerror.List{t.present(ctx, t.recover(ctx, p))}}
			s.next(ctx, resp)
			s.complete(ctx)
		}
	}()
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	ctx = graphql.StartOperationTrace(ctx)
	opCtx, errs := exec.CreateOperationContext(ctx, params)
	if len(errs) == 0 {
		if err := findDeferError(opCtx); err != nil {
			errs = gqlerror.List{err}
		} else if r.Method == http.MethodGet && opCtx.Operation.Operation == ast.Mutation {
			// GET is safe: a link or a prefetch must not change anything.
			errs = gqlerror.List{codedError(codeMethodNotAllowed, "GET cannot execute mutations: send them with POST")}
		}
	}
	if len(errs) > 0 {
		errs = clarify(opCtx, errs, params.OperationName)
		if s.next(ctx, exec.DispatchError(graphql.WithOperationContext(ctx, opCtx), errs)) {
			s.complete(ctx)
		}
		return
	}
	responses, rctx := exec.DispatchOperation(ctx, opCtx)
	for {
		resp := responses(rctx)
		if resp == nil {
			break
		}
		if !s.next(ctx, resp) {
			return
		}
	}
	switch cause := context.Cause(ctx); {
	case ctx.Err() == nil, errors.Is(cause, errShutdown):
		s.complete(ctx)
	case errors.Is(cause, errCredentialsExpired), errors.Is(cause, errCredentialsRefused):
		// The stream's context is over; the last words go out on a fresh
		// one, bounded by the write timeout.
		end := context.WithoutCancel(ctx)
		msg := "credentials expired"
		if errors.Is(cause, errCredentialsRefused) {
			msg = "credentials no longer accepted"
		}
		if s.next(end, &graphql.Response{Errors: gqlerror.List{codedError(marketgraph.EUNAUTHENTICATED, msg)}}) {
			s.complete(end)
		}
	}
}

// Causes of an event stream ended for its credentials.
var (
	errCredentialsExpired = errors.New("credentials expired")
	errCredentialsRefused = errors.New("credentials refused")
)

// readParams reads the GraphQL-over-HTTP request parameters of a GET or
// POST exactly as the JSON transports do.
func (t *serverSentEvents) readParams(r *http.Request) (*graphql.RawParams, *requestError) {
	var fields map[string]json.RawMessage
	var re *requestError
	if r.Method == http.MethodGet {
		fields, re = queryFields(searchParams(r.URL.RawQuery))
	} else {
		if re = checkContentType(r); re != nil {
			return nil, re
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, readError(err)
		}
		fields, re = decodeBody(body)
	}
	if re != nil {
		return nil, re
	}
	return parseParams(fields)
}

// sseStream is one accepted event stream.
type sseStream struct {
	t      *serverSentEvents
	w      http.ResponseWriter
	rc     *http.ResponseController
	cancel context.CancelCauseFunc
	// mu serialises events with keep-alive comments.
	mu        sync.Mutex
	keepTimer *time.Timer
	// done is set when the handler returns: the ResponseWriter may not be
	// used any more.
	done bool
}

// next sends a result as a next event.
func (s *sseStream) next(ctx context.Context, resp *graphql.Response) bool {
	b, err := json.Marshal(resp)
	if err != nil {
		s.t.cfg.Logger.ErrorContext(ctx, "sse: result not encodable", "error", err.Error())
		return false
	}
	return s.event(ctx, func(w io.Writer) {
		_, _ = io.WriteString(w, "event: next\ndata: ")
		_, _ = w.Write(b) // JSON has no raw newlines: one data line
		_, _ = io.WriteString(w, "\n\n")
	})
}

// complete sends the final complete event.
func (s *sseStream) complete(ctx context.Context) bool {
	return s.event(ctx, func(w io.Writer) { _, _ = io.WriteString(w, "event: complete\ndata:\n\n") })
}

// event writes and flushes within the write timeout; a client that has not
// taken the stream's data for that long is disconnected and logged.
func (s *sseStream) event(ctx context.Context, write func(io.Writer)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return false
	}
	timeout := s.t.cfg.StreamWriteTimeout
	_ = s.rc.SetWriteDeadline(time.Now().Add(timeout))
	write(s.w)
	if err := s.rc.Flush(); err != nil {
		if ctx.Err() == nil && isTimeout(err) {
			s.t.cfg.Logger.WarnContext(ctx, "sse: disconnecting a client that stopped reading",
				"write_timeout", timeout.String())
		}
		s.cancel(errSocketClosed)
		return false
	}
	if s.keepTimer != nil {
		s.keepTimer.Reset(s.t.cfg.WebSocketKeepAlive)
	}
	return true
}

// isTimeout reports whether err is a deadline's.
func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

// keepAlive returns the timer function sending a comment when the stream
// has been quiet for the keep-alive interval, so that proxies keep it open
// and a vanished client is noticed.
func (s *sseStream) keepAlive(ctx context.Context) func() {
	return func() {
		if ctx.Err() != nil {
			return
		}
		s.event(ctx, func(w io.Writer) { _, _ = io.WriteString(w, ":\n\n") })
	}
}

// shutdown ends the stream's operation, which then sends complete.
func (s *sseStream) shutdown() { s.cancel(errShutdown) }
