// Package plotting draws flowlang's pictures with gonum.org/v1/plot: the
// trajectory of a 2-D flow over contour lines of its objective, a value or
// energy against t, a histogram of particles against a target density, and
// a scatter of 2-D particles. The format (PNG or SVG) follows the file's
// extension, and files are written atomically.
package plotting

import "errors"

// Series is a named curve.
type Series struct {
	Name string
	X, Y []float64
}

// Lines draws curves of y against x (a value or energy against t). With logY
// the y axis is logarithmic (use it when the values span decades).
func Lines(path, title, xlabel, ylabel string, logY bool, series ...Series) error {
	return errors.New("plotting: Lines is not implemented yet")
}

// Trajectory draws paths in the plane over contour lines of f on the box
// [xmin, xmax]×[ymin, ymax] (the level sets a gradient flow crosses at right
// angles).
func Trajectory(path, title string, f func(x, y float64) float64, xmin, xmax, ymin, ymax float64, paths ...Series) error {
	return errors.New("plotting: Trajectory is not implemented yet")
}

// Histogram draws a normalised histogram of samples, with the density
// curve target over it when target is not nil.
func Histogram(path, title string, samples []float64, target func(float64) float64) error {
	return errors.New("plotting: Histogram is not implemented yet")
}

// Scatter draws points in the plane.
func Scatter(path, title string, xs, ys []float64) error {
	return errors.New("plotting: Scatter is not implemented yet")
}
