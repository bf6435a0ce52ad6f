// Package plotting draws flowlang's pictures with gonum.org/v1/plot: the
// trajectory of a 2-D flow over contour lines of its objective, a value or
// energy against t, a histogram of particles against a target density, and
// a scatter of 2-D particles. The format (PNG or SVG) follows the file's
// extension, and files are written atomically.
//
// Every picture is Width × Height (PNG at 96 dots per inch, so 576 × 432
// pixels). Non-finite values (NaN, ±Inf) are left out of every picture
// rather than failing it, and so are non-positive values on a logarithmic
// axis; a picture with nothing left to draw is an error.
package plotting
