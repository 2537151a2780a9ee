package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/marketgraph/marketgraph/auth"
)

// Defaults of the streaming limits of Config.
const (
	DefaultMaxSubscriptionsPerConnection = 100
	DefaultMaxConnectionsPerCaller       = 1000
	DefaultStreamWriteTimeout            = 10 * time.Second
	DefaultStreamReauthInterval          = 30 * time.Second
)

// codeShuttingDown refuses new streams, and new subscriptions on open
// sockets, while the server shuts down. Clients should reconnect, to another
// replica if there is one.
const codeShuttingDown = "SHUTTING_DOWN"

// errShutdown is the cause of the contexts cancelled by Handler.Shutdown:
// the operations it ends send complete, which they would not if the client
// had gone.
var errShutdown = errors.New("server shutting down")

// stream is one long-lived connection: a WebSocket or a Server-Sent Events
// response.
type stream interface {
	// shutdown ends the stream's operations with complete, then closes the
	// stream (1001 on a WebSocket). It returns at once; the stream's own
	// goroutine does the work and calls its release function when done.
	shutdown()
}

// streams keeps count of the open streams: per caller, to bound what one
// caller can hold open, and in all, so that Shutdown can end them. A
// WebSocket is hijacked from net/http, so http.Server.Shutdown neither sees
// nor waits for it: without this registry a shutting-down server would cut
// partners off mid-stream without a word.
type streams struct {
	maxPerCaller int

	mu        sync.Mutex
	closing   bool
	open      map[stream]string // stream → caller key
	perCaller map[string]int
	done      chan struct{} // closed when closing and open is empty
}

func newStreams(maxPerCaller int) *streams {
	return &streams{
		maxPerCaller: maxPerCaller,
		open:         map[stream]string{},
		perCaller:    map[string]int{},
		done:         make(chan struct{}),
	}
}

// errTooManyStreams and errClosing are add's refusals.
var (
	errTooManyStreams = errors.New("too many open connections for this caller")
	errClosing        = errors.New("the server is shutting down")
)

// add registers s for caller and returns the function that unregisters it,
// to be called exactly once when s has ended. It refuses when the caller
// already holds maxPerCaller streams, and during shutdown.
func (ss *streams) add(s stream, caller string) (release func(), err error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closing {
		return nil, errClosing
	}
	if ss.maxPerCaller > 0 && ss.perCaller[caller] >= ss.maxPerCaller {
		return nil, errTooManyStreams
	}
	ss.open[s] = caller
	ss.perCaller[caller]++
	var once sync.Once
	return func() { once.Do(func() { ss.remove(s) }) }, nil
}

func (ss *streams) remove(s stream) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	caller, ok := ss.open[s]
	if !ok {
		return
	}
	delete(ss.open, s)
	if ss.perCaller[caller]--; ss.perCaller[caller] <= 0 {
		delete(ss.perCaller, caller)
	}
	if ss.closing && len(ss.open) == 0 {
		close(ss.done)
	}
}

// isClosing reports whether shutdown has begun.
func (ss *streams) isClosing() bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.closing
}

// shutdown refuses new streams, asks every open one to end, and waits until
// they all have or ctx ends.
func (ss *streams) shutdown(ctx context.Context) error {
	ss.mu.Lock()
	if !ss.closing {
		ss.closing = true
		if len(ss.open) == 0 {
			close(ss.done)
		}
	}
	open := make([]stream, 0, len(ss.open))
	for s := range ss.open {
		open = append(open, s)
	}
	ss.mu.Unlock()
	for _, s := range open {
		s.shutdown()
	}
	select {
	case <-ss.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// count returns how many streams are open.
func (ss *streams) count() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return len(ss.open)
}

// callerKey names the caller a stream is counted against: its account when
// it authenticated, else its address. clientIP, when set, is the trusted
// client address of the request (behind proxies); otherwise the peer's.
func callerKey(ctx context.Context, r *http.Request, clientIP func(*http.Request) string) string {
	if p := auth.PrincipalFrom(ctx); p != nil && p.AccountID != "" {
		return "account:" + p.AccountID
	}
	if clientIP != nil {
		if ip := clientIP(r); ip != "" {
			return "ip:" + ip
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "ip:" + host
}
