//go:build unix

package subload

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	coder "github.com/coder/websocket"
)

// Shape of BenchmarkReadTicks: as many sockets as a slice of a real run,
// each sent rounds of benchBatch ticks the way the server sends a round
// (one write of ten frames).
const (
	benchSockets = 200
	benchBatch   = 10
)

// BenchmarkReadTicks is the tool's cost of reading one tick off a socket
// with each WebSocket client, and the reason the tool reads with
// gorilla/websocket while the server keeps coder/websocket: on two cores,
// coder's read path cost about 1.7 µs of CPU a message here, gorilla's
// about 1.05 µs, over a floor (Raw) of about 0.8 µs. Coder's Reader takes
// a channel-based lock and checks its context for each message, and its
// reads to EOF take the lock again.
//
// A local server accepts with coder/websocket, as the real one does, and
// writes each socket a round of ten ~250-byte text frames in one write;
// the clients read each message whole into a pooled buffer, as
// subscriber.read does. Raw reads the same bytes off the TCP sockets
// without any WebSocket parsing: the floor, which includes the server's
// writes and the wake-ups every variant pays. cpu-ns/msg is the process's
// user and system time (server included) per message; ns/msg is wall
// time.
func BenchmarkReadTicks(b *testing.B) {
	for _, v := range []struct {
		name string
		dial func(ctx context.Context, url string) (read func(func()) error, closeConn func(), err error)
	}{
		{"Coder", dialCoder},
		{"Gorilla", dialGorilla},
		{"Raw", dialRaw},
	} {
		b.Run(v.name, func(b *testing.B) { benchReadTicks(b, v.dial) })
	}
}

func benchReadTicks(b *testing.B, dial func(context.Context, string) (func(func()) error, func(), error)) {
	srv := newBurstServer(b)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var round sync.WaitGroup
	var readers sync.WaitGroup
	closes := make([]func(), 0, benchSockets)
	for range benchSockets {
		read, closeConn, err := dial(ctx, srv.url)
		if err != nil {
			b.Fatal(err)
		}
		closes = append(closes, closeConn)
		readers.Add(1)
		go func() {
			defer readers.Done()
			n := 0
			_ = read(func() {
				if n++; n%benchBatch == 0 {
					round.Done()
				}
			})
		}()
	}
	srv.waitConns(b, benchSockets)

	var m0, m1 runtimeMem
	m0.read()
	cpu0 := processCPU()
	b.ResetTimer()
	for b.Loop() {
		round.Add(benchSockets)
		srv.writeRound(b)
		round.Wait()
	}
	b.StopTimer()
	cpu := processCPU() - cpu0
	m1.read()
	msgs := float64(b.N) * benchSockets * benchBatch
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/msgs, "ns/msg")
	b.ReportMetric(float64(cpu.Nanoseconds())/msgs, "cpu-ns/msg")
	b.ReportMetric(float64(m1.mallocs-m0.mallocs)/msgs, "allocs/msg")
	b.ReportMetric(float64(m1.bytes-m0.bytes)/msgs, "B/msg")
	b.ReportMetric(0, "ns/op")

	srv.closeAll()
	for _, c := range closes {
		c()
	}
	readers.Wait()
}

// dialCoder reads as the tool did with coder/websocket: Reader, then the
// message into a pooled buffer up to EOF.
func dialCoder(ctx context.Context, url string) (func(func()) error, func(), error) {
	client := &http.Client{Transport: &http.Transport{
		DisableKeepAlives: true,
		ReadBufferSize:    1 << 10,
		WriteBufferSize:   1 << 10,
	}}
	conn, _, err := coder.Dial(ctx, url, &coder.DialOptions{HTTPClient: client, Subprotocols: []string{Subprotocol}})
	if err != nil {
		return nil, nil, err
	}
	read := func(got func()) error {
		for {
			_, rd, err := conn.Reader(context.Background())
			if err != nil {
				return err
			}
			if err := readPooled(rd, got); err != nil {
				return err
			}
		}
	}
	return read, func() { _ = conn.CloseNow() }, nil
}

// dialGorilla reads as the tool does with gorilla/websocket (see
// subscriber.read): NextReader, then the message into a pooled buffer up to
// EOF.
func dialGorilla(ctx context.Context, url string) (func(func()) error, func(), error) {
	conn, _, err := newDialer().DialContext(ctx, url, nil)
	if err != nil {
		return nil, nil, err
	}
	read := func(got func()) error {
		for {
			_, rd, err := conn.NextReader()
			if err != nil {
				return err
			}
			if err := readPooled(rd, got); err != nil {
				return err
			}
		}
	}
	return read, func() { _ = conn.Close() }, nil
}

// readPooled reads a message into one of bufs and calls got.
func readPooled(rd io.Reader, got func()) error {
	buf := bufs.Get().(*bytes.Buffer)
	buf.Reset()
	_, err := buf.ReadFrom(rd)
	if err == nil && buf.Len() > 0 {
		got()
	}
	bufs.Put(buf)
	return err
}

// dialRaw completes the handshake with gorilla, then reads the bytes of
// each round off the TCP socket, parsing nothing.
func dialRaw(ctx context.Context, url string) (func(func()) error, func(), error) {
	conn, _, err := newDialer().DialContext(ctx, url, nil)
	if err != nil {
		return nil, nil, err
	}
	nc := conn.NetConn()
	read := func(got func()) error {
		buf := make([]byte, 4<<10)
		frame := len(benchFrame())
		have := 0
		for {
			n, err := nc.Read(buf)
			if err != nil {
				return err
			}
			for have += n; have >= frame; have -= frame {
				got()
			}
		}
	}
	return read, func() { _ = nc.Close() }, nil
}

// benchFrame is one tick as the server frames it: a text frame of about
// 250 bytes.
func benchFrame() []byte {
	msg := fmt.Sprintf(`{"type":"next","id":"1","payload":{"data":{"priceTicks":{"sequence":123456,"at":"2026-11-26T09:46:42.123456789Z","quote":{"price":88361.65887047409},"asset":{"id":"%s"}}}}}`,
		strings.Repeat("x", 80))
	return append([]byte{0x81, 126, byte(len(msg) >> 8), byte(len(msg))}, msg...)
}

// burstServer accepts sockets with coder/websocket and keeps their network
// connections, to which it writes rounds of frames itself, as the server's
// tick hub does.
type burstServer struct {
	url   string
	batch []byte
	mu    sync.Mutex
	conns []net.Conn
}

func newBurstServer(b *testing.B) *burstServer {
	s := &burstServer{batch: bytes.Repeat(benchFrame(), benchBatch)}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hw := &hijackRecorder{ResponseWriter: w}
		conn, err := coder.Accept(hw, r, &coder.AcceptOptions{Subprotocols: []string{Subprotocol}})
		if err != nil || hw.conn == nil {
			b.Errorf("accept: %v", err)
			return
		}
		_ = conn // Never read from: the benchmark's clients send nothing.
		s.mu.Lock()
		s.conns = append(s.conns, hw.conn)
		s.mu.Unlock()
	}))
	b.Cleanup(ts.Close)
	s.url = "ws" + strings.TrimPrefix(ts.URL, "http") + "/graphql"
	return s
}

func (s *burstServer) waitConns(b *testing.B, n int) {
	deadline := time.Now().Add(time.Minute)
	for {
		s.mu.Lock()
		got := len(s.conns)
		s.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d sockets accepted", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func (s *burstServer) writeRound(b *testing.B) {
	for _, c := range s.conns {
		if _, err := c.Write(s.batch); err != nil {
			b.Fatal(err)
		}
	}
}

func (s *burstServer) closeAll() {
	for _, c := range s.conns {
		_ = c.Close()
	}
}

// hijackRecorder keeps the network connection coder/websocket hijacks.
type hijackRecorder struct {
	http.ResponseWriter
	conn net.Conn
}

func (h *hijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	h.conn = c
	return c, brw, err
}

// processCPU is this process's user and system time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runtimeMem is the allocation counters of the runtime.
type runtimeMem struct{ mallocs, bytes uint64 }

func (m *runtimeMem) read() {
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	m.mallocs, m.bytes = s.Mallocs, s.TotalAlloc
}
