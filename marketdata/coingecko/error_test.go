package coingecko_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/marketdata"
	"github.com/marketgraph/marketgraph/marketdata/coingecko"
	"github.com/marketgraph/marketgraph/marketdata/coingecko/cgfake"
)

func TestErrors_Faults(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, newSource(), nil)
	tests := []struct {
		name       string
		fault      cgfake.Fault
		status     int
		code       int
		retryAfter time.Duration
		temporary  bool
		message    string // in the client message
	}{
		{"500", cgfake.Fault{Status: 500}, 500, 0, 0, true, "HTTP 500"},
		{"502", cgfake.Fault{Status: 502}, 502, 0, 0, true, "HTTP 502"},
		{"503RetryAfter", cgfake.Fault{Status: 503, RetryAfter: "7"}, 503, 0, 7 * time.Second, true, "HTTP 503"},
		{"429RetryAfter", cgfake.Fault{Status: 429, RetryAfter: "30"}, 429, 429, 30 * time.Second, true, "rate limiting"},
		{"429NoRetryAfter", cgfake.Fault{Status: 429}, 429, 429, 0, true, "rate limiting"},
		{"500IgnoresRetryAfter", cgfake.Fault{Status: 500, RetryAfter: "30"}, 500, 0, 0, true, "HTTP 500"},
		{"408", cgfake.Fault{Status: 408}, 408, 0, 0, true, "HTTP 408"},
		{"400", cgfake.Fault{Status: 400}, 400, 0, 0, false, "HTTP 400"},
		{"403", cgfake.Fault{Status: 403}, 403, 0, 0, false, "HTTP 403"},
		{"404", cgfake.Fault{Status: 404}, 404, 0, 0, false, "HTTP 404"},
		{"Malformed", cgfake.Fault{Malformed: true}, 200, 0, 0, true, "invalid response"},
		{"Truncated", cgfake.Fault{Truncated: true}, 200, 0, 0, true, "invalid response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.fake.SetFault(tt.fault)
			defer e.fake.SetFault(cgfake.Fault{})
			qs, err := e.client.Quotes(ctx, []string{"bitcoin", "ethereum"}, marketgraph.CurrencyUSD)
			if qs != nil {
				t.Errorf("got quotes %v with the error", keys(qs))
			}
			ue := upstreamError(t, err)
			if ue.Status != tt.status || ue.Code != tt.code || ue.RetryAfter != tt.retryAfter || ue.Temporary != tt.temporary {
				t.Errorf("error %+v, want status %d, code %d, retry after %s, temporary %v",
					ue, tt.status, tt.code, tt.retryAfter, tt.temporary)
			}
			if ue.Endpoint != "/simple/price" {
				t.Errorf("Endpoint = %q, want /simple/price", ue.Endpoint)
			}
			if msg := marketgraph.ErrorMessage(err); !strings.Contains(msg, tt.message) {
				t.Errorf("client message %q, want it to mention %q", msg, tt.message)
			}
		})
	}
	t.Run("WrongKey", func(t *testing.T) {
		c := newClient(t, e.srv.URL, func(c *coingecko.Config) { c.APIKey = "not-the-key" })
		_, err := c.Quotes(ctx, []string{"bitcoin"}, marketgraph.CurrencyUSD)
		ue := upstreamError(t, err)
		if ue.Status != 401 || ue.Code != 10002 || ue.Temporary {
			t.Errorf("error %+v, want a permanent 401 with error_code 10002", ue)
		}
		if strings.Contains(err.Error(), "not-the-key") {
			t.Errorf("error %q repeats the key", err)
		}
	})
	t.Run("NoKey", func(t *testing.T) {
		c := newClient(t, e.srv.URL, func(c *coingecko.Config) { c.APIKey = "" })
		_, err := c.Quotes(ctx, []string{"bitcoin"}, marketgraph.CurrencyUSD)
		if ue := upstreamError(t, err); ue.Status != 401 || ue.Detail != "API Key Missing" {
			t.Errorf("error %+v, want 401 API Key Missing", ue)
		}
	})
	t.Run("Network", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		base := srv.URL
		srv.Close()
		c := newClient(t, base, nil)
		_, err := c.Quotes(ctx, []string{"bitcoin"}, marketgraph.CurrencyUSD)
		if ue := upstreamError(t, err); ue.Status != 0 || !ue.Temporary {
			t.Errorf("error %+v, want a temporary failure without status", ue)
		}
		if msg := marketgraph.ErrorMessage(err); !strings.Contains(msg, "unreachable") {
			t.Errorf("client message %q, want unreachable", msg)
		}
	})
}

func TestErrors_Bodies(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name, file string
		status     int
		code       int
		detail     string
		temporary  bool
	}{
		{"RateLimit", "error_rate_limit.json", 429, 429, "You've exceeded the Rate Limit", true},
		{"KeyMissing", "error_key_missing.json", 401, 10002, "API Key Missing", false},
		{"KeyNested", "error_key_nested.json", 401, 10011, "Demo API key", false},
		{"InvalidCurrency", "error_invalid_vs_currency.json", 400, 0, "invalid vs_currency", false},
		{"CoinNotFound", "error_coin_not_found.json", 404, 0, "coin not found", false},
		// An error body on a 200 is still an error, classified by its code.
		{"RateLimitOn200", "error_rate_limit.json", 200, 429, "Rate Limit", true},
		{"KeyMissingOn200", "error_key_missing.json", 200, 10002, "API Key Missing", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := serveBody(t, tt.status, testdata(t, tt.file), map[string]string{"Retry-After": "12"})
			_, err := c.Quotes(ctx, []string{"bitcoin"}, marketgraph.CurrencyUSD)
			ue := upstreamError(t, err)
			if ue.Status != tt.status || ue.Code != tt.code || !strings.Contains(ue.Detail, tt.detail) || ue.Temporary != tt.temporary {
				t.Errorf("error %+v, want status %d, code %d, detail with %q, temporary %v", ue, tt.status, tt.code, tt.detail, tt.temporary)
			}
			wantRetry := time.Duration(0)
			if tt.code == 429 {
				wantRetry = 12 * time.Second
			}
			if ue.RetryAfter != wantRetry {
				t.Errorf("RetryAfter = %s, want %s", ue.RetryAfter, wantRetry)
			}
		})
	}
	t.Run("HTMLPage", func(t *testing.T) {
		c, _ := serveBody(t, 502, []byte("<html><body>Bad gateway</body></html>"), nil)
		_, err := c.Quotes(ctx, []string{"bitcoin"}, marketgraph.CurrencyUSD)
		if ue := upstreamError(t, err); ue.Status != 502 || ue.Detail != "Bad Gateway" || !ue.Temporary {
			t.Errorf("error %+v, want a temporary 502", ue)
		}
	})
	t.Run("KeyEchoedBack", func(t *testing.T) {
		c, _ := serveBody(t, 401, []byte(`{"error":"invalid key `+testKey+`"}`), nil)
		_, err := c.Quotes(ctx, []string{"bitcoin"}, marketgraph.CurrencyUSD)
		if ue := upstreamError(t, err); !strings.Contains(ue.Detail, "[redacted]") {
			t.Errorf("Detail = %q, want the echoed key redacted", ue.Detail)
		}
	})
	t.Run("WrongShapes", func(t *testing.T) {
		for _, body := range []string{``, `null`, `[]`, `{"bitcoin":{"usd":"67000"}}`, `{"bitcoin":{"usd":1,"usd_24h_vol":[]}}`,
			`{"bitcoin":[1]}`, `{"bitcoin":{"usd":1}`} {
			c, _ := serveBody(t, 200, []byte(body), nil)
			_, err := c.Quotes(ctx, []string{"bitcoin"}, marketgraph.CurrencyUSD)
			if ue := upstreamError(t, err); ue.Status != 200 || !ue.Temporary {
				t.Errorf("body %q: error %+v, want a temporary malformed-response error", body, ue)
			}
		}
	})
}

func TestErrors_RetryAfter(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, newSource(), nil)
	retryAfter := func(t *testing.T, value string) time.Duration {
		t.Helper()
		e.fake.SetFault(cgfake.Fault{Status: 429, RetryAfter: value})
		defer e.fake.SetFault(cgfake.Fault{})
		_, err := e.client.Quotes(ctx, []string{"bitcoin"}, marketgraph.CurrencyUSD)
		return upstreamError(t, err).RetryAfter
	}
	t.Run("Seconds", func(t *testing.T) {
		if got := retryAfter(t, "120"); got != 2*time.Minute {
			t.Errorf("RetryAfter = %s, want 2m", got)
		}
	})
	t.Run("HTTPDate", func(t *testing.T) {
		at := time.Now().Add(30 * time.Minute).UTC().Format(http.TimeFormat)
		// The date has whole seconds and the clock moves on: allow a minute.
		if got := retryAfter(t, at); got > 30*time.Minute || got < 29*time.Minute {
			t.Errorf("RetryAfter = %s, want about 30m", got)
		}
	})
	t.Run("PastDate", func(t *testing.T) {
		if got := retryAfter(t, "Wed, 21 Oct 2015 07:28:00 GMT"); got != 0 {
			t.Errorf("RetryAfter = %s, want 0", got)
		}
	})
	t.Run("Garbage", func(t *testing.T) {
		for _, v := range []string{"soon", "-5", "1.5"} {
			if got := retryAfter(t, v); got != 0 {
				t.Errorf("RetryAfter(%q) = %s, want 0", v, got)
			}
		}
	})
	t.Run("Capped", func(t *testing.T) {
		for _, v := range []string{"99999999", "99999999999999999999999"} {
			if got := retryAfter(t, v); got != 24*time.Hour {
				t.Errorf("RetryAfter(%q) = %s, want the 24h cap", v, got)
			}
		}
	})
}

func TestErrors_BodyLimit(t *testing.T) {
	ctx := context.Background()
	t.Run("Announced", func(t *testing.T) {
		e := newEnv(t, newSource(), func(c *coingecko.Config) { c.MaxBodyBytes = 64 })
		_, err := e.client.Quotes(ctx, []string{"bitcoin", "ethereum", "tether"}, marketgraph.CurrencyUSD)
		if ue := upstreamError(t, err); ue.Temporary || !strings.Contains(marketgraph.ErrorMessage(err), "oversized") {
			t.Errorf("error %+v, want a permanent oversized-response error", ue)
		}
	})
	t.Run("Streamed", func(t *testing.T) {
		// No Content-Length: the limit must cut the read short.
		wrote := make(chan int, 1)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			chunk := []byte(`{"bitcoin":{"usd":1},` + strings.Repeat(" ", 1000))
			n := 0
			for range 1 << 12 { // up to 4 MB
				if _, err := w.Write(chunk); err != nil {
					break
				}
				w.(http.Flusher).Flush()
				n += len(chunk)
			}
			wrote <- n
		}))
		defer srv.Close()
		c := newClient(t, srv.URL, func(c *coingecko.Config) { c.MaxBodyBytes = 10_000 })
		_, err := c.Quotes(ctx, []string{"bitcoin"}, marketgraph.CurrencyUSD)
		if ue := upstreamError(t, err); ue.Temporary {
			t.Errorf("error %+v, want a permanent oversized-response error", ue)
		}
		srv.CloseClientConnections()
		if n := <-wrote; n >= 4<<20 {
			t.Errorf("the server wrote the whole %d-byte body: the client kept reading", n)
		}
	})
	t.Run("AtLimit", func(t *testing.T) {
		body := testdata(t, "simple_price.json")
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(body) }))
		defer srv.Close()
		c := newClient(t, srv.URL, func(c *coingecko.Config) { c.MaxBodyBytes = int64(len(body)) })
		if _, err := c.Quotes(ctx, []string{"bitcoin"}, marketgraph.CurrencyUSD); err != nil {
			t.Errorf("a body of exactly MaxBodyBytes failed: %v", err)
		}
	})
}

func TestErrors_Context(t *testing.T) {
	t.Run("CanceledInFlight", func(t *testing.T) {
		started := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(started)
			<-r.Context().Done()
		}))
		defer srv.Close()
		c := newClient(t, srv.URL, nil)
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-started; cancel() }()
		_, err := c.Quotes(ctx, []string{"bitcoin"}, marketgraph.CurrencyUSD)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want context.Canceled", err)
		}
		var ue *coingecko.UpstreamError
		if errors.As(err, &ue) {
			t.Errorf("a cancelled call is an UpstreamError: %v", err)
		}
	})
	t.Run("DeadlinePassed", func(t *testing.T) {
		e := newEnv(t, newSource(), nil)
		ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		defer cancel()
		_, err := e.client.Quotes(ctx, []string{"bitcoin"}, marketgraph.CurrencyUSD)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %v, want context.DeadlineExceeded", err)
		}
		if n := e.fake.Calls(cgfake.PathSimplePrice); n != 0 {
			t.Errorf("%d calls with a passed deadline, want none", n)
		}
	})
	t.Run("DeadlineDuringLatency", func(t *testing.T) {
		e := newEnv(t, newSource(), nil)
		e.fake.SetFault(cgfake.Fault{Latency: time.Hour})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := e.client.Quotes(ctx, []string{"bitcoin"}, marketgraph.CurrencyUSD)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %v, want context.DeadlineExceeded", err)
		}
	})
}

// The resilience layer recognises UpstreamError through these methods.
func TestUpstreamError_RetryAfterError(t *testing.T) {
	var e error = &coingecko.UpstreamError{Status: 429, RetryAfter: 7 * time.Second, Temporary: true}
	var ra marketdata.RetryAfterError
	if !errors.As(e, &ra) || ra.RetryAfterDelay() != 7*time.Second || !ra.IsTemporary() {
		t.Errorf("UpstreamError is not a usable marketdata.RetryAfterError: %v", e)
	}
}
