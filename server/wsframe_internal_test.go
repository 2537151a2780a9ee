package server

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// frameServer accepts one socket as the transport does (hijackWriter,
// holdConn) and hands it to the test; it reads the socket meanwhile, so
// that the library answers pings and closes.
func frameServer(t *testing.T) (*websocket.Conn, *holdConn, *websocket.Conn) {
	t.Helper()
	type accepted struct {
		conn *websocket.Conn
		hold *holdConn
	}
	ch := make(chan accepted, 1)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hw := &hijackWriter{ResponseWriter: w}
		conn, err := websocket.Accept(hw, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
		if err != nil {
			return
		}
		ch <- accepted{conn, hw.conn}
		go func() {
			for {
				if _, _, err := conn.Read(context.Background()); err != nil {
					return
				}
			}
		}()
	}))
	t.Cleanup(ts.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	client.SetReadLimit(-1)
	t.Cleanup(func() { _ = client.CloseNow() })
	a := <-ch
	t.Cleanup(func() { _ = a.conn.CloseNow() })
	return a.conn, a.hold, client
}

// payload is n bytes of JSON-safe text that differ from one message to
// the next.
func payload(n, seed int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte((i+seed)%26)
	}
	return b
}

// The frames writeFrames sends are read by a real client, in order and
// whole, for every length encoding (7, 16 and 64 bits) and at each of their
// edges, one per write and many in one write.
func TestWriteFrames_RealClientReads(t *testing.T) {
	sizes := []int{0, 1, 125, 126, 127, 65535, 65536, 70000}
	_, hold, client := frameServer(t)
	var want [][]byte
	var batch []byte
	for i, n := range sizes {
		p := payload(n, i)
		want = append(want, p)
		if err := hold.writeFrames(append(appendTextFrameHeader(nil, n), p...), 5*time.Second); err != nil {
			t.Fatal(err)
		}
		batch = append(appendTextFrameHeader(batch, n), p...)
	}
	want = append(want, want...)
	go func() { _ = hold.writeFrames(batch, 5*time.Second) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i, w := range want {
		typ, got, err := client.Read(ctx)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if typ != websocket.MessageText || !bytes.Equal(got, w) {
			t.Fatalf("message %d: got %v of %d bytes, want text of %d", i, typ, len(got), len(w))
		}
	}
}

// The library's control frames never split a batch: pings answered while
// large batches are written leave the stream readable, and once the
// library has sent a close frame nothing follows it.
func TestWriteFrames_ControlFramesApart(t *testing.T) {
	server, hold, client := frameServer(t)
	const batches = 50
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range batches {
			var b []byte
			for j := range 20 {
				b = append(appendTextFrameHeader(b, 126+j*500), payload(126+j*500, i+j)...)
			}
			if err := hold.writeFrames(b, 5*time.Second); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pings := make(chan error, 1)
	go func() {
		for range 20 {
			if err := server.Ping(ctx); err != nil {
				pings <- err
				return
			}
		}
		pings <- nil
	}()
	// The client reads all along (answering the server's pings meanwhile);
	// the test checks each message.
	type read struct {
		p   []byte
		err error
	}
	reads := make(chan read, 16)
	go func() {
		for {
			_, p, err := client.Read(ctx)
			reads <- read{p, err}
			if err != nil {
				return
			}
		}
	}()
	for i := range batches * 20 {
		r := <-reads
		if r.err != nil {
			t.Fatalf("message %d: %v", i, r.err)
		}
		j := i % 20
		if want := payload(126+j*500, i/20+j); !bytes.Equal(r.p, want) {
			t.Fatalf("message %d: %d bytes, not the ones written", i, len(r.p))
		}
	}
	if err := <-pings; err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	go func() { _ = server.Close(websocket.StatusNormalClosure, "bye") }()
	if r := <-reads; websocket.CloseStatus(r.err) != websocket.StatusNormalClosure {
		t.Fatalf("got %v (%d bytes), want the close frame", r.err, len(r.p))
	}
	if err := hold.writeFrames(append(appendTextFrameHeader(nil, 2), "{}"...), time.Second); err == nil {
		t.Fatal("a message was written after the close frame")
	}
}

func TestAppendTextFrameHeader(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want string
	}{
		{0, "81 00"},
		{125, "81 7d"},
		{126, "81 7e 00 7e"},
		{65535, "81 7e ff ff"},
		{65536, "81 7f 00 00 00 00 00 01 00 00"},
		{1 << 32, "81 7f 00 00 00 01 00 00 00 00"},
	} {
		if got := fmt.Sprintf("% x", appendTextFrameHeader(nil, tc.n)); got != tc.want {
			t.Errorf("%d: got %s, want %s", tc.n, got, tc.want)
		}
	}
}

// writeNow writes what the network takes without waiting and keeps the
// rest: against a client that does not read, it soon reports a partial
// write instead of blocking; what it kept leaves before the library's next
// control frame and before the next batch, so the client, once it reads,
// gets every message whole and in order.
func TestWriteNow_KeepsTheRestInOrder(t *testing.T) {
	server, hold, client := frameServer(t)
	if hold.raw == nil {
		t.Skip("no non-blocking write on this platform: every write waits")
	}
	if done, err := writeNow(hold, append(appendTextFrameHeader(nil, 2), "{}"...)); !done || err != nil {
		t.Fatalf("a small write to an idle socket: done %v, %v", done, err)
	}
	want := [][]byte{[]byte("{}")}
	const size = 60000
	partial := false
	for i := 0; i < 2000 && !partial; i++ {
		var b []byte
		for j := range 8 {
			p := payload(size, i*8+j)
			want = append(want, p)
			b = append(appendTextFrameHeader(b, size), p...)
		}
		done, err := writeNow(hold, b)
		if err != nil {
			t.Fatal(err)
		}
		partial = !done
	}
	if !partial {
		t.Fatal("the client read nothing, yet every write went through at once")
	}
	// Another batch while some is pending joins the rest, untouched.
	last := payload(300, 7)
	want = append(want, last)
	if done, err := writeNow(hold, append(appendTextFrameHeader(nil, len(last)), last...)); done || err != nil {
		t.Fatalf("a write behind a pending rest: done %v, %v", done, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pinged := make(chan error, 1)
	go func() { pinged <- server.Ping(ctx) }() // its frame must follow the rest
	flushed := make(chan error, 1)
	go func() { flushed <- hold.writeFrames(nil, 10*time.Second) }()
	go func() {
		// The client's reader answers the ping once it reaches it.
		for i, w := range want {
			typ, got, err := client.Read(ctx)
			if err != nil || typ != websocket.MessageText || !bytes.Equal(got, w) {
				t.Errorf("message %d of %d: %v, %d bytes, want %d", i, len(want), err, len(got), len(w))
				cancel()
				return
			}
		}
		_, _, _ = client.Read(ctx) // keeps answering until the test ends
	}()
	if err := <-flushed; err != nil {
		t.Fatalf("writing the rest: %v", err)
	}
	if err := <-pinged; err != nil {
		t.Fatalf("ping behind the rest: %v", err)
	}
}

// writeNow is flushNow's write: holdConn.writeNowLocked, locking first.
func writeNow(h *holdConn, b []byte) (bool, error) {
	h.mu.Lock()
	return h.writeNowLocked(b)
}
