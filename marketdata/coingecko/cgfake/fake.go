// Package cgfake is a fake CoinGecko v3 API: an http.Handler that speaks
// the wire format the coingecko client reads, with prices from any
// marketgraph.QuoteProvider (typically the simulator), so tests, benchmarks
// and manual runs need no network and no key.
//
// It counts calls per endpoint and can be told to misbehave (Fault): add
// latency, answer an HTTP error with or without Retry-After, send malformed
// or truncated JSON, drop ids, or null every optional number. It validates
// requests as the real API does, so a client bug shows up as a 400 here
// rather than in production. The shapes it writes are those of the samples
// in testdata/coingecko, which its tests compare it with.
//
// It is a non-test package so that a command can run it as a process
// (ListenAndServe).
package cgfake

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/marketgraph/marketgraph"
)

// The endpoint paths Calls counts under. A market chart is counted under
// PathMarketChartRange whatever its coin id; any other path under
// PathOther.
const (
	PathSimplePrice      = "/simple/price"
	PathMarkets          = "/coins/markets"
	PathMarketChartRange = "/coins/market_chart/range"
	PathPing             = "/ping"
	PathOther            = "other"
)

// apiPrefix is the path prefix of the real API's roots; the fake serves
// with or without it, so a base URL can look like the real one.
const apiPrefix = "/api/v3"

// Fault is misbehaviour the fake applies to calls (SetFault). The zero Fault
// is a healthy upstream.
type Fault struct {
	// Latency delays every response (the request's own cancellation cuts
	// it short).
	Latency time.Duration
	// Status, when not 0, answers every call with this HTTP status and an
	// error body in CoinGecko's shapes instead of data.
	Status int
	// RetryAfter is sent as the Retry-After header when not empty, verbatim:
	// "30" or an HTTP-date.
	RetryAfter string
	// Malformed replaces the body with text that is not JSON.
	Malformed bool
	// Truncated cuts the body in half (a complete HTTP response carrying
	// incomplete JSON).
	Truncated bool
	// DropIDs are left out of every response, as coins the API does not
	// know: absent from /simple/price and /coins/markets, 404 for a chart.
	DropIDs []string
	// NullFields sends null for every optional number: market cap, volume,
	// change and last_updated_at in /simple/price (prices stay, so quotes
	// still arrive); everything but id, symbol, name and current_price in
	// /coins/markets; market caps and volumes in charts.
	NullFields bool
	// FailNext, when above 0, limits the fault to that many calls, after
	// which the fake is healthy again. A fault with FailNext and nothing
	// else that fails (no Status, Malformed, Truncated, DropIDs or
	// NullFields) fails its calls with a 500.
	FailNext int
}

// failing reports whether f changes responses (beyond delaying them).
func (f *Fault) failing() bool {
	return f.Status != 0 || f.Malformed || f.Truncated || len(f.DropIDs) > 0 || f.NullFields
}

// Fake is a fake CoinGecko API. Build it with New; it is safe for
// concurrent use.
type Fake struct {
	src     marketgraph.QuoteProvider
	catalog []marketgraph.Asset

	mu        sync.Mutex
	calls     map[string]int
	fault     Fault
	keyHeader string
	key       string
}

// New returns a healthy fake whose prices come from src and whose
// /coins/markets lists catalog (names, symbols, ranks and supply) with
// src's figures. History comes from src's QuotesAt method when it has one
// (the simulator does, so charts agree with live quotes), and otherwise
// from a deterministic walk anchored at src's current price.
func New(src marketgraph.QuoteProvider, catalog []*marketgraph.Asset) *Fake {
	f := &Fake{src: src, calls: map[string]int{}}
	for _, a := range catalog {
		if a != nil {
			f.catalog = append(f.catalog, *a)
		}
	}
	return f
}

// Calls returns how many requests arrived for path (one of the Path
// constants), whatever their outcome.
func (f *Fake) Calls(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[path]
}

// SetFault makes subsequent calls misbehave as flt says, until the next
// SetFault; SetFault(Fault{}) heals the fake.
func (f *Fake) SetFault(flt Fault) {
	flt.DropIDs = slices.Clone(flt.DropIDs)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fault = flt
}

// RequireKey makes every call without header: key answer 401 with
// CoinGecko's error body. An empty key lifts the requirement.
func (f *Fake) RequireKey(header, key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keyHeader, f.key = header, key
}

// begin counts a call and returns the fault it gets, spending one of
// FailNext.
func (f *Fake) begin(path string) (flt Fault, keyHeader, key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[path]++
	flt = f.fault
	if f.fault.FailNext > 0 {
		if f.fault.FailNext--; f.fault.FailNext == 0 {
			f.fault = Fault{}
		}
		if !flt.failing() {
			flt.Status = http.StatusInternalServerError
		}
	}
	return flt, f.keyHeader, f.key
}

// response is what a handler produces, before faults corrupt it.
type response struct {
	status int
	body   any
}

// ServeHTTP answers one API call.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, apiPrefix)
	endpoint, coinID := route(path)
	flt, keyHeader, key := f.begin(endpoint)

	if flt.Latency > 0 {
		t := time.NewTimer(flt.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}

	var resp response
	switch {
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		resp = errorResponse(http.StatusMethodNotAllowed, "Method not allowed")
	case key != "" && subtle.ConstantTimeCompare([]byte(r.Header.Get(keyHeader)), []byte(key)) != 1:
		resp = keyError(r.Header.Get(keyHeader) == "")
	case flt.Status != 0:
		resp = statusError(flt.Status)
	default:
		resp = f.handle(r, endpoint, coinID, &flt)
	}
	body, err := json.Marshal(resp.body)
	if err != nil {
		resp, body = response{status: http.StatusInternalServerError}, []byte(`{"error":"Internal Server Error"}`)
	}
	if flt.Malformed {
		body = []byte("<html><body>502 Bad Gateway</body></html>")
	}
	if flt.Truncated {
		body = body[:len(body)/2]
	}
	if flt.RetryAfter != "" {
		w.Header().Set("Retry-After", flt.RetryAfter)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(resp.status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// route maps a path to the endpoint it is counted under and, for a chart,
// the coin id.
func route(path string) (endpoint, coinID string) {
	switch path {
	case PathSimplePrice, PathMarkets, PathPing:
		return path, ""
	}
	if rest, ok := strings.CutPrefix(path, "/coins/"); ok {
		if id, ok := strings.CutSuffix(rest, "/market_chart/range"); ok && id != "" && !strings.Contains(id, "/") {
			return PathMarketChartRange, id
		}
	}
	return PathOther, ""
}

// handle serves a healthy (or data-faulted) call.
func (f *Fake) handle(r *http.Request, endpoint, coinID string, flt *Fault) response {
	q := r.URL.Query()
	switch endpoint {
	case PathSimplePrice:
		return f.simplePrice(r.Context(), q, flt)
	case PathMarkets:
		return f.markets(r.Context(), r.Host, q, flt)
	case PathMarketChartRange:
		return f.marketChart(r.Context(), coinID, q, flt)
	case PathPing:
		return response{http.StatusOK, map[string]string{"gecko_says": "(V3) To the Moon!"}}
	}
	return errorResponse(http.StatusNotFound, "Not found")
}

// errorResponse is the {"error": "..."} body CoinGecko sends for bad
// requests and unknown resources.
func errorResponse(status int, msg string) response {
	return response{status, map[string]string{"error": msg}}
}

// statusBody is the {"status": {...}} body CoinGecko sends for rate limits
// and key problems.
func statusBody(status, code int, msg string) response {
	return response{status, map[string]any{"status": map[string]any{"error_code": code, "error_message": msg}}}
}

// statusError is the body of a Fault's Status.
func statusError(status int) response {
	switch status {
	case http.StatusTooManyRequests:
		return statusBody(status, status, "You've exceeded the Rate Limit. Please visit our API pricing page to subscribe to a plan with higher rate limits.")
	case http.StatusUnauthorized:
		return keyError(true)
	}
	msg := http.StatusText(status)
	if msg == "" {
		msg = "error"
	}
	return errorResponse(status, msg)
}

// keyError is the 401 of a missing or wrong key.
func keyError(missing bool) response {
	if missing {
		return statusBody(http.StatusUnauthorized, 10002, "API Key Missing")
	}
	return statusBody(http.StatusUnauthorized, 10002, "Incorrect API Key")
}

// srcError turns a failure of the quote source into a response.
func srcError(err error) response {
	switch marketgraph.ErrorCode(err) {
	case marketgraph.EBADINPUT:
		return errorResponse(http.StatusBadRequest, marketgraph.ErrorMessage(err))
	case marketgraph.EUPSTREAM:
		return errorResponse(http.StatusServiceUnavailable, "Service Unavailable")
	}
	return errorResponse(http.StatusInternalServerError, "Internal Server Error")
}

// splitList splits a comma-separated query value, dropping blanks.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// currency parses a vs_currency value.
func currency(vs string) (marketgraph.Currency, bool) {
	c := marketgraph.Currency(strings.ToUpper(strings.TrimSpace(vs)))
	return c, vs != "" && c.Valid()
}

// dropped reports whether flt drops id.
func dropped(flt *Fault, id string) bool { return slices.Contains(flt.DropIDs, id) }
