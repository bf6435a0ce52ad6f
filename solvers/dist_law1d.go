// One-dimensional laws through their CDF, quantile function and partial moments (for W2 by quantiles).
package solvers

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// law1D is a continuous law on R known through its distribution function.
// partial(x) returns the partial moments ∫_{−∞}^x tᵏ g(t) dt for k = 0, 1,
// 2, which give ∫ G⁻¹(u)ᵏ du over any interval of u in closed form.
type law1D interface {
	cdf(x float64) float64
	pdf(x float64) float64
	quantile(u float64) float64
	partial(x float64) (m0, m1, m2 float64)
}

// asLaw1D returns d as a one-dimensional continuous law, if it is one.
func asLaw1D(d Dist) (law1D, bool) {
	if d.Dim() != 1 {
		return nil, false
	}
	switch d := d.(type) {
	case *Normal:
		return normal1D{distuv.Normal{Mu: d.Mean[0], Sigma: d.SD[0]}}, true
	case *Uniform:
		return uniform1D{d.Lo[0], d.Hi[0]}, true
	case *Gibbs:
		return d.table, d.table != nil
	case *Mix:
		comps := make([]law1D, len(d.Comps))
		for k, c := range d.Comps {
			l, ok := asLaw1D(c)
			if !ok {
				return nil, false
			}
			comps[k] = l
		}
		return mix1D{w: d.W, c: comps}, true
	}
	return nil, false
}

type normal1D struct{ distuv.Normal }

func (n normal1D) cdf(x float64) float64      { return n.CDF(x) }
func (n normal1D) pdf(x float64) float64      { return n.Prob(x) }
func (n normal1D) quantile(u float64) float64 { return n.Quantile(u) }

// partial: with x = μ + σz, ∫ g = Φ(z), ∫ t g = μΦ(z) − σφ(z),
// ∫ t² g = (μ² + σ²)Φ(z) − σ(2μ + σz)φ(z).
func (n normal1D) partial(x float64) (float64, float64, float64) {
	mu, s := n.Mu, n.Sigma
	if math.IsInf(x, -1) {
		return 0, 0, 0
	}
	if math.IsInf(x, 1) {
		return 1, mu, mu*mu + s*s
	}
	z := (x - mu) / s
	Phi := 0.5 * math.Erfc(-z/math.Sqrt2)
	phi := math.Exp(-z*z/2) / math.Sqrt(2*math.Pi)
	return Phi, mu*Phi - s*phi, (mu*mu+s*s)*Phi - s*(2*mu+s*z)*phi
}

type uniform1D struct{ a, b float64 }

func (u uniform1D) cdf(x float64) float64 {
	return math.Min(1, math.Max(0, (x-u.a)/(u.b-u.a)))
}

func (u uniform1D) pdf(x float64) float64 {
	if x < u.a || x > u.b {
		return 0
	}
	return 1 / (u.b - u.a)
}

func (u uniform1D) quantile(p float64) float64 { return u.a + p*(u.b-u.a) }

func (u uniform1D) partial(x float64) (float64, float64, float64) {
	x = math.Min(u.b, math.Max(u.a, x))
	w := u.b - u.a
	return (x - u.a) / w, (x*x - u.a*u.a) / (2 * w), (x*x*x - u.a*u.a*u.a) / (3 * w)
}

type mix1D struct {
	w []float64
	c []law1D
}

func (m mix1D) cdf(x float64) float64 {
	s := 0.0
	for k, c := range m.c {
		s += m.w[k] * c.cdf(x)
	}
	return s
}

func (m mix1D) pdf(x float64) float64 {
	s := 0.0
	for k, c := range m.c {
		s += m.w[k] * c.pdf(x)
	}
	return s
}

func (m mix1D) partial(x float64) (float64, float64, float64) {
	var s0, s1, s2 float64
	for k, c := range m.c {
		a, b, d := c.partial(x)
		s0 += m.w[k] * a
		s1 += m.w[k] * b
		s2 += m.w[k] * d
	}
	return s0, s1, s2
}

// quantile solves F(x) = u by Newton's method safeguarded by bisection in
// the bracket [min_k Q_k(u), max_k Q_k(u)], which holds the root because F
// is a weighted mean of the components' distribution functions.
func (m mix1D) quantile(u float64) float64 {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, c := range m.c {
		q := c.quantile(u)
		lo, hi = math.Min(lo, q), math.Max(hi, q)
	}
	if lo == hi || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return lo
	}
	x := (lo + hi) / 2
	for it := 0; it < 100; it++ {
		f := m.cdf(x) - u
		if f > 0 {
			hi = x
		} else {
			lo = x
		}
		p := m.pdf(x)
		next := x - f/p
		if !(p > 0) || !(next > lo && next < hi) {
			next = (lo + hi) / 2
		}
		if math.Abs(next-x) <= 1e-15*math.Max(1, math.Abs(x)) || hi-lo <= 1e-15*math.Max(1, math.Abs(x)) {
			return next
		}
		x = next
	}
	return x
}
