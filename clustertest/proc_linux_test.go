package clustertest

import (
	"os/exec"
	"syscall"
)

// dieWithTest makes the child process get SIGKILL when the test process ends,
// however it ends, so that no node or Redis outlives a crashed test.
func dieWithTest(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
