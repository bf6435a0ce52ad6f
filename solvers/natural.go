// Preconditioned steps: the natural gradient (a metric M(x)) and damped Newton (the Hessian).
package solvers

import (
	"fmt"
	"math"

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
// factorisation with partial pivoting (gonum/mat), never by inverting M;
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
	lu    mat.LU
	gv    *mat.VecDense
	dv    *mat.VecDense
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
	m.dv = mat.NewVecDense(n, m.d)
	m.gv = mat.NewVecDense(n, loc.Grad)
	return nil
}

// Step solves M(x)d = ∇f(x) and moves to x − h·d.
func (m *Natural) Step(loc *Location) error {
	m.p.Metric(m.m, loc.X)
	if err := solveLU(&m.lu, m.m, m.dv, m.gv, "metric"); err != nil {
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

// solveLU solves a·dst = b, failing when a is not finite or is singular
// to working precision (condition number above MaxCondition).
func solveLU(lu *mat.LU, a *mat.Dense, dst, b *mat.VecDense, what string) error {
	r, c := a.Dims()
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			if !isFinite(a.At(i, j)) {
				return fmt.Errorf("the %s has a non-finite entry at [%d, %d]", what, i+1, j+1)
			}
		}
	}
	lu.Factorize(a)
	if cond := lu.Cond(); !(cond <= MaxCondition) {
		return &SingularError{What: what, Cond: cond}
	}
	if err := lu.SolveVecTo(dst, false, b); err != nil {
		return &SingularError{What: what, Cond: math.Inf(1)}
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
	a     *mat.Dense
	lu    mat.LU
	gv    *mat.VecDense
	dv    *mat.VecDense
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
	m.a = mat.NewDense(n, n, nil)
	m.d = make([]float64, n)
	m.dv = mat.NewVecDense(n, m.d)
	m.gv = mat.NewVecDense(n, loc.Grad)
	return nil
}

// Step solves ∇²f(x)d = ∇f(x) and moves to x − h·d.
func (m *Newton) Step(loc *Location) error {
	m.p.Hess(m.hess, loc.X)
	m.a.Copy(m.hess)
	if err := solveLU(&m.lu, m.a, m.dv, m.gv, "Hessian"); err != nil {
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
