// The thread's CPU time on Linux, for benchmark ratios that other processes' load does not distort.
package autodiff

import (
	"syscall"
	"time"
	"unsafe"
)

// clockThreadCPUTime is CLOCK_THREAD_CPUTIME_ID of clock_gettime(2).
const clockThreadCPUTime = 3

// threadTime returns the CPU time the calling thread has used; the caller
// locks its goroutine to the thread. Time spent descheduled is not counted,
// so a loaded machine slows the measurement down but does not bias it.
func threadTime() time.Duration {
	var ts syscall.Timespec
	_, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0)
	if errno != 0 {
		return time.Duration(time.Now().UnixNano())
	}
	return time.Duration(ts.Nano())
}
