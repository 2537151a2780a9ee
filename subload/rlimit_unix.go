//go:build unix

package subload

import "syscall"

// RaiseFileLimit raises this process's soft limit on open files to its hard
// limit, since every subscriber holds a socket, and returns the limits in
// force afterwards. A failed raise is reported with the limits unchanged.
func RaiseFileLimit() (soft, hard uint64, err error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, 0, err
	}
	if l.Cur < l.Max {
		raised := l
		raised.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err != nil {
			return uint64(l.Cur), uint64(l.Max), err
		}
		l = raised
	}
	return uint64(l.Cur), uint64(l.Max), nil
}
