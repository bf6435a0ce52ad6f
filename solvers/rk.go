// Runge–Kutta methods for dx/dt = −∇f: classical RK4 and adaptive Dormand–Prince 5(4) with dense output.
package solvers

import (
	"errors"
	"fmt"
	"math"
)

// RK4 is the classical fourth-order Runge–Kutta method on dx/dt = −∇f(x)
// (the notes' (67); Hairer, Nørsett & Wanner, Solving ODEs I, §II.1):
//
//	k₁ = −∇f(x_k),  k₂ = −∇f(x_k + h/2·k₁),  k₃ = −∇f(x_k + h/2·k₂),
//	k₄ = −∇f(x_k + h·k₃),  x_{k+1} = x_k + h/6·(k₁ + 2k₂ + 2k₃ + k₄).
//
// Global error O(h⁴); four gradient evaluations a step (the last one, at
// x_{k+1}, is the next step's k₁). On a quadratic it is stable for
// hλ < 2.785 for every Hessian eigenvalue λ. H has no default.
type RK4 struct {
	H float64

	p              *Problem
	t0             float64
	k              int
	evals          int
	xs, k2, k3, k4 []float64
}

var (
	_ Method       = (*RK4)(nil)
	_ GradientFlow = (*RK4)(nil)
	_ Stable       = (*RK4)(nil)
)

// rk4Real is where RK4's stability region meets the negative real axis:
// the root of 1 − z + z²/2 − z³/6 + z⁴/24 = −1 (HNW I, §IV.2).
const rk4Real = 2.785293563405282

// Needs reports that RK4 needs only f and ∇f.
func (m *RK4) Needs() Needs { return Needs{} }

// Init checks the step and allocates the stages.
func (m *RK4) Init(p *Problem, loc *Location, _ *Settings) error {
	if err := checkPositive("h", m.H); err != nil {
		return err
	}
	n := p.Dim
	m.p, m.t0, m.k, m.evals = p, loc.T, 0, 0
	m.xs, m.k2, m.k3, m.k4 = make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	return nil
}

// Step takes one RK4 step. The stages hold gradients (k = −g).
func (m *RK4) Step(loc *Location) error {
	n, p, h := len(loc.X), m.p, m.H
	x, g1, xs, g2, g3, g4 := loc.X[:n:n], loc.Grad[:n:n], m.xs[:n:n], m.k2[:n:n], m.k3[:n:n], m.k4[:n:n]
	for i := 0; i < n; i++ {
		xs[i] = x[i] - h/2*g1[i]
	}
	p.FuncGrad(g2, xs)
	for i := 0; i < n; i++ {
		xs[i] = x[i] - h/2*g2[i]
	}
	p.FuncGrad(g3, xs)
	for i := 0; i < n; i++ {
		xs[i] = x[i] - h*g3[i]
	}
	p.FuncGrad(g4, xs)
	for i := 0; i < n; i++ {
		x[i] -= h / 6 * (g1[i] + 2*g2[i] + 2*g3[i] + g4[i])
	}
	loc.F = p.FuncGrad(g1, x)
	m.evals += 4
	m.k++
	loc.T = m.t0 + float64(m.k)*h
	return nil
}

// StabilityBound is h < 2.785/L.
func (m *RK4) StabilityBound(L float64) (float64, float64, string) {
	return rk4Real / L, m.H, "h < 2.785/L"
}

func (*RK4) gradientFlow()             {}
func (m *RK4) evaluations() (int, int) { return m.evals, 0 }

// RK45 is the Dormand–Prince 5(4) pair with local extrapolation, FSAL and
// step-size control (Dormand & Prince 1980; Hairer, Nørsett & Wanner,
// Solving ODEs I, §II.4–II.6 and their code DOPRI5), on dx/dt = −∇f(x).
//
// A step of size h is accepted when the scaled error of the embedded
// fourth-order solution,
//
//	err = sqrt( (1/n) Σᵢ (eᵢ / (Atol + Rtol·max(|x_k,i|, |x_{k+1},i|)))² ),
//
// is at most 1, and the next step is h·min(5, max(0.2, 0.9·err^{−1/5}))
// (no growth right after a rejection). The first step is chosen by HNW's
// algorithm (§II.4). Rows between steps come from the method's
// fourth-order continuous extension (dense output), so that output does
// not perturb the step sequence; a t ≥ T condition is met exactly, by
// shortening the last step. Zero tolerances mean the defaults,
// Rtol = 1e-6 and Atol = 1e-9.
type RK45 struct {
	Rtol, Atol float64

	p        *Problem
	h        float64 // next step to try
	tEnd     float64 // +Inf when no t ≥ T condition
	rejected bool
	evals    int
	rejects  int

	y, k1, k2, k3, k4, k5, k6, k7, ys, yn, g7 []float64
	// the last step's start y₀ (its end is yn), for the dense output
	r1      []float64
	dt0, dh float64
}

var (
	_ Method       = (*RK45)(nil)
	_ GradientFlow = (*RK45)(nil)
	_ DenseOutput  = (*RK45)(nil)
)

// Defaults of RK45.
const (
	DefaultRtol = 1e-6
	DefaultAtol = 1e-9
)

// Dormand–Prince coefficients (HNW I, Table II.5.2).
const (
	dpC2, dpC3, dpC4, dpC5 = 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9

	dpA21                             = 1.0 / 5
	dpA31, dpA32                      = 3.0 / 40, 9.0 / 40
	dpA41, dpA42, dpA43               = 44.0 / 45, -56.0 / 15, 32.0 / 9
	dpA51, dpA52, dpA53, dpA54        = 19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729
	dpA61, dpA62, dpA63, dpA64, dpA65 = 9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656
	dpA71, dpA73, dpA74, dpA75, dpA76 = 35.0 / 384, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84

	// error coefficients: fifth minus fourth order weights
	dpE1, dpE3, dpE4, dpE5, dpE6, dpE7 = 71.0 / 57600, -71.0 / 16695, 71.0 / 1920, -17253.0 / 339200, 22.0 / 525, -1.0 / 40

	// dense output (DOPRI5's CONTD5)
	dpD1, dpD3, dpD4, dpD5, dpD6, dpD7 = -12715105075.0 / 11282082432, 87487479700.0 / 32700410799, -10690763975.0 / 1880347072,
		701980252875.0 / 199316789632, -1453857185.0 / 822651844, 69997945.0 / 29380423
)

// Needs reports that RK45 needs only f and ∇f.
func (m *RK45) Needs() Needs { return Needs{} }

// Init checks the tolerances, finds the end time of a t ≥ T condition and
// chooses the first step.
func (m *RK45) Init(p *Problem, loc *Location, s *Settings) error {
	if m.Rtol == 0 {
		m.Rtol = DefaultRtol
	}
	if m.Atol == 0 {
		m.Atol = DefaultAtol
	}
	if err := checkPositive("rtol", m.Rtol); err != nil {
		return err
	}
	if err := checkPositive("atol", m.Atol); err != nil {
		return err
	}
	if m.Rtol < 1e-14 {
		return errors.New("rtol must be at least 1e-14 (double precision cannot do better)")
	}
	n := p.Dim
	m.p, m.evals, m.rejects, m.rejected = p, 0, 0, false
	vec := func() []float64 { return make([]float64, n) }
	m.y, m.k1, m.k2, m.k3, m.k4, m.k5, m.k6, m.k7, m.ys, m.yn, m.g7 = vec(), vec(), vec(), vec(), vec(), vec(), vec(), vec(), vec(), vec(), vec()
	m.r1 = vec()
	m.tEnd = math.Inf(1)
	if s != nil {
		for _, c := range s.Until {
			if c.Quantity == QTime && (c.Op == ">=" || c.Op == ">") && c.Value > loc.T {
				m.tEnd = math.Min(m.tEnd, c.Value)
			}
		}
	}
	for i, g := range loc.Grad {
		m.k1[i] = -g
	}
	copy(m.r1, loc.X)
	m.dt0, m.dh = loc.T, 0
	m.h = m.initialStep(loc)
	return nil
}

// initialStep is HNW's starting step (Solving ODEs I, §II.4): h₀ =
// 0.01·‖x₀‖/‖k₁‖ in the scaled norm, then h₁ from the estimated second
// derivative so that h₁⁵·max(‖k₁‖, ‖x”‖) = 0.01, and h = min(100h₀, h₁).
func (m *RK45) initialStep(loc *Location) float64 {
	sc := func(i int, x float64) float64 { return m.Atol + m.Rtol*math.Abs(x) }
	n := float64(len(loc.X))
	var d0, d1 float64
	for i, x := range loc.X {
		d0 += (x / sc(i, x)) * (x / sc(i, x))
		d1 += (m.k1[i] / sc(i, x)) * (m.k1[i] / sc(i, x))
	}
	d0, d1 = math.Sqrt(d0/n), math.Sqrt(d1/n)
	h0 := 1e-6
	if d0 > 1e-5 && d1 > 1e-5 {
		h0 = 0.01 * d0 / d1
	}
	for i, x := range loc.X {
		m.ys[i] = x + h0*m.k1[i]
	}
	m.p.FuncGrad(m.g7, m.ys)
	m.evals++
	var d2 float64
	for i, x := range loc.X {
		e := (-m.g7[i] - m.k1[i]) / sc(i, x)
		d2 += e * e
	}
	d2 = math.Sqrt(d2/n) / h0
	if !isFinite(d2) {
		return h0
	}
	var h1 float64
	if math.Max(d1, d2) <= 1e-15 {
		h1 = math.Max(1e-6, h0*1e-3)
	} else {
		h1 = math.Pow(0.01/math.Max(d1, d2), 1.0/5)
	}
	return math.Min(100*h0, h1)
}

// Step takes one accepted step, retrying with smaller steps after
// rejections.
func (m *RK45) Step(loc *Location) error {
	p, n := m.p, len(loc.X)
	_ = dpC2 + dpC3 + dpC4 + dpC5 // the nodes, for reference: stages need no t
	// every vector resliced to n, so that the loops run without bounds checks
	y, ys, yn := loc.X[:n:n], m.ys[:n:n], m.yn[:n:n]
	k1, k2, k3, k4, k5, k6, k7 := m.k1[:n:n], m.k2[:n:n], m.k3[:n:n], m.k4[:n:n], m.k5[:n:n], m.k6[:n:n], m.k7[:n:n]
	t := loc.T
	for {
		h := m.h
		last := false
		if t+h >= m.tEnd*(1-1e-14) {
			h, last = m.tEnd-t, true
		}
		if h <= 16*unitRoundoff*math.Max(1, math.Abs(t)) {
			return fmt.Errorf("rk45: the step size fell to %.3g at t = %.6g (the flow is too stiff or not smooth for rtol = %g)", h, t, m.Rtol)
		}
		for i := 0; i < n; i++ {
			ys[i] = y[i] + h*dpA21*k1[i]
		}
		m.negGrad(k2, ys)
		for i := 0; i < n; i++ {
			ys[i] = y[i] + h*(dpA31*k1[i]+dpA32*k2[i])
		}
		m.negGrad(k3, ys)
		for i := 0; i < n; i++ {
			ys[i] = y[i] + h*(dpA41*k1[i]+dpA42*k2[i]+dpA43*k3[i])
		}
		m.negGrad(k4, ys)
		for i := 0; i < n; i++ {
			ys[i] = y[i] + h*(dpA51*k1[i]+dpA52*k2[i]+dpA53*k3[i]+dpA54*k4[i])
		}
		m.negGrad(k5, ys)
		for i := 0; i < n; i++ {
			ys[i] = y[i] + h*(dpA61*k1[i]+dpA62*k2[i]+dpA63*k3[i]+dpA64*k4[i]+dpA65*k5[i])
		}
		m.negGrad(k6, ys)
		for i := 0; i < n; i++ {
			yn[i] = y[i] + h*(dpA71*k1[i]+dpA73*k3[i]+dpA74*k4[i]+dpA75*k5[i]+dpA76*k6[i])
		}
		fNew := p.FuncGrad(m.g7, yn)
		g7 := m.g7[:n:n]
		for i := 0; i < n; i++ {
			k7[i] = -g7[i]
		}
		m.evals += 6
		var sum float64
		atol, rtol := m.Atol, m.Rtol
		for i := 0; i < n; i++ {
			e := h * (dpE1*k1[i] + dpE3*k3[i] + dpE4*k4[i] + dpE5*k5[i] + dpE6*k6[i] + dpE7*k7[i])
			a, b := math.Abs(y[i]), math.Abs(yn[i])
			if b > a {
				a = b
			}
			q := e / (atol + rtol*a)
			sum += q * q
		}
		err := math.Sqrt(sum / float64(n))
		if !isFinite(err) || !isFinite(fNew) {
			// a stage left the region where f is finite: shrink hard
			m.h = h / 5
			m.rejects++
			m.rejected = true
			continue
		}
		if err > 1 {
			m.h = h * math.Max(0.2, 0.9*math.Pow(err, -0.2))
			m.rejects++
			m.rejected = true
			continue
		}
		// accepted: keep what the dense output of [t, t + h] needs (the
		// old point, and the stages: k1 moves to k7's slice below)
		copy(m.r1, y)
		m.dt0, m.dh = t, h
		fac := 5.0
		if m.rejected {
			fac = 1
		}
		grow := 5.0
		if err > 0 {
			grow = 0.9 * math.Pow(err, -0.2)
		}
		next := h * math.Min(fac, math.Max(0.2, grow))
		if !last || next < m.h {
			m.h = next
		}
		m.rejected = false
		copy(y, yn)
		copy(loc.Grad, m.g7)
		m.k1, m.k7 = k7, k1 // FSAL: the last stage is the next step's first
		loc.F = fNew
		if last {
			loc.T = m.tEnd
		} else {
			loc.T = t + h
		}
		return nil
	}
}

// negGrad writes −∇f(x) into k.
func (m *RK45) negGrad(k, x []float64) {
	m.p.FuncGrad(k, x)
	for i := range k {
		k[i] = -k[i]
	}
}

// Interpolate evaluates the continuous extension of the last step at t
// (DOPRI5's CONTD5), computed here rather than at every step, as rows are
// rarer than steps:
//
//	x(t₀ + θh) = y₀ + θ(Δ + (1−θ)(b + θ(Δ − h·k₇ − b + (1−θ)·h·Σ dᵢkᵢ))),
//
// Δ = y₁ − y₀, b = h·k₁ − Δ. It must be called before the next step.
func (m *RK45) Interpolate(x []float64, t float64) {
	if m.dh == 0 {
		copy(x, m.r1)
		return
	}
	h := m.dh
	th := (t - m.dt0) / h
	th1 := 1 - th
	// after the step, m.k7 holds its first stage and m.k1 its last
	k1, k3, k4, k5, k6, k7 := m.k7, m.k3, m.k4, m.k5, m.k6, m.k1
	for i := range x {
		y0 := m.r1[i]
		dy := m.yn[i] - y0
		bspl := h*k1[i] - dy
		r4 := dy - h*k7[i] - bspl
		r5 := h * (dpD1*k1[i] + dpD3*k3[i] + dpD4*k4[i] + dpD5*k5[i] + dpD6*k6[i] + dpD7*k7[i])
		x[i] = y0 + th*(dy+th1*(bspl+th*(r4+th1*r5)))
	}
}

func (*RK45) gradientFlow()             {}
func (m *RK45) evaluations() (int, int) { return m.evals, m.rejects }

// unitRoundoff is the unit round-off of float64.
const unitRoundoff = 0x1p-52
