package motoserver

import (
	"os/exec"
	"syscall"
)

// setPdeathsig makes the kernel kill moto_server when the test binary exits,
// so a shared server never outlives its tests.
func setPdeathsig(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
