// Distributions for initial clouds and comparisons: normal, uniform, mix, points, and sampling into structure of arrays.
package solvers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Dist is a probability law on R^Dim that can be sampled. The laws are
// Normal, Uniform, Mix, Gibbs and Points; what else a law offers is told by
// the optional interfaces Moments, Densityer and Gaussian (and, in one
// dimension, quantiles for Wasserstein distances).
type Dist interface {
	// Dim is the dimension of the space.
	Dim() int
	// String describes the law as in scripts: normal(0, 1).
	String() string
	// sampleBlock fills points [lo, hi) of x (x[c][i]) with independent
	// draws, using only rng, in order.
	sampleBlock(x [][]float64, lo, hi int, rng *rand.Rand)
}

// Moments is implemented by laws whose mean and variance per coordinate are
// known (exactly, or by quadrature for Gibbs in 1-D).
type Moments interface {
	Dist
	MeanVar() (mean, variance []float64)
}

// Densityer is implemented by laws with a density.
type Densityer interface {
	Dist
	// Density returns the density at pt.
	Density(pt []float64) float64
}

// Gaussian is implemented by Gaussian laws.
type Gaussian interface {
	Dist
	// MeanCov returns the mean and the covariance.
	MeanCov() ([]float64, *mat.SymDense)
}

// Normal is the Gaussian law with independent coordinates: coordinate c has
// mean Mean[c] and standard deviation SD[c] > 0.
type Normal struct {
	Mean, SD []float64
}

// NewNormal returns the normal law with the given means and standard
// deviations; a single sd applies to every coordinate.
func NewNormal(mean, sd []float64) (*Normal, error) {
	if len(mean) == 0 || len(mean) > MaxDim {
		return nil, fmt.Errorf("normal: the mean must have 1 to %d coordinates, not %d", MaxDim, len(mean))
	}
	if len(sd) == 1 && len(mean) > 1 {
		s := make([]float64, len(mean))
		for i := range s {
			s[i] = sd[0]
		}
		sd = s
	}
	if len(sd) != len(mean) {
		return nil, fmt.Errorf("normal: %d means but %d standard deviations", len(mean), len(sd))
	}
	for i := range mean {
		if !isFiniteNum(mean[i]) {
			return nil, fmt.Errorf("normal: the mean must be finite, not %g", mean[i])
		}
		if !(sd[i] > 0) || math.IsInf(sd[i], 0) {
			return nil, fmt.Errorf("normal: the standard deviation must be positive and finite, not %g", sd[i])
		}
	}
	return &Normal{Mean: append([]float64(nil), mean...), SD: append([]float64(nil), sd...)}, nil
}

func isFiniteNum(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// Dim implements Dist.
func (n *Normal) Dim() int { return len(n.Mean) }

func (n *Normal) String() string { return "normal(" + vecString(n.Mean) + ", " + vecString(n.SD) + ")" }

func (n *Normal) sampleBlock(x [][]float64, lo, hi int, rng *rand.Rand) {
	for i := lo; i < hi; i++ {
		for c := range x {
			x[c][i] = n.Mean[c] + n.SD[c]*rng.NormFloat64()
		}
	}
}

// MeanVar implements Moments.
func (n *Normal) MeanVar() ([]float64, []float64) {
	v := make([]float64, len(n.SD))
	for i, s := range n.SD {
		v[i] = s * s
	}
	return append([]float64(nil), n.Mean...), v
}

// Density implements Densityer.
func (n *Normal) Density(pt []float64) float64 {
	p := 1.0
	for c, m := range n.Mean {
		p *= distuv.Normal{Mu: m, Sigma: n.SD[c]}.Prob(pt[c])
	}
	return p
}

// MeanCov implements Gaussian.
func (n *Normal) MeanCov() ([]float64, *mat.SymDense) {
	d := len(n.Mean)
	cov := mat.NewSymDense(d, nil)
	for i, s := range n.SD {
		cov.SetSym(i, i, s*s)
	}
	return append([]float64(nil), n.Mean...), cov
}

// Uniform is the uniform law on the box Π[Lo[c], Hi[c]].
type Uniform struct {
	Lo, Hi []float64
}

// NewUniform returns the uniform law on the box with corners lo and hi.
func NewUniform(lo, hi []float64) (*Uniform, error) {
	if len(lo) == 0 || len(lo) > MaxDim || len(lo) != len(hi) {
		return nil, fmt.Errorf("uniform: the corners must have the same number of coordinates (1 to %d), not %d and %d", MaxDim, len(lo), len(hi))
	}
	for i := range lo {
		if !isFiniteNum(lo[i]) || !isFiniteNum(hi[i]) || !(lo[i] < hi[i]) {
			return nil, fmt.Errorf("uniform(a, b) needs finite a < b, not a = %g, b = %g", lo[i], hi[i])
		}
	}
	return &Uniform{Lo: append([]float64(nil), lo...), Hi: append([]float64(nil), hi...)}, nil
}

// Dim implements Dist.
func (u *Uniform) Dim() int { return len(u.Lo) }

func (u *Uniform) String() string { return "uniform(" + vecString(u.Lo) + ", " + vecString(u.Hi) + ")" }

func (u *Uniform) sampleBlock(x [][]float64, lo, hi int, rng *rand.Rand) {
	for i := lo; i < hi; i++ {
		for c := range x {
			x[c][i] = u.Lo[c] + (u.Hi[c]-u.Lo[c])*rng.Float64()
		}
	}
}

// MeanVar implements Moments.
func (u *Uniform) MeanVar() ([]float64, []float64) {
	m, v := make([]float64, len(u.Lo)), make([]float64, len(u.Lo))
	for i := range u.Lo {
		w := u.Hi[i] - u.Lo[i]
		m[i] = u.Lo[i] + w/2
		v[i] = w * w / 12
	}
	return m, v
}

// Density implements Densityer.
func (u *Uniform) Density(pt []float64) float64 {
	p := 1.0
	for c := range u.Lo {
		if pt[c] < u.Lo[c] || pt[c] > u.Hi[c] {
			return 0
		}
		p /= u.Hi[c] - u.Lo[c]
	}
	return p
}

// Mix is the mixture Σ W[k]·Comps[k] (weights normalised to sum 1).
type Mix struct {
	W     []float64
	Comps []Dist
	cum   []float64 // cumulative weights
}

// NewMix returns the mixture of comps with weights w (positive; they are
// normalised).
func NewMix(w []float64, comps []Dist) (*Mix, error) {
	if len(w) == 0 || len(w) != len(comps) {
		return nil, fmt.Errorf("mix(w1, D1, w2, D2, ...) needs a weight for each law")
	}
	d := comps[0].Dim()
	total := 0.0
	for k, c := range comps {
		if c.Dim() != d {
			return nil, fmt.Errorf("mix: law %d (%s) has dimension %d, law 1 has %d", k+1, c, c.Dim(), d)
		}
		if !(w[k] > 0) || math.IsInf(w[k], 0) {
			return nil, fmt.Errorf("mix: weight %d must be positive and finite, not %g", k+1, w[k])
		}
		total += w[k]
	}
	m := &Mix{W: make([]float64, len(w)), Comps: append([]Dist(nil), comps...), cum: make([]float64, len(w))}
	acc := 0.0
	for k := range w {
		m.W[k] = w[k] / total
		acc += m.W[k]
		m.cum[k] = acc
	}
	m.cum[len(w)-1] = 1
	return m, nil
}

// Dim implements Dist.
func (m *Mix) Dim() int { return m.Comps[0].Dim() }

func (m *Mix) String() string {
	var b strings.Builder
	b.WriteString("mix(")
	for k, c := range m.Comps {
		if k > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%g, %s", m.W[k], c)
	}
	b.WriteString(")")
	return b.String()
}

// component draws the index of a component.
func (m *Mix) component(rng *rand.Rand) int {
	u := rng.Float64()
	for k, c := range m.cum {
		if u < c {
			return k
		}
	}
	return len(m.cum) - 1
}

// sampleBlock draws the components of all points first, then each
// component's points as one block of that component (so a Gibbs component
// runs one chain for them), placed in point order.
func (m *Mix) sampleBlock(x [][]float64, lo, hi int, rng *rand.Rand) {
	n := hi - lo
	which := make([]int, n)
	count := make([]int, len(m.Comps))
	for i := range which {
		which[i] = m.component(rng)
		count[which[i]]++
	}
	for k, comp := range m.Comps {
		if count[k] == 0 {
			continue
		}
		tmp := soaBlocks(len(x), count[k])
		comp.sampleBlock(tmp, 0, count[k], rng)
		j := 0
		for i, w := range which {
			if w != k {
				continue
			}
			for c := range x {
				x[c][lo+i] = tmp[c][j]
			}
			j++
		}
	}
}

// MeanVar implements Moments when every component does.
func (m *Mix) MeanVar() ([]float64, []float64) {
	d := m.Dim()
	mean, second := make([]float64, d), make([]float64, d)
	for k, comp := range m.Comps {
		mc, ok := comp.(Moments)
		if !ok {
			return nil, nil
		}
		cm, cv := mc.MeanVar()
		if cm == nil {
			return nil, nil
		}
		for c := range mean {
			mean[c] += m.W[k] * cm[c]
			second[c] += m.W[k] * (cv[c] + cm[c]*cm[c])
		}
	}
	for c := range second {
		second[c] -= mean[c] * mean[c]
	}
	return mean, second
}

// Density implements Densityer when every component does (0 otherwise).
func (m *Mix) Density(pt []float64) float64 {
	p := 0.0
	for k, comp := range m.Comps {
		dc, ok := comp.(Densityer)
		if !ok {
			return math.NaN()
		}
		p += m.W[k] * dc.Density(pt)
	}
	return p
}

// Points is the empirical law of given points (uniform weights).
type Points struct {
	P *Particles
}

// NewPoints returns the empirical law of the points pts[i] (each of the
// same length).
func NewPoints(pts [][]float64) (*Points, error) {
	if len(pts) == 0 {
		return nil, fmt.Errorf("points([...]) needs at least one point")
	}
	d := len(pts[0])
	p, err := NewParticles(len(pts), d, 0)
	if err != nil {
		return nil, err
	}
	for i, pt := range pts {
		if len(pt) != d {
			return nil, fmt.Errorf("points: point %d has %d coordinates, point 1 has %d", i+1, len(pt), d)
		}
		for c, v := range pt {
			if !isFiniteNum(v) {
				return nil, fmt.Errorf("points: point %d is not finite", i+1)
			}
			p.X[c][i] = v
		}
	}
	return &Points{P: p}, nil
}

// Dim implements Dist.
func (p *Points) Dim() int { return p.P.Dim }

func (p *Points) String() string { return fmt.Sprintf("points([%d points])", p.P.N) }

// sampleBlock draws points uniformly with replacement.
func (p *Points) sampleBlock(x [][]float64, lo, hi int, rng *rand.Rand) {
	for i := lo; i < hi; i++ {
		j := rng.IntN(p.P.N)
		for c := range x {
			x[c][i] = p.P.X[c][j]
		}
	}
}

// MeanVar implements Moments.
func (p *Points) MeanVar() ([]float64, []float64) { return cloudMoments(p.P) }

// cloudMoments returns the mean and population variance per coordinate.
func cloudMoments(p *Particles) ([]float64, []float64) {
	mean, v := make([]float64, p.Dim), make([]float64, p.Dim)
	for c, xc := range p.X {
		s := 0.0
		for _, x := range xc {
			s += x
		}
		mean[c] = s / float64(p.N)
		s = 0
		for _, x := range xc {
			s += (x - mean[c]) * (x - mean[c])
		}
		v[c] = s / float64(p.N)
	}
	return mean, v
}

func vecString(v []float64) string {
	if len(v) == 1 {
		return fmt.Sprintf("%g", v[0])
	}
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprintf("%g", x)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// SampleParticles draws n independent points of d as a cloud. Points are
// drawn in stream blocks (StreamBlock points, block b from the stream
// (seed, b)) in parallel, so the sample depends only on the seed. Points
// with n equal to the number of points gives the points themselves, in
// order (a run from points([...]) starts exactly there); otherwise points
// are drawn uniformly with replacement. The cloud is refused before
// allocating when it would need more than budget bytes (0:
// DefaultMemoryBudget).
func SampleParticles(d Dist, n int, seed uint64, budget int64) (*Particles, error) {
	p, err := NewParticles(n, d.Dim(), budget)
	if err != nil {
		return nil, err
	}
	if pts, ok := d.(*Points); ok && pts.P.N == n {
		for c := range p.X {
			copy(p.X[c], pts.P.X[c])
		}
		return p, nil
	}
	sampleInto(d, p, seed, streamSample)
	return p, nil
}

// sampleInto fills p with draws of d, block b from the stream (seed,
// purpose, b), blocks spread over GOMAXPROCS workers.
func sampleInto(d Dist, p *Particles, seed, purpose uint64) {
	pool := newWorkerPool(defaultWorkers())
	defer pool.close()
	pool.run(numBlocks(p.N), func(_, b int) {
		lo, hi := blockRange(b, p.N)
		d.sampleBlock(p.X, lo, hi, newStream(seed, purpose, uint64(b)))
	})
}
