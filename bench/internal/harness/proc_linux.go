package harness

import "syscall"

// sysProcAttr: children get SIGKILL if the harness dies, so nothing outlives a killed run, and
// their own process group, so a terminal's ^C reaches only the harness (which stops them).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}
