// Test helpers for particle methods and distributions: potentials and kernels compiled from expressions.
package solvers

import (
	"math"
	"testing"

	ad "flowlang/autodiff"
)

// ptCoords returns the symbols x[1..d] (or x for d = 1).
func ptCoords(name string, d int) []*ad.Node {
	if d == 1 {
		return []*ad.Node{ad.Symbol(name, 0)}
	}
	s := make([]*ad.Node, d)
	for i := range s {
		s[i] = ad.Symbol(name, i+1)
	}
	return s
}

// ptTerm compiles e(vars) into a ParticleTerm whose Grad tape outputs ∇e
// and, when withValue, e itself.
func ptTerm(t testing.TB, e *ad.Node, vars []*ad.Node, withValue bool) *ParticleTerm {
	t.Helper()
	outs := ad.Grad(e, vars)
	if withValue {
		outs = append(outs, e)
	}
	p, err := ad.Compile(outs, vars)
	if err != nil {
		t.Fatal(err)
	}
	return &ParticleTerm{Grad: p}
}

// ptGibbsProgram compiles V and ∇V as NewGibbs wants them.
func ptGibbsProgram(t testing.TB, e *ad.Node, vars []*ad.Node) *ad.Program {
	t.Helper()
	outs := append([]*ad.Node{e}, ad.Grad(e, vars)...)
	p, err := ad.Compile(outs, vars)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func ptRat(p, q int64) *ad.Node { return ad.Number(ad.Rat(p, q)) }

// ptSumSq returns Σ vᵢ².
func ptSumSq(vs []*ad.Node) *ad.Node {
	terms := make([]*ad.Node, len(vs))
	for i, v := range vs {
		terms[i] = ad.PowNum(v, ad.Int(2))
	}
	return ad.Add(terms...)
}

// ptQuadratic returns |x|²/2 over d coordinates.
func ptQuadratic(d int) (*ad.Node, []*ad.Node) {
	x := ptCoords("x", d)
	return ad.Mul(ptRat(1, 2), ptSumSq(x)), x
}

// ptDoubleWell returns V = x⁴/4 − x²/2.
func ptDoubleWell() (*ad.Node, []*ad.Node) {
	x := ad.Symbol("x", 0)
	return ad.Sub(ad.Mul(ptRat(1, 4), ad.PowNum(x, ad.Int(4))), ad.Mul(ptRat(1, 2), ad.PowNum(x, ad.Int(2)))), []*ad.Node{x}
}

// ptGaussKernel returns W(z) = exp(−|z|²/2).
func ptGaussKernel(d int) (*ad.Node, []*ad.Node) {
	z := ptCoords("z", d)
	return ad.Call("exp", ad.Mul(ptRat(-1, 2), ptSumSq(z))), z
}

// ptQuantileCloud returns n points at the quantiles (i − ½)/n of N(m, s²):
// an empirical measure very close to the Gaussian, for deterministic tests.
func ptQuantileCloud(t testing.TB, n int, m, s float64) *Particles {
	t.Helper()
	p, err := NewParticles(n, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	l := normal1D{}
	l.Mu, l.Sigma = m, s
	for i := range p.X[0] {
		p.X[0][i] = l.quantile((float64(i) + 0.5) / float64(n))
	}
	return p
}

func ptSample(t testing.TB, d Dist, n int, seed uint64) *Particles {
	t.Helper()
	p, err := SampleParticles(d, n, seed, 0)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func ptNormal(t testing.TB, mean, sd []float64) *Normal {
	t.Helper()
	n, err := NewNormal(mean, sd)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func ptRun(t testing.TB, p *ParticleProblem, x *Particles, m ParticleMethod, s *ParticleSettings) *ParticleResult {
	t.Helper()
	res, err := RunParticles(p, x, m, s)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func ptWithin(t testing.TB, what string, got, want, tol float64) {
	t.Helper()
	if !(math.Abs(got-want) <= tol) {
		t.Errorf("%s = %.8g, want %.8g ± %.3g (off by %.3g)", what, got, want, tol, got-want)
	}
}
