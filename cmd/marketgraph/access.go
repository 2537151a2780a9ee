package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/auth"
	"github.com/marketgraph/marketgraph/ratelimit"
	"github.com/marketgraph/marketgraph/server"
)

// accessConfig is serve's access control: who the caller is, what anonymous
// callers may do, and how much anyone may ask for.
type accessConfig struct {
	AnonymousRead optionalBool // -anonymous-read, MARKETGRAPH_ANONYMOUS_READ (default: dev mode)
	Introspection optionalBool // -introspection, MARKETGRAPH_INTROSPECTION (default: dev mode)
	Playground    optionalBool // -playground, MARKETGRAPH_PLAYGROUND (default: dev mode)

	JWTSecret       string // MARKETGRAPH_JWT_SECRET (environment only: a secret)
	JWKSURL         string // -jwt-jwks-url, MARKETGRAPH_JWT_JWKS_URL
	JWTIssuer       string // -jwt-issuer, MARKETGRAPH_JWT_ISSUER
	JWTAudience     string // -jwt-audience, MARKETGRAPH_JWT_AUDIENCE
	JWTAccountClaim string // -jwt-account-claim, MARKETGRAPH_JWT_ACCOUNT_CLAIM
	JWTScopesClaim  string // -jwt-scopes-claim, MARKETGRAPH_JWT_SCOPES_CLAIM

	KeyCacheTTL time.Duration // -apikey-cache-ttl, MARKETGRAPH_APIKEY_CACHE_TTL

	RateAnonymous     int    // -rate-anonymous, MARKETGRAPH_RATE_ANONYMOUS
	RateAuthenticated int    // -rate-authenticated, MARKETGRAPH_RATE_AUTHENTICATED
	CostAnonymous     int    // -cost-anonymous, MARKETGRAPH_COST_ANONYMOUS
	CostAuthenticated int    // -cost-authenticated, MARKETGRAPH_COST_AUTHENTICATED
	FailOpen          bool   // -ratelimit-fail-open, MARKETGRAPH_RATELIMIT_FAIL_OPEN
	TrustedProxies    string // -trusted-proxies, MARKETGRAPH_TRUSTED_PROXIES
	ClientIPHeader    string // -client-ip-header, MARKETGRAPH_CLIENT_IP_HEADER
	CORSCredentials   bool   // -cors-credentials, MARKETGRAPH_CORS_CREDENTIALS

	trusted []netip.Prefix
}

// optionalBool is a boolean flag whose default is decided after parsing
// (dev mode is known only once -database-url is).
type optionalBool struct {
	set, value bool
}

func (b *optionalBool) String() string {
	if b == nil || !b.set {
		return "(dev mode)"
	}
	return strconv.FormatBool(b.value)
}

func (b *optionalBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return errors.New("want true or false")
	}
	b.set, b.value = true, v
	return nil
}

func (b *optionalBool) IsBoolFlag() bool { return true }

// or returns the value when it was set, def otherwise.
func (b optionalBool) or(def bool) bool {
	if b.set {
		return b.value
	}
	return def
}

// envOptionalBool reads an optionalBool's environment variable.
func (e *envReader) optionalBool(name string) optionalBool {
	v := e.str(name, "")
	if v == "" {
		return optionalBool{}
	}
	var b optionalBool
	if err := b.Set(v); err != nil {
		e.fail(name, v, "true or false")
	}
	return b
}

// Defaults of the access settings.
const (
	defaultKeyCacheTTL = auth.DefaultCacheTTL
)

// flags registers serve's access flags on fs over the environment.
func (a *accessConfig) flags(fs *flag.FlagSet, e *envReader) {
	a.AnonymousRead = e.optionalBool("MARKETGRAPH_ANONYMOUS_READ")
	fs.Var(&a.AnonymousRead, "anonymous-read", "let callers without credentials read and subscribe; default: on in dev mode only (MARKETGRAPH_ANONYMOUS_READ)")
	a.Introspection = e.optionalBool("MARKETGRAPH_INTROSPECTION")
	fs.Var(&a.Introspection, "introspection", "answer __schema and __type queries; default: on in dev mode only (MARKETGRAPH_INTROSPECTION)")
	a.Playground = e.optionalBool("MARKETGRAPH_PLAYGROUND")
	fs.Var(&a.Playground, "playground", "serve the GraphQL IDE at /playground; default: on in dev mode only (MARKETGRAPH_PLAYGROUND)")

	// The secret is read from the environment only: a flag would show it
	// in the process list.
	a.JWTSecret = e.str("MARKETGRAPH_JWT_SECRET", "")
	fs.StringVar(&a.JWKSURL, "jwt-jwks-url", e.str("MARKETGRAPH_JWT_JWKS_URL", ""), "JWKS URL of the identity provider: accept RS256/ES256 bearer tokens it signs (MARKETGRAPH_JWT_JWKS_URL; MARKETGRAPH_JWT_SECRET instead accepts HS256)")
	fs.StringVar(&a.JWTIssuer, "jwt-issuer", e.str("MARKETGRAPH_JWT_ISSUER", ""), "required iss of bearer tokens (MARKETGRAPH_JWT_ISSUER)")
	fs.StringVar(&a.JWTAudience, "jwt-audience", e.str("MARKETGRAPH_JWT_AUDIENCE", ""), "required aud of bearer tokens (MARKETGRAPH_JWT_AUDIENCE)")
	fs.StringVar(&a.JWTAccountClaim, "jwt-account-claim", e.str("MARKETGRAPH_JWT_ACCOUNT_CLAIM", "sub"), "token claim holding the account id (MARKETGRAPH_JWT_ACCOUNT_CLAIM)")
	fs.StringVar(&a.JWTScopesClaim, "jwt-scopes-claim", e.str("MARKETGRAPH_JWT_SCOPES_CLAIM", "scope"), "token claim holding the scopes, space-separated or a list (MARKETGRAPH_JWT_SCOPES_CLAIM)")

	fs.DurationVar(&a.KeyCacheTTL, "apikey-cache-ttl", e.duration("MARKETGRAPH_APIKEY_CACHE_TTL", defaultKeyCacheTTL), "how long a looked-up API key is trusted; also how long a revocation takes to reach every replica (MARKETGRAPH_APIKEY_CACHE_TTL)")

	fs.IntVar(&a.RateAnonymous, "rate-anonymous", e.int("MARKETGRAPH_RATE_ANONYMOUS", 0), fmt.Sprintf("requests per minute per anonymous client address; 0: %d, or %d in dev mode (MARKETGRAPH_RATE_ANONYMOUS)", ratelimit.DefaultAnonymousPerMinute, ratelimit.DefaultAuthenticatedPerMinute))
	fs.IntVar(&a.RateAuthenticated, "rate-authenticated", e.int("MARKETGRAPH_RATE_AUTHENTICATED", ratelimit.DefaultAuthenticatedPerMinute), "requests per minute per account, unless its API key sets its own (MARKETGRAPH_RATE_AUTHENTICATED)")
	fs.IntVar(&a.CostAnonymous, "cost-anonymous", e.int("MARKETGRAPH_COST_ANONYMOUS", 0), fmt.Sprintf("query-cost points per minute per anonymous client address; 0: %d, or %d in dev mode (MARKETGRAPH_COST_ANONYMOUS)", ratelimit.DefaultAnonymousCostPerMinute, ratelimit.DefaultAuthenticatedCostPerMinute))
	fs.IntVar(&a.CostAuthenticated, "cost-authenticated", e.int("MARKETGRAPH_COST_AUTHENTICATED", ratelimit.DefaultAuthenticatedCostPerMinute), "query-cost points per minute per account, unless its API key sets its own (MARKETGRAPH_COST_AUTHENTICATED)")
	fs.BoolVar(&a.FailOpen, "ratelimit-fail-open", e.bool("MARKETGRAPH_RATELIMIT_FAIL_OPEN", true), "while Redis is unreachable, let requests through unlimited (true) or refuse them with 503 (false) (MARKETGRAPH_RATELIMIT_FAIL_OPEN)")
	fs.StringVar(&a.TrustedProxies, "trusted-proxies", e.str("MARKETGRAPH_TRUSTED_PROXIES", ""), "comma-separated addresses or CIDRs of proxies whose X-Forwarded-For is believed; empty: the peer address is the client (MARKETGRAPH_TRUSTED_PROXIES)")
	fs.StringVar(&a.ClientIPHeader, "client-ip-header", e.str("MARKETGRAPH_CLIENT_IP_HEADER", ""), "header a trusted proxy puts the client address in (X-Real-IP); empty: X-Forwarded-For (MARKETGRAPH_CLIENT_IP_HEADER)")
	fs.BoolVar(&a.CORSCredentials, "cors-credentials", e.bool("MARKETGRAPH_CORS_CREDENTIALS", false), "let browsers send cookies to /graphql from -allowed-origins (MARKETGRAPH_CORS_CREDENTIALS)")
}

// validate checks the access settings once parsed.
func (a *accessConfig) validate() error {
	var err error
	if a.trusted, err = ratelimit.ParseTrustedProxies(a.TrustedProxies); err != nil {
		return fmt.Errorf("-trusted-proxies / MARKETGRAPH_TRUSTED_PROXIES: %w", err)
	}
	jwt := a.JWTSecret != "" || a.JWKSURL != ""
	switch {
	case a.ClientIPHeader != "" && len(a.trusted) == 0:
		return errors.New("-client-ip-header needs -trusted-proxies: the header is believed only from a trusted proxy")
	case a.JWTSecret != "" && a.JWKSURL != "":
		return errors.New("set MARKETGRAPH_JWT_SECRET or -jwt-jwks-url, not both")
	case jwt && (a.JWTIssuer == "" || a.JWTAudience == ""):
		return errors.New("accepting bearer tokens needs -jwt-issuer and -jwt-audience")
	case !jwt && (a.JWTIssuer != "" || a.JWTAudience != ""):
		return errors.New("-jwt-issuer and -jwt-audience need MARKETGRAPH_JWT_SECRET or -jwt-jwks-url")
	case a.KeyCacheTTL <= 0 || a.KeyCacheTTL > time.Minute:
		return fmt.Errorf("-apikey-cache-ttl / MARKETGRAPH_APIKEY_CACHE_TTL: must be between 0 and 1m, got %s", a.KeyCacheTTL)
	case a.RateAnonymous < 0 || a.RateAuthenticated < 0 || a.CostAnonymous < 0 || a.CostAuthenticated < 0:
		return errors.New("-rate-anonymous, -rate-authenticated, -cost-anonymous and -cost-authenticated must not be negative")
	}
	return nil
}

// access is what serve builds from accessConfig.
type access struct {
	auth      *auth.Authenticator
	limiter   *ratelimit.Limiter
	costs     *ratelimit.Costs
	anonymous []auth.Scope
	// health reports the shared counters' Redis; nil without Redis.
	health server.Component
	close  func()
}

// buildAccess makes the authenticator, the request limiter and the cost
// budgets; with REDIS_URL the counters and budgets are shared by replicas.
func buildAccess(ctx context.Context, cfg *config, store marketgraph.Store, log *slog.Logger) (*access, error) {
	a := cfg.Access
	out := &access{close: func() {}}
	var closers []func()
	out.close = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	keys := auth.NewAPIKeyAuthenticator(auth.APIKeyConfig{Store: store, Log: log, CacheTTL: a.KeyCacheTTL})
	closers = append(closers, func() { _ = keys.Close() })
	out.auth = &auth.Authenticator{Keys: keys, Log: log}
	if a.JWTSecret != "" || a.JWKSURL != "" {
		v, err := auth.NewJWTVerifier(ctx, auth.JWTConfig{
			HS256Secret:  []byte(a.JWTSecret),
			JWKSURL:      a.JWKSURL,
			Issuer:       a.JWTIssuer,
			Audience:     a.JWTAudience,
			AccountClaim: a.JWTAccountClaim,
			ScopesClaim:  a.JWTScopesClaim,
			Logger:       log,
		})
		if err != nil {
			out.close()
			return nil, fmt.Errorf("bearer tokens: %w", err)
		}
		closers = append(closers, func() { _ = v.Close() })
		out.auth.JWT = v
	}
	if a.AnonymousRead.or(cfg.Dev) {
		out.anonymous = []auth.Scope{auth.ScopeRead, auth.ScopeSubscribe}
	} else {
		out.anonymous = []auth.Scope{}
	}

	// Dev mode has no paying callers to protect from anonymous ones: its
	// anonymous defaults are the authenticated ones, so that the
	// playground is not throttled after a few dozen queries.
	rateAnon, costAnon := a.RateAnonymous, a.CostAnonymous
	if rateAnon == 0 && cfg.Dev {
		rateAnon = ratelimit.DefaultAuthenticatedPerMinute
	}
	if costAnon == 0 && cfg.Dev {
		costAnon = ratelimit.DefaultAuthenticatedCostPerMinute
	}
	rcfg := ratelimit.Config{
		AnonymousPerMinute:     rateAnon,
		AuthenticatedPerMinute: a.RateAuthenticated,
		TrustedProxies:         a.trusted,
		ClientIPHeader:         a.ClientIPHeader,
	}
	var budget ratelimit.Budget = ratelimit.NewMemoryBudget(ratelimit.BudgetOptions{})
	if cfg.RedisURL != "" {
		r, err := ratelimit.NewRedis(ctx, ratelimit.RedisConfig{URL: cfg.RedisURL, Prefix: cfg.RedisPrefix + "ratelimit:", FailOpen: a.FailOpen, Logger: log})
		if err != nil {
			out.close()
			return nil, err
		}
		closers = append(closers, func() { _ = r.Close() })
		rcfg.Redis = r
		budget = r.Budget(ratelimit.BudgetOptions{})
		out.health = r.Health
	}
	lim, err := ratelimit.New(rcfg)
	if err != nil {
		out.close()
		return nil, err
	}
	out.limiter = lim
	out.costs = &ratelimit.Costs{Budget: budget, Anonymous: costAnon, Authenticated: a.CostAuthenticated}
	return out, nil
}

// serverConfig sets the access fields of a server configuration.
func (x *access) serverConfig(cfg *config, sc *server.Config) {
	sc.Auth = x.auth
	sc.AnonymousScopes = x.anonymous
	sc.RateLimit = x.limiter.Handler
	sc.Costs = x.costs
	sc.ClientIP = func(r *http.Request) string {
		a := ratelimit.ClientAddr(r.Context())
		if !a.IsValid() {
			return ""
		}
		return a.String()
	}
	if x.health != nil {
		if sc.Components == nil {
			sc.Components = map[string]server.Component{}
		}
		sc.Components["ratelimit"] = x.health
	}
	sc.CORSAllowCredentials = cfg.Access.CORSCredentials
	sc.Introspection = cfg.Access.Introspection.or(cfg.Dev)
	sc.Playground = cfg.Access.Playground.or(cfg.Dev)
}
