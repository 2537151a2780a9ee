//go:build !unix

package server

import (
	"net"
	"syscall"
)

// rawConn returns nil: writes wait for the network (writeFrames) on
// platforms without writeNonBlocking.
func rawConn(net.Conn) syscall.RawConn { return nil }

func writeNonBlocking(syscall.RawConn, []byte) (int, error) { return 0, nil }
