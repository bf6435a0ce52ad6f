// The langevin, particles (deterministic) and mala particle methods.
package solvers

import (
	"math"
)

// Langevin is the Euler–Maruyama scheme for the interacting (McKean–Vlasov)
// Langevin system of F = ∫V dρ + ½∬W dρdρ + D∫ρ log ρ:
//
//	dXᵢ = −∇V(Xᵢ) dt − (1/N)Σⱼ∇W(Xᵢ − Xⱼ) dt + √(2D) dBᵢ,
//	xᵢ ← xᵢ − h(∇V(xᵢ) + (1/N)Σⱼ∇W(xᵢ − xⱼ)) + √(2Dh) ξᵢ,   ξᵢ ~ N(0, I)
//
// (Kloeden & Platen 1992, Numerical Solution of SDEs, §9.1 and §14.1; the
// particle system of McKean 1966 and Sznitman 1991). It has weak order 1:
// moments carry an O(h) bias — for V = x²/2, D = 1 the variance obeys
// vₖ₊₁ = (1−h)²vₖ + 2h and tends to 1/(1 − h/2), not 1. H is the step
// (default 0.01).
type Langevin struct {
	H float64
}

// Deterministic is the deterministic particle method ("particles") for
// F = ∫V dρ + ½∬W dρdρ without entropy, explicit Euler on
//
//	dxᵢ/dt = −∇V(xᵢ) − (1/N)Σⱼ∇W(xᵢ − xⱼ),
//
// the Wasserstein gradient flow of F restricted to empirical measures
// (Carrillo, Choi, Hauray 2014, "The derivation of swarming models:
// mean-field limit and Wasserstein distances"). It cannot handle the
// entropy, whose first variation log ρ the empirical measure does not have
// (ERRATA, §8.1). H is the step (default 0.01).
type Deterministic struct {
	H float64
}

var (
	_ ParticleMethod = (*Langevin)(nil)
	_ ParticleMethod = (*Deterministic)(nil)
	_ ParticleMethod = (*MALA)(nil)
)

// DefaultParticleStep is the step h of the particle methods when none is given.
const DefaultParticleStep = 0.01

func stepOr(h float64) float64 {
	if h == 0 {
		return DefaultParticleStep
	}
	return h
}

// Name implements ParticleMethod.
func (*Langevin) Name() string { return "langevin" }

// StepSize implements ParticleMethod.
func (m *Langevin) StepSize() float64 { return stepOr(m.H) }

// Check implements ParticleMethod: langevin handles every term.
func (*Langevin) Check(p *ParticleProblem) error { return nil }

func (*Langevin) buffers(p *ParticleProblem, n int) int64 { return eulerBuffers(p, n) }

func (*Langevin) init(r *particleRun) error {
	r.noise = true
	return eulerInit(r)
}

func (*Langevin) step(r *particleRun) error { return eulerStep(r) }

func (*Langevin) fillRow(r *particleRun, row *ParticleRow) {}

// Name implements ParticleMethod.
func (*Deterministic) Name() string { return "particles" }

// StepSize implements ParticleMethod.
func (m *Deterministic) StepSize() float64 { return stepOr(m.H) }

// Check implements ParticleMethod: particles rejects the entropy.
func (*Deterministic) Check(p *ParticleProblem) error {
	if p.Diffusion != 0 {
		return &TermError{Method: "particles", Term: "the entropy",
			Why: "its first variation log ρ does not exist for particles",
			Can: entropyMethods}
	}
	return nil
}

func (*Deterministic) buffers(p *ParticleProblem, n int) int64 { return eulerBuffers(p, n) }

func (*Deterministic) init(r *particleRun) error { return eulerInit(r) }

func (*Deterministic) step(r *particleRun) error { return eulerStep(r) }

func (*Deterministic) fillRow(r *particleRun, row *ParticleRow) {}

// entropyMethods are the methods that handle an entropy term.
var entropyMethods = []string{"langevin", "mala", "blob", "svgd"}

func eulerBuffers(p *ParticleProblem, n int) int64 {
	if p.Interaction == nil {
		return 0
	}
	return int64(n) * int64(p.Dim) * 8
}

func eulerInit(r *particleRun) error {
	if r.p.Interaction != nil {
		r.drift = soaBlocks(r.d, r.n)
	}
	r.jobStep = r.eulerBlock
	return nil
}

// eulerStep is one Euler(–Maruyama) step: the interaction's drift for all
// particles first (it reads the whole cloud), then each stream block adds
// the potential's drift and its noise and moves.
func eulerStep(r *particleRun) error {
	if r.p.Interaction != nil {
		r.interaction()
	}
	r.pool.run(numBlocks(r.n), r.jobStep)
	return nil
}

// eulerBlock moves stream block b: x ← x − h∇V(x) + h·drift + √(2Dh)ξ,
// drawing ξ coordinate by coordinate, particle by particle, from the
// block's stream.
func (r *particleRun) eulerBlock(wi, b int) {
	w := r.ws[wi]
	lo, hi := blockRange(b, r.n)
	h := r.h
	s := 0.0
	if r.noise {
		s = math.Sqrt(2 * r.p.Diffusion * h)
	}
	rng := r.streams[b]
	if r.p.Potential != nil {
		r.evalPotential(w, r.x, lo, hi)
	}
	for c := 0; c < r.d; c++ {
		xc := r.x[c][lo:hi]
		switch {
		case r.p.Potential != nil && r.drift == nil && s != 0:
			// the common case, kept tight: potential and noise
			g := w.g[c][:len(xc)]
			// the move without a test per particle, then one branch-free
			// pass that finds a bad coordinate (restored from a copy)
			old := w.old[:len(xc)]
			copy(old, xc)
			for k, xv := range xc {
				xc[k] = xv - h*g[k] + s*rng.NormFloat64()
			}
			if !blockInRange(xc) {
				for k, v := range xc {
					if !inRange(v) {
						r.noteFail(b, lo+k, c, notFinite(v))
						xc[k] = old[k]
					}
				}
			}
		default:
			var g, dr []float64
			if r.p.Potential != nil {
				g = w.g[c][:len(xc)]
			}
			if r.drift != nil {
				dr = r.drift[c][lo:hi]
			}
			for k, xv := range xc {
				v := xv
				if g != nil {
					v -= h * g[k]
				}
				if dr != nil {
					v += h * dr[k]
				}
				if s != 0 {
					v += s * rng.NormFloat64()
				}
				if !inRange(v) {
					r.noteFail(b, lo+k, c, notFinite(v))
					continue
				}
				xc[k] = v
			}
		}
	}
}

// blockInRange reports whether every |x[k]| < MaxCoordinate, without a
// branch per element: (x·2¹⁸⁰)² overflows to +Inf when |x| ≥ 2³³² =
// MaxCoordinate (to within a relative 2⁻⁵⁴), and Inf·0 and NaN·0 are NaN,
// so the sum of the (x·2¹⁸⁰)²·0 is 0 unless some x is out of range or not
// a number.
func blockInRange(x []float64) bool {
	const scale = 0x1p180
	var a0, a1, a2, a3 float64
	k := 0
	for ; k+4 <= len(x); k += 4 {
		t0, t1, t2, t3 := x[k]*scale, x[k+1]*scale, x[k+2]*scale, x[k+3]*scale
		a0 += t0 * t0 * 0
		a1 += t1 * t1 * 0
		a2 += t2 * t2 * 0
		a3 += t3 * t3 * 0
	}
	for ; k < len(x); k++ {
		t := x[k] * scale
		a0 += t * t * 0
	}
	return a0+a1+a2+a3 == 0
}

// notFinite describes a coordinate that left the finite range.
func notFinite(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "turned non-finite"
	}
	return "grew beyond 8.7e99 in absolute value (the run grows without bound)"
}

// MALA is the Metropolis-adjusted Langevin algorithm (Roberts & Tweedie
// 1996, "Exponential convergence of Langevin distributions and their
// discrete approximations", Bernoulli 2(4)) for the Gibbs law
// π ∝ exp(−V/D), the minimiser of ∫V dρ + D∫ρ log ρ: one independent chain
// per particle,
//
//	y = x − h∇V(x) + √(2hD) ξ,
//	accept y with probability min(1, π(y)q(x|y) / (π(x)q(y|x))),
//	q(y|x) ∝ exp(−|y − x + h∇V(x)|² / (4hD)),
//
// else stay at x. The chains leave π exactly invariant whatever h; h sets
// the acceptance rate (≈ 0.574 is optimal in high dimension, Roberts &
// Rosenthal 1998). It needs V itself (the potential's value) and D > 0, and
// rejects an interaction, with which the target would change with the
// cloud. H is the step (default 0.01).
type MALA struct {
	H float64

	vx          []float64   // V at each particle
	gx          [][]float64 // ∇V at each particle
	accepted    []int64     // per stream block, since the last row
	total       int64       // accepted over the run
	proposed    int64       // proposals since the last row
	allProposed int64
}

// Name implements ParticleMethod.
func (*MALA) Name() string { return "mala" }

// StepSize implements ParticleMethod.
func (m *MALA) StepSize() float64 { return stepOr(m.H) }

// Check implements ParticleMethod.
func (*MALA) Check(p *ParticleProblem) error {
	if p.Interaction != nil {
		return &TermError{Method: "mala", Term: "the interaction",
			Why: "its target would change with the particles",
			Can: []string{"langevin", "particles", "blob", "svgd"}}
	}
	if p.Diffusion == 0 {
		return &TermError{Method: "mala", Term: "a free energy without entropy",
			Why: "it samples exp(−V/D) and needs D = 1/β > 0",
			Can: []string{"particles", "langevin"}}
	}
	if p.Potential == nil {
		return &TermError{Method: "mala", Term: "a free energy without potential",
			Why: "exp(−0) is not a probability density",
			Can: []string{"langevin", "blob"}}
	}
	if !p.Potential.hasValue(p.Dim) {
		return &TermError{Method: "mala", Term: "a potential given by its gradient only",
			Why: "the accept/reject step needs V itself",
			Can: []string{"langevin"}}
	}
	return nil
}

func (*MALA) buffers(p *ParticleProblem, n int) int64 {
	return int64(n) * int64(p.Dim+1) * 8
}

func (m *MALA) init(r *particleRun) error {
	m.vx = make([]float64, r.n)
	m.gx = soaBlocks(r.d, r.n)
	m.accepted = make([]int64, numBlocks(r.n))
	m.total, m.proposed, m.allProposed = 0, 0, 0
	for _, w := range r.ws {
		w.y = soaBlocks(r.d, StreamBlock)
		w.yg = soaBlocks(len(r.p.Potential.Grad.Outputs), StreamBlock)
	}
	r.jobStep = func(wi, b int) { m.initBlock(r, wi, b) }
	r.pool.run(numBlocks(r.n), r.jobStep)
	r.jobStep = func(wi, b int) { m.block(r, wi, b) }
	return nil
}

// initBlock evaluates V and ∇V at the particles of block b.
func (m *MALA) initBlock(r *particleRun, wi, b int) {
	w := r.ws[wi]
	lo, hi := blockRange(b, r.n)
	r.evalPotential(w, r.x, lo, hi)
	for c := 0; c < r.d; c++ {
		copy(m.gx[c][lo:hi], w.g[c][:hi-lo])
	}
	if len(w.g) == r.d+1 {
		copy(m.vx[lo:hi], w.g[r.d][:hi-lo])
	} else {
		r.potentialValues(w, r.x, lo, hi, m.vx[lo:hi])
	}
}

func (m *MALA) step(r *particleRun) error {
	r.pool.run(numBlocks(r.n), r.jobStep)
	m.proposed += int64(r.n)
	m.allProposed += int64(r.n)
	return nil
}

// block proposes and accepts or rejects for the particles of block b. The
// normals are drawn coordinate by coordinate, then one uniform per particle.
func (m *MALA) block(r *particleRun, wi, b int) {
	w := r.ws[wi]
	lo, hi := blockRange(b, r.n)
	nb := hi - lo
	h, D := r.h, r.p.Diffusion
	s := math.Sqrt(2 * h * D)
	rng := r.streams[b]
	for c := 0; c < r.d; c++ {
		xc, gc, yc := r.x[c][lo:hi], m.gx[c][lo:hi], w.y[c][:nb]
		for k := range yc {
			yc[k] = xc[k] - h*gc[k] + s*rng.NormFloat64()
		}
	}
	// V and ∇V at the proposals
	for c := range w.in {
		w.in[c] = w.y[c][:nb]
	}
	w.pot.EvalBatch(w.in, w.yg, nb)
	var vy []float64
	if len(w.yg) == r.d+1 {
		vy = w.yg[r.d][:nb]
	} else {
		w.potV.EvalBatch(w.in, w.gv, nb)
		vy = w.gv[0][:nb]
	}
	inv4hD := 1 / (4 * h * D)
	acc := int64(0)
	for k := 0; k < nb; k++ {
		i := lo + k
		// log α = −(V(y) − V(x))/D − |x − y + h∇V(y)|²/(4hD) + |y − x + h∇V(x)|²/(4hD)
		la := -(vy[k] - m.vx[i]) / D
		for c := 0; c < r.d; c++ {
			x, y := r.x[c][i], w.y[c][k]
			back := x - y + h*w.yg[c][k]
			fwd := y - x + h*m.gx[c][i]
			la += (fwd*fwd - back*back) * inv4hD
		}
		u := rng.Float64()
		if !(math.Log(u) < la) { // NaN (a non-finite proposal) rejects
			continue
		}
		ok := !math.IsNaN(vy[k]) && !math.IsInf(vy[k], 0)
		for c := 0; c < r.d; c++ {
			ok = ok && inRange(w.y[c][k]) && inRange(w.yg[c][k])
		}
		if !ok {
			continue
		}
		acc++
		m.vx[i] = vy[k]
		for c := 0; c < r.d; c++ {
			r.x[c][i] = w.y[c][k]
			m.gx[c][i] = w.yg[c][k]
		}
	}
	m.accepted[b] += acc
}

func (m *MALA) fillRow(r *particleRun, row *ParticleRow) {
	if m.proposed == 0 {
		return
	}
	a := int64(0)
	for b, v := range m.accepted {
		a += v
		m.accepted[b] = 0
	}
	row.Accept = float64(a) / float64(m.proposed)
	m.total += a
	m.proposed = 0
}

func (m *MALA) totalAccept() float64 {
	// count what has not been folded into a row yet
	a := m.total
	for _, v := range m.accepted {
		a += v
	}
	if m.allProposed == 0 {
		return math.NaN()
	}
	return float64(a) / float64(m.allProposed)
}
