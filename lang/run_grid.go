// run for functionals on a grid: finite volumes for ∂q/∂t = ∇·(q∇δF/δq) on a box in 1-D or 2-D.
package lang

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	ad "flowlang/autodiff"
	"flowlang/internal/plotting"
	"flowlang/solvers"
)

// densityQuantities are what an until condition of a grid or jko run tests.
var densityQuantities = []string{"steps", "t"}

// MaxGridSide bounds the cells per coordinate a script may ask for (the
// memory budget usually refuses far fewer).
const MaxGridSide = 1 << 26

// plotTimes is how many densities a 1-D plot of a grid or jko run draws:
// those nearest to evenly spaced times from the start to the end. The run
// keeps keptProfiles of them, evenly spread over its steps, to choose from.
const (
	plotTimes    = 5
	keptProfiles = 64
)

// atTimes returns the indices of the profiles (times ts, increasing)
// nearest to plotTimes evenly spaced times from ts[0] to the last, each
// once: the first and the last always.
func atTimes(ts []float64) []int {
	if len(ts) == 0 {
		return nil
	}
	t0, t1 := ts[0], ts[len(ts)-1]
	var out []int
	for k := range plotTimes {
		want := t0 + (t1-t0)*float64(k)/float64(plotTimes-1)
		best := 0
		for i, t := range ts {
			if math.Abs(t-want) < math.Abs(ts[best]-want) {
				best = i
			}
		}
		if len(out) == 0 || out[len(out)-1] != best {
			out = append(out, best)
		}
	}
	return out
}

// gridCellArrays estimates the float64 arrays of one cell's size a grid
// run holds (the states, stages, jets, fluxes, tapes' inputs and
// outputs), for refusing a grid too large before building it.
const gridCellArrays = 40

func positiveParam(v float64) error {
	if !(v > 0) {
		return errors.New("must be positive")
	}
	return nil
}

func init() {
	registerRunMethod(&runMethod{
		RunMethod: RunMethod{
			Name: "grid", Target: "functional",
			Doc:   "finite volumes for ∂q/∂t = ∇·(q∇δF/δq) on a box, 1-D and 2-D (Carrillo, Chertock & Huang 2015)",
			Until: densityQuantities,
			Params: []RunParam{
				{Name: "domain", Doc: "the box: [a, b] in 1-D, [[a1, b1], [a2, b2]] in 2-D (required)", Expr: true},
				{Name: "n", Doc: "cells per coordinate", Default: 200, Int: true, Check: func(v float64) error {
					if v < solvers.MinGridCells || v > MaxGridSide {
						return fmt.Errorf("must be between %d and %d", solvers.MinGridCells, MaxGridSide)
					}
					return nil
				}},
				{Name: "h", Doc: "the largest time step (default: the stability bounds alone)", Check: positiveParam},
				{Name: "rk", Doc: "stages of the SSP Runge–Kutta scheme: 1, 2 or 3", Default: solvers.DefaultGridRK, Int: true, Check: func(v float64) error {
					if v < 1 || v > 3 {
						return errors.New("must be 1, 2 or 3")
					}
					return nil
				}},
				{Name: "order", Doc: "the reconstruction's order: 1 (upwind) or 2 (minmod slopes)", Default: solvers.DefaultGridOrder, Int: true, Check: func(v float64) error {
					if v != 1 && v != 2 {
						return errors.New("must be 1 or 2")
					}
					return nil
				}},
			},
		},
		run: runGrid,
	})
}

// gridRun is a run of a functional on a grid, resolved.
type gridRun struct {
	*runCtx
	f    *funcInfo
	dim  int
	ds   *scope // the run's scope with the density's space
	grid *solvers.Grid
	prob *solvers.GridProblem
	law  solvers.Dist
	cmp  solvers.Dist
	tSym *ad.Node

	monNames  []string
	coordCols []string
	columns   []string
	warnings  []string
}

func runGrid(in *Interp, rc *runCtx) *Error {
	f := in.functionals[rc.target]
	r := &gridRun{runCtx: rc, f: f, dim: f.space.Coords()}
	r.ds = rc.s.withSpace(&f.space)
	if err := r.resolve(); err != nil {
		return err
	}
	if in.opts.CheckOnly {
		return nil
	}
	return r.execute()
}

// resolve reads the domain and the grid, compiles the functional for it,
// and reads from, compare to and the monitors.
func (r *gridRun) resolve() *Error {
	st := r.st
	if r.dim > solvers.MaxGridDim {
		return r.errAt(st.Method.Name, "grid runs densities in 1 or 2 dimensions, and %s has %d", r.f.space.Density, r.dim).
			withHint("for more dimensions use a particle method (langevin, blob, svgd)")
	}
	lo, hi, err := r.domain()
	if err != nil {
		return err
	}
	n := int(r.params["n"])
	nArg := Node(st.Method)
	if a := r.args["n"]; a != nil {
		nArg = a.Value
	}
	cells := math.Pow(float64(n), float64(r.dim))
	budget := solvers.DefaultMemoryBudget()
	if need := cells * gridCellArrays * 8; need > float64(budget) {
		return r.errAt(nArg, "a grid of %d cells per coordinate in %d dimension%s would need about %s of memory, more than the %s available",
			n, r.dim, plural(r.dim), bytesText(int64(math.Min(need, math.MaxInt64))), bytesText(budget)).withHint("use fewer cells")
	}
	g, gerr := solvers.NewGrid(lo, hi, n)
	if gerr != nil {
		return r.errAt(r.args["domain"].Value, "%v", gerr)
	}
	r.grid = g
	p, perr := solvers.NewGridProblem(r.f.space, r.f.value, g)
	if perr != nil {
		return r.problemError(perr)
	}
	r.prob = p
	if err := r.resolveFrom(); err != nil {
		return err
	}
	if st.Compare != nil {
		if r.dim != 1 {
			return r.errAt(st.Compare, "compare to is available for grids in one dimension (W2 by quantile functions); the density has %d coordinates", r.dim)
		}
		d, err := r.ds.distribution(st.Compare, 1)
		if err != nil {
			return err
		}
		if _, isPoints := d.(*solvers.Points); isPoints {
			return r.errAt(st.Compare, "compare a grid density to a law, not to points")
		}
		r.cmp = d
	}
	return r.resolveMonitors(func(e *ad.Node) error { return p.AddMonitor(e, r.tSym) }, true)
}

// domain reads domain = [a, b] (1-D) or [[a1, b1], [a2, b2]] (2-D).
func (r *gridRun) domain() (lo, hi []float64, err *Error) {
	a := r.args["domain"]
	want := "[a, b]"
	if r.dim == 2 {
		want = "[[a1, b1], [a2, b2]]"
	}
	if a == nil {
		example := "[-5, 5]"
		if r.dim == 2 {
			example = "[[-5, 5], [-5, 5]]"
		}
		return nil, nil, r.errAt(r.st.Method, "grid needs its domain, the box %s that holds the density", want).
			withHint("e.g. grid(domain = " + example + ", n = 200)")
	}
	wrong := func(found string) *Error {
		example := "[-5, 5]"
		if r.dim == 2 {
			example = "[[-5, 5], [-5, 5]]"
		}
		return r.errAt(a.Value, "the domain of a density with %d coordinate%s is %s, found %s", r.dim, plural(r.dim), want, found).
			withHint("e.g. domain = " + example)
	}
	v, verr := r.s.eval(a.Value)
	if verr != nil {
		return nil, nil, verr
	}
	var rows [][]*ad.Node
	switch {
	case r.dim == 1 && v.IsVector() && v.Shape[0] == 2:
		rows = [][]*ad.Node{v.Elems}
	case r.dim == 2 && v.IsMatrix() && v.Shape[0] == 2 && v.Shape[1] == 2:
		rows = [][]*ad.Node{v.Row(0), v.Row(1)}
	default:
		return nil, nil, wrong(v.ShapeName())
	}
	for c, row := range rows {
		var ab [2]float64
		for k, e := range row {
			if !e.IsConstant() {
				return nil, nil, r.errAt(a.Value, "the domain must be numbers known now, found %s", brief(e))
			}
			f, evErr := ad.Eval(e, nil)
			if evErr != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, nil, r.errAt(a.Value, "the domain must be finite numbers, found %s", brief(e))
			}
			ab[k] = f
		}
		if !(ab[0] < ab[1]) {
			what := "the domain"
			if r.dim == 2 {
				what = fmt.Sprintf("the domain's interval for coordinate %d", c+1)
			}
			return nil, nil, r.errAt(a.Value, "%s must be [a, b] with a < b, found [%s, %s]", what, FormatNumber(ab[0], 6), FormatNumber(ab[1], 6))
		}
		lo, hi = append(lo, ab[0]), append(hi, ab[1])
	}
	return lo, hi, nil
}

// problemError positions a functional the grid cannot compile.
func (r *gridRun) problemError(err error) *Error {
	if e := r.termError(err); e != nil {
		return e
	}
	return r.errAt(r.st.Target, "cannot run %s on a grid: %v", r.f.name, err)
}

// termError positions a term a density method cannot handle (nil when err
// is about something else), with the methods that can as the hint.
func (r *gridRun) termError(err error) *Error {
	var te *solvers.TermError
	if !errors.As(err, &te) {
		return nil
	}
	e := r.errAt(r.st.Method.Name, "%s cannot handle %s of %s: %s", te.Method, te.Term, r.f.name, te.Why)
	if len(te.Can) > 0 {
		e.Hint = "use " + orList(te.Can)
	}
	return e
}

// resolveFrom reads the starting law.
func (r *gridRun) resolveFrom() *Error {
	st := r.st
	name := r.method.Name
	if st.From == nil {
		return r.errAt(st.Target, "a run of %s by %s needs a starting law: run %s from DIST using %s(...)", r.f.name, name, r.f.name, name).
			withHint("e.g. from normal(0, 1)")
	}
	if isSampleCall(st.From) {
		return r.errAt(st.From, "%s evolves a density, not particles: start from the law itself, e.g. from %s", name, label(r.src, unparen(st.From).(*CallExpr).Args[0]))
	}
	d, err := r.ds.distribution(st.From, r.dim)
	if err != nil {
		return err
	}
	if _, isPoints := d.(*solvers.Points); isPoints {
		return r.errAt(st.From, "%s evolves a density, and points(...) has none; start from a law with a density: normal, uniform, mix or gibbs", name)
	}
	r.law = d
	return nil
}

// resolveMonitors reads monitor NAME = EXPR, an expression of the
// density's variable and t (its mean under the density is the column) or,
// when functionals are allowed, a functional of the density (its value).
// add registers one with the solver.
func (r *gridRun) resolveMonitors(add func(e *ad.Node) error, functionals bool) *Error {
	if len(r.st.Monitors) == 0 {
		return nil
	}
	sp := r.f.space
	ms := r.ds.child()
	if sp.Var != "t" {
		r.tSym = ad.Symbol("t", 0)
		ms.vars["t"] = binding{val: Scalar(r.tSym)}
	}
	base := r.baseColumns()
	for _, mon := range r.st.Monitors {
		name := mon.Name.Name
		if slices.Contains(base, name) || slices.Contains(r.monNames, name) {
			return r.errAt(mon.Name, "monitor %s clashes with a column of the run's table", name)
		}
		v, err := ms.eval(mon.X)
		if err != nil {
			return err
		}
		if !v.IsScalar() {
			return r.errAt(mon.X, "a monitor must be a scalar, this is %s", v.ShapeName()).withHint("e.g. monitor m4 = " + sp.Var + "^4")
		}
		e := v.S()
		if !functionals && (e.HasIntegral() || hasJet(e)) {
			return r.errAt(mon.X, "a monitor of a %s run is the mean of a function of %s and t under the density", r.method.Name, sp.Var).
				withHint("e.g. monitor m4 = " + sp.Var + "^4")
		}
		if e.HasIntegral() && r.tSym != nil && e.DependsOn(r.tSym) {
			return r.errAt(mon.X, "a functional monitor cannot depend on t")
		}
		if aerr := add(e); aerr != nil {
			return r.errAt(mon.X, "%v", aerr).withHint("a monitor is the mean of a function of " + sp.Var + " (e.g. " + sp.Var + "^4) or a functional (e.g. integral(q*log(q)))")
		}
		r.monNames = append(r.monNames, name)
	}
	return nil
}

func hasJet(e *ad.Node) bool {
	for _, s := range e.FreeSymbols() {
		if s.Kind() == ad.KJet {
			return true
		}
	}
	return false
}

// baseColumns are the rows' columns before the monitors: step, t, mass,
// the mean and the variance of each coordinate, energy, min.
func (r *gridRun) baseColumns() []string {
	r.coordCols = nil
	if r.f.space.Dim == 0 {
		r.coordCols = []string{"mean", "var"}
	} else {
		for i := 1; i <= r.dim; i++ {
			r.coordCols = append(r.coordCols, fmt.Sprintf("mean[%d]", i))
		}
		for i := 1; i <= r.dim; i++ {
			r.coordCols = append(r.coordCols, fmt.Sprintf("var[%d]", i))
		}
	}
	return append(append([]string{"step", "t", "mass"}, r.coordCols...), "energy", "min")
}

// rowSettings chooses which steps give rows: every K, every step for a
// CSV without every, else the start and the end only.
func (r *gridRun) rowEvery() int {
	switch {
	case r.every > 0:
		return r.every
	case r.st.To != nil:
		return 1
	}
	return 0
}

func (r *gridRun) execute() *Error {
	st := r.st
	q0, inside, derr := solvers.GridDensity(r.grid, r.law)
	if derr != nil {
		var oe *solvers.OutsideError
		if errors.As(derr, &oe) {
			return r.errAt(st.From, "%s has %s of its mass outside the domain %s", label(r.src, st.From), percent(1-oe.Inside), r.domainText()).
				withHint("widen the domain or move the law into it")
		}
		return r.errAt(st.From, "%v", derr)
	}
	if out := 1 - inside; out > solvers.BoundaryWarn {
		r.warnings = append(r.warnings, fmt.Sprintf("%s of the starting law's mass lies outside the domain and was left out", percent(out)))
	}
	r.columns = append(r.baseColumns(), r.monNames...)
	tableCols := []int{0, 1, 2}
	for i := range r.coordCols {
		tableCols = append(tableCols, 3+i)
	}
	for i := 3 + len(r.coordCols); i < len(r.columns); i++ {
		tableCols = append(tableCols, i)
	}
	sink, serr := r.newRowSink(r.columns, tableCols)
	if serr != nil {
		return serr
	}
	toTable := r.every > 0
	s := &solvers.GridSettings{
		Until:    r.until,
		Every:    r.rowEvery(),
		RK:       int(r.params["rk"]),
		Order:    int(r.params["order"]),
		Context:  r.ctx(),
		Progress: r.progress(),
	}
	if r.given["h"] {
		s.MaxStep = r.params["h"]
	}
	if r.hasSteps {
		s.MaxSteps = r.steps
		if r.steps == 0 {
			s.Until = nil
		}
	}
	if st.Plot != nil {
		s.KeepProfiles = keptProfiles
		if r.dim > 1 {
			s.KeepProfiles = 1 // a 2-D plot draws the start and the end
		}
	}
	vals := make([]float64, len(r.columns))
	s.Row = func(row *solvers.GridRow) error {
		vals[0], vals[1], vals[2] = float64(row.Step), row.T, row.Mass
		k := 3
		k += copy(vals[k:], row.Mean)
		k += copy(vals[k:], row.Var)
		vals[k], vals[k+1] = row.Energy, row.Min
		copy(vals[k+2:], row.Monitors)
		return sink.write(vals, toTable)
	}
	start := time.Now()
	res, rerr := solvers.RunGrid(r.prob, q0, s)
	wall := wallSince(start)
	if rerr != nil {
		sink.abort()
		return r.gridError(rerr)
	}
	if res.Status == solvers.Cancelled {
		sink.abort()
		return r.interrupted(res.Steps, res.T)
	}
	w2 := math.NaN()
	if r.cmp != nil {
		v, err := solvers.W2ToLaw(solvers.GridQuantile(r.grid, res.Final.Q), r.cmp)
		if err != nil {
			sink.abort()
			return r.errAt(st.Compare, "cannot compute W2 to %s: %v", label(r.src, st.Compare), err)
		}
		w2 = v
	}
	if err := sink.commit(); err != nil {
		return err
	}
	if res.MaxBoundary > solvers.BoundaryWarn {
		r.warnings = append(r.warnings, fmt.Sprintf("the density reached the walls of the domain (up to %s of the mass in the cells along them); the walls hold it back, so this is not the flow on the whole space: widen the domain",
			FormatNumber(res.MaxBoundary, 2)))
	}
	if st.Plot != nil {
		if err := r.plot(res); err != nil {
			return err
		}
	}
	r.in.report(r.record(res, res.Monitors, w2, wall))
	return nil
}

// percent prints a fraction of the mass.
func percent(f float64) string {
	if f >= 1e-3 {
		return FormatNumber(100*f, 3) + "%"
	}
	return FormatNumber(f, 2)
}

func (r *gridRun) domainText() string { return label(r.src, r.args["domain"].Value) }

// gridError positions a failure of a grid run.
func (r *gridRun) gridError(err error) *Error {
	var de *solvers.DivergedError
	var se *solvers.StepError
	var me *solvers.MemoryError
	switch {
	case errors.As(err, &de):
		if de.Step == 0 {
			e := r.errAt(r.st.From, "cannot start the run: %s", de.Reason)
			if de.Source != "" {
				e.Msg += "; " + de.Source
			}
			e.Hint = "δ" + r.f.name + "/δ" + r.f.space.Density + " must be finite wherever the starting density lives on the grid"
			return e
		}
		e := r.errAt(r.st.Method, "grid stopped at step %d (t = %s): %s", de.Step, FormatNumber(de.T, 6), de.Reason)
		if de.Source != "" {
			e.Msg += "; " + de.Source
		}
		e.Hint = fmt.Sprintf("either the flow reached a density where %s or δ%s/δ%s is not defined (see q there), or the density is not resolved: then more cells or a smaller h help",
			r.f.name, r.f.name, r.f.space.Density)
		return e
	case errors.As(err, &se):
		return r.errAt(r.st.Method, "grid failed at step %d: %s", se.Step, se.Msg)
	case errors.As(err, &me):
		at := Node(r.st.Method)
		if a := r.args["n"]; a != nil {
			at = a.Value
		}
		return r.errAt(at, "%v", err).withHint("use fewer cells")
	}
	return r.errAt(r.st.Method, "grid: %v", err)
}

// plot draws the density at a few times in 1-D, and the marginals of the
// first and last densities in 2-D.
func (r *gridRun) plot(res *solvers.GridResult) *Error {
	path, title := r.st.Plot.Value, label(r.src, r.st)
	g := r.grid
	var series []plotting.Series
	sp := r.f.space
	if r.dim == 1 {
		xs := make([]float64, g.N[0])
		for i := range xs {
			xs[i] = g.Center(0, i)
		}
		ts := make([]float64, len(res.Profiles))
		for i, pr := range res.Profiles {
			ts[i] = pr.T
		}
		for _, i := range atTimes(ts) {
			pr := res.Profiles[i]
			series = append(series, plotting.Series{Name: "t = " + FormatNumber(pr.T, 4), X: xs, Y: pr.Q})
		}
		err := plotting.Lines(path, title, sp.Var, sp.Density, false, series...)
		if err != nil {
			return r.errAt(r.st.Plot, "cannot draw %s: %v", path, unwrapPathError(err))
		}
		return nil
	}
	ends := []solvers.GridProfile{res.Profiles[0], res.Profiles[len(res.Profiles)-1]}
	n0, n1 := g.N[0], g.N[1]
	for c := range 2 {
		xs := make([]float64, g.N[c])
		for i := range xs {
			xs[i] = g.Center(c, i)
		}
		for _, pr := range ends {
			m := make([]float64, g.N[c])
			for k, v := range pr.Q {
				i := k / n1
				if c == 1 {
					i = k % n1
				}
				m[i] += v * g.H(1-c)
			}
			_ = n0
			series = append(series, plotting.Series{Name: fmt.Sprintf("%s[%d] at t = %s", sp.Var, c+1, FormatNumber(pr.T, 4)), X: xs, Y: m})
		}
	}
	if err := plotting.Lines(path, title, sp.Var+" (each coordinate)", "marginal density", false, series...); err != nil {
		return r.errAt(r.st.Plot, "cannot draw %s: %v", path, unwrapPathError(err))
	}
	return nil
}

// record builds the run's JSON record and human summary.
func (r *gridRun) record(res *solvers.GridResult, mons []solvers.Trend, w2, wall float64) *RunRecord {
	fin := res.Final
	final := map[string]any{"mass": fin.Mass, "mean": slices.Clone(fin.Mean), "var": slices.Clone(fin.Var),
		"energy": finiteOr(fin.Energy), "min": fin.Min}
	if !math.IsNaN(w2) {
		final["w2"] = w2
	}
	params := r.numericParams()
	if !r.given["h"] {
		delete(params, "h")
	}
	var domain [][]float64
	for c := range r.grid.Dim {
		domain = append(domain, []float64{r.grid.Lo[c], r.grid.Hi[c]})
	}
	if r.grid.Dim == 1 {
		params["domain"] = domain[0]
	} else {
		params["domain"] = domain
	}
	rec := &RunRecord{
		Kind: "run", Line: startLine(r.st), Target: r.f.name, Method: "grid",
		Params: params, Steps: res.Steps, T: res.T, Final: final,
		Monotone: res.EnergyMonotone, WallS: wall,
		Stopped: r.stopRule(res.Status, res.Met, res.Steps),
		Label:   label(r.src, r.st),
	}
	g := r.grid
	dx := make([]float64, g.Dim)
	for c := range dx {
		dx[c] = g.H(c)
	}
	energy := map[string]any{"initial": res.Energy0, "final": finiteOr(fin.Energy), "monotone": res.EnergyMonotone}
	if !res.EnergyMonotone {
		energy["max_rise"], energy["max_rise_step"] = res.MaxIncrease, res.MaxIncreaseStep
	}
	diag := map[string]any{
		"grid":          g.String(),
		"cells":         g.Cells(),
		"dx":            dx,
		"scheme":        r.schemeText(),
		"vd":            brief(r.prob.VD),
		"dt":            map[string]any{"min": res.DtMin, "max": res.DtMax},
		"limited_by":    map[string]any{"transport": res.Limited.Transport, "diffusion": res.Limited.Parabolic, "h": res.Limited.MaxStep},
		"rejected":      res.Rejected,
		"mass_drift":    res.MassDrift,
		"min_q":         res.MinQ,
		"boundary_mass": res.MaxBoundary,
		"energy":        energy,
		"start":         label(r.src, r.st.From),
	}
	if rj := rateJSON(res.Rate); rj != nil {
		diag["rate"] = rj
	}
	if len(r.warnings) > 0 {
		diag["warnings"] = r.warnings
	}
	if len(r.monNames) > 0 {
		m := map[string]any{}
		for i, name := range r.monNames {
			m[name] = trendJSON(mons[i])
		}
		diag["monitors"] = m
	}
	rec.Diagnostics = diag

	var sum []string
	sum = append(sum, fmt.Sprintf("run %s with %s: %d step%s, t = %s (%s)",
		r.f.name, r.methodLabel(), res.Steps, plural(res.Steps), FormatNumber(res.T, 6), rec.Stopped))
	line := fmt.Sprintf("  mass = %s, mean = %s, var = %s, energy = %s, min %s = %s",
		FormatNumber(fin.Mass, 6), r.momentText(fin.Mean), r.momentText(fin.Var), FormatNumber(fin.Energy, 6), r.f.space.Density, FormatNumber(fin.Min, 3))
	if !math.IsNaN(w2) {
		line += fmt.Sprintf("; w2 to %s = %s", label(r.src, r.st.Compare), FormatNumber(w2, 4))
	}
	sum = append(sum, line)
	mono := "energy monotone: yes"
	if !res.EnergyMonotone {
		mono = fmt.Sprintf("energy monotone: no (largest rise %s at step %d)", FormatNumber(res.MaxIncrease, 3), res.MaxIncreaseStep)
	}
	sum = append(sum, fmt.Sprintf("  %s; mass drift %s; %s; %s, Δt %s; wall %s",
		mono, FormatNumber(res.MassDrift, 2), g.String(), r.schemeText(), r.dtText(res), fmtSeconds(wall)))
	if t := rateText(res.Rate, "F − F*"); t != "" {
		sum = append(sum, "  rate: "+t)
	}
	for i, name := range r.monNames {
		tr := mons[i]
		sum = append(sum, fmt.Sprintf("  monitor %s: %s, %s → %s", name, tr.Monotonicity(), FormatNumber(tr.Initial, 6), FormatNumber(tr.Final, 6)))
	}
	for _, w := range r.warnings {
		sum = append(sum, "  warning: "+w)
	}
	rec.Summary = sum
	return rec
}

// schemeText names the time stepping and the reconstruction.
func (r *gridRun) schemeText() string {
	rk := map[int]string{1: "explicit Euler", 2: "SSP-RK2", 3: "SSP-RK3"}[int(r.params["rk"])]
	if r.params["order"] == 1 {
		return rk + ", upwind"
	}
	return rk + ", minmod slopes"
}

// dtText describes the steps taken and what bounded them.
func (r *gridRun) dtText(res *solvers.GridResult) string {
	if res.Steps == 0 {
		return "no steps"
	}
	l := res.Limited
	by := "positivity (transport) bound"
	switch {
	case l.MaxStep >= l.Transport && l.MaxStep >= l.Parabolic:
		by = "h"
	case l.Parabolic >= l.Transport:
		by = "diffusion bound"
		if r.prob.Order >= 2 {
			by = fmt.Sprintf("diffusion bound, ∝ Δx^%d for derivatives of order %d in δF/δq", r.prob.Order+2, r.prob.Order)
		}
	}
	span := FormatNumber(res.DtMin, 3)
	if res.DtMax > res.DtMin*(1+1e-9) {
		span += "…" + FormatNumber(res.DtMax, 3)
	}
	return span + " (mostly by the " + by + ")"
}

// momentText prints a moment: a number in one dimension, a vector else.
func (r *gridRun) momentText(v []float64) string {
	if r.f.space.Dim == 0 {
		return FormatNumber(v[0], 6)
	}
	return shortVec(v)
}
