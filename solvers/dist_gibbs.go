// The Gibbs law ∝ exp(−V): exact sampling in 1-D by a tabulated inverse CDF, a MALA chain in d ≥ 2.
package solvers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"flowlang/autodiff"
)

// Gibbs is the law with density exp(−V)/Z for a potential V compiled to a
// tape whose first output is V and whose next Dim outputs are ∇V (the
// gradient is needed in d ≥ 2 only).
//
// In one dimension it is sampled exactly up to the table's resolution, by
// the inverse of a tabulated distribution function:
//   - range: V is scanned on 4096 cells of [−1, 1]; the interval is widened
//     (doubled towards the side that needs it) while exp(−V) is not yet
//     negligible at its ends, and narrowed to the cells where it is not
//     when those are fewer than 64, until it brackets the cells where
//     V ≤ min V + 40 (exp(−40) ≈ 4·10⁻¹⁸ of the peak) with one cell of
//     margin; V must grow beyond that within |x| ≤ 10⁸;
//   - table: 65 536 cells on that range; exp(−(V − min V)) at the nodes is
//     interpolated linearly, so the distribution function is exact for that
//     piecewise-linear density and quadratic in each cell;
//   - sampling: u ~ U(0, 1), the cell by binary search, and the quadratic
//     solved within it.
//
// The mean, variance, partial moments (for W2) and Density come from the
// same piecewise-linear density; the error of the interpolation is
// O(Δx²·|V”|) relative, with Δx = range/65 536.
//
// In d ≥ 2 it is sampled by a Metropolis-adjusted Langevin chain (Roberts &
// Tweedie 1996) on exp(−V), one chain per stream block of points, started
// at the origin: 2 000 burn-in steps during which the step τ is adapted
// (log τ moves by (α − 0.574)/(k+1)^0.6, α the acceptance probability of
// step k; τ starts at 0.1) and then frozen, then one point kept every 10
// steps. Such a sample is approximate — correlated within a block, and
// slow to cross between well-separated modes.
type Gibbs struct {
	dim   int
	prog  *autodiff.Program
	name  string
	table *gibbsTable
	pool  sync.Pool // scalar machines for the chains
}

// Constants of the Gibbs sampler (see Gibbs).
const (
	gibbsScanCells  = 4096
	gibbsMinCells   = 64
	gibbsCut        = 40.0
	gibbsMaxRange   = 1e8
	gibbsTableCells = 1 << 16
	gibbsBurnIn     = 2000
	gibbsThin       = 10
	gibbsTarget     = 0.574
	gibbsStep0      = 0.1
)

// NewGibbs returns the Gibbs law of the potential computed by v (inputs:
// the Dim coordinates; outputs: V, then ∇V when Dim ≥ 2). name describes V
// in messages and String. In 1-D the table is built now, so errors about V
// (not finite, not growing) come from here.
func NewGibbs(v *autodiff.Program, name string) (*Gibbs, error) {
	d := len(v.Inputs)
	if d == 0 || d > MaxDim {
		return nil, fmt.Errorf("gibbs(%s): the potential must take 1 to %d coordinates, not %d", name, MaxDim, d)
	}
	if len(v.Outputs) < 1 {
		return nil, fmt.Errorf("gibbs(%s): the tape computes nothing", name)
	}
	g := &Gibbs{dim: d, prog: v, name: name}
	g.pool.New = func() any { return v.NewMachine() }
	if d == 1 {
		t, err := newGibbsTable(v.NewMachine(), name)
		if err != nil {
			return nil, err
		}
		g.table = t
		return g, nil
	}
	if len(v.Outputs) != d+1 {
		return nil, fmt.Errorf("gibbs(%s): in %d dimensions the tape must output V and its %d partial derivatives", name, d, d)
	}
	m := v.NewMachine()
	out := make([]float64, d+1)
	m.Eval(make([]float64, d), out)
	for _, x := range out {
		if !isFiniteNum(x) {
			return nil, fmt.Errorf("gibbs(%s): V or its gradient is not finite at the origin, where the chains start", name)
		}
	}
	return g, nil
}

// Dim implements Dist.
func (g *Gibbs) Dim() int { return g.dim }

func (g *Gibbs) String() string { return "gibbs(" + g.name + ")" }

// MeanVar implements Moments in one dimension (nil, nil otherwise).
func (g *Gibbs) MeanVar() ([]float64, []float64) {
	if g.table == nil {
		return nil, nil
	}
	return []float64{g.table.mean}, []float64{g.table.variance}
}

// Density implements Densityer in one dimension (NaN otherwise).
func (g *Gibbs) Density(pt []float64) float64 {
	if g.table == nil {
		return math.NaN()
	}
	return g.table.pdf(pt[0])
}

// Range returns the interval outside which the 1-D table puts no mass.
func (g *Gibbs) Range() (lo, hi float64) {
	if g.table == nil {
		return math.Inf(-1), math.Inf(1)
	}
	return g.table.x0, g.table.x0 + float64(len(g.table.cum)-1)*g.table.dx
}

func (g *Gibbs) sampleBlock(x [][]float64, lo, hi int, rng *rand.Rand) {
	if g.table != nil {
		for i := lo; i < hi; i++ {
			x[0][i] = g.table.quantile(rng.Float64())
		}
		return
	}
	g.chain(x, lo, hi, rng)
}

// chain fills points [lo, hi) with a MALA chain on exp(−V) (see Gibbs).
func (g *Gibbs) chain(x [][]float64, lo, hi int, rng *rand.Rand) {
	m := g.pool.Get().(*autodiff.Machine)
	defer g.pool.Put(m)
	d := g.dim
	cur, prop := make([]float64, d), make([]float64, d)
	out, pout := make([]float64, d+1), make([]float64, d+1)
	m.Eval(cur, out)
	tau := gibbsStep0
	step := func(adapt bool, k int) {
		s := math.Sqrt(2 * tau)
		for c := range prop {
			prop[c] = cur[c] - tau*out[1+c] + s*rng.NormFloat64()
		}
		m.Eval(prop, pout)
		// log α = V(x) − V(y) − |x − y + τ∇V(y)|²/(4τ) + |y − x + τ∇V(x)|²/(4τ)
		la := out[0] - pout[0]
		for c := range prop {
			back := cur[c] - prop[c] + tau*pout[1+c]
			fwd := prop[c] - cur[c] + tau*out[1+c]
			la += (fwd*fwd - back*back) / (4 * tau)
		}
		ok := isFiniteNum(pout[0])
		for c := range prop {
			ok = ok && isFiniteNum(pout[1+c])
		}
		if !ok || math.IsNaN(la) {
			la = math.Inf(-1)
		}
		if math.Log(rng.Float64()) < la {
			copy(cur, prop)
			copy(out, pout)
		}
		if adapt {
			alpha := math.Exp(math.Min(0, la))
			tau *= math.Exp((alpha - gibbsTarget) / math.Pow(float64(k+1), 0.6))
			tau = math.Min(math.Max(tau, 1e-12), 1e6)
		}
	}
	for k := 0; k < gibbsBurnIn; k++ {
		step(true, k)
	}
	for i := lo; i < hi; i++ {
		for k := 0; k < gibbsThin; k++ {
			step(false, 0)
		}
		for c := range cur {
			x[c][i] = cur[c]
		}
	}
}

// gibbsTable is the tabulated 1-D law: nodes x0 + k·dx, unnormalised
// density p[k] = exp(−(V − vmin)), its cumulative integral cum[k] (of the
// piecewise-linear interpolant) and total z.
type gibbsTable struct {
	x0, dx         float64
	p, cum         []float64
	m1, m2         []float64 // cumulative ∫ t p, ∫ t² p up to each node
	z, vmin        float64
	mean, variance float64
}

func newGibbsTable(m *autodiff.Machine, name string) (*gibbsTable, error) {
	in, out := make([]float64, 1), make([]float64, len(m.Program().Outputs))
	V := func(x float64) float64 {
		in[0] = x
		m.Eval(in, out)
		if math.IsNaN(out[0]) {
			return math.Inf(1) // outside V's domain: no mass
		}
		return out[0]
	}
	lo, hi := -1.0, 1.0
	const K = gibbsScanCells
	vals := make([]float64, K+1)
	found := false
	for it := 0; it < 200; it++ {
		dx := (hi - lo) / K
		vmin := math.Inf(1)
		for k := range vals {
			vals[k] = V(lo + float64(k)*dx)
			if math.IsInf(vals[k], -1) {
				return nil, fmt.Errorf("gibbs(%s): V is −∞ at x = %g, so exp(−V) is not integrable", name, lo+float64(k)*dx)
			}
			vmin = math.Min(vmin, vals[k])
		}
		grow := func(left, right bool) bool {
			w := hi - lo
			if left {
				lo -= w
			}
			if right {
				hi += w
			}
			return lo >= -gibbsMaxRange && hi <= gibbsMaxRange
		}
		if math.IsInf(vmin, 1) {
			if !grow(true, true) {
				return nil, fmt.Errorf("gibbs(%s): V is not finite anywhere in [−1e8, 1e8]", name)
			}
			continue
		}
		ia, ib := -1, -1
		for k, v := range vals {
			if v <= vmin+gibbsCut {
				if ia < 0 {
					ia = k
				}
				ib = k
			}
		}
		if ia == 0 || ib == K {
			if !grow(ia == 0, ib == K) {
				return nil, fmt.Errorf("gibbs(%s): exp(−V) is not negligible at |x| = 1e8: V must grow to +∞ as |x| → ∞", name)
			}
			continue
		}
		a, b := lo+float64(ia-1)*dx, lo+float64(ib+1)*dx
		if ib-ia+2 < gibbsMinCells && (b-a) > 1e-9*math.Max(1, math.Abs(a+b)) {
			lo, hi = a, b // zoom in on a narrow well
			continue
		}
		lo, hi = a, b
		found = true
		break
	}
	if !found {
		return nil, fmt.Errorf("gibbs(%s): cannot find where exp(−V) lives", name)
	}
	const M = gibbsTableCells
	t := &gibbsTable{x0: lo, dx: (hi - lo) / M, p: make([]float64, M+1), cum: make([]float64, M+1),
		m1: make([]float64, M+1), m2: make([]float64, M+1)}
	vs := make([]float64, M+1)
	t.vmin = math.Inf(1)
	for k := range vs {
		vs[k] = V(t.node(k))
		t.vmin = math.Min(t.vmin, vs[k])
	}
	for k, v := range vs {
		t.p[k] = math.Exp(-(v - t.vmin))
	}
	for k := 0; k < M; k++ {
		a, b, c := cellMoments(t.node(k), t.dx, t.p[k], t.p[k+1], 1)
		t.cum[k+1] = t.cum[k] + a
		t.m1[k+1] = t.m1[k] + b
		t.m2[k+1] = t.m2[k] + c
	}
	t.z = t.cum[M]
	if !(t.z > 0) || math.IsInf(t.z, 0) {
		return nil, fmt.Errorf("gibbs(%s): exp(−V) has no finite positive mass", name)
	}
	t.mean = t.m1[M] / t.z
	// the variance about the mean, from cell moments in shifted coordinates
	v := 0.0
	for k := 0; k < M; k++ {
		_, _, c := cellMoments(t.node(k)-t.mean, t.dx, t.p[k], t.p[k+1], 1)
		v += c
	}
	t.variance = v / t.z
	return t, nil
}

func (t *gibbsTable) node(k int) float64 { return t.x0 + float64(k)*t.dx }

// cellMoments returns ∫ tᵏ p(t) dt, k = 0, 1, 2, over [x0, x0 + s·dx] for
// the linear p with p(x0) = p0, p(x0 + dx) = p1 (t = x0 + σ·dx):
//
//	m0 = dx(p0 s + Δs²/2),
//	m1 = dx(x0p0 s + (x0Δ + dx p0)s²/2 + dxΔ s³/3),
//	m2 = dx(x0²p0 s + (x0²Δ + 2x0 dx p0)s²/2 + (2x0 dxΔ + dx²p0)s³/3 + dx²Δ s⁴/4),
//
// with Δ = p1 − p0.
func cellMoments(x0, dx, p0, p1, s float64) (m0, m1, m2 float64) {
	D := p1 - p0
	s2, s3 := s*s, s*s*s
	m0 = dx * (p0*s + D*s2/2)
	m1 = dx * (x0*p0*s + (x0*D+dx*p0)*s2/2 + dx*D*s3/3)
	m2 = dx * (x0*x0*p0*s + (x0*x0*D+2*x0*dx*p0)*s2/2 + (2*x0*dx*D+dx*dx*p0)*s3/3 + dx*dx*D*s2*s2/4)
	return
}

// locate returns the cell k and the fraction s ∈ [0, 1] in it where the
// cumulative mass reaches c (0 ≤ c ≤ z), solving the cell's quadratic
// dx(p0 s + Δs²/2) = c − cum[k] in its stable form.
func (t *gibbsTable) locate(c float64) (int, float64) {
	M := len(t.cum) - 1
	lo, hi := 0, M
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if t.cum[mid] <= c {
			lo = mid
		} else {
			hi = mid
		}
	}
	k := lo
	r := (c - t.cum[k]) / t.dx
	p0, a := t.p[k], (t.p[k+1]-t.p[k])/2
	den := p0 + math.Sqrt(math.Max(0, p0*p0+4*a*r))
	s := 0.5
	if den > 0 {
		s = 2 * r / den
	}
	return k, math.Min(1, math.Max(0, s))
}

func (t *gibbsTable) quantile(u float64) float64 {
	k, s := t.locate(u * t.z)
	return t.node(k) + s*t.dx
}

func (t *gibbsTable) cdf(x float64) float64 {
	m0, _, _ := t.partial(x)
	return m0
}

// pdf evaluates exp(−(V − vmin))/z at x with the table's normaliser.
func (t *gibbsTable) pdf(x float64) float64 {
	lo, hi := t.x0, t.node(len(t.p)-1)
	if x < lo || x > hi {
		return 0
	}
	k := min(int((x-lo)/t.dx), len(t.p)-2)
	s := (x - t.node(k)) / t.dx
	return (t.p[k] + s*(t.p[k+1]-t.p[k])) / t.z
}

func (t *gibbsTable) partial(x float64) (float64, float64, float64) {
	M := len(t.p) - 1
	if x <= t.x0 {
		return 0, 0, 0
	}
	if x >= t.node(M) {
		return 1, t.m1[M] / t.z, t.m2[M] / t.z
	}
	k := min(int((x-t.x0)/t.dx), M-1)
	s := (x - t.node(k)) / t.dx
	a, b, c := cellMoments(t.node(k), t.dx, t.p[k], t.p[k+1], s)
	return (t.cum[k] + a) / t.z, (t.m1[k] + b) / t.z, (t.m2[k] + c) / t.z
}
