// The progress bar shown on a terminal's stderr during long runs.
package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	"flowlang/lang"
)

// progressDelay is how long a run goes before a bar appears, so short runs
// print nothing.
const progressDelay = time.Second

// progressEvery is the least time between two redraws of the bar.
const progressEvery = 100 * time.Millisecond

// barWidth is the bar's width in characters; the whole line stays under
// 80 columns so that it never wraps (a wrapped line could not be redrawn
// in place).
const barWidth = 12

// newProgressBar returns a progress callback drawing a bar on w, which
// should be a terminal: steps done, steps per second, t, and when the total
// is known the fraction done and the time left (extrapolated at the mean
// rate so far). Nothing is drawn in a run's first second. done = 0 starts
// a run and done < 0 ends it, clearing the line. The callback is safe for
// concurrent use and cheap when it draws nothing (a clock read and a lock).
func newProgressBar(w io.Writer) lang.ProgressFunc {
	var (
		mu          sync.Mutex
		start, last time.Time
		shown       bool
	)
	return func(done, total int, t float64) {
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		switch {
		case done < 0: // finished: clear the line
			if shown {
				fmt.Fprint(w, "\r\033[K")
			}
			start, shown = time.Time{}, false
			return
		case done == 0 || start.IsZero():
			start, last, shown = now, now, false
			return
		}
		if now.Sub(start) < progressDelay || now.Sub(last) < progressEvery {
			return
		}
		last, shown = now, true
		fmt.Fprint(w, "\r\033[K"+progressLine(done, total, t, now.Sub(start)))
	}
}

// progressLine is the text of the bar after elapsed time.
func progressLine(done, total int, t float64, elapsed time.Duration) string {
	rate := float64(done) / elapsed.Seconds()
	line := fmt.Sprintf("%d steps, %s steps/s, t = %s", done, compact(rate), lang.FormatNumber(t, 4))
	if total <= 0 {
		return line
	}
	frac := math.Min(1, float64(done)/float64(total))
	n := int(frac * barWidth)
	left := time.Duration(float64(total-done) / rate * float64(time.Second))
	return fmt.Sprintf("[%s%s] %.0f%% %s, %s left", strings.Repeat("=", n), strings.Repeat(" ", barWidth-n), 100*frac, line, duration(left))
}

// compact prints a rate with three significant digits and a k, M or G
// suffix: 950, 12.3k, 4.56M.
func compact(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.3gG", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.3gM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.3gk", v/1e3)
	}
	return fmt.Sprintf("%.3g", v)
}

// duration prints a time left in at most seven characters: 42s, 11m50s,
// 3h05m, >999h.
func duration(d time.Duration) string {
	s := int64(math.Round(d.Seconds()))
	switch {
	case d < 0 || s < 60:
		return fmt.Sprintf("%ds", max(s, 0))
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	case s < 1000*3600:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	}
	return ">999h"
}
