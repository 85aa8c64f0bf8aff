package projections

import (
	"runtime"
	"syscall"
)

// runLowered runs f, and waits for it, on a goroutine locked to an OS thread
// whose nice value is n (Linux keeps one per thread); f gets nil, or why
// the thread could not be lowered (it then runs at the process's priority).
// The thread is never handed back: when the goroutine ends still locked,
// the runtime ends the thread with it, so no other goroutine ever runs at
// that priority; and threads the runtime starts later are started by a
// thread of its own, so they do not inherit it. The main thread is never
// the one lowered: its nice value is the one ps shows for the process, and
// the runtime parks it, instead of ending it, when its goroutine ends.
func runLowered(n int, f func(err error)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		if syscall.Gettid() == syscall.Getpid() {
			// Held by this goroutine, the main thread cannot take the
			// next one, which tries again elsewhere.
			runLowered(n, f)
			runtime.UnlockOSThread()
			return
		}
		err := syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), n)
		if err != nil {
			runtime.UnlockOSThread()
		}
		f(err)
	}()
	<-done
}
