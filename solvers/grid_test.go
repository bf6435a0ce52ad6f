// Tests of the grid method against exact solutions: heat and Ornstein–Uhlenbeck Gaussians, the Gibbs state of a double well and its relaxation rate, the DLSS Gaussian, convolutions.
package solvers

import (
	"errors"
	"math"
	"strings"
	"testing"

	ad "flowlang/autodiff"

	"gonum.org/v1/gonum/integrate/quad"
	lapackgonum "gonum.org/v1/gonum/lapack/gonum"
)

// Functionals of a density built as the language builds them.

func entropyF(sp ad.Space) *ad.Node {
	q := sp.Q(sp.Var, nil)
	return ad.Integral(ad.Mul(q, ad.Call("log", q)), sp.Var, sp.Dim, true)
}

func potentialF(sp ad.Space, v *ad.Node) *ad.Node {
	return ad.Integral(ad.Mul(v, sp.Q(sp.Var, nil)), sp.Var, sp.Dim, true)
}

// fisherF is ∫‖∇q‖²/q.
func fisherF(sp ad.Space) *ad.Node {
	q := sp.Q(sp.Var, nil)
	var terms []*ad.Node
	for c := range sp.Coords() {
		a := make([]uint8, sp.Coords())
		a[c] = 1
		terms = append(terms, ad.PowNum(sp.Q(sp.Var, a), ad.Int(2)))
	}
	return ad.Integral(ad.Div(ad.Add(terms...), q), sp.Var, sp.Dim, true)
}

// interactionF is ½∬K(x − y)q(x)q(y) for K given as a function of the
// difference's coordinates.
func interactionF(sp ad.Space, k func(d []*ad.Node) *ad.Node) *ad.Node {
	var d []*ad.Node
	for c := range sp.Coords() {
		d = append(d, ad.Sub(sp.Coord(sp.Var, c), sp.Coord("y", c)))
	}
	inner := ad.Integral(ad.Mul(k(d), sp.Q("y", nil)), "y", sp.Dim, false)
	return ad.Scale(ad.Integral(ad.Mul(sp.Q(sp.Var, nil), inner), sp.Var, sp.Dim, true), ad.Rat(1, 2))
}

// doubleWell is V = x⁴/4 − x²/2.
func doubleWell(x *ad.Node) *ad.Node {
	return ad.Add(ad.Scale(ad.PowNum(x, ad.Int(4)), ad.Rat(1, 4)), ad.Scale(ad.PowNum(x, ad.Int(2)), ad.Rat(-1, 2)))
}

var space1 = ad.Space{Density: "q", Var: "x"}

func untilT(T float64) []Condition { return []Condition{{Quantity: QTime, Op: ">=", Value: T}} }

// runGrid runs f from law d on n cells of [lo, hi] (per coordinate) to t = T.
func runGrid(t *testing.T, sp ad.Space, f *ad.Node, lo, hi []float64, n int, d Dist, s *GridSettings) *GridResult {
	t.Helper()
	g, err := NewGrid(lo, hi, n)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewGridProblem(sp, f, g)
	if err != nil {
		t.Fatal(err)
	}
	q0, _, err := GridDensity(g, d)
	if err != nil {
		t.Fatal(err)
	}
	res, err := RunGrid(p, q0, s)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// massTol is the test's bound on the relative drift of the mass: the
// update is compensated, so only the rounding of the increments remains
// (a few 1e-16 per step, far below it over the runs here).
const massTol = 1e-12

// checkInvariants asserts what every run must keep: the mass to massTol,
// q > 0 (positivity of the upwind scheme under its CFL bound), and a
// non-increasing energy (to GridEnergyTol).
func checkInvariants(t *testing.T, what string, res *GridResult) {
	t.Helper()
	if res.MassDrift > massTol {
		t.Errorf("%s: the mass drifted by %g", what, res.MassDrift)
	}
	if !(res.MinQ > 0) {
		t.Errorf("%s: q fell to %g", what, res.MinQ)
	}
	if !res.EnergyMonotone {
		t.Errorf("%s: the energy rose by %g at step %d", what, res.MaxIncrease, res.MaxIncreaseStep)
	}
}

// TestGridHeat: the flow of the entropy is the heat equation; from
// N(0, 1) the solution is N(0, 1 + 2t). The scheme is second order in Δx
// (Δt ∝ Δx², so the time error is of the same order): halving Δx divides
// the error of the variance at t = 1 by about 4.
func TestGridHeat(t *testing.T) {
	d, _ := NewNormal([]float64{0}, []float64{1})
	var errs []float64
	for _, n := range []int{40, 80, 160} {
		res := runGrid(t, space1, entropyF(space1), []float64{-8}, []float64{8}, n, d, &GridSettings{Until: untilT(1)})
		checkInvariants(t, "heat", res)
		if math.Abs(res.T-1) > 1e-9 {
			t.Errorf("n = %d: the run ended at t = %g, not 1", n, res.T)
		}
		if math.Abs(res.Final.Mean[0]) > 1e-12 {
			t.Errorf("n = %d: the mean moved to %g", n, res.Final.Mean[0])
		}
		errs = append(errs, math.Abs(res.Final.Var[0]-3))
		// the entropy of N(0, v) is −½log(2πe·v)
		if want := -0.5 * math.Log(2*math.Pi*math.E*3); math.Abs(res.Final.Energy-want) > 0.02 {
			t.Errorf("n = %d: entropy %g, want %g", n, res.Final.Energy, want)
		}
	}
	for i := 1; i < len(errs); i++ {
		// second order: the ratio is 4 up to the higher-order terms (the
		// limiter clips the slopes at the peak, 3.8–4.5 is seen)
		if r := errs[i-1] / errs[i]; r < 3.5 || r > 5 {
			t.Errorf("the error of the variance fell by %.3g from n = %d to %d, want about 4 (errors %v)", r, 40<<(i-1), 40<<i, errs)
		}
	}
	if errs[2] > 3e-3 {
		t.Errorf("variance error %g at n = 160", errs[2])
	}
}

// TestGridOrderOne: with the reconstruction of order 1 (plain upwind
// cell values) the scheme is first order: halving Δx halves the error.
func TestGridOrderOne(t *testing.T) {
	d, _ := NewNormal([]float64{0}, []float64{1})
	var errs []float64
	for _, n := range []int{40, 80, 160} {
		res := runGrid(t, space1, entropyF(space1), []float64{-8}, []float64{8}, n, d, &GridSettings{Until: untilT(1), Order: 1, RK: 1})
		checkInvariants(t, "heat, order 1", res)
		errs = append(errs, math.Abs(res.Final.Var[0]-3))
	}
	for i := 1; i < len(errs); i++ {
		if r := errs[i-1] / errs[i]; r < 1.7 || r > 2.5 {
			t.Errorf("order 1: the error fell by %.3g, want about 2 (errors %v)", r, errs)
		}
	}
}

// TestGridOU: ∫|x|²/2·q + ∫q log q in 2-D is the Ornstein–Uhlenbeck flow:
// from N(m, diag(v)) the mean is m·e^{−t} and each variance
// 1 + (v − 1)e^{−2t}.
func TestGridOU(t *testing.T) {
	sp := ad.Space{Density: "q", Var: "x", Dim: 2}
	x1, x2 := sp.Coord("x", 0), sp.Coord("x", 1)
	v := ad.Scale(ad.Add(ad.PowNum(x1, ad.Int(2)), ad.PowNum(x2, ad.Int(2))), ad.Rat(1, 2))
	f := ad.Add(potentialF(sp, v), entropyF(sp))
	d, _ := NewNormal([]float64{1, -0.5}, []float64{0.6, 1.5})
	res := runGrid(t, sp, f, []float64{-6, -6}, []float64{6, 6}, 60, d, &GridSettings{Until: untilT(0.5)})
	checkInvariants(t, "OU 2-D", res)
	e := math.Exp(-0.5)
	wantMean := []float64{1 * e, -0.5 * e}
	wantVar := []float64{1 + (0.36-1)*e*e, 1 + (2.25-1)*e*e}
	// Δx = 0.2: the second-order error is about (Δx²)·|q''|-sized, a few 1e-3
	const tol = 6e-3
	for c := range 2 {
		if math.Abs(res.Final.Mean[c]-wantMean[c]) > tol || math.Abs(res.Final.Var[c]-wantVar[c]) > tol {
			t.Errorf("coordinate %d: mean %g var %g, want %g and %g", c+1, res.Final.Mean[c], res.Final.Var[c], wantMean[c], wantVar[c])
		}
	}
}

// gibbsMoments returns the mean and variance of exp(−V)/Z by
// Gauss–Legendre quadrature on [lo, hi].
func gibbsMoments(v func(float64) float64, lo, hi float64) (float64, float64) {
	const nodes = 400 // exact to rounding for a smooth integrand on a short interval
	z := quad.Fixed(func(x float64) float64 { return math.Exp(-v(x)) }, lo, hi, nodes, quad.Legendre{}, 0)
	m := quad.Fixed(func(x float64) float64 { return x * math.Exp(-v(x)) }, lo, hi, nodes, quad.Legendre{}, 0) / z
	s := quad.Fixed(func(x float64) float64 { return (x - m) * (x - m) * math.Exp(-v(x)) }, lo, hi, nodes, quad.Legendre{}, 0) / z
	return m, s
}

// spectralGap returns the first non-zero eigenvalue of the Fokker–Planck
// operator of V: −L = −Δ + ∇V·∇ in L²(e^{−V}) is unitarily equivalent to
// the Schrödinger operator −d²/dx² + V′²/4 − V″/2, discretised here by
// second differences with m interior points on [lo, hi] (Dirichlet walls
// far in the tails).
func spectralGap(vp, vpp func(float64) float64, lo, hi float64, m int) float64 {
	h := (hi - lo) / float64(m+1)
	d, e := make([]float64, m), make([]float64, m-1)
	for i := range m {
		x := lo + float64(i+1)*h
		d[i] = 2/(h*h) + vp(x)*vp(x)/4 - vpp(x)/2
		if i+1 < m {
			e[i] = -1 / (h * h)
		}
	}
	// the eigenvalues of the symmetric tridiagonal matrix, ascending
	if !(lapackgonum.Implementation{}).Dsterf(m, d, e) {
		panic("solvers: Dsterf did not converge")
	}
	return d[1] - d[0]
}

// TestGridFokkerPlanckDoubleWell: the flow of ∫Vq + ∫q log q for the
// double well V = x⁴/4 − x²/2 relaxes to the Gibbs state exp(−V)/Z (its
// moments by quadrature), and its mean, started off centre, decays like
// e^{−λ₁t} with λ₁ the spectral gap.
func TestGridFokkerPlanckDoubleWell(t *testing.T) {
	x := space1.Coord("x", 0)
	f := ad.Add(potentialF(space1, doubleWell(x)), entropyF(space1))
	d, _ := NewNormal([]float64{1}, []float64{0.5})
	var ts, ms []float64
	s := &GridSettings{Until: untilT(12), Every: 200, Row: func(r *GridRow) error {
		ts, ms = append(ts, r.T), append(ms, r.Mean[0])
		return nil
	}}
	res := runGrid(t, space1, f, []float64{-3.5}, []float64{3.5}, 140, d, s)
	checkInvariants(t, "double well", res)
	v := func(x float64) float64 { return x*x*x*x/4 - x*x/2 }
	_, wantVar := gibbsMoments(v, -3.5, 3.5)
	// Δx = 0.05: the stationary state of the scheme differs from exp(−V)/Z
	// by O(Δx²) ≈ 2.5e-3 relative
	if math.Abs(res.Final.Var[0]-wantVar) > 3e-3 || math.Abs(res.Final.Mean[0]) > 1e-3 {
		t.Errorf("at t = 12: mean %g var %g, want 0 and %g", res.Final.Mean[0], res.Final.Var[0], wantVar)
	}
	gap := spectralGap(func(x float64) float64 { return x*x*x - x }, func(x float64) float64 { return 3*x*x - 1 }, -5, 5, 2000)
	// the decay rate of the mean over t ∈ [4, 8], by a least-squares fit of log m
	var xs, ys []float64
	for i, tt := range ts {
		if tt >= 4 && tt <= 8 {
			xs, ys = append(xs, tt), append(ys, math.Log(ms[i]))
		}
	}
	_, slope, _ := linearFit(xs, ys)
	// the next odd mode decays much faster (λ₃ > 3λ₁ here), so after t = 4
	// the fitted rate is λ₁ to the grid's accuracy, a few tenths of a percent
	if math.Abs(-slope-gap) > 0.01*gap {
		t.Errorf("the mean decays at rate %g, the spectral gap is %g", -slope, gap)
	}
	// the energy F − F* ~ e^{−2λ₁t}
	if res.Rate.Kind != "exponential" || math.Abs(res.Rate.Rate-2*gap) > 0.05*2*gap {
		t.Errorf("the energy's relaxation %+v, want exponential at rate %g", res.Rate, 2*gap)
	}
}

// TestGridDLSS: the Wasserstein flow of the Fisher information is the
// fourth-order DLSS equation ∂q/∂t = ∇·(q∇(|∇q|²/q² − 2Δq/q)), not the
// heat equation (the notes' (50) is wrong). Gaussians stay Gaussian under
// it, with the velocity 2x/v², so dv/dt = 4/v: v(t) = √(v₀² + 8t), while
// the heat equation gives v₀ + 2t; the Fisher information 1/v decreases.
func TestGridDLSS(t *testing.T) {
	d, _ := NewNormal([]float64{0}, []float64{1})
	const T = 0.5
	want := math.Sqrt(1 + 8*T)
	var errs []float64
	for _, n := range []int{35, 70} {
		res := runGrid(t, space1, fisherF(space1), []float64{-7}, []float64{7}, n, d, &GridSettings{Until: untilT(T)})
		checkInvariants(t, "DLSS", res)
		errs = append(errs, math.Abs(res.Final.Var[0]-want))
		if math.Abs(res.Final.Energy-1/want) > 0.01 {
			t.Errorf("n = %d: the Fisher information at t = %g is %g, want 1/v = %g", n, T, res.Final.Energy, 1/want)
		}
		if res.Limited.Parabolic == 0 {
			t.Errorf("no step of the fourth-order flow was bounded by its diffusion: %+v", res.Limited)
		}
	}
	// Δx = 0.2: the variance is within 5e-3 of √(1 + 8t) = 2.236 (the heat
	// equation would give 2), and the error falls by at least 3 from
	// Δx = 0.4 (second order, 4, up to the tails' resolution)
	if errs[1] > 5e-3 || errs[0]/errs[1] < 3 {
		t.Errorf("DLSS variance errors %v at n = 35, 70 (want √(1 + 8t) = %g)", errs, want)
	}
}

// TestGridFourthOrderRefused: on a fine grid the fourth-order flow's step
// Δx⁴/32 would need too many steps; the run says so at once.
func TestGridFourthOrderRefused(t *testing.T) {
	g, _ := NewGrid([]float64{-7}, []float64{7}, 4000)
	p, err := NewGridProblem(space1, fisherF(space1), g)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := NewNormal([]float64{0}, []float64{1})
	q0, _, _ := GridDensity(g, d)
	_, err = RunGrid(p, q0, &GridSettings{Until: untilT(1)})
	var se *StepError
	if !errors.As(err, &se) || !strings.Contains(se.Msg, "fourth-order") || !strings.Contains(se.Msg, "fewer cells") {
		t.Fatalf("want a step error about the fourth-order term, got %v", err)
	}
}

// TestGridInteraction: with V = x²/2 and K(z) = z²/2 the velocity is
// linear, −x − (x − m) − ∂ log q, so a Gaussian stays Gaussian: the mean
// is m₀e^{−t} and the variance ½ + (v₀ − ½)e^{−4t}. With 256 cells the
// interaction goes through the FFT.
func TestGridInteraction(t *testing.T) {
	x := space1.Coord("x", 0)
	f := ad.Add(potentialF(space1, ad.Scale(ad.PowNum(x, ad.Int(2)), ad.Rat(1, 2))), entropyF(space1),
		interactionF(space1, func(d []*ad.Node) *ad.Node { return ad.Scale(ad.PowNum(d[0], ad.Int(2)), ad.Rat(1, 2)) }))
	g, _ := NewGrid([]float64{-6}, []float64{6}, 256)
	p, err := NewGridProblem(space1, f, g)
	if err != nil {
		t.Fatal(err)
	}
	if gi := p.xi.ints; len(gi) != 1 || gi[0].kind != convIntegral || gi[0].conv.direct {
		t.Fatalf("the interaction should be an FFT convolution")
	}
	d, _ := NewNormal([]float64{1}, []float64{1})
	q0, _, _ := GridDensity(g, d)
	res, err := RunGrid(p, q0, &GridSettings{Until: untilT(1)})
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, "interaction", res)
	wantM, wantV := math.Exp(-1), 0.5+0.5*math.Exp(-4)
	// Δx ≈ 0.047: second-order errors of a few 1e-4
	if math.Abs(res.Final.Mean[0]-wantM) > 1e-3 || math.Abs(res.Final.Var[0]-wantV) > 1e-3 {
		t.Errorf("mean %g var %g, want %g and %g", res.Final.Mean[0], res.Final.Var[0], wantM, wantV)
	}
}

// TestConvolverFFT: the FFT convolution equals the direct sum, in 1-D and
// 2-D, to rounding.
func TestConvolverFFT(t *testing.T) {
	for _, dim := range []int{1, 2} {
		n := 150
		lo, hi := []float64{-3}, []float64{2}
		if dim == 2 {
			n, lo, hi = 23, []float64{-3, -1}, []float64{2, 4}
		}
		g, _ := NewGrid(lo, hi, n)
		m := 2*n - 1
		size := m
		if dim == 2 {
			size = m * m
		}
		table := make([]float64, size)
		for i := range table {
			table[i] = math.Sin(0.37*float64(i)) + 0.1*float64(i%7)
		}
		q := make([]float64, g.Cells())
		for i := range q {
			q[i] = math.Cos(0.11*float64(i)) + 1.5
		}
		fft := newConvolver(g, table)
		if fft.direct {
			t.Fatalf("%d-D: want the FFT", dim)
		}
		direct := &convolver{g: g, table: table, vol: g.Volume(), direct: true}
		a, b := make([]float64, len(q)), make([]float64, len(q))
		fft.apply(q, a)
		direct.apply(q, b)
		for i := range a {
			// FFT rounding: a few ε times the sum of |terms|
			if math.Abs(a[i]-b[i]) > 1e-11*(1+math.Abs(b[i])) {
				t.Fatalf("%d-D: cell %d: FFT %g, direct %g", dim, i, a[i], b[i])
			}
		}
	}
}

// TestGridPairSum: a nonlocal term whose kernel is not a function of
// x − y is summed over pairs of cells; its value matches a double loop.
func TestGridPairSum(t *testing.T) {
	x, y := space1.Coord("x", 0), space1.Coord("y", 0)
	// ∫ exp(−x²y²)·q(y) dy, not translation invariant
	kern := ad.Call("exp", ad.Neg(ad.Mul(ad.PowNum(x, ad.Int(2)), ad.PowNum(y, ad.Int(2)))))
	inner := ad.Integral(ad.Mul(kern, space1.Q("y", nil)), "y", 0, false)
	g, _ := NewGrid([]float64{-2}, []float64{2}, 50)
	b := newGridBuilder(space1, g)
	f, err := b.field(inner, false)
	if err != nil {
		t.Fatal(err)
	}
	if f.ints[0].kind != pairIntegral {
		t.Fatalf("want a pair sum, got kind %d", f.ints[0].kind)
	}
	q := make([]float64, g.Cells())
	for i := range q {
		q[i] = 1 + 0.5*math.Sin(float64(i))
	}
	b.table.compute(q)
	f.eval(false)
	for k := range q {
		xk := g.Center(0, k)
		want := 0.0
		for j := range q {
			yj := g.Center(0, j)
			want += math.Exp(-xk*xk*yj*yj) * q[j] * g.H(0)
		}
		if math.Abs(f.out[0][k]-want) > 1e-13*want {
			t.Fatalf("cell %d: %g, want %g", k, f.out[0][k], want)
		}
	}
}

// TestGridJets: the jets come from centred differences of log q, which
// are exact for a quadratic, so the jets of a Gaussian-shaped density are
// exact (away from the walls, where the reflection takes over) — in 1-D to
// fourth order and in 2-D for mixed derivatives, which checks the chain
// rule's multi-index sums.
func TestGridJets(t *testing.T) {
	g, _ := NewGrid([]float64{-3}, []float64{3}, 30)
	tb := newJetTable(g)
	ks := []int{tb.index([]uint8{1}), tb.index([]uint8{2}), tb.index([]uint8{3}), tb.index([]uint8{4})}
	q := make([]float64, 30)
	for i := range q {
		x := g.Center(0, i)
		q[i] = math.Exp(-x*x/2 + 0.3*x)
	}
	tb.compute(q)
	for i := 2; i < 28; i++ {
		x := g.Center(0, i)
		// q = e^w, w' = s = 0.3 − x, w'' = −1: q' = qs, q'' = q(s² − 1),
		// q''' = q(s³ − 3s), q'''' = q(s⁴ − 6s² + 3)
		s := 0.3 - x
		want := []float64{s, s*s - 1, s*s*s - 3*s, s*s*s*s - 6*s*s + 3}
		for j, k := range ks {
			// rounding of the differences of log q, amplified by h^(−order)
			if got := tb.vals[k][i] / q[i]; math.Abs(got-want[j]) > 1e-8*(1+math.Abs(want[j])) {
				t.Fatalf("x = %g: derivative %d is %g·q, want %g·q", x, j+1, got, want[j])
			}
		}
	}
	g2, _ := NewGrid([]float64{-2, -2}, []float64{2, 2}, 16)
	tb = newJetTable(g2)
	kxy, kxxy := tb.index([]uint8{1, 1}), tb.index([]uint8{2, 1})
	q = make([]float64, g2.Cells())
	for k := range q {
		x, y := g2.Center(0, k/16), g2.Center(1, k%16)
		q[k] = math.Exp(-x*x/2 - y*y/3 + 0.2*x*y)
	}
	tb.compute(q)
	for i := 2; i < 14; i++ {
		for j := 2; j < 14; j++ {
			k := i*16 + j
			x, y := g2.Center(0, i), g2.Center(1, j)
			a, b := -x+0.2*y, -2*y/3+0.2*x // wₓ, w_y; wₓₓ = −1, wₓᵧ = 0.2
			wantXY := a*b + 0.2
			wantXXY := (a*a-1)*b + 2*a*0.2
			if math.Abs(tb.vals[kxy][k]/q[k]-wantXY) > 1e-9 || math.Abs(tb.vals[kxxy][k]/q[k]-wantXXY) > 1e-8 {
				t.Fatalf("(%g, %g): %g %g, want %g %g", x, y, tb.vals[kxy][k]/q[k], tb.vals[kxxy][k]/q[k], wantXY, wantXXY)
			}
		}
	}
}

// TestGridErrors: what the grid refuses, and why.
func TestGridErrors(t *testing.T) {
	g, _ := NewGrid([]float64{-2}, []float64{2}, 50)
	// a singular kernel
	f := interactionF(space1, func(d []*ad.Node) *ad.Node { return ad.Call("log", ad.Call("abs", d[0])) })
	_, err := NewGridProblem(space1, f, g)
	var te *TermError
	if !errors.As(err, &te) || !strings.Contains(te.Why, "singular at x − y = 0") {
		t.Errorf("singular kernel: %v", err)
	}
	// the grid's dimension
	sp2 := ad.Space{Density: "q", Var: "x", Dim: 2}
	if _, err := NewGridProblem(sp2, entropyF(sp2), g); err == nil || !strings.Contains(err.Error(), "coordinates") {
		t.Errorf("dimension: %v", err)
	}
	// a law mostly outside
	d, _ := NewNormal([]float64{3}, []float64{1})
	var oe *OutsideError
	if _, _, err := GridDensity(g, d); !errors.As(err, &oe) || oe.Inside > 0.5 {
		t.Errorf("outside: %v", err)
	}
	// points have no density
	pts, _ := NewPoints([][]float64{{0}, {1}})
	if _, _, err := GridDensity(g, pts); err == nil || !strings.Contains(err.Error(), "no density") {
		t.Errorf("points: %v", err)
	}
	// a non-finite δF/δq at the start: log of a negative potential term
	x := space1.Coord("x", 0)
	p, err := NewGridProblem(space1, ad.Add(potentialF(space1, ad.Call("log", x)), entropyF(space1)), g)
	if err != nil {
		t.Fatal(err)
	}
	d0, _ := NewNormal([]float64{0}, []float64{0.5})
	q0, _, _ := GridDensity(g, d0)
	_, err = RunGrid(p, q0, &GridSettings{MaxSteps: 10})
	var de *DivergedError
	if !errors.As(err, &de) || de.Step != 0 || !strings.Contains(de.Source, "log(x)") {
		t.Errorf("non-finite start: %v", err)
	}
}

// TestGridAllocations: a step allocates nothing; a run's allocations do
// not grow with its steps beyond the bounded samples.
func TestGridAllocations(t *testing.T) {
	x := space1.Coord("x", 0)
	f := ad.Add(potentialF(space1, doubleWell(x)), entropyF(space1),
		interactionF(space1, func(d []*ad.Node) *ad.Node { return ad.Call("exp", ad.Neg(ad.PowNum(d[0], ad.Int(2)))) }))
	g, _ := NewGrid([]float64{-3}, []float64{3}, 300)
	p, err := NewGridProblem(space1, f, g)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := NewNormal([]float64{0.5}, []float64{0.7})
	q0, _, _ := GridDensity(g, d)
	run := func(steps int) float64 {
		return testing.AllocsPerRun(1, func() {
			if _, err := RunGrid(p, q0, &GridSettings{MaxSteps: steps}); err != nil {
				t.Fatal(err)
			}
		})
	}
	run(2) // the machines' registers are allocated on first use
	short, long := run(50), run(1050)
	// the samples of the energy (at most MaxSamples, thinned in place)
	// and their slice's growth: a few dozen allocations at most
	if long-short > 40 {
		t.Errorf("1000 more steps made %v more allocations", long-short)
	}
}

// TestGridGibbs2D: a Gibbs law in 2-D starts as exp(−V) at the centres,
// which is the scheme's stationary state for ∫Vq + ∫q log q (ξ = V + log q
// is constant, every velocity 0): it does not move.
func TestGridGibbs2D(t *testing.T) {
	sp := ad.Space{Density: "q", Var: "x", Dim: 2}
	x1, x2 := sp.Coord("x", 0), sp.Coord("x", 1)
	v := ad.Add(ad.Scale(ad.PowNum(x1, ad.Int(2)), ad.Rat(1, 2)), ad.PowNum(ad.Sub(x2, x1), ad.Int(2)))
	prog, err := ad.Compile([]*ad.Node{v, ad.Diff(v, x1), ad.Diff(v, x2)}, []*ad.Node{x1, x2})
	if err != nil {
		t.Fatal(err)
	}
	gb, err := NewGibbs(prog, "V")
	if err != nil {
		t.Fatal(err)
	}
	g, _ := NewGrid([]float64{-6, -6}, []float64{6, 6}, 40)
	q0, inside, err := GridDensity(g, gb)
	if err != nil || inside != 1 {
		t.Fatalf("%v, inside %g", err, inside)
	}
	p, err := NewGridProblem(sp, ad.Add(potentialF(sp, v), entropyF(sp)), g)
	if err != nil {
		t.Fatal(err)
	}
	res, err := RunGrid(p, q0, &GridSettings{Until: untilT(1)})
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range q0 {
		// the velocities are differences of ξ, constant to rounding: the
		// density moves by rounding only
		if math.Abs(res.Final.Q[k]-want) > 1e-12*(1+want) {
			t.Fatalf("cell %d moved from %g to %g", k, want, res.Final.Q[k])
		}
	}
}
