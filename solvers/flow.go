// Flow: the driver that runs a Method on a Problem, with stopping rules, rows, diagnostics and divergence checks.
package solvers

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// Intervals of the driver's housekeeping.
const (
	// CheckInterval is how many steps pass between checks of the context,
	// of the progress clock and of ‖x‖ for blow-up.
	CheckInterval = 1024
	// ProgressInterval is the least time between progress reports.
	ProgressInterval = 100 * time.Millisecond
	// MaxDenseRows bounds the rows `every Δt` asks of a method with dense
	// output (rk45), which may be many per step: 10⁷ rows is about a
	// gigabyte of CSV.
	MaxDenseRows = 10_000_000
	// BlowUpFactor: the run has grown without bound when |f| exceeds
	// BlowUpFactor²·max(1, |f₀|) or ‖x‖∞ exceeds BlowUpFactor·max(1, ‖x₀‖∞).
	BlowUpFactor = 1e15
	// MaxBoundDim bounds the dimension for which a divergence message
	// estimates the stability bound (a dense Hessian and its eigenvalues).
	MaxBoundDim = 500
	// timeSlack is the relative tolerance of t ≥ T conditions, so that a
	// fixed-step run of T/h steps stops at T despite rounding in t.
	timeSlack = 1e-12
)

// Flow runs method m on p from x0 under settings s. It returns the final
// state with statistics and diagnostics; an error is a *DivergedError, a
// *StepError, or a misuse (a dimension mismatch, a missing Hessian).
// The context's cancellation is not an error: the Result's Status says
// Cancelled.
func Flow(p *Problem, x0 []float64, m Method, s *Settings) (*Result, error) {
	n := p.Dim
	if len(x0) != n {
		return nil, fmt.Errorf("the starting point has %d coordinates, the problem %d", len(x0), n)
	}
	if p.FuncGrad == nil {
		return nil, errors.New("solvers: Problem.FuncGrad is nil")
	}
	needs := m.Needs()
	if needs.Hessian && p.Hess == nil {
		return nil, errors.New("solvers: the method needs Problem.Hess")
	}
	if needs.Metric && p.Metric == nil {
		return nil, errors.New("solvers: the method needs Problem.Metric")
	}
	name := s.MethodName
	if name == "" {
		name = "the method"
	}
	r := &runner{p: p, m: m, s: s, name: name, n: n}
	return r.run(x0)
}

type runner struct {
	p    *Problem
	m    Method
	s    *Settings
	name string
	n    int

	loc   Location
	res   Result
	x0    []float64
	xprev []float64
	f0    float64
	step  int
	limit int

	rowBuf   Row
	lastRow  int
	nextRow  int
	nextRowT float64
	dense    DenseOutput
	scratchX []float64
	scratchG []float64
	scratchM []float64
	lastRowT float64
	mon      []float64

	samples *stepSampler[Sample]
	path    *stepSampler[[]float64]

	fBlow, xBlow float64
	denseRows    int // rows written by dense output
	nextCheck    int
	lastTick     time.Time
	total        int
}

func (r *runner) run(x0 []float64) (*Result, error) {
	p, s, n := r.p, r.s, r.n
	r.x0 = slices.Clone(x0)
	r.loc = Location{X: slices.Clone(x0), Grad: make([]float64, n)}
	r.xprev = make([]float64, n)
	r.loc.F = p.FuncGrad(r.loc.Grad, r.loc.X)
	r.res.Evaluations++
	r.f0 = r.loc.F
	g2 := vdot(r.loc.Grad, r.loc.Grad)
	if !isFinite(r.loc.F) || !allFinite(r.loc.Grad) {
		what := "f"
		if isFinite(r.loc.F) {
			what = "∇f"
		}
		e := &DivergedError{Step: 0, Method: r.name, Reason: fmt.Sprintf("%s is not finite at the starting point", what), X: slices.Clone(x0)}
		if p.Explain != nil {
			e.Source = p.Explain(x0)
		}
		return nil, e
	}
	if err := r.m.Init(p, &r.loc, s); err != nil {
		return nil, &StepError{Step: 0, Method: r.name, Msg: err.Error()}
	}
	r.fBlow = BlowUpFactor * BlowUpFactor * math.Max(1, math.Abs(r.f0))
	r.xBlow = BlowUpFactor * math.Max(1, vnormInf(x0))

	r.limit = s.MaxSteps
	r.total = s.MaxSteps
	defaultLimit := false
	if r.limit <= 0 {
		r.limit = 0
		if len(s.Until) > 0 {
			r.limit, defaultLimit = DefaultStepLimit, true
		}
	}

	// diagnostics
	d := &r.res.Diagnostics
	d.Monotone = true
	_, isFlow := r.m.(GradientFlow)
	d.Dissipation = math.NaN()
	r.samples = newStepSampler[Sample](MaxSamples)
	if s.KeepPath > 0 {
		r.path = newStepSampler[[]float64](s.KeepPath)
	}
	if s.MonitorCount > 0 {
		r.mon = make([]float64, s.MonitorCount)
		s.Monitor(r.mon, r.loc.X, r.loc.T)
		d.Monitors = make([]Trend, s.MonitorCount)
		for i, v := range r.mon {
			d.Monitors[i] = Trend{Initial: v, Final: v, Decreasing: true, Increasing: true}
		}
	}

	// rows
	r.lastRow, r.nextRow = -1, math.MaxInt
	if s.Every > 0 {
		r.nextRow = 0
	}
	if s.EveryT > 0 {
		dense, ok := r.m.(DenseOutput)
		if !ok {
			return nil, errors.New("solvers: EveryT needs a method with dense output")
		}
		r.dense = dense
		r.scratchX, r.scratchG = make([]float64, n), make([]float64, n)
		r.nextRowT = r.loc.T + s.EveryT
		r.lastRowT = r.loc.T
		if err := r.row(r.loc.X, r.loc.Grad, r.loc.F, r.loc.T, g2, r.mon); err != nil {
			return r.finish(err)
		}
	}
	if s.Progress != nil {
		s.Progress(0, r.total, r.loc.T)
		r.lastTick = time.Now()
		defer func() { s.Progress(-1, r.total, r.loc.T) }()
	}

	var dropSum, integral, length float64
	r.nextCheck = CheckInterval
	// xprev holds the point before the step; xnext receives the new one
	copy(r.xprev, r.loc.X)
	loc, m, xprev, xnext := &r.loc, r.m, r.xprev, make([]float64, n)
	limit, until := r.limit, s.Until
	incTol := IncreaseTol * math.Max(1, math.Abs(r.f0))
	step, nextEvent := 0, 0
	fBlow := r.fBlow
	hasMon, hasDense := r.mon != nil, r.dense != nil
	// Euler on a compiled tape without monitors or until conditions runs
	// its steps in the tape's registers (eulerSteps): no copies, no calls.
	euler, _ := m.(*Euler)
	fast := euler != nil && p.Tape != nil && !hasMon && !hasDense && len(until) == 0
	var tapeIn, tapeOut []float64
	if fast {
		tapeIn, tapeOut = p.Tape.Registers()
	}
	for {
		if step >= nextEvent {
			r.step, r.xprev = step, xprev
			stop, err := r.housekeeping(g2)
			if err != nil {
				return r.finish(err)
			}
			if stop {
				break
			}
			nextEvent = r.nextEvent()
		}
		if len(until) > 0 {
			if c, ok := r.conditionMet(step, g2); ok {
				r.res.Status, r.res.Met = ConditionMet, c
				break
			}
		}
		if step >= limit {
			r.res.Status = StepLimit
			if defaultLimit {
				r.res.Status = DefaultLimit
			}
			break
		}

		if fast {
			// the same arithmetic as Euler.Step and the checks below, fused
			stop := min(nextEvent, limit)
			if !slices.Equal(tapeIn, loc.X) {
				copy(tapeIn, loc.X)
				p.Tape.Run()
			}
			x, g, xp := tapeIn[:n], tapeOut[1:1+n], xprev[:n]
			h, f, T := euler.H, loc.F, loc.T
			for step < stop {
				fPrev, tPrev, g2Prev := f, T, g2
				for i, v := range x {
					xp[i] = v
					x[i] = v - h*g[i]
				}
				p.Tape.Run()
				step++
				euler.k++
				euler.evals++
				T = euler.t0 + float64(euler.k)*h
				f = tapeOut[0]
				g2 = 0
				var dx2 float64
				for i, v := range x {
					e := v - xp[i]
					dx2 += e * e
					gi := g[i]
					g2 += gi * gi
				}
				if sum := f + g2; (sum-sum != 0 || math.Abs(f) > fBlow) && !onlyNormOverflows(f, fBlow, g) {
					loc.F, loc.T = f, T
					copy(loc.X, x)
					copy(loc.Grad, g)
					r.step, r.xprev = step, xprev
					switch {
					case !isFinite(f):
						return r.finish(r.diverged(fmt.Sprintf("f = %v", f), true))
					case !allFinite(g):
						return r.finish(r.diverged("∇f is not finite", true))
					}
					return r.finish(r.runaway(r.diverged(fmt.Sprintf("f = %.3g grew without bound", f), false)))
				}
				if inc := f - fPrev; inc > incTol && inc > IncreaseTol*math.Abs(fPrev) {
					d.Monotone = false
					if inc > d.MaxIncrease {
						d.MaxIncrease, d.MaxIncreaseStep = inc, step
					}
				}
				dropSum += fPrev - f
				integral += (T - tPrev) * (g2Prev + g2) / 2
				length += math.Sqrt(dx2)
			}
			loc.F, loc.T = f, T
			copy(loc.X, x)
			copy(loc.Grad, g)
			copy(xprev, x)
			continue
		}

		// one step
		fPrev, tPrev, g2Prev := loc.F, loc.T, g2
		x := loc.X
		err := m.Step(loc)
		step++
		if err != nil {
			r.step, r.xprev = step, xprev
			var de *DivergedError
			if errors.As(err, &de) {
				return r.finish(r.diverged(de.Reason, false))
			}
			return r.finish(&StepError{Step: step, Method: r.name, Msg: err.Error()})
		}
		// ‖∇f‖² and the displacement in one pass, keeping the new point in
		// the other buffer (xprev keeps the last finite point until the
		// checks below pass)
		g2 = 0
		var dx2 float64
		grad, xp, xn := loc.Grad[:len(x)], xprev[:len(x)], xnext[:len(x)]
		for i, v := range x {
			e := v - xp[i]
			dx2 += e * e
			xn[i] = v
			gi := grad[i]
			g2 += gi * gi
		}
		// non-finite f or ∇f: f + ‖∇f‖² is NaN or ±Inf, and then so is its
		// difference with itself
		if sum := loc.F + g2; (sum-sum != 0 || math.Abs(loc.F) > fBlow) && !onlyNormOverflows(loc.F, fBlow, grad) {
			r.step, r.xprev = step, xprev
			switch {
			case !isFinite(loc.F):
				return r.finish(r.diverged(fmt.Sprintf("f = %v", loc.F), true))
			case !allFinite(grad):
				return r.finish(r.diverged("∇f is not finite", true))
			}
			return r.finish(r.runaway(r.diverged(fmt.Sprintf("f = %.3g grew without bound", loc.F), false)))
		}

		// diagnostics
		if inc := loc.F - fPrev; inc > incTol && inc > IncreaseTol*math.Abs(fPrev) {
			d.Monotone = false
			if inc > d.MaxIncrease {
				d.MaxIncrease, d.MaxIncreaseStep = inc, step
			}
		}
		if isFlow {
			dropSum += fPrev - loc.F
			integral += (loc.T - tPrev) * (g2Prev + g2) / 2
		}
		length += math.Sqrt(dx2)
		xprev, xnext = xnext, xprev
		if hasMon {
			r.step = step
			r.updateMonitors()
		}
		if hasDense {
			r.step = step
			for r.nextRowT <= loc.T*(1+timeSlack) && loc.T > tPrev {
				if r.denseRows++; r.denseRows > MaxDenseRows {
					return r.finish(fmt.Errorf("every %g asks for more than %d rows by t = %.6g; take a larger every", r.s.EveryT, MaxDenseRows, r.nextRowT))
				}
				if r.denseRows%CheckInterval == 0 && s.Context != nil && s.Context.Err() != nil {
					r.res.Status = Cancelled
					return r.finish(nil)
				}
				if err := r.denseRow(r.nextRowT); err != nil {
					return r.finish(err)
				}
				r.nextRowT = r.s.EveryT * math.Round(r.nextRowT/r.s.EveryT+1)
			}
		}
	}
	r.step, r.xprev = step, xprev
	d.Length = length
	if isFlow {
		d.DissipationDrop, d.DissipationIntegral = dropSum, integral
		d.Dissipation = math.Abs(dropSum-integral) / math.Max(math.Max(math.Abs(dropSum), math.Abs(integral)), math.SmallestNonzeroFloat64)
		if dropSum == 0 && integral == 0 {
			d.Dissipation = 0
		}
	}
	if (s.Every > 0 || s.EveryT > 0) && !r.rowDone() {
		if err := r.row(r.loc.X, r.loc.Grad, r.loc.F, r.loc.T, g2, r.mon); err != nil {
			return r.finish(err)
		}
	}
	if r.samples.steps[len(r.samples.steps)-1] != r.step {
		r.samples.items = append(r.samples.items, Sample{Step: r.step, T: r.loc.T, F: r.loc.F})
	}
	if r.path != nil && r.path.steps[len(r.path.steps)-1] != r.step {
		r.path.items = append(r.path.items, slices.Clone(r.loc.X))
	}
	d.Rate = fitRate(r.samples.items, r.step)
	return r.finish(nil)
}

// housekeeping does what is due at r.step before the next step: a row,
// a sample for the rate fit and the plot, and every CheckInterval steps
// the context, the blow-up test on x and the progress report. It says
// whether the run must stop (cancelled).
func (r *runner) housekeeping(g2 float64) (bool, error) {
	s, step := r.s, r.step
	if step == r.nextRow {
		if err := r.row(r.loc.X, r.loc.Grad, r.loc.F, r.loc.T, g2, r.mon); err != nil {
			return false, err
		}
		r.nextRow += s.Every
	}
	if r.samples.want(step) {
		r.samples.add(step, Sample{Step: step, T: r.loc.T, F: r.loc.F})
	}
	if r.path != nil && r.path.want(step) {
		r.path.add(step, slices.Clone(r.loc.X))
	}
	if step >= r.nextCheck {
		r.nextCheck += CheckInterval
		if s.Context != nil && s.Context.Err() != nil {
			r.res.Status = Cancelled
			return true, nil
		}
		if n := vnormInf(r.loc.X); n > r.xBlow {
			return false, r.runaway(r.diverged(fmt.Sprintf("‖x‖∞ = %.3g grew without bound", n), false))
		}
		if s.Progress != nil {
			if now := time.Now(); now.Sub(r.lastTick) >= ProgressInterval {
				r.lastTick = now
				s.Progress(step, r.total, r.loc.T)
			}
		}
	}
	return false, nil
}

// nextEvent is the next step at which housekeeping has something to do.
func (r *runner) nextEvent() int {
	next := min(r.nextRow, r.nextCheck, r.samples.next)
	if r.path != nil {
		next = min(next, r.path.next)
	}
	return next
}

// finish fills the result; err, when not nil, is returned with it.
func (r *runner) finish(err error) (*Result, error) {
	r.res.Location = r.loc
	r.res.Steps = r.step
	r.res.Samples = r.samples.items
	if r.path != nil {
		r.res.Path = r.path.items
	}
	if ev, ok := r.m.(interface{ evaluations() (int, int) }); ok {
		e, rej := ev.evaluations()
		r.res.Evaluations += e
		r.res.Rejected = rej
	}
	if err != nil {
		return &r.res, err
	}
	return &r.res, nil
}

func (r *runner) conditionMet(step int, g2 float64) (Condition, bool) {
	for _, c := range r.s.Until {
		var v float64
		switch c.Quantity {
		case QSteps:
			v = float64(step)
		case QTime:
			v = r.loc.T
			if c.Op == ">=" || c.Op == ">" {
				v += timeSlack * math.Max(1, math.Abs(c.Value))
			}
		case QGradNorm:
			v = gradNorm(g2, r.loc.Grad)
		case QValue:
			v = r.loc.F
		}
		if c.holds(v) {
			return c, true
		}
	}
	return Condition{}, false
}

func (r *runner) updateMonitors() {
	r.s.Monitor(r.mon, r.loc.X, r.loc.T)
	for i, v := range r.mon {
		tr := &r.res.Diagnostics.Monitors[i]
		tol := IncreaseTol * max(1, math.Abs(tr.Initial), math.Abs(tr.Final))
		switch diff := v - tr.Final; {
		case diff > tol:
			tr.Decreasing = false
			if diff > tr.MaxRise {
				tr.MaxRise, tr.MaxRiseStep = diff, r.step
			}
		case diff < -tol:
			tr.Increasing = false
			if -diff > tr.MaxFall {
				tr.MaxFall, tr.FallStep = -diff, r.step
			}
		case diff != diff: // NaN
			tr.Decreasing, tr.Increasing = false, false
		}
		tr.Final = v
	}
}

func (r *runner) row(x, g []float64, f, t, g2 float64, mon []float64) error {
	r.lastRow = r.step
	if r.s.Row == nil {
		return nil
	}
	row := &r.rowBuf
	row.Step, row.T, row.X, row.F, row.GradNorm, row.Monitors = r.step, t, x, f, gradNorm(g2, g), mon
	return r.s.Row(row)
}

// denseRow reports a row at time t inside the last step, by the method's
// dense output.
func (r *runner) denseRow(t float64) error {
	r.dense.Interpolate(r.scratchX, t)
	f := r.p.FuncGrad(r.scratchG, r.scratchX)
	r.res.Evaluations++
	var mon []float64
	if r.mon != nil {
		if r.scratchM == nil {
			r.scratchM = make([]float64, len(r.mon))
		}
		mon = r.scratchM
		r.s.Monitor(mon, r.scratchX, t)
	}
	r.lastRowT = t
	return r.row(r.scratchX, r.scratchG, f, t, vdot(r.scratchG, r.scratchG), mon)
}

// rowDone reports whether the final state has had its row.
func (r *runner) rowDone() bool {
	if r.dense != nil {
		return r.lastRowT >= r.loc.T*(1-timeSlack)
	}
	return r.lastRow == r.step
}

// diverged builds the error of a run that blew up at r.step; atNewPoint
// says the non-finite value was computed at r.loc.X (so the tape can say
// where it arose).
func (r *runner) diverged(reason string, atNewPoint bool) *DivergedError {
	e := &DivergedError{Step: r.step, T: r.loc.T, Method: r.name, Reason: reason, X: slices.Clone(r.xprev)}
	if r.step == 0 {
		e.X = slices.Clone(r.loc.X)
	}
	if atNewPoint && r.p.Explain != nil && allFinite(r.loc.X) {
		e.Source = r.p.Explain(r.loc.X)
	}
	if st, ok := r.m.(Stable); ok && r.p.Hess != nil && r.p.Dim <= MaxBoundDim {
		e.Bound = r.stabilityBound(st)
	}
	return e
}

// runaway marks a blow-up during which f never rose (the diagnostics'
// monotonicity so far) and which ended with f very negative, or with x far
// out: the flow of an f unbounded below, or of one that decreases towards
// infinity, running its course.
func (r *runner) runaway(e *DivergedError) *DivergedError {
	if r.res.Diagnostics.Monotone && r.loc.F <= r.f0 {
		e.Runaway = true
	}
	return e
}

// stabilityBound states the method's bound with L, the largest Hessian
// eigenvalue, at the start or, when the start satisfies it, at the last
// finite point.
func (r *runner) stabilityBound(st Stable) string {
	L0, ok := largestEigenvalue(r.p, r.x0)
	if !ok || L0 <= 0 {
		return ""
	}
	bound, step, formula := st.StabilityBound(L0)
	msg := fmt.Sprintf("the stability bound is %s = %.6g with L = %.6g, the largest Hessian eigenvalue at the start, and the step is %.6g", formula, bound, L0, step)
	if step < bound && allFinite(r.xprev) {
		if L1, ok := largestEigenvalue(r.p, r.xprev); ok && L1 > L0 {
			b1, _, _ := st.StabilityBound(L1)
			if step >= b1 {
				msg = fmt.Sprintf("the stability bound is %s = %.6g with L = %.6g, the largest Hessian eigenvalue where it blew up (step %d), and the step is %.6g", formula, b1, L1, r.step-1, step)
			}
		}
	}
	return msg
}

// largestEigenvalue returns the largest eigenvalue of ∇²f(x).
func largestEigenvalue(p *Problem, x []float64) (float64, bool) {
	h := mat.NewSymDense(p.Dim, nil)
	p.Hess(h, x)
	for i := 0; i < p.Dim; i++ {
		for j := i; j < p.Dim; j++ {
			if !isFinite(h.At(i, j)) {
				return 0, false
			}
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(h, false) {
		return 0, false
	}
	vals := eig.Values(nil)
	return slices.Max(vals), true
}

// gradNorm returns ‖g‖₂ given g2 = Σgᵢ² as summed in the step loops:
// √g2 where that is exact to rounding, and otherwise (g2 overflowed, or
// underflowed from gradients below about 10⁻¹⁴⁰) gonum's scaled 2-norm.
func gradNorm(g2 float64, g []float64) float64 {
	if g2 >= 0x1p-900 && g2 <= 0x1p900 {
		return math.Sqrt(g2)
	}
	return floats.Norm(g, 2)
}

// onlyNormOverflows reports whether a step that tripped the non-finite
// test did so only because ‖∇f‖² overflowed: f finite and within the
// blow-up bound, every component of ∇f finite.
func onlyNormOverflows(f, fBlow float64, g []float64) bool {
	return isFinite(f) && math.Abs(f) <= fBlow && allFinite(g)
}

func vdot(a, b []float64) float64 {
	s := 0.0
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

func vdist(a, b []float64) float64 {
	s := 0.0
	for i, v := range a {
		d := v - b[i]
		s += d * d
	}
	return math.Sqrt(s)
}

func vnormInf(x []float64) float64 {
	m := 0.0
	for _, v := range x {
		m = math.Max(m, math.Abs(v))
	}
	return m
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func allFinite(x []float64) bool {
	for _, v := range x {
		if !isFinite(v) {
			return false
		}
	}
	return true
}
