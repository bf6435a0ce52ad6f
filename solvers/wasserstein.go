// Wasserstein distances W2: Gaussian closed form, 1-D quantile functions, and the dispatcher W2.
package solvers

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/integrate/quad"
	"gonum.org/v1/gonum/mat"
)

// W2Result is a Wasserstein distance W₂ and how it was obtained.
type W2Result struct {
	// W2 is the distance (not squared).
	W2 float64
	// Method is "gaussian" (closed form), "quantile" (1-D quantile
	// functions), "assignment" (exact optimal assignment) or "sinkhorn".
	Method string
	// Eps is Sinkhorn's ε (NaN for the other methods); Sinkhorn is always
	// debiased here.
	Eps      float64
	Debiased bool
	// N and M are the numbers of points of the two sides as used (0 for a
	// law taken as a whole). Sampled reports that a continuous law was
	// replaced by a sample of it, Subsampled that a cloud was thinned to
	// W2Options.MaxSinkhorn points.
	N, M       int
	Sampled    bool
	Subsampled bool
}

// String describes the result: "0.0123 (exact assignment, 1000 points)".
func (r W2Result) String() string {
	how := ""
	switch r.Method {
	case "gaussian":
		how = "closed form for Gaussians"
	case "quantile":
		how = "exact, by quantile functions"
	case "assignment":
		how = fmt.Sprintf("exact assignment, %d points", r.N)
		if r.N != r.M {
			how = fmt.Sprintf("exact assignment, %d and %d points", r.N, r.M)
		}
	case "sinkhorn":
		how = fmt.Sprintf("debiased Sinkhorn, ε = %.3g, %d and %d points", r.Eps, r.N, r.M)
	}
	if r.Sampled {
		how += ", a law replaced by a sample"
	}
	if r.Subsampled {
		how += ", subsampled"
	}
	return fmt.Sprintf("%.6g (%s)", r.W2, how)
}

// W2Options control W2. The zero value means the documented defaults.
type W2Options struct {
	// Seed seeds the samples drawn from continuous laws in d ≥ 2 and the
	// subsamples of large clouds.
	Seed uint64
	// SampleSize is the size of the sample drawn from a continuous law in
	// d ≥ 2 when the other side is a law too (default 2000); against a
	// cloud of N points the law's sample has N points (at most MaxSinkhorn).
	SampleSize int
	// MaxAssignment is the largest exact assignment (default 2000 points).
	MaxAssignment int
	// MaxSinkhorn is the most points per side Sinkhorn uses; larger clouds
	// are subsampled without replacement (default 3000).
	MaxSinkhorn int
	// Eps is Sinkhorn's ε (default (SinkhornBlur·s)², s² the total variance
	// of both clouds).
	Eps float64
	// Budget bounds the memory of the assignment's cost matrix (0:
	// DefaultMemoryBudget).
	Budget int64
}

// Defaults of W2Options.
const (
	DefaultW2Sample      = 2000
	DefaultMaxAssignment = 2000
	DefaultMaxSinkhorn   = 3000
)

// W2 returns the Wasserstein distance W₂ between a and b, each a law or a
// cloud (*Points; wrap a *Particles with &Points{P: cloud}):
//   - two Gaussians (normal, any dimension): the closed form (W2Gaussian);
//   - in 1-D: exactly through the quantile functions, for samples
//     (W2Samples1D), a sample and a law (W2SampleLaw1D) or two laws
//     (W2Laws1D);
//   - in d ≥ 2 otherwise: a law is replaced by a sample of it, then two
//     samples of equal size n ≤ MaxAssignment (or whose sizes have a least
//     common multiple ≤ MaxAssignment, by repeating points) go to the exact
//     assignment, and larger ones to debiased Sinkhorn (ε in the result).
func W2(a, b Dist, o *W2Options) (W2Result, error) {
	if o == nil {
		o = &W2Options{}
	}
	res := W2Result{Eps: math.NaN()}
	if a.Dim() != b.Dim() {
		return res, fmt.Errorf("w2: the first law has dimension %d, the second %d", a.Dim(), b.Dim())
	}
	ga, okA := a.(Gaussian)
	gb, okB := b.(Gaussian)
	if okA && okB {
		m1, c1 := ga.MeanCov()
		m2, c2 := gb.MeanCov()
		w, err := W2Gaussian(m1, c1, m2, c2)
		res.W2, res.Method = w, "gaussian"
		return res, err
	}
	pa, sampleA := a.(*Points)
	pb, sampleB := b.(*Points)
	if a.Dim() == 1 {
		res.Method = "quantile"
		switch {
		case sampleA && sampleB:
			res.N, res.M = pa.P.N, pb.P.N
			res.W2 = W2Samples1D(pa.P.X[0], pb.P.X[0])
			return res, nil
		case sampleA || sampleB:
			x, law := pa, b
			if !sampleA {
				x, law = pb, a
			}
			l, ok := asLaw1D(law)
			if !ok {
				return res, fmt.Errorf("w2: no quantile function for %s", law)
			}
			res.N = x.P.N
			w, err := w2SampleLaw(x.P.X[0], l)
			res.W2 = w
			return res, err
		}
		la, ok1 := asLaw1D(a)
		lb, ok2 := asLaw1D(b)
		if !ok1 || !ok2 {
			return res, fmt.Errorf("w2: no quantile functions for %s and %s", a, b)
		}
		res.W2 = w2Laws(la, lb)
		return res, nil
	}
	maxA := o.MaxAssignment
	if maxA <= 0 {
		maxA = DefaultMaxAssignment
	}
	maxS := o.MaxSinkhorn
	if maxS <= 0 {
		maxS = DefaultMaxSinkhorn
	}
	// replace laws by samples
	size := func(other *Points, isSample bool) int {
		if isSample {
			if other.P.N > maxA {
				return min(other.P.N, maxS)
			}
			return other.P.N
		}
		if o.SampleSize > 0 {
			return o.SampleSize
		}
		return DefaultW2Sample
	}
	var A, B *Particles
	var err error
	if sampleA {
		A = pa.P
	} else {
		if A, err = SampleParticles(a, size(pb, sampleB), o.Seed^splitmix64(streamW2<<56|1), o.Budget); err != nil {
			return res, err
		}
		res.Sampled = true
	}
	if sampleB {
		B = pb.P
	} else {
		if B, err = SampleParticles(b, size(pa, sampleA), o.Seed^splitmix64(streamW2<<56|2), o.Budget); err != nil {
			return res, err
		}
		res.Sampled = true
	}
	res.N, res.M = A.N, B.N
	if A.N == B.N && A.N <= maxA {
		res.Method = "assignment"
		res.W2, err = W2Assignment(A, B, o.Budget)
		return res, err
	}
	if l := lcm(A.N, B.N); l > 0 && l <= maxA {
		res.Method = "assignment"
		res.W2, err = W2Assignment(repeatCloud(A, l/A.N), repeatCloud(B, l/B.N), o.Budget)
		return res, err
	}
	if A.N > maxS {
		A, res.Subsampled = subsample(A, maxS, o.Seed^splitmix64(streamW2<<56|3)), true
	}
	if B.N > maxS {
		B, res.Subsampled = subsample(B, maxS, o.Seed^splitmix64(streamW2<<56|4)), true
	}
	res.N, res.M = A.N, B.N
	sr, err := W2Sinkhorn(A, B, o.Eps)
	res.Method, res.W2, res.Eps, res.Debiased = "sinkhorn", sr.W2, sr.Eps, true
	return res, err
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// lcm returns the least common multiple of a and b, or −1 beyond 2³¹.
func lcm(a, b int) int {
	l := int64(a) / int64(gcd(a, b)) * int64(b)
	if l > math.MaxInt32 {
		return -1
	}
	return int(l)
}

// repeatCloud returns p with each point repeated k times.
func repeatCloud(p *Particles, k int) *Particles {
	if k == 1 {
		return p
	}
	q := &Particles{N: p.N * k, Dim: p.Dim, X: make([][]float64, p.Dim)}
	for c, xc := range p.X {
		q.X[c] = make([]float64, 0, q.N)
		for _, x := range xc {
			for range k {
				q.X[c] = append(q.X[c], x)
			}
		}
	}
	return q
}

// subsample returns m points of p drawn without replacement (a partial
// Fisher–Yates shuffle with the stream (seed, streamW2, 0)).
func subsample(p *Particles, m int, seed uint64) *Particles {
	rng := newStream(seed, streamW2, 0)
	idx := make([]int32, p.N)
	for i := range idx {
		idx[i] = int32(i)
	}
	for i := 0; i < m; i++ {
		j := i + rng.IntN(p.N-i)
		idx[i], idx[j] = idx[j], idx[i]
	}
	q := &Particles{N: m, Dim: p.Dim, X: make([][]float64, p.Dim)}
	for c, xc := range p.X {
		q.X[c] = make([]float64, m)
		for i, j := range idx[:m] {
			q.X[c][i] = xc[j]
		}
	}
	return q
}

// W2Gaussian returns W₂ between N(m₁, Σ₁) and N(m₂, Σ₂) (Dowson & Landau
// 1982; Givens & Shortt 1984):
//
//	W₂² = |m₁ − m₂|² + tr(Σ₁ + Σ₂ − 2(Σ₂^{1/2} Σ₁ Σ₂^{1/2})^{1/2}),
//
// with the square roots of the symmetric positive semidefinite matrices
// taken through their eigendecompositions (gonum/mat EigenSym; eigenvalues
// below 0 from rounding count as 0).
func W2Gaussian(m1 []float64, s1 *mat.SymDense, m2 []float64, s2 *mat.SymDense) (float64, error) {
	d := len(m1)
	if len(m2) != d || s1.SymmetricDim() != d || s2.SymmetricDim() != d {
		return 0, fmt.Errorf("w2: the Gaussians have different dimensions")
	}
	dm := 0.0
	for i := range m1 {
		dm += (m1[i] - m2[i]) * (m1[i] - m2[i])
	}
	r, err := sqrtSym(s2)
	if err != nil {
		return 0, err
	}
	var t mat.Dense
	t.Mul(r, s1)
	t.Mul(&t, r)
	m := mat.NewSymDense(d, nil)
	for i := 0; i < d; i++ {
		for j := i; j < d; j++ {
			m.SetSym(i, j, (t.At(i, j)+t.At(j, i))/2)
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(m, false) {
		return 0, fmt.Errorf("w2: the eigendecomposition failed")
	}
	cross := 0.0
	for _, l := range eig.Values(nil) {
		cross += math.Sqrt(math.Max(0, l))
	}
	w2 := dm + mat.Trace(s1) + mat.Trace(s2) - 2*cross
	return math.Sqrt(math.Max(0, w2)), nil
}

// sqrtSym returns the symmetric square root Q diag(√λ) Qᵀ of s.
func sqrtSym(s *mat.SymDense) (*mat.SymDense, error) {
	var eig mat.EigenSym
	if !eig.Factorize(s, true) {
		return nil, fmt.Errorf("w2: the eigendecomposition failed")
	}
	vals := eig.Values(nil)
	var q mat.Dense
	eig.VectorsTo(&q)
	d := len(vals)
	r := mat.NewSymDense(d, nil)
	for i := 0; i < d; i++ {
		for j := i; j < d; j++ {
			v := 0.0
			for k, l := range vals {
				v += q.At(i, k) * math.Sqrt(math.Max(0, l)) * q.At(j, k)
			}
			r.SetSym(i, j, v)
		}
	}
	return r, nil
}

// W2Samples1D returns W₂ between two 1-D samples with uniform weights, of
// any sizes n and m, exactly: W₂² = ∫₀¹ |F⁻¹(u) − G⁻¹(u)|² du where the
// quantile functions are the step functions of the sorted samples, summed
// over the merged breakpoints i/n and j/m (compared as integers i·m, j·n).
func W2Samples1D(a, b []float64) float64 {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	n, m := int64(len(x)), int64(len(y))
	var i, j, at int64 // at: the current u in units of 1/(n·m)
	s := 0.0
	for i < n && j < m {
		ea, eb := (i+1)*m, (j+1)*n
		next := min(ea, eb)
		z := x[i] - y[j]
		s += float64(next-at) * z * z
		at = next
		if ea == next {
			i++
		}
		if eb == next {
			j++
		}
	}
	return math.Sqrt(s / float64(n*m))
}

// W2SampleLaw1D returns W₂ between a 1-D sample (uniform weights) and a
// one-dimensional law d (normal, uniform, mix of those, 1-D gibbs):
//
//	W₂² = Σᵢ ∫_{(i−1)/n}^{i/n} |x₍ᵢ₎ − G⁻¹(u)|² du
//	    = Σᵢ [x₍ᵢ₎² ΔM₀ − 2x₍ᵢ₎ ΔM₁ + ΔM₂],
//
// with x₍ᵢ₎ sorted and ΔMₖ the law's partial moments ∫tᵏ dG between its
// quantiles G⁻¹((i−1)/n) and G⁻¹(i/n) — closed forms for normal and
// uniform laws (and their mixtures), the tabulated density for gibbs.
func W2SampleLaw1D(x []float64, d Dist) (float64, error) {
	l, ok := asLaw1D(d)
	if !ok {
		return 0, fmt.Errorf("w2: %s is not a one-dimensional law with a quantile function", d)
	}
	return w2SampleLaw(x, l)
}

func w2SampleLaw(x []float64, l law1D) (float64, error) {
	xs := slices.Clone(x)
	slices.Sort(xs)
	n := len(xs)
	if n == 0 {
		return 0, fmt.Errorf("w2: the sample is empty")
	}
	var p0, p1, p2 float64 // partial moments at the previous quantile (−∞)
	s := 0.0
	for i, xi := range xs {
		var q0, q1, q2 float64
		if i == n-1 {
			q0, q1, q2 = l.partial(math.Inf(1))
		} else {
			q0, q1, q2 = l.partial(l.quantile(float64(i+1) / float64(n)))
		}
		d0, d1, d2 := q0-p0, q1-p1, q2-p2
		s += xi*xi*d0 - 2*xi*d1 + d2
		p0, p1, p2 = q0, q1, q2
	}
	return math.Sqrt(math.Max(0, s)), nil
}

// Quadrature of W2Laws1D: u = 1/(1 + e^(−s)) over s ∈ [−w2LogitRange,
// w2LogitRange] (u from 2·10⁻¹⁶ to 1 − 2·10⁻¹⁶, where 1 − u is still
// distinct from 0 in floating point) in w2Panels panels of w2Nodes
// Gauss–Legendre nodes. The tails left out hold a mass 2·10⁻¹⁶ each.
const (
	w2LogitRange = 36
	w2Panels     = 160
	w2Nodes      = 16
)

// W2Laws1D returns W₂ between two one-dimensional laws,
// W₂² = ∫₀¹ |F⁻¹(u) − G⁻¹(u)|² du, computed in logit coordinates
// u = 1/(1 + e^(−s)), du = u(1 − u) ds, which spread the quantile
// functions' tails, by composite Gauss–Legendre quadrature (gonum
// integrate/quad) over s ∈ [−36, 36] in 160 panels of 16 nodes; two normal
// laws give the closed form |μ₁ − μ₂|² + (σ₁ − σ₂)².
func W2Laws1D(a, b Dist) (float64, error) {
	if na, ok := a.(*Normal); ok && na.Dim() == 1 {
		if nb, ok := b.(*Normal); ok && nb.Dim() == 1 {
			dm, ds := na.Mean[0]-nb.Mean[0], na.SD[0]-nb.SD[0]
			return math.Sqrt(dm*dm + ds*ds), nil
		}
	}
	la, ok1 := asLaw1D(a)
	lb, ok2 := asLaw1D(b)
	if !ok1 || !ok2 {
		return 0, fmt.Errorf("w2: %s and %s must be one-dimensional laws", a, b)
	}
	return w2Laws(la, lb), nil
}

func w2Laws(a, b law1D) float64 {
	f := func(s float64) float64 {
		u := 1 / (1 + math.Exp(-s))
		z := a.quantile(u) - b.quantile(u)
		v := z * z * u / (1 + math.Exp(s)) // u(1 − u), with 1 − u = 1/(1 + e^s) exactly
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0 // a quantile at the very end of an unbounded law
		}
		return v
	}
	width := 2.0 * w2LogitRange / w2Panels
	total := 0.0
	for k := 0; k < w2Panels; k++ {
		lo := -w2LogitRange + float64(k)*width
		total += quad.Fixed(f, lo, lo+width, w2Nodes, quad.Legendre{}, 0)
	}
	return math.Sqrt(math.Max(0, total))
}
