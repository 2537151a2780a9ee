//go:build unix

package server

import (
	"errors"
	"net"
	"syscall"
)

// rawConn returns the connection's raw file descriptor access, for
// writeNonBlocking, or nil.
func rawConn(nc net.Conn) syscall.RawConn {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// writeNonBlocking writes as much of b as the socket's send buffer takes
// now, in one write(2) on the non-blocking descriptor: it returns at once,
// with 0 when the buffer is full, where net.Conn.Write would wait. It is
// what lets the tick hub's goroutine write to ten thousand sockets a round
// without a goroutine per socket.
func writeNonBlocking(rc syscall.RawConn, b []byte) (int, error) {
	var n int
	var werr error
	err := rc.Write(func(fd uintptr) bool {
		for {
			n, werr = syscall.Write(int(fd), b)
			if !errors.Is(werr, syscall.EINTR) {
				return true // done, whatever happened: never wait here
			}
		}
	})
	switch {
	case err != nil:
		return 0, err
	case errors.Is(werr, syscall.EAGAIN):
		return 0, nil
	case werr != nil:
		return 0, werr
	}
	return max(n, 0), nil
}
