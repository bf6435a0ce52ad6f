// The table of particle methods for the language: names, parameters, defaults, and construction.
package solvers

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// ParticleParam is a parameter of a particle method in scripts; the fields
// mean what lang's RunParam's do.
type ParticleParam struct {
	Name string
	Doc  string
	// Default is the value when the parameter is not given (unless
	// Required); 0 for eps, bandwidth and batch means "computed" (Scott's
	// bandwidth, the median heuristic, the exact interaction).
	Default  float64
	Required bool
	Int      bool // a whole number
	// Check validates a value (nil: any finite number); its error reads
	// after the parameter's name ("must be positive").
	Check func(v float64) error
}

// ParticleMethodInfo describes a particle method for the language: the
// REPL completes its parameters, and the run statement checks them.
type ParticleMethodInfo struct {
	Name   string
	Doc    string // one line: the scheme
	Params []ParticleParam
	// Until lists the quantities an until condition can test.
	Until []string
}

var particleStep = ParticleParam{Name: "h", Doc: "the time step", Required: true, Check: positiveParam}

var batchParam = ParticleParam{Name: "batch", Int: true, Check: batchCheck,
	Doc: "the random batch size B ≥ 2 for the interaction (O(N·B) per step instead of O(N²))"}

func batchCheck(v float64) error {
	if v != math.Trunc(v) || v < 2 || v > math.MaxInt32 {
		return errors.New("must be a whole number ≥ 2")
	}
	return nil
}

var particleMethods = []ParticleMethodInfo{
	{Name: "langevin", Doc: "Euler–Maruyama for dx = −∇V dt − (∇W∗μ) dt + √(2/β) dW",
		Params: []ParticleParam{particleStep, batchParam}},
	{Name: "mala", Doc: "Metropolis-adjusted Langevin for the Gibbs law ∝ exp(−βV)",
		Params: []ParticleParam{particleStep}},
	{Name: "particles", Doc: "deterministic particles dx/dt = −∇V − ∇W∗μ (no entropy)",
		Params: []ParticleParam{particleStep, batchParam}},
	{Name: "blob", Doc: "deterministic blob method: entropy through a Gaussian-smoothed density",
		Params: []ParticleParam{particleStep,
			{Name: "eps", Doc: "the mollifier's width ε (default: Scott's bandwidth of the initial cloud)", Check: positiveParam},
			batchParam}},
	{Name: "svgd", Doc: "Stein variational gradient descent with the kernel exp(−|x − y|²/H)",
		Params: []ParticleParam{particleStep,
			{Name: "bandwidth", Doc: "the kernel's H (default: the median heuristic med²/log N)", Check: positiveParam},
			batchParam}},
}

func init() {
	for i := range particleMethods {
		particleMethods[i].Until = []string{"steps", "t"}
	}
}

// ParticleMethods returns the particle methods in the order of SPEC §3.3.
func ParticleMethods() []ParticleMethodInfo {
	out := slices.Clone(particleMethods)
	for i := range out {
		out[i].Params = slices.Clone(out[i].Params)
		out[i].Until = slices.Clone(out[i].Until)
	}
	return out
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

// NewParticleMethod builds the particle method called name from its
// parameters (absent ones take the Go zero value's default: h = 0.01,
// computed eps and bandwidth). A batch parameter (0: exact) goes to
// s.Batch. Unknown names and parameters, and values their Check refuses,
// are errors; callers wanting spelling hints check names against
// ParticleMethods first.
func NewParticleMethod(name string, params map[string]float64, s *ParticleSettings) (ParticleMethod, error) {
	i := slices.IndexFunc(particleMethods, func(m ParticleMethodInfo) bool { return m.Name == name })
	if i < 0 {
		return nil, fmt.Errorf("unknown particle method %q (the particle methods are %s)", name, orList(ParticleMethodNames()))
	}
	info := particleMethods[i]
	for k, v := range params {
		j := slices.IndexFunc(info.Params, func(p ParticleParam) bool { return p.Name == k })
		if j < 0 {
			return nil, fmt.Errorf("%s has no parameter %q", name, k)
		}
		if k == "batch" && v == 0 {
			continue // the default: exact
		}
		if c := info.Params[j].Check; c != nil {
			if err := c(v); err != nil {
				return nil, &ParamError{Method: name, Param: k, Value: v, Want: strings.TrimPrefix(err.Error(), "must be ")}
			}
		}
	}
	if b := params["batch"]; b != 0 && s != nil {
		s.Batch = int(b)
	}
	h := params["h"]
	switch name {
	case "langevin":
		return &Langevin{H: h}, nil
	case "mala":
		return &MALA{H: h}, nil
	case "particles":
		return &Deterministic{H: h}, nil
	case "blob":
		return &Blob{H: h, Eps: params["eps"]}, nil
	default: // svgd
		return &SVGD{H: h, Bandwidth: params["bandwidth"]}, nil
	}
}
