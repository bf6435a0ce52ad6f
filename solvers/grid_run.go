// The finite-volume scheme for ∂q/∂t = ∇·(q∇δF/δq): upwind fluxes, SSP Runge–Kutta steps under a CFL bound, rows and diagnostics.
package solvers

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"
)

// Defaults and safeguards of grid runs.
const (
	// DefaultGridRK is the default number of stages of the SSP Runge–Kutta
	// scheme (3: the third-order scheme of Shu and Osher, as Carrillo,
	// Chertock and Huang use).
	DefaultGridRK = 3
	// DefaultGridOrder is the default order of the reconstruction: 2,
	// piecewise linear with the generalised minmod limiter.
	DefaultGridOrder = 2
	// gridTheta is the limiter's θ ∈ [1, 2] (2: the least diffusive that
	// keeps the reconstruction non-negative).
	gridTheta = 2
	// gridCFL is the fraction of the positivity bound Δx/(2·max|u|) a step
	// takes; the SSP stages are evaluated at other states, whose
	// velocities may be a little larger.
	gridCFL = 0.9
	// gridMaxHalvings bounds the halvings of a step whose result was
	// negative or not finite before the run is abandoned.
	gridMaxHalvings = 30
	// GridEnergyTol is the relative size of an increase of the energy
	// taken for rounding: the energy is a sum over the cells, whose
	// rounding error grows with their number (about cells·1e-16).
	GridEnergyTol = 1e-12
	// GridMaxSteps bounds a grid run's steps: a run whose first step
	// predicts more (a fourth-order flow on a fine grid) is refused.
	GridMaxSteps = 10_000_000
	// BoundaryWarn is the fraction of the mass in the cells along the walls
	// above which a run is said to reach the walls (the density leaves the
	// domain; with zero flux it piles up there instead).
	BoundaryWarn = 1e-6
)

// GridSettings control a grid run; every field's zero value means its
// documented default. Set MaxSteps or Until.
type GridSettings struct {
	// MaxSteps ends the run after this many steps.
	MaxSteps int
	// Until ends the run when a condition on steps or t holds (joined by
	// or), tested at the start and after every step. A condition t ≥ T
	// shortens the step that reaches T so that the run lands on it.
	Until []Condition
	// Every reports a row every Every steps (and at steps 0 and the last);
	// 0 reports only the final row to Row.
	Every int
	// Row receives each row; its slices are reused. An error ends the run.
	Row func(r *GridRow) error
	// MaxStep caps the time step (0: the stability bounds alone).
	MaxStep float64
	// RK is the number of stages of the SSP Runge–Kutta scheme: 1 (explicit
	// Euler), 2 (Heun) or 3 (Shu–Osher); 0 means DefaultGridRK.
	RK int
	// Order is the reconstruction's order: 1 (upwind cell values) or 2
	// (minmod-limited slopes); 0 means DefaultGridOrder.
	Order int
	// KeepProfiles keeps up to this many densities, evenly spread over the
	// steps, and the final one (for plots).
	KeepProfiles int
	// MemoryBudget is the most a run may allocate (0: DefaultMemoryBudget()).
	MemoryBudget int64
	// Context cancels the run; it is checked every step.
	Context context.Context
	// Progress is told of the run's progress (done, total, t) at most every
	// ProgressEvery, with done = 0 at the start and −1 at the end.
	Progress func(done, total int, t float64)
}

// GridRow is the state of a grid run at one step.
type GridRow struct {
	Step int
	T    float64
	// Dt is the step that led here (0 at step 0).
	Dt float64
	// Mass is ΔV·Σq; Mean and Var the mean and the variance of each
	// coordinate under q/Mass.
	Mass      float64
	Mean, Var []float64
	// Energy is F[q] by the midpoint rule on the cells, with the
	// derivatives of q by centred differences.
	Energy float64
	// Min is the least value of q.
	Min float64
	// Boundary is the fraction of the mass in the cells along the walls.
	Boundary float64
	// Monitors holds the monitored quantities (see GridProblem.AddMonitor).
	Monitors []float64
	// Q is the density (reused between rows).
	Q []float64
}

// GridProfile is the density at one step, for plots.
type GridProfile struct {
	Step int
	T    float64
	Q    []float64
}

// GridResult is the outcome of a grid run.
type GridResult struct {
	Steps  int
	T      float64
	Status Status
	Met    Condition
	// Final is the last row (its Q is the run's own copy).
	Final GridRow
	// MassDrift is the largest |mass − mass₀|/mass₀ over the steps.
	MassDrift float64
	// MinQ is the least value of q over the steps.
	MinQ float64
	// EnergyMonotone says whether the energy never rose by more than
	// GridEnergyTol·max(1, |E|); otherwise MaxIncrease is the largest
	// rise, at step MaxIncreaseStep.
	EnergyMonotone  bool
	MaxIncrease     float64
	MaxIncreaseStep int
	Energy0         float64
	// Rate fits the decay of the energy to its limit (see RateFit).
	Rate RateFit
	// MaxBoundary is the largest fraction of the mass in the cells along
	// the walls over the steps.
	MaxBoundary float64
	// Rejected counts steps redone with half the step because a stage
	// turned negative or non-finite.
	Rejected int
	// DtMin and DtMax are the least and largest steps taken; Limited
	// counts the steps bounded by transport (positivity), by the
	// linearised diffusion (parabolic) and by MaxStep.
	DtMin, DtMax float64
	Limited      struct{ Transport, Parabolic, MaxStep int }
	// Monitors describe each monitored quantity over the steps.
	Monitors []Trend
	// Profiles holds up to KeepProfiles densities and the final one.
	Profiles []GridProfile
	// Samples holds (t, energy) at up to MaxSamples steps.
	Samples []Sample
}

// gridRun is a run in progress.
type gridRun struct {
	p     *GridProblem
	s     *GridSettings
	g     *Grid
	cells int
	n0    int
	n1    int
	h     [2]float64
	vol   float64
	rk    int
	order int

	q, qa, qb []float64 // state, a stage's state, the step's increment
	k, k1     []float64 // the right-hand sides at q and at a later stage
	comp      []float64 // the compensation of the update's rounding
	qe, qw    []float64 // the reconstructed face values along one coordinate
	x         [][]float64
	ring      []int // the cells along the walls

	step int
	t    float64
}

// RunGrid runs the Wasserstein gradient flow of p's functional on its grid
// from the density q0 (one value per cell; it is not modified):
//
//	∂q/∂t = ∇·(q ∇ξ),  ξ = δF/δq,
//
// by the finite-volume scheme of Carrillo, Chertock and Huang (2015, "A
// finite-volume method for nonlinear nonlocal equations with a gradient
// flow structure", Commun. Comput. Phys. 17): ξ at the cell centres from
// the compiled δF/δq (derivatives of q by centred differences, nonlocal
// terms by discrete convolution or pair sums), the velocity
// u_{i+½} = −(ξ_{i+1} − ξ_i)/Δx at each interface, the upwind flux
// F_{i+½} = u⁺·q^E_i + u⁻·q^W_{i+1} with q^E, q^W the cell's values at its
// east and west faces (the cell average for Order 1, a minmod-limited
// linear reconstruction for Order 2), zero flux through the walls (so the
// mass is conserved to rounding), and coordinate by coordinate in 2-D.
// Time steps are SSP Runge–Kutta (RK stages) with
//
//	Δt = min(0.9/(2·Σ_c max|u_c|/Δx_c), 1/λ, MaxStep),
//
// the first the positivity bound of the upwind step (Δx/(2·max|u|) in
// 1-D: the outflow of a cell is at most its content), the second the
// stability of the linearised diffusion, λ = max q·Σ_α |∂ξ/∂(∂^α q)|·ρ_α
// with ρ_α the largest eigenvalue of the discrete ∇·∇∂^α (4/Δx² for the
// entropy, so Δt ≤ Δx²/4; for the Fisher information's ∂²q the step
// falls like Δx⁴/32). A run whose first step predicts more than
// GridMaxSteps steps to its end is refused. A step whose result is
// negative or not finite is halved and redone.
//
// Errors: a *DivergedError when ξ turns non-finite (naming the cell and
// the subexpression), a *StepError when the step collapses, a
// *MemoryError before allocating a run too large.
func RunGrid(p *GridProblem, q0 []float64, s *GridSettings) (*GridResult, error) {
	g := p.Grid
	if len(q0) != g.Cells() {
		return nil, fmt.Errorf("the density has %d values and the grid %d cells", len(q0), g.Cells())
	}
	r := &gridRun{p: p, s: s, g: g, cells: g.Cells(), n0: g.N[0], n1: g.n1(), vol: g.Volume(), rk: s.RK, order: s.Order}
	if r.rk == 0 {
		r.rk = DefaultGridRK
	}
	if r.order == 0 {
		r.order = DefaultGridOrder
	}
	if r.rk < 1 || r.rk > 3 {
		return nil, fmt.Errorf("the Runge–Kutta scheme has 1, 2 or 3 stages, not %d", r.rk)
	}
	if r.order < 1 || r.order > 2 {
		return nil, fmt.Errorf("the reconstruction's order is 1 or 2, not %d", r.order)
	}
	if err := checkBudget(GridBytes(r.cells, p.Fields()+8), s.MemoryBudget, "a grid of "+g.String()); err != nil {
		return nil, err
	}
	for c := range g.Dim {
		r.h[c] = g.H(c)
	}
	r.q = slices.Clone(q0)
	r.qa = make([]float64, r.cells)
	r.qb = make([]float64, r.cells)
	r.k = make([]float64, r.cells)
	r.k1 = make([]float64, r.cells)
	r.comp = make([]float64, r.cells)
	r.qe = make([]float64, r.cells)
	r.qw = make([]float64, r.cells)
	r.x = p.b.x
	for k := range r.cells {
		i, j := k/r.n1, k%r.n1
		if i == 0 || i == r.n0-1 || g.Dim == 2 && (j == 0 || j == r.n1-1) {
			r.ring = append(r.ring, k)
		}
	}
	return r.loop()
}

// observe fills row with the state's mass, least value, boundary mass and
// energy; the jet table must hold the current density's jets.
func (r *gridRun) observe(row *GridRow) {
	q := r.q
	mass, mn := 0.0, math.Inf(1)
	for _, v := range q {
		mass += v
		if v < mn {
			mn = v
		}
	}
	ring := 0.0
	for _, k := range r.ring {
		ring += q[k]
	}
	row.Step, row.T, row.Q, row.Min = r.step, r.t, q, mn
	row.Mass = mass * r.vol
	row.Boundary = ring / mass
	row.Energy = r.energy()
}

// moments fills row's mean and variance of each coordinate.
func (r *gridRun) moments(row *GridRow) {
	q := r.q
	mass := 0.0
	for _, v := range q {
		mass += v
	}
	for c, x := range r.x {
		m := 0.0
		for k, v := range q {
			m += x[k] * v
		}
		m /= mass
		vv := 0.0
		for k, v := range q {
			d := x[k] - m
			vv += d * d * v
		}
		row.Mean[c], row.Var[c] = m, vv/mass
	}
}

// energy evaluates F[q] from the energy fields.
func (r *gridRun) energy() float64 { return termsValue(r.p.energy) }

// termsValue evaluates Σ coef·Π(∫ field)^power for the density whose jets
// the table holds.
func termsValue(terms []gridEnergyTerm) float64 {
	e := 0.0
	for _, t := range terms {
		v := t.coef
		for i, f := range t.fields {
			f.eval(false)
			v *= powInt(f.sum(), t.powers[i])
		}
		e += v
	}
	return e
}

// monitors fills row.Monitors; the table must hold q's jets.
func (r *gridRun) monitors(row *GridRow) {
	for i, m := range r.p.monitors {
		if m.expect == nil {
			row.Monitors[i] = termsValue(m.terms)
			continue
		}
		if len(m.in) > r.g.Dim {
			fill(m.in[r.g.Dim], r.t)
		}
		m.expect.EvalBatch(m.in, m.out, r.cells)
		s := 0.0
		for k, v := range m.out[0] {
			s += v * r.q[k]
		}
		row.Monitors[i] = s * r.vol
	}
}

func powInt(x float64, n int) float64 {
	r := 1.0
	for range n {
		r *= x
	}
	return r
}

// rhs computes out = −Σ_c (F_{c,+½} − F_{c,−½})/Δx_c at the density q,
// whose jets the table holds. With bounds it also returns the positivity
// and the parabolic bounds on the step. It returns the first cell where ξ
// is not finite, or −1.
func (r *gridRun) rhs(q, out []float64, bounds bool) (dtTr, dtPar float64, bad int) {
	xi := r.p.xi
	xi.eval(bounds)
	if k := xi.firstNonFinite(); k >= 0 {
		return 0, 0, k
	}
	ξ := xi.out[0]
	clear(out)
	var rate float64 // Σ_c max|u_c|/Δx_c
	for c := range r.g.Dim {
		a := r.flux(c, q, ξ, out)
		rate += a / r.h[c]
	}
	dtTr, dtPar = math.Inf(1), math.Inf(1)
	if rate > 0 {
		dtTr = 1 / (2 * rate)
	}
	if bounds && len(r.p.coefAlphas) > 0 {
		dtPar = r.parabolicBound(q)
	}
	return dtTr, dtPar, -1
}

// flux adds the divergence of the fluxes along coordinate c to out and
// returns max|u| over the interfaces. The interfaces along the first
// coordinate join cells k and k + n1 for k < (n0 − 1)·n1 (a flat loop, in
// memory order); along the second, cells k and k + 1 within each row.
func (r *gridRun) flux(c int, q, ξ, out []float64) float64 {
	inv := 1 / r.h[c]
	qe, qw := q, q
	if r.order == 2 {
		r.reconstruct(c, q)
		qe, qw = r.qe, r.qw
	}
	amax := 0.0
	face := func(k, k1 int) {
		u := (ξ[k] - ξ[k1]) * inv
		var f float64
		if u > 0 {
			f = u * qe[k] * inv
			if u > amax {
				amax = u
			}
		} else {
			f = u * qw[k1] * inv
			if -u > amax {
				amax = -u
			}
		}
		out[k] -= f
		out[k1] += f
	}
	n0, n1 := r.n0, r.n1
	if c == 0 {
		for k := range (n0 - 1) * n1 {
			face(k, k+n1)
		}
		return amax
	}
	for i := range n0 {
		for k := i * n1; k < (i+1)*n1-1; k++ {
			face(k, k+1)
		}
	}
	return amax
}

// reconstruct computes the values of q at the east and west faces of each
// cell along coordinate c, q^E = q + s·Δx/2 and q^W = q − s·Δx/2, with the
// limited slope
// s_i = minmod(θ(q_{i+1} − q_i)/Δx, (q_{i+1} − q_{i−1})/(2Δx), θ(q_i − q_{i−1})/Δx),
// 0 in the cells at the walls (whose reflected ghost makes one difference
// 0). minmod keeps q^E and q^W between neighbouring values, so ≥ 0.
func (r *gridRun) reconstruct(c int, q []float64) {
	qe, qw := r.qe, r.qw
	set := func(k, prev, next int) {
		dl := q[k] - q[prev]
		dr := q[next] - q[k]
		var s float64 // the half-width times the slope
		switch {
		case dl > 0 && dr > 0:
			s = min(gridTheta*dl, 0.5*(dl+dr), gridTheta*dr)
		case dl < 0 && dr < 0:
			s = max(gridTheta*dl, 0.5*(dl+dr), gridTheta*dr)
		}
		qe[k] = q[k] + 0.5*s
		qw[k] = q[k] - 0.5*s
	}
	n0, n1 := r.n0, r.n1
	if c == 0 {
		copy(qe[:n1], q[:n1])
		copy(qw[:n1], q[:n1])
		last := (n0 - 1) * n1
		copy(qe[last:], q[last:])
		copy(qw[last:], q[last:])
		for k := n1; k < last; k++ {
			set(k, k-n1, k+n1)
		}
		return
	}
	for i := range n0 {
		a, b := i*n1, (i+1)*n1-1
		qe[a], qw[a], qe[b], qw[b] = q[a], q[a], q[b], q[b]
		for k := a + 1; k < b; k++ {
			set(k, k-1, k+1)
		}
	}
}

// parabolicBound returns 1/λ with λ = max_k q_k·Σ_α |c_α,k|·ρ_α·ρ_out:
// ρ_out = Σ_c 4/Δx_c² bounds the outer ∇·(q∇·) and ρ_α = Π_c ρ(α_c) the
// stencil of ∂^α, ρ(2m) = (4/Δx²)^m, ρ(2m+1) = (4/Δx²)^m/Δx.
func (r *gridRun) parabolicBound(q []float64) float64 {
	xi := r.p.xi
	rhoOut := 0.0
	for c := range r.g.Dim {
		rhoOut += 4 / (r.h[c] * r.h[c])
	}
	lam := 0.0
	// Σ_α |c_α|ρ_α per cell, accumulated in r.qb (free between stages)
	acc := r.qb
	clear(acc)
	for i, a := range r.p.coefAlphas {
		rho := 1.0
		for c, o := range a {
			h := r.h[c]
			rho *= math.Pow(4/(h*h), float64(o/2))
			if o%2 == 1 {
				rho /= h
			}
		}
		for k, v := range xi.out[1+i] {
			acc[k] += math.Abs(v) * rho
		}
	}
	for k, v := range acc {
		lam = math.Max(lam, q[k]*v)
	}
	lam *= rhoOut
	if !(lam > 0) {
		return math.Inf(1)
	}
	return 1 / lam
}

// nextTimeTarget returns the least T > t of the run's conditions t ≥ T
// (+Inf when there is none).
func (r *gridRun) nextTimeTarget() float64 {
	T := math.Inf(1)
	for _, c := range r.s.Until {
		if c.Quantity == QTime && (c.Op == ">=" || c.Op == ">") && c.Value > r.t {
			T = math.Min(T, c.Value)
		}
	}
	return T
}

func (r *gridRun) conditionMet() (Condition, bool) {
	for _, c := range r.s.Until {
		v := float64(r.step)
		if c.Quantity == QTime {
			v = r.t
			if c.Op == ">=" || c.Op == ">" {
				v += timeSlack * math.Max(1, math.Abs(c.Value))
			}
		}
		if c.holds(v) {
			return c, true
		}
	}
	return Condition{}, false
}

// energyDiverged builds the error of a run whose energy turned
// non-finite, naming the first cell where an integrand of F is not finite.
func (r *gridRun) energyDiverged(dt float64) error {
	e := &DivergedError{Step: r.step, T: r.t, Method: "grid", Reason: "the energy is not finite",
		Bound: fmt.Sprintf("the last step was Δt = %.3g", dt)}
	for _, t := range r.p.energy {
		for _, f := range t.fields {
			if k := f.firstNonFinite(); k >= 0 {
				e.Reason = fmt.Sprintf("the energy is not finite: its integrand %s is %g in the cell at %s (q = %.3g there)",
					shortExpr(f.expr), f.out[0][k], r.where(k), r.q[k])
				e.Source = f.explain(k)
				return e
			}
		}
	}
	return e
}

// where names the centre of cell k.
func (r *gridRun) where(k int) string {
	if r.g.Dim == 2 {
		return fmt.Sprintf("x = (%.6g, %.6g)", r.x[0][k], r.x[1][k])
	}
	return fmt.Sprintf("x = %.6g", r.x[0][k])
}

// diverged builds the error of a run whose ξ is not finite at cell k.
func (r *gridRun) diverged(k int, dt float64) error {
	where := r.where(k)
	e := &DivergedError{Step: r.step + 1, T: r.t, Method: "grid",
		Reason: fmt.Sprintf("δF/δq is not finite in the cell at %s (q = %.3g there)", where, r.q[k]),
		Source: r.p.xi.explain(k)}
	if r.step == 0 {
		e.Step = 0
		e.Reason = fmt.Sprintf("δF/δq is not finite at the start, in the cell at %s (q = %.3g there)", where, r.q[k])
	} else if dt > 0 {
		e.Bound = fmt.Sprintf("the last step was Δt = %.3g", dt)
	}
	return e
}

// stepLimits returns a run's step limit — MaxSteps, or DefaultStepLimit
// when only until conditions stop it — and the total a progress report
// can count down (0 when unknown).
func stepLimits(maxSteps int, hasUntil bool) (limit, total int) {
	switch {
	case maxSteps > 0:
		limit = maxSteps
	case hasUntil:
		limit = DefaultStepLimit
	}
	if limit < DefaultStepLimit {
		total = limit
	}
	return limit, total
}

func (r *gridRun) loop() (*GridResult, error) {
	s, p := r.s, r.p
	ctx := s.Context
	if ctx == nil {
		ctx = context.Background()
	}
	maxSteps, total := stepLimits(s.MaxSteps, len(s.Until) > 0)
	res := &GridResult{EnergyMonotone: true, MinQ: math.Inf(1), DtMin: math.Inf(1), Monitors: make([]Trend, len(p.monitors))}
	row := &GridRow{Mean: make([]float64, r.g.Dim), Var: make([]float64, r.g.Dim), Monitors: make([]float64, len(p.monitors))}
	samples := newStepSampler[Sample](MaxSamples)
	var profiles *stepSampler[GridProfile]
	if s.KeepProfiles > 0 {
		profiles = newStepSampler[GridProfile](s.KeepProfiles)
	}
	lastProgress := time.Now()
	if s.Progress != nil {
		s.Progress(0, total, 0)
	}
	var mass0, ePrev, lastDt float64
	lastRow := -1
	emit := func() error {
		lastRow = r.step
		if s.Row == nil {
			return nil
		}
		return s.Row(row)
	}
	status := StepLimit
	for {
		// the state: jets, statistics, energy
		p.b.table.compute(r.q)
		r.observe(row)
		row.Dt = lastDt
		if r.step == 0 {
			mass0, ePrev, res.Energy0 = row.Mass, row.Energy, row.Energy
		}
		res.MassDrift = math.Max(res.MassDrift, math.Abs(row.Mass-mass0)/mass0)
		res.MinQ = math.Min(res.MinQ, row.Min)
		res.MaxBoundary = math.Max(res.MaxBoundary, row.Boundary)
		if !isFiniteNum(row.Energy) && r.step > 0 {
			return r.finish(res, row, samples, profiles, status), r.energyDiverged(lastDt)
		}
		if rise := row.Energy - ePrev; rise > GridEnergyTol*math.Max(1, math.Max(math.Abs(ePrev), math.Abs(row.Energy))) {
			res.EnergyMonotone = false
			if rise > res.MaxIncrease {
				res.MaxIncrease, res.MaxIncreaseStep = rise, r.step
			}
		}
		ePrev = row.Energy
		if len(p.monitors) > 0 {
			r.monitors(row)
			for i, v := range row.Monitors {
				if r.step == 0 {
					res.Monitors[i] = Trend{Initial: v, Final: v, Decreasing: true, Increasing: true}
				} else {
					res.Monitors[i].add(v, r.step)
				}
			}
		}
		if samples.want(r.step) {
			samples.add(r.step, Sample{Step: r.step, T: r.t, F: row.Energy})
		}
		if profiles != nil && profiles.want(r.step) {
			profiles.add(r.step, GridProfile{Step: r.step, T: r.t, Q: slices.Clone(r.q)})
		}

		// stop?
		stop := false
		if c, ok := r.conditionMet(); ok {
			res.Met, status, stop = c, ConditionMet, true
		} else if r.step >= maxSteps {
			stop = true
			if maxSteps == DefaultStepLimit && len(s.Until) > 0 && s.MaxSteps <= 0 {
				status = DefaultLimit
			}
		} else if ctx.Err() != nil {
			status, stop = Cancelled, true
		}
		if s.Every > 0 && r.step%s.Every == 0 || stop && lastRow != r.step {
			r.moments(row)
			if err := emit(); err != nil {
				res.Status = RowStopped
				return r.finish(res, row, samples, profiles, RowStopped), err
			}
		}
		if stop {
			break
		}
		if s.Progress != nil && time.Since(lastProgress) >= ProgressEvery {
			lastProgress = time.Now()
			s.Progress(r.step, total, r.t)
		}

		// one step
		dt, err := r.advance(res)
		if err != nil {
			return r.finish(res, row, samples, profiles, status), err
		}
		lastDt = dt
		r.step++
	}
	if s.Progress != nil {
		s.Progress(-1, total, r.t)
	}
	return r.finish(res, row, samples, profiles, status), nil
}

// finish completes the result.
func (r *gridRun) finish(res *GridResult, row *GridRow, samples *stepSampler[Sample], profiles *stepSampler[GridProfile], status Status) *GridResult {
	res.Steps, res.T, res.Status = r.step, r.t, status
	r.moments(row)
	res.Final = *row
	res.Final.Mean = slices.Clone(row.Mean)
	res.Final.Var = slices.Clone(row.Var)
	res.Final.Monitors = slices.Clone(row.Monitors)
	res.Final.Q = slices.Clone(r.q)
	res.Samples = samples.items
	res.Rate = fitRate(samples.items, r.step)
	if math.IsInf(res.DtMin, 1) {
		res.DtMin = 0
	}
	if profiles != nil {
		res.Profiles = profiles.items
		if n := len(res.Profiles); n == 0 || res.Profiles[n-1].Step != r.step {
			res.Profiles = append(res.Profiles, GridProfile{Step: r.step, T: r.t, Q: res.Final.Q})
		}
	}
	return res
}

// advance takes one step from r.q (whose jets the table holds) and
// returns its length.
func (r *gridRun) advance(res *GridResult) (float64, error) {
	k1 := r.k
	dtTr, dtPar, bad := r.rhs(r.q, k1, true)
	if bad >= 0 {
		return 0, r.diverged(bad, 0)
	}
	dt := gridCFL * dtTr
	limit := 0
	if dtPar < dt {
		dt, limit = dtPar, 1
	}
	if m := r.s.MaxStep; m > 0 && m < dt {
		dt, limit = m, 2
	}
	T := r.nextTimeTarget()
	if r.step == 0 && !math.IsInf(T, 1) && (T-r.t)/dt > GridMaxSteps {
		why := "the positivity bound Δt ≤ Δx/(2·max|u|)"
		if limit == 1 {
			why = "the stability of the diffusion"
			if r.p.Order >= 2 {
				why = fmt.Sprintf("the stability of the fourth-order term (δF/δq has derivatives of order %d, so Δt falls like Δx^%d)", r.p.Order, r.p.Order+2)
			}
		}
		return 0, &StepError{Step: 0, Method: "grid",
			Msg: fmt.Sprintf("%s allows steps of Δt = %.3g, so reaching t = %g would take about %.3g steps, more than %d; use fewer cells or a shorter run", why, dt, T, (T-r.t)/dt, GridMaxSteps)}
	}
	landing := false
	if T-r.t <= dt*(1+1e-12) {
		dt, landing = T-r.t, true
	}
	if !(dt > 0) || math.IsInf(dt, 1) {
		if math.IsInf(dt, 1) {
			// nothing moves: ξ is constant; take the remaining time or a unit step
			dt = 1
			if !math.IsInf(T, 1) {
				dt, landing = T-r.t, true
			}
		} else {
			return 0, &StepError{Step: r.step + 1, Method: "grid", Msg: fmt.Sprintf("the time step fell to %g at t = %g", dt, r.t)}
		}
	}
	for halving := 0; ; halving++ {
		if r.stages(dt) {
			break
		}
		if halving == gridMaxHalvings {
			return 0, &StepError{Step: r.step + 1, Method: "grid",
				Msg: fmt.Sprintf("the density turned negative or non-finite even with the step halved %d times (Δt = %.3g)", gridMaxHalvings, dt)}
		}
		res.Rejected++
		dt /= 2
		landing = false
	}
	switch limit {
	case 0:
		res.Limited.Transport++
	case 1:
		res.Limited.Parabolic++
	default:
		res.Limited.MaxStep++
	}
	res.DtMin = math.Min(res.DtMin, dt)
	res.DtMax = math.Max(res.DtMax, dt)
	if landing {
		r.t = r.nextTimeTarget()
	} else {
		r.t += dt
	}
	return dt, nil
}

// stages runs the SSP Runge–Kutta stages of a step dt from r.q, whose
// right-hand side is in r.k, and on success puts the result in r.q. It
// fails when a stage turns negative or not finite.
//
// The schemes are Shu and Osher's, in their Butcher form (the same
// combinations): RK 2 is q¹ = q + ΔtL(q), q' = q + Δt(L(q) + L(q¹))/2; RK 3
// adds q² = q + Δt(L(q) + L(q¹))/4 and ends q' = q + Δt(L(q)/6 + L(q¹)/6 +
// 2L(q²)/3). The stages are convex combinations of Euler steps, so they
// keep q ≥ 0 under the Euler step's positivity bound. The last update
// q' = q + Δt·Σbᵢkᵢ is compensated (Kahan): the rounding error of each
// cell's sum is carried to the next step in r.comp, so the mass drifts by
// rounding of the increments only, not of q itself.
func (r *gridRun) stages(dt float64) bool {
	q, a, inc, k, k1 := r.q, r.qa, r.qb, r.k, r.k1
	for i := range a {
		a[i] = q[i] + dt*k[i]
	}
	if !nonNegative(a) {
		return false
	}
	switch r.rk {
	case 1:
		copy(inc, k)
	case 2:
		r.p.b.table.compute(a)
		if _, _, bad := r.rhs(a, k1, false); bad >= 0 {
			return false
		}
		for i := range inc {
			inc[i] = 0.5 * (k[i] + k1[i])
		}
	default:
		r.p.b.table.compute(a)
		if _, _, bad := r.rhs(a, k1, false); bad >= 0 {
			return false
		}
		for i := range inc {
			inc[i] = (k[i] + k1[i]) / 6
			a[i] = q[i] + 1.5*dt*inc[i]
		}
		if !nonNegative(a) {
			return false
		}
		r.p.b.table.compute(a)
		if _, _, bad := r.rhs(a, k1, false); bad >= 0 {
			return false
		}
		for i := range inc {
			inc[i] += 2.0 / 3 * k1[i]
		}
	}
	// the compensated update, into a, checked before it is kept
	c := r.comp
	for i := range a {
		a[i] = q[i] + (dt*inc[i] + c[i])
	}
	if !nonNegative(a) {
		return false
	}
	for i, v := range a {
		y := dt*inc[i] + c[i]
		c[i] = y - (v - q[i])
		q[i] = v
	}
	return true
}

// add extends the trend by the value v at a step: changes below
// IncreaseTol relative (rounding) are ignored.
func (t *Trend) add(v float64, step int) {
	tol := IncreaseTol * max(1, math.Abs(t.Initial), math.Abs(t.Final))
	switch diff := v - t.Final; {
	case diff > tol:
		t.Decreasing = false
		if diff > t.MaxRise {
			t.MaxRise, t.MaxRiseStep = diff, step
		}
	case diff < -tol:
		t.Increasing = false
		if -diff > t.MaxFall {
			t.MaxFall, t.FallStep = -diff, step
		}
	case diff != diff: // NaN
		t.Decreasing, t.Increasing = false, false
	}
	t.Final = v
}

// nonNegative reports whether every value is finite and ≥ 0.
func nonNegative(x []float64) bool {
	for _, v := range x {
		if !(v >= 0) || v > math.MaxFloat64 {
			return false
		}
	}
	return true
}
