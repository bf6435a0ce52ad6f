//go:build race

// The race detector slows everything down several times.
package autodiff

// raceEnabled reports that the race detector is on: timing bounds do not apply.
const raceEnabled = true
