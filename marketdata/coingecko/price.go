package coingecko

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/marketgraph/marketgraph"
)

var _ marketgraph.QuoteProvider = (*Client)(nil)

const pricePath = "/simple/price"

// vsCurrency is CoinGecko's name of a currency, "" for one we do not offer.
func vsCurrency(c marketgraph.Currency) string {
	if !c.Valid() {
		return ""
	}
	return strings.ToLower(string(c))
}

// Quotes returns the live quotes of ids in currency from /simple/price,
// keyed by id. It implements marketgraph.QuoteProvider.
//
// Ids are deduplicated and split into as many calls as MaxIDsPerCall and
// MaxURLLen require. The calls run one after another: the default limits
// fit well over a hundred typical ids in one call, so a split is rare, and
// sequential calls never burst the provider's rate limit. The first call
// that fails fails the whole batch (partial results are dropped; the
// resilience layer retries or serves stale quotes).
//
// An id is absent from the map when the response lacks it or gives it no
// positive price, and also, without a call, when it cannot be a CoinGecko
// id: empty, holding a comma (the list separator), or too long to fit a
// URL on its own. The caller reports NOT_FOUND for absent ids. Market cap,
// volume and change are nil when null or missing; AsOf is last_updated_at,
// or the time the response arrived when that is missing.
//
// An unsupported currency is BAD_USER_INPUT; a done ctx returns ctx.Err()
// wrapped; any other failure is an *UpstreamError (UPSTREAM_UNAVAILABLE).
func (c *Client) Quotes(ctx context.Context, ids []string, currency marketgraph.Currency) (map[string]*marketgraph.Quote, error) {
	vs := vsCurrency(currency)
	if vs == "" {
		return nil, marketgraph.Errorf(marketgraph.EBADINPUT, "currency: unsupported currency %q", currency)
	}
	prefix := c.base + pricePath + "?vs_currencies=" + vs +
		"&include_market_cap=true&include_24hr_vol=true&include_24hr_change=true&include_last_updated_at=true&precision=full&ids="
	chunks := chunkIDs(dedupe(ids), c.maxIDs, c.maxURL-len(prefix))

	out := make(map[string]*marketgraph.Quote, len(ids))
	for _, chunk := range chunks {
		var resp map[string]map[string]json.RawMessage
		if err := c.get(ctx, pricePath, prefix+strings.Join(chunk.escaped, ","), &resp); err != nil {
			return nil, err
		}
		received := time.Now().UTC()
		for _, id := range chunk.ids {
			q, err := priceQuote(id, resp[id], vs, currency, received)
			if err != nil {
				return nil, newUpstreamError(&UpstreamError{Endpoint: pricePath, Status: http.StatusOK,
					Detail: "malformed JSON: " + c.sanitize(err.Error())}, kindMalformed)
			}
			if q != nil {
				out[id] = q
			}
		}
	}
	return out, nil
}

// priceQuote reads one coin of a /simple/price response: fields vs,
// vs_market_cap, vs_24h_vol, vs_24h_change and last_updated_at (note the
// "24h" where the request said "24hr"). Fields it does not read are
// ignored, so the API may add some; one it reads that is neither a number
// nor null is an error. Nil when there is no usable price.
func priceQuote(id string, fields map[string]json.RawMessage, vs string, currency marketgraph.Currency, received time.Time) (*marketgraph.Quote, error) {
	var nums [5]*float64
	for i, k := range [...]string{vs, vs + "_market_cap", vs + "_24h_vol", vs + "_24h_change", "last_updated_at"} {
		if raw, ok := fields[k]; ok {
			if err := json.Unmarshal(raw, &nums[i]); err != nil {
				return nil, fmt.Errorf("%s.%s is not a number", id, k)
			}
		}
	}
	price, updated := nums[0], nums[4]
	if price == nil || !(*price > 0) {
		return nil, nil
	}
	q := &marketgraph.Quote{
		AssetID:   id,
		Price:     *price,
		MarketCap: nums[1],
		Volume24h: nums[2],
		Change24h: nums[3],
		Currency:  currency,
		AsOf:      received,
	}
	if updated != nil && *updated > 0 && *updated < 1<<40 {
		q.AsOf = time.Unix(int64(*updated), 0).UTC()
	}
	return q, nil
}

// dedupe returns ids without repeats, in first-seen order, and without the
// ids no call can carry: empty ones and ones holding the comma that
// separates ids in a request.
func dedupe(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id == "" || strings.Contains(id, ",") || seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, id)
	}
	return out
}

// idChunk is the ids of one call and their escaped forms.
type idChunk struct {
	ids, escaped []string
}

// chunkIDs splits ids into chunks of at most maxCount ids whose escaped,
// comma-joined form takes at most maxBytes. An id too long for a chunk of
// its own is dropped (it cannot be a real coin id, and it must not fail the
// others).
func chunkIDs(ids []string, maxCount, maxBytes int) []idChunk {
	var chunks []idChunk
	var cur idChunk
	size := 0
	for _, id := range ids {
		esc := url.QueryEscape(id)
		if len(esc) > maxBytes {
			continue
		}
		need := len(esc)
		if len(cur.ids) > 0 {
			need++ // the comma
		}
		if len(cur.ids) == maxCount || size+need > maxBytes {
			chunks = append(chunks, cur)
			cur, size, need = idChunk{}, 0, len(esc)
		}
		cur.ids = append(cur.ids, id)
		cur.escaped = append(cur.escaped, esc)
		size += need
	}
	if len(cur.ids) > 0 {
		chunks = append(chunks, cur)
	}
	return chunks
}
