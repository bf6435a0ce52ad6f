//go:build !race

// Without the race detector, timing bounds apply.
package autodiff

// raceEnabled reports that the race detector is on: timing bounds do not apply.
const raceEnabled = false
