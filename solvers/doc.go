// Package solvers runs flowlang's flows: Euclidean gradient flows of an
// objective f(x) with nine integrators, and (in the particle files)
// flows of densities by particle methods, with Wasserstein distances. It
// sits after autodiff in the pipeline: the language resolves a script to
// expression DAGs, autodiff compiles them to tapes, and the solvers run
// the tapes.
//
// # Euclidean flows
//
// The design follows gonum/optimize. A Problem holds plain functions —
// FuncGrad (f and ∇f into the caller's slice), Hess, Metric — which
// CompileObjective builds from expressions: f, ∇f and, when the method
// needs them, the Hessian's upper triangle and a metric's entries are the
// outputs of one autodiff tape, so their common subexpressions are
// computed once. A Problem runs its tape on its own Machine: one Problem
// per goroutine.
//
// A Method (Init, Step, Needs) advances a Location (x, f, ∇f, t) by one
// step; Flow drives it under Settings (whose zero values mean their
// documented defaults): stopping conditions joined by or (steps, t,
// ‖∇f‖, f), rows every K steps (or every Δt by dense output for the
// adaptive rk45), monitored quantities, cancellation through a context,
// and progress reports. The methods are Euler, ImplicitEuler (the
// proximal step by safeguarded Newton), RK4, RK45 (Dormand–Prince with
// error control and dense output), Normalized, HeavyBall, Nesterov,
// Natural (a metric, solved by LU, never inverted) and Newton; each one's
// doc comment states its scheme and a reference. Steps allocate nothing:
// a method allocates its workspace in Init.
//
// Flow keeps no trajectory: its Diagnostics are accumulated step by step
// — monotonicity of f (the largest increase if not), the residual of the
// energy identity df/dt = −‖∇f‖² for the methods that integrate the
// gradient flow itself, the trajectory's length, the trend of every
// monitored quantity — and a bounded set of samples (MaxSamples) feeds a
// fit of the convergence rate of f − f_final (exponential or power law).
// KeepPath keeps a bounded, evenly thinned trajectory for plots.
//
// A run that produces NaN or ±Inf, or grows without bound (BlowUpFactor),
// ends with a *DivergedError naming the step and the method, the
// subexpression that first became non-finite (Problem.Explain, from the
// tape's FirstNonFinite) and, for explicit methods (Stable), the
// stability bound with L the Hessian's largest eigenvalue at the start or
// where the run blew up. A method that cannot step (a singular metric or
// Hessian, a proximal step that does not converge) ends the run with a
// *StepError.
//
// FindCritical solves ∇f = 0 by Newton's method with a watchdog and
// Levenberg–Marquardt safeguards, and classifies the point by the
// Hessian's eigenvalues.
//
// Methods lists the methods for objectives with their parameters and
// defaults, for the language and the REPL.
package solvers
