// Tests of the Euclidean flows: the notes' Rosenbrock facts, convergence orders against exact flows, rk45's tolerance.
package solvers

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	ad "flowlang/autodiff"

	"gonum.org/v1/gonum/mat"
)

// sq is e².
func sq(e *ad.Node) *ad.Node { return ad.PowNum(e, ad.Int(2)) }

func num(v int64) *ad.Node { return ad.IntNode(v) }

// rosenbrock returns (1 − x)² + 100(y − x²)² and its variables.
func rosenbrock() (*ad.Node, []*ad.Node) {
	x, y := ad.Symbol("x", 0), ad.Symbol("y", 0)
	f := ad.Add(sq(ad.Sub(num(1), x)), ad.Mul(num(100), sq(ad.Sub(y, sq(x)))))
	return f, []*ad.Node{x, y}
}

func compile(t testing.TB, f *ad.Node, vars []*ad.Node, needs Needs) *Problem {
	t.Helper()
	o, err := CompileObjective(f, vars, needs, nil)
	if err != nil {
		t.Fatal(err)
	}
	return o.Problem()
}

// quadratic is f(x) = ½(x − c)ᵀA(x − c), written by hand (independent of
// the compiler), with its exact gradient flow x(t) = c + e^{−At}(x₀ − c).
type quadratic struct {
	a *mat.SymDense
	c []float64
}

func newQuadratic(a []float64, c []float64) *quadratic {
	return &quadratic{a: mat.NewSymDense(len(c), a), c: c}
}

func (q *quadratic) problem() *Problem {
	n := len(q.c)
	d := make([]float64, n)
	return &Problem{
		Dim: n,
		FuncGrad: func(g, x []float64) float64 {
			for i := range d {
				d[i] = x[i] - q.c[i]
			}
			f := 0.0
			for i := 0; i < n; i++ {
				s := 0.0
				for j := 0; j < n; j++ {
					s += q.a.At(i, j) * d[j]
				}
				g[i] = s
				f += d[i] * s / 2
			}
			return f
		},
		Hess: func(h *mat.SymDense, _ []float64) { h.CopySym(q.a) },
	}
}

// exact returns the gradient flow's x(t) from x0: c + expm(−tA)(x0 − c).
func (q *quadratic) exact(x0 []float64, t float64) []float64 {
	n := len(q.c)
	var e mat.Dense
	m := mat.NewDense(n, n, nil)
	m.Scale(-t, q.a)
	e.Exp(m)
	d := make([]float64, n)
	for i := range d {
		d[i] = x0[i] - q.c[i]
	}
	out := make([]float64, n)
	for i := 0; i < n; i++ {
		s := q.c[i]
		for j := 0; j < n; j++ {
			s += e.At(i, j) * d[j]
		}
		out[i] = s
	}
	return out
}

func maxErr(a, b []float64) float64 {
	m := 0.0
	for i := range a {
		m = math.Max(m, math.Abs(a[i]-b[i]))
	}
	return m
}

func run(t testing.TB, p *Problem, x0 []float64, m Method, s *Settings) *Result {
	t.Helper()
	res, err := Flow(p, x0, m, s)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestRosenbrockNotes checks the notes' §10.1 (confirmed in ERRATA.md):
// gradient descent on Rosenbrock from (−1, 1) with h = 0.001 is at
// (0.99986, 0.99973) after 20 000 steps with f ≈ 1.9e-8, and at (1, 1) to
// 1e-9 after 50 000 — in order of magnitude: the error decays like
// e^{−λt} with λ ≈ 0.399 the Hessian's small eigenvalue at (1, 1), from
// 2.7e-4 at t = 20 to 1.7e-9 (in y) and 8.5e-10 (in x) at t = 50.
func TestRosenbrockNotes(t *testing.T) {
	f, vars := rosenbrock()
	p := compile(t, f, vars, Needs{})
	res := run(t, p, []float64{-1, 1}, &Euler{H: 0.001}, &Settings{MaxSteps: 20000})
	// the notes give five decimals: agreement to half a unit in the last
	const fiveDecimals = 0.5e-5
	if math.Abs(res.X[0]-0.99986) > fiveDecimals || math.Abs(res.X[1]-0.99973) > fiveDecimals {
		t.Errorf("after 20000 steps x = %v, want (0.99986, 0.99973)", res.X)
	}
	// f ≈ 1.9e-8: two significant digits
	if math.Abs(res.F-1.9e-8) > 0.05e-8 {
		t.Errorf("after 20000 steps f = %g, want 1.9e-8", res.F)
	}
	if res.T != 20 || res.Steps != 20000 || res.Status != StepLimit {
		t.Errorf("t = %v, steps = %d, status %v", res.T, res.Steps, res.Status)
	}
	if !res.Diagnostics.Monotone {
		t.Errorf("gradient descent with h < 2/L should decrease f monotonically (largest increase %g at step %d)",
			res.Diagnostics.MaxIncrease, res.Diagnostics.MaxIncreaseStep)
	}
	res = run(t, p, []float64{-1, 1}, &Euler{H: 0.001}, &Settings{MaxSteps: 50000})
	if e := maxErr(res.X, []float64{1, 1}); e > 2e-9 || e < 1e-10 {
		t.Errorf("after 50000 steps x = %v, want (1, 1) to about 1e-9", res.X)
	}
}

// testQuadratic is an ill-conditioned 3-D quadratic (eigenvalues about
// 0.6, 2.3 and 5.1) with minimiser c.
func testQuadratic() *quadratic {
	return newQuadratic([]float64{
		3, 1, 0.5,
		1, 2, 0.3,
		0.5, 0.3, 4,
	}, []float64{1, -2, 0.5})
}

// errorAt runs m until t ≥ T and returns the max-norm error against the exact flow.
func errorAt(t *testing.T, q *quadratic, m Method, T float64) float64 {
	x0 := []float64{-1, 2, 3}
	res := run(t, q.problem(), x0, m, &Settings{Until: []Condition{{QTime, ">=", T}}})
	if math.Abs(res.T-T) > 1e-9 {
		t.Fatalf("%T stopped at t = %v, want %v", m, res.T, T)
	}
	return maxErr(res.X, q.exact(x0, T))
}

// TestConvergenceOrder halves h and checks that the error at t = 1 of the
// gradient flow of a quadratic (a matrix exponential, gonum's Exp) falls by
// 2^p: p = 1 for euler and implicit_euler, p = 4 for rk4. The ratio of
// successive errors is 2^p(1 + O(h)); at h = 0.05…0.0125 the O(h) term is
// a few per cent, so ±10 % (first order) and ±12 % (rk4, whose next term
// is relatively larger) are safe yet tight enough to tell the orders apart.
func TestConvergenceOrder(t *testing.T) {
	q := testQuadratic()
	cases := []struct {
		name  string
		make  func(h float64) Method
		ratio float64
		tol   float64
	}{
		{"euler", func(h float64) Method { return &Euler{H: h} }, 2, 0.1},
		{"implicit_euler", func(h float64) Method { return &ImplicitEuler{H: h} }, 2, 0.1},
		{"rk4", func(h float64) Method { return &RK4{H: h} }, 16, 0.12},
		{"newton", func(h float64) Method { return &Newton{H: h} }, 2, 0.1},
	}
	for _, c := range cases {
		var errs []float64
		for _, h := range []float64{0.05, 0.025, 0.0125} {
			m := c.make(h)
			var e float64
			if c.name == "newton" {
				// the Newton flow dx/dt = −A⁻¹∇f = −(x − c): x(t) = c + e^{−t}(x₀ − c)
				x0 := []float64{-1, 2, 3}
				res := run(t, q.problem(), x0, m, &Settings{Until: []Condition{{QTime, ">=", 1}}})
				ex := make([]float64, 3)
				for i := range ex {
					ex[i] = q.c[i] + math.Exp(-1)*(x0[i]-q.c[i])
				}
				e = maxErr(res.X, ex)
			} else {
				e = errorAt(t, q, m, 1)
			}
			errs = append(errs, e)
		}
		for i := 1; i < len(errs); i++ {
			r := errs[i-1] / errs[i]
			if math.Abs(r/c.ratio-1) > c.tol {
				t.Errorf("%s: error ratio %.4g on halving h (errors %v), want %g", c.name, r, errs, c.ratio)
			}
		}
	}
}

// TestNaturalOrder: with a constant metric M the natural gradient flow of
// a quadratic is dx/dt = −M⁻¹A(x − c), x(t) = c + e^{−M⁻¹At}(x₀ − c);
// explicit Euler on it is first order.
func TestNaturalOrder(t *testing.T) {
	q := testQuadratic()
	mdiag := []float64{2, 0.5, 1}
	x0 := []float64{-1, 2, 3}
	exact := func(T float64) []float64 {
		b := mat.NewDense(3, 3, nil)
		for i := 0; i < 3; i++ {
			for j := 0; j < 3; j++ {
				b.Set(i, j, -T*q.a.At(i, j)/mdiag[i])
			}
		}
		var e mat.Dense
		e.Exp(b)
		out := make([]float64, 3)
		for i := range out {
			out[i] = q.c[i]
			for j := 0; j < 3; j++ {
				out[i] += e.At(i, j) * (x0[j] - q.c[j])
			}
		}
		return out
	}
	var errs []float64
	for _, h := range []float64{0.05, 0.025, 0.0125} {
		p := q.problem()
		p.Metric = func(m *mat.Dense, _ []float64) {
			m.Zero()
			for i, v := range mdiag {
				m.Set(i, i, v)
			}
		}
		res := run(t, p, x0, &Natural{H: h}, &Settings{Until: []Condition{{QTime, ">=", 1}}})
		errs = append(errs, maxErr(res.X, exact(1)))
	}
	for i := 1; i < len(errs); i++ {
		if r := errs[i-1] / errs[i]; math.Abs(r/2-1) > 0.1 {
			t.Errorf("natural: error ratio %.4g on halving h (errors %v), want 2", r, errs)
		}
	}
}

// TestHeavyBallOrder: heavy ball with h = Δt², β = 1 − γΔt is a first-order
// scheme for ẍ + γẋ + ∇f = 0 with ẋ(0) = 0 (x₋₁ = x₀); the exact solution
// of the quadratic's damped oscillator is the exponential of the first-order
// system z' = [[0, I], [−A, −γI]]z. Halving Δt halves the error.
func TestHeavyBallOrder(t *testing.T) {
	q := testQuadratic()
	const gamma, T = 1.5, 2.0
	x0 := []float64{-1, 2, 3}
	sys := mat.NewDense(6, 6, nil)
	for i := 0; i < 3; i++ {
		sys.Set(i, 3+i, T)
		sys.Set(3+i, 3+i, -gamma*T)
		for j := 0; j < 3; j++ {
			sys.Set(3+i, j, -T*q.a.At(i, j))
		}
	}
	var e mat.Dense
	e.Exp(sys)
	exact := make([]float64, 3)
	for i := range exact {
		exact[i] = q.c[i]
		for j := 0; j < 3; j++ {
			exact[i] += e.At(i, j) * (x0[j] - q.c[j])
		}
	}
	var errs []float64
	for _, dt := range []float64{0.02, 0.01, 0.005} {
		res := run(t, q.problem(), x0, &HeavyBall{H: dt * dt, Beta: 1 - gamma*dt}, &Settings{MaxSteps: int(math.Round(T / dt))})
		if math.Abs(res.T-T) > 1e-9 {
			t.Fatalf("heavy ball t = %v after %d steps of √h = %v, want %v", res.T, res.Steps, dt, T)
		}
		errs = append(errs, maxErr(res.X, exact))
	}
	for i := 1; i < len(errs); i++ {
		if r := errs[i-1] / errs[i]; math.Abs(r/2-1) > 0.1 {
			t.Errorf("heavy_ball: error ratio %.4g on halving √h (errors %v), want 2", r, errs)
		}
	}
}

// TestNesterovODE: for f = Σλᵢxᵢ²/2 the solution of Su–Boyd–Candès's
// ẍ + (3/t)ẋ + ∇f = 0 with ẋ(0) = 0 is xᵢ(t) = xᵢ(0)·2J₁(√λᵢ t)/(√λᵢ t).
// Nesterov's scheme with t = k√h converges to it at first order in √h.
func TestNesterovODE(t *testing.T) {
	lam := []float64{1, 4, 0.25}
	q := newQuadratic([]float64{lam[0], 0, 0, 0, lam[1], 0, 0, 0, lam[2]}, []float64{0, 0, 0})
	x0 := []float64{1, -1, 2}
	const T = 3.0
	exact := make([]float64, 3)
	for i, l := range lam {
		s := math.Sqrt(l) * T
		exact[i] = x0[i] * 2 * math.J1(s) / s
	}
	var errs []float64
	for _, dt := range []float64{0.01, 0.005, 0.0025} {
		res := run(t, q.problem(), x0, &Nesterov{H: dt * dt}, &Settings{MaxSteps: int(math.Round(T / dt))})
		errs = append(errs, maxErr(res.X, exact))
	}
	for i := 1; i < len(errs); i++ {
		if r := errs[i-1] / errs[i]; math.Abs(r/2-1) > 0.1 {
			t.Errorf("nesterov: error ratio %.4g on halving √h (errors %v), want 2", r, errs)
		}
	}
}

// TestRK45Tolerance: the adaptive run to t = 2 lands exactly on t = 2 and
// its error against the exact flow is within a small multiple of the
// tolerance (the global error of a contractive flow is about the largest
// local error, each ≤ tol·scale; 10× leaves room for the error estimator
// being of the fourth-order solution). Dense-output rows at t = 0.25, 0.5,
// … are as accurate.
func TestRK45Tolerance(t *testing.T) {
	q := testQuadratic()
	x0 := []float64{-1, 2, 3}
	prevSteps := 0
	for _, tol := range []float64{1e-5, 1e-8, 1e-11} {
		var rowErr float64
		rows := 0
		s := &Settings{
			Until:  []Condition{{QTime, ">=", 2}},
			EveryT: 0.25,
			Row: func(r *Row) error {
				rows++
				rowErr = math.Max(rowErr, maxErr(r.X, q.exact(x0, r.T)))
				if d := r.T/0.25 - math.Round(r.T/0.25); math.Abs(d) > 1e-12 {
					t.Errorf("row at t = %v, not a multiple of 0.25", r.T)
				}
				return nil
			},
		}
		res := run(t, q.problem(), x0, &RK45{Rtol: tol, Atol: tol}, s)
		if res.T != 2 {
			t.Errorf("rk45 stopped at t = %v, want exactly 2", res.T)
		}
		e := maxErr(res.X, q.exact(x0, 2))
		scale := 3.0 // the solution's size
		if e > 10*tol*scale {
			t.Errorf("rtol = atol = %g: error %.3g at t = 2", tol, e)
		}
		if rowErr > 10*tol*scale {
			t.Errorf("rtol = atol = %g: dense output error %.3g", tol, rowErr)
		}
		if rows != 9 {
			t.Errorf("rtol = %g: %d rows, want 9 (t = 0, 0.25, …, 2)", tol, rows)
		}
		if res.Steps <= prevSteps {
			t.Errorf("rtol = %g took %d steps, not more than %d for a looser tolerance", tol, res.Steps, prevSteps)
		}
		prevSteps = res.Steps
		// a fifth-order method: steps grow like tol^(−1/5)
		t.Logf("tol %g: %d steps, %d rejected, error %.3g, dense %.3g", tol, res.Steps, res.Rejected, e, rowErr)
	}
}

// TestNormalizedArcLength: for f = (x² + 4y²)/2 the normalized flow follows
// the gradient flow's curve y = y₀(x/x₀)⁴ at unit speed, so after arc
// length S it is at the point of the curve at arc length S, found by
// quadrature and bisection. The scheme is first order in ε.
func TestNormalizedArcLength(t *testing.T) {
	q := newQuadratic([]float64{1, 0, 0, 4}, []float64{0, 0})
	x0 := []float64{2, 1}
	// arc length from x to x₀ along y = y₀(x/x₀)⁴: ∫ √(1 + (4y₀x³/x₀⁴)²) dx,
	// by composite Simpson with 20000 panels (error ≪ 1e-12 for this
	// smooth integrand)
	arc := func(x float64) float64 {
		const n = 20000
		g := func(u float64) float64 {
			d := 4 * x0[1] * u * u * u / (x0[0] * x0[0] * x0[0] * x0[0])
			return math.Sqrt(1 + d*d)
		}
		hh := (x0[0] - x) / n
		s := g(x) + g(x0[0])
		for i := 1; i < n; i++ {
			w := 2.0
			if i%2 == 1 {
				w = 4
			}
			s += w * g(x+float64(i)*hh)
		}
		return s * hh / 3
	}
	const S = 1.5
	lo, hi := 0.0, x0[0]
	for i := 0; i < 100; i++ {
		mid := (lo + hi) / 2
		if arc(mid) > S {
			lo = mid
		} else {
			hi = mid
		}
	}
	xs := (lo + hi) / 2
	exact := []float64{xs, x0[1] * math.Pow(xs/x0[0], 4)}
	var errs []float64
	for _, eps := range []float64{0.01, 0.005, 0.0025} {
		res := run(t, q.problem(), x0, &Normalized{Eps: eps}, &Settings{MaxSteps: int(math.Round(S / eps))})
		errs = append(errs, maxErr(res.X, exact))
	}
	for i := 1; i < len(errs); i++ {
		if r := errs[i-1] / errs[i]; math.Abs(r/2-1) > 0.15 {
			t.Errorf("normalized: error ratio %.4g on halving eps (errors %v), want 2", r, errs)
		}
	}
}

// TestStiff: on a quadratic with L = 1000, explicit Euler is stable just
// below 2/L and diverges just above, with an error naming the step, the
// method and the bound; implicit Euler with h = 10 (hL = 10⁴) converges
// monotonically.
func TestStiff(t *testing.T) {
	q := newQuadratic([]float64{1000, 0, 0, 1}, []float64{0, 0})
	x0 := []float64{1, 1}
	res := run(t, q.problem(), x0, &Euler{H: 1.99e-3}, &Settings{MaxSteps: 5000})
	if !res.Diagnostics.Monotone || res.F > 1e-3 {
		t.Errorf("euler at h = 0.00199 < 2/L: f = %g, monotone %v", res.F, res.Diagnostics.Monotone)
	}
	_, err := Flow(q.problem(), x0, &Euler{H: 2.01e-3}, &Settings{MaxSteps: 100000, MethodName: "euler"})
	var de *DivergedError
	if !errors.As(err, &de) {
		t.Fatalf("euler at h = 0.00201 > 2/L: got %v, want a divergence", err)
	}
	msg := de.Error()
	for _, want := range []string{"euler diverged at step", "h < 2/L = 0.002", "L = 1000"} {
		if !strings.Contains(msg, want) {
			t.Errorf("divergence message %q lacks %q", msg, want)
		}
	}
	// |1 − hL| = 1.01 per step: f grows by 1.0201 a step from 500 to beyond
	// 1e30·500, about 3500 steps
	if de.Step < 3000 || de.Step > 4000 {
		t.Errorf("diverged at step %d, want about 3500", de.Step)
	}
	res = run(t, q.problem(), x0, &ImplicitEuler{H: 10}, &Settings{MaxSteps: 20})
	// each step multiplies x by 1/(1 + hλ): 1/11 along the slow axis
	if want := math.Pow(1.0/11, 20); math.Abs(res.X[1]-want) > 1e-12*want || !res.Diagnostics.Monotone {
		t.Errorf("implicit_euler h = 10: x = %v, want y = %g, monotone %v", res.X, want, res.Diagnostics.Monotone)
	}
}

// TestImplicitEulerNonconvex: on Rosenbrock (nonconvex) the proximal step
// with a large h still decreases f at every step and reaches (1, 1).
func TestImplicitEulerNonconvex(t *testing.T) {
	f, vars := rosenbrock()
	p := compile(t, f, vars, Needs{Hessian: true})
	res := run(t, p, []float64{-1, 1}, &ImplicitEuler{H: 1}, &Settings{MaxSteps: 200})
	if !res.Diagnostics.Monotone {
		t.Errorf("implicit_euler is not monotone (increase %g)", res.Diagnostics.MaxIncrease)
	}
	if maxErr(res.X, []float64{1, 1}) > 1e-6 {
		t.Errorf("implicit_euler h = 1 after 200 steps: x = %v", res.X)
	}
}

// TestNewtonQuadratic: the full Newton step solves a quadratic in one step;
// a singular Hessian is a StepError.
func TestNewtonQuadratic(t *testing.T) {
	q := testQuadratic()
	res := run(t, q.problem(), []float64{5, 5, 5}, &Newton{H: 1}, &Settings{MaxSteps: 1})
	if maxErr(res.X, q.c) > 1e-12 {
		t.Errorf("one Newton step: x = %v, want %v", res.X, q.c)
	}
	sing := newQuadratic([]float64{1, 1, 1, 1}, []float64{0, 0})
	_, err := Flow(sing.problem(), []float64{1, 2}, &Newton{H: 1}, &Settings{MaxSteps: 3, MethodName: "newton"})
	var se *StepError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "singular") || se.Step != 1 {
		t.Errorf("singular Hessian: %v", err)
	}
}

// TestNaturalSingular: a metric that turns singular stops the run.
func TestNaturalSingular(t *testing.T) {
	q := newQuadratic([]float64{1, 0, 0, 1}, []float64{0, 0})
	p := q.problem()
	// M = diag(1, x₁): singular once x₁ reaches 0; x₁ shrinks by h/x₁… from 1
	p.Metric = func(m *mat.Dense, x []float64) {
		m.Set(0, 0, 1)
		m.Set(0, 1, 0)
		m.Set(1, 0, 0)
		m.Set(1, 1, x[0])
	}
	_, err := Flow(p, []float64{1, 1}, &Natural{H: 1}, &Settings{MaxSteps: 5, MethodName: "natural"})
	if err == nil || !strings.Contains(err.Error(), "metric is singular") {
		t.Errorf("singular metric: %v", err)
	}
}

// TestCancel: a cancelled context ends the run with status Cancelled.
func TestCancel(t *testing.T) {
	f, vars := rosenbrock()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := run(t, compile(t, f, vars, Needs{}), []float64{-1, 1}, &Euler{H: 1e-4}, &Settings{MaxSteps: 1e7, Context: ctx})
	if res.Status != Cancelled || res.Steps > CheckInterval {
		t.Errorf("status %v after %d steps", res.Status, res.Steps)
	}
}

// TestEulerFastPathIsTheSameRun checks that euler steps run in the tape's
// registers give bit for bit the run of the general loop (Tape unset):
// the same point, value, gradient, time and diagnostics.
func TestEulerFastPathIsTheSameRun(t *testing.T) {
	f, vars := rosenbrock()
	o, err := CompileObjective(f, vars, Needs{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	run := func(fast bool) (*Result, [][]float64) {
		p := o.Problem()
		if !fast {
			p.Tape = nil
		}
		var rows [][]float64
		keep := func(r *Row) error {
			rows = append(rows, append([]float64{float64(r.Step), r.T, r.F}, r.X...))
			return nil
		}
		res, err := Flow(p, []float64{-1, 1}, &Euler{H: 1e-3}, &Settings{MaxSteps: 20000, Every: 1500, Row: keep})
		if err != nil {
			t.Fatal(err)
		}
		return res, rows
	}
	a, ra := run(true)
	b, rb := run(false)
	if !slices.Equal(a.X, b.X) || a.F != b.F || !slices.Equal(a.Grad, b.Grad) || a.T != b.T || a.Steps != b.Steps {
		t.Errorf("fast path ends at %v (f %v, t %v), general loop at %v (f %v, t %v)", a.X, a.F, a.T, b.X, b.F, b.T)
	}
	da, db := a.Diagnostics, b.Diagnostics
	if da.Monotone != db.Monotone || da.Length != db.Length || da.DissipationDrop != db.DissipationDrop || da.DissipationIntegral != db.DissipationIntegral {
		t.Errorf("diagnostics differ: %+v vs %+v", da, db)
	}
	if len(ra) != len(rb) || len(ra) < 10 {
		t.Fatalf("%d rows vs %d", len(ra), len(rb))
	}
	for i := range ra {
		if !slices.Equal(ra[i], rb[i]) {
			t.Errorf("row %d: %v vs %v", i, ra[i], rb[i])
		}
	}
}

// TestGradNormScale: ‖∇f‖ is reported and tested without overflow or
// underflow of its squares. 10²⁰⁰·x²/2 has ∇f = 10²⁰⁰ (its square is not a
// float64) and euler with h = 10⁻²⁰⁰ reaches the minimum in one step; the
// implicit flow of x² + y² stops at gradnorm < 10⁻³⁰⁰ when ‖∇f‖ = 2√2·|x|
// crosses it, not when the square of a coordinate underflows.
func TestGradNormScale(t *testing.T) {
	x, y := ad.Symbol("x", 0), ad.Symbol("y", 0)
	huge := compile(t, ad.Mul(ad.FloatNode(0.5e200), sq(x)), []*ad.Node{x}, Needs{})
	res, err := Flow(huge, []float64{1}, &Euler{H: 1e-200}, &Settings{MaxSteps: 3, MethodName: "euler"})
	if err != nil || res.X[0] != 0 {
		t.Errorf("10²⁰⁰·x²/2 by euler: %v, x = %v", err, res.X)
	}
	p := compile(t, ad.Add(sq(x), sq(y)), []*ad.Node{x, y}, Needs{Hessian: true})
	res, err = Flow(p, []float64{1, 1}, &ImplicitEuler{H: 0.1}, &Settings{Until: []Condition{{QGradNorm, "<", 1e-300}}, MethodName: "implicit_euler"})
	if err != nil {
		t.Fatal(err)
	}
	// each step divides x by 1.2: the first ‖∇f‖ below 10⁻³⁰⁰ is above 10⁻³⁰⁰/1.2
	if g := 2 * math.Sqrt2 * res.X[0]; res.Status != ConditionMet || g >= 1e-300 || g < 1e-300/1.2*(1-1e-9) {
		t.Errorf("stopped with status %v at x = %v, ‖∇f‖ = %v", res.Status, res.X, g)
	}
}
