package coingecko

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/marketgraph/marketgraph"
)

// UpstreamError is a failed call to the API: an HTTP error, an error body,
// a response that is not the JSON the endpoint documents, one that is too
// large, or a network failure. It wraps a marketgraph UPSTREAM_UNAVAILABLE
// error carrying a message safe for clients, so errors.As finds either, and
// marketgraph.ErrorCode reports UPSTREAM_UNAVAILABLE.
//
// Neither Error nor the client message ever holds the API key or a request
// URL: the key travels in a header, and text the upstream sends back has
// the key redacted.
type UpstreamError struct {
	// Endpoint is the endpoint called, as a pattern: "/simple/price",
	// "/coins/markets", "/coins/{id}/market_chart/range" or "/ping".
	Endpoint string
	// Status is the HTTP status, 0 when no response arrived.
	Status int
	// Code is the error_code of a CoinGecko error body ({"status":
	// {"error_code": 429, ...}}), 0 when there was none. It differs from
	// Status for CoinGecko's own codes, such as 10002 for a missing key.
	Code int
	// Detail says what went wrong, for logs: the upstream's error message
	// (sanitised, key redacted, bounded) or the local failure.
	Detail string
	// RetryAfter is how long the upstream asked us to wait, from a
	// Retry-After header on a 429 or 503; 0 when it did not say.
	RetryAfter time.Duration
	// Temporary reports whether the same call may succeed later: true for
	// 408, 429, 5xx, network failures and garbled bodies (typically a proxy
	// page or a cut connection); false for other 4xx statuses and for
	// bodies over the size limit, which a retry would only repeat.
	Temporary bool

	client *marketgraph.Error
	cause  error
}

// Error describes the failure for logs.
func (e *UpstreamError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "coingecko GET %s: ", e.Endpoint)
	if e.Status != 0 {
		fmt.Fprintf(&b, "HTTP %d", e.Status)
		if e.Code != 0 && e.Code != e.Status {
			fmt.Fprintf(&b, " (error_code %d)", e.Code)
		}
		if e.Detail != "" {
			b.WriteString(": ")
		}
	}
	b.WriteString(e.Detail)
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	return b.String()
}

// Unwrap returns the client-facing marketgraph error and, for network
// failures, the underlying cause.
func (e *UpstreamError) Unwrap() []error {
	if e.cause != nil {
		return []error{e.client, e.cause}
	}
	return []error{e.client}
}

// errorKind picks the client message of an UpstreamError.
type errorKind int

const (
	kindStatus errorKind = iota
	kindNetwork
	kindMalformed
	kindTooLarge
)

// newUpstreamError fills in the client message and Temporary from what is
// known; callers set the rest before.
func newUpstreamError(e *UpstreamError, kind errorKind) *UpstreamError {
	var msg string
	switch kind {
	case kindNetwork:
		msg = "market data provider unreachable"
		e.Temporary = true
	case kindMalformed:
		msg = "market data provider sent an invalid response"
		e.Temporary = true
	case kindTooLarge:
		msg = "market data provider sent an oversized response"
		e.Temporary = false
	default:
		code := e.Status
		if e.Code >= 400 && e.Code <= 599 && (code < 400 || code > 599) {
			code = e.Code // an error body on a 2xx: trust the body
		}
		e.Temporary = temporaryStatus(code)
		switch {
		case code == http.StatusTooManyRequests:
			msg = "market data provider is rate limiting requests"
		case code >= 400 && code <= 599:
			msg = fmt.Sprintf("market data provider unavailable (HTTP %d)", code)
		default:
			msg = "market data provider returned an error"
		}
	}
	e.client = marketgraph.Errorf(marketgraph.EUPSTREAM, "%s", msg)
	return e
}

func temporaryStatus(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500 && code <= 599
}

// errorBody is every error shape CoinGecko documents or is seen to send:
// {"status":{"error_code":..,"error_message":".."}}, {"error":".."}, and
// {"error":{"status":{...}}}.
type errorBody struct {
	Status *errorStatus    `json:"status"`
	Error  json.RawMessage `json:"error"`
}

type errorStatus struct {
	ErrorCode    int    `json:"error_code"`
	ErrorMessage string `json:"error_message"`
}

// parseErrorBody returns the code and message of an error body, and false
// when body is not one.
func parseErrorBody(body []byte) (code int, message string, ok bool) {
	var eb errorBody
	if json.Unmarshal(body, &eb) != nil {
		return 0, "", false
	}
	if eb.Status != nil && (eb.Status.ErrorCode != 0 || eb.Status.ErrorMessage != "") {
		return eb.Status.ErrorCode, eb.Status.ErrorMessage, true
	}
	if len(eb.Error) == 0 || string(eb.Error) == "null" {
		return 0, "", false
	}
	var s string
	if json.Unmarshal(eb.Error, &s) == nil {
		return 0, s, true
	}
	var nested errorBody
	if json.Unmarshal(eb.Error, &nested) == nil && nested.Status != nil {
		return nested.Status.ErrorCode, nested.Status.ErrorMessage, true
	}
	return 0, "", false
}

// maxDetail bounds the upstream text kept in an error.
const maxDetail = 200

// sanitize makes upstream text fit for a log line: the key redacted,
// control characters and invalid UTF-8 replaced, and the length bounded.
func (c *Client) sanitize(s string) string {
	if c.key != "" {
		s = strings.ReplaceAll(s, c.key, "[redacted]")
	}
	s = strings.Map(func(r rune) rune {
		if r == unicode.ReplacementChar || unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, " "))
	s = strings.TrimSpace(s)
	if len(s) > maxDetail {
		cut := maxDetail
		for cut > 0 && !utf8Start(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// maxRetryAfter caps Retry-After, so a bogus header cannot park a caller
// for days or overflow a Duration.
const maxRetryAfter = 24 * time.Hour

// parseRetryAfter reads a Retry-After value: delay-seconds or an HTTP-date
// (RFC 9110 §10.2.3). Unparsable or past values are 0.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseUint(v, 10, 64); err == nil {
		if n > uint64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		return time.Duration(n) * time.Second
	} else if isDigits(v) {
		return maxRetryAfter // too many digits for a uint64
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	return min(max(t.Sub(now), 0), maxRetryAfter)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// RetryAfterDelay is how long the upstream asked us to wait (Retry-After),
// or 0; with IsTemporary it makes UpstreamError a marketdata.RetryAfterError
// for the resilience layer.
func (e *UpstreamError) RetryAfterDelay() time.Duration { return e.RetryAfter }

// IsTemporary reports whether retrying the call may succeed.
func (e *UpstreamError) IsTemporary() bool { return e.Temporary }
