package ws_test

import "syscall"

// smallSegments, as a net.Dialer's Control, makes the connection use 1 KB TCP
// segments. Over loopback the segments are otherwise 64 KB, and the server's
// send buffer grows with them to megabytes; with small segments it stays small,
// so a socket that does not read fills its buffers after a few messages.
var smallSegments = func(_, _ string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_MAXSEG, 1024)
	}); err != nil {
		return err
	}
	return serr
}
