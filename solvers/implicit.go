// The implicit (proximal) Euler step, solved by a safeguarded Newton iteration on the symbolic Hessian.
package solvers

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
	"gonum.org/v1/gonum/mat"
)

// ImplicitEuler is the backward Euler scheme for dx/dt = −∇f, i.e. the
// proximal point step (the notes' (66) and the "优化视角" section;
// Rockafellar 1976; Parikh & Boyd, Proximal Algorithms, 2014, §4.1):
//
//	x_{k+1} = argmin_z φ(z),  φ(z) = ‖z − x_k‖²/(2h) + f(z),
//
// whose optimality condition is x_{k+1} = x_k − h∇f(x_{k+1}). φ is
// minimised by Newton's method from z = x_k on its gradient
// r(z) = (z − x_k)/h + ∇f(z) and Hessian A(z) = I/h + ∇²f(z) (the
// symbolic Hessian; Cholesky by LAPACK's dpotrf through gonum), with two
// safeguards: when A is not positive definite
// (f nonconvex) a multiple of I is added until its Cholesky factorisation
// succeeds (Levenberg), and the step is halved until φ decreases
// sufficiently (Armijo, c = 1e-4). The iteration stops when
// ‖r‖∞ ≤ 1e-10·(‖∇f(x_k)‖∞ + ‖∇f(z)‖∞) plus the rounding of (z − x_k)/h,
// when a full Newton correction is below 1e-10 of the proximal step
// ‖z − x_k‖∞, or when the step no longer moves z; at most ProximalMaxIter
// iterations.
//
// Since φ(x_{k+1}) ≤ φ(x_k) = f(x_k), f decreases at every step for any
// h > 0: on convex f the scheme is unconditionally stable. It is first
// order in h. H has no default.
type ImplicitEuler struct {
	H float64

	p       *Problem
	t0      float64
	k       int
	evals   int
	xk, z   []float64
	zt      []float64
	r, d, g []float64
	hess    *mat.SymDense
	a       blas64.Symmetric // A, then its Cholesky factor (LAPACK's dpotrf)
	rhs     blas64.General
}

var (
	_ Method       = (*ImplicitEuler)(nil)
	_ GradientFlow = (*ImplicitEuler)(nil)
)

// Settings of the proximal Newton iteration.
const (
	// ProximalMaxIter bounds the Newton iterations of one proximal step.
	ProximalMaxIter = 100
	// proxRtol is the relative tolerance on ‖∇φ‖.
	proxRtol = 1e-10
	// proxStepTol: a full Newton correction below proxStepTol times the
	// proximal step ‖z − x_k‖∞ ends the iteration.
	proxStepTol = 1e-10
	// armijo is the sufficient-decrease constant of the backtracking.
	armijo = 1e-4
)

// Needs reports that ImplicitEuler needs the Hessian.
func (m *ImplicitEuler) Needs() Needs { return Needs{Hessian: true} }

// Init checks the step and allocates the Newton workspace.
func (m *ImplicitEuler) Init(p *Problem, loc *Location, _ *Settings) error {
	if err := checkPositive("h", m.H); err != nil {
		return err
	}
	n := p.Dim
	m.p, m.t0, m.k, m.evals = p, loc.T, 0, 0
	m.xk, m.z, m.zt, m.r, m.d, m.g = make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	m.hess = mat.NewSymDense(n, nil)
	m.a = blas64.Symmetric{N: n, Stride: n, Uplo: blas.Upper, Data: make([]float64, n*n)}
	m.rhs = blas64.General{Rows: n, Cols: 1, Stride: 1, Data: m.d}
	return nil
}

// Step solves the proximal problem from loc.X.
func (m *ImplicitEuler) Step(loc *Location) error {
	p, h, n := m.p, m.H, len(loc.X)
	xk, z, zt, r, d, g := m.xk, m.z, m.zt, m.r, m.d, m.g
	copy(xk, loc.X)
	copy(z, loc.X)
	copy(g, loc.Grad)
	fz := loc.F
	gk := vnormInf(loc.Grad)
	xkn := vnormInf(xk)
	phi := fz // φ(x_k) = f(x_k)
	converged := false
	hn := 0.0 // the largest |∇²f| entry at the last Newton point
	for it := 0; it < ProximalMaxIter; it++ {
		var rn, zn float64
		for i := range r {
			r[i] = (z[i]-xk[i])/h + g[i]
			rn = math.Max(rn, math.Abs(r[i]))
			zn = math.Max(zn, math.Abs(z[i]))
		}
		// the tolerance: relative to the gradients, plus the rounding of
		// (z − x_k)/h and of ∇f itself (≈ ε‖∇²f‖‖z‖ from cancellations),
		// and the absolute spacing of subnormal numbers, where relative
		// rounding no longer holds (a flow that reaches 10⁻³⁰⁸)
		tol := proxRtol*(gk+vnormInf(g)) + 8*unitRoundoff*(math.Max(zn, xkn)/h+hn*zn) +
			8*math.SmallestNonzeroFloat64*(1/h+hn+1)
		if rn <= tol || rn == 0 {
			converged = true
			break
		}
		// A = ∇²f(z) + I/h, shifted until positive definite
		p.Hess(m.hess, z)
		hn = 0
		for i := 0; i < n; i++ {
			for j := i; j < n; j++ {
				hn = math.Max(hn, math.Abs(m.hess.At(i, j)))
			}
		}
		if err := m.factor(n, h); err != nil {
			return err
		}
		copy(d, r)
		lapack64.Potrs(blas64.Triangular{Uplo: blas.Upper, Diag: blas.NonUnit, N: n, Stride: n, Data: m.a.Data}, m.rhs)
		slope := 0.0 // ∇φ·d along the direction −d
		for i := range d {
			d[i] = -d[i]
			slope += r[i] * d[i]
		}
		// backtracking on φ
		alpha := 1.0
		moved := false
		var step float64
		for ls := 0; ls < 60; ls++ {
			step = 0
			for i := range z {
				s := alpha * d[i]
				step = math.Max(step, math.Abs(s))
				zt[i] = z[i] + s
			}
			if step <= 4*unitRoundoff*zn+4*math.SmallestNonzeroFloat64 {
				break // z no longer moves: as converged as rounding allows
			}
			fTrial := p.FuncGrad(g, zt)
			m.evals++
			var q float64
			for i := range zt {
				e := zt[i] - xk[i]
				q += e * e
			}
			phiTrial := q/(2*h) + fTrial
			if isFinite(phiTrial) && phiTrial <= phi+armijo*alpha*slope {
				copy(z, zt)
				fz, phi, moved = fTrial, phiTrial, true
				break
			}
			alpha /= 2
		}
		if !moved {
			// restore ∇f(z) (g holds the last trial's) and stop
			fz = p.FuncGrad(g, z)
			m.evals++
			converged = true
			break
		}
		// a full Newton correction 1e-10 the size of the proximal step:
		// the step is resolved (the next correction is at rounding level,
		// which may be above the tolerance on ‖∇φ‖ when ∇f is tiny)
		if alpha < 1 && step <= 64*unitRoundoff*zn+64*math.SmallestNonzeroFloat64 {
			converged = true // moves at rounding level: as good as it gets
			break
		}
		if alpha == 1 {
			var moveN float64
			for i := range z {
				moveN = math.Max(moveN, math.Abs(z[i]-xk[i]))
			}
			if step <= proxStepTol*moveN+4*math.SmallestNonzeroFloat64 {
				converged = true
				break
			}
		}
	}
	if !converged {
		return fmt.Errorf("the proximal step did not converge in %d Newton iterations (h = %g may be too large for this f)", ProximalMaxIter, h)
	}
	copy(loc.X, z)
	copy(loc.Grad, g)
	loc.F = fz
	m.k++
	loc.T = m.t0 + float64(m.k)*h
	return nil
}

// factor factorises A = ∇²f + (1/h + μ)I by Cholesky, with the smallest
// shift μ ∈ {0, 1e-8·s, 1e-6·s, …} (s the scale of A's diagonal) that makes
// A positive definite.
func (m *ImplicitEuler) factor(n int, h float64) error {
	scale := 1 / h
	for i := 0; i < n; i++ {
		scale = math.Max(scale, math.Abs(m.hess.At(i, i)))
	}
	mu := 0.0
	for try := 0; try < 20; try++ {
		for i := 0; i < n; i++ {
			for j := i; j < n; j++ {
				v := m.hess.At(i, j)
				if i == j {
					v += 1/h + mu
				}
				m.a.Data[i*n+j] = v
			}
		}
		if _, ok := lapack64.Potrf(m.a); ok {
			return nil
		}
		if mu == 0 {
			mu = 1e-8 * scale
		} else {
			mu *= 100
		}
	}
	return fmt.Errorf("the Hessian is not finite or cannot be made positive definite")
}

func (*ImplicitEuler) gradientFlow()             {}
func (m *ImplicitEuler) evaluations() (int, int) { return m.evals, 0 }
