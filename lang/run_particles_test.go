// Tests of runs by particles, distributions and show w2: term splitting, exact particle dynamics, outputs, bad input, cores.
package lang

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	ad "flowlang/autodiff"
	"flowlang/solvers"
)

// splitTol compares a split part with its expected expression at points:
// both are evaluated by the same arithmetic from equal mathematics, so
// they agree to rounding.
const splitTol = 1e-12

// splitOf declares src and splits the functional F's δF/δq.
func splitOf(t *testing.T, src string) *particleTerms {
	t.Helper()
	in := session(t, src)
	pt, err := splitParticleTerms(in.functionals["F"])
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	return pt
}

// sameAt compares e with want (both functions of the symbols x or x[i])
// at a few points.
func sameAt(t *testing.T, what string, e *ad.Node, want func(x []float64) float64, xs []*ad.Node) {
	t.Helper()
	if e == nil {
		t.Errorf("%s: missing", what)
		return
	}
	for _, pt := range [][]float64{{0.3, -0.7}, {-1.2, 0.4}, {2.1, 1.5}} {
		vals := map[*ad.Node]float64{}
		for i, x := range xs {
			vals[x] = pt[i]
		}
		got, err := ad.Eval(e, vals)
		if err != nil {
			t.Errorf("%s: %v", what, err)
			return
		}
		if w := want(pt); !(math.Abs(got-w) <= splitTol*math.Max(1, math.Abs(w))) {
			t.Errorf("%s at %v = %.15g, want %.15g (%s)", what, pt[:len(xs)], got, w, ad.String(e))
		}
	}
}

// TestSplitParticleTerms: δF/δq is split into V + ∫W(x − y)q(y)dy + D log q
// (+ the constant D that belongs to the entropy), for the standard
// library's functionals and for forms the canonical printer does not
// simplify by itself.
func TestSplitParticleTerms(t *testing.T) {
	// free energy at β = 4: V = x⁴/4 − x²/2, D = 1/4; the constant D of
	// δ/δq(D∫q log q) = D log q + D is not part of V
	pt := splitOf(t, "def V(x) = x^4/4 - x^2/2\ndensity q(x)\nfunctional F[q] = free_energy(V, 4)\n")
	if pt.diffusion != 0.25 || pt.kernel != nil || len(pt.rejected) > 0 {
		t.Errorf("free energy: D = %g, kernel %v, rejected %v", pt.diffusion, pt.kernel, pt.rejected)
	}
	sameAt(t, "free energy potential", pt.potential, func(x []float64) float64 { return math.Pow(x[0], 4)/4 - x[0]*x[0]/2 }, pt.xs)

	// KL(q‖p) for a mixture p, whose log the printer cannot split: the
	// term log(q/p) is D log q with D = 1 and V = −log p
	pt = splitOf(t, "density q(x)\nfunctional F[q] = kl(exp(-x^2/2) + exp(-(x - 3)^2/2))\n")
	if pt.diffusion != 1 || len(pt.rejected) > 0 {
		t.Errorf("kl: D = %g, rejected %v", pt.diffusion, pt.rejected)
	}
	sameAt(t, "kl potential", pt.potential, func(x []float64) float64 {
		return -math.Log(math.Exp(-x[0]*x[0]/2) + math.Exp(-(x[0]-3)*(x[0]-3)/2))
	}, pt.xs)

	// an asymmetric kernel B: only its even part acts, W(z) = ½(B(z) + B(−z))
	pt = splitOf(t, "def B(z) = exp(-(z - 1)^2)\ndensity q(x)\nfunctional F[q] = interaction(B) + potential(x^2/2)\n")
	b := func(z float64) float64 { return math.Exp(-(z - 1) * (z - 1)) }
	sameAt(t, "even part of B", pt.kernel, func(x []float64) float64 { return (b(x[0]) + b(-x[0])) / 2 }, pt.xs)
	sameAt(t, "potential beside B", pt.potential, func(x []float64) float64 { return x[0] * x[0] / 2 }, pt.xs)

	// a kernel written multiplied out is recognised as a function of x − y
	pt = splitOf(t, "density q(x)\nfunctional F[q] = 1/2*integral(integral((x^2 - 2*x*y + y^2)*q(x)*q(y), y))\n")
	sameAt(t, "expanded kernel", pt.kernel, func(x []float64) float64 { return x[0] * x[0] }, pt.xs)

	// two dimensions; the mass ∫q adds 1 to δF/δq and exerts no force
	pt = splitOf(t, "def K(z[2]) = exp(-norm2(z))\ndensity q(x[2])\nfunctional F[q] = interaction(K) + entropy()/2 + potential(x[1]^2 + 3*x[2]^2) + integral(q)\n")
	if pt.diffusion != 0.5 || len(pt.rejected) > 0 {
		t.Errorf("2-D: D = %g, rejected %v", pt.diffusion, pt.rejected)
	}
	sameAt(t, "2-D kernel", pt.kernel, func(x []float64) float64 { return math.Exp(-x[0]*x[0] - x[1]*x[1]) }, pt.xs)
	sameAt(t, "2-D potential", pt.potential, func(x []float64) float64 { return x[0]*x[0] + 3*x[1]*x[1] + 1 }, pt.xs)

	// what particles cannot handle, and why
	for _, c := range []struct{ src, why string }{
		{"density q(x)\nfunctional F[q] = fisher()\n", "derivatives of q"},
		{"density q(x)\nfunctional F[q] = porous(3)\n", "q itself"},
		{"density q(x)\nfunctional F[q] = potential(x^2) - entropy()\n", "negative multiple of log(q)"},
		{"density q(x)\nfunctional F[q] = integral(x*q)^2\n", "nonlocal term other than an interaction"},
		{"density q(x)\nfunctional F[q] = integral(integral(x*y*q(x)*q(y), y))\n", "nonlocal term other than an interaction"},
		{"density q(x)\nfunctional F[q] = integral(q*integral(exp(-(x - y)^2)*q(y), y)^2)\n", "nonlocal term"},
		{"density q(x)\nfunctional F[q] = integral(integral(exp(-(x + y)^2)*q(x)*q(y), y))\n", "not a function of x − y"},
		{"density q(x)\nfunctional F[q] = integral(x^2*q*log(q))\n", "q itself"},
	} {
		pt := splitOf(t, c.src)
		if len(pt.rejected) == 0 || !strings.Contains(pt.rejected[0].why, c.why) {
			t.Errorf("%s: rejected %v, want a term rejected because %q", c.src, pt.rejected, c.why)
		}
	}
}

// particleRecord runs src and returns its last run record and the rows.
func particleRecord(t testing.TB, src string, opts Options) (*RunRecord, *runCollector) {
	t.Helper()
	c, err := runScript(t, src, opts)
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	runs := c.runRecords()
	if len(runs) == 0 {
		t.Fatalf("%s: no run record", src)
	}
	return runs[len(runs)-1], c
}

// TestParticlesExact: deterministic particles on V = x²/2 from given
// points move as xₖ = (1 − h)^k x₀, so the mean is 2·0.9^10 and the
// variance (2/3)·0.81^10; the energy is the mean of V, the monitor the
// mean of x⁴, and until t >= T stops at the step reaching T.
func TestParticlesExact(t *testing.T) {
	const tol = 1e-13 // ten steps of exact-ish arithmetic
	src := "density q(x)\nfunctional F[q] = potential(x^2/2)\n" +
		"run F from points([1, 2, 3]) using particles(h = 0.1) until t >= 1 every 5 monitor m4 = x^4\n"
	r, c := particleRecord(t, src, Options{})
	f := math.Pow(0.9, 10)
	mean, v := r.Final["mean"].([]float64), r.Final["var"].([]float64)
	if r.Steps != 10 || math.Abs(mean[0]-2*f) > tol || math.Abs(v[0]-2.0/3*f*f) > tol || r.Final["n"] != 3 {
		t.Errorf("steps %d, n %v, mean %v, var %v; want 10, 3, %g, %g", r.Steps, r.Final["n"], mean, v, 2*f, 2.0/3*f*f)
	}
	if e := r.Final["energy"].(float64); math.Abs(e-14.0/6*f*f) > tol {
		t.Errorf("energy %g, want %g", e, 14.0/6*f*f)
	}
	if !r.Monotone {
		t.Error("the energy of gradient descent on x²/2 is monotone")
	}
	wantCols := "step,t,mean,var,energy,m4"
	if got := strings.Join(c.columns, ","); got != wantCols {
		t.Fatalf("columns %s, want %s", got, wantCols)
	}
	if len(c.rows) != 3 {
		t.Fatalf("%d rows, want 3 (steps 0, 5, 10)", len(c.rows))
	}
	for _, row := range c.rows {
		g := math.Pow(0.9, row[0])
		if want := (1 + 16 + 81) / 3.0 * math.Pow(g, 4); math.Abs(row[5]-want) > tol*want {
			t.Errorf("step %g: m4 = %g, want %g", row[0], row[5], want)
		}
	}
	if m := r.Diagnostics["monitors"].(map[string]any)["m4"].(map[string]any); m["trend"] != "decreasing" {
		t.Errorf("m4 trend %v", m["trend"])
	}
}

// TestParticleOutputs: to writes the rows and the final positions
// (FILE_particles.csv), compare to adds w2 (per row in 1-D), plot draws a
// histogram in 1-D and a scatter in 2-D; JSON has the final record of
// SPEC §5.
func TestParticleOutputs(t *testing.T) {
	dir := t.TempDir()
	rows := filepath.Join(dir, "rows.csv")
	pic := filepath.Join(dir, "hist.png")
	src := "density q(x)\nfunctional F[q] = free_energy(x^2/2, 1)\n" +
		"run F from sample(normal(1, 0.5), 500) using langevin(h = 0.01) for 20 steps every 10 compare to normal(0, 1) to \"" + rows + "\" plot \"" + pic + "\"\n"
	var buf bytes.Buffer
	in := New(Options{Out: &JSONReporter{Out: &buf}, Seed: 3})
	if err := in.ExecFile("t.flow", []byte(src)); err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Kind    string
		Method  string
		Steps   int
		Final   map[string]any
		Columns []string
		Rows    [][]float64
	}
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	if rec.Kind != "run" || rec.Method != "langevin" || rec.Steps != 20 || rec.Final["n"] != 500.0 ||
		len(rec.Final["mean"].([]any)) != 1 || len(rec.Final["var"].([]any)) != 1 || rec.Final["w2"] == nil {
		t.Errorf("record %s", buf.String())
	}
	if got := strings.Join(rec.Columns, ","); got != "step,t,mean,var,energy,w2" || len(rec.Rows) != 3 {
		t.Errorf("columns %s, %d rows", got, len(rec.Rows))
	}
	if w := rec.Rows[2][5]; w != rec.Final["w2"].(float64) {
		t.Errorf("last row's w2 %g, final %v", w, rec.Final["w2"])
	}
	csvRows := readCSV(t, rows)
	if len(csvRows) != 4 || strings.Join(csvRows[0], ",") != "step,t,mean,var,energy,w2" {
		t.Errorf("rows file: %v", csvRows)
	}
	pos := readCSV(t, filepath.Join(dir, "rows_particles.csv"))
	if len(pos) != 501 || pos[0][0] != "x" {
		t.Errorf("positions file: %d lines, header %v", len(pos), pos[0])
	}
	if st, err := os.Stat(pic); err != nil || st.Size() == 0 {
		t.Errorf("histogram: %v", err)
	}

	// 2-D: a scatter; positions with one column per coordinate
	pic2 := filepath.Join(dir, "scatter.svg")
	rows2 := filepath.Join(dir, "two.csv")
	src2 := "density q(x[2])\nfunctional F[q] = potential(norm2(x)/2) + entropy()\n" +
		"run F from sample(normal([0, 0], [1, 2]), 300) using mala(h = 0.1) for 10 steps to \"" + rows2 + "\" plot \"" + pic2 + "\"\n"
	r, _ := particleRecord(t, src2, Options{})
	if st, err := os.Stat(pic2); err != nil || st.Size() == 0 {
		t.Errorf("scatter: %v", err)
	}
	pos = readCSV(t, filepath.Join(dir, "two_particles.csv"))
	if len(pos) != 301 || strings.Join(pos[0], ",") != "x[1],x[2]" {
		t.Errorf("2-D positions file: %d lines, header %v", len(pos), pos[0])
	}
	// without every, to writes every step
	if got := len(readCSV(t, rows2)); got != 12 {
		t.Errorf("2-D rows file: %d lines, want 12", got)
	}
	if a, ok := r.Diagnostics["accept"].(float64); !ok || !(a > 0 && a <= 1) {
		t.Errorf("mala acceptance %v", r.Diagnostics["accept"])
	}
}

// TestParticleDivergenceWritesNothing: a run whose particles blow up
// stops with the step and a hint on h, and leaves no rows or positions.
func TestParticleDivergenceWritesNothing(t *testing.T) {
	dir := t.TempDir()
	rows := filepath.Join(dir, "rows.csv")
	src := "density q(x)\nfunctional F[q] = potential(x^2/2)\n" +
		"run F from sample(normal(0, 1), 100) using particles(h = 3) for 1000 steps to \"" + rows + "\"\n"
	_, err := runScript(t, src, Options{})
	e, ok := err.(*Error)
	if !ok || !strings.Contains(e.Msg, "particles diverged at step") || !strings.Contains(e.Hint, "h = 0.3 or smaller") || e.Pos.Line != 3 {
		t.Fatalf("error %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("files left behind: %v", entries)
	}
}

// TestParticleSingularKernel: a kernel whose gradient is not finite at 0
// (log|z| in 1-D, 1/|z| in 2-D) stops the run at step 1 with the
// kernel's offending term, and a hint that does not blame h; a blob run
// without entropy reports no ε.
func TestParticleSingularKernel(t *testing.T) {
	for _, src := range []string{
		"density q(x)\ndef K(z) = log(abs(z))\nfunctional A[q] = interaction(K)\nrun A from sample(normal(0, 1), 100) using particles(h = 0.01) for 10 steps\n",
		"density q(x[2])\ndef K(z[2]) = 1/sqrt(norm2(z))\nfunctional A[q] = interaction(K) + entropy()\nrun A from sample(normal([0, 0], [1, 1]), 100) using langevin(h = 0.01) for 10 steps\n",
	} {
		_, err := runScript(t, src, Options{})
		e, ok := err.(*Error)
		if !ok || e.Pos.Line != 4 || !strings.Contains(e.Msg, "diverged at step 1") || !strings.Contains(e.Msg, "the interaction kernel's gradient is not finite at 0") ||
			!strings.Contains(e.Hint, "no step size helps") || strings.Contains(e.Hint, "h = ") {
			t.Errorf("%s: error %v", src, err)
		}
	}
	r, _ := particleRecord(t, "density q(x)\ndef K(z) = exp(-z^2/2)\nfunctional A[q] = interaction(K)\nrun A from sample(normal(0, 1), 50) using blob(h = 0.01) for 2 steps\n", Options{})
	if _, has := r.Diagnostics["eps"]; has {
		t.Errorf("a blob run without entropy reports ε: %v", r.Diagnostics)
	}
}

// TestParticleBadInput: errors are positioned at what is wrong and say
// what to do.
func TestParticleBadInput(t *testing.T) {
	head := "def V(x) = x^4/4 - x^2/2\ndef K(z) = exp(-z^2/2)\ndensity q(x)\ndensity p(y[2])\n" +
		"functional F[q] = potential(V) + entropy()\nfunctional I[q] = fisher()\nfunctional W[q] = interaction(K) + entropy()\nfunctional P[p] = potential(norm2(y)) + entropy()\n"
	cases := []struct {
		stmt      string
		col       int
		msg, hint string
	}{
		{"run I from sample(normal(0, 1), 100) using langevin(h = 0.01) for 10 steps", 44, "langevin cannot handle the term", "use grid"},
		{"run F from sample(normal(0, 1), 100) using particles(h = 0.01) for 10 steps", 44, "particles cannot handle the entropy (the term log(q) of vd(F))", "use langevin, mala, blob or svgd"},
		{"run W from sample(normal(0, 1), 100) using mala(h = 0.01) for 10 steps", 44, "mala cannot handle the interaction", "use langevin, particles, blob or svgd"},
		{"run F from sample(normal(0, 1), 0) using langevin(h = 0.01) for 10 steps", 33, "the number of points must be positive", ""},
		{"run F from sample(normal(0, 1), -5) using langevin(h = 0.01) for 10 steps", 33, "the number of points must be positive", ""},
		{"run F from sample(normal(0, 1), 2000000000) using svgd(h = 0.01) for 10 steps", 33, "would need about", "use fewer particles"},
		{"run F from sample(normal([0, 0], 1), 100) using langevin(h = 0.01) for 10 steps", 26, "the mean is a vector of 2, but the density has one coordinate", "normal(0, 1)"},
		{"run P from sample(normal(0, 1), 100) using langevin(h = 0.01) for 10 steps", 26, "the mean is a number, but the density has 2 coordinates", "normal([0, 0], 1)"},
		{"run P from points([1, 2]) using langevin(h = 0.01) for 10 steps", 19, "these are points of R, but the density has 2 coordinates", ""},
		{"run F from sample(normal(0, 1), 100) using langevin(h = 0.01) for 10 steps compare to uniform([0, 0], [1, 1])", 95, "the lower corner is a vector of 2", ""},
		{"run F from sample(normal(0, 1), 100) using langevin(h = 0.01) for 10 steps compare to gibbs(V(x) + y[1])", 100, "undefined: y", ""},
		{"run F from normal(0, 1) using langevin(h = 0.01) for 10 steps", 12, "start from a sample of this law", "from sample(normal(0, 1), 1000)"},
		{"run F using langevin(h = 0.01) for 10 steps", 5, "needs a starting cloud", ""},
		{"run F from sample(normal(0, 1), 100) using langevin(h = 0.01, batch = 4) for 10 steps", 63, "batch is the size of the random batches of an interaction, and F has none", ""},
		{"run W from sample(normal(0, 1), 100) using langevin(h = 0.01, batch = 1) for 10 steps", 71, "batch must be a whole number ≥ 2", ""},
		{"run F from sample(normal(0, 1), 100) using langevin(h = -1) for 10 steps", 57, "h must be positive", ""},
		{"run F from sample(normal(0, 1), 100) using langevin(h = 0.01) until gradnorm < 1", 69, "langevin cannot evaluate gradnorm", "steps, t"},
		{"run F from sample(normal(0, 1), 100) using langevin(h = 0.01) for 10 steps monitor m = q", 88, "cannot use the density q", ""},
		{"run F from sample(normal(0, 1), 100) using langevin(h = 0.01) for 10 steps monitor mean = x", 84, "clashes with a column", ""},
		{"run F from sample(gibbs(x), 100) using langevin(h = 0.01) for 10 steps", 19, "V must grow", "exp(−V) is integrable"},
		{"run F from sample(normal(0, 1), 100) using langevin(h = 0.01) for 10 steps compare to sample(normal(0, 1), 0)", 108, "the number of points must be positive", ""},
		{"run F from sample(nromal(0, 1), 100) using langevin(h = 0.01) for 10 steps", 19, "expected a distribution", "did you mean normal?"},
		{"run F from sample(mix(1, normal(0, 1), 1, normal([0, 0], 1)), 100) using langevin(h = 0.01) for 10 steps", 50, "the mean is a vector of 2", ""},
		{"run F from sample(uniform(1, 0), 100) using langevin(h = 0.01) for 10 steps", 19, "uniform(a, b) needs a < b", ""},
		{"show w2(normal(0, 1), normal([0, 0], 1))", 23, "W2 compares laws on one space", ""},
		{"show w2(normal(0, 1), normal(0, 1)) at (1)", 40, "takes no at", ""},
		{"show w2(normal(0, 1))", 6, "w2 takes two distributions or samples", ""},
		{"show w2(sample(normal(0, 1), 1e20), normal(0, 1))", 30, "", ""},
		{"show normal(0, 1)", 6, "a distribution is only allowed in a run", ""},
	}
	for _, c := range cases {
		src := head + c.stmt + "\n"
		_, err := runScript(t, src, Options{})
		var e *Error
		switch err := err.(type) {
		case *Error:
			e = err
		case ErrorList:
			e = err[0]
		default:
			t.Errorf("%s: error %T %v", c.stmt, err, err)
			continue
		}
		if e.Pos.Line != 9 || e.Pos.Col != c.col || !strings.Contains(e.Msg, c.msg) || !strings.Contains(e.Hint, c.hint) {
			t.Errorf("%s:\n got %d:%d: %s (hint %q)\nwant 9:%d: %s (hint %q)", c.stmt, e.Pos.Line, e.Pos.Col, e.Msg, e.Hint, c.col, c.msg, c.hint)
		}
		if !strings.Contains(e.Error(), "^") {
			t.Errorf("%s: no caret in\n%s", c.stmt, e.Error())
		}
	}
}

// TestParticleCheckOnly: flowlang check resolves a particle run (and
// finds what the method cannot handle) without sampling or running.
func TestParticleCheckOnly(t *testing.T) {
	ok := "density q(x)\nfunctional F[q] = free_energy(x^2/2, 1)\nrun F from sample(normal(0, 1), 1000000000) using langevin(h = 0.01) for 1000000000 steps compare to sample(normal(0, 1), 1000000000)\nshow w2(sample(normal(0, 1), 1000000000), normal(0, 1))\n"
	c, err := runScript(t, ok, Options{CheckOnly: true})
	if err != nil || len(c.records) != 0 {
		t.Errorf("check only: %v, %d records", err, len(c.records))
	}
	bad := "density q(x)\nfunctional F[q] = fisher()\nrun F from sample(normal(0, 1), 10) using langevin(h = 0.01) for 10 steps\n"
	if _, err := runScript(t, bad, Options{CheckOnly: true}); err == nil || !strings.Contains(err.Error(), "cannot handle") {
		t.Errorf("check only: %v, want the term langevin cannot handle", err)
	}
}

// TestParticlesAcrossCores: a seed gives the same numbers whatever
// GOMAXPROCS, for every method, with exact and random-batch interactions
// (the random streams belong to blocks of particles, and sums over blocks
// are added in block order). Every cloud spans several stream blocks
// (solvers.StreamBlock particles) and tiles.
func TestParticlesAcrossCores(t *testing.T) {
	src := "def K(z) = -exp(-z^2/2)\ndensity q(x)\n" +
		"functional F[q] = potential(x^4/4) + interaction(K) + entropy()/2\n" +
		"functional G[q] = potential(x^4/4 - x^2) + entropy()\n" +
		"run F from sample(normal(1, 1), 2100) using langevin(h = 0.01) for 3 steps compare to normal(0, 1)\n" +
		"run F from sample(normal(1, 1), 50000) using langevin(h = 0.01, batch = 3) for 10 steps\n" +
		"run G from sample(mix(1, normal(-1, 0.3), 2, normal(1, 0.3)), 5000) using mala(h = 0.1) for 10 steps compare to gibbs(x^4/4 - x^2)\n" +
		"run F from sample(uniform(-1, 1), 1100) using blob(h = 0.01) for 2 steps\n" +
		"run F from sample(normal(0, 1), 1100) using svgd(h = 0.01) for 2 steps\n" +
		"run F from sample(normal(0, 1), 1500) using particles(h = 0.01, batch = 2) for 3 steps\n" +
		"show w2(sample(normal(0, 1), 5000), gibbs(x^4/4 - x^2))\n"
	// particles cannot handle the entropy: the last run uses a functional without it
	src = strings.Replace(src, "run F from sample(normal(0, 1), 1500) using particles", "functional H[q] = potential(x^4/4) + interaction(K)\nrun H from sample(normal(0, 1), 1500) using particles", 1)
	results := func(procs int) string {
		old := runtime.GOMAXPROCS(procs)
		defer runtime.GOMAXPROCS(old)
		var buf bytes.Buffer
		in := New(Options{Out: &JSONReporter{Out: &buf}, Seed: 11})
		if err := in.ExecFile("t.flow", []byte(src)); err != nil {
			t.Fatal(err)
		}
		// every record without its wall time
		var out []string
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatal(err)
			}
			delete(m, "wall_s")
			b, _ := json.Marshal(m)
			out = append(out, string(b))
		}
		return strings.Join(out, "\n")
	}
	one, two := results(1), results(2)
	if one != two {
		t.Errorf("GOMAXPROCS 1 and 2 differ:\n%s\n%s", one, two)
	}
	if n := strings.Count(one, `"kind":"run"`); n != 6 {
		t.Errorf("%d runs, want 6:\n%s", n, one)
	}
}

// TestShowW2: closed forms for Gaussians, exact values for small clouds,
// and the method (with Sinkhorn's ε) in info and in the human output.
func TestShowW2(t *testing.T) {
	src := `show w2(normal(0, 1), normal(1, 2))
show w2(normal([0, 0], [1, 2]), normal([1, 1], [1, 1]))
show w2(points([0, 1, 2]), points([1, 2, 3]))
show w2(points([[0, 0], [1, 0]]), points([[0, 1], [1, 1]]))
show w2(points([0, 1]), uniform(0, 1))
show w2(sample(normal([0, 0], 1), 300), sample(normal([2, 0], 1), 301))
show w2(sample(normal(0, 1), 1000), sample(normal(0, 1), 1000))
`
	var out bytes.Buffer
	in := New(Options{Out: &TextReporter{Out: &out, Err: &out}, Seed: 5})
	c := &runCollector{}
	in.opts.Out = multiReporter{c, &TextReporter{Out: &out, Err: &out}}
	if err := in.ExecFile("w.flow", []byte(src)); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	var shows []*ShowRecord
	for _, r := range c.records {
		shows = append(shows, r.(*ShowRecord))
	}
	// W₂² = |Δm|² + Σ(σᵢ − τᵢ)² for independent coordinates; two clouds
	// shifted by 1; (0, 1) against U(0, 1): ∫₀^½ u² + ∫_½^1 (1 − u)² = 1/12
	want := []struct {
		v      float64
		method string
	}{{math.Sqrt(2), "gaussian"}, {math.Sqrt(3), "gaussian"}, {1, "quantile"}, {1, "assignment"}, {math.Sqrt(1.0 / 12), "quantile"}}
	const exact = 1e-12
	for i, w := range want {
		if got := shows[i].Value.(float64); math.Abs(got-w.v) > exact || shows[i].Info["method"] != w.method {
			t.Errorf("%s = %g (%v), want %g (%s)", shows[i].Label, got, shows[i].Info["method"], w.v, w.method)
		}
	}
	// 300 and 301 points in 2-D: Sinkhorn, ε reported. W₂² is the squared
	// distance of the means, 4, plus that of the centred clouds (two
	// samples of N(0, I), about 0.2 at this size); the sample means err by
	// about √(2/300) = 0.08 per coordinate, so the value lies within
	// [2 − 4·0.08, √(4 + 0.5) + 4·0.08]
	sk := shows[5]
	if v := sk.Value.(float64); sk.Info["method"] != "sinkhorn" || !(sk.Info["eps"].(float64) > 0) || v < 2-0.33 || v > math.Sqrt(4.5)+0.33 {
		t.Errorf("%s = %v, info %v", sk.Label, sk.Value, sk.Info)
	}
	if !strings.Contains(out.String(), "Sinkhorn with ε = ") {
		t.Errorf("human output does not state ε:\n%s", out.String())
	}
	// two independent samples of one law (each side has its own stream):
	// not 0, and small (E W₂² ≈ 2·(log log n)/n-ish; 0.2 is far above)
	if v := shows[6].Value.(float64); !(v > 0 && v < 0.2) {
		t.Errorf("two samples of N(0, 1): w2 = %g", v)
	}
}

// multiReporter sends everything to several reporters.
type multiReporter []Reporter

func (m multiReporter) Record(r Record) {
	for _, x := range m {
		x.Record(r)
	}
}
func (m multiReporter) RunRows(label string, cols []string) {
	for _, x := range m {
		x.RunRows(label, cols)
	}
}
func (m multiReporter) Row(v []float64) {
	for _, x := range m {
		x.Row(v)
	}
}
func (m multiReporter) Error(e *Error) {
	for _, x := range m {
		x.Error(e)
	}
}

// TestDistributions: each form resolves to the law it names, with the
// moments the solvers report.
func TestDistributions(t *testing.T) {
	in := session(t, "def V(x) = x^2/2\ndensity q(x)\ndensity p(z[2])\n")
	for _, c := range []struct {
		src      string
		dim      int
		mean, vr []float64
	}{
		{"normal(1, 2)", 1, []float64{1}, []float64{4}},
		{"normal([1, 2], [1, 3])", 2, []float64{1, 2}, []float64{1, 9}},
		{"normal([1, 2], 2)", 2, []float64{1, 2}, []float64{4, 4}},
		{"uniform(0, 6)", 1, []float64{3}, []float64{3}},
		{"uniform([0, 0], [1, 2])", 2, []float64{0.5, 1}, []float64{1.0 / 12, 4.0 / 12}},
		{"mix(1, normal(-1, 1), 1, normal(1, 1))", 1, []float64{0}, []float64{2}},
		{"points([1, 2, 3, 4])", 1, []float64{2.5}, []float64{1.25}},
		{"points([[0, 1], [2, 3]])", 2, []float64{1, 2}, []float64{1, 1}},
		{"gibbs(V)", 1, []float64{0}, []float64{1}},
		{"gibbs((x - 1)^2/8)", 1, []float64{1}, []float64{4}},
	} {
		f, errs := Parse("d.flow", []byte("show "+c.src))
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		s := in.newScope(f.Src, true)
		d, err := s.distribution(f.Stmts[0].(*ShowStmt).X, c.dim)
		if err != nil {
			t.Errorf("%s: %v", c.src, err)
			continue
		}
		// the Gibbs table's moments are exact to O(Δx²) with Δx = range/65536
		const momentTol = 1e-6
		mean, v := d.(solvers.Moments).MeanVar()
		for i := range c.mean {
			if math.Abs(mean[i]-c.mean[i]) > momentTol || math.Abs(v[i]-c.vr[i]) > momentTol*c.vr[i] {
				t.Errorf("%s: mean %v var %v, want %v %v", c.src, mean, v, c.mean, c.vr)
			}
		}
	}
	// gibbs in two dimensions, of the density's variable, in a functional's scope
	in = session(t, "density p(z[2])\nfunctional F[p] = potential(norm2(z)) + entropy()\n")
	f, _ := Parse("d.flow", []byte("show gibbs(norm2(z)/2)"))
	s := in.newScope(f.Src, false).withSpace(&in.functionals["F"].space)
	d, err := s.distribution(f.Stmts[0].(*ShowStmt).X, 2)
	if err != nil || d.Dim() != 2 {
		t.Errorf("2-D gibbs: %v, %v", d, err)
	}
}

// handLangevinAll is the hand-written Euler–Maruyama loop of
// BenchmarkRunLangevin: x ← x − h(x³ − x) + √(2h)ξ on the double well,
// one PCG stream (NormFloat64) per block of solvers.StreamBlock particles,
// each on its own cache lines,
// the blocks of each step spread over GOMAXPROCS goroutines, as the run
// does.
func handLangevinAll(x []float64, steps int, h float64) {
	const block = solvers.StreamBlock
	n := len(x)
	blocks := (n + block - 1) / block
	// each stream's state on its own cache lines, so that two cores
	// stepping neighbouring blocks do not share one
	type paddedPCG struct {
		rand.PCG
		_ [112]byte
	}
	states := make([]paddedPCG, blocks)
	rngs := make([]*rand.Rand, blocks)
	for b := range rngs {
		states[b].Seed(7, uint64(b))
		rngs[b] = rand.New(&states[b].PCG)
	}
	s := math.Sqrt(2 * h)
	workers := runtime.GOMAXPROCS(0)
	for range steps {
		var wg sync.WaitGroup
		next := make(chan int, blocks)
		for b := 0; b < blocks; b++ {
			next <- b
		}
		close(next)
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for b := range next {
					xs := x[b*block : min((b+1)*block, n)]
					rng := rngs[b]
					for k, v := range xs {
						xs[k] = v - h*(v*v*v-v) + s*rng.NormFloat64()
					}
				}
			}()
		}
		wg.Wait()
	}
}

// BenchmarkRunLangevin runs a script's langevin run on the double well
// (N = 10⁶ in 1-D, 100 steps) and the hand-written loop on all cores in
// the same benchmark, and reports the run's own time (wall_s, after
// parsing, splitting and compiling) over the hand-written loop's: the
// language adds nothing per step, so the ratio is the solvers' own.
func BenchmarkRunLangevin(b *testing.B) {
	const n, steps, h = 1_000_000, 100, 0.01
	src := "def V(x) = x^4/4 - x^2/2\ndensity q(x)\nfunctional F[q] = potential(V) + entropy()\n" +
		"run F from sample(normal(0, 1), 1000000) using langevin(h = 0.01) for 100 steps\n"
	x := make([]float64, n)
	var hand, run float64
	for range b.N {
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		t0 := time.Now()
		handLangevinAll(x, steps, h)
		hand += time.Since(t0).Seconds()
		r, _ := particleRecord(b, src, Options{})
		run += r.WallS
	}
	b.ReportMetric(hand/float64(b.N)*1e3, "hand-ms")
	b.ReportMetric(run/float64(b.N)*1e3, "run-ms")
	b.ReportMetric(run/hand, "run/hand")
}
