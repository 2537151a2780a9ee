package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/auth"
)

const (
	testIssuer   = "https://id.example.test/"
	testAudience = "marketgraph"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef") // 32 bytes

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// claims returns valid claims at now; edit sets or deletes (nil) some.
func claims(now time.Time, edit map[string]any) jwt.MapClaims {
	c := jwt.MapClaims{
		"iss":   testIssuer,
		"aud":   testAudience,
		"sub":   "acct-42",
		"iat":   now.Unix(),
		"exp":   now.Add(time.Hour).Unix(),
		"scope": "read subscribe",
	}
	for k, v := range edit {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// sign returns c signed with key by method, with kid in the header when
// it is not empty.
func sign(t *testing.T, method jwt.SigningMethod, key any, kid string, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

func newHS256(t *testing.T, clk *clock, edit func(*auth.JWTConfig)) *auth.JWTVerifier {
	t.Helper()
	cfg := auth.JWTConfig{HS256Secret: testSecret, Issuer: testIssuer, Audience: testAudience, Now: clk.Now}
	if edit != nil {
		edit(&cfg)
	}
	v, err := auth.NewJWTVerifier(context.Background(), cfg)
	if err != nil {
		t.Fatalf("NewJWTVerifier: %v", err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// wantErr fails unless err is a marketgraph error with code and message.
func wantErr(t *testing.T, err error, code, msg string) {
	t.Helper()
	if got := marketgraph.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
	if got := marketgraph.ErrorMessage(err); got != msg {
		t.Fatalf("error message = %q, want %q", got, msg)
	}
}

func TestNewJWTVerifier_Config(t *testing.T) {
	ok := auth.JWTConfig{HS256Secret: testSecret, Issuer: testIssuer, Audience: testAudience}
	for _, tc := range []struct {
		name string
		edit func(*auth.JWTConfig)
	}{
		{"NoKey", func(c *auth.JWTConfig) { c.HS256Secret = nil }},
		{"SecretAndJWKS", func(c *auth.JWTConfig) { c.JWKSURL = "https://id.example.test/jwks" }},
		{"ShortSecret", func(c *auth.JWTConfig) { c.HS256Secret = testSecret[:31] }},
		{"NoIssuer", func(c *auth.JWTConfig) { c.Issuer = "" }},
		{"NoAudience", func(c *auth.JWTConfig) { c.Audience = "" }},
		{"LeewayTooLarge", func(c *auth.JWTConfig) { c.Leeway = auth.MaxLeeway + time.Second }},
		{"NegativeLeeway", func(c *auth.JWTConfig) { c.Leeway = -time.Second }},
		{"PlainHTTPJWKS", func(c *auth.JWTConfig) { c.HS256Secret, c.JWKSURL = nil, "http://id.example.test/jwks" }},
		{"RelativeJWKS", func(c *auth.JWTConfig) { c.HS256Secret, c.JWKSURL = nil, "/jwks" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.edit(&cfg)
			if v, err := auth.NewJWTVerifier(context.Background(), cfg); err == nil {
				v.Close()
				t.Fatal("NewJWTVerifier accepted the configuration")
			}
		})
	}
	t.Run("Valid", func(t *testing.T) {
		v, err := auth.NewJWTVerifier(context.Background(), ok)
		if err != nil {
			t.Fatal(err)
		}
		v.Close()
	})
}

func TestJWTVerifier_HS256(t *testing.T) {
	clk := newClock()
	now := clk.Now()
	v := newHS256(t, clk, nil)
	ctx := context.Background()

	t.Run("Valid", func(t *testing.T) {
		p, err := v.Verify(ctx, sign(t, jwt.SigningMethodHS256, testSecret, "", claims(now, nil)))
		if err != nil {
			t.Fatal(err)
		}
		want := auth.Principal{AccountID: "acct-42", Scopes: []auth.Scope{auth.ScopeRead, auth.ScopeSubscribe},
			Method: auth.MethodJWT, ExpiresAt: now.Add(time.Hour)}
		if p.AccountID != want.AccountID || !slices.Equal(p.Scopes, want.Scopes) || p.Method != want.Method ||
			!p.ExpiresAt.Equal(want.ExpiresAt) || p.KeyID != "" {
			t.Fatalf("principal = %+v, want %+v", *p, want)
		}
	})

	const unauth = marketgraph.EUNAUTHENTICATED
	for _, tc := range []struct {
		name string
		edit map[string]any
		msg  string // "" when the token must verify
	}{
		{"Expired", map[string]any{"exp": now.Add(-time.Hour).Unix()}, "token expired"},
		{"ExpiredBeyondLeeway", map[string]any{"exp": now.Add(-31 * time.Second).Unix()}, "token expired"},
		{"ExpiredWithinLeeway", map[string]any{"exp": now.Add(-29 * time.Second).Unix()}, ""},
		{"NotBeforeInFuture", map[string]any{"nbf": now.Add(time.Minute).Unix()}, "token not valid yet"},
		{"NotBeforeWithinLeeway", map[string]any{"nbf": now.Add(29 * time.Second).Unix()}, ""},
		{"NoExpiry", map[string]any{"exp": nil}, "token has no expiry"},
		{"ExpiryNotANumber", map[string]any{"exp": "tomorrow"}, "malformed token"},
		{"WrongIssuer", map[string]any{"iss": "https://evil.example.test/"}, "token issuer not accepted"},
		{"IssuerWithoutSlash", map[string]any{"iss": strings.TrimSuffix(testIssuer, "/")}, "token issuer not accepted"},
		{"NoIssuer", map[string]any{"iss": nil}, "token issuer not accepted"},
		{"WrongAudience", map[string]any{"aud": "another-api"}, "token audience not accepted"},
		{"NoAudience", map[string]any{"aud": nil}, "token audience not accepted"},
		{"AudienceArray", map[string]any{"aud": []string{"another-api", testAudience}}, ""},
		{"AudienceArrayWithoutUs", map[string]any{"aud": []string{"another-api", "third"}}, "token audience not accepted"},
		// Audience and issuer are named before expiry: refreshing a token
		// minted for someone else would not help.
		{"ExpiredAndWrongAudience", map[string]any{"aud": "x", "exp": now.Add(-time.Hour).Unix()}, "token audience not accepted"},
		{"NoAccount", map[string]any{"sub": nil}, `token has no "sub" claim`},
		{"EmptyAccount", map[string]any{"sub": ""}, `token "sub" claim is not a valid account id`},
		{"NumericAccount", map[string]any{"sub": 42}, `token "sub" claim is not a valid account id`},
		{"AccountWithNewline", map[string]any{"sub": "acct\nadmin"}, `token "sub" claim is not a valid account id`},
		{"AccountTooLong", map[string]any{"sub": strings.Repeat("a", 257)}, `token "sub" claim is not a valid account id`},
		{"AccountAtLimit", map[string]any{"sub": strings.Repeat("a", 256)}, ""},
		{"ScopeNotAString", map[string]any{"scope": 7}, `token "scope" claim is not a string or a list of strings`},
		{"ScopeListWithNumber", map[string]any{"scope": []any{"read", 7}}, `token "scope" claim is not a string or a list of strings`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := v.Verify(ctx, sign(t, jwt.SigningMethodHS256, testSecret, "", claims(now, tc.edit)))
			if tc.msg == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if p.AccountID == "" {
					t.Fatal("no account id")
				}
				return
			}
			wantErr(t, err, unauth, tc.msg)
		})
	}

	t.Run("BadSignature", func(t *testing.T) {
		other := []byte("another-secret-another-secret-32")
		_, err := v.Verify(ctx, sign(t, jwt.SigningMethodHS256, other, "", claims(now, nil)))
		wantErr(t, err, unauth, "invalid token signature")
	})
	t.Run("BadSignatureOnExpiredToken", func(t *testing.T) {
		// A forged token learns nothing about which claims would pass.
		other := []byte("another-secret-another-secret-32")
		c := claims(now, map[string]any{"exp": now.Add(-time.Hour).Unix(), "aud": "x"})
		_, err := v.Verify(ctx, sign(t, jwt.SigningMethodHS256, other, "", c))
		wantErr(t, err, unauth, "invalid token signature")
	})
	t.Run("TamperedPayload", func(t *testing.T) {
		good := strings.Split(sign(t, jwt.SigningMethodHS256, testSecret, "", claims(now, nil)), ".")
		admin := strings.Split(sign(t, jwt.SigningMethodHS256, testSecret, "", claims(now, map[string]any{"scope": "admin"})), ".")
		_, err := v.Verify(ctx, good[0]+"."+admin[1]+"."+good[2])
		wantErr(t, err, unauth, "invalid token signature")
	})
	t.Run("AlgNone", func(t *testing.T) {
		tok := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", claims(now, nil))
		_, err := v.Verify(ctx, tok)
		wantErr(t, err, unauth, "invalid token signature")
	})
	t.Run("OtherHMAC", func(t *testing.T) {
		_, err := v.Verify(ctx, sign(t, jwt.SigningMethodHS512, testSecret, "", claims(now, nil)))
		wantErr(t, err, unauth, "invalid token signature")
	})
	t.Run("Oversized", func(t *testing.T) {
		// Validly signed, but refused unread.
		tok := sign(t, jwt.SigningMethodHS256, testSecret, "", claims(now, map[string]any{"pad": strings.Repeat("x", auth.MaxTokenBytes)}))
		_, err := v.Verify(ctx, tok)
		wantErr(t, err, unauth, "token too large")
	})
	for name, tok := range map[string]string{
		"Empty":         "",
		"Word":          "hello",
		"ThreeDots":     "a.b.c",
		"WithScheme":    "Bearer " + sign(t, jwt.SigningMethodHS256, testSecret, "", claims(now, nil)),
		"NotJSON":       "bm90IGpzb24.bm90IGpzb24.c2ln",
		"TwoSegments":   "eyJhbGciOiJIUzI1NiJ9.e30",
		"BinaryGarbage": "\x00\xff.\x01.\x02",
	} {
		t.Run("Garbage"+name, func(t *testing.T) {
			_, err := v.Verify(ctx, tok)
			wantErr(t, err, unauth, "malformed token")
			if strings.Contains(err.Error(), tok) && tok != "" {
				t.Fatalf("error %q quotes the token", err)
			}
		})
	}
}

func TestJWTVerifier_Scopes(t *testing.T) {
	clk := newClock()
	now := clk.Now()
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		claim string // ScopesClaim; "" for the default
		value any    // nil: claim absent
		want  []auth.Scope
	}{
		{"SpaceSeparated", "", "read subscribe", []auth.Scope{auth.ScopeRead, auth.ScopeSubscribe}},
		{"ExtraSpaces", "", "  write\tread ", []auth.Scope{auth.ScopeRead, auth.ScopeWrite}},
		{"Array", "", []string{"write", "read"}, []auth.Scope{auth.ScopeRead, auth.ScopeWrite}},
		{"UnknownIgnored", "", "read openid profile marketgraph:admin ADMIN", []auth.Scope{auth.ScopeRead}},
		{"OnlyUnknown", "", "openid email", nil},
		{"Duplicates", "", []string{"admin", "admin", "read"}, []auth.Scope{auth.ScopeRead, auth.ScopeAdmin}},
		{"Empty", "", "", nil},
		{"Missing", "", nil, nil},
		{"ScpArray", "scp", []string{"subscribe"}, []auth.Scope{auth.ScopeSubscribe}},
		{"PermissionsArray", "permissions", []string{"read", "write"}, []auth.Scope{auth.ScopeRead, auth.ScopeWrite}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newHS256(t, clk, func(c *auth.JWTConfig) { c.ScopesClaim = tc.claim })
			name := tc.claim
			if name == "" {
				name = "scope"
			}
			c := claims(now, map[string]any{"scope": nil})
			if tc.value != nil {
				c[name] = tc.value
			}
			p, err := v.Verify(ctx, sign(t, jwt.SigningMethodHS256, testSecret, "", c))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(p.Scopes, tc.want) {
				t.Fatalf("scopes = %v, want %v", p.Scopes, tc.want)
			}
		})
	}
	t.Run("MissingScopeIsForbiddenNotUnauthenticated", func(t *testing.T) {
		v := newHS256(t, clk, nil)
		p, err := v.Verify(ctx, sign(t, jwt.SigningMethodHS256, testSecret, "", claims(now, map[string]any{"scope": nil})))
		if err != nil {
			t.Fatal(err)
		}
		if p.Has(auth.ScopeRead) || p.Has(auth.ScopeSubscribe) {
			t.Fatalf("a token without scopes carries %v", p.Scopes)
		}
	})
	t.Run("RightScope", func(t *testing.T) {
		v := newHS256(t, clk, nil)
		p, err := v.Verify(ctx, sign(t, jwt.SigningMethodHS256, testSecret, "", claims(now, map[string]any{"scope": "subscribe"})))
		if err != nil {
			t.Fatal(err)
		}
		if !p.Has(auth.ScopeSubscribe) || p.Has(auth.ScopeRead) {
			t.Fatalf("scopes = %v, want subscribe only", p.Scopes)
		}
	})
	t.Run("AccountClaim", func(t *testing.T) {
		v := newHS256(t, clk, func(c *auth.JWTConfig) { c.AccountClaim = "account_id" })
		p, err := v.Verify(ctx, sign(t, jwt.SigningMethodHS256, testSecret, "", claims(now, map[string]any{"account_id": "acct-7"})))
		if err != nil {
			t.Fatal(err)
		}
		if p.AccountID != "acct-7" {
			t.Fatalf("account = %q, want acct-7 (not the sub claim)", p.AccountID)
		}
		_, err = v.Verify(ctx, sign(t, jwt.SigningMethodHS256, testSecret, "", claims(now, nil)))
		wantErr(t, err, marketgraph.EUNAUTHENTICATED, `token has no "account_id" claim`)
	})
	t.Run("Leeway", func(t *testing.T) {
		v := newHS256(t, clk, func(c *auth.JWTConfig) { c.Leeway = 2 * time.Minute })
		c := claims(now, map[string]any{"exp": now.Add(-90 * time.Second).Unix()})
		if _, err := v.Verify(ctx, sign(t, jwt.SigningMethodHS256, testSecret, "", c)); err != nil {
			t.Fatalf("a token 90s past exp with 2m leeway: %v", err)
		}
	})
}

// keys are generated once: RSA generation is slow under -race.
var keys = sync.OnceValues(func() (*rsa.PrivateKey, []*ecdsa.PrivateKey) {
	r, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	var ecs []*ecdsa.PrivateKey
	for range 3 {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		ecs = append(ecs, k)
	}
	return r, ecs
})

// jwksServer serves a JWKS it can rotate and take down, counting requests.
type jwksServer struct {
	*httptest.Server
	mu       sync.Mutex
	body     []byte
	down     bool
	requests atomic.Int64
}

func newJWKSServer(t *testing.T) *jwksServer {
	s := &jwksServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		s.mu.Lock()
		body, down := s.body, s.down
		s.mu.Unlock()
		if down {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s
}

// jwk is a public key with its kid and alg.
type jwk struct {
	kid string
	alg jwkset.ALG
	pub any
}

// serve makes s serve exactly ks.
func (s *jwksServer) serve(t *testing.T, ks ...jwk) {
	t.Helper()
	var set jwkset.JWKSMarshal
	for _, k := range ks {
		j, err := jwkset.NewJWKFromKey(k.pub, jwkset.JWKOptions{
			Metadata: jwkset.JWKMetadataOptions{KID: k.kid, ALG: k.alg, USE: jwkset.UseSig},
		})
		if err != nil {
			t.Fatal(err)
		}
		set.Keys = append(set.Keys, j.Marshal())
	}
	body, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.body = body
	s.mu.Unlock()
}

func (s *jwksServer) setDown(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
}

func newJWKS(t *testing.T, url string, clk *clock, edit func(*auth.JWTConfig)) *auth.JWTVerifier {
	t.Helper()
	cfg := auth.JWTConfig{JWKSURL: url, Issuer: testIssuer, Audience: testAudience, Now: clk.Now}
	if edit != nil {
		edit(&cfg)
	}
	v, err := auth.NewJWTVerifier(context.Background(), cfg)
	if err != nil {
		t.Fatalf("NewJWTVerifier: %v", err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

func TestJWTVerifier_JWKS(t *testing.T) {
	rsaKey, ecKeys := keys()
	rsaJWK := jwk{"rsa-1", jwkset.AlgRS256, &rsaKey.PublicKey}
	ecJWK := jwk{"ec-1", jwkset.AlgES256, &ecKeys[0].PublicKey}
	clk := newClock()
	now := clk.Now()
	ctx := context.Background()
	srv := newJWKSServer(t)
	srv.serve(t, rsaJWK, ecJWK)
	v := newJWKS(t, srv.URL, clk, nil)
	if n := srv.requests.Load(); n != 1 {
		t.Fatalf("NewJWTVerifier made %d JWKS requests, want 1", n)
	}
	const unauth = marketgraph.EUNAUTHENTICATED

	t.Run("RS256", func(t *testing.T) {
		p, err := v.Verify(ctx, sign(t, jwt.SigningMethodRS256, rsaKey, "rsa-1", claims(now, nil)))
		if err != nil {
			t.Fatal(err)
		}
		if p.AccountID != "acct-42" || p.Method != auth.MethodJWT {
			t.Fatalf("principal = %+v", *p)
		}
	})
	t.Run("ES256", func(t *testing.T) {
		if _, err := v.Verify(ctx, sign(t, jwt.SigningMethodES256, ecKeys[0], "ec-1", claims(now, nil))); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("NoKidTriesEveryKey", func(t *testing.T) {
		if _, err := v.Verify(ctx, sign(t, jwt.SigningMethodES256, ecKeys[0], "", claims(now, nil))); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ClaimsCheckedToo", func(t *testing.T) {
		_, err := v.Verify(ctx, sign(t, jwt.SigningMethodRS256, rsaKey, "rsa-1", claims(now, map[string]any{"aud": "other"})))
		wantErr(t, err, unauth, "token audience not accepted")
	})
	t.Run("SignedByAnotherKeyUnderKnownKid", func(t *testing.T) {
		_, err := v.Verify(ctx, sign(t, jwt.SigningMethodES256, ecKeys[1], "ec-1", claims(now, nil)))
		wantErr(t, err, unauth, "invalid token signature")
	})
	t.Run("AlgDisagreesWithKey", func(t *testing.T) {
		// An ES256 token naming the RSA key.
		_, err := v.Verify(ctx, sign(t, jwt.SigningMethodES256, ecKeys[0], "rsa-1", claims(now, nil)))
		wantErr(t, err, unauth, "invalid token signature")
	})
	t.Run("AlgConfusion", func(t *testing.T) {
		// HS256 keyed with the RSA public key, which anyone can download:
		// a verifier that let the token choose its algorithm would accept it.
		der, err := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range [][]byte{pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), der} {
			_, err := v.Verify(ctx, sign(t, jwt.SigningMethodHS256, secret, "rsa-1", claims(now, nil)))
			wantErr(t, err, unauth, "invalid token signature")
		}
	})
	t.Run("AlgNone", func(t *testing.T) {
		_, err := v.Verify(ctx, sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "rsa-1", claims(now, nil)))
		wantErr(t, err, unauth, "invalid token signature")
	})
	t.Run("OtherRSAAlg", func(t *testing.T) {
		_, err := v.Verify(ctx, sign(t, jwt.SigningMethodPS256, rsaKey, "rsa-1", claims(now, nil)))
		wantErr(t, err, unauth, "invalid token signature")
	})
	t.Run("Expired", func(t *testing.T) {
		_, err := v.Verify(ctx, sign(t, jwt.SigningMethodRS256, rsaKey, "rsa-1", claims(now, map[string]any{"exp": now.Add(-time.Minute).Unix()})))
		wantErr(t, err, unauth, "token expired")
	})
	if n := srv.requests.Load(); n != 1 {
		t.Fatalf("known keys caused %d JWKS requests in all, want 1: the cache is not used", n)
	}
}

func TestJWTVerifier_JWKSRotation(t *testing.T) {
	rsaKey, ecKeys := keys()
	oldJWK := jwk{"old", jwkset.AlgRS256, &rsaKey.PublicKey}
	newJWK := jwk{"new", jwkset.AlgES256, &ecKeys[1].PublicKey}
	nextJWK := jwk{"next", jwkset.AlgES256, &ecKeys[2].PublicKey}
	clk := newClock()
	ctx := context.Background()
	srv := newJWKSServer(t)
	srv.serve(t, oldJWK)
	v := newJWKS(t, srv.URL, clk, func(c *auth.JWTConfig) { c.RefreshUnknownKIDInterval = 10 * time.Minute })
	oldTok := sign(t, jwt.SigningMethodRS256, rsaKey, "old", claims(clk.Now(), map[string]any{"exp": clk.Now().Add(24 * time.Hour).Unix()}))
	newTok := func() string {
		return sign(t, jwt.SigningMethodES256, ecKeys[1], "new", claims(clk.Now(), nil))
	}
	if _, err := v.Verify(ctx, oldTok); err != nil {
		t.Fatal(err)
	}

	// The provider rotates: "new" replaces "old".
	srv.serve(t, newJWK)
	t.Run("UnknownKidRefreshes", func(t *testing.T) {
		if _, err := v.Verify(ctx, newTok()); err != nil {
			t.Fatalf("token with the rotated-in key: %v", err)
		}
		if n := srv.requests.Load(); n != 2 {
			t.Fatalf("JWKS requests = %d, want 2 (start-up, then the unknown kid)", n)
		}
	})
	t.Run("RemovedKeyStopsVerifying", func(t *testing.T) {
		_, err := v.Verify(ctx, oldTok)
		wantErr(t, err, marketgraph.EUNAUTHENTICATED, "unknown token signing key")
	})
	t.Run("RefreshesAreRateLimited", func(t *testing.T) {
		srv.serve(t, newJWK, nextJWK)
		before := srv.requests.Load()
		nextTok := sign(t, jwt.SigningMethodES256, ecKeys[2], "next", claims(clk.Now(), nil))
		for range 5 {
			_, err := v.Verify(ctx, nextTok)
			wantErr(t, err, marketgraph.EUNAUTHENTICATED, "unknown token signing key")
			_, err = v.Verify(ctx, sign(t, jwt.SigningMethodES256, ecKeys[2], "forged-kid", claims(clk.Now(), nil)))
			wantErr(t, err, marketgraph.EUNAUTHENTICATED, "unknown token signing key")
		}
		if n := srv.requests.Load() - before; n != 0 {
			t.Fatalf("unknown kids within the interval caused %d JWKS requests, want 0", n)
		}
		clk.Advance(10 * time.Minute)
		if _, err := v.Verify(ctx, sign(t, jwt.SigningMethodES256, ecKeys[2], "next", claims(clk.Now(), nil))); err != nil {
			t.Fatalf("after the interval: %v", err)
		}
		if n := srv.requests.Load() - before; n != 1 {
			t.Fatalf("JWKS requests after the interval = %d, want 1", n)
		}
	})
}

func TestJWTVerifier_JWKSConcurrentUnknownKid(t *testing.T) {
	_, ecKeys := keys()
	clk := newClock()
	srv := newJWKSServer(t)
	srv.serve(t, jwk{"a", jwkset.AlgES256, &ecKeys[0].PublicKey})
	v := newJWKS(t, srv.URL, clk, nil)
	srv.serve(t, jwk{"a", jwkset.AlgES256, &ecKeys[0].PublicKey}, jwk{"b", jwkset.AlgES256, &ecKeys[1].PublicKey})
	tok := sign(t, jwt.SigningMethodES256, ecKeys[1], "b", claims(clk.Now(), nil))
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Go(func() { _, errs[i] = v.Verify(context.Background(), tok) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("caller %d: %v", i, err)
		}
	}
	if n := srv.requests.Load(); n != 2 {
		t.Fatalf("JWKS requests = %d, want 2: concurrent callers share one fetch", n)
	}
}

func TestJWTVerifier_JWKSDown(t *testing.T) {
	_, ecKeys := keys()
	ecJWK := jwk{"ec", jwkset.AlgES256, &ecKeys[0].PublicKey}
	ctx := context.Background()

	t.Run("AtStartAndRecovering", func(t *testing.T) {
		clk := newClock()
		srv := newJWKSServer(t)
		srv.serve(t, ecJWK)
		srv.setDown(true)
		logs := &logRecords{}
		// Start-up succeeds: API keys keep working while the provider is down.
		v := newJWKS(t, srv.URL, clk, func(c *auth.JWTConfig) { c.Logger = slog.New(logs) })
		if !logs.has("jwks fetch failed") {
			t.Fatal("the failed fetch was not logged")
		}
		tok := sign(t, jwt.SigningMethodES256, ecKeys[0], "ec", claims(clk.Now(), nil))
		_, err := v.Verify(ctx, tok)
		wantErr(t, err, marketgraph.EUPSTREAM, "token signing keys unavailable")
		_, err = v.Verify(ctx, sign(t, jwt.SigningMethodES256, ecKeys[0], "", claims(clk.Now(), nil)))
		wantErr(t, err, marketgraph.EUPSTREAM, "token signing keys unavailable")

		srv.setDown(false)
		clk.Advance(time.Minute)
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatalf("after the JWKS came back: %v", err)
		}
	})
	t.Run("Unreachable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		clk := newClock()
		v := newJWKS(t, url, clk, nil)
		_, err := v.Verify(ctx, sign(t, jwt.SigningMethodES256, ecKeys[0], "ec", claims(clk.Now(), nil)))
		wantErr(t, err, marketgraph.EUPSTREAM, "token signing keys unavailable")
	})
	t.Run("CachedKeysOutliveAnOutage", func(t *testing.T) {
		clk := newClock()
		srv := newJWKSServer(t)
		srv.serve(t, ecJWK)
		v := newJWKS(t, srv.URL, clk, nil)
		srv.setDown(true)
		if _, err := v.Verify(ctx, sign(t, jwt.SigningMethodES256, ecKeys[0], "ec", claims(clk.Now(), nil))); err != nil {
			t.Fatalf("cached key during an outage: %v", err)
		}
		// An unknown kid during the outage is the outage's fault.
		_, err := v.Verify(ctx, sign(t, jwt.SigningMethodES256, ecKeys[1], "rotated", claims(clk.Now(), nil)))
		wantErr(t, err, marketgraph.EUPSTREAM, "token signing keys unavailable")
	})
	t.Run("OversizedJWKS", func(t *testing.T) {
		clk := newClock()
		srv := newJWKSServer(t)
		srv.mu.Lock()
		srv.body = []byte(`{"keys":[],"pad":"` + strings.Repeat("x", 2<<20) + `"}`)
		srv.mu.Unlock()
		v := newJWKS(t, srv.URL, clk, nil)
		_, err := v.Verify(ctx, sign(t, jwt.SigningMethodES256, ecKeys[0], "ec", claims(clk.Now(), nil)))
		wantErr(t, err, marketgraph.EUPSTREAM, "token signing keys unavailable")
	})
}

func TestJWTVerifier_JWKSBackgroundRefresh(t *testing.T) {
	_, ecKeys := keys()
	clk := newClock()
	srv := newJWKSServer(t)
	srv.serve(t, jwk{"ec", jwkset.AlgES256, &ecKeys[0].PublicKey})
	v := newJWKS(t, srv.URL, clk, func(c *auth.JWTConfig) { c.RefreshInterval = 5 * time.Millisecond })
	deadline := time.Now().Add(20 * time.Second)
	for srv.requests.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("JWKS requests = %d, want the background refresh to make more", srv.requests.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	v.Close()
	// A fetch cancelled by Close may still reach the server after Close
	// returns (the server handles a request the client has given up on):
	// let it land before counting.
	time.Sleep(50 * time.Millisecond)
	after := srv.requests.Load()
	// Close waited for the refresh goroutine: nothing fetches any more,
	// and Verify still works from the cache.
	if _, err := v.Verify(context.Background(), sign(t, jwt.SigningMethodES256, ecKeys[0], "ec", claims(clk.Now(), nil))); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if n := srv.requests.Load(); n != after {
		t.Fatalf("JWKS requests went from %d to %d after Close", after, n)
	}
}

// logRecords is a slog.Handler keeping messages.
type logRecords struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecords) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, r.Message)
	return nil
}
func (l *logRecords) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecords) WithGroup(string) slog.Handler      { return l }

func (l *logRecords) has(msg string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Contains(l.msgs, msg)
}
