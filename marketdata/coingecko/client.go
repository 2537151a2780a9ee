// Package coingecko is a client for the CoinGecko v3 REST API, and for any
// service that speaks its wire format (the test fake in cgfake included).
// It was written from CoinGecko's public documentation and covers what the
// server needs: live quotes (/simple/price, as a marketgraph.QuoteProvider),
// the catalog (/coins/markets) and history (/coins/{id}/market_chart/range).
//
// The client does one thing per call: no retries, no cache, no rate
// budget. Those belong to the resilience layer in marketdata, which wraps
// any provider; what this package owes that layer is a precise error
// (*UpstreamError: status, Retry-After, whether a retry can help).
package coingecko

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// CoinGecko's documented API roots and key headers. The demo (free) plan
// and the paid plans use different hosts, and each rejects the other's key.
const (
	DemoBaseURL   = "https://api.coingecko.com/api/v3"
	ProBaseURL    = "https://pro-api.coingecko.com/api/v3"
	DemoKeyHeader = "x-cg-demo-api-key"
	ProKeyHeader  = "x-cg-pro-api-key"
)

// Defaults of Config.
const (
	DefaultMaxIDsPerCall = 250
	DefaultMaxURLLen     = 2000
	DefaultMaxBodyBytes  = 8 << 20
	DefaultUserAgent     = "marketgraph"
)

// proHost is the host whose key header is ProKeyHeader by default.
const proHost = "pro-api.coingecko.com"

// Config configures a Client.
type Config struct {
	// BaseURL is the API root, such as DemoBaseURL or ProBaseURL or a fake's
	// URL; a trailing slash is ignored. Required.
	BaseURL string
	// APIKey is sent in the KeyHeader header of every request, never in the
	// URL, and appears in no error message. Empty sends no key (the keyless
	// public plan).
	APIKey string
	// KeyHeader names the header that carries APIKey. Default: ProKeyHeader
	// when BaseURL is on the pro host, DemoKeyHeader otherwise.
	KeyHeader string
	// HTTP is the client requests go through. Default: one with connection
	// and header timeouts; the caller's ctx bounds each call as a whole.
	// Redirects are never followed, whatever client is given: a redirect
	// would carry the key header to wherever it points.
	HTTP *http.Client
	// MaxIDsPerCall caps the ids of one /simple/price call. Default 250,
	// CoinGecko's documented maximum.
	MaxIDsPerCall int
	// MaxURLLen caps the length in bytes of a request URL; ids are split
	// across calls to stay under it. Default 2000, which proxies and CDNs
	// commonly accept.
	MaxURLLen int
	// MaxBodyBytes caps a response body; a larger one is an error, and no
	// more than MaxBodyBytes+1 bytes of it are read. Default 8 MiB.
	MaxBodyBytes int64
	// UserAgent is sent with every request. Default "marketgraph".
	UserAgent string
}

// Client calls a CoinGecko-compatible API. It is safe for concurrent use.
type Client struct {
	base      string
	key       string
	keyHeader string
	hc        *http.Client
	maxIDs    int
	maxURL    int
	maxBody   int64
	userAgent string
}

// longestFixedURL is the longest path and fixed query a call adds to
// BaseURL before its variable part; New checks that MaxURLLen leaves room
// for it and for at least one id.
const longestFixedURL = len(pricePath) + 1 + len("vs_currencies=usd&include_market_cap=true&include_24hr_vol=true&include_24hr_change=true&include_last_updated_at=true&precision=full&ids=") + 64

// New returns a client for cfg. Its errors are plain (not marketgraph
// errors: they are for the operator, at start-up) and name the setting to
// fix.
func New(cfg Config) (*Client, error) {
	base, err := parseBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	c := &Client{
		base:      base,
		key:       cfg.APIKey,
		keyHeader: cfg.KeyHeader,
		maxIDs:    cfg.MaxIDsPerCall,
		maxURL:    cfg.MaxURLLen,
		maxBody:   cfg.MaxBodyBytes,
		userAgent: cfg.UserAgent,
	}
	if c.keyHeader == "" {
		c.keyHeader = DemoKeyHeader
		if u, _ := url.Parse(base); u != nil && strings.EqualFold(u.Hostname(), proHost) {
			c.keyHeader = ProKeyHeader
		}
	}
	if !validHeaderName(c.keyHeader) {
		return nil, errors.New("coingecko: the API key header name is not a valid HTTP header name")
	}
	if strings.ContainsAny(c.key, "\r\n") {
		return nil, errors.New("coingecko: MARKETGRAPH_PROVIDER_KEY must not contain line breaks")
	}
	if c.maxIDs <= 0 {
		c.maxIDs = DefaultMaxIDsPerCall
	}
	if c.maxURL <= 0 {
		c.maxURL = DefaultMaxURLLen
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxBodyBytes
	}
	if c.userAgent == "" {
		c.userAgent = DefaultUserAgent
	}
	if len(base)+longestFixedURL > c.maxURL {
		return nil, fmt.Errorf("coingecko: MARKETGRAPH_PROVIDER_URL is too long: requests would exceed the %d-byte URL limit", c.maxURL)
	}
	c.hc = httpClient(cfg.HTTP)
	return c, nil
}

// parseBaseURL checks that s is an absolute http(s) URL that carries no
// secret of its own, and returns it without a trailing slash. Its errors do
// not repeat s, which may hold a key the operator pasted by mistake.
func parseBaseURL(s string) (string, error) {
	const setting = "MARKETGRAPH_PROVIDER_URL"
	if strings.TrimSpace(s) == "" {
		return "", fmt.Errorf("coingecko: %s is required (for example %s)", setting, DemoBaseURL)
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("coingecko: %s is not a valid URL", setting)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("coingecko: %s must be an absolute http or https URL", setting)
	}
	if u.User != nil {
		return "", fmt.Errorf("coingecko: %s must not contain credentials; put the key in MARKETGRAPH_PROVIDER_KEY", setting)
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", fmt.Errorf("coingecko: %s must not have a query or fragment; put the key in MARKETGRAPH_PROVIDER_KEY", setting)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r > 0x7e || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return true
}

// httpClient returns hc, or a default client, made to refuse redirects. The
// given client is copied, not changed: the caller may share it.
func httpClient(hc *http.Client) *http.Client {
	var c http.Client
	if hc != nil {
		c = *hc
	} else {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
		tr.TLSHandshakeTimeout = 5 * time.Second
		tr.ResponseHeaderTimeout = 20 * time.Second
		tr.MaxIdleConnsPerHost = 8
		c = http.Client{Transport: tr, Timeout: 30 * time.Second}
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// Ping checks that the API answers (GET /ping), for readiness probes.
func (c *Client) Ping(ctx context.Context) error {
	var out struct {
		GeckoSays string `json:"gecko_says"`
	}
	return c.get(ctx, pingPath, c.base+pingPath, &out)
}

const pingPath = "/ping"
