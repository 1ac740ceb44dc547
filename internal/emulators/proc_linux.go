package emulators

import "syscall"

// procAttr runs an emulator in its own process group (so Stop reaches the
// JVM or Node and all their children) and has the kernel kill it if this
// process dies first, e.g. a test binary stopped by -timeout.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
