// Pictures of flows: trajectories over contour lines, curves against t, histograms, scatters.
package plotting

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"flowlang/internal/atomicfile"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Width and Height are the size of every picture.
const (
	Width  = 6 * vg.Inch
	Height = 4.5 * vg.Inch
)

// Contour grid and levels (see Trajectory).
const (
	// gridN is the number of samples of f along each side of the box.
	gridN = 201
	// numLevels is the number of contour lines.
	numLevels = 16
	// levelSpan is the ratio between the highest and the lowest contour
	// height above the minimum: the levels are geometric over four decades.
	levelSpan = 1e4
)

// logDecades is how many decades a positive series must span before
// WantLog asks for a logarithmic axis.
const logDecades = 2

// Series is a named curve.
type Series struct {
	Name string
	X, Y []float64
}

// Format returns the picture format ("png" or "svg") that path's extension
// asks for, or an error naming the formats available.
func Format(path string) (string, error) {
	ext := strings.ToLower(filepath.Ext(path))
	switch ext {
	case ".png", ".svg":
		return ext[1:], nil
	case "":
		return "", fmt.Errorf("cannot tell the picture format of %q: give it the extension .png or .svg", path)
	}
	return "", fmt.Errorf("cannot write %q: pictures are .png or .svg, not %s", path, ext)
}

// save renders p in the format of path's extension and writes it atomically.
func save(p *plot.Plot, path string) (err error) {
	format, err := Format(path)
	if err != nil {
		return err
	}
	defer func() {
		// gonum/plot panics on some degenerate input; report it instead.
		if r := recover(); r != nil {
			err = fmt.Errorf("cannot draw %q: %v", path, r)
		}
	}()
	w, err := p.WriterTo(Width, Height, format)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		return err
	}
	return atomicfile.Write(path, buf.Bytes())
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// points keeps the points of s with finite coordinates (and y > 0 when
// positive is set).
func points(s Series, positive bool) plotter.XYs {
	n := min(len(s.X), len(s.Y))
	xys := make(plotter.XYs, 0, n)
	for i := 0; i < n; i++ {
		x, y := s.X[i], s.Y[i]
		if !finite(x) || !finite(y) || (positive && y <= 0) {
			continue
		}
		xys = append(xys, plotter.XY{X: x, Y: y})
	}
	return xys
}

// WantLog reports whether curves should be drawn on a logarithmic y axis:
// every finite value is positive and they span at least two decades.
func WantLog(series ...Series) bool {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range series {
		for _, y := range s.Y {
			if !finite(y) {
				continue
			}
			if y <= 0 {
				return false
			}
			lo, hi = math.Min(lo, y), math.Max(hi, y)
		}
	}
	return hi > 0 && lo > 0 && math.Log10(hi/lo) >= logDecades
}

// Lines draws curves of y against x (a value or energy against t). With logY
// the y axis is logarithmic (use it when the values span decades); points
// with y ≤ 0 are then left out, and when none is left the axis is linear.
func Lines(path, title, xlabel, ylabel string, logY bool, series ...Series) error {
	if _, err := Format(path); err != nil {
		return err
	}
	p, err := linesPlot(title, xlabel, ylabel, logY, series...)
	if err != nil {
		return err
	}
	return save(p, path)
}

// linesPlot builds the plot Lines draws.
func linesPlot(title, xlabel, ylabel string, logY bool, series ...Series) (*plot.Plot, error) {
	if logY {
		positive := false
		for _, s := range series {
			positive = positive || len(points(s, true)) > 0
		}
		logY = positive
	}
	p := plot.New()
	p.Title.Text = wrapTitle(title)
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	if logY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = logTicks{}
	}
	p.Add(plotter.NewGrid())
	drawn := 0
	for i, s := range series {
		xys := points(s, logY)
		if len(xys) == 0 {
			continue
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, err
		}
		l.Color = plotutil.Color(i)
		l.Width = vg.Points(1.5)
		p.Add(l)
		if s.Name != "" && len(series) > 1 {
			p.Legend.Add(s.Name, l)
		}
		drawn++
	}
	if drawn == 0 {
		return nil, errors.New("nothing to plot: no finite values")
	}
	p.Legend.Top = true
	return p, nil
}

// logTicks labels the powers of ten of a logarithmic axis, with minor ticks
// at their multiples 2..9. Over many decades it labels every second, third,
// ... power so that at most maxLogLabels labels show, and drops the minor
// ticks beyond 12 decades; when the range holds fewer than two powers of
// ten the multiples 2 and 5 are labelled too. (gonum's plot.LogTicks labels
// every power of ten, so 30 decades overlap and an axis within one decade
// has no label.)
type logTicks struct{}

// maxLogLabels is the most labels a logarithmic axis gets.
const maxLogLabels = 10

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(lo > 0) || !(hi >= lo) || math.IsInf(hi, 0) {
		return nil
	}
	k0 := int(math.Floor(math.Log10(lo)))
	k1 := int(math.Ceil(math.Log10(hi)))
	inside := func(v float64) bool { return v >= lo*(1-1e-12) && v <= hi*(1+1e-12) }
	powers := 0
	for k := k0; k <= k1; k++ {
		if inside(math.Pow10(k)) {
			powers++
		}
	}
	every := max(1, (powers+maxLogLabels-1)/maxLogLabels)
	minor := k1-k0 <= 12
	var ticks []plot.Tick
	for k := k0; k <= k1; k++ {
		base := math.Pow10(k)
		for m := 1; m < 10; m++ {
			if m > 1 && !minor {
				break
			}
			v := base * float64(m)
			if !inside(v) {
				continue
			}
			t := plot.Tick{Value: v}
			switch {
			case m == 1 && k%every == 0:
				t.Label = strconv.FormatFloat(v, 'g', 6, 64)
			case powers < 2 && (m == 2 || m == 5):
				t.Label = strconv.FormatFloat(v, 'g', 6, 64)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// grid is f sampled on a regular grid, for contour lines.
type grid struct {
	xs, ys []float64
	z      []float64 // z[j*len(xs)+i] = f(xs[i], ys[j])
}

func (g *grid) Dims() (c, r int)   { return len(g.xs), len(g.ys) }
func (g *grid) Z(c, r int) float64 { return g.z[r*len(g.xs)+c] }
func (g *grid) X(c int) float64    { return g.xs[c] }
func (g *grid) Y(r int) float64    { return g.ys[r] }

var _ plotter.GridXYZ = (*grid)(nil)

// sampleGrid evaluates f on an n×n grid over the box. Non-finite values are
// replaced by the largest finite one, so a contour line never runs into a
// hole; ok is false when f is finite nowhere.
func sampleGrid(f func(x, y float64) float64, xmin, xmax, ymin, ymax float64, n int) (g *grid, zmin, zmax float64, ok bool) {
	g = &grid{xs: make([]float64, n), ys: make([]float64, n), z: make([]float64, n*n)}
	for i := range n {
		g.xs[i] = xmin + (xmax-xmin)*float64(i)/float64(n-1)
		g.ys[i] = ymin + (ymax-ymin)*float64(i)/float64(n-1)
	}
	zmin, zmax = math.Inf(1), math.Inf(-1)
	for j, y := range g.ys {
		for i, x := range g.xs {
			v := f(x, y)
			g.z[j*n+i] = v
			if finite(v) {
				zmin, zmax = math.Min(zmin, v), math.Max(zmax, v)
			}
		}
	}
	if zmin > zmax {
		return g, 0, 0, false
	}
	for k, v := range g.z {
		if !finite(v) {
			g.z[k] = zmax
		}
	}
	return g, zmin, zmax, true
}

// ContourLevels returns the heights of the contour lines for values in
// [zmin, zmax]: zmin + (zmax − zmin)·levelSpan^(k/(n−1) − 1) for
// k = 0..n−1, geometric over four decades above the minimum, so that a
// narrow curved valley (Rosenbrock's) shows as nested lines while the steep
// walls still get a few. Nil when the range is empty.
func ContourLevels(zmin, zmax float64, n int) []float64 {
	r := zmax - zmin
	if !(r > 0) || math.IsInf(r, 0) || n < 1 {
		return nil
	}
	levels := make([]float64, 0, n)
	for k := range n {
		frac := 1.0
		if n > 1 {
			frac = math.Pow(levelSpan, float64(k)/float64(n-1)-1)
		}
		// the top level sits just below the maximum, which only a corner reaches
		levels = append(levels, zmin+r*frac*0.999)
	}
	return slices.Compact(levels)
}

// Trajectory draws paths in the plane over contour lines of f on the box
// [xmin, xmax]×[ymin, ymax] (the level sets a gradient flow crosses at right
// angles). f is sampled on a 201×201 grid; the contour heights are
// ContourLevels. Each path starts at a circle and ends at a cross.
func Trajectory(path, title string, f func(x, y float64) float64, xmin, xmax, ymin, ymax float64, paths ...Series) error {
	if _, err := Format(path); err != nil {
		return err
	}
	p, err := trajectoryPlot(title, f, xmin, xmax, ymin, ymax, paths...)
	if err != nil {
		return err
	}
	return save(p, path)
}

// trajectoryPlot builds the plot Trajectory draws.
func trajectoryPlot(title string, f func(x, y float64) float64, xmin, xmax, ymin, ymax float64, paths ...Series) (*plot.Plot, error) {
	for _, v := range []float64{xmin, xmax, ymin, ymax} {
		if !finite(v) {
			return nil, fmt.Errorf("the plot box [%g, %g]×[%g, %g] is not finite", xmin, xmax, ymin, ymax)
		}
	}
	if !(xmax > xmin) || !(ymax > ymin) {
		return nil, fmt.Errorf("the plot box [%g, %g]×[%g, %g] is empty", xmin, xmax, ymin, ymax)
	}
	p := plot.New()
	p.Title.Text = wrapTitle(title)
	p.X.Label.Text = "x"
	p.Y.Label.Text = "y"
	if f != nil {
		g, zmin, zmax, ok := sampleGrid(f, xmin, xmax, ymin, ymax, gridN)
		if levels := ContourLevels(zmin, zmax, numLevels); ok && len(levels) > 0 {
			// Contour colours are linear in the height; drawing log10(f − zmin)
			// at log10(level − zmin) gives the same lines with colours spread
			// evenly over the geometric levels.
			floor := (levels[0] - zmin) / 10
			for k, v := range g.z {
				g.z[k] = math.Log10(math.Max(v-zmin, floor))
			}
			logLevels := make([]float64, len(levels))
			for k, l := range levels {
				logLevels[k] = math.Log10(l - zmin)
			}
			c := plotter.NewContour(g, logLevels, moreland.SmoothBlueRed().Palette(len(levels)))
			c.Min, c.Max = logLevels[0], logLevels[len(logLevels)-1]
			p.Add(c)
		}
	}
	drawn := 0
	for i, s := range paths {
		xys := points(s, false)
		if len(xys) == 0 {
			continue
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, err
		}
		l.Color = pathColor(i)
		l.Width = vg.Points(1.5)
		ends, err := plotter.NewScatter(plotter.XYs{xys[0]})
		if err != nil {
			return nil, err
		}
		ends.GlyphStyle = draw.GlyphStyle{Color: l.Color, Radius: vg.Points(3.5), Shape: draw.CircleGlyph{}}
		last, err := plotter.NewScatter(plotter.XYs{xys[len(xys)-1]})
		if err != nil {
			return nil, err
		}
		last.GlyphStyle = draw.GlyphStyle{Color: l.Color, Radius: vg.Points(4), Shape: draw.CrossGlyph{}}
		p.Add(l, ends, last)
		if s.Name != "" && len(paths) > 1 {
			p.Legend.Add(s.Name, l)
		}
		drawn++
	}
	if f == nil && drawn == 0 {
		return nil, errors.New("nothing to plot: no function and no finite path")
	}
	p.X.Min, p.X.Max = math.Min(p.X.Min, xmin), math.Max(p.X.Max, xmax)
	p.Y.Min, p.Y.Max = math.Min(p.Y.Min, ymin), math.Max(p.Y.Max, ymax)
	p.Legend.Top = true
	return p, nil
}

// TrajectoryAndLines draws, side by side in one picture, the paths over
// contour lines of f (as Trajectory) and curves against t (as Lines): the
// picture of a 2-D flow and of its value or energy.
func TrajectoryAndLines(path, title string, f func(x, y float64) float64, xmin, xmax, ymin, ymax float64, paths []Series,
	xlabel, ylabel string, logY bool, series ...Series) error {
	if _, err := Format(path); err != nil {
		return err
	}
	left, err := trajectoryPlot(title, f, xmin, xmax, ymin, ymax, paths...)
	if err != nil {
		return err
	}
	right, err := linesPlot("", xlabel, ylabel, logY, series...)
	if err != nil {
		return err
	}
	return saveTiles(path, left, right)
}

// saveTiles renders plots in a row, each Width×Height, and writes the
// picture atomically.
func saveTiles(path string, plots ...*plot.Plot) (err error) {
	format, err := Format(path)
	if err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cannot draw %q: %v", path, r)
		}
	}()
	w, h := Width*vg.Length(len(plots)), Height
	var c vg.CanvasWriterTo
	if format == "svg" {
		c = vgsvg.New(w, h)
	} else {
		c = vgimg.PngCanvas{Canvas: vgimg.New(w, h)}
	}
	dc := draw.New(c)
	canvases := plot.Align([][]*plot.Plot{plots}, draw.Tiles{Rows: 1, Cols: len(plots)}, dc)
	for i, p := range plots {
		p.Draw(canvases[0][i])
	}
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return err
	}
	return atomicfile.Write(path, buf.Bytes())
}

// pathColor is dark enough to stand out over the contour lines.
func pathColor(i int) color.Color {
	dark := []color.Color{
		color.RGBA{A: 255},
		color.RGBA{R: 0x00, G: 0x80, B: 0x00, A: 255},
		color.RGBA{R: 0x80, G: 0x00, B: 0x80, A: 255},
		color.RGBA{R: 0xb0, G: 0x60, B: 0x00, A: 255},
	}
	return dark[i%len(dark)]
}

// BoundingBox returns a box around the finite points of paths with a
// margin of padFrac of its size on each side (and at least pad 1e-3·(1 +
// |centre|) when the paths are a single point), for Trajectory.
func BoundingBox(padFrac float64, paths ...Series) (xmin, xmax, ymin, ymax float64) {
	xmin, ymin = math.Inf(1), math.Inf(1)
	xmax, ymax = math.Inf(-1), math.Inf(-1)
	for _, s := range paths {
		for _, pt := range points(s, false) {
			xmin, xmax = math.Min(xmin, pt.X), math.Max(xmax, pt.X)
			ymin, ymax = math.Min(ymin, pt.Y), math.Max(ymax, pt.Y)
		}
	}
	if xmin > xmax {
		return -1, 1, -1, 1
	}
	pad := func(lo, hi float64) (float64, float64) {
		d := (hi - lo) * padFrac
		if m := 1e-3 * (1 + math.Abs(lo+hi)/2); d < m {
			d = m
		}
		return lo - d, hi + d
	}
	xmin, xmax = pad(xmin, xmax)
	ymin, ymax = pad(ymin, ymax)
	return xmin, xmax, ymin, ymax
}

// Histogram draws a normalised histogram of samples, with the density
// curve target over it when target is not nil. The bin width follows
// Freedman and Diaconis (1981), h = 2·IQR·n^(−1/3), with between 5 and 200
// bins (√n bins when the interquartile range is 0).
func Histogram(path, title string, samples []float64, target func(float64) float64) error {
	if _, err := Format(path); err != nil {
		return err
	}
	vals := make([]float64, 0, len(samples))
	for _, v := range samples {
		if finite(v) {
			vals = append(vals, v)
		}
	}
	if len(vals) == 0 {
		return errors.New("nothing to plot: no finite samples")
	}
	sort.Float64s(vals)
	p := plot.New()
	p.Title.Text = wrapTitle(title)
	p.X.Label.Text = "x"
	p.Y.Label.Text = "density"
	h, err := plotter.NewHist(plotter.Values(vals), Bins(vals))
	if err != nil {
		return err
	}
	h.Normalize(1)
	h.FillColor = color.RGBA{R: 0x9e, G: 0xc5, B: 0xe6, A: 255}
	h.LineStyle.Color = color.RGBA{R: 0x40, G: 0x70, B: 0xa0, A: 255}
	p.Add(h)
	p.Legend.Add(fmt.Sprintf("particles (n = %d)", len(vals)), h)
	if target != nil {
		lo, hi := vals[0], vals[len(vals)-1]
		pad := 0.1 * (hi - lo)
		if pad == 0 {
			pad = 1
		}
		const samplesOfTarget = 400 // enough for a smooth curve at this size
		curve := make(plotter.XYs, 0, samplesOfTarget)
		for i := range samplesOfTarget {
			x := lo - pad + (hi-lo+2*pad)*float64(i)/(samplesOfTarget-1)
			if y := target(x); finite(y) {
				curve = append(curve, plotter.XY{X: x, Y: y})
			}
		}
		if len(curve) > 0 {
			l, err := plotter.NewLine(curve)
			if err != nil {
				return err
			}
			l.Color = color.RGBA{R: 0xc0, G: 0x20, B: 0x20, A: 255}
			l.Width = vg.Points(2)
			p.Add(l)
			p.Legend.Add("target", l)
		}
	}
	p.Legend.Top = true
	return save(p, path)
}

// Bins returns the number of histogram bins for sorted samples by the
// Freedman–Diaconis rule (see Histogram).
func Bins(sorted []float64) int {
	n := len(sorted)
	if n < 2 {
		return 1
	}
	q := func(p float64) float64 { // quantile by linear interpolation
		h := p * float64(n-1)
		i := int(h)
		if i >= n-1 {
			return sorted[n-1]
		}
		return sorted[i] + (h-float64(i))*(sorted[i+1]-sorted[i])
	}
	span := sorted[n-1] - sorted[0]
	iqr := q(0.75) - q(0.25)
	var bins int
	if iqr > 0 && span > 0 {
		w := 2 * iqr * math.Cbrt(1/float64(n))
		bins = int(math.Ceil(span / w))
	} else {
		bins = int(math.Ceil(math.Sqrt(float64(n))))
	}
	return max(5, min(200, bins))
}

// Scatter draws points in the plane.
func Scatter(path, title string, xs, ys []float64) error {
	if _, err := Format(path); err != nil {
		return err
	}
	if len(xs) != len(ys) {
		return fmt.Errorf("scatter: %d x values but %d y values", len(xs), len(ys))
	}
	xys := points(Series{X: xs, Y: ys}, false)
	if len(xys) == 0 {
		return errors.New("nothing to plot: no finite points")
	}
	p := plot.New()
	p.Title.Text = wrapTitle(title)
	p.X.Label.Text = "x"
	p.Y.Label.Text = "y"
	p.Add(plotter.NewGrid())
	s, err := plotter.NewScatter(xys)
	if err != nil {
		return err
	}
	// smaller dots for many points, so that dense regions stay readable
	r := vg.Points(2.5)
	if len(xys) > 2000 {
		r = vg.Points(1)
	}
	s.GlyphStyle = draw.GlyphStyle{Color: color.RGBA{R: 0x20, G: 0x50, B: 0x90, A: 200}, Radius: r, Shape: draw.CircleGlyph{}}
	p.Add(s)
	return save(p, path)
}

// titleWidth is the most characters of a title line that fit the picture's
// width in the default font.
const titleWidth = 72

// wrapTitle breaks a long title (a run statement) at spaces into lines of
// at most titleWidth characters, so that none is cut at the picture's
// edges; past three lines it ends with "…".
func wrapTitle(title string) string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(title) {
		switch {
		case line == "":
			line = w
		case utf8.RuneCountInString(line)+1+utf8.RuneCountInString(w) <= titleWidth:
			line += " " + w
		default:
			lines = append(lines, line)
			line = w
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	if len(lines) > 3 {
		lines = append(lines[:3:3], "…")
		lines[2] += " " + lines[3]
		lines = lines[:3]
	}
	return strings.Join(lines, "\n")
}
