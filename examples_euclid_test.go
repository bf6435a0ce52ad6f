// Tests of the Euclidean-flow examples: each runs, and its numbers are those the mathematics predicts.
package flowlang_test

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"flowlang"
	"flowlang/lang"
)

// runExample runs examples/name and returns its records.
func runExample(t *testing.T, name string) []lang.Record {
	t.Helper()
	path := filepath.Join("examples", name)
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := flowlang.Run(path, src, lang.Options{Quiet: true})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if res.FailedChecks > 0 {
		t.Errorf("%s: %d checks failed", name, res.FailedChecks)
	}
	return res.Records
}

func runs(recs []lang.Record) []*lang.RunRecord {
	var out []*lang.RunRecord
	for _, r := range recs {
		if r, ok := r.(*lang.RunRecord); ok {
			out = append(out, r)
		}
	}
	return out
}

func shows(recs []lang.Record) []*lang.ShowRecord {
	var out []*lang.ShowRecord
	for _, r := range recs {
		if r, ok := r.(*lang.ShowRecord); ok {
			out = append(out, r)
		}
	}
	return out
}

func finalX(r *lang.RunRecord) []float64 { return r.Final["x"].([]float64) }

func finalValue(r *lang.RunRecord) float64 { return r.Final["value"].(float64) }

func rate(t *testing.T, r *lang.RunRecord) map[string]any {
	t.Helper()
	m, ok := r.Diagnostics["rate"].(map[string]any)
	if !ok {
		t.Fatalf("line %d: no rate fit", r.Line)
	}
	return m
}

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

func relNear(got, want, rel float64) bool { return math.Abs(got-want) <= rel*math.Abs(want) }

// critical returns the point and info of a show critical record.
func critical(t *testing.T, s *lang.ShowRecord) ([]float64, string, []float64, float64) {
	t.Helper()
	if s.Info == nil {
		t.Fatalf("line %d: not a critical point record", s.Line)
	}
	return s.Value.([]float64), s.Info["kind"].(string), s.Info["eigenvalues"].([]float64), s.Info["value"].(float64)
}

// TestExampleRosenbrock: the notes' §10.1 numbers (confirmed in ERRATA.md).
func TestExampleRosenbrock(t *testing.T) {
	recs := runExample(t, "rosenbrock.flow")
	rs := runs(recs)
	if len(rs) != 3 {
		t.Fatalf("%d runs, want 3", len(rs))
	}
	// 20 000 steps: (0.99986, 0.99973) to the notes' five decimals, f ≈ 1.9e-8 to two digits
	x := finalX(rs[0])
	if !near(x[0], 0.99986, 0.5e-5) || !near(x[1], 0.99973, 0.5e-5) || !near(finalValue(rs[0]), 1.9e-8, 0.05e-8) {
		t.Errorf("after 20000 steps x = %v, f = %g", x, finalValue(rs[0]))
	}
	if rs[0].Steps != 20000 || rs[0].T != 20 || !rs[0].Monotone {
		t.Errorf("steps %d, t %v, monotone %v", rs[0].Steps, rs[0].T, rs[0].Monotone)
	}
	// 50 000 steps: (1, 1) to about 1e-9 (the error decays like e^{−0.399t}:
	// 8.5e-10 in x, 1.7e-9 in y at t = 50)
	for _, v := range finalX(rs[1]) {
		if e := math.Abs(v - 1); e > 2e-9 || e < 1e-10 {
			t.Errorf("after 50000 steps x = %v", finalX(rs[1]))
		}
	}
	// euler's point at t = 20 is within O(h) = O(1e-3) of the flow's (rk45
	// at rtol 1e-10); in fact much closer, as the error along the valley is
	// damped: 1e-5 is safe
	xr := finalX(rs[2])
	if rs[2].T != 20 || !near(xr[0], x[0], 1e-5) || !near(xr[1], x[1], 1e-5) {
		t.Errorf("rk45 at t = %v: %v, euler %v", rs[2].T, xr, x)
	}
	// the energy identity holds along the accurate solution (trapezoid
	// error O(h²) on rk45's steps) and only to O(h) along euler's
	if d := rs[2].Diagnostics["dissipation_residual"].(float64); d > 1e-4 {
		t.Errorf("rk45 dissipation residual %g", d)
	}
	// the asymptotic rate: f − f* ~ e^{−2λt}, λ = 0.399 the Hessian's small
	// eigenvalue at (1, 1): 0.80 (the fit is over t ∈ [7.5, 15], 2 %)
	if r := rate(t, rs[1]); r["kind"] != "exponential" || !relNear(r["rate"].(float64), 2*0.3993608, 0.02) {
		t.Errorf("rate fit %v", r)
	}
	pt, kind, eig, _ := critical(t, shows(recs)[1])
	// eigenvalues of [[802, -400], [-400, 200]]: 501 ∓ √(301² + 400²)
	want := []float64{501 - math.Hypot(301, 400), 501 + math.Hypot(301, 400)}
	if kind != "minimum" || !near(pt[0], 1, 1e-12) || !near(pt[1], 1, 1e-12) || !relNear(eig[0], want[0], 1e-12) || !relNear(eig[1], want[1], 1e-12) {
		t.Errorf("critical point %v %s %v, want (1, 1) minimum %v", pt, kind, eig, want)
	}
}

// TestExampleSteepest: normalized steps keep their length ε (t is the arc
// length), plain steps crawl where ∇f is small.
func TestExampleSteepest(t *testing.T) {
	rs := runs(runExample(t, "steepest.flow"))
	plain, norm, long := rs[0], rs[1], rs[2]
	r0 := math.Hypot(30, 20)
	// far away ‖∇f‖ ≈ 2/r along the ray: 200 plain steps of h = 0.2 cover
	// about 200·0.2·2/r₀ ≈ 2.2, not 3 in r
	x := finalX(plain)
	if r := math.Hypot(x[0], x[1]); r < r0-3 || r > r0-1.5 {
		t.Errorf("euler after 200 steps at r = %g, from %g", r, r0)
	}
	// normalized: 200 steps of 0.5 travel exactly 100, and end within ε of 0
	x = finalX(norm)
	if norm.T != 100 || !near(norm.Diagnostics["length"].(float64), 100, 1e-9) || math.Hypot(x[0], x[1]) > 0.5 || norm.Monotone {
		t.Errorf("normalized: t = %v, length %v, x = %v, monotone %v", norm.T, norm.Diagnostics["length"], x, norm.Monotone)
	}
	// plain descent to ‖∇f‖ < 1e-6: r² shrinks by about 4h a step far out
	// (r dr/dt ≈ −2), so about r₀²/(4h) = 1625 steps, then a few dozen near 0
	if long.Steps < 1550 || long.Steps > 1750 {
		t.Errorf("euler needed %d steps, want about 1625 + a few dozen", long.Steps)
	}
}

// TestExampleStiff: the stability bound h < 2/L of explicit Euler, and the
// implicit step's unconditional stability, against their exact factors.
func TestExampleStiff(t *testing.T) {
	recs := runExample(t, "stiff.flow")
	rs := runs(recs)
	_, kind, eig, _ := critical(t, shows(recs)[0])
	if kind != "minimum" || eig[0] != 1 || eig[1] != 1000 {
		t.Errorf("critical %s %v", kind, eig)
	}
	// euler: y ← (1 − h)y, x ← (1 − 1000h)x exactly (up to rounding, 1e-12)
	const h = 0.0019
	x := finalX(rs[0])
	if !relNear(x[1], math.Pow(1-h, 2000), 1e-12) || !relNear(x[0], math.Pow(1-1000*h, 2000), 1e-10) || !rs[0].Monotone {
		t.Errorf("euler: x = %v, want (%g, %g)", x, math.Pow(1-1000*h, 2000), math.Pow(1-h, 2000))
	}
	// implicit euler h = 1: y ← y/2, x ← x/1001
	x = finalX(rs[1])
	if !relNear(x[1], math.Pow(2, -20), 1e-10) || !relNear(x[0], math.Pow(1001, -20), 1e-8) || !rs[1].Monotone {
		t.Errorf("implicit_euler: x = %v", x)
	}
	// rk4 multiplies by its stability function R(z) = 1 + z + z²/2 + z³/6 + z⁴/24, z = −hλ
	R := func(z float64) float64 { return 1 + z + z*z/2 + z*z*z/6 + z*z*z*z/24 }
	x = finalX(rs[2])
	if !relNear(x[1], math.Pow(R(-0.0027), 2000), 1e-10) || !relNear(x[0], math.Pow(R(-2.7), 2000), 1e-8) {
		t.Errorf("rk4: x = %v, want (%g, %g)", x, math.Pow(R(-2.7), 2000), math.Pow(R(-0.0027), 2000))
	}
	// just above the bound: x grows by 1.1 a step, f by 1.21, past
	// 1e30·f₀ (the blow-up threshold) at step ⌈ln(1e30·500.5/500)/ln 1.21⌉ = 363
	src := "objective stiff(x, y) = (1000*x^2 + y^2)/2\nrun stiff from (1, 1) using euler(h = 0.0021) for 2000 steps\n"
	_, err := flowlang.Run("stiff.flow", []byte(src), lang.Options{})
	if err == nil {
		t.Fatal("euler above 2/L did not diverge")
	}
	msg := err.Error()
	for _, want := range []string{"stiff.flow:2:29: euler diverged at step 363", "grew without bound", "h < 2/L = 0.002", "L = 1000"} {
		if !strings.Contains(msg, want) {
			t.Errorf("divergence message lacks %q:\n%s", want, msg)
		}
	}
}

// TestExampleMomentum: the rates of gradient descent and the heavy ball on
// κ = 100, and Nesterov's early lead and late lag.
func TestExampleMomentum(t *testing.T) {
	rs := runs(runExample(t, "momentum.flow"))
	// gradient descent with h = 2/(L + μ): f shrinks by ((κ−1)/(κ+1))² a step
	gd := ((100.0 - 1) / 101) * ((100.0 - 1) / 101)
	if r := rate(t, rs[0]); r["kind"] != "exponential" || !near(r["per_step"].(float64), gd, 1e-3) {
		t.Errorf("gradient descent per step %v, want %g", r["per_step"], gd)
	}
	// heavy ball: ((√κ−1)/(√κ+1))² = 0.669 a step for f, times the double
	// root's polynomial factor k²: over the fitted window (k ≈ 150…225)
	// that adds 2/k ≈ 1 % to the apparent factor, and the oscillation a
	// little more
	hb := (9.0 / 11) * (9.0 / 11)
	if r := rate(t, rs[1]); r["kind"] != "exponential" || r["per_step"].(float64) < hb || r["per_step"].(float64) > hb+0.03 {
		t.Errorf("heavy ball per step %v, want %g + about 0.01", r["per_step"], hb)
	}
	// f < 1e-12: gradient descent needs ⌈ln(50.5e12)/(2 ln(101/99))⌉ = 789
	// steps exactly; the heavy ball about ln(50.5e12)/(2 ln(11/9)) ≈ 79 plus
	// the polynomial factor's toll
	if rs[2].Steps != 789 {
		t.Errorf("gradient descent took %d steps to f < 1e-12, want 789", rs[2].Steps)
	}
	if rs[3].Steps < 80 || rs[3].Steps > 130 {
		t.Errorf("heavy ball took %d steps to f < 1e-12, want about 100", rs[3].Steps)
	}
	// Nesterov against gradient descent at the same h: far ahead after 300
	// steps, behind after 3000 (√(1 − hμ) = 0.9955 against 1 − hμ = 0.991)
	if n, g := finalValue(rs[4]), finalValue(rs[5]); n > 1e-3*g {
		t.Errorf("after 300 steps nesterov f = %g, gradient descent %g", n, g)
	}
	if n, g := finalValue(rs[6]), finalValue(rs[7]); g > 1e-3*n {
		t.Errorf("after 3000 steps nesterov f = %g, gradient descent %g", n, g)
	}
	if rs[4].Monotone || rs[1].Monotone || !rs[0].Monotone {
		t.Errorf("monotone: gd %v, heavy ball %v, nesterov %v", rs[0].Monotone, rs[1].Monotone, rs[4].Monotone)
	}
}

// TestExampleNaturalGradient: both reach the maximum-likelihood fit
// (m, s) = (3, 2); the natural gradient converges like e^{−2t} in f
// (F⁻¹∇²f = I at the optimum), plain gradient descent like e^{−0.5t}
// (∇²f = diag(1/4, 1/2) there), and needs over a hundred times the steps.
func TestExampleNaturalGradient(t *testing.T) {
	recs := runExample(t, "natural_gradient.flow")
	rs := runs(recs)
	nat, gd := rs[0], rs[1]
	for _, r := range rs {
		x := finalX(r)
		if !near(x[0], 3, 1e-9) || !near(x[1], 2, 1e-9) {
			t.Errorf("%s ends at %v, want (3, 2)", r.Method, x)
		}
	}
	if r := rate(t, nat); !relNear(r["rate"].(float64), 2, 0.1) {
		t.Errorf("natural gradient rate %v, want 2", r["rate"])
	}
	if r := rate(t, gd); !relNear(r["rate"].(float64), 0.5, 0.02) {
		t.Errorf("gradient descent rate %v, want 0.5", r["rate"])
	}
	if nat.Steps > 300 || gd.Steps < 100*nat.Steps {
		t.Errorf("natural %d steps, plain %d", nat.Steps, gd.Steps)
	}
	pt, kind, eig, v := critical(t, shows(recs)[0])
	if kind != "minimum" || !near(pt[0], 3, 1e-12) || !near(pt[1], 2, 1e-12) || !near(eig[0], 0.25, 1e-12) || !near(eig[1], 0.5, 1e-12) || !near(v, math.Log(2)+0.5, 1e-12) {
		t.Errorf("critical %v %s %v f = %v", pt, kind, eig, v)
	}
}

// TestExampleStrongConvexity: the monitored ‖x − x*‖²e^{2μt} never rises
// and x reaches x* = (1, −2).
func TestExampleStrongConvexity(t *testing.T) {
	recs := runExample(t, "strong_convexity.flow")
	r := runs(recs)[0]
	mons := r.Diagnostics["monitors"].(map[string]any)
	bound := mons["bound"].(map[string]any)
	if bound["trend"] != "decreasing" || bound["final"].(float64) > bound["initial"].(float64) {
		t.Errorf("bound monitor %v", bound)
	}
	if mons["d2"].(map[string]any)["trend"] != "decreasing" {
		t.Errorf("d2 monitor %v", mons["d2"])
	}
	// d2 ≈ e^{−2λt} with λ = 4 − √2 asymptotically: at t = 4 far below e^{−4μ}·13
	x := finalX(r)
	if !near(x[0], 1, 1e-6) || !near(x[1], -2, 1e-6) || r.T != 4 {
		t.Errorf("x(%v) = %v", r.T, x)
	}
	pt, kind, eig, _ := critical(t, shows(recs)[0])
	if kind != "minimum" || !near(pt[0], 1, 1e-12) || !near(pt[1], -2, 1e-12) || !near(eig[0], 4-math.Sqrt2, 1e-12) || !near(eig[1], 4+math.Sqrt2, 1e-12) {
		t.Errorf("critical %v %s %v", pt, kind, eig)
	}
}

// TestExampleCriticalPoints: Himmelblau's nine critical points with their
// kinds, the flow leaving a saddle both ways, and the degenerate monkey
// saddle.
func TestExampleCriticalPoints(t *testing.T) {
	recs := runExample(t, "critical_points.flow")
	ss := shows(recs)
	// the known critical points of Himmelblau's function (to 6 decimals)
	want := []struct {
		x, y float64
		kind string
	}{
		{3, 2, "minimum"}, {-2.805118, 3.131313, "minimum"}, {-3.779310, -3.283186, "minimum"}, {3.584428, -1.848127, "minimum"},
		{-0.270845, -0.923039, "maximum"},
		{0.086678, 2.884255, "saddle"}, {-3.073026, -0.081353, "saddle"}, {3.385154, 0.073852, "saddle"}, {-0.127961, -1.953715, "saddle"},
	}
	for i, w := range want {
		pt, kind, _, v := critical(t, ss[i])
		if kind != w.kind || !near(pt[0], w.x, 1e-6) || !near(pt[1], w.y, 1e-6) {
			t.Errorf("critical point %d: %v %s, want (%v, %v) %s", i, pt, kind, w.x, w.y, w.kind)
		}
		if w.kind == "minimum" && !near(v, 0, 1e-20) {
			t.Errorf("minimum %d has f = %g, want 0", i, v)
		}
	}
	rs := runs(recs)
	a, b := finalX(rs[0]), finalX(rs[1])
	if !near(a[0], 3, 1e-8) || !near(a[1], 2, 1e-8) || !near(b[0], 3.584428, 1e-6) || !near(b[1], -1.848127, 1e-6) {
		t.Errorf("from the saddle the flow went to %v and %v", a, b)
	}
	if _, kind, _, _ := critical(t, ss[9]); kind != "degenerate" {
		t.Errorf("monkey saddle: %s, want degenerate", kind)
	}
}
