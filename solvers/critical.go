// Critical points: safeguarded Newton on ∇f = 0 and classification by the Hessian's eigenvalues.
package solvers

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/mat"
)

// CriticalPoint is a point where ∇f = 0 and what kind it is.
type CriticalPoint struct {
	X           []float64
	F           float64
	GradNorm    float64
	Eigenvalues []float64 // of the Hessian at X, ascending
	// Kind is "minimum" (all eigenvalues > 0), "maximum" (all < 0),
	// "saddle" (both signs, none zero) or "degenerate" (some eigenvalue is
	// zero to within DegenerateTol relative to the largest in magnitude).
	Kind       string
	Iterations int
}

// Settings of FindCritical.
const (
	// CriticalMaxIter bounds the Newton iterations.
	CriticalMaxIter = 200
	// CriticalStepTol stops the iteration when a full Newton step moves x by
	// less than CriticalStepTol·(1 + ‖x‖∞) (quadratic convergence makes the
	// next step negligible).
	CriticalStepTol = 1e-13
	// CriticalGradTol accepts the point when
	// ‖∇f‖ ≤ CriticalGradTol·ε·(1 + ‖H‖∞(1 + ‖x‖∞)), a few dozen units of
	// the rounding in ∇f's evaluation (ε the unit round-off).
	CriticalGradTol = 64
	// watchdogSteps and watchdogGrowth bound the full Newton steps taken
	// without improving on the best ‖∇f‖: at most 5 in a row, and none
	// that multiplies ‖∇f‖² by more than 10⁸.
	watchdogSteps  = 5
	watchdogGrowth = 1e8
	// DegenerateTol: an eigenvalue λ with |λ| ≤ DegenerateTol·max(1, max|λᵢ|)
	// counts as zero.
	DegenerateTol = 1e-8
	// criticalNearStep: a point where ∇f is at rounding level is accepted
	// only if the Newton step from it, −H⁻¹∇f (about the distance to the
	// critical point it heads for), is at most criticalNearStep·(1 + ‖x‖∞).
	// A small gradient alone does not make a critical point: exp(x) at
	// x = −40 has ∇f ≈ 4·10⁻¹⁸ and the Newton step −1, for ever. Near a
	// degenerate critical point of order m the step is x/(m − 1) and
	// shrinks geometrically, so the iteration gets there a few steps later.
	criticalNearStep = 1e-3
)

// FindCritical solves ∇f(x) = 0 from x0 by Newton's method, H(x)d = −∇f(x),
// safeguarded by backtracking on the merit φ = ‖∇f‖²/2 (the Newton
// direction satisfies ∇φ·d = −‖∇f‖² < 0) and, where H is singular or the
// Newton step makes no progress, by Levenberg–Marquardt steps
// (H² + λI)d = −H∇f with λ raised tenfold until φ decreases (Nocedal &
// Wright, Numerical Optimization, 2nd ed., §11.2). It then classifies the
// point by the eigenvalues of the symmetric Hessian (gonum/mat EigenSym;
// the notes' §3.3).
func FindCritical(p *Problem, x0 []float64) (*CriticalPoint, error) {
	n := p.Dim
	if len(x0) != n {
		return nil, fmt.Errorf("the point has %d coordinates, the objective %d", len(x0), n)
	}
	x := slices.Clone(x0)
	g := make([]float64, n)
	gt := make([]float64, n)
	xt := make([]float64, n)
	hs := mat.NewSymDense(n, nil)
	hd := mat.NewDense(n, n, nil)
	d := make([]float64, n)
	dv := mat.NewVecDense(n, d)
	gv := mat.NewVecDense(n, g)
	f := p.FuncGrad(g, x)
	if !isFinite(f) || !allFinite(g) {
		return nil, fmt.Errorf("f or ∇f is not finite at the starting point")
	}
	phi := vdot(g, g) / 2
	lambda := 0.0
	// the watchdog (Chamberlain, Powell, Lemaréchal & Pedersen 1982): full
	// Newton steps are taken even when ‖∇f‖ grows, up to watchdogSteps in
	// a row without a new best point; then the iteration returns to the
	// best point and backtracks from there. Monotone backtracking alone
	// crawls along curved valleys (Rosenbrock's).
	bestX, bestG := slices.Clone(x), slices.Clone(g)
	bestF, bestPhi := f, phi
	watch, forceLS := 0, false
	restore := func() {
		copy(x, bestX)
		copy(g, bestG)
		f, phi = bestF, bestPhi
		watch, forceLS = 0, true
	}
	for it := 1; it <= CriticalMaxIter; it++ {
		p.Hess(hs, x)
		hd.Copy(hs)
		if !allFiniteDense(hd) {
			return nil, fmt.Errorf("the Hessian is not finite at %v", x)
		}
		// converged? ∇f at rounding level, and x near the point where it vanishes
		hn := mat.Norm(hd, math.Inf(1))
		if math.Sqrt(2*phi) <= CriticalGradTol*unitRoundoff*(1+hn*(1+vnormInf(x))) || phi == 0 {
			if pinvStep(hs, g) <= criticalNearStep*(1+vnormInf(x)) {
				return classify(p, x, f, math.Sqrt(2*phi), hs, it-1)
			}
		}
		newton := lambda == 0 && solveLU(hd, dv, gv, "Hessian") == nil
		if newton {
			for i := range d {
				d[i] = -d[i]
			}
		} else {
			if lambda == 0 {
				lambda = 1e-6 * math.Max(hn*hn, 1e-12)
			}
			if err := levenberg(hd, g, lambda, d); err != nil {
				return nil, err
			}
		}
		if newton && !forceLS {
			for i := range xt {
				xt[i] = x[i] + d[i]
			}
			ft := p.FuncGrad(gt, xt)
			phiT := vdot(gt, gt) / 2
			if isFinite(ft) && isFinite(phiT) && phiT <= watchdogGrowth*bestPhi {
				copy(x, xt)
				copy(g, gt)
				f, phi = ft, phiT
				if phi < (1-1e-4)*bestPhi {
					copy(bestX, x)
					copy(bestG, g)
					bestF, bestPhi, watch = f, phi, 0
				} else {
					watch++
				}
				if watch == 0 && vnormInf(d) <= CriticalStepTol*(1+vnormInf(x)) {
					return classify(p, x, f, math.Sqrt(2*phi), hs, it)
				}
				if watch >= watchdogSteps {
					restore()
				}
				continue
			}
			if watch > 0 {
				restore()
				continue
			}
		}
		forceLS = false
		// slope of φ along d: (H∇f)·d
		slope := 0.0
		for i := 0; i < n; i++ {
			hg := 0.0
			for j := 0; j < n; j++ {
				hg += hd.At(i, j) * g[j]
			}
			slope += hg * d[i]
		}
		alpha, accepted := 1.0, false
		for ls := 0; ls < 40; ls++ {
			for i := range xt {
				xt[i] = x[i] + alpha*d[i]
			}
			ft := p.FuncGrad(gt, xt)
			phiT := vdot(gt, gt) / 2
			if isFinite(ft) && isFinite(phiT) && phiT <= phi+1e-4*alpha*slope {
				copy(x, xt)
				copy(g, gt)
				f, phi, accepted = ft, phiT, true
				if phi < bestPhi {
					copy(bestX, x)
					copy(bestG, g)
					bestF, bestPhi = f, phi
				}
				break
			}
			if !newton {
				break // raise λ instead of shrinking a Levenberg step
			}
			alpha /= 2
		}
		switch {
		case accepted && newton && alpha == 1 && vnormInf(d) <= CriticalStepTol*(1+vnormInf(x)):
			return classify(p, x, f, math.Sqrt(2*phi), hs, it)
		case accepted && !newton:
			lambda /= 10
			if lambda < 1e-12*math.Max(hn*hn, 1e-12) {
				lambda = 0 // back to Newton
			}
		case !accepted && newton:
			lambda = 1e-6 * math.Max(hn*hn, 1e-12)
		case !accepted:
			lambda *= 10
			if lambda > 1e30*math.Max(hn*hn, 1) {
				return classifyStuck(p, x, f, phi, hs, it)
			}
		}
	}
	p.Hess(hs, x)
	if step := pinvStep(hs, g); step > criticalNearStep*(1+vnormInf(x)) {
		return nil, fmt.Errorf("Newton on ∇f = 0 does not settle: after %d iterations it is at %v, and the next step is %.3g long (‖∇f‖ = %.3g)",
			CriticalMaxIter, roundAll(x), step, math.Sqrt(2*phi))
	}
	return nil, fmt.Errorf("Newton on ∇f = 0 did not converge in %d iterations (‖∇f‖ = %.3g at %v)", CriticalMaxIter, math.Sqrt(2*phi), roundAll(x))
}

// pinvStep returns ‖H⁺∇f‖∞, the length of the Newton step with the
// pseudo-inverse of the symmetric H: eigenvalues below n·ε·max|λᵢ| (zero to
// rounding) are left out, so that a singular Hessian gives the step in the
// directions where it is not singular, and a nearly singular one the long
// step it asks for.
func pinvStep(hs *mat.SymDense, g []float64) float64 {
	var eig mat.EigenSym
	if !eig.Factorize(hs, true) {
		return math.Inf(1)
	}
	lambda := eig.Values(nil)
	var v mat.Dense
	eig.VectorsTo(&v)
	n := len(g)
	cut := 0.0
	for _, l := range lambda {
		cut = math.Max(cut, math.Abs(l))
	}
	cut *= float64(n) * unitRoundoff
	d := make([]float64, n)
	for k, l := range lambda {
		if math.Abs(l) <= cut {
			continue
		}
		c := 0.0 // (v_k · ∇f)/λ_k
		for i := range n {
			c += v.At(i, k) * g[i]
		}
		c /= l
		for i := range n {
			d[i] += c * v.At(i, k)
		}
	}
	return vnormInf(d)
}

// classifyStuck accepts a point where no step decreases ‖∇f‖ if ∇f is
// already at rounding level, and fails otherwise.
func classifyStuck(p *Problem, x []float64, f, phi float64, hs *mat.SymDense, it int) (*CriticalPoint, error) {
	if math.Sqrt(2*phi) <= 1e-8*(1+math.Abs(f)) {
		return classify(p, x, f, math.Sqrt(2*phi), hs, it)
	}
	return nil, fmt.Errorf("Newton on ∇f = 0 is stuck at %v where ‖∇f‖ = %.3g: no nearby critical point", roundAll(x), math.Sqrt(2*phi))
}

// levenberg solves (H² + λI)d = −H g (H symmetric) by Cholesky.
func levenberg(h *mat.Dense, g []float64, lambda float64, d []float64) error {
	n, _ := h.Dims()
	var a mat.SymDense
	a.SymOuterK(1, h) // H·Hᵀ = H² for symmetric H
	for i := 0; i < n; i++ {
		a.SetSym(i, i, a.At(i, i)+lambda)
	}
	var b mat.VecDense
	b.MulVec(h, mat.NewVecDense(n, g))
	var chol mat.Cholesky
	if !chol.Factorize(&a) {
		return fmt.Errorf("the Levenberg–Marquardt system is not positive definite")
	}
	dv := mat.NewVecDense(n, d)
	if err := chol.SolveVecTo(dv, &b); err != nil {
		if _, ok := err.(mat.Condition); !ok {
			return err
		}
	}
	for i := range d {
		d[i] = -d[i]
	}
	return nil
}

// classify finds the Hessian's eigenvalues at x and names the point. An
// eigenvalue no larger than the change of the Hessian over the next
// Newton step d = −H⁻¹∇f (about the distance to the exact critical point)
// cannot be told from zero: near a degenerate critical point Newton
// converges only linearly and the Hessian there is still moving, while
// near a nondegenerate one d is at rounding level.
func classify(p *Problem, x []float64, f, gradNorm float64, hs *mat.SymDense, it int) (*CriticalPoint, error) {
	n := p.Dim
	p.Hess(hs, x)
	moving := 0.0
	g := make([]float64, n)
	p.FuncGrad(g, x)
	d := make([]float64, n)
	if solveLU(mat.DenseCopyOf(hs), mat.NewVecDense(n, d), mat.NewVecDense(n, g), "Hessian") == nil {
		xn := make([]float64, n)
		for i := range xn {
			xn[i] = x[i] - d[i]
		}
		hn := mat.NewSymDense(n, nil)
		p.Hess(hn, xn)
		for i := 0; i < n; i++ {
			for j := i; j < n; j++ {
				if v := math.Abs(hs.At(i, j) - hn.At(i, j)); v == v {
					moving = math.Max(moving, v)
				}
			}
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(hs, false) {
		return nil, fmt.Errorf("the Hessian's eigenvalues did not converge")
	}
	vals := eig.Values(nil)
	slices.Sort(vals)
	kind := classifyTol(vals, 2*float64(n)*moving)
	return &CriticalPoint{X: x, F: f, GradNorm: gradNorm, Eigenvalues: vals, Kind: kind, Iterations: it}, nil
}

// Classify names a critical point by its Hessian's eigenvalues: "minimum",
// "maximum", "saddle" or "degenerate" (see CriticalPoint.Kind).
func Classify(eigenvalues []float64) string { return classifyTol(eigenvalues, 0) }

// classifyTol classifies with eigenvalues up to zeroTol (and up to
// DegenerateTol relative) counted as zero.
func classifyTol(eigenvalues []float64, zeroTol float64) string {
	scale := 1.0
	for _, v := range eigenvalues {
		scale = math.Max(scale, math.Abs(v))
	}
	var pos, neg, zero int
	for _, v := range eigenvalues {
		switch {
		case math.Abs(v) <= math.Max(DegenerateTol*scale, zeroTol):
			zero++
		case v > 0:
			pos++
		default:
			neg++
		}
	}
	switch {
	case zero > 0:
		return "degenerate"
	case neg == 0:
		return "minimum"
	case pos == 0:
		return "maximum"
	}
	return "saddle"
}

func allFiniteDense(m *mat.Dense) bool {
	r, c := m.Dims()
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			if !isFinite(m.At(i, j)) {
				return false
			}
		}
	}
	return true
}

// roundAll formats coordinates with 6 significant digits for messages.
func roundAll(x []float64) string {
	parts := make([]string, len(x))
	for i, v := range x {
		parts[i] = strconv.FormatFloat(v, 'g', 6, 64)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
