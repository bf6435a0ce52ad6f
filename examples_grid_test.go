// The grid and JKO examples run with their numbers asserted: the double well's Gibbs state and relaxation rate, the heat flow by JKO (first order in τ) and on a grid, DLSS against the heat equation, two dimensions.
package flowlang_test

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/integrate/quad"
	lapackgonum "gonum.org/v1/gonum/lapack/gonum"

	"flowlang/internal/exampletest"
	"flowlang/lang"
	"flowlang/solvers"
)

// gridMassTol bounds the drift of a grid run's mass: the scheme is
// conservative and its update compensated, so only the rounding of the
// increments remains (about 1e-15 over these runs).
const gridMassTol = 1e-12

// densityRun returns run i of a script with its final mean and variance
// (one coordinate or several), checking what every grid or jko run keeps:
// mass 1, q > 0, and an energy that never rose.
func densityRun(t *testing.T, s *exampletest.Script, i int) (r *lang.RunRecord, mean, variance []float64) {
	t.Helper()
	runs := s.Runs()
	if i >= len(runs) {
		t.Fatalf("%s: %d runs, want at least %d", s.Path, len(runs), i+1)
	}
	r = runs[i]
	if m := r.Final["mass"].(float64); math.Abs(m-1) > gridMassTol {
		t.Errorf("%s run %d: mass %v, want 1 to %g", s.Path, i, m, gridMassTol)
	}
	if !(r.Final["min"].(float64) > 0) {
		t.Errorf("%s run %d: min q = %v, want > 0", s.Path, i, r.Final["min"])
	}
	if !r.Monotone {
		t.Errorf("%s run %d: the energy rose: %v", s.Path, i, r.Diagnostics["energy"])
	}
	return r, r.Final["mean"].([]float64), r.Final["var"].([]float64)
}

// gibbsMeanVar returns the mean and variance of exp(−V)/Z on [lo, hi] by
// Gauss–Legendre quadrature (400 nodes: exact to rounding for this smooth
// integrand).
func gibbsMeanVar(v func(float64) float64, lo, hi float64) (float64, float64) {
	const nodes = 400
	w := func(f func(float64) float64) float64 { return quad.Fixed(f, lo, hi, nodes, quad.Legendre{}, 0) }
	z := w(func(x float64) float64 { return math.Exp(-v(x)) })
	m := w(func(x float64) float64 { return x * math.Exp(-v(x)) }) / z
	s := w(func(x float64) float64 { return (x - m) * (x - m) * math.Exp(-v(x)) }) / z
	return m, s
}

// fokkerPlanckGap returns the first non-zero eigenvalue λ₁ of the
// Fokker–Planck operator of V, through the unitarily equivalent
// Schrödinger operator −d²/dx² + V′²/4 − V″/2 discretised by second
// differences on m points of [lo, hi] (walls far in the tails).
func fokkerPlanckGap(vp, vpp func(float64) float64, lo, hi float64, m int) float64 {
	h := (hi - lo) / float64(m+1)
	d, e := make([]float64, m), make([]float64, m-1)
	for i := range m {
		x := lo + float64(i+1)*h
		d[i] = 2/(h*h) + vp(x)*vp(x)/4 - vpp(x)/2
		if i+1 < m {
			e[i] = -1 / (h * h)
		}
	}
	if !(lapackgonum.Implementation{}).Dsterf(m, d, e) {
		panic("Dsterf did not converge")
	}
	return d[1] - d[0]
}

// TestGridFokkerPlanckExample: the double well's flow on 140 cells
// (Δx = 0.05) reaches the Gibbs state exp(−V)/Z. The scheme's stationary
// state is exactly exp(−V) at the cell centres (ξ = V + log q constant
// makes every velocity 0), whose moments are the midpoint rule's, and that
// converges spectrally for this smooth, fast-decaying density: so the
// variance matches the quadrature to what is left of the relaxation at
// t = 12 (7e-9 is seen; 1e-6 allowed). W2 to the Gibbs law is a few 1e-4
// (the quantile quadrature's own error); the mean, started at 1, has
// decayed like e^(−λ₁t) below 1e-3; and F − F* decays at the rate 2λ₁
// (the slowest mode, squared in the relative entropy), which the run's
// fit finds within 1 % (0.2 % is seen).
func TestGridFokkerPlanckExample(t *testing.T) {
	s := exampletest.Run(t, "examples/grid_fokker_planck.flow")
	s.WantExit(t, 0)
	r, mean, variance := densityRun(t, s, 0)
	v := func(x float64) float64 { return x*x*x*x/4 - x*x/2 }
	_, wantVar := gibbsMeanVar(v, -3.5, 3.5)
	within(t, "mean at t = 12", mean[0], 0, 1e-3)
	within(t, "var at t = 12", variance[0], wantVar, 1e-6)
	if w2 := finalW2(t, r); w2 > 2e-3 {
		t.Errorf("W2 to the Gibbs law %g, want below 2e-3", w2)
	}
	gap := fokkerPlanckGap(func(x float64) float64 { return x*x*x - x }, func(x float64) float64 { return 3*x*x - 1 }, -5, 5, 4000)
	rate, ok := r.Diagnostics["rate"].(map[string]any)
	if !ok || rate["kind"] != "exponential" {
		t.Fatalf("no exponential rate in %v", r.Diagnostics["rate"])
	}
	within(t, "the energy's relaxation rate", rate["rate"].(float64), 2*gap, 0.01*2*gap)
	mon := r.Diagnostics["monitors"].(map[string]any)["m"].(map[string]any)
	if mon["trend"] != "decreasing" {
		t.Errorf("the mean's monitor is %v, want decreasing", mon["trend"])
	}
}

// TestJKOHeatExample: the entropy's JKO steps from N(0, 1). The quantile
// nodes' variance v₀ grows by exactly 2τ(N − 1)/N − W₂² per step, so the
// error of v₀ + 2t(N − 1)/N is first order in τ: it halves with τ. The
// grid's variance, second order in Δx = 0.05, is within 1e-3 of the exact
// 1 + 2t, and its W2 to N(0, 3) within 1e-3; jko's W2 to it is dominated
// by the nodes' missing tails, O(√(log N/N)) (0.034 is seen).
func TestJKOHeatExample(t *testing.T) {
	s := exampletest.Run(t, "examples/jko_heat.flow")
	s.WantExit(t, 0)
	s.WantCheck(t, "check vd(H) == log(q) + 1", true)
	d, _ := solvers.NewNormal([]float64{0}, []float64{1})
	const n = 400
	x0, err := solvers.JKOQuantiles(d, n)
	if err != nil {
		t.Fatal(err)
	}
	v0 := 0.0
	for _, x := range x0 {
		v0 += x * x
	}
	v0 /= n
	var errs []float64
	for i, tau := range []float64{0.1, 0.05, 0.025} {
		r, _, variance := densityRun(t, s, i)
		if r.Method != "jko" || r.Params["tau"] != any(tau) || r.T != 1 {
			t.Fatalf("run %d: %s with %v to t = %g", i, r.Method, r.Params, r.T)
		}
		errs = append(errs, math.Abs(variance[0]-v0-2*r.T*(n-1)/n))
	}
	for i := 1; i < len(errs); i++ {
		// first order: 2, up to the O(τ²) terms
		if q := errs[i-1] / errs[i]; q < 1.85 || q > 2.15 {
			t.Errorf("halving τ divided the variance's error by %.3g, want 2 (errors %v)", q, errs)
		}
	}
	rj, _, vj := densityRun(t, s, 2)
	within(t, "jko variance at t = 1 (τ = 0.025)", vj[0], 3, 0.03)
	within(t, "jko W2 to N(0, 3)", finalW2(t, rj), 0, 0.05)
	rg, _, vg := densityRun(t, s, 3)
	within(t, "grid variance at t = 1", vg[0], 3, 1e-3)
	within(t, "grid W2 to N(0, 3)", finalW2(t, rg), 0, 1e-3)
	// the entropy of N(0, 3), −½log(2πe·3), to the grid's accuracy
	within(t, "grid entropy at t = 1", rg.Final["energy"].(float64), -0.5*math.Log(2*math.Pi*math.E*3), 1e-3)
}

// TestDLSSExample: the Fisher information's flow from N(0, 1) keeps a
// Gaussian with variance √(1 + 8t) = √5 at t = ½ (second order in
// Δx = 0.2: 5e-3 is seen), and I = 1/v; the heat equation gives 1 + 2t = 2
// instead, and along it the Fisher information (a monitor) decreases from
// 1 to 1/(1 + 2t) = ½.
func TestDLSSExample(t *testing.T) {
	s := exampletest.Run(t, "examples/dlss.flow")
	s.WantExit(t, 0)
	wantText(t, s, "vd(I)", "diff(q, x)^2/q^2 - 2*diff(q, x, 2)/q")
	r, mean, variance := densityRun(t, s, 0)
	if r.T != 0.5 {
		t.Fatalf("the DLSS run ended at t = %g", r.T)
	}
	within(t, "DLSS mean", mean[0], 0, 1e-12)
	within(t, "DLSS variance at t = 1/2", variance[0], math.Sqrt(5), 0.01)
	within(t, "Fisher information at t = 1/2", r.Final["energy"].(float64), 1/math.Sqrt(5), 0.01)
	if math.Abs(variance[0]-2) < 0.2 {
		t.Errorf("the DLSS variance %g is the heat equation's 2", variance[0])
	}
	h, _, vh := densityRun(t, s, 1)
	within(t, "heat variance at t = 1/2", vh[0], 2, 0.01)
	mon := h.Diagnostics["monitors"].(map[string]any)["fisher_info"].(map[string]any)
	if mon["trend"] != "decreasing" {
		t.Errorf("the Fisher information along the heat flow is %v, want decreasing", mon["trend"])
	}
	within(t, "Fisher information along the heat flow at t = 1/2", mon["final"].(float64), 0.5, 0.01)
}

// TestGrid2DExample: the Ornstein–Uhlenbeck flow of V = x₁²/2 + 2x₂² in
// 2-D on 64×64 cells (Δx ≈ 0.16): its means e^(−t) and −½e^(−4t) (5e-5
// off is seen), its variances 1 + (0.36 − 1)e^(−2t) and
// ¼ + (0.64 − ¼)e^(−8t), to the scheme's second-order error (1.5e-3 is
// seen). With the attraction the pair forces cancel in the mean, which
// moves as before (3e-5 apart), and each variance is smaller.
func TestGrid2DExample(t *testing.T) {
	s := exampletest.Run(t, "examples/grid_2d.flow")
	s.WantExit(t, 0)
	r, mean, variance := densityRun(t, s, 0)
	tt := r.T
	exampletest.Near(t, mean, []float64{math.Exp(-tt), -0.5 * math.Exp(-4*tt)}, 5e-4)
	exampletest.Near(t, variance, []float64{1 + (0.36-1)*math.Exp(-2*tt), 0.25 + (0.64-0.25)*math.Exp(-8*tt)}, 3e-3)
	_, meanG, varG := densityRun(t, s, 1)
	exampletest.Near(t, meanG, mean, 3e-4)
	for c := range 2 {
		if !(varG[c] < variance[c]-0.01) {
			t.Errorf("coordinate %d: variance %g with the attraction, %g without", c+1, varG[c], variance[c])
		}
	}
}
