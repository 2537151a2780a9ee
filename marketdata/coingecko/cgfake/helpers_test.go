package cgfake_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/marketdata/coingecko/cgfake"
)

// asOf is the instant the test source quotes.
var asOf = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// source quotes fixed USD prices at fixed rates, at asOf; with past set it
// also quotes history (QuotesAt), moving with time.
type source struct{ usd map[string]float64 }

var rates = map[marketgraph.Currency]float64{
	marketgraph.CurrencyUSD: 1, marketgraph.CurrencyEUR: 0.92,
	marketgraph.CurrencyBTC: 1.0 / 60000, marketgraph.CurrencyETH: 1.0 / 3000,
}

func newSource() *source {
	return &source{usd: map[string]float64{"bitcoin": 60000, "ethereum": 3000, "tether": 1, "dogecoin": 0.2}}
}

func (s *source) Quotes(ctx context.Context, ids []string, c marketgraph.Currency) (map[string]*marketgraph.Quote, error) {
	return s.at(ids, c, asOf)
}

func (s *source) at(ids []string, c marketgraph.Currency, t time.Time) (map[string]*marketgraph.Quote, error) {
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

// pastSource is source with history.
type pastSource struct{ *source }

func (s pastSource) QuotesAt(_ context.Context, ids []string, c marketgraph.Currency, t time.Time) (map[string]*marketgraph.Quote, error) {
	return s.at(ids, c, t)
}

func catalog() []*marketgraph.Asset {
	return []*marketgraph.Asset{
		{ID: "bitcoin", Symbol: "BTC", Name: "Bitcoin", Rank: 1, Supply: 19e6},
		{ID: "ethereum", Symbol: "ETH", Name: "Ethereum", Rank: 2, Supply: 120e6},
		{ID: "tether", Symbol: "USDT", Name: "Tether", Rank: 3, Supply: 100e9},
		{ID: "dogecoin", Symbol: "DOGE", Name: "Dogecoin", Rank: 4},
		{ID: "unquoted-coin", Symbol: "UNQ", Name: "Unquoted", Rank: 5},
	}
}

// newFake starts a fake with the test source and catalog.
func newFake(t *testing.T, src marketgraph.QuoteProvider) (*cgfake.Fake, *httptest.Server) {
	t.Helper()
	if src == nil {
		src = pastSource{newSource()}
	}
	f := cgfake.New(src, catalog())
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

// result is one response.
type result struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body, failing the test when it is not JSON.
func (r result) json(t *testing.T) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("body %q is not JSON: %v", r.body, err)
	}
	return v
}

func get(t *testing.T, srv *httptest.Server, path string, header ...string) result {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] != "" {
			req.Header.Set(header[i], header[i+1])
		}
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return result{resp.StatusCode, resp.Header, body}
}

// sample decodes a file of testdata/coingecko.
func sample(t *testing.T, name string) any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "coingecko", name))
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

// sameShape reports how got differs in shape from want: objects must have
// the same keys, and values the same JSON types, recursively; a null on
// either side matches anything (every field may be null); every element of
// an array is compared with the first element of want's.
func sameShape(path string, got, want any) []string {
	if got == nil || want == nil {
		return nil
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: got %T, want an object", path, got)}
		}
		var diffs []string
		for _, k := range sortedKeys(w) {
			if _, ok := g[k]; !ok {
				diffs = append(diffs, fmt.Sprintf("%s.%s: missing", path, k))
				continue
			}
			diffs = append(diffs, sameShape(path+"."+k, g[k], w[k])...)
		}
		for _, k := range sortedKeys(g) {
			if _, ok := w[k]; !ok {
				diffs = append(diffs, fmt.Sprintf("%s.%s: not in the sample", path, k))
			}
		}
		return diffs
	case []any:
		g, ok := got.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: got %T, want an array", path, got)}
		}
		if len(w) == 0 {
			return nil
		}
		var diffs []string
		for i, e := range g {
			diffs = append(diffs, sameShape(fmt.Sprintf("%s[%d]", path, i), e, w[0])...)
		}
		return diffs
	}
	if fmt.Sprintf("%T", got) != fmt.Sprintf("%T", want) {
		return []string{fmt.Sprintf("%s: got %T, want %T", path, got, want)}
	}
	return nil
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func assertShape(t *testing.T, got, want any) {
	t.Helper()
	for _, d := range sameShape("$", got, want) {
		t.Error(d)
	}
}
