// The progress bar shown on a terminal's stderr during long runs.
package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"flowlang/lang"
)

// progressDelay is how long a run goes before a bar appears, so short runs
// print nothing.
const progressDelay = time.Second

// newProgressBar returns a progress callback drawing a bar on w:
// steps done, rate, and time left when the total is known.
func newProgressBar(w io.Writer) lang.ProgressFunc {
	var start, last time.Time
	shown := false
	return func(done, total int, t float64) {
		now := time.Now()
		if done == 0 || start.IsZero() {
			start, last, shown = now, now, false
			return
		}
		if done < 0 { // finished: clear the line
			if shown {
				fmt.Fprint(w, "\r\033[K")
			}
			start = time.Time{}
			return
		}
		if now.Sub(start) < progressDelay || now.Sub(last) < 100*time.Millisecond {
			return
		}
		last, shown = now, true
		elapsed := now.Sub(start).Seconds()
		rate := float64(done) / elapsed
		line := fmt.Sprintf("%d steps  %.3g steps/s  t = %.4g", done, rate, t)
		if total > 0 {
			frac := float64(done) / float64(total)
			const width = 30
			n := int(frac * width)
			left := time.Duration(elapsed * (1 - frac) / frac * float64(time.Second)).Round(time.Second)
			line = fmt.Sprintf("[%s%s] %3.0f%%  %s  %s left", strings.Repeat("=", n), strings.Repeat(" ", width-n), 100*frac, line, left)
		}
		fmt.Fprint(w, "\r\033[K"+line)
	}
}
