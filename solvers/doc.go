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
//
// # Particle methods
//
// A free energy F[ρ] = ∫V dρ + ½∬W(x − y) dρ(x)dρ(y) + D∫ρ log ρ is a
// ParticleProblem: the potential's and the interaction's gradients (and
// optionally values) as tapes, and D = 1/β. Its Wasserstein gradient flow
// is followed by N particles held as structure of arrays (Particles:
// X[c][i]) with the empirical measure μ in place of ρ: the drift
// −∇V(xᵢ) − (1/N)Σⱼ∇W(xᵢ − xⱼ) — exact O(N²), or by random batches — and
// the entropy, which μ cannot see, as Brownian noise (Langevin, MALA) or
// through a smoothed density (Blob, SVGD); Deterministic refuses it. Each
// method's doc comment states its scheme and a reference; ParticleMethods
// and NewParticleMethod give the table the language uses, and a method's
// Check names the terms it cannot handle (*TermError).
//
// RunParticles steps a cloud under ParticleSettings (steps, until on steps
// and t, rows every K steps, seed, workers, batch, memory budget) and
// reports ParticleRows (mean and population variance per coordinate, the
// energy where it can be computed) and a ParticleResult. The tapes run in
// batch mode over blocks of particles, one Machine per worker of a pool of
// GOMAXPROCS goroutines. Random numbers come from one PCG stream per
// StreamBlock of particles seeded by (seed, block), sums over blocks are
// added in block order, so a seed gives the same cloud on any number of
// cores. Steps allocate nothing. EstimateParticleBytes bounds a run's
// memory; runs and samples over the budget (half the available memory by
// default) are refused before allocating. A particle that turns non-finite
// stops the run with a *DivergedError naming the step and a smaller h, or,
// when the drift was not finite where the particles stood (a kernel
// singular at 0, a potential at a starting point), the term to blame.
//
// Distributions (Dist) are Normal, Uniform, Mix, Points and Gibbs (exp(−V)
// exactly in 1-D by a tabulated inverse CDF, by MALA chains in d ≥ 2);
// SampleParticles draws a cloud by stream blocks, reproducibly.
//
// W2 picks a Wasserstein distance: the closed form for Gaussians, quantile
// functions in 1-D (samples, a sample against a law, two laws), the exact
// assignment (Assign: Jonker–Volgenant warmed up by an auction) up to 2000
// points, and debiased log-domain Sinkhorn beyond, with its ε reported
// (3000 points a side in 2-D in about a second on two cores).
//
// # Grids and JKO steps
//
// NewGridProblem compiles a functional F[q] for a uniform Grid of cells in
// 1-D or 2-D: δF/δq as a batch tape over the cells, with the derivatives
// of q by centred differences of log q (second order, exact for
// Gaussians), nonlocal terms ∫K(x − y)q(y)dy by zero-padded FFTs
// (gonum/dsp/fourier) and other ∫J(x, y, …)dy by pair sums, and
// expressions of x alone computed once; F itself as integrals of such
// fields, for the energy. RunGrid solves ∂q/∂t = ∇·(q∇δF/δq) by the
// finite-volume scheme of Carrillo, Chertock and Huang (2015): upwind
// fluxes of minmod-reconstructed q at the interfaces' velocities
// −Δξ/Δx, zero flux at the walls, SSP Runge–Kutta steps under the
// positivity bound Δx/(2·max|u|) and the linearised diffusion's bound
// (Δx²/4 for the entropy, ∝ Δx⁴ for the Fisher information), a
// compensated update: the mass is conserved to rounding and q stays ≥ 0.
// GridDensity puts a law's cell averages on the grid.
//
// NewJKOProblem splits a 1-D functional into potential, local (q alone)
// and pair terms in quantile coordinates; RunJKO takes Jordan–
// Kinderlehrer–Otto steps, each minimising E(X) + W₂²(X, Y)/(2τ) over
// ordered quantile nodes by a safeguarded Newton method (a tridiagonal
// Hessian, dense with a pair term). Each method refuses the terms it
// cannot handle with a *TermError naming the ones that can.
package solvers
