// The table of methods for objectives: names, parameters with defaults, constructors.
package solvers

import (
	"errors"
	"math"
	"slices"
)

// ParamInfo describes a method's parameter.
type ParamInfo struct {
	Name     string
	Doc      string
	Default  float64 // the value when the parameter is not given (unless Required)
	Required bool    // the run must give it (a step size)
	// Matrix marks a parameter that is a matrix expression of the state
	// (natural's metric) rather than a number; the Problem carries it.
	Matrix bool
	// Check validates a numeric value (nil: any finite number).
	Check func(v float64) error
}

// MethodInfo describes a method for objectives.
type MethodInfo struct {
	Name   string
	Doc    string // one line: the scheme
	Params []ParamInfo
	Needs  Needs
	// Adaptive methods choose their own steps: their rows (`every`) are at
	// intervals of t, by dense output, instead of every K steps.
	Adaptive bool
	// New makes the method from its numeric parameters (defaults filled in).
	New func(params map[string]float64) Method
}

// Param returns the named parameter's description.
func (m MethodInfo) Param(name string) (ParamInfo, bool) {
	for _, p := range m.Params {
		if p.Name == name {
			return p, true
		}
	}
	return ParamInfo{}, false
}

var stepParam = ParamInfo{Name: "h", Doc: "the step size", Required: true, Check: positiveParam}

func positiveParam(v float64) error {
	if !(v > 0) || math.IsInf(v, 0) {
		return errors.New("must be positive")
	}
	return nil
}

func betaParam(v float64) error {
	if !(v >= 0 && v < 1) {
		return errors.New("must be in [0, 1)")
	}
	return nil
}

func rtolParam(v float64) error {
	if !(v >= 1e-14 && v < 1) {
		return errors.New("must be in [1e-14, 1): double precision cannot do better than 1e-14")
	}
	return nil
}

var methods = []MethodInfo{
	{Name: "euler", Doc: "gradient descent x ← x − h∇f (explicit Euler on dx/dt = −∇f)",
		Params: []ParamInfo{stepParam},
		New:    func(p map[string]float64) Method { return &Euler{H: p["h"]} }},
	{Name: "implicit_euler", Doc: "proximal step x ← argmin ‖z − x‖²/2h + f(z) (Newton on the symbolic Hessian)",
		Params: []ParamInfo{stepParam}, Needs: Needs{Hessian: true},
		New: func(p map[string]float64) Method { return &ImplicitEuler{H: p["h"]} }},
	{Name: "rk4", Doc: "classical Runge–Kutta 4 on dx/dt = −∇f",
		Params: []ParamInfo{stepParam},
		New:    func(p map[string]float64) Method { return &RK4{H: p["h"]} }},
	{Name: "rk45", Doc: "adaptive Dormand–Prince 5(4) on dx/dt = −∇f; every is an interval of t",
		Params: []ParamInfo{
			{Name: "rtol", Doc: "relative tolerance per step", Default: DefaultRtol, Check: rtolParam},
			{Name: "atol", Doc: "absolute tolerance per step", Default: DefaultAtol, Check: positiveParam},
		},
		Adaptive: true,
		New:      func(p map[string]float64) Method { return &RK45{Rtol: p["rtol"], Atol: p["atol"]} }},
	{Name: "normalized", Doc: "normalized steepest descent x ← x − ε∇f/‖∇f‖",
		Params: []ParamInfo{{Name: "eps", Doc: "the step length", Required: true, Check: positiveParam}},
		New:    func(p map[string]float64) Method { return &Normalized{Eps: p["eps"]} }},
	{Name: "heavy_ball", Doc: "Polyak's heavy ball x ← x − h∇f + β(x − x_prev)",
		Params: []ParamInfo{stepParam, {Name: "beta", Doc: "the momentum β ∈ [0, 1)", Default: DefaultBeta, Check: betaParam}},
		New:    func(p map[string]float64) Method { return &HeavyBall{H: p["h"], Beta: p["beta"]} }},
	{Name: "nesterov", Doc: "Nesterov's accelerated gradient, β_k = (k − 1)/(k + 2)",
		Params: []ParamInfo{stepParam},
		New:    func(p map[string]float64) Method { return &Nesterov{H: p["h"]} }},
	{Name: "natural", Doc: "natural gradient x ← x − h M(x)⁻¹∇f with metric = [[...]]",
		Params: []ParamInfo{stepParam, {Name: "metric", Doc: "the metric M(x), a square matrix expression of the state", Required: true, Matrix: true}},
		Needs:  Needs{Metric: true},
		New:    func(p map[string]float64) Method { return &Natural{H: p["h"]} }},
	{Name: "newton", Doc: "damped Newton x ← x − h ∇²f⁻¹∇f",
		Params: []ParamInfo{{Name: "h", Doc: "the damping (1: the full Newton step)", Default: 1, Check: positiveParam}},
		Needs:  Needs{Hessian: true},
		New:    func(p map[string]float64) Method { return &Newton{H: p["h"]} }},
}

// Methods lists the methods for objectives, in the order of SPEC §3.3.
func Methods() []MethodInfo { return slices.Clone(methods) }

// LookupMethod returns the method for objectives with this name.
func LookupMethod(name string) (MethodInfo, bool) {
	for _, m := range methods {
		if m.Name == name {
			return m, true
		}
	}
	return MethodInfo{}, false
}
