//go:build !linux

package ws_test

import "syscall"

// smallSegments is Linux's only; elsewhere the slow-reader test just sends more.
var smallSegments func(network, address string, c syscall.RawConn) error
