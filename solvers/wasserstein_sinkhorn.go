// Debiased log-domain Sinkhorn with ε-scaling for W2 between large samples.
package solvers

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sync/atomic"
)

// SinkhornResult is the outcome of W2Sinkhorn.
type SinkhornResult struct {
	// W2 is √max(0, S_ε), S_ε the debiased Sinkhorn divergence.
	W2 float64
	// Eps is the entropic regularisation ε used (in squared distance units).
	Eps float64
	// Iterations counts the Sinkhorn sweeps (annealing included).
	Iterations int
	// Converged reports whether the potentials settled to Tol·ε.
	Converged bool
}

// Sinkhorn parameters (see W2Sinkhorn).
const (
	// SinkhornBlur is the default blur √ε relative to the cloud's spread s
	// (s² the total variance of both samples together): ε = (0.05·s)².
	SinkhornBlur = 0.05
	// sinkhornScaling divides ε at each annealing sweep.
	sinkhornScaling = 0.5
	// sinkhornTol stops the final sweeps when the potentials move on
	// average by less than sinkhornTol·ε (marginals right to about 10⁻³ in
	// total variation: a change δ of g(yⱼ) means the marginal at yⱼ is off
	// by a factor e^(δ/ε)).
	sinkhornTol = 1e-3
	// sinkhornMaxIter bounds the sweeps at the final ε.
	sinkhornMaxIter = 100
	// sinkhornOmega over-relaxes the sweeps at the final ε (Thibault,
	// Chizat, Dossal, Papadakis 2021, "Overrelaxed Sinkhorn–Knopp algorithm
	// for regularized optimal transport"): f ← f + ω(T(g) − f). Locally
	// convergent for 0 < ω < 2; it makes the small-ε regime, where plain
	// sweeps crawl, several times faster.
	sinkhornOmega = 1.9
	// sinkhornSteady also stops the final sweeps when S_ε changes by less
	// than sinkhornSteady·(|S_ε| + ε) in three sweeps running: in the
	// near-assignment regime the potentials drift along directions that do
	// not change S_ε long after S_ε has settled.
	sinkhornSteady = 1e-6
	// sinkhornCoarse is the size of the subsamples the annealing sweeps
	// run on while the blur √ε exceeds sinkhornCoarseBlur times their
	// spacing s·n^(−1/d) (see W2Sinkhorn): at such ε the potentials are
	// smooth on the scale of the spacing and the subsample's determine
	// them, for a tenth of the cost when n = 3000.
	sinkhornCoarse     = 1000
	sinkhornCoarseBlur = 4
)

// W2Sinkhorn estimates W₂ between two samples with uniform weights by the
// debiased Sinkhorn divergence (Feydy, Séjourné, Vialard, Amari, Trouvé,
// Peyré 2019, "Interpolating between optimal transport and MMD using
// Sinkhorn divergences", AISTATS):
//
//	S_ε(α, β) = OT_ε(α, β) − ½OT_ε(α, α) − ½OT_ε(β, β),
//	OT_ε(α, β) = max_{f,g} ⟨α, f⟩ + ⟨β, g⟩ − ε⟨α⊗β, exp((f ⊕ g − C)/ε) − 1⟩,
//
// C(x, y) = |x − y|², which tends to W₂² as ε → 0 with an O(ε²) bias for
// smooth laws (Chizat, Roussillon, Léger, Vialard, Peyré 2020) instead of
// the O(ε log 1/ε) of OT_ε itself. The dual potentials are found by
// log-domain Sinkhorn sweeps
//
//	f(xᵢ) ← −ε log Σⱼ βⱼ exp((g(yⱼ) − C(xᵢ, yⱼ))/ε)   (and symmetrically),
//
// alternated (the symmetric problems' updates averaged with the previous
// value, as in Feydy et al.), with ε-scaling: ε starts at the squared
// diameter of the two clouds and is halved at each sweep down to the target
// (eps, or (SinkhornBlur·s)² when eps is 0), then sweeps continue at the
// target — over-relaxed (sinkhornOmega) — until the potentials of OT(α, β)
// move on average by less than 10⁻³·ε, i.e. until the marginals are right
// to about 10⁻³ in total variation, or S_ε settles to 10⁻⁶ relative (at
// most 100 sweeps; Converged says whether either happened). A symmetric
// problem stops on its own once its potential moves by less than a tenth
// of S_ε's tolerance. OT_ε is evaluated as ⟨α, f⟩ + ⟨β, g⟩ at the fixed
// point.
//
// The sums cost O(n·m) terms a sweep, made cheap in four ways (the first,
// second and fourth change what is computed only by rounding and by terms
// below 2⁻⁵³ of a sum; the third changes where the final sweeps start, so
// where within the stopping rules they stop):
//   - each sum is taken in one pass, stabilised by the current potential
//     instead of the largest exponent, with a table-driven exponential,
//     leaving out the terms below e⁻⁴⁵ (softmin);
//   - the points are sorted along a k-d tree, so that at small ε the terms
//     that matter come in runs;
//   - while √ε exceeds 4 spacings of a subsample of 1000 points (in d = 2
//     ε ≥ 0.016·s²), the annealing runs between such subsamples, and
//     the potentials are then extended to all points by one c-transform;
//   - at the target ε the terms that can matter (≥ e⁻⁷⁵) are stored once
//     with the potentials absorbed (kernel), and a sweep is a sparse
//     product, rebuilt when the potentials have moved too far.
//
// The rows are spread over the cores; the result does not depend on their
// number.
func W2Sinkhorn(a, b *Particles, eps float64) (SinkhornResult, error) {
	if a.Dim != b.Dim {
		return SinkhornResult{}, fmt.Errorf("w2: the samples have dimensions %d and %d", a.Dim, b.Dim)
	}
	if eps < 0 || math.IsNaN(eps) || math.IsInf(eps, 0) {
		return SinkhornResult{}, fmt.Errorf("w2: ε must be positive, not %g", eps)
	}
	mean, s2, diam2, err := cloudSpread(a, b)
	if err != nil {
		return SinkhornResult{}, err
	}
	if eps == 0 {
		eps = SinkhornBlur * SinkhornBlur * s2
	}
	if diam2 == 0 || s2 == 0 {
		return SinkhornResult{W2: 0, Eps: eps, Converged: true}, nil
	}
	if eps == 0 {
		eps = 1e-12 * diam2
	}
	sk := newSinkhorn(centred(a, mean), centred(b, mean))
	defer sk.pool.close()
	res := SinkhornResult{Eps: eps}
	res.Iterations = sk.anneal(math.Max(diam2, eps), eps, s2)
	var S float64
	var sweeps int
	S, sweeps, res.Converged = sk.converge(eps)
	res.Iterations += sweeps
	res.W2 = math.Sqrt(math.Max(0, S))
	return res, nil
}

// cloudSpread returns the mean of both clouds together, their total
// variance s², and the squared diameter of their bounding box.
func cloudSpread(a, b *Particles) (mean []float64, s2, diam2 float64, err error) {
	d := a.Dim
	mean = make([]float64, d)
	N := float64(a.N + b.N)
	for c := 0; c < d; c++ {
		lo, hi := math.Inf(1), math.Inf(-1)
		sum, sq := 0.0, 0.0
		for _, xs := range [][]float64{a.X[c], b.X[c]} {
			for _, x := range xs {
				if !isFiniteNum(x) {
					return nil, 0, 0, fmt.Errorf("w2: a sample point is not finite")
				}
				lo, hi = math.Min(lo, x), math.Max(hi, x)
				sum += x
			}
		}
		mean[c] = sum / N
		for _, xs := range [][]float64{a.X[c], b.X[c]} {
			for _, x := range xs {
				sq += (x - mean[c]) * (x - mean[c])
			}
		}
		s2 += sq / N
		diam2 += (hi - lo) * (hi - lo)
	}
	return mean, s2, diam2, nil
}

// anneal runs one sweep at each ε from `from` down to `to`, halving —
// between subsamples while ε is coarse enough (sinkhornCoarse) — and
// returns the number of sweeps.
func (s *sinkhorn) anneal(from, to, s2 float64) int {
	e, sweeps := from, 0
	nc, d := sinkhornCoarse, len(s.ca)
	coarseEps := sinkhornCoarseBlur * sinkhornCoarseBlur * s2 * math.Pow(float64(nc), -2/float64(d))
	if (s.na > 2*nc || s.nb > 2*nc) && coarseEps > to && e > coarseEps {
		co := newSinkhorn(pick(s.ca, nc), pick(s.cb, nc))
		co.sweep(e)
		sweeps++
		for e > coarseEps {
			e = math.Max(coarseEps, e*sinkhornScaling)
			co.sweep(e)
			sweeps++
		}
		co.pool.close()
		s.setEps(e)
		s.extend(co)
	} else {
		s.sweep(e)
		sweeps++
	}
	for e > to {
		e = math.Max(to, e*sinkhornScaling)
		s.sweep(e)
		sweeps++
	}
	return sweeps
}

// converge runs the sweeps at the target ε, over-relaxed, storing the
// kernels, until the stopping rules of W2Sinkhorn hold (converged) or
// sinkhornMaxIter sweeps; it returns S_ε and the number of sweeps.
func (s *sinkhorn) converge(eps float64) (S float64, sweeps int, converged bool) {
	// back to plain sweeps should the potentials start to run away
	// (change ten times more than at first)
	s.omega = sinkhornOmega
	s.useKernels()
	first, steady := math.NaN(), 0
	S = s.divergence()
	for sweeps < sinkhornMaxIter {
		moved, aa, bb := s.sweep(eps)
		sweeps++
		if math.IsNaN(first) {
			first = moved
		}
		if !(moved <= 10*first) {
			s.omega = 1
		}
		S1 := s.divergence()
		tolS := sinkhornSteady * (math.Abs(S1) + eps)
		if math.Abs(S1-S) <= tolS {
			steady++
		} else {
			steady = 0
		}
		S = S1
		// a symmetric problem stops once its potential moves by less than
		// a tenth of S's tolerance: its averaged sweeps contract by about
		// ½, so what it had left to move changes S by less than that
		symTol := math.Min(sinkhornTol*eps, 0.1*tolS)
		s.done[pAA] = s.done[pAA] || aa <= symTol
		s.done[pBB] = s.done[pBB] || bb <= symTol
		if (moved <= sinkhornTol*eps && s.done[pAA] && s.done[pBB]) || steady >= 3 {
			return S, sweeps, true
		}
	}
	return S, sweeps, false
}

// divergence returns S_ε at the current potentials:
// ⟨α, f_ab − f_aa⟩ + ⟨β, g_ba − g_bb⟩.
func (s *sinkhorn) divergence() float64 {
	return meanOf(s.pot[pAB]) - meanOf(s.pot[pAA]) + meanOf(s.pot[pBA]) - meanOf(s.pot[pBB])
}

func meanOf(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// The four potentials of the debiased problem: f_ab on a and g_ba on b
// (for OT(α, β)), f_aa on a and g_bb on b (the symmetric problems).
const (
	pAB = iota
	pBA
	pAA
	pBB
)

// sinkhorn holds the potentials, with the clouds centred on their joint
// mean and divided by √ε, so that the exponents of the sums are
// (f + g)/ε − |x̂ − ŷ|².
type sinkhorn struct {
	na, nb int
	ca, cb [][]float64 // the centred clouds
	xa, xb [][]float64 // the centred clouds / √ε
	pot    [4][]float64
	next   [4][]float64 // the next values
	scaled [4][]float64 // pot / ε at the start of the half-sweep
	kern   [4]*kernel   // nil until the sweeps at the final ε
	done   [4]bool      // the symmetric problems that have stopped
	moved  [4][]float64 // Σ|change| of each potential, per tile
	stale  [4][]int     // per tile: the rows whose stored sum was refused
	pool   *workerPool
	bufs   [][]float64
	eps    float64 // the ε of xa, xb
	omega  float64 // over-relaxation of the f_ab, g_ba updates
	onA    bool    // the half-sweep updates f_ab, f_aa (else g_ba, g_bb)
	build  []*kernel
	job    func(w, t int)
	bjob   func(w, t int)
	accept float64 // the least sum computed in one pass that is kept
	// fallbacks counts the sums taken by the exact two-pass method (tests)
	fallbacks atomic.Int64
}

// newSinkhorn starts the problem between the clouds ca, cb (coordinates
// then points), centred and in kdOrder.
func newSinkhorn(ca, cb [][]float64) *sinkhorn {
	s := &sinkhorn{ca: ca, cb: cb, na: len(ca[0]), nb: len(cb[0])}
	for p := range s.pot {
		n := s.rows(p)
		s.pot[p], s.next[p], s.scaled[p] = make([]float64, n), make([]float64, n), make([]float64, n)
		s.moved[p], s.stale[p] = make([]float64, numTiles(n)), make([]int, numTiles(n))
	}
	s.xa, s.xb = make([][]float64, len(ca)), make([][]float64, len(cb))
	for c := range ca {
		s.xa[c], s.xb[c] = make([]float64, s.na), make([]float64, s.nb)
	}
	s.pool = newWorkerPool(defaultWorkers())
	s.bufs = make([][]float64, s.pool.n)
	for w := range s.bufs {
		s.bufs[w] = make([]float64, max(s.na, s.nb))
	}
	s.job, s.bjob = s.tile, s.buildTile
	s.omega = 1
	// a one-pass sum s is kept when the terms below e^sinkhornExpMin it
	// leaves out, at most max(n, m) of them, weigh less than 2⁻⁵³·s
	s.accept = float64(max(s.na, s.nb)) * math.Exp(sinkhornExpMin) * 0x1p53
	return s
}

// centred returns p's points minus mean, in kdOrder.
func centred(p *Particles, mean []float64) [][]float64 {
	order := kdOrder(p)
	c := make([][]float64, p.Dim)
	for k := range c {
		c[k] = make([]float64, p.N)
		for i, o := range order {
			c[k][i] = p.X[k][o] - mean[k]
		}
	}
	return c
}

// pick returns n points of the cloud c spread evenly over its kdOrder
// (all of c if it has no more than n).
func pick(c [][]float64, n int) [][]float64 {
	N := len(c[0])
	if N <= n {
		return c
	}
	p := make([][]float64, len(c))
	for k, xs := range c {
		p[k] = make([]float64, n)
		for i := range n {
			p[k][i] = xs[i*N/n]
		}
	}
	return p
}

// extend sets the potentials from those of co, the problem between
// subsamples (pick) of the clouds at the same ε: each is the c-transform
// of co's potential its sums run over, Σ over co's points — the
// potentials' natural extension off the subsample's points.
func (s *sinkhorn) extend(co *sinkhorn) {
	job := func(w, t int) {
		for p := range s.pot {
			x, _, q := s.coords(p)
			_, y, _ := co.coords(p)
			h := co.scaled[q]
			lo, hi := tileRange(t, s.rows(p))
			n, nc := s.rows(p), co.rows(p)
			for i := lo; i < hi; i++ {
				guess := co.scaled[p][i*nc/n]
				s.pot[p][i] = s.eps * s.softmin(x, i, guess, y, h, s.bufs[w])
			}
		}
	}
	for p := range co.pot {
		scaled(co.scaled[p], co.pot[p], co.eps)
	}
	co.setEps(s.eps)
	s.pool.run(numTiles(max(s.na, s.nb)), job)
}

// rows returns the number of points potential p lives on; coords the
// scaled clouds of its points and of the sums' points, and the potential
// the sums run over.
func (s *sinkhorn) rows(p int) int {
	if p == pAB || p == pAA {
		return s.na
	}
	return s.nb
}

func (s *sinkhorn) coords(p int) (x, y [][]float64, sums int) {
	switch p {
	case pAB:
		return s.xa, s.xb, pBA
	case pBA:
		return s.xb, s.xa, pAB
	case pAA:
		return s.xa, s.xa, pAA
	}
	return s.xb, s.xb, pBB
}

// useKernels makes the sweeps store the truncated kernels (at the final
// ε, where the same sums recur), each holding at most kernelMaxFill of its
// pairs and all four together at most a quarter of the memory budget.
func (s *sinkhorn) useKernels() {
	n, m := float64(s.na), float64(s.nb)
	fill := math.Min(kernelMaxFill, float64(DefaultMemoryBudget())/4/kernelEntryBytes/((n+m)*(n+m)))
	for p := range s.kern {
		x, y, _ := s.coords(p)
		s.kern[p] = newKernel(x, y, int(fill*float64(len(y[0]))))
	}
}

// setEps rescales the clouds for ε.
func (s *sinkhorn) setEps(eps float64) {
	if eps == s.eps {
		return
	}
	s.eps = eps
	k := 1 / math.Sqrt(eps)
	for _, p := range [][2][][]float64{{s.ca, s.xa}, {s.cb, s.xb}} {
		for c, xs := range p[0] {
			for i, v := range xs {
				p[1][c][i] = v * k
			}
		}
	}
}

// sweep updates the potentials at ε: first on a, f_ab ← T(g_ba) and
// f_aa ← ½(f_aa + T(f_aa)); then on b, g_ba ← T(f_ab) with the new f_ab
// (Gauss–Seidel) and g_bb ← ½(g_bb + T(g_bb)). The symmetric problems are
// averaged, which keeps them from oscillating (Feydy et al. 2019), and are
// left alone once done. It returns the mean absolute change of f_ab and
// g_ba together, and those of f_aa and of g_bb: for g_ba that is ε times
// the mean |log| of the ratio of a marginal to its target, so stopping
// when it is below sinkhornTol·ε means marginals right to about
// sinkhornTol in total variation.
func (s *sinkhorn) sweep(eps float64) (cross, aa, bb float64) {
	s.setEps(eps)
	s.half(true)
	s.half(false)
	sum := func(p int) float64 {
		t := 0.0
		for _, v := range s.moved[p] {
			t += v
		}
		return t
	}
	return (sum(pAB) + sum(pBA)) / float64(s.na+s.nb), sum(pAA) / float64(s.na), sum(pBB) / float64(s.nb)
}

// half updates the potentials on a (or on b), rebuilding first the
// kernels that need it.
func (s *sinkhorn) half(onA bool) {
	s.onA = onA
	ps := [2]int{pBA, pBB}
	if onA {
		ps = [2]int{pAB, pAA}
	}
	s.build = s.build[:0]
	for _, p := range ps {
		_, _, q := s.coords(p)
		scaled(s.scaled[p], s.pot[p], s.eps)
		if q != p {
			scaled(s.scaled[q], s.pot[q], s.eps)
		}
	}
	for _, p := range ps {
		_, _, q := s.coords(p)
		if k := s.kern[p]; k != nil && !s.done[p] && k.prepare(s.scaled[q]) {
			k.setOrigin(s.scaled[p], s.scaled[q])
			s.build = append(s.build, k)
		}
	}
	tiles := numTiles(s.rows(ps[0]))
	if len(s.build) > 0 {
		s.pool.run(tiles, s.bjob)
		for _, k := range s.build {
			k.finish()
		}
	}
	s.pool.run(tiles, s.job)
	for _, p := range ps {
		if s.done[p] {
			continue
		}
		s.pot[p], s.next[p] = s.next[p], s.pot[p]
		if k := s.kern[p]; k != nil {
			stale := 0
			for _, c := range s.stale[p] {
				stale += c
			}
			k.stale = stale > int(kernelMaxDirty*float64(s.rows(p)))
		}
	}
}

// scaled sets dst = v/ε.
func scaled(dst, v []float64, eps float64) {
	for i, x := range v {
		dst[i] = x / eps
	}
}

// buildTile builds tile t of the kernels in s.build.
func (s *sinkhorn) buildTile(w, t int) {
	for _, k := range s.build {
		k.buildTile(t, s.bufs[w])
	}
}

// tile updates the potentials at the points of tile t of a (or of b),
// writing the new values beside the old.
func (s *sinkhorn) tile(w, t int) {
	ps := [2]int{pBA, pBB}
	if s.onA {
		ps = [2]int{pAB, pAA}
	}
	for _, p := range ps {
		if s.done[p] {
			s.moved[p][t] = 0
			continue
		}
		x, y, q := s.coords(p)
		f, next, fs, hs := s.pot[p], s.next[p], s.scaled[p], s.scaled[q]
		k := s.kern[p]
		stored := k != nil && k.built && !k.off
		lo, hi := tileRange(t, len(f))
		moved, stale := 0.0, 0
		for i := lo; i < hi; i++ {
			v, ok := 0.0, false
			if stored {
				sum := k.rowSum(t, i-lo)
				over := false
				if len(k.dirty) > 0 {
					var more float64
					more, over = sumExpAt(x, i, k.f0[i], y, hs, k.dirty)
					sum += more
				}
				if !over && sum >= s.accept {
					v, ok = k.f0[i]-math.Log(sum/float64(len(hs))), true
				} else {
					stale++
				}
			}
			if !ok {
				v = s.softmin(x, i, fs[i], y, hs, s.bufs[w])
			}
			v *= s.eps
			if p == pAA || p == pBB {
				v = 0.5 * (f[i] + v)
			} else if s.omega != 1 {
				v = f[i] + s.omega*(v-f[i])
			}
			moved += math.Abs(v - f[i])
			next[i] = v
		}
		s.moved[p][t], s.stale[p][t] = moved, stale
	}
}

// softmin returns −log Σⱼ (1/m) exp(hⱼ − |x̂ᵢ − ŷⱼ|²), the c-transform of
// the potential εh at xᵢ divided by ε, given a guess fᵢ of it (the current
// potential / ε). Near the fixed point the terms exp(fᵢ + hⱼ − |x̂ᵢ − ŷⱼ|²)
// sum to about m, so fᵢ stabilises the sum without the pass that finds the
// largest exponent: the sum is taken in one pass, with expSinkhorn and
// without the terms below e^sinkhornExpMin, and kept when no exponent
// exceeded sinkhornExpMax and the sum is at least s.accept (the terms left
// out then weigh less than 2⁻⁵³ of it). Otherwise — far from the fixed
// point, or when fᵢ is off — the exponents are stored, and the sum is
// taken again relative to the largest of them, which cannot overflow and
// keeps at least the term 1.
func (s *sinkhorn) softmin(x [][]float64, i int, fi float64, y [][]float64, h []float64, buf []float64) float64 {
	m := len(h)
	t := buf[:m]
	var sum float64
	over := false
	if len(x) == 2 {
		sum, over = sumExp2(x[0][i], x[1][i], fi, y[0], y[1], h)
	} else {
		exponents(t, x, i, fi, y, h)
		sum, over = sumExp(t)
	}
	if !over && sum >= s.accept {
		return fi - math.Log(sum/float64(m))
	}
	s.fallbacks.Add(1)
	if len(x) == 2 {
		exponents(t, x, i, fi, y, h)
	}
	mx := math.Inf(-1)
	for _, v := range t {
		mx = math.Max(mx, v)
	}
	sum = 0
	for _, v := range t {
		if v -= mx; v >= sinkhornExpMin {
			sum += expSinkhorn(v)
		}
	}
	return fi - mx - math.Log(sum/float64(m))
}

// sumExpAt returns Σ exp(fi + h[j] − |x̂ᵢ − ŷⱼ|²) over j in cols, and
// whether an exponent exceeded sinkhornExpMax (as sumExp).
func sumExpAt(x [][]float64, i int, fi float64, y [][]float64, h []float64, cols []int32) (sum float64, over bool) {
	for _, j := range cols {
		v := fi + h[j]
		for c := range x {
			z := x[c][i] - y[c][j]
			v -= z * z
		}
		if v >= sinkhornExpMin {
			over = over || v > sinkhornExpMax
			sum += expSinkhorn(v)
		}
	}
	return sum, over
}

// exponents sets t[j] = fi + h[j] − |x̂ᵢ − ŷⱼ|².
func exponents(t []float64, x [][]float64, i int, fi float64, y [][]float64, h []float64) {
	for j, hj := range h {
		t[j] = fi + hj
	}
	for c := range x {
		xi, yc := x[c][i], y[c][:len(t)]
		for j := range t {
			z := xi - yc[j]
			t[j] -= z * z
		}
	}
}

// sumExp returns Σ exp(tⱼ) over the tⱼ ≥ sinkhornExpMin, and whether some
// tⱼ exceeded sinkhornExpMax (the sum is then meaningless).
func sumExp(t []float64) (sum float64, over bool) {
	for _, v := range t {
		if v >= sinkhornExpMin {
			over = over || v > sinkhornExpMax
			sum += expSinkhorn(v)
		}
	}
	return sum, over
}

// sumExp2 is exponents and sumExp in one pass, in two dimensions.
func sumExp2(x0, x1, fi float64, y0, y1, h []float64) (sum float64, over bool) {
	y0, y1 = y0[:len(h)], y1[:len(h)]
	for j, hj := range h {
		z0, z1 := x0-y0[j], x1-y1[j]
		if v := fi + hj - z0*z0 - z1*z1; v >= sinkhornExpMin {
			over = over || v > sinkhornExpMax
			sum += expSinkhorn(v)
		}
	}
	return sum, over
}

// kdOrder returns the indices of p's points in the order of the leaves of
// a k-d tree (each node split at the median of its widest coordinate,
// ties broken by index), so that points close in the order are close in
// space. In that order the terms of a Sinkhorn sum that matter at small ε
// come in runs, which the branch that skips the others predicts well.
func kdOrder(p *Particles) []int32 {
	idx := make([]int32, p.N)
	for i := range idx {
		idx[i] = int32(i)
	}
	var split func(ix []int32)
	split = func(ix []int32) {
		if len(ix) <= 16 {
			return
		}
		best, wide := 0, -1.0
		for c, xc := range p.X {
			lo, hi := math.Inf(1), math.Inf(-1)
			for _, i := range ix {
				lo, hi = math.Min(lo, xc[i]), math.Max(hi, xc[i])
			}
			if hi-lo > wide {
				best, wide = c, hi-lo
			}
		}
		xc := p.X[best]
		slices.SortFunc(ix, func(i, j int32) int {
			if c := cmp.Compare(xc[i], xc[j]); c != 0 {
				return c
			}
			return cmp.Compare(i, j)
		})
		split(ix[:len(ix)/2])
		split(ix[len(ix)/2:])
	}
	split(idx)
	return idx
}
