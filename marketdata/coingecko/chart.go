package coingecko

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/marketgraph/marketgraph"
)

const chartPath = "/coins/{id}/market_chart/range"

// Point is one sample of a chart.
type Point struct {
	At    time.Time
	Value float64
}

// MarketChart is a coin's history from /coins/{id}/market_chart/range:
// prices, market caps and 24 h volumes, each in the order sent (oldest
// first). CoinGecko picks the granularity from the range: 5-minutely
// within a day of now, hourly up to 90 days, daily beyond.
type MarketChart struct {
	Prices, MarketCaps, TotalVolumes []Point
}

// chartWire is the response on the wire: [milliseconds, value] pairs.
type chartWire struct {
	Prices       []json.RawMessage `json:"prices"`
	MarketCaps   []json.RawMessage `json:"market_caps"`
	TotalVolumes []json.RawMessage `json:"total_volumes"`
}

// MarketChartRange returns the history of coin id in currency between from
// and to (sent as Unix seconds, so sub-second parts are dropped). A sample
// whose time or value is null is skipped; a sample that is not a
// [time, value] pair makes the response malformed.
//
// An empty id, a negative from, or from after to is BAD_USER_INPUT, made
// before any call; a done ctx returns ctx.Err() wrapped; any other failure
// is an *UpstreamError, including CoinGecko's 404 for an unknown coin
// (Status 404, not Temporary).
func (c *Client) MarketChartRange(ctx context.Context, id string, currency marketgraph.Currency, from, to time.Time) (*MarketChart, error) {
	vs := vsCurrency(currency)
	switch {
	case vs == "":
		return nil, marketgraph.Errorf(marketgraph.EBADINPUT, "currency: unsupported currency %q", currency)
	case id == "":
		return nil, marketgraph.Errorf(marketgraph.EBADINPUT, "id: required")
	case from.Unix() < 0:
		return nil, marketgraph.Errorf(marketgraph.EBADINPUT, "from: before 1970")
	case from.After(to):
		return nil, marketgraph.Errorf(marketgraph.EBADINPUT, "from: after to")
	}
	u := c.base + "/coins/" + url.PathEscape(id) + "/market_chart/range?vs_currency=" + vs +
		"&from=" + strconv.FormatInt(from.Unix(), 10) + "&to=" + strconv.FormatInt(to.Unix(), 10)
	if len(u) > c.maxURL {
		return nil, marketgraph.Errorf(marketgraph.EBADINPUT, "id: too long")
	}

	var w chartWire
	if err := c.get(ctx, chartPath, u, &w); err != nil {
		return nil, err
	}
	var mc MarketChart
	var err error
	if mc.Prices, err = points(w.Prices); err == nil {
		if mc.MarketCaps, err = points(w.MarketCaps); err == nil {
			mc.TotalVolumes, err = points(w.TotalVolumes)
		}
	}
	if err != nil {
		return nil, newUpstreamError(&UpstreamError{Endpoint: chartPath, Status: 200,
			Detail: "malformed JSON: " + err.Error()}, kindMalformed)
	}
	return &mc, nil
}

// points decodes [milliseconds, value] pairs.
func points(raw []json.RawMessage) ([]Point, error) {
	out := make([]Point, 0, len(raw))
	for i, r := range raw {
		var pair []*float64
		if err := json.Unmarshal(r, &pair); err != nil || len(pair) != 2 {
			return nil, fmt.Errorf("sample %d is not a [time, value] pair", i)
		}
		if pair[0] == nil || pair[1] == nil {
			continue
		}
		ms := *pair[0]
		if ms < -1e15 || ms > 1e15 {
			return nil, fmt.Errorf("sample %d has an implausible time", i)
		}
		out = append(out, Point{At: time.UnixMilli(int64(ms)).UTC(), Value: *pair[1]})
	}
	return out, nil
}
