// JKO steps: each one minimises E(X) + W₂²/(2τ) over monotone quantile nodes by a safeguarded Newton method; rows and diagnostics.
package solvers

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
)

// epsilon is the spacing of float64 numbers at 1.
const epsilon = 0x1p-52

// Safeguards of the JKO steps' Newton method.
const (
	// JKOMaxNewton bounds the Newton iterations of one step.
	JKOMaxNewton = 100
	// JKOSlackTol: a step whose nodes X do worse than staying put,
	// E(X) + W₂²(X, Y)/(2τ) > E(Y), by more than JKOSlackTol relative to
	// max(1, |E|) has not found the step's minimiser, and the run stops.
	// Rounding in E over N nodes is about N·10⁻¹⁶ relative.
	JKOSlackTol = 1e-9
	// jkoStepTol: a step has converged when the Newton correction is below
	// jkoStepTol times the smallest gap between nodes (the next iterate,
	// quadratically convergent, is then exact to rounding).
	jkoStepTol = 1e-10
	// jkoArmijo is the sufficient decrease of the backtracking line search.
	jkoArmijo = 1e-4
	// jkoRounding is the relative size of a change of the objective taken
	// for rounding: a few units of the last place of sums of N terms.
	jkoRounding = 1e-13
)

// JKOSettings control a JKO run. Set MaxSteps or Until.
type JKOSettings struct {
	// Tau is the time step τ > 0.
	Tau float64
	// MaxSteps ends the run after this many steps.
	MaxSteps int
	// Until ends the run when a condition on steps or t holds, tested at the
	// start and after every step; a condition t ≥ T shortens the step that
	// reaches T so that the run lands on it.
	Until []Condition
	// Every reports a row every Every steps (and at steps 0 and the last);
	// 0 reports only the final row to Row.
	Every int
	// Row receives each row; its slices are reused. An error ends the run.
	Row func(r *JKORow) error
	// KeepProfiles keeps up to this many node sets, evenly spread over the
	// steps, and the final one (for plots).
	KeepProfiles int
	// MonitorCount is the number of monitored quantities; Monitor writes
	// them for the nodes x at time t into out. They are evaluated at every
	// step, and the result says whether each was monotone.
	MonitorCount int
	Monitor      func(out, x []float64, t float64)
	// Context cancels the run; Progress is told of it (see GridSettings).
	Context  context.Context
	Progress func(done, total int, t float64)
}

// JKORow is the state of a JKO run at one step.
type JKORow struct {
	Step int
	T    float64
	// Mean and Var are the mean and the variance of the nodes (each of
	// mass 1/N).
	Mean, Var float64
	// Energy is E(X).
	Energy float64
	// Min is the least density between neighbouring nodes, 1/(N·max ΔX).
	Min float64
	// W2 is the Wasserstein distance travelled by the last step,
	// ((1/N)Σ(Xᵢ − Yᵢ)²)^½, and Newton its iterations (0 at step 0).
	W2     float64
	Newton int
	// Monitors holds the monitored quantities (see JKOSettings.Monitor).
	Monitors []float64
	// X holds the nodes (reused between rows).
	X []float64
}

// JKOProfile is the nodes at one step, for plots.
type JKOProfile struct {
	Step int
	T    float64
	X    []float64
}

// JKOResult is the outcome of a JKO run.
type JKOResult struct {
	Steps  int
	T      float64
	Status Status
	Met    Condition
	Final  JKORow
	// EnergyMonotone says whether E never rose beyond rounding
	// (GridEnergyTol relative); MaxIncrease is the largest rise.
	EnergyMonotone  bool
	MaxIncrease     float64
	MaxIncreaseStep int
	Energy0         float64
	// MinSlack is the least, over the steps, of
	// (E(Y) − E(X) − W₂²/(2τ))/max(1, |E|): a minimiser X of
	// E + W₂²(·, Y)/(2τ) does at least as well as X = Y, so this is ≥ 0
	// up to rounding (the energy–dissipation inequality of the scheme).
	MinSlack float64
	// Newton counts the Newton iterations; MaxNewton is the most of a step.
	Newton, MaxNewton int
	// Rate fits the decay of the energy (see RateFit).
	Rate     RateFit
	Samples  []Sample
	Profiles []JKOProfile
	// Monitors describe each monitored quantity over the steps.
	Monitors []Trend
}

// JKOQuantiles returns the N quantile nodes of law d: Xᵢ = G⁻¹((i − ½)/N).
func JKOQuantiles(d Dist, n int) ([]float64, error) {
	l, ok := asLaw1D(d)
	if !ok {
		return nil, fmt.Errorf("%s has no quantile function; jko starts from a law on R with one (normal, uniform, mix, gibbs)", d)
	}
	x := make([]float64, n)
	for i := range x {
		x[i] = l.quantile((float64(i) + 0.5) / float64(n))
		if !isFiniteNum(x[i]) || i > 0 && !(x[i] > x[i-1]) {
			return nil, fmt.Errorf("the quantiles of %s are not finite and increasing at %d nodes (a law too narrow for them)", d, n)
		}
	}
	return x, nil
}

// JKODensity returns the piecewise-constant density of nodes x: between
// neighbours, the midpoints and 1/(N·ΔX).
func JKODensity(x []float64) (mid, rho []float64) {
	n := len(x)
	for i := 0; i+1 < n; i++ {
		mid = append(mid, (x[i]+x[i+1])/2)
		rho = append(rho, 1/(float64(n)*(x[i+1]-x[i])))
	}
	return mid, rho
}

// jkoWork is a JKO run's workspace: tapes' inputs and outputs, the
// gradient, the Hessian and the trial points, allocated once.
type jkoWork struct {
	p    *JKOProblem
	n    int
	potO [][]float64 // V, V′, V″ (the value from the value tape)
	locO [][]float64 // h, h_a, h_b, h_aa, h_ab, h_bb
	parO [][]float64 // H, H_x, H_y, H_xx, H_xy, H_yy
	xk   []float64   // a pair row's constant first argument

	g, diag, off, dir, trial, d, l []float64
	// with a pair term: the pair part of the Hessian's upper triangle
	// (row-major N×N) and the Cholesky factor of the whole, by LAPACK's
	// dpotrf/dpotrs on these arrays (no allocation per step)
	pairH, fact []float64
	// lastE is the energy objective last computed; e the energy of the
	// nodes minimise returned
	lastE, e float64
}

func newJKOWork(p *JKOProblem) *jkoWork {
	n := p.N
	w := &jkoWork{p: p, n: n}
	mk := func(k, m int) [][]float64 {
		out := make([][]float64, k)
		for i := range out {
			out[i] = make([]float64, m)
		}
		return out
	}
	if p.pot != nil {
		w.potO = mk(3, n)
	}
	if p.loc != nil {
		w.locO = mk(6, n-1)
	}
	if p.pair != nil {
		w.parO = mk(6, n)
		w.xk = make([]float64, n)
		w.pairH = make([]float64, n*n)
		w.fact = make([]float64, n*n)
	}
	w.g, w.diag, w.off = make([]float64, n), make([]float64, n), make([]float64, n)
	w.dir, w.trial = make([]float64, n), make([]float64, n)
	w.d, w.l = make([]float64, n), make([]float64, n)
	return w
}

// energy returns E(x); a configuration out of order (a gap ≤ 0 with a
// local term) gives +Inf.
func (w *jkoWork) energy(x []float64) float64 {
	p, n := w.p, w.n
	e := 0.0
	if p.pot != nil {
		p.pot.val.EvalBatch([][]float64{x}, w.potO[:1], n)
		s := 0.0
		for _, v := range w.potO[0] {
			s += v
		}
		e += s / float64(n)
	}
	if p.loc != nil {
		for i := 0; i+1 < n; i++ {
			if !(x[i+1] > x[i]) {
				return math.Inf(1)
			}
		}
		p.loc.val.EvalBatch([][]float64{x[:n-1], x[1:]}, w.locO[:1], n-1)
		for _, v := range w.locO[0] {
			e += v
		}
	}
	if p.pair != nil {
		s := 0.0
		for k := range n {
			fill(w.xk, x[k])
			p.pair.val.EvalBatch([][]float64{w.xk, x}, w.parO[:1], n)
			for j, v := range w.parO[0] {
				if j != k {
					s += v
				}
			}
		}
		e += s / float64(n*n)
	}
	return e
}

// derivatives fills w.g with ∇E(x) and the Hessian: w.diag and w.off (the
// tridiagonal part) and, with a pair term, w.pairH (the pair term's
// off-diagonal part, upper triangle).
func (w *jkoWork) derivatives(x []float64) {
	p, n := w.p, w.n
	g, diag, off := w.g, w.diag, w.off
	clear(g)
	clear(diag)
	clear(off)
	inv := 1 / float64(n)
	if p.pot != nil {
		p.pot.der.EvalBatch([][]float64{x}, w.potO[1:], n)
		for i := range n {
			g[i] += w.potO[1][i] * inv
			diag[i] += w.potO[2][i] * inv
		}
	}
	if p.loc != nil {
		o := w.locO
		p.loc.der.EvalBatch([][]float64{x[:n-1], x[1:]}, o[1:], n-1)
		for i := 0; i+1 < n; i++ {
			g[i] += o[1][i]
			g[i+1] += o[2][i]
			diag[i] += o[3][i]
			off[i] += o[4][i]
			diag[i+1] += o[5][i]
		}
	}
	if p.pair == nil {
		return
	}
	h := w.pairH
	clear(h)
	inv2 := inv * inv
	o := w.parO
	for k := range n {
		fill(w.xk, x[k])
		p.pair.der.EvalBatch([][]float64{w.xk, x}, o[1:], n)
		for j := range n {
			if j == k {
				continue
			}
			// ∂/∂x_k of H(x_k, x_j), ∂/∂x_j of it, and the second derivatives
			g[k] += o[1][j] * inv2
			g[j] += o[2][j] * inv2
			diag[k] += o[3][j] * inv2
			diag[j] += o[5][j] * inv2
			a, b := min(j, k), max(j, k)
			h[a*n+b] += o[4][j] * inv2
		}
	}
}

// objective is E(x) + Σ(x − y)²/(2τN); it leaves E(x) in w.lastE.
func (w *jkoWork) objective(x, y []float64, tau float64) float64 {
	e := w.energy(x)
	w.lastE = e
	s := 0.0
	for i, v := range x {
		d := v - y[i]
		s += d * d
	}
	return e + s/(2*tau*float64(w.n))
}

// solve puts the Newton direction −H⁻¹g into w.dir, H being the Hessian of
// the objective (the energy's plus I/(τN)) shifted by mu·I; it reports
// false when the shifted matrix is not positive definite.
func (w *jkoWork) solve(tau, mu float64) bool {
	n := w.n
	c := 1/(tau*float64(n)) + mu
	if w.p.pair != nil {
		f := w.fact
		copy(f, w.pairH)
		for i := range n {
			f[i*n+i] = w.diag[i] + c
			if i+1 < n {
				f[i*n+i+1] += w.off[i]
			}
		}
		t, ok := lapack64.Potrf(blas64.Symmetric{N: n, Stride: n, Data: f, Uplo: blas.Upper})
		if !ok {
			return false
		}
		for i := range n {
			w.dir[i] = -w.g[i]
		}
		lapack64.Potrs(t, blas64.General{Rows: n, Cols: 1, Stride: 1, Data: w.dir})
		return true
	}
	// tridiagonal LDLᵀ (Thomas): d₁ = a₁, lᵢ = bᵢ/dᵢ, dᵢ₊₁ = aᵢ₊₁ − lᵢbᵢ
	d, l, dir := w.d, w.l, w.dir
	for i := range n {
		a := w.diag[i] + c
		if i > 0 {
			a -= l[i-1] * w.off[i-1]
		}
		if !(a > 0) {
			return false
		}
		d[i] = a
		if i+1 < n {
			l[i] = w.off[i] / a
		}
	}
	for i := range n { // L z = −g
		dir[i] = -w.g[i]
		if i > 0 {
			dir[i] -= l[i-1] * dir[i-1]
		}
	}
	for i := n - 1; i >= 0; i-- { // D Lᵀ p = z
		dir[i] /= d[i]
		if i+1 < n {
			dir[i] -= l[i] * dir[i+1]
		}
	}
	return true
}

// errJKONoDescent is a Newton iteration that found no descent.
var errJKONoDescent = errors.New("no descent")

// minimise replaces x (an initial guess, in order) by the minimiser of
// E(x) + Σ(x − y)²/(2τN) and returns the iterations taken; w.e is then
// E(x).
func (w *jkoWork) minimise(x, y []float64, tau float64) (int, error) {
	n := w.n
	phi := w.objective(x, y, tau)
	if math.IsInf(phi, 1) || math.IsNaN(phi) {
		copy(x, y)
		if phi = w.objective(x, y, tau); math.IsInf(phi, 1) || math.IsNaN(phi) {
			return 0, fmt.Errorf("the energy is not finite at the previous nodes")
		}
	}
	w.e = w.lastE
	inv := 1 / (tau * float64(n))
	for it := 1; it <= JKOMaxNewton; it++ {
		w.derivatives(x)
		for i := range n {
			w.g[i] += (x[i] - y[i]) * inv
		}
		// the Hessian, shifted towards the gradient step while it is not
		// positive definite (Levenberg–Marquardt)
		mu := 0.0
		scale := 0.0
		for _, v := range w.diag {
			scale = math.Max(scale, math.Abs(v))
		}
		scale = math.Max(scale, inv)
		for !w.solve(tau, mu) {
			if mu == 0 {
				mu = 1e-8 * scale
			} else {
				mu *= 10
			}
			if mu > 1e20*scale {
				return it, fmt.Errorf("the Hessian could not be made positive definite")
			}
		}
		dir := w.dir
		dec := 0.0 // the Newton decrement −g·p
		big := 0.0
		for i := range n {
			dec -= w.g[i] * dir[i]
			big = math.Max(big, math.Abs(dir[i]))
		}
		// converged when the correction is below jkoStepTol of the least
		// gap, or at the rounding of the nodes themselves (nodes that
		// meet, in a potential's minimum, have no gap to measure by)
		gap, size := math.Inf(1), 0.0
		for i := 0; i+1 < n; i++ {
			gap = math.Min(gap, x[i+1]-x[i])
		}
		for _, v := range x {
			size = math.Max(size, math.Abs(v))
		}
		if math.IsInf(gap, 1) || gap <= 0 {
			gap = 0
		}
		if big <= jkoStepTol*gap+16*epsilon*math.Max(1, size) {
			for i := range n {
				w.trial[i] = x[i] + dir[i]
			}
			e := w.e
			if t := w.objective(w.trial, y, tau); t <= phi+jkoRounding*math.Max(1, math.Abs(phi)) && w.inOrder(w.trial) {
				copy(x, w.trial)
				e = w.lastE
			}
			w.e = e
			return it, nil
		}
		if !(dec > 0) {
			if math.Abs(dec) <= jkoRounding*math.Max(1, math.Abs(phi)) {
				return it, nil
			}
			return it, errJKONoDescent
		}
		alpha := 1.0
		ok := false
		for range 60 {
			for i := range n {
				w.trial[i] = x[i] + alpha*dir[i]
			}
			if w.inOrder(w.trial) {
				t := w.objective(w.trial, y, tau)
				if t <= phi-jkoArmijo*alpha*dec+4*jkoRounding*math.Abs(phi) {
					copy(x, w.trial)
					phi, ok, w.e = t, true, w.lastE
					break
				}
			}
			alpha /= 2
		}
		if !ok {
			// no decrease beyond rounding: x is the minimiser to rounding
			if dec <= 1e3*jkoRounding*math.Max(1, math.Abs(phi)) {
				return it, nil
			}
			return it, errJKONoDescent
		}
	}
	return JKOMaxNewton, fmt.Errorf("the Newton iterations did not converge in %d steps", JKOMaxNewton)
}

// inOrder reports whether the nodes x are admissible: finite and strictly
// increasing when a local term needs the gaps ΔX > 0, else non-decreasing
// (without one, nodes may meet, as particles in a potential's minimum do).
func (w *jkoWork) inOrder(x []float64) bool {
	if w.p.loc != nil {
		return ordered(x)
	}
	for i, v := range x {
		if !isFiniteNum(v) || i > 0 && v < x[i-1] {
			return false
		}
	}
	return true
}

// ordered reports whether x is strictly increasing and finite.
func ordered(x []float64) bool {
	for i, v := range x {
		if !isFiniteNum(v) || i > 0 && !(v > x[i-1]) {
			return false
		}
	}
	return true
}

// RunJKO runs Jordan–Kinderlehrer–Otto steps (Jordan, Kinderlehrer &
// Otto 1998, "The variational formulation of the Fokker–Planck
// equation", SIAM J. Math. Anal. 29) from the quantile nodes x0 (in
// order; not modified):
//
//	X^{k+1} = argmin_X E(X) + W₂²(X, X^k)/(2τ),  W₂²(X, Y) = (1/N)Σ(Xᵢ − Yᵢ)²,
//
// W₂ between two laws on R being the L² distance of their quantile
// functions. Each step is minimised by Newton's method on the Hessian
// (tridiagonal for potential and local terms, solved by LDLᵀ; dense with
// a pair term, by Cholesky), shifted (Levenberg–Marquardt) where not
// positive definite, with a backtracking line search that keeps the
// nodes in order, from the previous step extrapolated linearly. For the
// entropy the steps are, to first order in τ, implicit Euler steps of the
// heat equation: the scheme is first order in τ.
func RunJKO(p *JKOProblem, x0 []float64, s *JKOSettings) (*JKOResult, error) {
	n := p.N
	if len(x0) != n {
		return nil, fmt.Errorf("%d nodes given for a problem of %d", len(x0), n)
	}
	if !(s.Tau > 0) || math.IsInf(s.Tau, 0) {
		return nil, fmt.Errorf("the time step tau must be positive, not %g", s.Tau)
	}
	if !ordered(x0) {
		return nil, fmt.Errorf("the starting nodes are not finite and increasing")
	}
	xBlow := BlowUpFactor * math.Max(1, math.Max(math.Abs(x0[0]), math.Abs(x0[n-1])))
	ctx := s.Context
	if ctx == nil {
		ctx = context.Background()
	}
	maxSteps, total := stepLimits(s.MaxSteps, len(s.Until) > 0)
	w := newJKOWork(p)
	x := slices.Clone(x0)
	y := make([]float64, n)    // the previous step's nodes
	prev := make([]float64, n) // and the one before, for the extrapolation
	res := &JKOResult{EnergyMonotone: true, MinSlack: math.Inf(1), Monitors: make([]Trend, s.MonitorCount)}
	row := &JKORow{X: x, Monitors: make([]float64, s.MonitorCount)}
	samples := newStepSampler[Sample](MaxSamples)
	var profiles *stepSampler[JKOProfile]
	if s.KeepProfiles > 0 {
		profiles = newStepSampler[JKOProfile](s.KeepProfiles)
	}
	step, t := 0, 0.0
	e := w.energy(x)
	if math.IsNaN(e) || math.IsInf(e, 0) {
		return nil, &DivergedError{Step: 0, Method: "jko", Reason: "the energy is not finite at the starting nodes"}
	}
	res.Energy0 = e
	lastRow := -1
	lastProgress := time.Now()
	if s.Progress != nil {
		s.Progress(0, total, 0)
	}
	status := StepLimit
	finish := func() *JKOResult {
		fillJKORow(row, step, t, e, x)
		res.Steps, res.T, res.Status = step, t, status
		res.Final = *row
		res.Final.X = slices.Clone(x)
		res.Final.Monitors = slices.Clone(row.Monitors)
		res.Samples = samples.items
		res.Rate = fitRate(samples.items, step)
		if math.IsInf(res.MinSlack, 1) {
			res.MinSlack = 0
		}
		if profiles != nil {
			res.Profiles = profiles.items
			if k := len(res.Profiles); k == 0 || res.Profiles[k-1].Step != step {
				res.Profiles = append(res.Profiles, JKOProfile{Step: step, T: t, X: res.Final.X})
			}
		}
		return res
	}
	for {
		if s.MonitorCount > 0 {
			s.Monitor(row.Monitors, x, t)
			for i, v := range row.Monitors {
				if step == 0 {
					res.Monitors[i] = Trend{Initial: v, Final: v, Decreasing: true, Increasing: true}
				} else {
					res.Monitors[i].add(v, step)
				}
			}
		}
		if samples.want(step) {
			samples.add(step, Sample{Step: step, T: t, F: e})
		}
		if profiles != nil && profiles.want(step) {
			profiles.add(step, JKOProfile{Step: step, T: t, X: slices.Clone(x)})
		}
		stop := false
		if c, ok := jkoCondition(s.Until, step, t); ok {
			res.Met, status, stop = c, ConditionMet, true
		} else if step >= maxSteps {
			stop = true
			if maxSteps == DefaultStepLimit && len(s.Until) > 0 && s.MaxSteps <= 0 {
				status = DefaultLimit
			}
		} else if ctx.Err() != nil {
			status, stop = Cancelled, true
		}
		if s.Every > 0 && step%s.Every == 0 || stop && lastRow != step {
			lastRow = step
			fillJKORow(row, step, t, e, x)
			if s.Row != nil {
				if err := s.Row(row); err != nil {
					status = RowStopped
					return finish(), err
				}
			}
		}
		if stop {
			break
		}
		if s.Progress != nil && time.Since(lastProgress) >= ProgressEvery {
			lastProgress = time.Now()
			s.Progress(step, total, t)
		}
		// the step: τ, or what is left to a time target
		tau, landing := s.Tau, math.NaN()
		for _, c := range s.Until {
			if c.Quantity == QTime && (c.Op == ">=" || c.Op == ">") && c.Value > t && c.Value-t <= tau*(1+1e-12) {
				tau, landing = c.Value-t, c.Value
			}
		}
		copy(prev, y)
		copy(y, x)
		if step > 0 { // extrapolate from the last two steps, if in order
			for i := range x {
				x[i] = 2*y[i] - prev[i]
			}
			if !w.inOrder(x) {
				copy(x, y)
			}
		}
		its, err := w.minimise(x, y, tau)
		res.Newton += its
		res.MaxNewton = max(res.MaxNewton, its)
		if err != nil {
			copy(x, y)
			return finish(), &StepError{Step: step + 1, Method: "jko",
				Msg: fmt.Sprintf("the minimisation of E + W₂²/(2τ) failed (%v) at t = %.6g; take a smaller tau", err, t)}
		}
		eNew := w.e
		if math.IsNaN(eNew) || math.IsInf(eNew, 0) {
			return finish(), &DivergedError{Step: step + 1, T: t, Method: "jko", Reason: "the energy is not finite", Bound: "take a smaller tau"}
		}
		if reach := math.Max(math.Abs(x[0]), math.Abs(x[n-1])); reach > xBlow {
			copy(x, y)
			return finish(), &DivergedError{Step: step + 1, T: t, Method: "jko",
				Reason: fmt.Sprintf("the nodes grew without bound (reaching %.3g, more than %.0e times the start's extent): the energy is unbounded below along the flow", reach, BlowUpFactor)}
		}
		w2 := 0.0
		for i := range x {
			d := x[i] - y[i]
			w2 += d * d
		}
		w2 /= float64(n)
		scale := math.Max(1, math.Max(math.Abs(e), math.Abs(eNew)))
		slack := (e - eNew - w2/(2*tau)) / scale
		res.MinSlack = math.Min(res.MinSlack, slack)
		if slack < -JKOSlackTol {
			// staying put (X = Y) does better than the X found: Newton
			// stopped at a point that is not the step's minimiser
			copy(x, y)
			return finish(), &StepError{Step: step + 1, Method: "jko",
				Msg: fmt.Sprintf("the minimisation of E + W₂²/(2τ) at t = %.6g ended at nodes worse than the previous ones (by %.3g relative): the step's problem is not convex there; take a smaller tau", t, -slack)}
		}
		if rise := eNew - e; rise > GridEnergyTol*scale {
			res.EnergyMonotone = false
			if rise > res.MaxIncrease {
				res.MaxIncrease, res.MaxIncreaseStep = rise, step+1
			}
		}
		e = eNew
		step++
		if math.IsNaN(landing) {
			t += tau
		} else {
			t = landing
		}
		if math.IsInf(t, 0) {
			return finish(), &StepError{Step: step, Method: "jko", Msg: fmt.Sprintf("the time overflowed (tau = %g)", s.Tau)}
		}
		row.W2, row.Newton = math.Sqrt(w2), its
	}
	if s.Progress != nil {
		s.Progress(-1, total, t)
	}
	return finish(), nil
}

// fillJKORow fills the statistics of the nodes x.
func fillJKORow(row *JKORow, step int, t, e float64, x []float64) {
	n := float64(len(x))
	m := 0.0
	for _, v := range x {
		m += v
	}
	m /= n
	v2, gap := 0.0, 0.0
	for i, v := range x {
		d := v - m
		v2 += d * d
		if i > 0 {
			gap = math.Max(gap, v-x[i-1])
		}
	}
	row.Step, row.T, row.Energy, row.Mean, row.Var = step, t, e, m, v2/n
	row.Min = math.NaN()
	if gap > 0 {
		row.Min = 1 / (n * gap)
	}
	row.X = x
}

func jkoCondition(until []Condition, step int, t float64) (Condition, bool) {
	for _, c := range until {
		v := float64(step)
		if c.Quantity == QTime {
			v = t
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
