package server_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/marketgraph/marketgraph/persisted"
	"github.com/marketgraph/marketgraph/server"
)

// persistedBody is a POST body naming a document by its APQ hash, with the
// query when query is not "".
func persistedBody(hash, query string) string {
	m := map[string]any{"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}}
	if query != "" {
		m["query"] = query
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// persistedGet is the query component of a GET naming a document by its
// APQ hash, with the query when query is not "".
func persistedGet(hash, query string) string {
	v := url.Values{"extensions": {`{"persistedQuery":{"version":1,"sha256Hash":"` + hash + `"}}`}}
	if query != "" {
		v.Set("query", query)
	}
	return v.Encode()
}

// checkDataOnly asserts a 200 with the given data and no errors.
func checkDataOnly(t *testing.T, res result, data string) {
	t.Helper()
	if res.status != http.StatusOK || res.fields["errors"] != nil || string(res.fields["data"]) != data {
		t.Errorf("got %d %s, want 200 with data %s", res.status, res.body, data)
	}
}

// Automatic persisted queries, the Apollo protocol: the hash alone is
// PersistedQueryNotFound until the client has sent the query with it; the
// hash with the query runs it and registers it; then the hash alone runs
// it. GET takes part in the protocol like POST.
func TestAPQ_RoundTrip(t *testing.T) {
	for _, method := range []string{http.MethodPost, http.MethodGet} {
		t.Run(method, func(t *testing.T) {
			ts, logs := newServer(t, nil)
			send := func(hash, query, accept string) result {
				if method == http.MethodGet {
					return get(t, ts, accept, persistedGet(hash, query))
				}
				return postQuery(t, ts, accept, persistedBody(hash, query))
			}
			query := "{ q: __typename }"
			hash := persisted.Hash(query)

			// Both media types: application/json answers request errors
			// 200, as Apollo Client's APQ link expects of older servers.
			res := send(hash, "", gqlResponse)
			checkRequestError(t, res, http.StatusBadRequest, "PERSISTED_QUERY_NOT_FOUND")
			if msg := res.errors(t)[0].Message; msg != "PersistedQueryNotFound" {
				t.Errorf("message %q, want PersistedQueryNotFound (Apollo clients match it)", msg)
			}
			checkMedia(t, res, gqlResponse)
			checkRequestError(t, send(hash, "", jsonMedia), http.StatusOK, "PERSISTED_QUERY_NOT_FOUND")

			checkDataOnly(t, send(hash, query, gqlResponse), `{"q":"Query"}`)
			checkDataOnly(t, send(hash, "", gqlResponse), `{"q":"Query"}`)
			checkDataOnly(t, send(hash, "", jsonMedia), `{"q":"Query"}`)

			// The hash must be the query's: no registering a document
			// under another's hash.
			other := "{ other: __typename }"
			res = send(persisted.Hash(other), query, gqlResponse)
			checkRequestError(t, res, http.StatusBadRequest, "BAD_REQUEST")
			checkRequestError(t, send(persisted.Hash(other), "", gqlResponse), http.StatusBadRequest, "PERSISTED_QUERY_NOT_FOUND")
			if errs := logs.errorRecords(); len(errs) > 0 {
				t.Errorf("error-level logs: %+v", errs)
			}
		})
	}
}

// A malformed persistedQuery extension is the client's mistake: BAD_REQUEST
// saying what is wrong, never INTERNAL, and nothing is logged as an error
// or looked up.
func TestAPQ_MalformedExtension(t *testing.T) {
	ts, logs := newServer(t, nil)
	hash := persisted.Hash("{ __typename }")
	for _, tc := range []struct{ name, ext, mention string }{
		{"NotAnObject", `"abc"`, "must be an object"},
		{"HashMissing", `{"version":1}`, "sha256Hash"},
		{"HashNotString", `{"version":1,"sha256Hash":42}`, "sha256Hash"},
		{"HashTooShort", `{"version":1,"sha256Hash":"abc"}`, "64 lowercase hex"},
		{"HashUppercase", `{"version":1,"sha256Hash":"` + strings.ToUpper(hash) + `"}`, "64 lowercase hex"},
		{"HashHuge", `{"version":1,"sha256Hash":"` + strings.Repeat("a", 100_000) + `"}`, "64 lowercase hex"},
		{"HashNotHex", `{"version":1,"sha256Hash":"` + strings.Repeat("g", 64) + `"}`, "64 lowercase hex"},
		{"VersionMissing", `{"sha256Hash":"` + hash + `"}`, "version must be 1"},
		{"Version2", `{"version":2,"sha256Hash":"` + hash + `"}`, "version must be 1"},
		{"VersionString", `{"version":"1","sha256Hash":"` + hash + `"}`, "version must be 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, query := range []string{"", `,"query":"{ __typename }"`} {
				res := postQuery(t, ts, gqlResponse, `{"extensions":{"persistedQuery":`+tc.ext+`}`+query+`}`)
				checkRequestError(t, res, http.StatusBadRequest, "BAD_REQUEST")
				if msg := res.errors(t)[0].Message; !strings.Contains(msg, tc.mention) {
					t.Errorf("message %q does not mention %q", msg, tc.mention)
				}
			}
		})
	}
	t.Run("QueryMissing", func(t *testing.T) {
		res := postQuery(t, ts, gqlResponse, `{"extensions":{"other":1}}`)
		checkRequestError(t, res, http.StatusBadRequest, "BAD_REQUEST")
		if msg := res.errors(t)[0].Message; !strings.Contains(msg, `"query" is missing`) {
			t.Errorf("message %q", msg)
		}
	})
	if errs := logs.errorRecords(); len(errs) > 0 {
		t.Errorf("error-level logs: %+v", errs)
	}
}

// A hash alone that resolves to a subscription (or mutation) over GET is
// refused for its method, like the same document sent as text.
func TestAPQ_GetRefusesUnsafeOperations(t *testing.T) {
	cache := persisted.NewLRU(10, 0)
	ts, _ := newServer(t, func(c *server.Config) { c.APQCache = cache })
	sub := `subscription { priceTicks(assetIds: ["bitcoin"]) { sequence } }`
	cache.Add(context.Background(), persisted.Hash(sub), sub)
	res := get(t, ts, gqlResponse, persistedGet(persisted.Hash(sub), ""))
	checkRequestError(t, res, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED")
	if allow := res.header.Get("Allow"); allow != http.MethodPost {
		t.Errorf("Allow = %q, want POST", allow)
	}
	// Registering it over GET fails the same way, before anything is
	// stored.
	sub2 := `subscription { signals { id } }`
	checkRequestError(t, get(t, ts, gqlResponse, persistedGet(persisted.Hash(sub2), sub2)), http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED")
	if _, ok := cache.Get(context.Background(), persisted.Hash(sub2)); ok {
		t.Error("a subscription sent over GET was registered")
	}
}

// The cache is what replicas share: a document registered through one
// server runs by hash on another; a document stored under a hash that is
// not its own (a poisoned shared cache) is a miss.
func TestAPQ_SharedCache(t *testing.T) {
	cache := persisted.NewLRU(10, 0)
	one, _ := newServer(t, func(c *server.Config) { c.APQCache = cache })
	two, _ := newServer(t, func(c *server.Config) { c.APQCache = cache })
	query := "{ shared: __typename }"
	checkDataOnly(t, postQuery(t, one, gqlResponse, persistedBody(persisted.Hash(query), query)), `{"shared":"Query"}`)
	checkDataOnly(t, postQuery(t, two, gqlResponse, persistedBody(persisted.Hash(query), "")), `{"shared":"Query"}`)

	victim := "{ victim: __typename }"
	cache.Add(context.Background(), persisted.Hash(victim), "{ planted: __typename }")
	checkRequestError(t, postQuery(t, two, gqlResponse, persistedBody(persisted.Hash(victim), "")), http.StatusBadRequest, "PERSISTED_QUERY_NOT_FOUND")
}

// The same with Redis as the shared cache, as serve wires it when REDIS_URL
// is set.
func TestAPQ_Redis(t *testing.T) {
	u := os.Getenv("TEST_REDIS_URL")
	if u == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("TEST_REDIS_URL is not set (required under CI)")
		}
		t.Skip("TEST_REDIS_URL is not set; skipping the Redis APQ test")
	}
	prefix := "test:server-apq:" + rand.Text()[:12] + ":"
	opts, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
		rdb.Close()
	})
	replica := func() *httptest.Server {
		r, err := persisted.NewRedis(context.Background(), persisted.RedisConfig{URL: u, Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		ts, _ := newServer(t, func(c *server.Config) { c.APQCache = persisted.Tiered(persisted.NewLRU(10, 0), r) })
		return ts
	}
	one, two := replica(), replica()
	query := "{ redis: __typename }"
	hash := persisted.Hash(query)
	checkRequestError(t, postQuery(t, two, gqlResponse, persistedBody(hash, "")), http.StatusBadRequest, "PERSISTED_QUERY_NOT_FOUND")
	checkDataOnly(t, postQuery(t, one, gqlResponse, persistedBody(hash, query)), `{"redis":"Query"}`)
	checkDataOnly(t, postQuery(t, two, gqlResponse, persistedBody(hash, "")), `{"redis":"Query"}`)

	if v, err := rdb.Get(context.Background(), prefix+hash).Result(); err != nil || v != query {
		t.Errorf("Redis holds %q (%v) under the hash, want the query", v, err)
	}
}

// With APQ off a hash alone is PERSISTED_QUERY_NOT_SUPPORTED, which tells
// Apollo clients to stop sending hashes, and a hash with the query runs the
// query.
func TestAPQ_Disabled(t *testing.T) {
	ts, _ := newServer(t, func(c *server.Config) { c.DisableAPQ = true })
	query := "{ off: __typename }"
	checkRequestError(t, postQuery(t, ts, gqlResponse, persistedBody(persisted.Hash(query), "")), http.StatusBadRequest, "PERSISTED_QUERY_NOT_SUPPORTED")
	checkDataOnly(t, postQuery(t, ts, gqlResponse, persistedBody(persisted.Hash(query), query)), `{"off":"Query"}`)
	checkRequestError(t, postQuery(t, ts, gqlResponse, persistedBody(persisted.Hash(query), "")), http.StatusBadRequest, "PERSISTED_QUERY_NOT_SUPPORTED")
}

// The trusted documents of the tests below: one query by its SHA-256 (as an
// Apollo manifest lists it), a subscription under a Relay-style id.
const (
	trustedAsset = `query Asset($id: ID!) { asset(id: $id) { symbol } }`
	trustedTicks = `subscription Ticks($ids: [ID!]!) { priceTicks(assetIds: $ids) { sequence asset { id } quote { price } } }`
	relayTicksID = "5a1f0c9e3b7d2e4f6a8b0c1d2e3f4a5b"
)

func trustedDocuments() map[string]string {
	return map[string]string{persisted.Hash(trustedAsset): trustedAsset, relayTicksID: trustedTicks}
}

func jsonBody(m map[string]any) string {
	b, _ := json.Marshal(m)
	return string(b)
}

// Trusted-documents mode: the documents of the manifest run, named by
// documentId or by the Apollo extension, on every transport; nothing else
// does.
func TestTrustedDocuments(t *testing.T) {
	s := newLiveServer(t, func(c *server.Config) {
		c.TrustedDocuments = trustedDocuments()
		c.PersistedOnly = true
	})
	hash := persisted.Hash(trustedAsset)
	vars := map[string]any{"id": "bitcoin"}
	const btc = `{"asset":{"symbol":"BTC"}}`

	t.Run("Listed", func(t *testing.T) {
		for name, b := range map[string]string{
			"ApolloExtension":      jsonBody(map[string]any{"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}, "variables": vars}),
			"DocumentIDPrefixed":   jsonBody(map[string]any{"documentId": "sha256:" + hash, "variables": vars}),
			"DocumentIDBare":       jsonBody(map[string]any{"documentId": hash, "variables": vars}),
			"WithItsOwnText":       jsonBody(map[string]any{"documentId": hash, "query": trustedAsset, "variables": vars}),
			"WithOperationName":    jsonBody(map[string]any{"documentId": hash, "operationName": "Asset", "variables": vars}),
			"ApolloExtensionQuery": jsonBody(map[string]any{"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}, "query": trustedAsset, "variables": vars}),
		} {
			t.Run("POST/"+name, func(t *testing.T) { checkDataOnly(t, postQuery(t, s.ts, gqlResponse, b), btc) })
		}
		t.Run("GET/DocumentID", func(t *testing.T) {
			checkDataOnly(t, get(t, s.ts, gqlResponse, url.Values{"documentId": {"sha256:" + hash}, "variables": {`{"id":"bitcoin"}`}}.Encode()), btc)
		})
		t.Run("GET/ApolloExtension", func(t *testing.T) {
			checkDataOnly(t, get(t, s.ts, gqlResponse, persistedGet(hash, "")+"&variables="+url.QueryEscape(`{"id":"bitcoin"}`)), btc)
		})
		t.Run("GET/SubscriptionRefused", func(t *testing.T) {
			res := get(t, s.ts, gqlResponse, url.Values{"documentId": {relayTicksID}, "variables": {`{"ids":["bitcoin"]}`}}.Encode())
			checkRequestError(t, res, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED")
		})
		t.Run("SSE", func(t *testing.T) {
			resp := sseRequest(t, s, jsonBody(map[string]any{"documentId": hash, "variables": vars}), nil)
			events := sseEvents(bufio.NewReader(resp.Body))
			if ev := nextEvent(t, events); ev.name != "next" || !strings.Contains(ev.data, `"symbol":"BTC"`) {
				t.Fatalf("event %+v", ev)
			}
		})
		t.Run("WebSocket", func(t *testing.T) {
			c := s.dial(t, "graphql-transport-ws")
			c.init(nil)
			c.raw(jsonBody(map[string]any{"type": "subscribe", "id": "q", "payload": map[string]any{
				"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}, "variables": vars,
			}}))
			if m := c.readType("next"); m.ID != "q" || !strings.Contains(string(m.Payload), `"symbol":"BTC"`) {
				t.Fatalf("query by hash: %+v %s", m, m.Payload)
			}
			c.readType("complete")
			c.raw(jsonBody(map[string]any{"type": "subscribe", "id": "t", "payload": map[string]any{
				"documentId": relayTicksID, "variables": map[string]any{"ids": []string{"bitcoin"}},
			}}))
			if asset, _ := tick(t, s.publishUntil(t, c, "bitcoin", "t", "next")); asset != "bitcoin" {
				t.Fatalf("tick for %q", asset)
			}
		})
	})

	t.Run("Refused", func(t *testing.T) {
		unknown := persisted.Hash("{ __typename }")
		for _, tc := range []struct{ name, body, code string }{
			{"FreeFormQuery", jsonBody(map[string]any{"query": trustedAsset, "variables": vars}), "PERSISTED_QUERY_REQUIRED"},
			{"UnknownHash", persistedBody(unknown, ""), "PERSISTED_QUERY_REQUIRED"},
			{"UnknownDocumentID", jsonBody(map[string]any{"documentId": "sha256:" + unknown}), "PERSISTED_QUERY_REQUIRED"},
			// An APQ registration is no way in: the hash is right, but the
			// document is not listed.
			{"APQRegistration", persistedBody(unknown, "{ __typename }"), "PERSISTED_QUERY_REQUIRED"},
			{"TextNotTheListedDocument", jsonBody(map[string]any{"documentId": hash, "query": `{ __typename }`}), "BAD_REQUEST"},
			{"TextNotTheListedDocumentAPQ", persistedBody(hash, `query Asset($id: ID!) { asset(id: $id) { symbol name } }`), "BAD_REQUEST"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res := postQuery(t, s.ts, gqlResponse, tc.body)
				checkRequestError(t, res, http.StatusBadRequest, tc.code)
				checkMedia(t, res, gqlResponse)
			})
		}
		t.Run("GET", func(t *testing.T) {
			res := get(t, s.ts, gqlResponse, url.Values{"query": {`{ asset(id: "bitcoin") { symbol } }`}}.Encode())
			checkRequestError(t, res, http.StatusBadRequest, "PERSISTED_QUERY_REQUIRED")
			res = get(t, s.ts, gqlResponse, url.Values{"documentId": {"nope"}}.Encode())
			checkRequestError(t, res, http.StatusBadRequest, "PERSISTED_QUERY_REQUIRED")
		})
		t.Run("SSE", func(t *testing.T) {
			resp := sseRequest(t, s, jsonBody(map[string]any{"query": `subscription { signals { id } }`}), nil)
			events := sseEvents(bufio.NewReader(resp.Body))
			if ev := nextEvent(t, events); ev.name != "next" || !strings.Contains(ev.data, "PERSISTED_QUERY_REQUIRED") {
				t.Fatalf("event %+v", ev)
			}
		})
		t.Run("WebSocket", func(t *testing.T) {
			c := s.dial(t, "graphql-transport-ws")
			c.init(nil)
			c.subscribe("subscribe", "free", tickQuery, map[string]any{"ids": []string{"bitcoin"}})
			if m := c.readType("error"); m.ID != "free" || !strings.Contains(string(m.Payload), "PERSISTED_QUERY_REQUIRED") {
				t.Fatalf("free-form subscription: %+v %s", m, m.Payload)
			}
			c.raw(jsonBody(map[string]any{"type": "subscribe", "id": "unknown", "payload": map[string]any{"documentId": "x-unknown"}}))
			if m := c.readType("error"); m.ID != "unknown" || !strings.Contains(string(m.Payload), "PERSISTED_QUERY_REQUIRED") {
				t.Fatalf("unknown id: %+v %s", m, m.Payload)
			}
		})
	})

	t.Run("MalformedDocumentID", func(t *testing.T) {
		for _, b := range []string{
			`{"documentId":7}`,
			`{"documentId":""}`,
			`{"documentId":"` + strings.Repeat("x", 300) + `"}`,
			jsonBody(map[string]any{"documentId": hash, "extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}}),
		} {
			checkRequestError(t, postQuery(t, s.ts, gqlResponse, b), http.StatusBadRequest, "BAD_REQUEST")
		}
	})
}

// A manifest without PersistedOnly lists documents clients may name by id,
// and free-form queries still run.
func TestTrustedDocuments_Preregistered(t *testing.T) {
	s := newLiveServer(t, func(c *server.Config) { c.TrustedDocuments = trustedDocuments() })
	hash := persisted.Hash(trustedAsset)
	vars := map[string]any{"id": "ethereum"}
	checkDataOnly(t, postQuery(t, s.ts, gqlResponse, jsonBody(map[string]any{"documentId": hash, "variables": vars})), `{"asset":{"symbol":"ETH"}}`)
	checkDataOnly(t, postQuery(t, s.ts, gqlResponse, jsonBody(map[string]any{"query": `{ asset(id: "ethereum") { name } }`})), `{"asset":{"name":"Ethereum"}}`)
	res := postQuery(t, s.ts, gqlResponse, jsonBody(map[string]any{"documentId": "x-unknown"}))
	checkRequestError(t, res, http.StatusBadRequest, "PERSISTED_QUERY_NOT_FOUND")
}

func TestTrustedDocuments_RequiresManifest(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New did not panic on PersistedOnly without TrustedDocuments")
		}
	}()
	newServer(t, func(c *server.Config) { c.PersistedOnly = true })
}
