// Tests of the distributions: sample moments, the Gibbs table against quadrature, the MALA chain, reproducibility.
package solvers

import (
	"math"
	"runtime"
	"strings"
	"testing"

	ad "flowlang/autodiff"

	"gonum.org/v1/gonum/integrate/quad"
)

// checkSample compares a sample's mean and population variance per
// coordinate with the law's, within nSigma standard errors: √(v/N) for the
// mean, √((μ₄ − v²)/N) for the variance, with μ₄ ≤ kurt·v² (kurt = 3 for
// Gaussians, 1.8 for uniforms; a mixture's is given by the caller).
func checkSample(t *testing.T, name string, x *Particles, mean, v []float64, kurt float64) {
	t.Helper()
	m, s := cloudMoments(x)
	N := float64(x.N)
	for c := range mean {
		ptWithin(t, name+" mean", m[c], mean[c], nSigma*math.Sqrt(v[c]/N))
		ptWithin(t, name+" variance", s[c], v[c], nSigma*v[c]*math.Sqrt((kurt-1)/N))
	}
}

func TestSampleLaws(t *testing.T) {
	const n = 50_000
	nrm := ptNormal(t, []float64{1, -2}, []float64{0.5, 3})
	m, v := nrm.MeanVar()
	checkSample(t, "normal", ptSample(t, nrm, n, 1), m, v, 3)

	u, err := NewUniform([]float64{-1, 2}, []float64{3, 2.5})
	if err != nil {
		t.Fatal(err)
	}
	m, v = u.MeanVar()
	checkSample(t, "uniform", ptSample(t, u, n, 2), m, v, 1.8)
	x := ptSample(t, u, n, 2)
	for i := range x.N {
		if x.X[0][i] < -1 || x.X[0][i] > 3 || x.X[1][i] < 2 || x.X[1][i] > 2.5 {
			t.Fatalf("uniform sample outside its box: (%g, %g)", x.X[0][i], x.X[1][i])
		}
	}

	// a bimodal mixture: mean Σw m, variance Σw(v + m²) − mean²
	mix, err := NewMix([]float64{1, 3}, []Dist{ptNormal(t, []float64{-2}, []float64{0.5}), ptNormal(t, []float64{2}, []float64{1})})
	if err != nil {
		t.Fatal(err)
	}
	m, v = mix.MeanVar()
	ptWithin(t, "mix mean formula", m[0], 0.25*-2+0.75*2, 1e-15)
	ptWithin(t, "mix variance formula", v[0], 0.25*(0.25+4)+0.75*(1+4)-1, 1e-14)
	checkSample(t, "mix", ptSample(t, mix, n, 3), m, v, 3)

	pts, err := NewPoints([][]float64{{1, 2}, {3, 4}, {5, 0}})
	if err != nil {
		t.Fatal(err)
	}
	exact := ptSample(t, pts, 3, 9)
	if exact.X[0][1] != 3 || exact.X[1][2] != 0 {
		t.Errorf("points with N = len: %v, want the points themselves", exact.X)
	}
	m, v = pts.MeanVar()
	checkSample(t, "points", ptSample(t, pts, n, 4), m, v, 3)
}

// TestSampleReproducible checks that a seed gives the same sample on one
// core and on two.
func TestSampleReproducible(t *testing.T) {
	mix, _ := NewMix([]float64{1, 1}, []Dist{ptNormal(t, []float64{0}, []float64{1}), ptNormal(t, []float64{5}, []float64{1})})
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	a := ptSample(t, mix, 5000, 42)
	runtime.GOMAXPROCS(2)
	b := ptSample(t, mix, 5000, 42)
	for i := range a.X[0] {
		if a.X[0][i] != b.X[0][i] {
			t.Fatalf("point %d differs across core counts", i)
		}
	}
	c := ptSample(t, mix, 5000, 43)
	if c.X[0][0] == a.X[0][0] && c.X[0][1] == a.X[0][1] {
		t.Errorf("seeds 42 and 43 gave the same sample")
	}
}

// gibbs1D builds the 1-D Gibbs law of e(x).
func gibbs1D(t *testing.T, e *ad.Node) *Gibbs {
	t.Helper()
	x := ad.Symbol("x", 0)
	g, err := NewGibbs(ptGibbsProgram(t, e, []*ad.Node{x}), ad.String(e))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// quadMoments integrates exp(−V) against 1, x, x² on [a, b] by gonum's
// Gauss–Legendre rule with 4000 nodes, independently of the Gibbs table.
func quadMoments(V func(float64) float64, a, b float64) (mean, variance float64) {
	z := quad.Fixed(func(x float64) float64 { return math.Exp(-V(x)) }, a, b, 4000, quad.Legendre{}, 0)
	m := quad.Fixed(func(x float64) float64 { return x * math.Exp(-V(x)) }, a, b, 4000, quad.Legendre{}, 0) / z
	v := quad.Fixed(func(x float64) float64 { return (x - m) * (x - m) * math.Exp(-V(x)) }, a, b, 4000, quad.Legendre{}, 0) / z
	return m, v
}

// TestGibbsTable checks the 1-D table's moments and quantiles. The
// piecewise-linear density has a relative error O(Δx²·|V”|) with
// Δx = range/65536, about 10⁻⁸ here, so 10⁻⁷ is a safe tolerance.
func TestGibbsTable(t *testing.T) {
	const tol = 1e-7
	x := ad.Symbol("x", 0)
	half := ptRat(1, 2)

	g := gibbs1D(t, ad.Mul(half, ad.PowNum(x, ad.Int(2))))
	m, v := g.MeanVar()
	ptWithin(t, "N(0,1) mean", m[0], 0, tol)
	ptWithin(t, "N(0,1) variance", v[0], 1, tol)
	ptWithin(t, "N(0,1) 97.5% quantile", g.table.quantile(0.975), 1.959963984540054, 1e-6)
	ptWithin(t, "N(0,1) density at 0", g.Density([]float64{0}), 1/math.Sqrt(2*math.Pi), 1e-8)

	// the double well, against independent quadrature
	dw, _ := ptDoubleWell()
	g = gibbs1D(t, dw)
	m, v = g.MeanVar()
	qm, qv := quadMoments(func(x float64) float64 { return x*x*x*x/4 - x*x/2 }, -10, 10)
	ptWithin(t, "double well mean", m[0], qm, tol)
	ptWithin(t, "double well variance", v[0], qv, tol*qv)

	// far from the origin and narrow: (x − 100)²/2, and 10⁶x²/2
	g = gibbs1D(t, ad.Mul(half, ad.PowNum(ad.Sub(x, ad.IntNode(100)), ad.Int(2))))
	m, v = g.MeanVar()
	ptWithin(t, "shifted mean", m[0], 100, 1e-6)
	ptWithin(t, "shifted variance", v[0], 1, tol)
	g = gibbs1D(t, ad.Mul(ad.IntNode(500000), ad.PowNum(x, ad.Int(2))))
	_, v = g.MeanVar()
	ptWithin(t, "narrow variance", v[0], 1e-6, tol*1e-6)

	// a half-line law: exp(−(x − log x)) = x e^{−x} on x > 0 (Gamma(2, 1):
	// mean 2, variance 2); log of x ≤ 0 is outside V's domain
	g = gibbs1D(t, ad.Sub(x, ad.Call("log", x)))
	m, v = g.MeanVar()
	ptWithin(t, "gamma mean", m[0], 2, 1e-6)
	ptWithin(t, "gamma variance", v[0], 2, 1e-6)
	checkSample(t, "gamma", ptSample(t, g, 50_000, 1), []float64{2}, []float64{2}, 6)

	// the sample of the double well
	g = gibbs1D(t, dw)
	checkSample(t, "double well", ptSample(t, g, 50_000, 2), []float64{qm}, []float64{qv}, 3)
}

func TestGibbsErrors(t *testing.T) {
	x := ad.Symbol("x", 0)
	for _, c := range []struct {
		v    *ad.Node
		want string
	}{
		{x, "grow"},
		{ad.Neg(ad.PowNum(x, ad.Int(2))), "grow"},
		{ad.Call("log", ad.Sub(ad.Neg(ad.PowNum(x, ad.Int(2))), ad.One())), "not finite"},
		{ad.Call("log", ad.Neg(ad.PowNum(x, ad.Int(2)))), "−∞"},
	} {
		_, err := NewGibbs(ptGibbsProgram(t, c.v, []*ad.Node{x}), ad.String(c.v))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("gibbs(%s): %v, want an error about %q", ad.String(c.v), err, c.want)
		}
	}
}

// TestGibbsChain checks the MALA chain of 2-D Gibbs laws on the correlated
// Gaussian V = (x₁² − x₁x₂ + x₂²)·2/3, whose covariance is [[1, ½], [½, 1]].
// Points of a chain are correlated; with thinning 10 and a tuned step the
// integrated autocorrelation time of these moments is below 3, so the
// tolerance is nSigma standard errors with N/3 effective points.
func TestGibbsChain(t *testing.T) {
	xs := ptCoords("x", 2)
	V := ad.Mul(ptRat(2, 3), ad.Add(ad.PowNum(xs[0], ad.Int(2)), ad.Neg(ad.Mul(xs[0], xs[1])), ad.PowNum(xs[1], ad.Int(2))))
	g, err := NewGibbs(ptGibbsProgram(t, V, xs), "V")
	if err != nil {
		t.Fatal(err)
	}
	const n = 20_000
	x := ptSample(t, g, n, 3)
	m, v := cloudMoments(x)
	eff := float64(n) / 3
	for c := 0; c < 2; c++ {
		ptWithin(t, "chain mean", m[c], 0, nSigma/math.Sqrt(eff))
		ptWithin(t, "chain variance", v[c], 1, nSigma*math.Sqrt(2/eff))
	}
	cov := 0.0
	for i := range n {
		cov += (x.X[0][i] - m[0]) * (x.X[1][i] - m[1])
	}
	cov /= n
	ptWithin(t, "chain covariance", cov, 0.5, nSigma*math.Sqrt(1.25/eff)) // Var(x₁x₂) = 1 + ρ² = 1.25
}
