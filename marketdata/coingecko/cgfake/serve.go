package cgfake

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// shutdownTimeout bounds how long ListenAndServe waits for calls in flight
// once its ctx is done. Calls sleeping in a Latency fault are woken at once.
const shutdownTimeout = 5 * time.Second

// ListenAndServe serves f on addr (":0" picks a free port) until ctx is
// done, then shuts down gracefully and returns nil. ready, when not nil, is
// called with the address actually listened on once connections are
// accepted, so a caller can print it or point a client at it.
func ListenAndServe(ctx context.Context, addr string, f *Fake, ready func(addr string)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("fake upstream: listen: %w", err)
	}
	// Request contexts derive from base, which is cancelled at shutdown so
	// that handlers waiting out a Latency fault return at once.
	base, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	srv := &http.Server{
		Handler:           f,
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       time.Minute,
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if ready != nil {
		ready(ln.Addr().String())
	}

	select {
	case err := <-errc:
		return fmt.Errorf("fake upstream: serve: %w", err)
	case <-ctx.Done():
	}
	cancel()
	sctx, stop := context.WithTimeout(context.Background(), shutdownTimeout)
	defer stop()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("fake upstream: shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("fake upstream: serve: %w", err)
	}
	return nil
}
