package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/go-chi/chi/v5/middleware"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/marketgraph/marketgraph"
)

// echoRequestID returns the request id chi's RequestID middleware assigned
// (or took from the client's X-Request-Id) to the client, so that a user
// reporting a problem can quote the id found in our logs.
func echoRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id := middleware.GetReqID(r.Context()); id != "" {
			w.Header().Set(middleware.RequestIDHeader, id)
		}
		next.ServeHTTP(w, r)
	})
}

// accessLog logs one line per request once it is answered. It logs the path
// but never the query string: GET variables can carry secrets.
func accessLog(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			defer func() {
				status := ww.Status()
				if status == 0 {
					status = http.StatusOK // nothing written: net/http sends 200
				}
				log.LogAttrs(r.Context(), slog.LevelInfo, "http request",
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
					slog.Int("status", status),
					slog.Int("bytes", ww.BytesWritten()),
					slog.Duration("duration", time.Since(start)),
					slog.String("request_id", middleware.GetReqID(r.Context())),
					slog.String("remote", r.RemoteAddr),
				)
			}()
			next.ServeHTTP(ww, r)
		})
	}
}

// recoverPanics turns a panic anywhere below it into a 500 with a
// GraphQL-shaped INTERNAL error, logged with its stack and the request id:
// one bad request never takes the process down. Resolver panics never get
// here; gqlgen recovers them per field (see Recover).
func recoverPanics(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				p := recover()
				if p == nil {
					return
				}
				if p == http.ErrAbortHandler {
					panic(p) // net/http's way to abort a response: not a bug
				}
				log.ErrorContext(r.Context(), "panic serving http",
					slog.String("request_id", middleware.GetReqID(r.Context())),
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
					slog.String("panic", redact(fmt.Sprint(p))),
					slog.String("stack", string(debug.Stack())),
				)
				e := &gqlerror.Error{Message: maskedMessage, Extensions: map[string]any{"code": marketgraph.EINTERNAL}}
				writeResult(w, http.StatusInternalServerError, errorMedia(r), gqlerror.List{e}, nil, nil)
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// limitBody caps request bodies at limit bytes. A body that declares a
// larger Content-Length is refused at once with 413; one that grows past the
// limit while being read fails the read, which the POST transport answers
// 413 as well.
func limitBody(limit int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > limit {
				e := &gqlerror.Error{
					Message:    fmt.Sprintf("the request body is larger than %d bytes", limit),
					Extensions: map[string]any{"code": codePayloadTooLarge},
				}
				writeResult(w, http.StatusRequestEntityTooLarge, errorMedia(r), gqlerror.List{e}, nil, nil)
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
			next.ServeHTTP(w, r)
		})
	}
}

// errorMedia is the media type for an error answered before a transport ran:
// what the client asked for if we can, application/json otherwise.
func errorMedia(r *http.Request) string {
	if media, ok := negotiate(r.Header.Values("Accept")); ok {
		return media
	}
	return mediaJSON
}
