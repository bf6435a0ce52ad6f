// Explicit first-order steps: gradient descent (explicit Euler) and normalized steepest descent.
package solvers

import (
	"errors"
	"math"
)

// Euler is gradient descent, the explicit Euler scheme for the gradient
// flow dx/dt = −∇f(x):
//
//	x_{k+1} = x_k − h ∇f(x_k),   t_{k+1} = t_k + h.
//
// It is first order (global error O(h)) and, on a convex f whose Hessian's
// largest eigenvalue is L, stable and monotone for h < 2/L (the notes'
// §1 and §9.1; Nocedal & Wright, Numerical Optimization, 2nd ed., §3.3).
// H has no default.
type Euler struct {
	H float64

	p     *Problem
	t0    float64
	k     int
	evals int
}

var (
	_ Method       = (*Euler)(nil)
	_ GradientFlow = (*Euler)(nil)
	_ Stable       = (*Euler)(nil)
)

// Needs reports that Euler needs only f and ∇f.
func (m *Euler) Needs() Needs { return Needs{} }

// Init checks the step and resets the step count.
func (m *Euler) Init(p *Problem, loc *Location, _ *Settings) error {
	if err := checkPositive("h", m.H); err != nil {
		return err
	}
	m.p, m.t0, m.k, m.evals = p, loc.T, 0, 0
	return nil
}

// Step takes one gradient-descent step.
func (m *Euler) Step(loc *Location) error {
	x, h := loc.X, m.H
	g := loc.Grad[:len(x)]
	for i := range x {
		x[i] -= h * g[i]
	}
	loc.F = m.p.FuncGrad(g, x)
	m.k++
	m.evals++
	loc.T = m.t0 + float64(m.k)*h
	return nil
}

// StabilityBound is h < 2/L: on a quadratic with Hessian eigenvalue λ the
// error is multiplied by 1 − hλ each step.
func (m *Euler) StabilityBound(L float64) (float64, float64, string) {
	return 2 / L, m.H, "h < 2/L"
}

func (*Euler) gradientFlow()             {}
func (m *Euler) evaluations() (int, int) { return m.evals, 0 }

// Normalized is steepest descent with a fixed step length ε in the
// Euclidean norm (the notes' "最速方向", the minimiser of the linearised f
// on the sphere ‖x − x_k‖ = ε; Boyd & Vandenberghe, Convex Optimization,
// §9.4.1):
//
//	x_{k+1} = x_k − ε ∇f(x_k)/‖∇f(x_k)‖,   t_{k+1} = t_k + ε,
//
// so t is the arc length travelled. It does not slow down near a
// minimiser and ends up oscillating within ε of it. Where ∇f = 0 it stays
// put. Eps has no default.
type Normalized struct {
	Eps float64

	p     *Problem
	t0    float64
	k     int
	evals int
}

var _ Method = (*Normalized)(nil)

// Needs reports that Normalized needs only f and ∇f.
func (m *Normalized) Needs() Needs { return Needs{} }

// Init checks the step length.
func (m *Normalized) Init(p *Problem, loc *Location, _ *Settings) error {
	if err := checkPositive("eps", m.Eps); err != nil {
		return err
	}
	m.p, m.t0, m.k, m.evals = p, loc.T, 0, 0
	return nil
}

// Step moves a distance ε down the gradient.
func (m *Normalized) Step(loc *Location) error {
	x, g := loc.X, loc.Grad
	norm := math.Sqrt(vdot(g, g))
	m.k++
	loc.T = m.t0 + float64(m.k)*m.Eps
	if norm == 0 {
		return nil
	}
	s := m.Eps / norm
	for i := range x {
		x[i] -= s * g[i]
	}
	loc.F = m.p.FuncGrad(g, x)
	m.evals++
	return nil
}

func (m *Normalized) evaluations() (int, int) { return m.evals, 0 }

// positive checks that a parameter is a positive finite number.
func checkPositive(name string, v float64) error {
	if !(v > 0) || math.IsInf(v, 0) {
		return errors.New(name + " must be a positive number")
	}
	return nil
}
