// The blob method (deterministic particles for diffusion) and Stein variational gradient descent.
package solvers

import (
	"math"

	"flowlang/autodiff"
)

// Blob is the blob method of Carrillo, Craig & Patacchini (2019, "A blob
// method for diffusion", Calc. Var. PDE 58:53). The entropy D∫ρ log ρ is
// replaced by the regularised D∫log(φ_ε∗μ) dμ with the Gaussian mollifier
// φ_ε(z) = (2πε²)^(−d/2) exp(−|z|²/(2ε²)) (standard deviation ε), which is
// finite on empirical measures; its gradient flow moves the particles
// deterministically:
//
//	dxᵢ/dt = −∇V(xᵢ) − (1/N)Σⱼ∇W(xᵢ − xⱼ) + (D/ε²) Σⱼ (xᵢ − xⱼ) eᵢⱼ (1/Sᵢ + 1/Sⱼ),
//	eᵢⱼ = exp(−|xᵢ − xⱼ|²/(2ε²)),   Sᵢ = Σⱼ eᵢⱼ,
//
// the last term being −D∇ₓ δ/δμ[∫log(φ_ε∗μ)dμ] at xᵢ (with
// φ_ε∗μ(xᵢ) = (2πε²)^(−d/2)Sᵢ/N, the constants cancel), stepped by explicit
// Euler with step H (default 0.01). Eps is ε; 0 takes Scott's bandwidth of
// the initial cloud, σ̄·N^(−1/(d+4)) with σ̄² the mean of the coordinates'
// variances. For a Gaussian of variance s² the variance grows at the rate
// 2(s²/(s²+ε²) + s²ε²/(s²+ε²)²) = 2 − O(ε⁴/s⁴) instead of the heat
// equation's 2. Cost O(N²) per step.
type Blob struct {
	H, Eps float64

	eps        float64
	S          []float64
	jobS, jobV func(w, b int)
}

// SVGD is Stein variational gradient descent (Liu & Wang 2016, "Stein
// variational gradient descent: a general purpose Bayesian inference
// algorithm", NeurIPS) for F = ∫V dρ + ½∬W dρdρ + D∫ρ log ρ, which without
// W is D·KL(ρ‖π) + const with π ∝ exp(−V/D):
//
//	xᵢ ← xᵢ + h φ(xᵢ),   φ(x) = (1/N)Σⱼ [k(xⱼ, x) b(xⱼ) + D ∇_{xⱼ}k(xⱼ, x)],
//	b(x) = −∇V(x) − (1/N)Σₗ∇W(x − xₗ)   (= D∇log π(x) without W),
//	k(x, y) = exp(−|x − y|²/H_k),
//
// φ being the steepest direction of F in the unit ball of the kernel's
// RKHS. The bandwidth H_k is Bandwidth, or by default the median
// heuristic H_k = med²/log N (Liu & Wang 2016, §5), med² the median of the
// squared pairwise distances — over all pairs up to 300 particles, beyond that
// over the pairs of 300 particles spread evenly through the cloud —
// recomputed every step. H is the step (default 0.01). With N = 1 SVGD is
// gradient descent on V; with two particles on π = N(0, 1) and the median
// heuristic they settle at ±√(log 2). Cost O(N²) per step.
type SVGD struct {
	H, Bandwidth float64

	bw                    float64
	vel                   [][]float64
	pairs                 []float64
	sample                []int
	jobB, jobPhi, jobMove func(w, b int)
}

var (
	_ ParticleMethod = (*Blob)(nil)
	_ ParticleMethod = (*SVGD)(nil)
)

// Name implements ParticleMethod.
func (*Blob) Name() string { return "blob" }

// StepSize implements ParticleMethod.
func (m *Blob) StepSize() float64 { return stepOr(m.H) }

// Check implements ParticleMethod: the blob method handles every term.
func (m *Blob) Check(p *ParticleProblem) error { return nil }

func (*Blob) buffers(p *ParticleProblem, n int) int64 {
	return int64(n) * int64(p.Dim+1) * 8
}

func (m *Blob) init(r *particleRun) error {
	if m.Eps < 0 || math.IsNaN(m.Eps) || math.IsInf(m.Eps, 0) {
		return &ParamError{Method: "blob", Param: "eps", Value: m.Eps, Want: "a positive number"}
	}
	m.eps = m.Eps
	if m.eps == 0 {
		m.eps = scottBandwidth(r)
	}
	m.S = make([]float64, r.n)
	r.drift = soaBlocks(r.d, r.n)
	r.jobStep = r.eulerBlock
	m.jobS = func(wi, b int) { m.sums(r, wi, b) }
	m.jobV = func(wi, b int) { m.velocity(r, wi, b) }
	return nil
}

// scottBandwidth returns σ̄·N^(−1/(d+4)) of the current cloud (1 if the
// cloud is a single point).
func scottBandwidth(r *particleRun) float64 {
	mean, v := make([]float64, r.d), make([]float64, r.d)
	r.moments(mean, v)
	s := 0.0
	for _, x := range v {
		s += x
	}
	sd := math.Sqrt(s / float64(r.d))
	if !(sd > 0) || math.IsInf(sd, 0) {
		return 1
	}
	return sd * math.Pow(float64(r.n), -1/float64(r.d+4))
}

func (m *Blob) step(r *particleRun) error {
	if r.p.Interaction != nil {
		r.interaction()
	}
	if r.p.Diffusion != 0 {
		r.pool.run(numTiles(r.n), m.jobS)
		r.pool.run(numTiles(r.n), m.jobV)
	}
	r.pool.run(numBlocks(r.n), r.jobStep)
	return nil
}

// pairBlock fills w.pz with the differences xᵢ − xⱼ for j in [j0, j0+m)
// (rows 0..d−1) and their squared norms (row d).
func pairBlock(r *particleRun, w *particleWorker, i, j0, m int) {
	r2 := w.pz[r.d][:m]
	for c := 0; c < r.d; c++ {
		xi := r.x[c][i]
		xj := r.x[c][j0 : j0+m]
		zc := w.pz[c][:m]
		if c == 0 {
			for k := range zc {
				z := xi - xj[k]
				zc[k] = z
				r2[k] = z * z
			}
			continue
		}
		for k := range zc {
			z := xi - xj[k]
			zc[k] = z
			r2[k] += z * z
		}
	}
}

// sums computes Sᵢ = Σⱼ exp(−|xᵢ − xⱼ|²/(2ε²)) for the particles of tile b.
func (m *Blob) sums(r *particleRun, wi, b int) {
	w := r.ws[wi]
	lo, hi := tileRange(b, r.n)
	a := 1 / (2 * m.eps * m.eps)
	for i := lo; i < hi; i++ {
		s := 0.0
		for j0 := 0; j0 < r.n; j0 += autodiff.BlockSize {
			mm := min(autodiff.BlockSize, r.n-j0)
			pairBlock(r, w, i, j0, mm)
			for _, v := range w.pz[r.d][:mm] {
				s += math.Exp(-a * v)
			}
		}
		m.S[i] = s
	}
}

// velocity adds the blob's entropy velocity (D/ε²)Σⱼ(xᵢ − xⱼ)eᵢⱼ(1/Sᵢ + 1/Sⱼ)
// to the drift of the particles of tile b (the drift holds the interaction's
// part, if any).
func (m *Blob) velocity(r *particleRun, wi, b int) {
	w := r.ws[wi]
	lo, hi := tileRange(b, r.n)
	a := 1 / (2 * m.eps * m.eps)
	k := r.p.Diffusion / (m.eps * m.eps)
	e := w.pz[r.d+1]
	for i := lo; i < hi; i++ {
		acc := w.acc
		clear(acc)
		invSi := 1 / m.S[i]
		for j0 := 0; j0 < r.n; j0 += autodiff.BlockSize {
			mm := min(autodiff.BlockSize, r.n-j0)
			pairBlock(r, w, i, j0, mm)
			r2 := w.pz[r.d][:mm]
			S := m.S[j0 : j0+mm]
			ek := e[:mm]
			for kk, v := range r2 {
				ek[kk] = math.Exp(-a*v) * (invSi + 1/S[kk])
			}
			for c := 0; c < r.d; c++ {
				s := 0.0
				for kk, z := range w.pz[c][:mm] {
					s += z * ek[kk]
				}
				acc[c] += s
			}
		}
		for c := 0; c < r.d; c++ {
			if r.p.Interaction != nil {
				r.drift[c][i] += k * acc[c]
			} else {
				r.drift[c][i] = k * acc[c]
			}
		}
	}
}

func (m *Blob) fillRow(r *particleRun, row *ParticleRow) {
	if r.p.Diffusion == 0 {
		return
	}
	// the regularised entropy D(1/N)Σ log((2πε²)^(−d/2) Sᵢ/N) at the
	// current positions
	r.pool.run(numTiles(r.n), m.jobS)
	s := 0.0
	for _, v := range m.S {
		s += math.Log(v)
	}
	N := float64(r.n)
	ent := s/N - math.Log(N) - float64(r.d)/2*math.Log(2*math.Pi*m.eps*m.eps)
	row.Entropy = r.p.Diffusion * ent
}

// Name implements ParticleMethod.
func (*SVGD) Name() string { return "svgd" }

// StepSize implements ParticleMethod.
func (m *SVGD) StepSize() float64 { return stepOr(m.H) }

// Check implements ParticleMethod: svgd handles every term.
func (*SVGD) Check(p *ParticleProblem) error { return nil }

func (*SVGD) buffers(p *ParticleProblem, n int) int64 {
	return 2*int64(n)*int64(p.Dim)*8 + medianPairs*8
}

// medianSample is the number of particles whose pairwise distances give
// the median heuristic's median; medianPairs is the number of their pairs.
const (
	medianSample = 300
	medianPairs  = medianSample * (medianSample - 1) / 2
)

func (m *SVGD) init(r *particleRun) error {
	if m.Bandwidth < 0 || math.IsNaN(m.Bandwidth) || math.IsInf(m.Bandwidth, 0) {
		return &ParamError{Method: "svgd", Param: "bandwidth", Value: m.Bandwidth, Want: "a positive number"}
	}
	r.drift = soaBlocks(r.d, r.n)
	m.vel = soaBlocks(r.d, r.n)
	k := min(r.n, medianSample)
	m.sample = make([]int, k)
	for i := range m.sample {
		m.sample[i] = int(int64(i) * int64(r.n) / int64(k))
	}
	m.pairs = make([]float64, 0, k*(k-1)/2)
	m.bw = m.Bandwidth
	m.jobB = func(wi, b int) { m.drift(r, wi, b) }
	m.jobPhi = func(wi, b int) { m.phi(r, wi, b) }
	m.jobMove = func(wi, b int) { m.move(r, wi, b) }
	return nil
}

func (m *SVGD) step(r *particleRun) error {
	if r.p.Interaction != nil {
		r.interaction()
	}
	r.pool.run(numBlocks(r.n), m.jobB)
	if m.Bandwidth == 0 {
		m.bw = m.median(r)
	}
	r.pool.run(numTiles(r.n), m.jobPhi)
	r.pool.run(numTiles(r.n), m.jobMove)
	return nil
}

// drift sets r.drift to b(xᵢ) = −∇V(xᵢ) + interaction for block b.
func (m *SVGD) drift(r *particleRun, wi, b int) {
	lo, hi := blockRange(b, r.n)
	if r.p.Interaction == nil {
		for c := 0; c < r.d; c++ {
			clear(r.drift[c][lo:hi])
		}
	}
	if r.p.Potential == nil {
		return
	}
	w := r.ws[wi]
	r.evalPotential(w, r.x, lo, hi)
	for c := 0; c < r.d; c++ {
		dc := r.drift[c][lo:hi]
		for k, g := range w.g[c][:hi-lo] {
			dc[k] -= g
		}
	}
}

// median returns the median heuristic's bandwidth med²/log N.
func (m *SVGD) median(r *particleRun) float64 {
	m.pairs = m.pairs[:0]
	for a, i := range m.sample {
		for _, j := range m.sample[a+1:] {
			s := 0.0
			for c := 0; c < r.d; c++ {
				z := r.x[c][i] - r.x[c][j]
				s += z * z
			}
			m.pairs = append(m.pairs, s)
		}
	}
	if len(m.pairs) == 0 {
		return 1
	}
	med2 := medianOf(m.pairs) // the median of the squared distances is med²
	if !(med2 > 0) || math.IsInf(med2, 0) || r.n < 2 {
		return 1
	}
	return med2 / math.Log(float64(r.n))
}

// phi computes φ(xᵢ) for the particles of tile b into m.vel.
func (m *SVGD) phi(r *particleRun, wi, b int) {
	w := r.ws[wi]
	lo, hi := tileRange(b, r.n)
	a := 1 / m.bw
	rep := r.p.Diffusion * 2 / m.bw // D·∇_{xⱼ}k(xⱼ, xᵢ) = D(2/H)(xᵢ − xⱼ)k
	invN := 1 / float64(r.n)
	kern := w.pz[r.d+1]
	for i := lo; i < hi; i++ {
		acc := w.acc
		clear(acc)
		for j0 := 0; j0 < r.n; j0 += autodiff.BlockSize {
			mm := min(autodiff.BlockSize, r.n-j0)
			pairBlock(r, w, i, j0, mm)
			kk := kern[:mm]
			for k, v := range w.pz[r.d][:mm] {
				kk[k] = math.Exp(-a * v)
			}
			for c := 0; c < r.d; c++ {
				bc := r.drift[c][j0 : j0+mm]
				s := 0.0
				for k, z := range w.pz[c][:mm] {
					s += kk[k] * (bc[k] + rep*z)
				}
				acc[c] += s
			}
		}
		for c := 0; c < r.d; c++ {
			m.vel[c][i] = acc[c] * invN
		}
	}
}

// move steps the particles of tile b: xᵢ ← xᵢ + hφ(xᵢ).
func (m *SVGD) move(r *particleRun, wi, b int) {
	lo, hi := tileRange(b, r.n)
	for c := 0; c < r.d; c++ {
		xc, vc := r.x[c][lo:hi], m.vel[c][lo:hi]
		for k, v := range vc {
			nx := xc[k] + r.h*v
			if !inRange(nx) {
				r.noteFail(b, lo+k, c, notFinite(nx))
				continue
			}
			xc[k] = nx
		}
	}
}

func (m *SVGD) fillRow(r *particleRun, row *ParticleRow) {
	if r.step > 0 {
		row.Bandwidth = m.bw
	}
}

// medianOf returns the median of a (reordering it): the middle element, or
// the mean of the two middle ones.
func medianOf(a []float64) float64 {
	n := len(a)
	k := (n - 1) / 2
	v := selectKth(a, k)
	if n%2 == 1 {
		return v
	}
	next := math.Inf(1)
	for _, x := range a[k+1:] {
		next = min(next, x)
	}
	return (v + next) / 2
}

// selectKth returns the k-th smallest element of a (0-based), partially
// ordering a so that a[:k] ≤ a[k] ≤ a[k+1:] (Hoare's quickselect with a
// median-of-three pivot).
func selectKth(a []float64, k int) float64 {
	lo, hi := 0, len(a)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if a[mid] < a[lo] {
			a[mid], a[lo] = a[lo], a[mid]
		}
		if a[hi] < a[lo] {
			a[hi], a[lo] = a[lo], a[hi]
		}
		if a[hi] < a[mid] {
			a[hi], a[mid] = a[mid], a[hi]
		}
		pivot := a[mid]
		i, j := lo, hi
		for i <= j {
			for a[i] < pivot {
				i++
			}
			for pivot < a[j] {
				j--
			}
			if i <= j {
				a[i], a[j] = a[j], a[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return a[k]
		}
	}
	return a[k]
}
