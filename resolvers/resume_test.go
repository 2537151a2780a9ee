package resolvers_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/graph"
	"github.com/marketgraph/marketgraph/loaders"
	"github.com/marketgraph/marketgraph/marketdata"
	"github.com/marketgraph/marketgraph/pubsub"
	"github.com/marketgraph/marketgraph/resolvers"
	"github.com/marketgraph/marketgraph/server"
)

// fixture is the memory store and the simulated feed a busServer serves:
// generated once per test, as that takes a while.
type fixture struct {
	store  marketgraph.Store
	quotes marketgraph.QuoteProvider
}

func newFixture(t *testing.T) fixture {
	store, _, quotes := memoryFixture(t)
	return fixture{store, quotes}
}

// busServer serves the real handler over HTTP with the given bus and
// resume window, on the fixed clock quoteTime.
func busServer(t *testing.T, f fixture, bus pubsub.Bus, window time.Duration) *httptest.Server {
	t.Helper()
	store, quotes := f.store, f.quotes
	log := slog.New(slog.DiscardHandler)
	h := server.New(server.Config{
		Schema: graph.NewExecutableSchema(graph.Config{
			Resolvers: resolvers.New(resolvers.Deps{
				Store: store, Log: log, Now: func() time.Time { return quoteTime },
				Bus: bus, ResumeWindow: window,
			}),
			Complexity: resolvers.Complexity(),
		}),
		Logger:           log,
		OperationContext: loaders.PerOperation(loaders.Config{Store: store, Quotes: quotes}),
	})
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts
}

// retainingBus is an in-process bus keeping the newest count ticks of each
// asset, as cmd/marketgraph builds it.
func retainingBus(t *testing.T, count int) *pubsub.Local {
	t.Helper()
	bus := pubsub.NewLocalRetaining(0, pubsub.Retention{Count: count, Prefixes: []string{marketgraph.TickTopic("")}})
	t.Cleanup(func() { _ = bus.Close() })
	return bus
}

// publishAt publishes tick seq of asset at price, published at at.
func publishAt(t *testing.T, bus pubsub.Bus, asset string, seq uint64, price float64, at time.Time) {
	t.Helper()
	b, err := json.Marshal(marketgraph.PriceTick{
		AssetID:  asset,
		Quote:    &marketgraph.Quote{AssetID: asset, Price: price, Currency: marketgraph.CurrencyUSD, AsOf: at},
		Sequence: seq,
		At:       at,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := bus.Publish(context.Background(), marketgraph.TickTopic(asset), b); err != nil {
		t.Fatal(err)
	}
}

// publishRun publishes ticks from..to of asset, one a second ending at
// last, each priced its sequence.
func publishRun(t *testing.T, bus pubsub.Bus, asset string, from, to uint64, last time.Time) {
	t.Helper()
	for seq := from; seq <= to; seq++ {
		publishAt(t, bus, asset, seq, float64(seq), last.Add(-time.Duration(to-seq)*time.Second))
	}
}

// resumedTick is one tick as a resumed subscription receives it.
type resumedTick struct {
	Asset    string
	Price    float64
	Currency string
	Sequence uint64
	At       time.Time
	Delivery string
}

func (r resumedTick) String() string {
	return fmt.Sprintf("%s#%d %s", r.Asset, r.Sequence, r.Delivery)
}

const resumeFields = `{ asset { id } quote { price currency } sequence at delivery }`

// subscribeTicks subscribes to priceTicks with args on a new connection.
func subscribeTicks(t *testing.T, ts *httptest.Server, args string) *wsClient {
	t.Helper()
	c := connect(t, ts, "graphql-transport-ws")
	c.send(subscribeMsg("graphql-transport-ws", "1", `subscription { priceTicks(`+args+`) `+resumeFields+` }`))
	return c
}

// tick reads the next tick of subscription "1".
func (c *wsClient) tick() resumedTick {
	c.t.Helper()
	m := c.read()
	if m.Type != "next" || m.ID != "1" {
		c.t.Fatalf("got %s %s: %s, want a tick", m.Type, m.ID, m.Payload)
	}
	var p struct {
		Data struct {
			PriceTicks struct {
				Asset struct{ ID string }
				Quote struct {
					Price    float64
					Currency string
				}
				Sequence uint64
				At       time.Time
				Delivery string
			}
		}
		Errors []any
	}
	if err := json.Unmarshal(m.Payload, &p); err != nil || len(p.Errors) > 0 {
		c.t.Fatalf("payload %s: %v", m.Payload, err)
	}
	d := p.Data.PriceTicks
	return resumedTick{d.Asset.ID, d.Quote.Price, d.Quote.Currency, d.Sequence, d.At, d.Delivery}
}

// ticks reads n ticks.
func (c *wsClient) ticks(n int) []resumedTick {
	c.t.Helper()
	out := make([]resumedTick, n)
	for i := range out {
		out[i] = c.tick()
	}
	return out
}

// expect checks got against want, written as "asset#seq DELIVERY".
func expect(t *testing.T, got []resumedTick, want ...string) {
	t.Helper()
	s := make([]string, len(got))
	for i, g := range got {
		s[i] = g.String()
	}
	if strings.Join(s, ", ") != strings.Join(want, ", ") {
		t.Errorf("got   %s\nwant  %s", strings.Join(s, ", "), strings.Join(want, ", "))
	}
}

func TestSubscriptions_Resume(t *testing.T) {
	fx := newFixture(t)
	t.Run("NoGap", func(t *testing.T) {
		bus := retainingBus(t, 100)
		ts := busServer(t, fx, bus, 0)
		publishRun(t, bus, "bitcoin", 1, 10, quoteTime)
		c := subscribeTicks(t, ts, `assetIds: ["bitcoin"], resumeFrom: "6"`)
		got := c.ticks(4)
		expect(t, got, "bitcoin#7 REPLAY", "bitcoin#8 REPLAY", "bitcoin#9 REPLAY", "bitcoin#10 REPLAY")
		if got[0].Price != 7 || !got[3].At.Equal(quoteTime) {
			t.Errorf("replayed ticks %+v, want them as published", got)
		}
		// Tick 10 again, as when it is published between the subscription
		// and the history read: the client has it, so it is not resent.
		publishAt(t, bus, "bitcoin", 10, 10, quoteTime)
		publishAt(t, bus, "bitcoin", 11, 11, quoteTime.Add(time.Second))
		expect(t, c.ticks(1), "bitcoin#11 LIVE")
	})
	t.Run("ManyMissed", func(t *testing.T) {
		// More than a resumption reads at first.
		bus := retainingBus(t, 100)
		ts := busServer(t, fx, bus, 0)
		publishRun(t, bus, "bitcoin", 1, 80, quoteTime)
		c := subscribeTicks(t, ts, `assetIds: ["bitcoin"], resumeFrom: "5"`)
		var want []string
		for seq := 6; seq <= 80; seq++ {
			want = append(want, fmt.Sprintf("bitcoin#%d REPLAY", seq))
		}
		expect(t, c.ticks(len(want)), want...)
	})
	t.Run("GapOlderThanBuffer", func(t *testing.T) {
		bus := retainingBus(t, 5) // retains 6..10
		ts := busServer(t, fx, bus, 0)
		publishRun(t, bus, "bitcoin", 1, 10, quoteTime)
		c := subscribeTicks(t, ts, `assetIds: ["bitcoin"], resumeFrom: "4"`)
		got := c.ticks(1)
		expect(t, got, "bitcoin#10 RESYNC")
		if got[0].Price != 10 {
			t.Errorf("resync tick price %v, want the newest, 10", got[0].Price)
		}
		publishAt(t, bus, "bitcoin", 11, 11, quoteTime.Add(time.Second))
		expect(t, c.ticks(1), "bitcoin#11 LIVE")

		// 7..11 are retained: exactly what a client that saw 6 missed.
		c = subscribeTicks(t, ts, `assetIds: ["bitcoin"], resumeFrom: "6"`)
		expect(t, c.ticks(5), "bitcoin#7 REPLAY", "bitcoin#8 REPLAY", "bitcoin#9 REPLAY", "bitcoin#10 REPLAY", "bitcoin#11 REPLAY")
		publishAt(t, bus, "bitcoin", 12, 12, quoteTime.Add(2*time.Second))
		expect(t, c.ticks(1), "bitcoin#12 LIVE")
	})
	t.Run("GapOlderThanWindow", func(t *testing.T) {
		bus := retainingBus(t, 100)
		ts := busServer(t, fx, bus, time.Minute)
		// 1..5 two minutes ago, 6..8 in the last minute.
		publishRun(t, bus, "bitcoin", 1, 5, quoteTime.Add(-2*time.Minute))
		publishRun(t, bus, "bitcoin", 6, 8, quoteTime)
		c := subscribeTicks(t, ts, `assetIds: ["bitcoin"], resumeFrom: "3"`)
		expect(t, c.ticks(1), "bitcoin#8 RESYNC")
		c = subscribeTicks(t, ts, `assetIds: ["bitcoin"], resumeFrom: "5"`)
		expect(t, c.ticks(3), "bitcoin#6 REPLAY", "bitcoin#7 REPLAY", "bitcoin#8 REPLAY")
	})
	t.Run("UpToDate", func(t *testing.T) {
		bus := retainingBus(t, 100)
		ts := busServer(t, fx, bus, 0)
		publishRun(t, bus, "bitcoin", 1, 3, quoteTime)
		c := subscribeTicks(t, ts, `assetIds: ["bitcoin"], resumeFrom: "3"`)
		waitFor(t, "bus subscriber", func() bool { return bus.Subscribers(marketgraph.TickTopic("bitcoin")) == 1 })
		publishAt(t, bus, "bitcoin", 4, 4, quoteTime.Add(time.Second))
		expect(t, c.ticks(1), "bitcoin#4 LIVE")
	})
	t.Run("StreamRestarted", func(t *testing.T) {
		// The client's number is beyond anything the stream has: the
		// stream started again, and the client is told.
		bus := retainingBus(t, 100)
		ts := busServer(t, fx, bus, 0)
		publishRun(t, bus, "bitcoin", 1, 3, quoteTime)
		c := subscribeTicks(t, ts, `assetIds: ["bitcoin"], resumeFrom: "500"`)
		expect(t, c.ticks(1), "bitcoin#3 RESYNC")
	})
	t.Run("HistoryHoldsARestart", func(t *testing.T) {
		// 498..500 of an older stream, then a new one from 1: only the new
		// one's numbers mean anything.
		bus := retainingBus(t, 100)
		ts := busServer(t, fx, bus, 0)
		publishRun(t, bus, "bitcoin", 498, 500, quoteTime.Add(-time.Minute))
		publishRun(t, bus, "bitcoin", 1, 3, quoteTime)
		c := subscribeTicks(t, ts, `assetIds: ["bitcoin"], resumeFrom: "499"`)
		expect(t, c.ticks(1), "bitcoin#3 RESYNC")
		c = subscribeTicks(t, ts, `assetIds: ["bitcoin"], resumeFrom: "1"`)
		expect(t, c.ticks(2), "bitcoin#2 REPLAY", "bitcoin#3 REPLAY")
	})
	t.Run("NothingRetained", func(t *testing.T) {
		// The client saw ticks of a stream the bus knows nothing of (an
		// in-process bus after a restart): the current quote, as sequence
		// 0, comes before the new stream's tick 1.
		bus := retainingBus(t, 100)
		ts := busServer(t, fx, bus, 0)
		c := subscribeTicks(t, ts, `assetIds: ["bitcoin"], resumeFrom: "42"`)
		got := c.ticks(1)
		expect(t, got, "bitcoin#0 RESYNC")
		if got[0].Price <= 0 || got[0].Currency != "USD" {
			t.Errorf("resync tick %+v, want the current USD quote", got[0])
		}
		publishAt(t, bus, "bitcoin", 1, 1, quoteTime)
		expect(t, c.ticks(1), "bitcoin#1 LIVE")
	})
	t.Run("ZeroReplaysTheWholeStream", func(t *testing.T) {
		bus := retainingBus(t, 100)
		ts := busServer(t, fx, bus, 0)
		publishRun(t, bus, "bitcoin", 1, 2, quoteTime)
		c := subscribeTicks(t, ts, `assetIds: ["bitcoin"], resumeFrom: "0"`)
		expect(t, c.ticks(2), "bitcoin#1 REPLAY", "bitcoin#2 REPLAY")
	})
	t.Run("BareNumberAppliesToEveryAsset", func(t *testing.T) {
		bus := retainingBus(t, 100)
		ts := busServer(t, fx, bus, 0)
		publishRun(t, bus, "bitcoin", 1, 3, quoteTime)
		publishRun(t, bus, "ethereum", 1, 3, quoteTime.Add(-time.Second/2))
		c := subscribeTicks(t, ts, `assetIds: ["ethereum", "bitcoin"], resumeFrom: "1"`)
		// Interleaved as published: ethereum's half a second earlier.
		expect(t, c.ticks(4), "ethereum#2 REPLAY", "bitcoin#2 REPLAY", "ethereum#3 REPLAY", "bitcoin#3 REPLAY")
	})
	t.Run("List", func(t *testing.T) {
		bus := retainingBus(t, 100)
		ts := busServer(t, fx, bus, 0)
		publishRun(t, bus, "bitcoin", 1, 10, quoteTime)
		publishRun(t, bus, "ethereum", 1, 5, quoteTime.Add(-10*time.Second))
		publishRun(t, bus, "solana", 1, 5, quoteTime)
		c := subscribeTicks(t, ts, `assetIds: ["bitcoin", "ethereum", "solana"], resumeFrom: "bitcoin:8, ethereum:2"`)
		expect(t, c.ticks(5), "ethereum#3 REPLAY", "ethereum#4 REPLAY", "ethereum#5 REPLAY", "bitcoin#9 REPLAY", "bitcoin#10 REPLAY")
		// solana is not listed: live ticks only.
		publishAt(t, bus, "solana", 6, 6, quoteTime.Add(time.Second))
		expect(t, c.ticks(1), "solana#6 LIVE")
	})
	t.Run("ReplayIsNotThrottled", func(t *testing.T) {
		bus := retainingBus(t, 100)
		ts := busServer(t, fx, bus, 0)
		publishRun(t, bus, "bitcoin", 1, 5, quoteTime)
		c := subscribeTicks(t, ts, `assetIds: ["bitcoin"], minIntervalMs: 60000, resumeFrom: "1"`)
		// With a minute between live ticks, these four would take three
		// minutes and the test's deadline would end it.
		expect(t, c.ticks(4), "bitcoin#2 REPLAY", "bitcoin#3 REPLAY", "bitcoin#4 REPLAY", "bitcoin#5 REPLAY")
	})
	t.Run("InAnotherCurrency", func(t *testing.T) {
		bus := retainingBus(t, 100)
		ts := busServer(t, fx, bus, 0)
		publishAt(t, bus, "bitcoin", 1, 100, quoteTime.Add(-time.Second))
		publishAt(t, bus, "bitcoin", 2, 200, quoteTime)
		c := subscribeTicks(t, ts, `assetIds: ["bitcoin"], currency: EUR, resumeFrom: "0"`)
		got := c.ticks(2)
		expect(t, got, "bitcoin#1 REPLAY", "bitcoin#2 REPLAY")
		// Each at the current rate, not each the current price.
		for i, want := range []float64{100 * marketdata.EURPerUSD, 200 * marketdata.EURPerUSD} {
			if got[i].Currency != "EUR" || math.Abs(got[i].Price-want) > 1e-9 {
				t.Errorf("replayed tick %d = %v %s, want %v EUR", i, got[i].Price, got[i].Currency, want)
			}
		}
	})
}

// historyFailingBus is a bus whose history cannot be read, like the Redis
// bus while it reconnects.
type historyFailingBus struct{ *pubsub.Local }

func (historyFailingBus) History(context.Context, string, int) ([][]byte, error) {
	return nil, errors.New("connection refused")
}

func TestSubscriptions_ResumeErrors(t *testing.T) {
	fx := newFixture(t)
	bus := retainingBus(t, 100)
	ts := busServer(t, fx, bus, 0)
	for _, tc := range []struct{ name, resumeFrom, mention string }{
		{"Empty", `""`, "resumeFrom: empty"},
		{"Blank", `"  "`, "resumeFrom: empty"},
		{"NotANumber", `"abc"`, `resumeFrom: "abc" is not a sequence number`},
		{"Fraction", `"1.5"`, "is not a sequence number"},
		{"Plus", `"+3"`, "is not a sequence number"},
		{"Negative", `"-1"`, `resumeFrom: "-1" is negative`},
		{"NegativeInList", `"bitcoin:-1"`, `"-1" is negative`},
		{"Overflow", `"99999999999999999999"`, "larger than the largest sequence"},
		{"BeyondInt", `"9223372036854775808"`, "larger than the largest sequence, 9223372036854775807"},
		{"UnknownAsset", `"dogecoin:1"`, `resumeFrom: "dogecoin" is not one of assetIds`},
		{"DuplicateAsset", `"bitcoin:1,bitcoin:2"`, `resumeFrom: "bitcoin" is given more than once`},
		{"MissingSequence", `"bitcoin:"`, "a sequence number is missing"},
		{"MissingAsset", `":5"`, "has no asset id"},
		{"EmptyEntry", `"bitcoin:1,"`, "entry 2"},
		{"NoColon", `"bitcoin:1,ethereum"`, `entry 2 ("ethereum") is not asset:sequence`},
		{"NUL", `"bit\u0000coin:1"`, "resumeFrom: must not contain NUL bytes"},
		{"TooLong", `"` + strings.Repeat("1", 30000) + `"`, "resumeFrom: longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := subscribeTicks(t, ts, `assetIds: ["bitcoin", "ethereum"], resumeFrom: `+tc.resumeFrom)
			code, msg := subscriptionError(t, c)
			if code != marketgraph.EBADINPUT || !strings.Contains(msg, tc.mention) {
				t.Errorf("error %s %q, want %s mentioning %q", code, msg, marketgraph.EBADINPUT, tc.mention)
			}
		})
	}
	t.Run("HistoryUnavailable", func(t *testing.T) {
		local := retainingBus(t, 100)
		ts := busServer(t, fx, historyFailingBus{local}, 0)
		c := subscribeTicks(t, ts, `assetIds: ["bitcoin"], resumeFrom: "1"`)
		code, msg := subscriptionError(t, c)
		if code != marketgraph.EUPSTREAM || !strings.Contains(msg, "resumeFrom") {
			t.Errorf("error %s %q, want %s about resumeFrom", code, msg, marketgraph.EUPSTREAM)
		}
		waitFor(t, "bus subscription released", func() bool { return local.Subscribers(marketgraph.TickTopic("bitcoin")) == 0 })
	})
	if n := bus.Subscribers(marketgraph.TickTopic("bitcoin")); n != 0 {
		t.Errorf("%d subscriptions left on the bus", n)
	}
}

// subscriptionError reads the error that ends subscription "1".
func subscriptionError(t *testing.T, c *wsClient) (code, message string) {
	t.Helper()
	m := c.read()
	var errs []struct {
		Message    string
		Extensions struct{ Code string }
	}
	switch m.Type {
	case "error":
		_ = json.Unmarshal(m.Payload, &errs)
	case "next":
		var p struct{ Errors json.RawMessage }
		_ = json.Unmarshal(m.Payload, &p)
		_ = json.Unmarshal(p.Errors, &errs)
	}
	if len(errs) == 0 {
		t.Fatalf("got %s %s, want an error", m.Type, m.Payload)
	}
	return errs[0].Extensions.Code, errs[0].Message
}

// Over Redis, the history is shared: a server resumes a client from ticks
// another replica published, and its live subscription is confirmed by
// Redis before the history is read.
func TestSubscriptions_ResumeOverRedis(t *testing.T) {
	url := os.Getenv("TEST_REDIS_URL")
	if url == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("TEST_REDIS_URL is not set (required under CI)")
		}
		t.Skip("TEST_REDIS_URL is not set; skipping the Redis resumption test")
	}
	prefix := fmt.Sprintf("test:resolvers:%d:", time.Now().UnixNano())
	retain := pubsub.Retention{Count: 100, Prefixes: []string{marketgraph.TickTopic("")}, TTL: time.Minute}
	newBus := func() *pubsub.Redis {
		b, err := pubsub.NewRedis(context.Background(), pubsub.RedisConfig{URL: url, Prefix: prefix, Retention: retain})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = b.Close() })
		return b
	}
	ingest, replica := newBus(), newBus()
	fx := newFixture(t)
	ts := busServer(t, fx, replica, 0)
	publishRun(t, ingest, "bitcoin", 1, 5, quoteTime)
	c := subscribeTicks(t, ts, `assetIds: ["bitcoin"], resumeFrom: "3"`)
	expect(t, c.ticks(2), "bitcoin#4 REPLAY", "bitcoin#5 REPLAY")
	// Once replayed, the subscription is live: the next tick arrives
	// without any waiting for Redis.
	publishAt(t, ingest, "bitcoin", 6, 6, quoteTime.Add(time.Second))
	expect(t, c.ticks(1), "bitcoin#6 LIVE")
}
