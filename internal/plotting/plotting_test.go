// Tests of the pictures: decoded as images of the expected size, written atomically.
package plotting

import (
	"encoding/xml"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// wantW and wantH are the pixel size of a PNG: Width and Height at 96 dpi.
const (
	wantW = 576 // 6 in × 96
	wantH = 432 // 4.5 in × 96
)

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() != wantW || b.Dy() != wantH {
		t.Fatalf("%s is %d×%d, want %d×%d", path, b.Dx(), b.Dy(), wantW, wantH)
	}
	return img
}

// svgSize parses path as XML and returns the root svg element's width and
// height in points.
func svgSize(t *testing.T, path string) (w, h float64) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var root struct {
		XMLName xml.Name
		Width   string `xml:"width,attr"`
		Height  string `xml:"height,attr"`
	}
	if err := xml.Unmarshal(data, &root); err != nil {
		t.Fatalf("%s is not XML: %v", path, err)
	}
	if root.XMLName.Local != "svg" {
		t.Fatalf("%s: root element %q, want svg", path, root.XMLName.Local)
	}
	pt := func(s string) float64 {
		v, err := strconv.ParseFloat(strings.TrimSuffix(s, "pt"), 64)
		if err != nil {
			t.Fatalf("%s: size %q: %v", path, s, err)
		}
		return v
	}
	return pt(root.Width), pt(root.Height)
}

// inked counts the pixels that are not (nearly) white.
func inked(img image.Image) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r < 0xf000 || g < 0xf000 || bl < 0xf000 {
				n++
			}
		}
	}
	return n
}

func rosen(x, y float64) float64 { return (1-x)*(1-x) + 100*(y-x*x)*(y-x*x) }

// descent is a gradient-descent path on Rosenbrock's function from (-1, 1).
func descent() Series {
	x, y := -1.0, 1.0
	const h = 1e-3 // below 2/L with L ≈ 1000 near the path
	s := Series{Name: "euler"}
	for k := 0; k <= 5000; k++ {
		if k%20 == 0 {
			s.X, s.Y = append(s.X, x), append(s.Y, y)
		}
		gx := -2*(1-x) - 400*x*(y-x*x)
		gy := 200 * (y - x*x)
		x, y = x-h*gx, y-h*gy
	}
	return s
}

func TestTrajectoryPNGAndSVG(t *testing.T) {
	dir := t.TempDir()
	path := descent()
	xmin, xmax, ymin, ymax := -2.0, 2.0, -1.0, 3.0
	pngPath := filepath.Join(dir, "rosen.png")
	if err := Trajectory(pngPath, "Rosenbrock", rosen, xmin, xmax, ymin, ymax, path); err != nil {
		t.Fatal(err)
	}
	withContours := inked(decodePNG(t, pngPath))

	bare := filepath.Join(dir, "bare.png")
	if err := Trajectory(bare, "Rosenbrock", nil, xmin, xmax, ymin, ymax, path); err != nil {
		t.Fatal(err)
	}
	without := inked(decodePNG(t, bare))
	// 16 contour lines across a 4×4 box add far more than a few hundred pixels
	const minContourInk = 2000
	if withContours-without < minContourInk {
		t.Errorf("contour lines add %d inked pixels, want at least %d", withContours-without, minContourInk)
	}

	svgPath := filepath.Join(dir, "rosen.svg")
	if err := Trajectory(svgPath, "Rosenbrock", rosen, xmin, xmax, ymin, ymax, path); err != nil {
		t.Fatal(err)
	}
	w, h := svgSize(t, svgPath)
	if w != Width.Points() || h != Height.Points() {
		t.Errorf("svg is %g×%g pt, want %g×%g", w, h, Width.Points(), Height.Points())
	}
}

func TestContourLevelsShowTheValley(t *testing.T) {
	zmin, zmax := 0.0, rosen(-2, -1) // the box [-2,2]×[-1,3] of the test above
	levels := ContourLevels(zmin, zmax, numLevels)
	if len(levels) != numLevels {
		t.Fatalf("%d levels, want %d", len(levels), numLevels)
	}
	// geometric above the minimum: equal ratios between consecutive heights
	want := math.Pow(levelSpan, 1/float64(numLevels-1))
	const ratioTol = 1e-9 // floating-point rounding only
	for i := 1; i < len(levels); i++ {
		if r := (levels[i] - zmin) / (levels[i-1] - zmin); math.Abs(r-want) > ratioTol*want {
			t.Errorf("level ratio %d: %g, want %g", i, r, want)
		}
	}
	// The valley floor y = x² has f = (1 − x)² ≤ 9 on the box; at least a
	// quarter of the lines must lie there for the valley to show.
	below := 0
	for _, l := range levels {
		if l < 9 {
			below++
		}
	}
	if below < numLevels/4 {
		t.Errorf("%d of %d levels inside the valley (f < 9), want at least %d: %v", below, numLevels, numLevels/4, levels)
	}
	if ContourLevels(1, 1, numLevels) != nil || ContourLevels(0, math.Inf(1), numLevels) != nil {
		t.Error("an empty or infinite range must give no levels")
	}
}

func TestTrajectoryWithNonFiniteValues(t *testing.T) {
	dir := t.TempDir()
	logf := func(x, y float64) float64 { return math.Log(x*x + y*y - 1) } // NaN inside the unit disc
	p := Series{X: []float64{1.5, math.NaN(), 0.5}, Y: []float64{1.5, 2, math.Inf(1)}}
	out := filepath.Join(dir, "holes.png")
	if err := Trajectory(out, "log", logf, -2, 2, -2, 2, p); err != nil {
		t.Fatal(err)
	}
	decodePNG(t, out)
	if err := Trajectory(filepath.Join(dir, "nan.png"), "nan", func(x, y float64) float64 { return math.NaN() }, -1, 1, -1, 1); err != nil {
		t.Fatal(err) // nothing but an empty frame, still a picture
	}
	if err := Trajectory(filepath.Join(dir, "empty.png"), "", rosen, 1, 1, 0, 1); err == nil {
		t.Error("an empty box must be refused")
	}
}

func TestLinesLogScale(t *testing.T) {
	dir := t.TempDir()
	var s Series
	for k := 0; k <= 200; k++ {
		tt := float64(k) * 0.05
		s.X = append(s.X, tt)
		s.Y = append(s.Y, math.Exp(-2*tt)) // from 1 to 2e-9: nine decades
	}
	if !WantLog(s) {
		t.Error("a curve spanning nine decades should want a log axis")
	}
	if WantLog(Series{X: []float64{0, 1}, Y: []float64{1, 50}}) {
		t.Error("a curve within two decades should not want a log axis")
	}
	if WantLog(Series{X: []float64{0, 1}, Y: []float64{-1, 1000}}) {
		t.Error("a curve with a negative value cannot have a log axis")
	}
	other := Series{Name: "slower", X: s.X}
	for _, y := range s.Y {
		other.Y = append(other.Y, math.Sqrt(y))
	}
	s.Name = "faster"
	out := filepath.Join(dir, "value.png")
	if err := Lines(out, "value", "t", "f", true, s, other); err != nil {
		t.Fatal(err)
	}
	decodePNG(t, out)

	// non-positive values on a log axis are left out, not a panic
	mixed := Series{X: []float64{0, 1, 2, 3}, Y: []float64{1, 0, -1, 1e-3}}
	if err := Lines(filepath.Join(dir, "mixed.svg"), "", "t", "f", true, mixed); err != nil {
		t.Fatal(err)
	}
	// nothing positive: a linear axis
	neg := Series{X: []float64{0, 1, 2}, Y: []float64{-1, -2, -3}}
	if err := Lines(filepath.Join(dir, "neg.png"), "", "t", "f", true, neg); err != nil {
		t.Fatal(err)
	}
	decodePNG(t, filepath.Join(dir, "neg.png"))
	if err := Lines(filepath.Join(dir, "nan.png"), "", "t", "f", false, Series{X: []float64{0}, Y: []float64{math.NaN()}}); err == nil {
		t.Error("a curve with no finite point must be an error")
	}
}

func TestLogTicks(t *testing.T) {
	labels := func(lo, hi float64) []string {
		var out []string
		for _, tk := range (logTicks{}).Ticks(lo, hi) {
			if tk.Label != "" {
				out = append(out, tk.Label)
			}
		}
		return out
	}
	if got := strings.Join(labels(1e-3, 100), " "); got != "0.001 0.01 0.1 1 10 100" {
		t.Errorf("labels on [1e-3, 100]: %s", got)
	}
	// within one decade the multiples 2 and 5 are labelled too
	if got := strings.Join(labels(1.5, 8), " "); got != "2 5" {
		t.Errorf("labels on [1.5, 8]: %s", got)
	}
	// 36 decades: every fourth power labelled, printed exactly
	if got := strings.Join(labels(1e-35, 1), " "); got != "1e-32 1e-28 1e-24 1e-20 1e-16 1e-12 1e-08 0.0001 1" {
		t.Errorf("labels on [1e-35, 1]: %s", got)
	}
	if len((logTicks{}).Ticks(0, 1)) != 0 {
		t.Error("a non-positive range has no log ticks")
	}
}

func TestHistogram(t *testing.T) {
	dir := t.TempDir()
	// deterministic standard-normal quantiles: a perfect sample of N(0, 1)
	const n = 2000
	samples := make([]float64, 0, n+2)
	for i := range n {
		p := (float64(i) + 0.5) / n
		samples = append(samples, math.Sqrt2*math.Erfinv(2*p-1))
	}
	samples = append(samples, math.NaN(), math.Inf(1)) // ignored
	normal := func(x float64) float64 { return math.Exp(-x*x/2) / math.Sqrt(2*math.Pi) }
	for _, name := range []string{"hist.png", "hist.svg"} {
		out := filepath.Join(dir, name)
		if err := Histogram(out, "particles", samples, normal); err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(name, ".png") {
			decodePNG(t, out)
		} else {
			svgSize(t, out)
		}
	}
	if err := Histogram(filepath.Join(dir, "none.png"), "", []float64{math.NaN()}, nil); err == nil {
		t.Error("no finite sample must be an error")
	}
}

func TestBins(t *testing.T) {
	// 1000 evenly spread values on [0, 1]: IQR = 0.5, h = 2·0.5·1000^(−1/3) = 0.1
	u := make([]float64, 1000)
	for i := range u {
		u[i] = float64(i) / 999
	}
	if got := Bins(u); got != 10 {
		t.Errorf("Bins(uniform 1000) = %d, want 10", got)
	}
	if got := Bins([]float64{3, 3, 3, 3}); got != 5 {
		t.Errorf("Bins(constant) = %d, want the minimum 5", got)
	}
}

func TestScatter(t *testing.T) {
	dir := t.TempDir()
	xs := []float64{0, 1, 2, math.NaN()}
	ys := []float64{0, 1, 4, 9}
	out := filepath.Join(dir, "pts.png")
	if err := Scatter(out, "particles", xs, ys); err != nil {
		t.Fatal(err)
	}
	decodePNG(t, out)
	if err := Scatter(filepath.Join(dir, "bad.png"), "", xs, ys[:2]); err == nil {
		t.Error("mismatched lengths must be an error")
	}
}

func TestUnknownFormatAndAtomicity(t *testing.T) {
	dir := t.TempDir()
	s := Series{X: []float64{0, 1}, Y: []float64{1, 2}}
	for _, name := range []string{"out.pdf", "out", "out.jpeg"} {
		err := Lines(filepath.Join(dir, name), "", "t", "f", false, s)
		if err == nil || !strings.Contains(err.Error(), ".png") {
			t.Errorf("%s: error %v, want one naming .png and .svg", name, err)
		}
	}
	// a directory that does not exist: an error, and nothing left behind
	if err := Lines(filepath.Join(dir, "no", "such", "dir.png"), "", "t", "f", false, s); err == nil {
		t.Error("writing into a missing directory must fail")
	}
	// an existing picture is replaced whole
	out := filepath.Join(dir, "twice.png")
	for range 2 {
		if err := Lines(out, "", "t", "f", false, s); err != nil {
			t.Fatal(err)
		}
	}
	decodePNG(t, out)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

// TestTrajectoryAndLines draws a 2-D flow's path and its value side by
// side: one picture twice as wide, in both formats, and the right-hand half
// (the curve) is not blank.
func TestTrajectoryAndLines(t *testing.T) {
	dir := t.TempDir()
	f := func(x, y float64) float64 { return x*x + 10*y*y }
	path := Series{X: []float64{1, 0.5, 0.2, 0.05}, Y: []float64{1, 0.3, 0.05, 0.001}}
	value := Series{X: []float64{0, 1, 2, 3}, Y: []float64{11, 0.9, 0.04, 1e-4}}
	pngPath := filepath.Join(dir, "both.png")
	if err := TrajectoryAndLines(pngPath, "quadratic", f, -1.2, 1.2, -1.2, 1.2, []Series{path}, "t", "value", true, value); err != nil {
		t.Fatal(err)
	}
	fh, err := os.Open(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	img, err := png.Decode(fh)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	if b.Dx() != 2*wantW || b.Dy() != wantH {
		t.Fatalf("picture is %d×%d, want %d×%d", b.Dx(), b.Dy(), 2*wantW, wantH)
	}
	dark := 0
	for x := b.Min.X + b.Dx()/2; x < b.Max.X; x++ {
		for y := b.Min.Y; y < b.Max.Y; y++ {
			if r, g, bb, _ := img.At(x, y).RGBA(); r+g+bb < 3*0x8000 {
				dark++
			}
		}
	}
	if dark < 500 {
		t.Errorf("the right half has %d dark pixels: no curve drawn?", dark)
	}
	svg := filepath.Join(dir, "both.svg")
	if err := TrajectoryAndLines(svg, "quadratic", f, -1.2, 1.2, -1.2, 1.2, []Series{path}, "t", "value", true, value); err != nil {
		t.Fatal(err)
	}
	if w, h := svgSize(t, svg); math.Abs(w-2*432) > 1 || math.Abs(h-324) > 1 {
		t.Errorf("svg is %g×%g pt, want %d×%d", w, h, 2*432, 324)
	}
}
