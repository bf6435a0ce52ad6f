// Diagnostics of a trajectory: monotonicity, energy dissipation, rate fits, length, monitor trends.
package solvers

import (
	"math"
)

// Diagnostics describe a run's trajectory. They are accumulated step by
// step, so a run keeps no trajectory in memory to compute them.
type Diagnostics struct {
	// Monotone reports whether f never increased by more than the rounding
	// allowance IncreaseTol·max(1, |f₀|); otherwise MaxIncrease is the
	// largest increase f_{k+1} − f_k, at step MaxIncreaseStep.
	Monotone        bool
	MaxIncrease     float64
	MaxIncreaseStep int

	// Dissipation checks the energy identity df/dt = −‖∇f‖² of the
	// gradient flow (NaN for methods that do not integrate it): the
	// relative discrepancy |Drop − Integral| / max(|Drop|, |Integral|)
	// between the decrease of f, Drop = f(t₀) − f(t_N), and the integral
	// of ‖∇f‖² over the run by the trapezoid rule,
	// Integral = Σ (t_{k+1} − t_k)(‖∇f_k‖² + ‖∇f_{k+1}‖²)/2.
	// It is O(h) for euler (first order) and O(h²) for higher-order
	// methods (the trapezoid rule's own error).
	Dissipation         float64
	DissipationDrop     float64
	DissipationIntegral float64

	// Length is the trajectory's length Σ‖x_{k+1} − x_k‖.
	Length float64

	// Rate is a fit of the decay of f − f* against t.
	Rate RateFit

	// Monitors describe each monitored quantity along the run.
	Monitors []Trend
}

// IncreaseTol is the relative size of an increase of f taken for rounding
// rather than a failure of descent: increases up to
// IncreaseTol·max(1, |f₀|, |f_k|) are ignored (a few units of rounding in
// f's evaluation, whose terms are of the size of f₀ at worst).
const IncreaseTol = 1e-14

// Trend describes a monitored quantity over a run: its first and last
// values and whether it never rose (Decreasing) or never fell
// (Increasing) beyond rounding (IncreaseTol relative).
type Trend struct {
	Initial, Final        float64
	Decreasing            bool
	Increasing            bool
	MaxRise, MaxFall      float64
	MaxRiseStep, FallStep int
}

// Monotonicity names a trend: "decreasing", "increasing", "constant" or
// "not monotone".
func (t Trend) Monotonicity() string {
	switch {
	case t.Decreasing && t.Increasing:
		return "constant"
	case t.Decreasing:
		return "decreasing"
	case t.Increasing:
		return "increasing"
	}
	return "not monotone"
}

// RateFit is a least-squares fit of the convergence of f to its limit f*:
// Kind "exponential", f − f* ≈ C·e^{−Rate·t}, or Kind "power",
// f − f* ≈ C·t^{−Rate}, whichever the data follow (see fitRate). Kind is
// "" when there are too few usable points (f reached its limit to rounding
// at once, or the run was too short).
type RateFit struct {
	Kind string
	Rate float64
	C    float64
	R2   float64
	// PerStep is the factor by which f − f* shrinks per step on average
	// over the fitted window (for an exponential fit).
	PerStep float64
	// From and To are the fitted window in t; Points how many samples it held.
	From, To float64
	Points   int
}

// MaxSamples bounds the (t, f) samples a run keeps for the rate fit.
const MaxSamples = 512

// stepSampler keeps at most cap samples evenly spread over the steps taken so
// far: it records every stride-th step and, when full, drops every other
// sample and doubles the stride.
type stepSampler[T any] struct {
	items  []T
	steps  []int
	stride int
	next   int
	cap    int
}

func newStepSampler[T any](capacity int) *stepSampler[T] {
	return &stepSampler[T]{stride: 1, cap: capacity, items: make([]T, 0, capacity), steps: make([]int, 0, capacity)}
}

// want reports whether step should be recorded.
func (s *stepSampler[T]) want(step int) bool { return s.cap > 0 && step >= s.next }

func (s *stepSampler[T]) add(step int, v T) {
	if len(s.items) == s.cap {
		k := 0
		for i := 0; i < len(s.items); i += 2 {
			s.items[k], s.steps[k] = s.items[i], s.steps[i]
			k++
		}
		s.items, s.steps = s.items[:k], s.steps[:k]
		s.stride *= 2
	}
	s.items = append(s.items, v)
	s.steps = append(s.steps, step)
	s.next = step + s.stride
}

// fitRate fits the decay of f over the samples of a run of n steps. It
// fits the rate of decrease −df/dt, estimated between consecutive samples,
// rather than f − f_final: that needs no estimate of the limit f* (f_final
// is still moving, and for a power law far from f*), and a decay
// f − f* = C·e^{−rt} or C·t^{−p} shows in −df/dt = rC·e^{−rt} or
// pC·t^{−p−1}. It uses the differences above rounding (a decrease of at
// least 1e-12 of |f|, in the part of the run where f still decreases), the
// later half of them in log t (the asymptotic regime; samples are even in
// steps, so a later half by count would span at most a factor 2 in t, too
// little to tell a power law), at least 8. When neither the exponential
// rates nor the power-law exponents of the window's two halves agree
// within 10 % (a transient still dominates: two modes, a change of
// regime), the window is narrowed to its later half, up to three times.
// The form chosen is the one whose rate differs less between the halves;
// a power law needs a window spanning a factor 2 in t.
func fitRate(samples []Sample, n int) RateFit {
	if len(samples) < 3 || n < 16 {
		return RateFit{}
	}
	type point struct {
		t, d  float64 // time and −df/dt
		steps float64
	}
	var cand []point
	for i := 1; i < len(samples); i++ {
		a, b := samples[i-1], samples[i]
		drop, dt := a.F-b.F, b.T-a.T
		if a.Step < 1 || dt <= 0 || !(drop > 1e-12*math.Max(math.Abs(a.F), math.Abs(b.F))) || drop <= 0 {
			continue
		}
		cand = append(cand, point{t: (a.T + b.T) / 2, d: drop / dt, steps: float64(a.Step+b.Step) / 2})
	}
	const minPoints = 8
	if len(cand) < minPoints {
		return RateFit{}
	}
	mid := math.Sqrt(cand[0].t * cand[len(cand)-1].t)
	k := 0
	for k < len(cand) && cand[k].t < mid {
		k++
	}
	if len(cand)-k >= minPoints {
		cand = cand[k:]
	} else {
		cand = cand[len(cand)-minPoints:]
	}
	fits := func(w []point) (aE, bE, r2E, aP, bP, r2P float64) {
		xsE := make([]float64, len(w))
		xsP := make([]float64, len(w))
		ys := make([]float64, len(w))
		for i, p := range w {
			xsE[i] = p.t
			xsP[i] = math.Log(p.t)
			ys[i] = math.Log(p.d)
		}
		aE, bE, r2E = linearFit(xsE, ys)
		aP, bP, r2P = linearFit(xsP, ys)
		return
	}
	rel := func(u, v float64) float64 {
		return math.Abs(u-v) / math.Max(math.Max(math.Abs(u), math.Abs(v)), 1e-300)
	}
	var dE, dP float64 // disagreement of the halves' rates, for each form
	for iter := 0; ; iter++ {
		if len(cand) < 2*minPoints {
			dE, dP = 0, 1 // too few points to compare: the exponential
			break
		}
		h := len(cand) / 2
		_, bE1, _, _, bP1, _ := fits(cand[:h])
		_, bE2, _, _, bP2, _ := fits(cand[h:])
		dE, dP = rel(bE1, bE2), rel(bP1, bP2)
		if dE <= 0.1 || dP <= 0.1 || iter == 3 {
			break
		}
		cand = cand[h:]
	}
	aE, bE, r2E, aP, bP, r2P := fits(cand)
	first, last := cand[0], cand[len(cand)-1]
	fit := RateFit{From: first.t, To: last.t, Points: len(cand)}
	// the form whose rate is the same on both halves of the window is the
	// one the data follow; a power law also needs a window spanning a
	// factor 2 in t (on a narrow window both fit with R² ≈ 1, as p = r·t
	// locally, and an exponential is the simpler claim)
	if dE <= dP || last.t < 2*first.t || math.IsNaN(r2P) || -bP <= 1 {
		if bE >= 0 {
			return RateFit{} // f decreases ever faster: not converging yet
		}
		// −df/dt = rC·e^{−rt}
		fit.Kind, fit.Rate, fit.R2 = "exponential", -bE, r2E
		fit.C = math.Exp(aE) / fit.Rate
		if last.steps > first.steps {
			fit.PerStep = math.Exp(bE * (last.t - first.t) / (last.steps - first.steps))
		}
	} else {
		// −df/dt = pC·t^{−p−1}
		fit.Kind, fit.Rate, fit.R2 = "power", -bP-1, r2P
		fit.C = math.Exp(aP) / fit.Rate
	}
	return fit
}

// linearFit fits y ≈ a + b·x by least squares and returns R².
func linearFit(xs, ys []float64) (a, b, r2 float64) {
	n := float64(len(xs))
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx /= n
	my /= n
	var sxx, sxy, syy float64
	for i := range xs {
		dx, dy := xs[i]-mx, ys[i]-my
		sxx += dx * dx
		sxy += dx * dy
		syy += dy * dy
	}
	if sxx == 0 {
		return my, 0, math.NaN()
	}
	b = sxy / sxx
	a = my - b*mx
	if syy == 0 {
		return a, b, 1
	}
	return a, b, sxy * sxy / (sxx * syy)
}
