package server

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/coder/websocket"

	"github.com/marketgraph/marketgraph"
)

// Defaults of the WebSocket settings of Config.
const (
	DefaultWebSocketKeepAlive   = 15 * time.Second
	DefaultWebSocketInitTimeout = 10 * time.Second
	DefaultWebSocketReadLimit   = 64 << 10 // 64 KiB
)

// closeUnauthorized is graphql-transport-ws's close code for a
// connection_init the server does not accept.
const closeUnauthorized = 4401

// newWebSocket returns the WebSocket transport for subscriptions: both
// subprotocols gqlgen speaks, graphql-transport-ws and the legacy graphql-ws.
// The Origin allowlist is checked before (see checkOrigin), so the library's
// own same-host check is turned off here rather than applied twice with
// different rules.
func newWebSocket(cfg Config) transport.Websocket {
	limit := cfg.WebSocketReadLimit
	return transport.Websocket{
		Implementation: transport.CoderWebsocketImplementation{
			AcceptOptions: websocket.AcceptOptions{InsecureSkipVerify: true},
		},
		KeepAlivePingInterval: cfg.WebSocketKeepAlive,
		// graphql-transport-ws clients answer pings with pongs; one that
		// stays silent for two intervals is gone and its socket is closed.
		PingPongInterval: cfg.WebSocketKeepAlive,
		InitTimeout:      cfg.WebSocketInitTimeout,
		PayloadReadLimit: &limit,
		InitFunc:         initFunc(cfg.Authenticate),
		ErrorFunc: func(ctx context.Context, err error) {
			cfg.Logger.DebugContext(ctx, "websocket", "error", err.Error())
		},
	}
}

// initFunc hands the connection_init payload to authenticate, the seam
// access control plugs into; nil admits every caller.
func initFunc(authenticate func(context.Context, map[string]any) (context.Context, error)) transport.WebsocketInitFunc {
	return func(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		if authenticate == nil {
			return ctx, nil, nil
		}
		actx, err := authenticate(ctx, payload)
		if err != nil {
			ctx = transport.WithWebsocketCloseCode(ctx, closeUnauthorized)
			ctx = transport.AppendCloseReason(ctx, "unauthorized")
			// connection_error and close reasons are seen by the client:
			// only a client-safe message goes there.
			return ctx, nil, marketgraph.Errorf(marketgraph.ErrorCode(err), "%s", marketgraph.ErrorMessage(err))
		}
		if actx == nil {
			actx = ctx
		}
		return actx, nil, nil
	}
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
