package subload

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// assetsQuery asks for the ids of the first page of the catalog, by rank.
const assetsQuery = `query($first: Int) { assets(first: $first) { edges { node { id } } } }`

// FetchAssets returns the ids of the top n assets of the server at wsURL
// (ws://host:port/graphql), asked over HTTP POST at the same address.
func FetchAssets(ctx context.Context, wsURL string, n int) ([]string, error) {
	u, err := httpURL(wsURL)
	if err != nil {
		return nil, err
	}
	body, _ := json.Marshal(map[string]any{"query": assetsQuery, "variables": map[string]any{"first": n}})
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("subload: fetch assets: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("subload: fetch assets from %s: %w", u, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("subload: fetch assets from %s: %w", u, err)
	}
	var out struct {
		Data *struct {
			Assets struct {
				Edges []struct {
					Node struct {
						ID string `json:"id"`
					} `json:"node"`
				} `json:"edges"`
			} `json:"assets"`
		} `json:"data"`
		Errors []gqlError `json:"errors"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("subload: fetch assets from %s: HTTP %d, %.200s", u, res.StatusCode, b)
	}
	if len(out.Errors) > 0 {
		return nil, fmt.Errorf("subload: fetch assets from %s: %s", u, out.Errors[0])
	}
	if out.Data == nil || len(out.Data.Assets.Edges) == 0 {
		return nil, fmt.Errorf("subload: fetch assets from %s: the catalog is empty", u)
	}
	ids := make([]string, len(out.Data.Assets.Edges))
	for i, e := range out.Data.Assets.Edges {
		ids[i] = e.Node.ID
	}
	return ids, nil
}

// httpURL is the HTTP address of the WebSocket endpoint ws.
func httpURL(ws string) (string, error) {
	u, err := url.Parse(ws)
	if err != nil {
		return "", fmt.Errorf("subload: URL %q: %w", ws, err)
	}
	switch u.Scheme {
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	case "http", "https":
	default:
		return "", fmt.Errorf("subload: URL %q: want ws://host:port/graphql", ws)
	}
	if u.Host == "" {
		return "", fmt.Errorf("subload: URL %q has no host", ws)
	}
	return u.String(), nil
}
