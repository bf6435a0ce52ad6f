// Tests of the methods' plumbing and diagnostics: no allocation in steps, rows, stopping, trends, rate fits, critical points.
package solvers

import (
	"errors"
	"math"
	"strings"
	"testing"

	ad "flowlang/autodiff"

	"gonum.org/v1/gonum/mat"
)

// TestStepsDoNotAllocate: after Init, a step of every method allocates
// nothing (the Problems are compiled tapes, as in runs).
func TestStepsDoNotAllocate(t *testing.T) {
	f, vars := rosenbrock()
	plain := compile(t, f, vars, Needs{})
	hess := compile(t, f, vars, Needs{Hessian: true})
	o, err := CompileObjective(f, vars, Needs{Metric: true}, [][]*ad.Node{{num(2), num(0)}, {num(0), ad.Add(num(1), sq(vars[0]))}})
	if err != nil {
		t.Fatal(err)
	}
	metric := o.Problem()
	cases := []struct {
		p *Problem
		m Method
	}{
		{plain, &Euler{H: 1e-4}},
		{hess, &ImplicitEuler{H: 1e-2}},
		{plain, &RK4{H: 1e-4}},
		{plain, &RK45{}},
		{plain, &Normalized{Eps: 1e-4}},
		{plain, &HeavyBall{H: 1e-4, Beta: 0.5}},
		{plain, &Nesterov{H: 1e-4}},
		{metric, &Natural{H: 1e-4}},
		{hess, &Newton{H: 0.1}},
	}
	for _, c := range cases {
		loc := &Location{X: []float64{-1, 1}, Grad: make([]float64, 2)}
		loc.F = c.p.FuncGrad(loc.Grad, loc.X)
		if err := c.m.Init(c.p, loc, &Settings{}); err != nil {
			t.Fatal(err)
		}
		c.m.Step(loc) // warm up: gonum's workspace pools
		if a := testing.AllocsPerRun(50, func() {
			if err := c.m.Step(loc); err != nil {
				t.Fatal(err)
			}
		}); a != 0 {
			t.Errorf("%T allocates %v times a step", c.m, a)
		}
	}
}

// TestFlowDoesNotAllocate: the driver's loop allocates nothing per step
// either: ten times the steps, the same allocations.
func TestFlowDoesNotAllocate(t *testing.T) {
	f, vars := rosenbrock()
	p := compile(t, f, vars, Needs{})
	allocs := func(n int) float64 {
		return testing.AllocsPerRun(5, func() {
			if _, err := Flow(p, []float64{-1, 1}, &Euler{H: 1e-4}, &Settings{MaxSteps: n, Monitor: func(out, x []float64, t float64) { out[0] = x[0] }, MonitorCount: 1}); err != nil {
				t.Fatal(err)
			}
		})
	}
	if a, b := allocs(10_000), allocs(100_000); b > a+2 {
		t.Errorf("10000 steps: %v allocations, 100000 steps: %v", a, b)
	}
}

// TestRowsEvery: rows at step 0, every K steps and at the end.
func TestRowsEvery(t *testing.T) {
	q := testQuadratic()
	var steps []int
	s := &Settings{MaxSteps: 25, Every: 10, Row: func(r *Row) error {
		steps = append(steps, r.Step)
		if r.Step == 25 && math.Abs(r.T-25*0.01) > 1e-15 {
			t.Errorf("final row at t = %v", r.T)
		}
		return nil
	}}
	run(t, q.problem(), []float64{0, 0, 0}, &Euler{H: 0.01}, s)
	if want := []int{0, 10, 20, 25}; !equalInts(steps, want) {
		t.Errorf("rows at steps %v, want %v", steps, want)
	}
	// a row callback's error ends the run with that error
	stop := errors.New("disk full")
	_, err := Flow(q.problem(), []float64{0, 0, 0}, &Euler{H: 0.01}, &Settings{MaxSteps: 25, Every: 10, Row: func(r *Row) error {
		if r.Step == 10 {
			return stop
		}
		return nil
	}})
	if !errors.Is(err, stop) {
		t.Errorf("row error: %v", err)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestUntil: conditions joined by or, each with its own status; t ≥ T of
// a fixed-step method stops at T despite rounding in t.
func TestUntil(t *testing.T) {
	q := newQuadratic([]float64{1}, []float64{0})
	// f = x²/2 from 1: x_k = 0.9^k with h = 0.1; f < 1e-6 once 0.81^k/2 < 1e-6
	want := int(math.Ceil(math.Log(2e-6) / math.Log(0.81)))
	res := run(t, q.problem(), []float64{1}, &Euler{H: 0.1}, &Settings{Until: []Condition{{QTime, ">=", 1000}, {QValue, "<", 1e-6}}})
	if res.Status != ConditionMet || res.Met.Quantity != QValue || res.Steps != want {
		t.Errorf("stopped after %d steps (%v, %v), want %d on value", res.Steps, res.Status, res.Met, want)
	}
	res = run(t, q.problem(), []float64{1}, &Euler{H: 0.1}, &Settings{Until: []Condition{{QGradNorm, "<", 0.5}}})
	// ‖∇f‖ = |x| = 0.9^k < 0.5 first at k = 7
	if res.Steps != 7 {
		t.Errorf("gradnorm < 0.5 after %d steps, want 7", res.Steps)
	}
	res = run(t, q.problem(), []float64{1}, &Euler{H: 0.001}, &Settings{Until: []Condition{{QTime, ">=", 1}}})
	if res.Steps != 1000 {
		t.Errorf("t >= 1 with h = 0.001 after %d steps, want 1000", res.Steps)
	}
	res = run(t, q.problem(), []float64{1}, &Euler{H: 0.1}, &Settings{MaxSteps: 100, Until: []Condition{{QSteps, ">=", 30}}})
	if res.Steps != 30 || res.Status != ConditionMet {
		t.Errorf("steps >= 30: %d steps, %v", res.Steps, res.Status)
	}
	// a condition already true at the start: no step
	res = run(t, q.problem(), []float64{1}, &Euler{H: 0.1}, &Settings{Until: []Condition{{QValue, "<", 1}}})
	if res.Steps != 0 {
		t.Errorf("%d steps for a condition true at the start", res.Steps)
	}
}

// TestDefaultLimit: until conditions that never hold stop at
// DefaultStepLimit, with a status that says so.
func TestDefaultLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("10⁷ steps")
	}
	q := newQuadratic([]float64{1}, []float64{0})
	res := run(t, q.problem(), []float64{1}, &Euler{H: 1e-9}, &Settings{Until: []Condition{{QValue, "<", -1}}})
	if res.Status != DefaultLimit || res.Steps != DefaultStepLimit {
		t.Errorf("status %v after %d steps", res.Status, res.Steps)
	}
}

// TestMonotonicity: heavy ball overshoots (f rises at step 1 from (0, 1)
// on a stiff quadratic), gradient descent with h < 2/L does not.
func TestMonotonicity(t *testing.T) {
	q := newQuadratic([]float64{1, 0, 0, 100}, []float64{0, 0})
	res := run(t, q.problem(), []float64{1, 1}, &Euler{H: 0.015}, &Settings{MaxSteps: 100})
	if !res.Diagnostics.Monotone || res.Diagnostics.MaxIncrease != 0 {
		t.Errorf("euler: %+v", res.Diagnostics)
	}
	// step 1 of the heavy ball is a gradient step with h = 0.033 > 2/L:
	// y → (1 − 3.3)·1, f from 50.5 to about 265
	res = run(t, q.problem(), []float64{1, 1}, &HeavyBall{H: 4.0 / 121, Beta: 81.0 / 121}, &Settings{MaxSteps: 100})
	d := res.Diagnostics
	if d.Monotone || d.MaxIncreaseStep != 1 || math.Abs(d.MaxIncrease-(100*2.3057851*2.3057851/2+0.9669421*0.9669421/2-50.5)) > 1e-3 {
		t.Errorf("heavy ball: %+v", d)
	}
}

// TestDissipation: the energy identity's residual is O(h) for euler and
// O(h²) for rk4 (the trapezoid rule's error), and absent for momentum.
func TestDissipation(t *testing.T) {
	q := testQuadratic()
	resid := func(m Method) float64 {
		return run(t, q.problem(), []float64{-1, 2, 3}, m, &Settings{Until: []Condition{{QTime, ">=", 1}}}).Diagnostics.Dissipation
	}
	e1, e2 := resid(&Euler{H: 0.01}), resid(&Euler{H: 0.005})
	if r := e1 / e2; math.Abs(r-2) > 0.1 {
		t.Errorf("euler residual %g → %g on halving h: ratio %g, want 2", e1, e2, r)
	}
	r1, r2 := resid(&RK4{H: 0.01}), resid(&RK4{H: 0.005})
	if r := r1 / r2; math.Abs(r-4) > 0.2 || r1 > 1e-3 {
		t.Errorf("rk4 residual %g → %g on halving h: ratio %g, want 4", r1, r2, r)
	}
	if d := resid(&Nesterov{H: 0.01}); !math.IsNaN(d) {
		t.Errorf("nesterov has a dissipation residual %g", d)
	}
}

// TestLengthAndTrends: on f = |x|²/2 the flow runs straight to 0 (length
// |x₀|(1 − e^{−t})), and a monitored |x|² decreases.
func TestLengthAndTrends(t *testing.T) {
	q := newQuadratic([]float64{1, 0, 0, 1}, []float64{0, 0})
	s := &Settings{MaxSteps: 1000, MonitorCount: 2, Monitor: func(out, x []float64, tt float64) {
		out[0] = x[0]*x[0] + x[1]*x[1]
		out[1] = math.Sin(10 * tt)
	}}
	res := run(t, q.problem(), []float64{3, 4}, &RK4{H: 0.002}, s)
	if want := 5 * (1 - math.Exp(-2)); math.Abs(res.Diagnostics.Length-want) > 1e-9 {
		t.Errorf("length %v, want %v", res.Diagnostics.Length, want)
	}
	m := res.Diagnostics.Monitors
	if m[0].Monotonicity() != "decreasing" || m[0].Initial != 25 || math.Abs(m[0].Final-25*math.Exp(-4)) > 1e-9 {
		t.Errorf("monitor |x|²: %+v", m[0])
	}
	if m[1].Monotonicity() != "not monotone" {
		t.Errorf("monitor sin(10t): %+v", m[1])
	}
}

// TestSampler: a bounded, evenly thinned record of the steps.
func TestSampler(t *testing.T) {
	s := newStepSampler[int](16)
	for step := 0; step <= 1000; step++ {
		if s.want(step) {
			s.add(step, step)
		}
	}
	if len(s.items) > 16 || len(s.items) < 8 || s.items[0] != 0 {
		t.Fatalf("kept %v", s.items)
	}
	for i := 1; i < len(s.items); i++ {
		if d := s.items[i] - s.items[i-1]; d != s.stride {
			t.Errorf("uneven spacing %d in %v", d, s.items)
		}
	}
}

// TestFitRate: exponential and power-law decays are recognised with their
// rates; too short a run has no fit.
func TestFitRate(t *testing.T) {
	sample := func(n int, dt float64, f func(t float64) float64) []Sample {
		var s []Sample
		for k := 0; k <= n; k += 4 {
			s = append(s, Sample{Step: k, T: float64(k) * dt, F: f(float64(k) * dt)})
		}
		return s
	}
	// f = 1 + 3e^{−0.7t} to t = 100: the fit sees 3e^{−0.7t} exactly
	s := sample(2000, 0.05, func(t float64) float64 { return 1 + 3*math.Exp(-0.7*t) })
	fit := fitRate(s, 2000)
	// (f − 1 is computed from f ≈ 1: its last digits are rounding, so the
	// rate is exact to about 1e-5 only)
	if fit.Kind != "exponential" || math.Abs(fit.Rate-0.7) > 1e-5 || math.Abs(fit.PerStep-math.Exp(-0.7*0.05)) > 1e-6 {
		t.Errorf("exponential: %+v", fit)
	}
	// f = 2/(1 + t)² to t = 1000: the exponent 2, to the 1 % that the
	// finite differences of samples 1 apart cost at t ≈ 30…750
	s = sample(4000, 0.25, func(t float64) float64 { return 2 / ((1 + t) * (1 + t)) })
	fit = fitRate(s, 4000)
	if fit.Kind != "power" || math.Abs(fit.Rate-2) > 0.02 {
		t.Errorf("power: %+v", fit)
	}
	if fit := fitRate(s[:3], 8); fit.Kind != "" {
		t.Errorf("a three-sample run has a fit: %+v", fit)
	}
}

// TestExplain: a NaN in f is traced to the subexpression that produced it.
func TestExplain(t *testing.T) {
	x := ad.Symbol("x", 0)
	f := ad.Add(sq(x), ad.Call("log", ad.Sub(num(2), x)))
	p := compile(t, f, []*ad.Node{x}, Needs{})
	_, err := Flow(p, []float64{0}, &Euler{H: 10}, &Settings{MaxSteps: 10, MethodName: "euler"})
	var de *DivergedError
	// step 1: x = 0 − 10·(−1/2) = 5, log(2 − 5) = NaN
	if !errors.As(err, &de) || de.Step != 1 || !strings.Contains(de.Source, "log(2 - x) is NaN there") || de.X[0] != 0 {
		t.Errorf("divergence %+v", err)
	}
}

// TestImplicitEulerSingular: a Hessian that is not finite ends the run
// with a StepError.
func TestImplicitEulerSingular(t *testing.T) {
	q := newQuadratic([]float64{1}, []float64{0})
	p := q.problem()
	p.Hess = func(h *mat.SymDense, _ []float64) { h.SetSym(0, 0, math.NaN()) }
	_, err := Flow(p, []float64{1}, &ImplicitEuler{H: 1}, &Settings{MaxSteps: 3, MethodName: "implicit_euler"})
	var se *StepError
	if !errors.As(err, &se) || se.Step != 1 || !strings.Contains(err.Error(), "Hessian is not finite") {
		t.Errorf("error %v", err)
	}
}

// TestFindCritical: the kinds, and Newton's quadratic convergence.
func TestFindCritical(t *testing.T) {
	x, y := ad.Symbol("x", 0), ad.Symbol("y", 0)
	vars := []*ad.Node{x, y}
	cases := []struct {
		f      *ad.Node
		x0     []float64
		want   []float64
		kind   string
		maxIts int
	}{
		// x² + 3y² − xy: a minimum at 0, found by one Newton step
		{ad.Add(sq(x), ad.Mul(num(3), sq(y)), ad.Neg(ad.Mul(x, y))), []float64{4, -2}, []float64{0, 0}, "minimum", 1},
		// −(x − 1)² − (y + 2)⁴... no: −(x − 1)² − 2(y + 2)² a maximum
		{ad.Neg(ad.Add(sq(ad.Sub(x, num(1))), ad.Mul(num(2), sq(ad.Add(y, num(2)))))), []float64{0, 0}, []float64{1, -2}, "maximum", 1},
		// cos x + cos y: a saddle at (π, 0) from (3, 0.2)
		{ad.Add(ad.Call("cos", x), ad.Call("cos", y)), []float64{3, 0.2}, []float64{math.Pi, 0}, "saddle", 6},
		// x⁴ + y²: degenerate minimum at 0 (Newton converges linearly in x)
		{ad.Add(ad.PowNum(x, ad.Int(4)), sq(y)), []float64{1, 1}, []float64{0, 0}, "degenerate", 100},
	}
	for _, c := range cases {
		p := compile(t, c.f, vars, Needs{Hessian: true})
		cp, err := FindCritical(p, c.x0)
		if err != nil {
			t.Errorf("%s: %v", ad.String(c.f), err)
			continue
		}
		tol := 1e-12
		if c.kind == "degenerate" {
			tol = 1e-4 // x ≈ (2/3)^k until ‖∇f‖ = 4x³ is at rounding
		}
		if cp.Kind != c.kind || maxErr(cp.X, c.want) > tol || cp.Iterations > c.maxIts {
			t.Errorf("%s: %s at %v after %d iterations, want %s at %v", ad.String(c.f), cp.Kind, cp.X, cp.Iterations, c.kind, c.want)
		}
	}
	// no critical point: x + y
	p := compile(t, ad.Add(x, y), vars, Needs{Hessian: true})
	if _, err := FindCritical(p, []float64{0, 0}); err == nil {
		t.Error("a linear function has a critical point")
	}
	// no critical point either, but ∇f → 0 along the way Newton runs off:
	// exp(x) + y² (step −1 in x for ever), atan(x) + y² and
	// 1/(1 + x²) + y² (steps that grow with x)
	for _, c := range []struct {
		f    *ad.Node
		vars []*ad.Node
		x0   []float64
	}{
		{ad.Add(ad.Call("exp", x), sq(y)), vars, []float64{0, 1}},
		{ad.Call("exp", x), vars[:1], []float64{-40}}, // ∇f ≈ 4·10⁻¹⁸ at the start
		{ad.Add(ad.Call("atan", x), sq(y)), vars, []float64{0.5, 1}},
		{ad.Add(ad.Div(num(1), ad.Add(num(1), sq(x))), sq(y)), vars, []float64{3, 1}},
	} {
		p := compile(t, c.f, c.vars, Needs{Hessian: true})
		if cp, err := FindCritical(p, c.x0); err == nil {
			t.Errorf("%s from %v: a %s critical point at %v", ad.String(c.f), c.x0, cp.Kind, cp.X)
		} else if !strings.Contains(err.Error(), "does not settle") {
			t.Errorf("%s from %v: %v", ad.String(c.f), c.x0, err)
		}
	}
}

// TestImplicitEulerSubnormal: the proximal step keeps converging when the
// iterate of x² + y² shrinks into the subnormal numbers (3^−1000 at h = 1),
// where rounding is absolute, not relative.
func TestImplicitEulerSubnormal(t *testing.T) {
	x, y := ad.Symbol("x", 0), ad.Symbol("y", 0)
	p := compile(t, ad.Add(sq(x), sq(y)), []*ad.Node{x, y}, Needs{Hessian: true})
	res, err := Flow(p, []float64{1, 1}, &ImplicitEuler{H: 1}, &Settings{MaxSteps: 1000, MethodName: "implicit_euler"})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(res.X[0]) > 1e-300 || res.Steps != 1000 {
		t.Errorf("%d steps to x = %v", res.Steps, res.X)
	}
}
