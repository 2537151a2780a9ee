package coingecko

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// get calls rawURL and decodes its JSON body into out. endpoint is the
// endpoint's pattern, used in errors instead of the URL. A done ctx gives
// ctx.Err() wrapped; every other failure is an *UpstreamError.
func (c *Client) get(ctx context.Context, endpoint, rawURL string, out any) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("coingecko GET %s: %w", endpoint, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		// The URL is built from a validated base and escaped parts.
		return fmt.Errorf("coingecko GET %s: build request: %w", endpoint, unURL(err))
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if c.key != "" {
		req.Header.Set(c.keyHeader, c.key)
	}

	resp, err := c.hc.Do(req)
	if err != nil {
		return c.transportError(ctx, endpoint, err)
	}
	defer resp.Body.Close()

	body, err := c.readBody(resp)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			return newUpstreamError(&UpstreamError{Endpoint: endpoint, Status: resp.StatusCode,
				Detail: fmt.Sprintf("response body over %d bytes", c.maxBody)}, kindTooLarge)
		}
		return c.transportError(ctx, endpoint, err)
	}

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.statusError(endpoint, resp, body)
	}
	// An error body on a 2xx is still an error. No success body can pass
	// for one: it needs a "status" holding an error_code or error_message,
	// or an "error" holding a string or such a status.
	if code, msg, ok := parseErrorBody(body); ok {
		e := &UpstreamError{Endpoint: endpoint, Status: resp.StatusCode, Code: code, Detail: c.sanitize(msg)}
		if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
			e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		}
		return newUpstreamError(e, kindStatus)
	}
	if err := decode(body, out); err != nil {
		return newUpstreamError(&UpstreamError{Endpoint: endpoint, Status: resp.StatusCode,
			Detail: "malformed JSON: " + c.sanitize(err.Error())}, kindMalformed)
	}
	return nil
}

var errTooLarge = errors.New("response body too large")

// readBody reads at most maxBody bytes; a body announced or found to be
// larger is errTooLarge, and the rest of it is never read.
func (c *Client) readBody(resp *http.Response) ([]byte, error) {
	if resp.ContentLength > c.maxBody {
		return nil, errTooLarge
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > c.maxBody {
		return nil, errTooLarge
	}
	return body, nil
}

// decode unmarshals a success body. A body that is empty or a bare null is
// malformed here: no endpoint documents one, and accepting it would turn a
// broken upstream into "no data".
func decode(body []byte, out any) error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return errors.New("empty body")
	}
	if bytes.Equal(trimmed, []byte("null")) {
		return errors.New("body is null")
	}
	return json.Unmarshal(trimmed, out)
}

// transportError turns a failure to get a response into ctx's error when
// ctx is done, and into a temporary UpstreamError otherwise.
func (c *Client) transportError(ctx context.Context, endpoint string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("coingecko GET %s: %w", endpoint, ctxErr)
	}
	err = unURL(err)
	return newUpstreamError(&UpstreamError{Endpoint: endpoint, Detail: c.sanitize(err.Error()), cause: err}, kindNetwork)
}

// statusError describes a non-2xx response.
func (c *Client) statusError(endpoint string, resp *http.Response, body []byte) error {
	e := &UpstreamError{Endpoint: endpoint, Status: resp.StatusCode}
	if code, msg, ok := parseErrorBody(body); ok {
		e.Code, e.Detail = code, c.sanitize(msg)
	} else {
		e.Detail = http.StatusText(resp.StatusCode)
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return newUpstreamError(e, kindStatus)
}

// unURL strips the *url.Error that net/http wraps around transport errors:
// its message repeats the request URL.
func unURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
