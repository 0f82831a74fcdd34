// Package clustertest holds LeChat's cluster integration tests: they build the
// server binary, start three nodes of it as real processes on 127.0.0.1 with one
// MariaDB database and a Redis server of their own, and drive them over real
// WebSockets and REST — delivery, presence and read receipts across nodes, a
// node killed with SIGKILL mid-traffic, a Redis restart, a graceful shutdown,
// and a database that drops out for a few seconds. The package has no code of
// its own; it lives apart so that its build and its minutes stay out of the
// other packages' tests.
//
// It needs MariaDB (LECHAT_TEST_MYSQL_DSN, default root:@tcp(127.0.0.1:3306)/test)
// and redis-server on the PATH; without them it skips, unless
// LECHAT_TEST_REQUIRE_SERVICES=1. LECHAT_BIN names a prebuilt server binary;
// otherwise the tests run go build.
package clustertest
