package auth

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	"github.com/marketgraph/marketgraph"
)

// Limits and defaults of JWT verification.
const (
	// MaxTokenBytes is the longest bearer token Verify parses; longer ones
	// are refused unread.
	MaxTokenBytes = 8 << 10
	// MinHS256SecretBytes is the shortest HS256 secret NewJWTVerifier
	// accepts: 256 bits, the size of the HMAC-SHA256 output (RFC 7518 §3.2).
	MinHS256SecretBytes = 32
	// MaxLeeway is the largest clock skew JWTConfig.Leeway may allow.
	MaxLeeway = 5 * time.Minute
	// maxAccountBytes bounds the account claim: it becomes a rate-limit key.
	maxAccountBytes = 256
	// maxJWKSBytes bounds a JWKS response body.
	maxJWKSBytes = 1 << 20
)

// JWTConfig configures a JWTVerifier. Set exactly one of HS256Secret and
// JWKSURL; Issuer and Audience are required, so a token minted for another
// service by the same identity provider is never accepted here.
type JWTConfig struct {
	// HS256Secret verifies HS256 tokens; at least MinHS256SecretBytes long.
	// Only HS256 is accepted with it.
	HS256Secret []byte
	// JWKSURL is where the identity provider publishes its signing keys
	// (https, or http to a loopback address). Only RS256 and ES256 are
	// accepted with it.
	JWKSURL string
	// Issuer must equal the token's iss claim exactly (mind a trailing
	// slash).
	Issuer string
	// Audience must be the token's aud claim, or one of its elements.
	Audience string
	// AccountClaim names the claim holding the account id; default "sub".
	AccountClaim string
	// ScopesClaim names the claim holding the scopes; default "scope". It
	// may be a space-separated string (OAuth, RFC 8693) or a JSON array of
	// strings ("scp", "permissions" styles).
	ScopesClaim string
	// Leeway is the clock skew allowed on exp and nbf; 0 means 30s, and it
	// may not exceed MaxLeeway.
	Leeway time.Duration
	// HTTPClient fetches the JWKS; nil means http.DefaultClient.
	HTTPClient *http.Client
	// HTTPTimeout bounds one JWKS fetch; default 10s.
	HTTPTimeout time.Duration
	// RefreshInterval is how often the JWKS is fetched in the background;
	// default 1h.
	RefreshInterval time.Duration
	// RefreshUnknownKIDInterval is the least time between two fetches
	// caused by tokens naming a key id the cache lacks; default 1m. It
	// bounds what a flood of forged kids can cost the identity provider.
	RefreshUnknownKIDInterval time.Duration
	// Logger receives JWKS fetch failures; nil discards them.
	Logger *slog.Logger
	// Now is the clock, for tests; nil means time.Now.
	Now func() time.Time
}

// JWTVerifier checks JWT bearer tokens and turns them into Principals. It is
// safe for concurrent use.
//
// With a JWKS URL the keys are cached. The first fetch happens in
// NewJWTVerifier, but its failure does not fail start-up: the identity
// provider being down must not keep API-key callers out. Until a fetch
// succeeds, tokens are refused with UPSTREAM_UNAVAILABLE. The cache is
// refreshed every RefreshInterval, and when a token names an unknown kid (at
// most once per RefreshUnknownKIDInterval, never blocking on that limit;
// concurrent callers share one fetch). A key the provider no longer serves
// stops verifying at the next successful fetch.
type JWTVerifier struct {
	parser       *jwt.Parser
	secret       []byte
	accountClaim string
	scopesClaim  string
	now          func() time.Time
	log          *slog.Logger

	// JWKS mode only.
	jwksURL     string
	client      *http.Client
	httpTimeout time.Duration
	cache       jwkset.Storage
	keys        keyfunc.Keyfunc
	unknownKID  *rate.Limiter
	ctx         context.Context
	cancel      context.CancelFunc
	wg          sync.WaitGroup

	mu       sync.Mutex
	inflight chan struct{} // closed when the running fetch ends
	fetchErr error         // result of the last fetch
	closed   bool
}

// NewJWTVerifier checks cfg and returns a verifier. With a JWKS URL it
// fetches the keys once (bounded by HTTPTimeout; a failure is logged, not
// returned) and refreshes them until ctx ends or Close is called.
func NewJWTVerifier(ctx context.Context, cfg JWTConfig) (*JWTVerifier, error) {
	if err := checkJWTConfig(&cfg); err != nil {
		return nil, err
	}
	v := &JWTVerifier{
		accountClaim: cfg.AccountClaim,
		scopesClaim:  cfg.ScopesClaim,
		now:          cfg.Now,
		log:          cfg.Logger,
	}
	methods := []string{jwt.SigningMethodHS256.Alg()}
	if cfg.JWKSURL != "" {
		methods = []string{jwt.SigningMethodRS256.Alg(), jwt.SigningMethodES256.Alg()}
	} else {
		v.secret = append([]byte(nil), cfg.HS256Secret...)
	}
	v.parser = jwt.NewParser(
		jwt.WithValidMethods(methods),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithTimeFunc(cfg.Now),
		jwt.WithStrictDecoding(),
	)
	if cfg.JWKSURL == "" {
		return v, nil
	}

	v.jwksURL = cfg.JWKSURL
	v.client = limitedClient(cfg.HTTPClient)
	v.httpTimeout = cfg.HTTPTimeout
	v.cache = jwkset.NewMemoryStorage()
	// keyfunc reads keys from the cache; fetching is driven here rather than
	// by keyfunc.NewDefaultOverrideCtx, whose unknown-kid refresh makes a
	// request wait for its rate limiter (up to a minute) and reports a failed
	// fetch only as "key not found".
	keys, err := keyfunc.New(keyfunc.Options{
		Ctx:          ctx,
		Storage:      v.cache,
		UseWhitelist: []jwkset.USE{jwkset.UseSig, ""},
	})
	if err != nil {
		return nil, fmt.Errorf("jwt: %w", err)
	}
	v.keys = keys
	v.unknownKID = rate.NewLimiter(rate.Every(cfg.RefreshUnknownKIDInterval), 1)
	v.ctx, v.cancel = context.WithCancel(ctx)

	v.mu.Lock()
	first := v.startFetchLocked()
	v.mu.Unlock()
	<-first
	v.wg.Add(1)
	go v.refreshLoop(cfg.RefreshInterval)
	return v, nil
}

func checkJWTConfig(cfg *JWTConfig) error {
	switch {
	case len(cfg.HS256Secret) > 0 && cfg.JWKSURL != "":
		return errors.New("jwt: set either an HS256 secret or a JWKS URL, not both")
	case len(cfg.HS256Secret) == 0 && cfg.JWKSURL == "":
		return errors.New("jwt: set an HS256 secret or a JWKS URL")
	case cfg.JWKSURL == "" && len(cfg.HS256Secret) < MinHS256SecretBytes:
		return fmt.Errorf("jwt: the HS256 secret is %d bytes; it must be at least %d", len(cfg.HS256Secret), MinHS256SecretBytes)
	case cfg.Issuer == "":
		return errors.New("jwt: an issuer is required")
	case cfg.Audience == "":
		return errors.New("jwt: an audience is required")
	case cfg.Leeway < 0 || cfg.Leeway > MaxLeeway:
		return fmt.Errorf("jwt: leeway %v is outside 0..%v", cfg.Leeway, MaxLeeway)
	}
	if cfg.JWKSURL != "" {
		if err := checkJWKSURL(cfg.JWKSURL); err != nil {
			return err
		}
	}
	cfg.AccountClaim = cmp.Or(cfg.AccountClaim, "sub")
	cfg.ScopesClaim = cmp.Or(cfg.ScopesClaim, "scope")
	cfg.Leeway = cmp.Or(cfg.Leeway, 30*time.Second)
	cfg.HTTPTimeout = cmp.Or(cfg.HTTPTimeout, 10*time.Second)
	cfg.RefreshInterval = cmp.Or(cfg.RefreshInterval, time.Hour)
	cfg.RefreshUnknownKIDInterval = cmp.Or(cfg.RefreshUnknownKIDInterval, time.Minute)
	if cfg.HTTPTimeout < 0 || cfg.RefreshInterval < 0 || cfg.RefreshUnknownKIDInterval < 0 {
		return errors.New("jwt: JWKS timeouts and intervals must be positive")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return nil
}

// checkJWKSURL refuses a JWKS URL whose keys an attacker on the network
// could replace: plain http is allowed only to a loopback address.
func checkJWKSURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return errors.New("jwt: the JWKS URL must be an absolute https URL")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
			return nil
		}
	}
	return fmt.Errorf("jwt: the JWKS URL %s must use https (http only to a loopback address)", u.Redacted())
}

// Close stops the background JWKS refresh and waits for it. Verify keeps
// working afterwards with the keys already cached.
func (v *JWTVerifier) Close() error {
	if v.cancel == nil {
		return nil
	}
	v.mu.Lock()
	v.closed = true
	v.mu.Unlock()
	v.cancel()
	v.wg.Wait()
	return nil
}

// Verify checks token (the bare token, without "Bearer ") and returns the
// caller it identifies. The account comes from the account claim: a
// non-empty string of at most 256 bytes without control characters. Scopes
// the server does not know are ignored; a token without the scope claim
// yields a Principal without scopes, which every scope check then refuses
// with FORBIDDEN.
//
// Errors are UNAUTHENTICATED, with a message safe for the client that never
// quotes the token: "token expired", "token not valid yet", "invalid token
// signature", "unknown token signing key", "token audience not accepted",
// "token issuer not accepted", "token has no expiry", "malformed token",
// "token too large", or one about the account or scope claim. When the
// JWKS cannot be fetched the error is UPSTREAM_UNAVAILABLE ("token signing
// keys unavailable"): the client's token may be fine, so it should retry
// rather than sign in again.
func (v *JWTVerifier) Verify(ctx context.Context, token string) (*Principal, error) {
	if len(token) > MaxTokenBytes {
		return nil, unauthenticated("token too large")
	}
	claims := jwt.MapClaims{}
	keyFunc := v.hs256Key
	if v.cache != nil {
		keyFunc = v.jwksKey(ctx)
	}
	if _, err := v.parser.ParseWithClaims(token, claims, keyFunc); err != nil {
		return nil, classify(err, claims)
	}
	account, err := v.account(claims)
	if err != nil {
		return nil, err
	}
	scopes, err := v.scopes(claims)
	if err != nil {
		return nil, err
	}
	exp, _ := claims.GetExpirationTime() // required and checked by the parser
	return &Principal{AccountID: account, Scopes: scopes, Method: MethodJWT, ExpiresAt: exp.Time}, nil
}

func unauthenticated(msg string) *marketgraph.Error {
	return marketgraph.Errorf(marketgraph.EUNAUTHENTICATED, "%s", msg)
}

var (
	errUnknownKey      = errors.New("unknown signing key")
	errKeysUnavailable = errors.New("signing keys unavailable")
)

// classify turns a parse failure into a client-safe error. The signature is
// checked before any claim, so a claim-based message is only ever given
// about a token the issuer really signed.
func classify(err error, claims jwt.MapClaims) *marketgraph.Error {
	missing := errors.Is(err, jwt.ErrTokenRequiredClaimMissing)
	switch {
	case errors.Is(err, errKeysUnavailable):
		return marketgraph.Errorf(marketgraph.EUPSTREAM, "token signing keys unavailable")
	case errors.Is(err, errUnknownKey):
		return unauthenticated("unknown token signing key")
	case errors.Is(err, jwt.ErrTokenMalformed):
		return unauthenticated("malformed token")
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return unauthenticated("invalid token signature")
	case errors.Is(err, jwt.ErrTokenInvalidIssuer), missing && isAbsent(claims, "iss"):
		return unauthenticated("token issuer not accepted")
	case errors.Is(err, jwt.ErrTokenInvalidAudience), missing && isAbsent(claims, "aud"):
		return unauthenticated("token audience not accepted")
	case errors.Is(err, jwt.ErrInvalidType):
		return unauthenticated("malformed token")
	case errors.Is(err, jwt.ErrTokenExpired):
		return unauthenticated("token expired")
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return unauthenticated("token not valid yet")
	case missing:
		return unauthenticated("token has no expiry")
	}
	return unauthenticated("invalid token")
}

// isAbsent reports whether the string (or string list) claim name is
// missing or empty, as the parser's required-claim check sees it.
func isAbsent(claims jwt.MapClaims, name string) bool {
	switch v := claims[name].(type) {
	case string:
		return v == ""
	case []any:
		return len(v) == 0 || len(v) == 1 && v[0] == ""
	}
	return true
}

func (v *JWTVerifier) hs256Key(*jwt.Token) (any, error) { return v.secret, nil }

// jwksKey finds the token's key in the cache, fetching the JWKS again when
// the key id is unknown (or the cache is empty) and the limit allows.
func (v *JWTVerifier) jwksKey(ctx context.Context) jwt.Keyfunc {
	lookup := v.keys.KeyfuncCtx(ctx)
	return func(t *jwt.Token) (any, error) {
		key, err := lookup(t)
		if !missingKey(key, err) {
			return key, err
		}
		v.refreshUnknownKID(ctx)
		key, err = lookup(t)
		switch {
		case !missingKey(key, err):
			return key, err
		case v.lastFetchErr() != nil:
			return nil, errKeysUnavailable
		}
		return nil, errUnknownKey
	}
}

// missingKey reports whether a cache lookup found no key for the token:
// its kid is not cached, or it has no kid and the cache is empty.
func missingKey(key any, err error) bool {
	if err != nil {
		return errors.Is(err, jwkset.ErrKeyNotFound)
	}
	set, ok := key.(jwt.VerificationKeySet)
	return ok && len(set.Keys) == 0
}

// refreshUnknownKID joins the running fetch, or starts one if the limiter
// allows, and waits for it or for ctx. A denied caller does not wait.
func (v *JWTVerifier) refreshUnknownKID(ctx context.Context) {
	v.mu.Lock()
	done := v.inflight
	if done == nil && !v.closed && v.unknownKID.AllowN(v.now(), 1) {
		done = v.startFetchLocked()
	}
	v.mu.Unlock()
	if done == nil {
		return
	}
	select {
	case <-done:
	case <-ctx.Done():
	}
}

func (v *JWTVerifier) refreshLoop(every time.Duration) {
	defer v.wg.Done()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-v.ctx.Done():
			return
		case <-tick.C:
			v.mu.Lock()
			done := v.inflight
			if done == nil && !v.closed {
				done = v.startFetchLocked()
			}
			v.mu.Unlock()
			if done != nil {
				<-done
			}
		}
	}
}

// startFetchLocked starts fetching the JWKS into the cache and returns a
// channel closed when it ends. v.mu must be held.
func (v *JWTVerifier) startFetchLocked() chan struct{} {
	done := make(chan struct{})
	v.inflight = done
	v.wg.Add(1)
	go func() {
		defer v.wg.Done()
		err := v.fetch()
		v.mu.Lock()
		v.inflight, v.fetchErr = nil, err
		v.mu.Unlock()
		close(done)
	}()
	return done
}

// fetch replaces the cache with the keys served at the JWKS URL; on failure
// the cache keeps its keys.
func (v *JWTVerifier) fetch() error {
	// Without RefreshInterval, NewStorageFromHTTP fetches once, writes into
	// the given storage and starts no goroutine.
	_, err := jwkset.NewStorageFromHTTP(v.jwksURL, jwkset.HTTPClientStorageOptions{
		Client:      v.client,
		Ctx:         v.ctx,
		HTTPTimeout: v.httpTimeout,
		Storage:     v.cache,
	})
	if err != nil {
		u, _ := url.Parse(v.jwksURL)
		v.log.WarnContext(v.ctx, "jwks fetch failed", "url", u.Redacted(), "error", err.Error())
	}
	return err
}

func (v *JWTVerifier) lastFetchErr() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.fetchErr
}

// account returns the account claim if it is a usable account id.
func (v *JWTVerifier) account(claims jwt.MapClaims) (string, error) {
	raw, ok := claims[v.accountClaim]
	if !ok {
		return "", unauthenticated(fmt.Sprintf("token has no %q claim", v.accountClaim))
	}
	s, ok := raw.(string)
	valid := ok && s != "" && len(s) <= maxAccountBytes && utf8.ValidString(s) &&
		strings.IndexFunc(s, unicode.IsControl) < 0
	if !valid {
		return "", unauthenticated(fmt.Sprintf("token %q claim is not a valid account id", v.accountClaim))
	}
	return s, nil
}

// scopes returns the known scopes the scope claim names, in AllScopes
// order, without duplicates.
func (v *JWTVerifier) scopes(claims jwt.MapClaims) ([]Scope, error) {
	var names []string
	switch raw := claims[v.scopesClaim].(type) {
	case nil:
		return nil, nil
	case string:
		names = strings.Fields(raw)
	case []any:
		for _, e := range raw {
			s, ok := e.(string)
			if !ok {
				return nil, unauthenticated(fmt.Sprintf("token %q claim is not a string or a list of strings", v.scopesClaim))
			}
			names = append(names, s)
		}
	default:
		return nil, unauthenticated(fmt.Sprintf("token %q claim is not a string or a list of strings", v.scopesClaim))
	}
	var out []Scope
	for _, s := range AllScopes {
		for _, n := range names {
			if n == string(s) {
				out = append(out, s)
				break
			}
		}
	}
	return out, nil
}

// limitedClient returns a copy of c (or of the default client) whose
// response bodies stop at maxJWKSBytes.
func limitedClient(c *http.Client) *http.Client {
	if c == nil {
		c = http.DefaultClient
	}
	cc := *c
	base := cc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	cc.Transport = limitTransport{base}
	return &cc
}

type limitTransport struct{ base http.RoundTripper }

func (t limitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err == nil {
		resp.Body = limitedBody{io.LimitReader(resp.Body, maxJWKSBytes), resp.Body}
	}
	return resp, err
}

type limitedBody struct {
	io.Reader
	io.Closer
}
