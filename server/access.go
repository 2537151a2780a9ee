package server

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/go-chi/cors"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/auth"
	"github.com/marketgraph/marketgraph/ratelimit"
)

// Authenticator turns a presented credential into a caller; auth's
// Authenticator is the implementation.
type Authenticator interface {
	// Authenticate returns nil without error for an anonymous caller.
	// Errors are client-safe marketgraph errors, or INTERNAL.
	Authenticate(ctx context.Context, c auth.Credential) (*auth.Principal, error)
}

// authenticate is the HTTP middleware that identifies the caller of every
// request from its Authorization or X-API-Key header. A request without
// credentials goes on anonymously (the schema's @hasScope decides what an
// anonymous caller may do); one with credentials that do not check out is
// refused at once with 401 and UNAUTHENTICATED, since answering it
// anonymously would hide the client's mistake.
func authenticate(a Authenticator, log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := auth.WithAuditAttrs(r.Context(),
				slog.String("remote_addr", r.RemoteAddr),
				slog.String("request_id", middleware.GetReqID(r.Context())))
			cred, err := auth.Credentials(r)
			if err != nil {
				auth.AuditFailure(ctx, log, "", auth.ReasonMalformed)
				refuseCredentials(w, r, err)
				return
			}
			p, err := a.Authenticate(ctx, cred)
			if err != nil {
				refuseCredentials(w, r, err)
				return
			}
			if p != nil {
				ctx = auth.WithPrincipal(ctx, p)
			}
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// refuseCredentials answers a request whose credentials failed: 401 for
// UNAUTHENTICATED (with the challenge RFC 6750 asks for), 503 when a key
// source is unreachable, 500 otherwise, the message masked.
func refuseCredentials(w http.ResponseWriter, r *http.Request, err error) {
	re := &requestError{status: http.StatusInternalServerError, code: marketgraph.EINTERNAL, message: "internal error"}
	switch code := marketgraph.ErrorCode(err); code {
	case marketgraph.EUNAUTHENTICATED:
		w.Header().Set("WWW-Authenticate", `Bearer realm="marketgraph"`)
		re = &requestError{status: http.StatusUnauthorized, code: code, message: marketgraph.ErrorMessage(err)}
	case marketgraph.EUPSTREAM:
		w.Header().Set("Retry-After", "5")
		re = &requestError{status: http.StatusServiceUnavailable, code: code, message: marketgraph.ErrorMessage(err)}
	}
	writeRequestError(w, errorMedia(r), re)
}

// initAuthenticator adapts a to a WebSocket's connection_init payload, the
// only place a browser can put credentials on a socket. A payload without
// credentials keeps the identity the upgrade request's headers gave.
func initAuthenticator(a Authenticator, log *slog.Logger) func(context.Context, map[string]any) (context.Context, error) {
	return func(ctx context.Context, payload map[string]any) (context.Context, error) {
		cred, err := auth.CredentialsFromInit(payload)
		if err != nil {
			auth.AuditFailure(ctx, log, "", auth.ReasonMalformed)
			return nil, err
		}
		if cred.Method == "" {
			return ctx, nil
		}
		p, err := a.Authenticate(ctx, cred)
		if err != nil {
			return nil, err
		}
		return auth.WithPrincipal(ctx, p), nil
	}
}

// corsHandler answers CORS preflights and sets the CORS headers of
// browser requests from the allowed origins. Credentials (cookies) are off
// unless allowed: callers authenticate with headers, which need no
// cookies, and credentialed CORS widens what a hostile page can do.
func corsHandler(cfg *Config) func(http.Handler) http.Handler {
	return cors.Handler(cors.Options{
		// The same allowlist as WebSocket upgrades (originAllowed); with
		// AllowOriginFunc set, the library ignores AllowedOrigins.
		AllowOriginFunc:  func(r *http.Request, _ string) bool { return originAllowed(cfg, r) },
		AllowedMethods:   []string{http.MethodGet, http.MethodPost},
		AllowedHeaders:   []string{"Accept", "Authorization", "Content-Type", "X-API-Key", "X-Request-Id"},
		ExposedHeaders:   []string{"X-Request-Id", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After"},
		AllowCredentials: cfg.CORSAllowCredentials,
		MaxAge:           600,
	})
}

// costBudget is the operation middleware that charges each operation's
// cost to its caller's budget per minute (ratelimit.Costs) before it runs.
// One that would overspend is refused with COST_LIMIT_EXCEEDED, its cost,
// the budget and when it refills in extensions. An operation that selects
// nothing but rateLimit (and __typename) spends nothing: it only reports.
// Every response carries extensions.cost; a subscription is charged once,
// when it starts.
func costBudget(costs *ratelimit.Costs, log *slog.Logger) graphql.OperationMiddleware {
	return func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		opCtx := graphql.GetOperationContext(ctx)
		cost, _ := OperationCost(ctx)
		var st ratelimit.State
		var err error
		if onlyRateLimit(opCtx) {
			st, err = costs.Peek(ctx)
			st.Cost, st.Allowed = cost, true
		} else {
			st, err = costs.Spend(ctx, cost)
		}
		if err != nil {
			log.WarnContext(ctx, "cost budget unavailable", "error", err.Error())
			return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{codedError(marketgraph.ErrorCode(err), marketgraph.ErrorMessage(err))}})
		}
		ext := costExtension(st, cost)
		if !st.Allowed {
			e := codedError(marketgraph.ECOSTLIMIT, marketgraph.ErrorMessage(st.Err()))
			e.Extensions["cost"] = ext
			return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{e}})
		}
		ctx = ratelimit.WithState(ctx, st)
		first := true
		h := next(ctx)
		return func(ctx context.Context) *graphql.Response {
			resp := h(ctx)
			if resp != nil && first {
				first = false
				if resp.Extensions == nil {
					resp.Extensions = map[string]any{}
				}
				resp.Extensions["cost"] = ext
			}
			return resp
		}
	}
}

// costExtension is extensions.cost: what the operation cost and what is
// left of the caller's budget until it refills.
func costExtension(st ratelimit.State, cost int) map[string]any {
	return map[string]any{
		"requested": cost,
		"limit":     st.Limit,
		"remaining": st.Remaining,
		"resetAt":   st.ResetAt.UTC().Format(time.RFC3339),
	}
}

// onlyRateLimit reports whether the operation is a query selecting only
// rateLimit and __typename at its root, fragments included.
func onlyRateLimit(opCtx *graphql.OperationContext) bool {
	if opCtx == nil || opCtx.Operation == nil || opCtx.Operation.Operation != ast.Query {
		return false
	}
	return eachRootField(opCtx.Doc, opCtx.Operation.SelectionSet, func(f *ast.Field) bool {
		return f.Name == "rateLimit" || f.Name == "__typename"
	})
}
