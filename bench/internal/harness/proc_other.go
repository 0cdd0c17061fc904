//go:build !linux

package harness

import "syscall"

// sysProcAttr: the harness needs Linux (/proc) to measure; elsewhere it only has to build.
func sysProcAttr() *syscall.SysProcAttr { return nil }
