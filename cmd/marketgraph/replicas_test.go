package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/marketgraph/marketgraph/internal/redistest"
)

// startReplica starts `marketgraph serve` as a child process of its own and
// returns its base URL.
func startReplica(t *testing.T, env []string, args string) string {
	t.Helper()
	_, line := startProcessLine(t, env, "serve -addr 127.0.0.1:0 "+args)
	const prefix = "marketgraph listening on "
	if !strings.HasPrefix(line, prefix) {
		t.Fatalf("first line %q", line)
	}
	return strings.TrimSuffix(strings.TrimSpace(strings.TrimPrefix(line, prefix)), "/graphql")
}

// redisForReplicas returns TEST_REDIS_URL and a key prefix no other test
// uses, or skips (fails under CI) without Redis.
func redisForReplicas(t *testing.T) (url, prefix string) {
	t.Helper()
	url = redistest.URL(t)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return url, "test:replicas:" + hex.EncodeToString(b) + ":"
}

// Two server processes share a real Redis: a tick that the ingesting
// replica publishes reaches a subscriber connected to the other one.
func TestReplicas_TickCrossesReplicas(t *testing.T) {
	url, prefix := redisForReplicas(t)
	env := []string{"REDIS_URL=" + url, "MARKETGRAPH_REDIS_PREFIX=" + prefix}
	startReplica(t, env, "-ingest=true -tick 200ms")
	b := startReplica(t, env, "-ingest=false")

	seqs := bitcoinSequences(t, b, 3)
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Fatalf("sequences %v do not increase", seqs)
		}
	}
}

// Two server processes on the memory store, both asked to ingest, share a
// real Redis: they elect one ingesting process there, so a subscriber sees
// one stream of ticks, each sequence one more than the last, rather than
// two clashing ones.
func TestReplicas_OneIngestsAtATime(t *testing.T) {
	url, prefix := redisForReplicas(t)
	env := []string{"REDIS_URL=" + url, "MARKETGRAPH_REDIS_PREFIX=" + prefix}
	startReplica(t, env, "-ingest=true -tick 100ms")
	b := startReplica(t, env, "-ingest=true -tick 100ms")
	seqs := bitcoinSequences(t, b, 5)
	for i := 1; i < len(seqs); i++ {
		if seqs[i] != seqs[i-1]+1 {
			t.Fatalf("sequences %v: not one stream", seqs)
		}
	}
}

// bitcoinSequences subscribes to bitcoin's ticks on the replica at base and
// returns the sequences of the first n.
func bitcoinSequences(t *testing.T, base string, n int) []int {
	t.Helper()
	b := base
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(b, "http")+"/graphql", &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	write := func(s string) {
		if err := conn.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"type":"connection_init"}`)
	write(`{"type":"subscribe","id":"1","payload":{"query":"subscription { priceTicks(assetIds: [\"bitcoin\"]) { sequence asset { id } } }"}}`)
	var seqs []int
	for len(seqs) < n {
		_, data, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("after %v: %v", seqs, err)
		}
		var m struct {
			Type    string
			Payload struct {
				Data struct {
					PriceTicks struct {
						Sequence int
						Asset    struct{ ID string }
					}
				}
			}
		}
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		if m.Type != "next" {
			continue
		}
		if id := m.Payload.Data.PriceTicks.Asset.ID; id != "bitcoin" {
			t.Fatalf("tick of %q", id)
		}
		seqs = append(seqs, m.Payload.Data.PriceTicks.Sequence)
	}
	return seqs
}

// Two server processes share their request counters through Redis: a
// caller spreading requests over both never gets more than the limit
// through.
func TestReplicas_SharedRateLimit(t *testing.T) {
	url, prefix := redisForReplicas(t)
	env := []string{"REDIS_URL=" + url, "MARKETGRAPH_REDIS_PREFIX=" + prefix}
	const limit = 20
	args := "-ingest=false -rate-anonymous 20"
	replicas := []string{startReplica(t, env, args), startReplica(t, env, args)}
	ok, limited := 0, 0
	for i := range 3 * limit {
		resp, err := http.Post(replicas[i%2]+"/graphql", "application/json", bytes.NewReader([]byte(`{"query":"{ __typename }"}`)))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK:
			ok++
		case http.StatusTooManyRequests:
			limited++
		default:
			t.Fatalf("request %d: status %d", i, resp.StatusCode)
		}
	}
	// httprate's sliding window may let slightly fewer than the limit
	// through near a window's edge, never more.
	if ok > limit || ok < limit/2 || limited == 0 {
		t.Fatalf("%d allowed, %d limited over two replicas; want at most %d allowed", ok, limited, limit)
	}
}
