// The Euclidean flow's vocabulary: Problem, Location, Method, Settings, Result, Status and errors.
package solvers

import (
	"context"

	ad "flowlang/autodiff"
	"fmt"
	"strings"

	"gonum.org/v1/gonum/mat"
)

// Problem is an objective f: Rⁿ → R given by plain functions, in the style
// of gonum/optimize. FuncGrad is required; Hess is needed by the methods
// whose Needs say so (implicit_euler, newton), Metric by natural.
//
// The functions may keep state between calls (a compiled tape's registers),
// so a Problem belongs to one goroutine.
type Problem struct {
	// Dim is the number of variables n.
	Dim int
	// FuncGrad writes ∇f(x) into grad and returns f(x).
	FuncGrad func(grad, x []float64) float64
	// Func returns f(x). When nil, FuncGrad is used with a scratch gradient.
	Func func(x []float64) float64
	// Hess writes the Hessian ∇²f(x) into hess (n×n).
	Hess func(hess *mat.SymDense, x []float64)
	// Metric writes the metric M(x) of the natural gradient into m (n×n).
	Metric func(m *mat.Dense, x []float64)
	// Explain, when set, names the subexpression of f or ∇f that first
	// turns NaN or infinite at x (for divergence messages).
	Explain func(x []float64) string
	// Tape, when set, is the compiled machine behind FuncGrad: its inputs
	// are the n variables and its first 1+n outputs are f and ∇f. Flow then
	// runs euler steps in the machine's registers, without copies or calls
	// per step.
	Tape *ad.Machine
}

// Needs says what a method needs from a Problem besides FuncGrad.
type Needs struct {
	Hessian bool
	Metric  bool
}

// Location is the state of a run: the point, f and ∇f there, and the time.
// Methods keep F and Grad equal to f(X) and ∇f(X) after every step.
type Location struct {
	X    []float64
	F    float64
	Grad []float64
	T    float64
}

// Method advances a Location by one step. A Method is used by one run at a
// time; Init prepares it for a problem (allocating its scratch space once)
// and resets its history, so that Step allocates nothing.
type Method interface {
	// Needs reports what the method needs from the Problem.
	Needs() Needs
	// Init prepares the method to start from loc (whose F and Grad are set).
	Init(p *Problem, loc *Location, s *Settings) error
	// Step moves loc.X one step on, advancing loc.T and updating loc.F and
	// loc.Grad. An error ends the run (a singular matrix, a failed solve).
	Step(loc *Location) error
}

// GradientFlow is implemented by the methods that integrate the gradient
// flow dx/dt = −∇f itself (not a momentum or a preconditioned flow), for
// which the energy-dissipation identity df/dt = −‖∇f‖² must hold.
type GradientFlow interface {
	Method
	gradientFlow()
}

// DenseOutput is implemented by methods with a continuous extension of
// their last step: Interpolate writes the solution at time t, which lies
// in the last step's interval [t₀, t₁], into x.
type DenseOutput interface {
	Method
	Interpolate(x []float64, t float64)
}

// Stable is implemented by explicit methods with a linear stability bound:
// on f with largest Hessian eigenvalue L the step must satisfy
// step < Bound(L); Formula describes it (e.g. "h < 2/L").
type Stable interface {
	Method
	StabilityBound(L float64) (bound, step float64, formula string)
}

// Quantity is what a stopping condition looks at.
type Quantity int

// The quantities a condition can test.
const (
	QSteps    Quantity = iota // the number of steps taken
	QTime                     // t
	QGradNorm                 // ‖∇f‖
	QValue                    // f
)

func (q Quantity) String() string {
	return [...]string{"steps", "t", "gradnorm", "value"}[q]
}

// Condition is `Quantity Op Value`, one clause of an until; Op is one of
// "<", "<=", ">", ">=".
type Condition struct {
	Quantity Quantity
	Op       string
	Value    float64
}

func (c Condition) holds(v float64) bool {
	switch c.Op {
	case "<":
		return v < c.Value
	case "<=":
		return v <= c.Value
	case ">":
		return v > c.Value
	}
	return v >= c.Value
}

func (c Condition) String() string {
	return fmt.Sprintf("%s %s %g", c.Quantity, c.Op, c.Value)
}

// Row is one row of a run's table, handed to Settings.Row. Its slices are
// reused: copy what must outlive the call.
type Row struct {
	Step     int
	T        float64
	X        []float64
	F        float64
	GradNorm float64
	Monitors []float64
}

// Settings control a run. The zero value runs no steps; set MaxSteps or
// Until. Every field's zero value means its documented default.
type Settings struct {
	// MaxSteps ends the run after this many steps (0: no step limit other
	// than DefaultStepLimit when only Until conditions are given).
	MaxSteps int
	// Until ends the run when any condition holds (they are joined by or),
	// tested after every step.
	Until []Condition
	// Every reports a row every Every steps (0: no rows except those of
	// EveryT). Rows are reported at step 0, at each multiple, and at the
	// final step.
	Every int
	// EveryT reports rows at t = 0, EveryT, 2·EveryT, … by the method's
	// dense output (for methods with adaptive steps that implement
	// DenseOutput), and at the final step.
	EveryT float64
	// Row receives each row; an error from it ends the run.
	Row func(r *Row) error

	// MonitorCount is the number of monitored quantities; Monitor writes
	// them at (x, t) into out. They are evaluated after every step, and
	// the Result says whether each was monotone.
	MonitorCount int
	Monitor      func(out, x []float64, t float64)

	// KeepPath keeps up to this many points of the trajectory, evenly
	// spread over the steps (for plots). 0 keeps none.
	KeepPath int

	// Context cancels the run; it is checked every CheckInterval steps.
	Context context.Context
	// Progress is told of the run's progress (done, total steps, t) at most
	// every ProgressInterval, with done = 0 at the start and done = −1 at
	// the end. total is 0 when unknown.
	Progress func(done, total int, t float64)

	// MethodName names the method in errors (default "the method").
	MethodName string
}

// DefaultStepLimit bounds a run whose only stopping rules are Until
// conditions that may never hold, so that it cannot run forever.
const DefaultStepLimit = 10_000_000

// Status says why a run ended.
type Status int

// The ways a run ends.
const (
	StepLimit    Status = iota // MaxSteps reached
	ConditionMet               // an Until condition held
	DefaultLimit               // DefaultStepLimit reached before any Until condition
	Cancelled                  // the context was cancelled
	RowStopped                 // the row callback returned an error
)

func (s Status) String() string {
	return [...]string{"step limit", "condition met", "default step limit", "cancelled", "stopped by output"}[s]
}

// Sample is (t, f) at one step.
type Sample struct {
	Step int
	T, F float64
}

// Result is the outcome of a run.
type Result struct {
	// Location is the final state.
	Location
	// Steps is the number of steps taken.
	Steps int
	// Status says why the run ended; Met is the condition that held.
	Status Status
	Met    Condition
	// Evaluations counts calls of FuncGrad (including those of rows).
	Evaluations int
	// Rejected counts rejected steps of adaptive methods.
	Rejected int
	// Diagnostics of the trajectory.
	Diagnostics Diagnostics
	// Path holds up to Settings.KeepPath points of the trajectory.
	Path [][]float64
	// Samples holds (t, f) at up to MaxSamples steps, spread
	// geometrically then evenly, for rate fits and plots.
	Samples []Sample
}

// DivergedError reports a run that produced NaN or ±Inf or grew without
// bound.
type DivergedError struct {
	Step   int       // the step that failed (1-based)
	T      float64   // t before that step
	Method string    // the method's name
	Reason string    // what went wrong: "f is NaN", "‖x‖ exceeded …"
	Source string    // the subexpression that first turned non-finite, if known
	Bound  string    // the stability bound, e.g. "h < 2/L = 0.002 (L = 1001.6 at the start)"
	X      []float64 // the last finite point
	// Runaway: the run grew without bound while f decreased at every step,
	// as the exact flow of an f unbounded below does; a smaller step
	// would not help.
	Runaway bool
}

func (e *DivergedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s diverged at step %d (t = %.6g): %s", e.Method, e.Step, e.T, e.Reason)
	if e.Source != "" {
		fmt.Fprintf(&b, "; %s", e.Source)
	}
	if e.Bound != "" {
		fmt.Fprintf(&b, "; %s", e.Bound)
	}
	return b.String()
}

// StepError reports a method that could not take a step: a singular
// metric or Hessian, a proximal step that did not converge.
type StepError struct {
	Step   int
	Method string
	Msg    string
}

func (e *StepError) Error() string {
	return fmt.Sprintf("%s failed at step %d: %s", e.Method, e.Step, e.Msg)
}
