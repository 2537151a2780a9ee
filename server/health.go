package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/marketgraph/marketgraph"
)

// readyTimeout bounds the readiness check, so that a hung store answers 503
// before the prober gives up on us.
const readyTimeout = 2 * time.Second

// healthBody is the JSON of /healthz and /readyz.
type healthBody struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks,omitempty"`
}

// healthz answers whether the process is alive: if it can answer, it is.
func healthz(w http.ResponseWriter, _ *http.Request) {
	writeHealth(w, http.StatusOK, healthBody{Status: "ok"})
}

// Component reports the state of a dependency the server can serve without,
// for /readyz: the upstream provider's circuit breaker, say, while stale
// quotes are served. degraded makes /readyz say "degraded" but stay 200:
// taking the replica out of rotation would not bring the provider back.
type Component func(ctx context.Context) (state string, degraded bool)

// readyz answers whether the server can serve: its dependencies (the store)
// are reachable. A failure is logged (passwords redacted) but shown to the
// prober only as a short safe message: a driver's error text can hold a DSN.
// Components add their state; a degraded one marks the answer degraded.
func readyz(ready func(context.Context) error, components map[string]Component, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := checkReady(r.Context(), ready)
		if err == nil {
			body := healthBody{Status: "ready", Checks: map[string]string{"store": "ok"}}
			for name, c := range components {
				state, degraded := c(r.Context())
				body.Checks[name] = state
				if degraded {
					body.Status = "degraded"
				}
			}
			writeHealth(w, http.StatusOK, body)
			return
		}
		log.ErrorContext(r.Context(), "readiness check failed",
			slog.String("request_id", middleware.GetReqID(r.Context())),
			slog.String("check", "store"),
			slog.String("error", redact(err.Error())),
		)
		writeHealth(w, http.StatusServiceUnavailable, healthBody{
			Status: "unavailable",
			Checks: map[string]string{"store": readyMessage(err)},
		})
	}
}

func checkReady(ctx context.Context, ready func(context.Context) error) error {
	if ready == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	return ready(ctx)
}

// readyMessage is what a prober may learn about a failed check: the
// client-safe message of a *marketgraph.Error, or a fixed word.
func readyMessage(err error) string {
	var e *marketgraph.Error
	switch {
	case errors.As(err, &e):
		return e.Message
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	default:
		return "unreachable"
	}
}

func writeHealth(w http.ResponseWriter, status int, body healthBody) {
	b, _ := json.Marshal(body) // strings only: always encodes
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
