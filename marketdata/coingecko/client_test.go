package coingecko_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/marketdata/coingecko"
	"github.com/marketgraph/marketgraph/marketdata/coingecko/cgfake"
)

func TestNew_Config(t *testing.T) {
	t.Run("Invalid", func(t *testing.T) {
		tests := map[string]coingecko.Config{
			"Empty":         {},
			"Blank":         {BaseURL: "  "},
			"Relative":      {BaseURL: "/api/v3"},
			"NoHost":        {BaseURL: "http://"},
			"Scheme":        {BaseURL: "ftp://example.test/api"},
			"Unparsable":    {BaseURL: "http://[::1"},
			"Credentials":   {BaseURL: "https://user:SECRET@example.test/api"},
			"KeyInQuery":    {BaseURL: "https://example.test/api?x_cg_demo_api_key=SECRET"},
			"Fragment":      {BaseURL: "https://example.test/api#SECRET"},
			"TooLongForURL": {BaseURL: "https://example.test/" + strings.Repeat("a", 1900)},
			"HeaderName":    {BaseURL: "https://example.test", KeyHeader: "x bad: header"},
			"KeyLineBreak":  {BaseURL: "https://example.test", APIKey: "SECRET\r\nX-Evil: 1"},
		}
		for name, cfg := range tests {
			t.Run(name, func(t *testing.T) {
				c, err := coingecko.New(cfg)
				if err == nil {
					t.Fatalf("New(%+v) = %v, want an error", cfg, c)
				}
				var me *marketgraph.Error
				if errors.As(err, &me) {
					t.Errorf("error %v is a marketgraph error; want a plain start-up error", err)
				}
				if strings.Contains(err.Error(), "SECRET") {
					t.Errorf("error %q repeats the secret", err)
				}
				if cfg.KeyHeader == "" && cfg.APIKey == "" && !strings.Contains(err.Error(), "MARKETGRAPH_PROVIDER_URL") {
					t.Errorf("error %q does not name MARKETGRAPH_PROVIDER_URL", err)
				}
			})
		}
	})
	t.Run("TrailingSlash", func(t *testing.T) {
		fake := cgfake.New(newSource(), nil)
		rec := &recorder{next: fake}
		srv := httptest.NewServer(rec)
		defer srv.Close()
		c := newClient(t, srv.URL+"/api/v3/", nil)
		if err := c.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
		if uris, _ := rec.requests(); uris[0] != "/api/v3/ping" {
			t.Errorf("request %s, want /api/v3/ping", uris[0])
		}
	})
}

// roundTrip is an http.RoundTripper answering every request with the ping
// sample, recording the requests: clients aimed at CoinGecko's real hosts
// can be tested without a network.
type roundTrip struct{ reqs []*http.Request }

func (rt *roundTrip) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.reqs = append(rt.reqs, r)
	return &http.Response{StatusCode: 200, Header: http.Header{}, Request: r,
		Body: io.NopCloser(strings.NewReader(`{"gecko_says":"(V3) To the Moon!"}`))}, nil
}

func TestNew_KeyHeader(t *testing.T) {
	tests := []struct {
		name, base, header, key string
		want                    string // header expected to carry the key; "" for none
	}{
		{"DemoDefault", coingecko.DemoBaseURL, "", testKey, coingecko.DemoKeyHeader},
		{"ProDefault", coingecko.ProBaseURL, "", testKey, coingecko.ProKeyHeader},
		{"Explicit", coingecko.DemoBaseURL, coingecko.ProKeyHeader, testKey, coingecko.ProKeyHeader},
		{"NoKey", coingecko.ProBaseURL, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := &roundTrip{}
			c, err := coingecko.New(coingecko.Config{BaseURL: tt.base, APIKey: tt.key, KeyHeader: tt.header,
				HTTP: &http.Client{Transport: rt}, UserAgent: "tests/1"})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Ping(context.Background()); err != nil {
				t.Fatal(err)
			}
			r := rt.reqs[0]
			if r.URL.String() != tt.base+"/ping" || strings.Contains(r.URL.String(), testKey) {
				t.Errorf("URL %s, want %s/ping without the key", r.URL, tt.base)
			}
			for _, h := range []string{coingecko.DemoKeyHeader, coingecko.ProKeyHeader} {
				want := ""
				if h == tt.want {
					want = tt.key
				}
				if got := r.Header.Get(h); got != want {
					t.Errorf("header %s = %q, want %q", h, got, want)
				}
			}
			if ua := r.Header.Get("User-Agent"); ua != "tests/1" {
				t.Errorf("User-Agent = %q, want tests/1", ua)
			}
		})
	}
}

func TestClient_Redirects(t *testing.T) {
	// A redirect would carry the key header to wherever it points.
	elsewhere := &recorder{next: http.NotFoundHandler()}
	other := httptest.NewServer(elsewhere)
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusFound)
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, nil)
	_, err := c.Quotes(context.Background(), []string{"bitcoin"}, marketgraph.CurrencyUSD)
	if ue := upstreamError(t, err); ue.Status != http.StatusFound || ue.Temporary {
		t.Errorf("error %+v, want a permanent error for the 302", ue)
	}
	if uris, _ := elsewhere.requests(); len(uris) != 0 {
		t.Errorf("the redirect was followed: %v", uris)
	}
}

func TestClient_Ping(t *testing.T) {
	e := newEnv(t, newSource(), nil)
	if err := e.client.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.fake.SetFault(cgfake.Fault{Status: 503})
	if err := e.client.Ping(context.Background()); marketgraph.ErrorCode(err) != marketgraph.EUPSTREAM {
		t.Errorf("Ping against a failing upstream = %v, want UPSTREAM_UNAVAILABLE", err)
	}
	if n := e.fake.Calls(cgfake.PathPing); n != 2 {
		t.Errorf("%d pings counted, want 2", n)
	}
}
