// Package server is marketgraph's HTTP layer: the chi router and its
// middleware, the gqlgen handler with GraphQL-over-HTTP transports that
// follow the GraphQL foundation's specification (working draft) to the
// letter, the error presenter that decides what clients see of errors, the
// playground, and the health endpoints.
package server

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/marketgraph/marketgraph/auth"
	"github.com/marketgraph/marketgraph/ratelimit"
)

// Defaults for the zero values of Config.
const (
	DefaultBodyLimit      = 1 << 20 // 1 MiB
	DefaultQueryCacheSize = 1000
)

// GraphQLPath is where GraphQL is served; the playground points at it.
const GraphQLPath = "/graphql"

// Config is what New needs. Schema is required; every other field has a
// usable zero value.
type Config struct {
	// Schema is the executable schema, graph.NewExecutableSchema(...).
	Schema graphql.ExecutableSchema
	// Logger receives the access log, masked errors and panics. nil discards.
	Logger *slog.Logger
	// OperationContext is called once per GraphQL operation, in an
	// operation middleware rather than HTTP middleware (a WebSocket runs
	// HTTP middleware once per connection), and returns the context the
	// operation runs with: the place to install fresh dataloaders. nil
	// leaves the context as it is.
	OperationContext func(ctx context.Context) context.Context
	// Ready is /readyz's check, typically the store's Ping. nil: always
	// ready.
	Ready func(ctx context.Context) error
	// Components are dependencies /readyz reports on without failing:
	// their state appears under checks, and a degraded one turns the
	// status to "degraded" with a 200.
	Components map[string]Component
	// BodyLimit caps request bodies in bytes; 0 means DefaultBodyLimit.
	BodyLimit int64
	// QueryCacheSize is how many parsed and validated documents are kept;
	// 0 means DefaultQueryCacheSize, a negative value disables the cache.
	QueryCacheSize int
	// Playground serves gqlgen's GraphQL IDE at /playground.
	Playground bool
	// Introspection allows __schema and __type queries.
	Introspection bool

	// ComplexityLimit caps the complexity of an operation, computed before
	// execution as gqlgen does, from the schema's complexity functions (list
	// fields multiply their selection's cost); a costlier operation is
	// refused with COST_LIMIT_EXCEEDED, its cost and the limit in the
	// error's extensions, and 400 with application/graphql-response+json.
	// 0 means DefaultComplexityLimit, a negative value turns the limit off.
	// It bounds what one request can ask for; budgets per caller come on
	// top, and read the cost with OperationCost, which is computed even
	// with the limit off.
	ComplexityLimit int
	// MaxDepth caps how deeply an operation's fields nest, fragments
	// included and introspection fields not counted. The schema has cycles
	// (asset → latestSignal → asset ...), so a short document could ask for
	// an arbitrarily deep answer; a document with a deeper operation is
	// refused as GRAPHQL_VALIDATION_FAILED before it is validated (see
	// documentLimits). 0 means DefaultMaxDepth, a negative value turns the
	// limit off.
	MaxDepth int
	// OperationTimeout bounds how long a query or mutation runs: resolvers,
	// loaders and stores see the deadline through their context, and calls
	// cut short by it fail with COST_LIMIT_EXCEEDED ("the operation ran
	// longer than its 15s limit") while the fields already resolved are
	// answered. It keeps a slow upstream or an expensive query from holding
	// connections and goroutines indefinitely; subscriptions are not
	// bounded. 0 means DefaultOperationTimeout, a negative value means no
	// limit.
	OperationTimeout time.Duration

	// Limits on the document and the variables, checked before gqlgen
	// parses and validates them, since validation is where a short hostile
	// document costs most (see documentLimits and variableLimits). A
	// document over one is refused as GRAPHQL_VALIDATION_FAILED, variables
	// over one as BAD_USER_INPUT, both naming the limit, with 400 under
	// application/graphql-response+json, on every transport. For each, 0
	// means its default (DefaultMaxDocumentBytes, ...), a negative value
	// turns it off.
	//
	// MaxDocumentBytes caps the document's length (the body limit caps the
	// whole request); MaxTokens its tokens (names, values, punctuation);
	// MaxNesting how deeply selection sets, lists, input objects and list
	// types nest in its text, and lists and objects in each variable;
	// MaxFragments the fragments it defines. MaxAliases caps the aliased
	// fields of an operation and MaxRootFields its root fields, both
	// counting a fragment's once per spread. MaxRepeatedFields caps how
	// many times the document's fields repeat a response name already
	// selected in the same selection set. MaxVariableValues caps the
	// values (scalars, lists, objects) all variables hold together.
	MaxDocumentBytes  int
	MaxTokens         int
	MaxNesting        int
	MaxFragments      int
	MaxAliases        int
	MaxRootFields     int
	MaxRepeatedFields int
	MaxVariableValues int

	// AllowedOrigins are the browser origins ("https://app.example.com",
	// matched exactly, case aside) that may open a WebSocket; upgrades
	// without an Origin header (clients that are not browsers) are always
	// allowed. AllowAllOrigins lifts the check, for development.
	AllowedOrigins  []string
	AllowAllOrigins bool
	// WebSocketKeepAlive is the interval of keep-alive messages (graphql-ws)
	// and pings (graphql-transport-ws); 0 means DefaultWebSocketKeepAlive.
	WebSocketKeepAlive time.Duration
	// WebSocketInitTimeout is how long a new socket may take to send
	// connection_init; 0 means DefaultWebSocketInitTimeout.
	WebSocketInitTimeout time.Duration
	// WebSocketReadLimit caps one message from a client in bytes; 0 means
	// DefaultWebSocketReadLimit.
	WebSocketReadLimit int64
	// Authenticate receives the connection_init payload of a WebSocket
	// ("authorization", "apiKey", ...) and returns the context the socket's
	// operations run with, or an error that refuses the connection (close
	// code 4403 for FORBIDDEN, 4401 otherwise). nil admits every caller
	// anonymously.
	Authenticate func(ctx context.Context, payload map[string]any) (context.Context, error)

	// MaxSubscriptionsPerConnection caps the operations running at once on
	// one WebSocket; one more is refused with an error message coded
	// RATE_LIMITED. 0 means DefaultMaxSubscriptionsPerConnection, a
	// negative value no limit.
	MaxSubscriptionsPerConnection int
	// MaxConnectionsPerCaller caps the WebSockets and event streams one
	// caller (its account, or its address when anonymous) holds open; one
	// more is closed with 1013 (WebSocket) or answered 429 (SSE). 0 means
	// DefaultMaxConnectionsPerCaller, a negative value no limit.
	MaxConnectionsPerCaller int
	// StreamWriteTimeout is how long one message to a WebSocket or event
	// stream may take to leave; a client that does not read for that long
	// is disconnected (1008) and logged. 0 means DefaultStreamWriteTimeout.
	StreamWriteTimeout time.Duration
	// StreamReauthInterval is how often a WebSocket's or event stream's
	// credentials are checked again while it is open, so that revoking a
	// key ends its streams too (4401). 0 means DefaultStreamReauthInterval,
	// a negative value never.
	StreamReauthInterval time.Duration
	// Ticks, when set, serves the priceTicks subscriptions of WebSockets
	// that it can (see TickHub) without executing them per tick: the
	// same messages, byte for byte, for a fraction of the CPU and memory.
	// nil executes every subscription with gqlgen.
	Ticks TickHub
	// ClientIP returns a request's client address when the server is
	// behind trusted proxies; nil uses the peer's address. Streams of
	// anonymous callers are counted per address.
	ClientIP func(*http.Request) string

	// Auth identifies callers from their Authorization or X-API-Key
	// header and, on a WebSocket, from the connection_init payload (when
	// Authenticate is nil). Bad credentials are refused with 401
	// UNAUTHENTICATED; no credentials means an anonymous caller. nil: every
	// caller is anonymous.
	Auth Authenticator
	// RateLimit is HTTP middleware limiting requests per caller, run
	// after Auth so it can key on the account (ratelimit.Limiter.Handler).
	// A WebSocket counts as one request. nil: no limit.
	RateLimit func(http.Handler) http.Handler
	// Costs is the per-caller budget of query cost per minute: each
	// operation spends its cost (see costBudget). nil: no budget.
	Costs *ratelimit.Costs
	// AnonymousScopes are the scopes of callers without credentials: read
	// and subscribe in dev mode or with -anonymous-read, none otherwise.
	// When both Auth and AnonymousScopes are nil, access control is off and
	// anonymous callers hold every scope (tests and embedding).
	AnonymousScopes []auth.Scope
	// CORSAllowCredentials lets browsers send cookies cross-origin to the
	// AllowedOrigins. Off by default: callers authenticate with headers.
	CORSAllowCredentials bool

	// APQCache holds the documents of automatic persisted queries, by the
	// SHA-256 of their text: persisted.Redis to share them between
	// replicas. nil means an in-process LRU of DefaultAPQCacheSize
	// documents. DisableAPQ turns automatic persisted queries off: a hash
	// alone is then refused with PERSISTED_QUERY_NOT_SUPPORTED.
	APQCache   graphql.Cache[string]
	DisableAPQ bool
	// TrustedDocuments are documents clients may name by id (documentId,
	// or extensions.persistedQuery.sha256Hash) instead of sending them:
	// persisted.LoadManifest reads them from Apollo's or Relay's manifest.
	// With PersistedOnly they are the only documents that run, on every
	// transport: a free-form query or an unlisted id is refused with
	// PERSISTED_QUERY_REQUIRED, and APQ is off. PersistedOnly without
	// TrustedDocuments panics. See persistedDocuments.
	TrustedDocuments map[string]string
	PersistedOnly    bool
}

// Handler serves every endpoint; see New.
type Handler struct {
	http.Handler
	streams *streams
}

// Shutdown ends the long-lived streams that http.Server.Shutdown does not
// see (WebSockets are hijacked connections; event streams never go idle):
// new ones are refused with SHUTTING_DOWN, each running operation receives
// complete, and sockets close with 1001. It returns when all have ended or
// ctx is done. Call it before http.Server.Shutdown.
func (h *Handler) Shutdown(ctx context.Context) error { return h.streams.shutdown(ctx) }

// OpenStreams returns how many WebSockets and event streams are open.
func (h *Handler) OpenStreams() int { return h.streams.count() }

// New returns the HTTP handler for every endpoint: /graphql, /playground
// (when enabled), /healthz and /readyz. Requests pass, in order, through
// request id, access log, panic recovery and body limit middleware.
func New(cfg Config) *Handler {
	if cfg.Schema == nil {
		panic("server.New: Config.Schema is nil")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.BodyLimit <= 0 {
		cfg.BodyLimit = DefaultBodyLimit
	}
	if cfg.QueryCacheSize == 0 {
		cfg.QueryCacheSize = DefaultQueryCacheSize
	}
	if cfg.ComplexityLimit == 0 {
		cfg.ComplexityLimit = DefaultComplexityLimit
	}
	if cfg.MaxDepth == 0 {
		cfg.MaxDepth = DefaultMaxDepth
	}
	cfg.setInputLimitDefaults()
	if cfg.OperationTimeout == 0 {
		cfg.OperationTimeout = DefaultOperationTimeout
	}
	if cfg.WebSocketKeepAlive <= 0 {
		cfg.WebSocketKeepAlive = DefaultWebSocketKeepAlive
	}
	if cfg.WebSocketInitTimeout <= 0 {
		cfg.WebSocketInitTimeout = DefaultWebSocketInitTimeout
	}
	if cfg.WebSocketReadLimit <= 0 {
		cfg.WebSocketReadLimit = DefaultWebSocketReadLimit
	}
	if cfg.MaxSubscriptionsPerConnection == 0 {
		cfg.MaxSubscriptionsPerConnection = DefaultMaxSubscriptionsPerConnection
	}
	if cfg.MaxConnectionsPerCaller == 0 {
		cfg.MaxConnectionsPerCaller = DefaultMaxConnectionsPerCaller
	}
	if cfg.StreamWriteTimeout <= 0 {
		cfg.StreamWriteTimeout = DefaultStreamWriteTimeout
	}
	if cfg.StreamReauthInterval == 0 {
		cfg.StreamReauthInterval = DefaultStreamReauthInterval
	}
	streams := newStreams(cfg.MaxConnectionsPerCaller)
	if cfg.Authenticate == nil && cfg.Auth != nil {
		cfg.Authenticate = initAuthenticator(cfg.Auth, cfg.Logger)
	}
	log := cfg.Logger

	r := chi.NewRouter()
	r.Use(
		middleware.RequestID,
		echoRequestID,
		accessLog(log),
		recoverPanics(log),
		limitBody(cfg.BodyLimit),
	)
	r.MethodNotAllowed(methodNotAllowed(r))
	r.Use(corsHandler(&cfg))
	var gql http.Handler = graphqlMethods(checkOrigin(&cfg, newGraphQL(&cfg, streams)))
	if cfg.RateLimit != nil {
		gql = cfg.RateLimit(gql)
	}
	if cfg.Auth != nil {
		gql = authenticate(cfg.Auth, log)(gql)
	}
	r.Handle(GraphQLPath, gql)
	if cfg.Playground {
		r.Method(http.MethodGet, "/playground", playgroundHandler(GraphQLPath))
		r.Method(http.MethodGet, ideAssetPath+"*", ideAssetHandler())
	}
	r.Get("/healthz", healthz)
	r.Head("/healthz", healthz)
	r.Get("/readyz", readyz(cfg.Ready, cfg.Components, log))
	r.Head("/readyz", readyz(cfg.Ready, cfg.Components, log))
	return &Handler{Handler: r, streams: streams}
}

// newGraphQL builds the gqlgen handler with this package's transports,
// presenter, recover function, validation rules and extensions. Limits that
// are not positive are off (New has replaced zero values with defaults).
func newGraphQL(cfg *Config, streams *streams) *handler.Server {
	var cache graphql.Cache[*ast.QueryDocument] = graphql.NoCache[*ast.QueryDocument]{}
	if cfg.QueryCacheSize > 0 {
		cache = lru.New[*ast.QueryDocument](cfg.QueryCacheSize)
	}
	shared := &httpTransport{
		cache:   cache,
		present: ErrorPresenter(cfg.Logger),
		recover: Recover(cfg.Logger),
	}

	srv := handler.New(cfg.Schema)
	// gqlgen picks the first transport that supports a request: upgrades
	// and requests for event streams must be taken before GET and POST see
	// them.
	srv.AddTransport(&webSocket{cfg: cfg, streams: streams, present: shared.present, recover: shared.recover})
	srv.AddTransport(&serverSentEvents{cfg: cfg, streams: streams, present: shared.present, recover: shared.recover})
	srv.AddTransport(getTransport{shared})
	srv.AddTransport(postTransport{shared})
	srv.SetQueryCache(cache)
	srv.SetErrorPresenter(shared.present)
	srv.SetRecoverFunc(shared.recover)
	srv.SetValidationRulesFn(validationRules)
	srv.Use(newPersistedDocuments(cfg)) // resolves document ids before anything parses
	shared.limits = useInputLimits(srv, cfg, cache)

	// Operation context mutators run in this order, after validation and
	// variable coercion, before execution: what is wrong with the input
	// first, then what the server will not do.
	// Who may ask comes before anything about what is asked.
	anonymous := cfg.AnonymousScopes
	if cfg.Auth == nil && anonymous == nil {
		anonymous = auth.AllScopes
	}
	srv.Use(scopeGuard{anonymous: anonymous, log: cfg.Logger})
	srv.Use(variableCheck{schema: cfg.Schema.Schema()})
	if cfg.Introspection {
		srv.Use(extension.Introspection{})
	} else {
		srv.Use(introspectionGuard{})
	}
	srv.Use(costLimit{es: cfg.Schema, limit: cfg.ComplexityLimit}) // computes the cost even when off

	// Operation middleware: the first is outermost, so the operation's
	// context, and the loaders made from it, carry the deadline.
	if cfg.OperationTimeout > 0 {
		srv.AroundOperations(timeLimit(cfg.OperationTimeout))
	}
	if cfg.Costs != nil {
		srv.AroundOperations(costBudget(cfg.Costs, cfg.Logger))
	}
	if opCtx := cfg.OperationContext; opCtx != nil {
		srv.AroundOperations(func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
			return next(opCtx(ctx))
		})
	}
	return srv
}

// graphqlMethods lets GET and POST through to GraphQL and answers any other
// method 405 with an Allow header (RFC 9110 §15.5.6). Spec "Request": a
// server MUST accept POST and MAY accept GET. HEAD is refused too: it would
// run resolvers, and call the market-data provider, for a response nobody
// reads, and no GraphQL client sends it.
func graphqlMethods(gql http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodPost:
			gql.ServeHTTP(w, r)
		default:
			writeMethodNotAllowed(w, r, graphqlAllow)
		}
	})
}

// graphqlAllow is the Allow header of /graphql.
const graphqlAllow = "GET, POST"

// methodNotAllowed answers the requests chi's router refuses for their
// method: a known path with a method it has no route for, and any path with
// a method chi does not know at all (PROPFIND, say), for which chi's own
// handler sends no Allow header. The Allow header lists the methods router
// routes for the path; a path with none is not found.
func methodNotAllowed(router *chi.Mux) http.HandlerFunc {
	methods := []string{
		http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace,
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == GraphQLPath {
			writeMethodNotAllowed(w, r, graphqlAllow)
			return
		}
		var allowed []string
		for _, m := range methods {
			if router.Match(chi.NewRouteContext(), m, r.URL.Path) {
				allowed = append(allowed, m)
			}
		}
		if len(allowed) == 0 {
			router.NotFoundHandler().ServeHTTP(w, r) // no such path at all
			return
		}
		writeMethodNotAllowed(w, r, strings.Join(allowed, ", "))
	}
}

func writeMethodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	writeRequestError(w, errorMedia(r), &requestError{
		status:  http.StatusMethodNotAllowed,
		code:    codeMethodNotAllowed,
		message: "method " + r.Method + " is not allowed here: use " + allow,
		allow:   allow,
	})
}
