// The table of particle methods for the language: names, parameters, defaults, and construction.
package solvers

import (
	"fmt"
	"math"
	"slices"
)

// ParticleParam is a parameter of a particle method in scripts.
type ParticleParam struct {
	Name string
	// Default is the value when the parameter is not given; NaN when it is
	// computed from the run (blob's eps, svgd's bandwidth) or absent
	// (batch: exact interaction).
	Default float64
	Doc     string
}

// ParticleMethodInfo describes a particle method for the language: the
// REPL completes its parameters, and the run statement checks them.
type ParticleMethodInfo struct {
	Name    string
	Summary string
	Params  []ParticleParam
}

var batchParam = ParticleParam{Name: "batch", Default: math.NaN(),
	Doc: "random batch size B ≥ 2 for the interaction (O(N·B) per step; default: exact O(N²))"}

var hParam = ParticleParam{Name: "h", Default: DefaultParticleStep, Doc: "time step"}

var particleMethods = []ParticleMethodInfo{
	{Name: "langevin", Summary: "Euler–Maruyama for dx = −∇V dt − (∇W∗μ) dt + √(2/β) dW",
		Params: []ParticleParam{hParam, batchParam}},
	{Name: "mala", Summary: "Metropolis-adjusted Langevin for the Gibbs law ∝ exp(−βV)",
		Params: []ParticleParam{hParam}},
	{Name: "particles", Summary: "deterministic particles dx/dt = −∇V − ∇W∗μ (no entropy)",
		Params: []ParticleParam{hParam, batchParam}},
	{Name: "blob", Summary: "deterministic blob method: entropy through a Gaussian-smoothed density",
		Params: []ParticleParam{hParam,
			{Name: "eps", Default: math.NaN(), Doc: "mollifier width ε (default: Scott's bandwidth of the initial cloud)"},
			batchParam}},
	{Name: "svgd", Summary: "Stein variational gradient descent with an RBF kernel",
		Params: []ParticleParam{hParam,
			{Name: "bandwidth", Default: math.NaN(), Doc: "kernel bandwidth H in exp(−|x−y|²/H) (default: median heuristic med²/log N)"},
			batchParam}},
}

// ParticleMethods returns the particle methods in the order of SPEC §3.3.
func ParticleMethods() []ParticleMethodInfo {
	return slices.Clone(particleMethods)
}

// ParticleMethodNames returns the names of the particle methods.
func ParticleMethodNames() []string {
	names := make([]string, len(particleMethods))
	for i, m := range particleMethods {
		names[i] = m.Name
	}
	return names
}

// ParamError reports a method parameter with a value it cannot take.
type ParamError struct {
	Method string
	Param  string
	Value  float64
	Want   string
}

func (e *ParamError) Error() string {
	return fmt.Sprintf("%s: %s must be %s, not %g", e.Method, e.Param, e.Want, e.Value)
}

// NewParticleMethod builds the particle method called name with the given
// parameters (absent ones take their defaults). A batch parameter goes to
// s.Batch. Unknown names and parameters are errors; callers wanting
// spelling hints check them against ParticleMethods first.
func NewParticleMethod(name string, params map[string]float64, s *ParticleSettings) (ParticleMethod, error) {
	i := slices.IndexFunc(particleMethods, func(m ParticleMethodInfo) bool { return m.Name == name })
	if i < 0 {
		return nil, fmt.Errorf("unknown particle method %q (the particle methods are %s)", name, orList(ParticleMethodNames()))
	}
	info := particleMethods[i]
	for k := range params {
		if !slices.ContainsFunc(info.Params, func(p ParticleParam) bool { return p.Name == k }) {
			return nil, fmt.Errorf("%s has no parameter %q", name, k)
		}
	}
	h, ok := params["h"]
	if !ok {
		h = DefaultParticleStep
	}
	if !(h > 0) || math.IsInf(h, 0) {
		return nil, &ParamError{Method: name, Param: "h", Value: h, Want: "a positive number"}
	}
	if b, ok := params["batch"]; ok {
		if b != math.Trunc(b) || b < 2 || b > math.MaxInt32 {
			return nil, &ParamError{Method: name, Param: "batch", Value: b, Want: "a whole number ≥ 2"}
		}
		if s != nil {
			s.Batch = int(b)
		}
	}
	positive := func(k string) (float64, error) {
		v, ok := params[k]
		if !ok {
			return 0, nil
		}
		if !(v > 0) || math.IsInf(v, 0) {
			return 0, &ParamError{Method: name, Param: k, Value: v, Want: "a positive number"}
		}
		return v, nil
	}
	switch name {
	case "langevin":
		return &Langevin{H: h}, nil
	case "mala":
		return &MALA{H: h}, nil
	case "particles":
		return &Deterministic{H: h}, nil
	case "blob":
		eps, err := positive("eps")
		if err != nil {
			return nil, err
		}
		return &Blob{H: h, Eps: eps}, nil
	default: // svgd
		bw, err := positive("bandwidth")
		if err != nil {
			return nil, err
		}
		return &SVGD{H: h, Bandwidth: bw}, nil
	}
}
