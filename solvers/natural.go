// Preconditioned steps: the natural gradient (a metric M(x)) and damped Newton (the Hessian).
package solvers

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack"
	"gonum.org/v1/gonum/lapack/lapack64"
	"gonum.org/v1/gonum/mat"
)

// MaxCondition is the largest condition number of a metric or Hessian
// that a step will solve with; beyond it the matrix counts as singular
// (a solve would lose all but a couple of digits).
const MaxCondition = 1e14

// Natural is natural gradient descent (Amari 1998, "Natural gradient
// works efficiently in learning"; the notes' "优化视角" section, with M the
// Fisher information matrix):
//
//	x_{k+1} = x_k − h M(x_k)⁻¹ ∇f(x_k),   t_{k+1} = t_k + h,
//
// the explicit Euler scheme of the flow dx/dt = −M(x)⁻¹∇f(x), steepest
// descent in the metric M. The linear system M d = ∇f is solved by LU
// factorisation with partial pivoting (LAPACK through gonum), never by
// inverting M;
// a step fails when M is not finite, its condition number exceeds
// MaxCondition, or it is not positive definite along ∇f (∇f·M⁻¹∇f < 0:
// the step would go uphill). H has no default; the Problem supplies M.
type Natural struct {
	H float64

	p     *Problem
	t0    float64
	k     int
	evals int
	m     *mat.Dense
	ls    *denseSolver
	d     []float64
}

var _ Method = (*Natural)(nil)

// Needs reports that Natural needs the metric.
func (m *Natural) Needs() Needs { return Needs{Metric: true} }

// Init checks the step and allocates the workspace.
func (m *Natural) Init(p *Problem, loc *Location, _ *Settings) error {
	if err := checkPositive("h", m.H); err != nil {
		return err
	}
	n := p.Dim
	m.p, m.t0, m.k, m.evals = p, loc.T, 0, 0
	m.m = mat.NewDense(n, n, nil)
	m.d = make([]float64, n)
	m.ls = newDenseSolver(n)
	return nil
}

// Step solves M(x)d = ∇f(x) and moves to x − h·d.
func (m *Natural) Step(loc *Location) error {
	m.p.Metric(m.m, loc.X)
	if err := m.ls.solve(m.m.RawMatrix().Data, loc.Grad, m.d, "metric"); err != nil {
		return err
	}
	// a metric must be positive definite: then ∇f·M⁻¹∇f > 0 and the step
	// goes downhill
	if slope := vdot(loc.Grad, m.d); slope < 0 {
		return fmt.Errorf("the metric is not positive definite at x = %v: ∇f·M⁻¹∇f = %.3g < 0, the step would go uphill", roundAll(loc.X), slope)
	}
	x, h := loc.X, m.H
	for i := range x {
		x[i] -= h * m.d[i]
	}
	loc.F = m.p.FuncGrad(loc.Grad, x)
	m.evals++
	m.k++
	loc.T = m.t0 + float64(m.k)*h
	return nil
}

func (m *Natural) evaluations() (int, int) { return m.evals, 0 }

// denseSolver solves n×n systems by LU factorisation with partial
// pivoting (LAPACK's dgetrf/dgetrs through gonum's lapack64) and
// estimates the condition number (dgecon), in workspace allocated once:
// a solve allocates nothing.
type denseSolver struct {
	a     blas64.General
	b     blas64.General
	ipiv  []int
	work  []float64
	iwork []int
}

func newDenseSolver(n int) *denseSolver {
	return &denseSolver{
		a:     blas64.General{Rows: n, Cols: n, Stride: n, Data: make([]float64, n*n)},
		b:     blas64.General{Rows: n, Cols: 1, Stride: 1, Data: make([]float64, n)},
		ipiv:  make([]int, n),
		work:  make([]float64, 4*n),
		iwork: make([]int, n),
	}
}

// solve writes the solution of m·x = rhs into x, where m holds the matrix
// row by row. It fails when m is not finite or is singular to working
// precision (condition number above MaxCondition).
func (s *denseSolver) solve(m, rhs, x []float64, what string) error {
	n := s.a.Rows
	for k, v := range m {
		if !isFinite(v) {
			return fmt.Errorf("the %s has a non-finite entry at [%d, %d]", what, k/n+1, k%n+1)
		}
	}
	copy(s.a.Data, m)
	anorm := lapack64.Lange(lapack.MaxColumnSum, s.a, s.work)
	if !lapack64.Getrf(s.a, s.ipiv) {
		return &SingularError{What: what, Cond: math.Inf(1)}
	}
	rcond := lapack64.Gecon(lapack.MaxColumnSum, s.a, anorm, s.work, s.iwork)
	if !(rcond >= 1/MaxCondition) {
		return &SingularError{What: what, Cond: 1 / rcond}
	}
	copy(s.b.Data, rhs)
	lapack64.Getrs(blas.NoTrans, s.a, s.b, s.ipiv)
	copy(x, s.b.Data)
	return nil
}

// solveLU solves a·dst = b for gonum matrices (outside inner loops).
func solveLU(a *mat.Dense, dst, b *mat.VecDense, what string) error {
	n, _ := a.Dims()
	s := newDenseSolver(n)
	m := make([]float64, 0, n*n)
	for i := 0; i < n; i++ {
		m = append(m, a.RawRowView(i)...)
	}
	x := make([]float64, n)
	rhs := make([]float64, n)
	for i := range rhs {
		rhs[i] = b.AtVec(i)
	}
	if err := s.solve(m, rhs, x, what); err != nil {
		return err
	}
	for i, v := range x {
		dst.SetVec(i, v)
	}
	return nil
}

// SingularError reports a metric or Hessian that is singular at the
// current point.
type SingularError struct {
	What string
	Cond float64
}

func (e *SingularError) Error() string {
	if math.IsInf(e.Cond, 1) {
		return fmt.Sprintf("the %s is singular", e.What)
	}
	return fmt.Sprintf("the %s is singular to working precision (condition number %.3g)", e.What, e.Cond)
}

// Newton is the damped Newton method (Nocedal & Wright, Numerical
// Optimization, 2nd ed., §3.3; Boyd & Vandenberghe, Convex Optimization,
// §9.5):
//
//	x_{k+1} = x_k − h ∇²f(x_k)⁻¹ ∇f(x_k),   t_{k+1} = t_k + h,
//
// the explicit Euler scheme of the continuous Newton flow
// dx/dt = −∇²f(x)⁻¹∇f(x), along which ∇f decays as e^{−t}. h = 1 is the
// pure Newton step, quadratically convergent near a nondegenerate
// critical point. The Hessian system is solved by LU (it may be
// indefinite: Newton is attracted by saddles and maxima too); a step fails
// when the Hessian is singular (condition number above MaxCondition).
// H defaults to 1 in the language.
type Newton struct {
	H float64

	p     *Problem
	t0    float64
	k     int
	evals int
	hess  *mat.SymDense
	a     []float64
	ls    *denseSolver
	d     []float64
}

var _ Method = (*Newton)(nil)

// Needs reports that Newton needs the Hessian.
func (m *Newton) Needs() Needs { return Needs{Hessian: true} }

// Init checks the step and allocates the workspace.
func (m *Newton) Init(p *Problem, loc *Location, _ *Settings) error {
	if err := checkPositive("h", m.H); err != nil {
		return err
	}
	n := p.Dim
	m.p, m.t0, m.k, m.evals = p, loc.T, 0, 0
	m.hess = mat.NewSymDense(n, nil)
	m.a = make([]float64, n*n)
	m.d = make([]float64, n)
	m.ls = newDenseSolver(n)
	return nil
}

// Step solves ∇²f(x)d = ∇f(x) and moves to x − h·d.
func (m *Newton) Step(loc *Location) error {
	m.p.Hess(m.hess, loc.X)
	n := len(loc.X)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			m.a[i*n+j] = m.hess.At(i, j)
		}
	}
	if err := m.ls.solve(m.a, loc.Grad, m.d, "Hessian"); err != nil {
		return err
	}
	x, h := loc.X, m.H
	for i := range x {
		x[i] -= h * m.d[i]
	}
	loc.F = m.p.FuncGrad(loc.Grad, x)
	m.evals++
	m.k++
	loc.T = m.t0 + float64(m.k)*h
	return nil
}

func (m *Newton) evaluations() (int, int) { return m.evals, 0 }
