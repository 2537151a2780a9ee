package subload_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/marketgraph/marketgraph/subload"
)

// scriptedServer speaks graphql-transport-ws by the book with a fixed
// script, so that each count of the report has a known answer: it refuses
// a connection_init without apiKey "k" (4401), acknowledges, checks the
// subscription, pings and wants a pong, sends five ticks of its first two
// assets with one gap of two and one repeated sequence, a next with errors
// and an error message, and closes with 4500.
func scriptedServer(t *testing.T) string {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{subload.Subprotocol}})
		if err != nil {
			t.Errorf("accept: %v", err)
			return
		}
		defer conn.CloseNow()
		ctx, cancel := context.WithTimeout(r.Context(), wait)
		defer cancel()
		if err := script(ctx, conn); err != nil {
			t.Error(err)
		}
	}))
	t.Cleanup(ts.Close)
	return "ws" + strings.TrimPrefix(ts.URL, "http") + "/graphql"
}

type msg struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

func script(ctx context.Context, conn *websocket.Conn) error {
	read := func(want string) (msg, error) {
		_, b, err := conn.Read(ctx)
		if err != nil {
			return msg{}, fmt.Errorf("waiting for %s: %w", want, err)
		}
		var m msg
		if err := json.Unmarshal(b, &m); err != nil || m.Type != want {
			return m, fmt.Errorf("got %s, want %s", b, want)
		}
		return m, nil
	}
	send := func(s string) error { return conn.Write(ctx, websocket.MessageText, []byte(s)) }

	init, err := read("connection_init")
	if err != nil {
		return err
	}
	var p struct{ APIKey string }
	if json.Unmarshal(init.Payload, &p); p.APIKey != "k" {
		return fmt.Errorf("init payload %s, want apiKey k", init.Payload)
	}
	if err := send(`{"type":"connection_ack"}`); err != nil {
		return err
	}
	sub, err := read("subscribe")
	if err != nil {
		return err
	}
	var s struct {
		Query     string
		Variables struct{ IDs []string }
	}
	if err := json.Unmarshal(sub.Payload, &s); err != nil || sub.ID == "" || s.Query != subload.TicksQuery || len(s.Variables.IDs) != 2 {
		return fmt.Errorf("subscribe %s %s", sub.ID, sub.Payload)
	}
	if err := send(`{"type":"ping"}`); err != nil {
		return err
	}
	if _, err := read("pong"); err != nil {
		return err
	}
	a, b := s.Variables.IDs[0], s.Variables.IDs[1]
	for _, tick := range []struct {
		asset string
		seq   int
	}{{a, 1}, {a, 2}, {a, 5}, {b, 7}, {b, 7}} {
		at, _ := time.Now().MarshalText()
		if err := send(fmt.Sprintf(`{"id":%q,"type":"next","payload":{"data":{"priceTicks":{"sequence":%d,"at":%q,"quote":{"price":1},"asset":{"id":%q}}}}}`,
			sub.ID, tick.seq, at, tick.asset)); err != nil {
			return err
		}
	}
	if err := send(fmt.Sprintf(`{"id":%q,"type":"next","payload":{"data":null,"errors":[{"message":"feed down","extensions":{"code":"UPSTREAM_UNAVAILABLE"}}]}}`, sub.ID)); err != nil {
		return err
	}
	if err := send(fmt.Sprintf(`{"id":%q,"type":"error","payload":[{"message":"gone"}]}`, sub.ID)); err != nil {
		return err
	}
	return conn.Close(4500, "bye")
}

// Each count of the report, against a server whose every message is known;
// subscribers are spread over the URLs, one of which refuses connections.
func TestRun_Protocol(t *testing.T) {
	good := scriptedServer(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	bad := "ws://" + l.Addr().String() + "/graphql"
	l.Close()

	var out output
	stop := background(subload.Config{
		URLs:                []string{good, bad},
		Subscribers:         3,
		AssetsPerSubscriber: 2,
		Assets:              []string{"a", "b", "c"},
		InitPayload:         map[string]any{"apiKey": "k"},
		Duration:            time.Minute,
		Progress:            20 * time.Millisecond,
	}, &out)
	out.waitFor(t, "disconnected 2,")
	rep, _ := stop()
	t.Logf("\n%s", &out)

	// Subscribers 0 and 2 reach the good server, 1 the bad one.
	if rep.Connected != 2 || rep.ByURL[0].Connected != 2 || rep.ByURL[1].Connected != 0 {
		t.Errorf("connected %d (%+v), want 2 on the first URL", rep.Connected, rep.ByURL)
	}
	if rep.ConnectFailed != 1 || rep.ConnectFailures["dial: connection refused"] != 1 {
		t.Errorf("failed %d %v, want 1 refused", rep.ConnectFailed, rep.ConnectFailures)
	}
	if rep.Disconnected != 2 || rep.Disconnects["closed 4500 bye"] != 2 {
		t.Errorf("disconnects %d %v, want 2 with 4500 bye", rep.Disconnected, rep.Disconnects)
	}
	checks := []struct {
		name      string
		got, want uint64
	}{
		{"ticks", rep.Ticks, 10},
		{"missed", rep.MissedTicks, 4},
		{"subscribers with gaps", uint64(rep.SubscribersWithGaps), 2},
		{"out of order", rep.OutOfOrder, 2},
		{"errors", uint64(rep.Errors), 4},
		{"ended", uint64(rep.Ended), 2},
		{"latency samples", rep.Latency.Count, 10},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	if rep.ErrorMessages["UPSTREAM_UNAVAILABLE: feed down"] != 2 || rep.ErrorMessages["gone"] != 2 {
		t.Errorf("error messages %v", rep.ErrorMessages)
	}
}

// A refused connection_init is a connection failure with the server's
// close code.
func TestRun_Unauthorized(t *testing.T) {
	url := scriptedServerRefusing(t)
	rep, err := subload.Run(context.Background(), subload.Config{
		URL: url, Subscribers: 2, Assets: []string{"a"}, AssetsPerSubscriber: 1, Progress: -1,
	}, &output{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Connected != 0 || rep.ConnectFailures["before connection_ack: closed 4401 unauthorized"] != 2 {
		t.Errorf("connected %d, failures %v", rep.Connected, rep.ConnectFailures)
	}
}

// scriptedServerRefusing closes every socket with 4401 after
// connection_init.
func scriptedServerRefusing(t *testing.T) string {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{subload.Subprotocol}})
		if err != nil {
			return
		}
		defer conn.CloseNow()
		if _, _, err := conn.Read(r.Context()); err == nil {
			_ = conn.Close(4401, "unauthorized")
		}
	}))
	t.Cleanup(ts.Close)
	return "ws" + strings.TrimPrefix(ts.URL, "http") + "/graphql"
}

// acceptInit accepts a socket and reads its connection_init; it returns
// nil when the handler should end.
func acceptInit(t *testing.T, w http.ResponseWriter, r *http.Request) *websocket.Conn {
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{subload.Subprotocol}})
	if err != nil {
		t.Errorf("accept: %v", err)
		return nil
	}
	if _, _, err := conn.Read(r.Context()); err != nil {
		_ = conn.CloseNow()
		return nil
	}
	return conn
}

// The server's WebSocket pings are answered while the subscriber waits
// for ticks.
func TestRun_AnswersPings(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn := acceptInit(t, w, r)
		if conn == nil {
			return
		}
		defer conn.CloseNow()
		ctx, cancel := context.WithTimeout(r.Context(), wait)
		defer cancel()
		if err := conn.Write(ctx, websocket.MessageText, []byte(`{"type":"connection_ack"}`)); err != nil {
			return
		}
		if _, _, err := conn.Read(ctx); err != nil {
			return
		}
		// Pongs are read, and the close handshake completed, by CloseRead.
		ctx = conn.CloseRead(ctx)
		for range 3 {
			if err := conn.Ping(ctx); err != nil {
				_ = conn.Close(4000, "no pong")
				return
			}
		}
		_ = conn.Close(4500, "pinged")
	}))
	t.Cleanup(ts.Close)

	var out output
	stop := background(subload.Config{
		URL: "ws" + strings.TrimPrefix(ts.URL, "http"), Subscribers: 2, Assets: []string{"a"}, AssetsPerSubscriber: 1,
		Duration: time.Minute, Progress: 20 * time.Millisecond,
	}, &out)
	out.waitFor(t, "disconnected 2,")
	rep, _ := stop()
	if rep.Disconnects["closed 4500 pinged"] != 2 {
		t.Errorf("disconnects %v, want 2 × closed 4500 pinged", rep.Disconnects)
	}
}

// A server that never acknowledges is a connection failure once the
// connect timeout is over; the end of a run cuts short the sockets still
// waiting, however long their timeout.
func TestRun_ConnectTimeout(t *testing.T) {
	inits := make(chan struct{}, 10)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn := acceptInit(t, w, r)
		if conn == nil {
			return
		}
		defer conn.CloseNow()
		inits <- struct{}{}
		// Until the client gives up.
		_, _, _ = conn.Read(r.Context())
	}))
	t.Cleanup(ts.Close)
	url := "ws" + strings.TrimPrefix(ts.URL, "http")

	t.Run("TimedOut", func(t *testing.T) {
		rep, err := subload.Run(context.Background(), subload.Config{
			URL: url, Subscribers: 2, Assets: []string{"a"}, AssetsPerSubscriber: 1,
			ConnectTimeout: 200 * time.Millisecond, Progress: -1,
		}, &output{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Connected != 0 || rep.ConnectFailures["before connection_ack: timed out"] != 2 {
			t.Errorf("connected %d, failures %v", rep.Connected, rep.ConnectFailures)
		}
	})
	t.Run("Interrupted", func(t *testing.T) {
		for len(inits) > 0 {
			<-inits
		}
		var out output
		stop := background(subload.Config{
			URL: url, Subscribers: 2, Assets: []string{"a"}, AssetsPerSubscriber: 1,
			ConnectTimeout: time.Hour, Progress: -1,
		}, &out)
		<-inits
		<-inits
		done := make(chan *subload.Report, 1)
		go func() {
			rep, _ := stop()
			done <- rep
		}()
		select {
		case rep := <-done:
			if rep.Connected != 0 || rep.ConnectFailed != 0 {
				t.Errorf("connected %d, failed %d %v; want neither", rep.Connected, rep.ConnectFailed, rep.ConnectFailures)
			}
		case <-time.After(wait):
			t.Fatal("the run did not end its sockets still connecting")
		}
	})
}
