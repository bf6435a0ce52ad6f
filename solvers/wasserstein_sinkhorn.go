// Debiased log-domain Sinkhorn with ε-scaling for W2 between large samples.
package solvers

import (
	"fmt"
	"math"
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
	// sinkhornMaxIter bounds the sweeps at the final ε (each costs O(n·m) exponentials).
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
// target — over-relaxed (sinkhornOmega) — until the potentials move on
// average by less than 10⁻³·ε, i.e. until the marginals are right to about
// 10⁻³ in total variation, or S_ε settles to 10⁻⁶ relative (at most 100
// sweeps; Converged says whether either happened). Each sweep costs O(n·m) exponentials,
// spread over the cores. OT_ε is evaluated as ⟨α, f⟩ + ⟨β, g⟩ at the fixed point.
func W2Sinkhorn(a, b *Particles, eps float64) (SinkhornResult, error) {
	if a.Dim != b.Dim {
		return SinkhornResult{}, fmt.Errorf("w2: the samples have dimensions %d and %d", a.Dim, b.Dim)
	}
	if eps < 0 || math.IsNaN(eps) || math.IsInf(eps, 0) {
		return SinkhornResult{}, fmt.Errorf("w2: ε must be positive, not %g", eps)
	}
	// the spread and diameter of both clouds together
	d := a.Dim
	lo, hi := make([]float64, d), make([]float64, d)
	s2 := 0.0
	for c := 0; c < d; c++ {
		lo[c], hi[c] = math.Inf(1), math.Inf(-1)
		sum, sq := 0.0, 0.0
		for _, xs := range [][]float64{a.X[c], b.X[c]} {
			for _, x := range xs {
				if !isFiniteNum(x) {
					return SinkhornResult{}, fmt.Errorf("w2: a sample point is not finite")
				}
				lo[c], hi[c] = math.Min(lo[c], x), math.Max(hi[c], x)
				sum += x
			}
		}
		N := float64(a.N + b.N)
		mean := sum / N
		for _, xs := range [][]float64{a.X[c], b.X[c]} {
			for _, x := range xs {
				sq += (x - mean) * (x - mean)
			}
		}
		s2 += sq / N
	}
	diam2 := 0.0
	for c := range lo {
		diam2 += (hi[c] - lo[c]) * (hi[c] - lo[c])
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
	sk := newSinkhorn(a, b)
	defer sk.pool.close()
	res := SinkhornResult{Eps: eps}
	e := math.Max(diam2, eps)
	sk.sweep(e)
	res.Iterations++
	for e > eps {
		e = math.Max(eps, e*sinkhornScaling)
		sk.sweep(e)
		res.Iterations++
	}
	// over-relaxed sweeps at the target; back to plain sweeps should the
	// potentials start to run away (change ten times more than at first)
	sk.omega = sinkhornOmega
	first, steady := math.NaN(), 0
	S := sk.divergence()
	for it := 0; it < sinkhornMaxIter; it++ {
		moved := sk.sweep(eps)
		res.Iterations++
		if math.IsNaN(first) {
			first = moved
		}
		if !(moved <= 10*first) {
			sk.omega = 1
		}
		S1 := sk.divergence()
		if math.Abs(S1-S) <= sinkhornSteady*(math.Abs(S1)+eps) {
			steady++
		} else {
			steady = 0
		}
		S = S1
		if moved <= sinkhornTol*eps || steady >= 3 {
			res.Converged = true
			break
		}
	}
	res.W2 = math.Sqrt(math.Max(0, S))
	return res, nil
}

// divergence returns S_ε at the current potentials:
// ⟨α, f_ab − f_aa⟩ + ⟨β, g_ba − g_bb⟩.
func (s *sinkhorn) divergence() float64 {
	return meanOf(s.fab) - meanOf(s.faa) + meanOf(s.gba) - meanOf(s.gbb)
}

func meanOf(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// sinkhorn holds the four potentials of the debiased problem: f_ab on a
// and g_ba on b (for OT(α, β)), f_aa on a and g_bb on b (the symmetric
// problems).
type sinkhorn struct {
	a, b                 *Particles
	fab, gba, faa, gbb   []float64
	nfab, ngba, nfaa, ng []float64
	pool                 *workerPool
	bufs                 [][]float64
	moved                []float64 // per tile
	eps                  float64
	omega                float64 // over-relaxation of the f_ab, g_ba updates
	onA                  bool
	job                  func(w, t int)
	tilesA, tilesB       int
}

func newSinkhorn(a, b *Particles) *sinkhorn {
	s := &sinkhorn{a: a, b: b,
		fab: make([]float64, a.N), faa: make([]float64, a.N), nfab: make([]float64, a.N), nfaa: make([]float64, a.N),
		gba: make([]float64, b.N), gbb: make([]float64, b.N), ngba: make([]float64, b.N), ng: make([]float64, b.N),
	}
	s.pool = newWorkerPool(defaultWorkers())
	s.bufs = make([][]float64, s.pool.n)
	for w := range s.bufs {
		s.bufs[w] = make([]float64, max(a.N, b.N))
	}
	s.tilesA, s.tilesB = numTiles(a.N), numTiles(b.N)
	s.moved = make([]float64, s.tilesA+s.tilesB)
	s.job = s.tile
	s.omega = 1
	return s
}

// sweep updates the potentials at ε: first on a, f_ab ← T(g_ba) and
// f_aa ← ½(f_aa + T(f_aa)); then on b, g_ba ← T(f_ab) with the new f_ab
// (Gauss–Seidel) and g_bb ← ½(g_bb + T(g_bb)). The symmetric problems are
// averaged, which keeps them from oscillating (Feydy et al. 2019). It
// returns the mean absolute change of the potentials: for g_ba that is ε
// times the mean |log| of the ratio of a marginal to its target, so
// stopping when it is below sinkhornTol·ε means marginals right to about
// sinkhornTol in total variation.
func (s *sinkhorn) sweep(eps float64) float64 {
	s.eps = eps
	s.onA = true
	s.pool.run(s.tilesA, s.job)
	s.fab, s.nfab = s.nfab, s.fab
	s.faa, s.nfaa = s.nfaa, s.faa
	s.onA = false
	s.pool.run(s.tilesB, s.job)
	s.gba, s.ngba = s.ngba, s.gba
	s.gbb, s.ng = s.ng, s.gbb
	m := 0.0
	for _, v := range s.moved {
		m += v
	}
	return m / float64(2*(s.a.N+s.b.N))
}

// tile updates the potentials at the points of tile t of a (or of b),
// writing the new values beside the old.
func (s *sinkhorn) tile(w, t int) {
	buf := s.bufs[w]
	moved := 0.0
	update := func(x *Particles, i int, y *Particles, g []float64, old, dst []float64, avg bool) {
		v := softmin(x, i, y, g, s.eps, buf)
		if avg {
			v = 0.5 * (old[i] + v)
		} else if s.omega != 1 {
			v = old[i] + s.omega*(v-old[i])
		}
		moved += math.Abs(v - old[i])
		dst[i] = v
	}
	if s.onA {
		lo, hi := tileRange(t, s.a.N)
		for i := lo; i < hi; i++ {
			update(s.a, i, s.b, s.gba, s.fab, s.nfab, false)
			update(s.a, i, s.a, s.faa, s.faa, s.nfaa, true)
		}
		s.moved[t] = moved
		return
	}
	lo, hi := tileRange(t, s.b.N)
	for j := lo; j < hi; j++ {
		update(s.b, j, s.a, s.fab, s.gba, s.ngba, false)
		update(s.b, j, s.b, s.gbb, s.gbb, s.ng, true)
	}
	s.moved[s.tilesA+t] = moved
}

// softmin returns −ε log Σⱼ (1/m) exp((g(yⱼ) − |xᵢ − yⱼ|²)/ε), stabilised
// by the largest exponent.
func softmin(x *Particles, i int, y *Particles, g []float64, eps float64, buf []float64) float64 {
	m := y.N
	t := buf[:m]
	copy(t, g)
	for c := 0; c < x.Dim; c++ {
		xi, yc := x.X[c][i], y.X[c]
		for j := range t {
			z := xi - yc[j]
			t[j] -= z * z
		}
	}
	mx := math.Inf(-1)
	for _, v := range t {
		mx = math.Max(mx, v)
	}
	inv := 1 / eps
	sum := 0.0
	for _, v := range t {
		sum += math.Exp((v - mx) * inv)
	}
	return -(mx + eps*math.Log(sum/float64(m)))
}
