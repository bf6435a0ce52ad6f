//go:build !linux

// Wall-clock time where the thread's CPU time is not available.
package autodiff

import "time"

var start = time.Now()

// threadTime returns the time since the process started (the thread's CPU
// time on Linux).
func threadTime() time.Duration { return time.Since(start) }
