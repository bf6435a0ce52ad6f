// Momentum methods: Polyak's heavy ball and Nesterov's accelerated gradient.
package solvers

import (
	"errors"
	"math"
)

// HeavyBall is Polyak's heavy-ball method (Polyak 1964, "Some methods of
// speeding up the convergence of iteration methods"; the notes' (22)):
//
//	x_{k+1} = x_k − h∇f(x_k) + β(x_k − x_{k−1}),   x_{−1} = x_0.
//
// It is the discretisation of ẍ + γẋ + ∇f(x) = 0 (the notes' (23)) with
// time step √h and β = 1 − γ√h, so t advances by √h a step. On a quadratic
// with Hessian eigenvalues in [μ, L], h = 4/(√L + √μ)² and
// β = ((√κ − 1)/(√κ + 1))², κ = L/μ, give the rate (√κ − 1)/(√κ + 1)
// per step against (κ − 1)/(κ + 1) for gradient descent. f need not
// decrease monotonically. Stable on a quadratic for h < 2(1 + β)/L.
// H has no default; Beta = 0 is gradient descent (the language's default
// is DefaultBeta).
type HeavyBall struct {
	H, Beta float64

	p     *Problem
	t0    float64
	k     int
	evals int
	prev  []float64
}

var (
	_ Method = (*HeavyBall)(nil)
	_ Stable = (*HeavyBall)(nil)
)

// DefaultBeta is the heavy ball's default momentum.
const DefaultBeta = 0.9

// Needs reports that HeavyBall needs only f and ∇f.
func (m *HeavyBall) Needs() Needs { return Needs{} }

// Init checks the parameters and forgets the previous point.
func (m *HeavyBall) Init(p *Problem, loc *Location, _ *Settings) error {
	if err := checkPositive("h", m.H); err != nil {
		return err
	}
	if !(m.Beta >= 0 && m.Beta < 1) {
		return errors.New("beta must be in [0, 1)")
	}
	m.p, m.t0, m.k, m.evals = p, loc.T, 0, 0
	m.prev = append(m.prev[:0], loc.X...)
	return nil
}

// Step takes one heavy-ball step.
func (m *HeavyBall) Step(loc *Location) error {
	x, h, b := loc.X, m.H, m.Beta
	g, prev := loc.Grad[:len(x)], m.prev[:len(x)]
	for i := range x {
		xi := x[i]
		x[i] = xi - h*g[i] + b*(xi-prev[i])
		prev[i] = xi
	}
	loc.F = m.p.FuncGrad(g, x)
	m.evals++
	m.k++
	loc.T = m.t0 + float64(m.k)*math.Sqrt(h)
	return nil
}

// StabilityBound is h < 2(1 + β)/L: on a quadratic the characteristic
// polynomial z² − (1 + β − hλ)z + β has its roots inside the unit circle
// iff hλ < 2(1 + β).
func (m *HeavyBall) StabilityBound(L float64) (float64, float64, string) {
	return 2 * (1 + m.Beta) / L, m.H, "h < 2(1 + beta)/L"
}

func (m *HeavyBall) evaluations() (int, int) { return m.evals, 0 }

// Nesterov is Nesterov's accelerated gradient method with the momentum
// β_k = (k − 1)/(k + 2) (Nesterov 1983; Su, Boyd & Candès 2016, "A
// differential equation for modeling Nesterov's accelerated gradient
// method", JMLR 17):
//
//	y_k = x_k + (k − 1)/(k + 2)·(x_k − x_{k−1}),   x_{k+1} = y_k − h∇f(y_k),
//
// for k = 0, 1, … with x_{−1} = x_0. As h → 0 it follows
// ẍ + (3/t)ẋ + ∇f(x) = 0 with t ≈ k√h, so t advances by √h a step. For
// convex f with L-Lipschitz gradient and h ≤ 1/L,
// f(x_k) − f* ≤ 2‖x_0 − x*‖²/(h(k + 1)²): O(1/t²) against O(1/t) for
// gradient descent. f need not decrease monotonically. Each step evaluates
// ∇f at y_k and f, ∇f at x_{k+1} (for the reported value). As β_k → 1 it is
// stable on a quadratic only for h < 4/(3L). H has no default.
type Nesterov struct {
	H float64

	p     *Problem
	t0    float64
	k     int
	evals int
	prev  []float64
	y, gy []float64
}

var (
	_ Method = (*Nesterov)(nil)
	_ Stable = (*Nesterov)(nil)
)

// Needs reports that Nesterov needs only f and ∇f.
func (m *Nesterov) Needs() Needs { return Needs{} }

// Init checks the step and restarts the momentum schedule.
func (m *Nesterov) Init(p *Problem, loc *Location, _ *Settings) error {
	if err := checkPositive("h", m.H); err != nil {
		return err
	}
	n := len(loc.X)
	m.p, m.t0, m.k, m.evals = p, loc.T, 0, 0
	m.prev = append(m.prev[:0], loc.X...)
	m.y, m.gy = make([]float64, n), make([]float64, n)
	return nil
}

// Step takes one Nesterov step.
func (m *Nesterov) Step(loc *Location) error {
	n, h := len(loc.X), m.H
	x, prev, y, gy := loc.X[:n:n], m.prev[:n:n], m.y[:n:n], m.gy[:n:n]
	beta := float64(m.k-1) / float64(m.k+2)
	for i := 0; i < n; i++ {
		y[i] = x[i] + beta*(x[i]-prev[i])
	}
	m.p.FuncGrad(gy, y)
	copy(prev, x)
	for i := 0; i < n; i++ {
		x[i] = y[i] - h*gy[i]
	}
	loc.F = m.p.FuncGrad(loc.Grad, x)
	m.evals += 2
	m.k++
	loc.T = m.t0 + float64(m.k)*math.Sqrt(h)
	return nil
}

// StabilityBound is h < 4/(3L): with β → 1 the characteristic polynomial
// z² − 2(1 − hλ)z + (1 − hλ) has its roots in the unit circle iff
// −1/3 < 1 − hλ < 1.
func (m *Nesterov) StabilityBound(L float64) (float64, float64, string) {
	return 4 / (3 * L), m.H, "h < 4/(3L)"
}

func (m *Nesterov) evaluations() (int, int) { return m.evals, 0 }
