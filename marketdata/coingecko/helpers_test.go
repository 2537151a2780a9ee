package coingecko_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/marketdata/coingecko"
	"github.com/marketgraph/marketgraph/marketdata/coingecko/cgfake"
)

// testKey is the API key of the tests; no error may ever contain it.
const testKey = "sekret-KEY-7f3a9c"

// asOf is the instant the test source quotes by default.
var asOf = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// source is a deterministic quote source: USD prices per id, converted at
// fixed rates, moving with time so that history can be checked.
type source struct{ usd map[string]float64 }

func newSource(ids ...string) *source {
	s := &source{usd: map[string]float64{"bitcoin": 60000, "ethereum": 3000, "tether": 1, "dogecoin": 0.2}}
	for i, id := range ids {
		s.usd[id] = float64(i + 1)
	}
	return s
}

var rates = map[marketgraph.Currency]float64{
	marketgraph.CurrencyUSD: 1, marketgraph.CurrencyEUR: 0.92,
	marketgraph.CurrencyBTC: 1.0 / 60000, marketgraph.CurrencyETH: 1.0 / 3000,
}

func (s *source) Quotes(ctx context.Context, ids []string, c marketgraph.Currency) (map[string]*marketgraph.Quote, error) {
	return s.QuotesAt(ctx, ids, c, asOf)
}

func (s *source) QuotesAt(_ context.Context, ids []string, c marketgraph.Currency, t time.Time) (map[string]*marketgraph.Quote, error) {
	rate, ok := rates[c]
	if !ok {
		return nil, marketgraph.Errorf(marketgraph.EBADINPUT, "currency: unsupported currency %q", c)
	}
	out := map[string]*marketgraph.Quote{}
	for _, id := range ids {
		usd, ok := s.usd[id]
		if !ok {
			continue
		}
		p := usd * rate * (1 + float64(t.Unix()%86400)/1e6)
		mc, vol, ch := p*1e6, p*1e4, 1.5
		out[id] = &marketgraph.Quote{AssetID: id, Price: p, MarketCap: &mc, Volume24h: &vol, Change24h: &ch, Currency: c, AsOf: t.UTC()}
	}
	return out, nil
}

// catalog is the test catalog: the source's coins plus one it does not
// quote.
func catalog() []*marketgraph.Asset {
	return []*marketgraph.Asset{
		{ID: "bitcoin", Symbol: "BTC", Name: "Bitcoin", Rank: 1, Supply: 19e6},
		{ID: "ethereum", Symbol: "ETH", Name: "Ethereum", Rank: 2, Supply: 120e6},
		{ID: "tether", Symbol: "USDT", Name: "Tether", Rank: 3, Supply: 100e9},
		{ID: "dogecoin", Symbol: "DOGE", Name: "Dogecoin", Rank: 4},
		{ID: "unquoted-coin", Symbol: "UNQ", Name: "Unquoted", Rank: 5},
	}
}

// recorder wraps a handler and remembers every request URI it saw.
type recorder struct {
	next http.Handler
	mu   sync.Mutex
	uris []string
	hdrs []http.Header
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.uris = append(r.uris, req.RequestURI)
	r.hdrs = append(r.hdrs, req.Header.Clone())
	r.mu.Unlock()
	r.next.ServeHTTP(w, req)
}

func (r *recorder) requests() ([]string, []http.Header) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.uris...), append([]http.Header(nil), r.hdrs...)
}

// env is a fake upstream with a client pointed at it.
type env struct {
	fake   *cgfake.Fake
	rec    *recorder
	srv    *httptest.Server
	client *coingecko.Client
}

// newEnv starts a fake for the test source and catalog, requiring testKey,
// and a client with that key; cfg, when not nil, adjusts the client.
func newEnv(t *testing.T, src marketgraph.QuoteProvider, cfg func(*coingecko.Config)) *env {
	t.Helper()
	e := &env{fake: cgfake.New(src, catalog())}
	e.fake.RequireKey(coingecko.DemoKeyHeader, testKey)
	e.rec = &recorder{next: e.fake}
	e.srv = httptest.NewServer(e.rec)
	t.Cleanup(e.srv.Close)
	e.client = newClient(t, e.srv.URL+"/api/v3", cfg)
	return e
}

func newClient(t *testing.T, base string, cfg func(*coingecko.Config)) *coingecko.Client {
	t.Helper()
	c := coingecko.Config{BaseURL: base, APIKey: testKey}
	if cfg != nil {
		cfg(&c)
	}
	cl, err := coingecko.New(c)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return cl
}

// testdata returns a sample body from testdata/coingecko.
func testdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "coingecko", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// serveBody starts a server answering every request with status, body and
// headers, and a client pointed at it.
func serveBody(t *testing.T, status int, body []byte, header map[string]string) (*coingecko.Client, *recorder) {
	t.Helper()
	rec := &recorder{next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
	})}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return newClient(t, srv.URL, nil), rec
}

// upstreamError asserts err is an *UpstreamError with code
// UPSTREAM_UNAVAILABLE whose texts hold neither the key nor a URL.
func upstreamError(t *testing.T, err error) *coingecko.UpstreamError {
	t.Helper()
	var ue *coingecko.UpstreamError
	if !errors.As(err, &ue) {
		t.Fatalf("error %v (%T) is not an *UpstreamError", err, err)
	}
	var me *marketgraph.Error
	if !errors.As(err, &me) {
		t.Fatalf("error %v does not wrap a *marketgraph.Error", err)
	}
	if got := marketgraph.ErrorCode(err); got != marketgraph.EUPSTREAM {
		t.Errorf("ErrorCode = %s, want %s", got, marketgraph.EUPSTREAM)
	}
	for _, s := range []string{err.Error(), marketgraph.ErrorMessage(err)} {
		if strings.Contains(s, testKey) || strings.Contains(s, "http://") || strings.Contains(s, "ids=") {
			t.Errorf("error text leaks the key or a URL: %q", s)
		}
	}
	return ue
}

func ptrEq(a, b *float64) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}
