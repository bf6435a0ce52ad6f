// run for objectives: Euclidean gradient flows with the nine methods of package solvers.
package lang

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	ad "flowlang/autodiff"
	"flowlang/internal/plotting"
	"flowlang/solvers"

	"gonum.org/v1/gonum/floats"
)

// objectiveQuantities are what an until condition of an objective's run tests.
var objectiveQuantities = []string{"t", "steps", "gradnorm", "value"}

// PlotPathPoints is how many points of a trajectory a run keeps for its plot.
const PlotPathPoints = 2000

// tableCoords is the largest dimension whose coordinates the printed table
// shows (the CSV always has them all).
const tableCoords = 6

func init() {
	for _, m := range solvers.Methods() {
		rm := &runMethod{
			RunMethod: RunMethod{Name: m.Name, Target: "objective", Doc: m.Doc, Until: objectiveQuantities, Adaptive: m.Adaptive},
			run:       runObjective,
		}
		for _, p := range m.Params {
			rm.Params = append(rm.Params, RunParam{Name: p.Name, Doc: p.Doc, Default: p.Default, Required: p.Required, Expr: p.Matrix, Check: p.Check})
		}
		registerRunMethod(rm)
	}
}

// objectiveRun is a run of an objective, resolved.
type objectiveRun struct {
	*runCtx
	o        *objInfo
	info     solvers.MethodInfo
	x0       []float64
	metric   [][]*ad.Node
	monNames []string
	monExprs []*ad.Node
	tSym     *ad.Node
	columns  []string
	coords   []string
}

func runObjective(in *Interp, rc *runCtx) *Error {
	r := &objectiveRun{runCtx: rc, o: in.objectives[rc.target]}
	r.info, _ = solvers.LookupMethod(rc.method.Name)
	if err := r.resolve(); err != nil {
		return err
	}
	if in.opts.CheckOnly {
		return nil
	}
	return r.execute()
}

// stateScope is a scope where the objective's parameters are the state's
// coordinates, and t the time unless a parameter is called t.
func (r *objectiveRun) stateScope() *scope {
	ss := r.in.newScope(r.src, false)
	for _, p := range r.o.params {
		ss.vars[p.name] = binding{val: freeSymbol(p.name, p.size)}
	}
	if _, taken := ss.vars["t"]; !taken {
		r.tSym = ad.Symbol("t", 0)
		ss.vars["t"] = binding{val: Scalar(r.tSym)}
	}
	return ss
}

// stateOnly checks that e depends on nothing but the state (and t when
// allowT).
func (r *objectiveRun) stateOnly(at Node, e *ad.Node, what string, allowT bool) *Error {
	for _, f := range e.FreeSymbols() {
		if slices.Contains(r.o.syms, f) || allowT && f == r.tSym {
			continue
		}
		if f == r.tSym {
			return r.errAt(at, "%s cannot depend on t", what)
		}
		return r.errAt(at, "%s depends on %s, which is not a variable of %s(%s)", what, ad.String(f), r.o.name, paramList(r.o.params))
	}
	if e.HasIntegral() {
		return r.errAt(at, "%s cannot contain an integral", what)
	}
	return nil
}

func (r *objectiveRun) resolve() *Error {
	st, o := r.st, r.o
	n := len(o.syms)
	if st.Compare != nil {
		return r.errAt(st.Compare, "compare to is for flows of densities; %s is an objective", o.name)
	}
	if st.From == nil {
		return r.errAt(st.Target, "a run of an objective needs a starting point: run %s from (...) using ...", o.name)
	}
	x0, err := r.s.pointCoords(st.From)
	if err != nil {
		return err
	}
	if len(x0) != n {
		return r.errAt(st.From, "the starting point has %d coordinate%s but %s(%s) has %d", len(x0), plural(len(x0)), o.name, paramList(o.params), n)
	}
	r.x0 = x0
	ss := r.stateScope()
	if r.info.Needs.Metric {
		a := r.args["metric"]
		v, err := ss.eval(a.Value)
		if err != nil {
			return err
		}
		if !v.IsMatrix() || v.Shape[0] != n || v.Shape[1] != n {
			return r.errAt(a.Value, "the metric must be a square %d×%d matrix (%s has %d variables), found %s", n, n, o.name, n, v.ShapeName())
		}
		for i := 0; i < n; i++ {
			row := v.Row(i)
			for _, e := range row {
				if err := r.stateOnly(a.Value, e, "the metric", false); err != nil {
					return err
				}
			}
			r.metric = append(r.metric, slices.Clone(row))
		}
	}
	// columns: step, t, the coordinates, value, gradnorm, then the monitors
	for _, p := range o.params {
		if p.size == 0 {
			r.coords = append(r.coords, p.name)
			continue
		}
		for i := 1; i <= p.size; i++ {
			r.coords = append(r.coords, fmt.Sprintf("%s[%d]", p.name, i))
		}
	}
	r.columns = append(append([]string{"step", "t"}, r.coords...), "value", "gradnorm")
	for _, m := range st.Monitors {
		name := m.Name.Name
		if slices.Contains(r.columns, name) {
			return r.errAt(m.Name, "monitor %s clashes with a column of the run's table", name)
		}
		v, err := ss.eval(m.X)
		if err != nil {
			return err
		}
		if !v.IsScalar() {
			return r.errAt(m.X, "a monitor must be a scalar, this is %s", v.ShapeName()).withHint("e.g. monitor dist = norm(x - x0)")
		}
		if err := r.stateOnly(m.X, v.S(), "monitor "+name, true); err != nil {
			return err
		}
		r.monNames = append(r.monNames, name)
		r.monExprs = append(r.monExprs, v.S())
		r.columns = append(r.columns, name)
	}
	return nil
}

func (r *objectiveRun) execute() *Error {
	o, st, n := r.o, r.st, len(r.o.syms)
	obj, cerr := solvers.CompileObjective(o.value, o.syms, r.info.Needs, r.metric)
	if cerr != nil {
		return r.errAt(st.Target, "cannot compile %s: %v", o.name, cerr)
	}
	p := obj.Problem()
	method := r.info.New(r.params)

	// monitors run on their own tape, at each step's accepted point
	var monitor func(out, x []float64, t float64)
	if len(r.monExprs) > 0 {
		inputs := slices.Clone(o.syms)
		if r.tSym != nil {
			inputs = append(inputs, r.tSym)
		}
		prog, err := ad.Compile(r.monExprs, inputs)
		if err != nil {
			return r.errAt(st.Monitors[0], "cannot compile the monitors: %v", err)
		}
		mm := prog.NewMachine()
		buf := make([]float64, len(inputs))
		monitor = func(out, x []float64, t float64) {
			copy(buf, x)
			if r.tSym != nil {
				buf[n] = t
			}
			mm.Eval(buf, out)
		}
	}

	// rows: the table shows every-rows; the CSV gets every row (each step
	// when every is absent)
	tableCols := []int{0, 1}
	if n <= tableCoords {
		for i := range r.coords {
			tableCols = append(tableCols, 2+i)
		}
	}
	for i := 2 + n; i < len(r.columns); i++ {
		tableCols = append(tableCols, i)
	}
	sink, serr := r.newRowSink(r.columns, tableCols)
	if serr != nil {
		return serr
	}
	s := &solvers.Settings{
		Until:        r.until,
		Every:        r.every,
		EveryT:       r.everyT,
		MonitorCount: len(r.monExprs),
		Monitor:      monitor,
		Context:      r.ctx(),
		Progress:     r.progress(),
		MethodName:   r.method.Name,
	}
	if r.hasSteps {
		s.MaxSteps = r.steps
		if r.steps == 0 {
			s.Until = nil // for 0 steps: evaluate at the start only
		}
	}
	toTable := r.every > 0 || r.everyT > 0
	if st.To != nil && !toTable {
		s.Every = 1
	}
	if st.Plot != nil {
		s.KeepPath = PlotPathPoints
	}
	if s.Every > 0 || s.EveryT > 0 {
		vals := make([]float64, len(r.columns))
		s.Row = func(row *solvers.Row) error {
			vals[0], vals[1] = float64(row.Step), row.T
			copy(vals[2:], row.X)
			vals[2+n], vals[3+n] = row.F, row.GradNorm
			copy(vals[4+n:], row.Monitors)
			return sink.write(vals, toTable)
		}
	}
	start := time.Now()
	res, ferr := solvers.Flow(p, r.x0, method, s)
	wall := wallSince(start)
	if ferr != nil {
		sink.abort()
		if res == nil {
			var de *solvers.DivergedError
			if !asDiverged(ferr, &de) {
				return r.errAt(st.Target, "%v", ferr)
			}
		}
		return r.runError(ferr)
	}
	if res.Status == solvers.Cancelled {
		sink.abort()
		return r.interrupted(res.Steps, res.T)
	}
	if err := sink.commit(); err != nil {
		return err
	}
	if st.Plot != nil {
		if err := r.plot(p, res); err != nil {
			return err
		}
	}
	r.in.report(r.record(res, wall))
	return nil
}

// plot draws the value against t; for a 2-D objective the trajectory over
// contour lines of f stands to its left.
func (r *objectiveRun) plot(p *solvers.Problem, res *solvers.Result) *Error {
	path, title := r.st.Plot.Value, label(r.src, r.st)
	var err error
	ts, fs := make([]float64, len(res.Samples)), make([]float64, len(res.Samples))
	for i, smp := range res.Samples {
		ts[i], fs[i] = smp.T, smp.F
	}
	values := plotting.Series{Name: r.o.name, X: ts, Y: fs}
	if len(r.o.syms) == 2 && len(res.Path) > 0 {
		xs, ys := make([]float64, len(res.Path)), make([]float64, len(res.Path))
		xmin, xmax, ymin, ymax := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
		for i, pt := range res.Path {
			xs[i], ys[i] = pt[0], pt[1]
			xmin, xmax = math.Min(xmin, pt[0]), math.Max(xmax, pt[0])
			ymin, ymax = math.Min(ymin, pt[1]), math.Max(ymax, pt[1])
		}
		// a margin of a fifth of the path's extent (at least 0.5 when the
		// path is tiny) so that the contour lines around it show
		mx := math.Max(0.2*(xmax-xmin), 0.5*math.Max(1e-3, math.Abs(xmax)*1e-3))
		my := math.Max(0.2*(ymax-ymin), 0.5*math.Max(1e-3, math.Abs(ymax)*1e-3))
		fp := p.Func
		f := func(x, y float64) float64 { return fp([]float64{x, y}) }
		err = plotting.TrajectoryAndLines(path, title, f, xmin-mx, xmax+mx, ymin-my, ymax+my,
			[]plotting.Series{{Name: r.method.Name, X: xs, Y: ys}},
			"t", "value", plotting.WantLog(values), values)
	} else {
		err = plotting.Lines(path, title, "t", "value", plotting.WantLog(values), values)
	}
	if err != nil {
		return r.errAt(r.st.Plot, "cannot draw %s: %v", path, unwrapPathError(err))
	}
	return nil
}

// record builds the run's JSON record and human summary.
func (r *objectiveRun) record(res *solvers.Result, wall float64) *RunRecord {
	d := res.Diagnostics
	gradNorm := floats.Norm(res.Grad, 2) // scaled: no overflow or underflow of the squares
	rec := &RunRecord{
		Kind: "run", Line: startLine(r.st), Target: r.o.name, Method: r.method.Name,
		Params: r.numericParams(), Steps: res.Steps, T: res.T,
		Final:    map[string]any{"x": slices.Clone(res.X), "value": res.F, "gradnorm": gradNorm},
		Monotone: d.Monotone, WallS: wall,
		Stopped: r.stopRule(res.Status, res.Met, res.Steps),
		Label:   label(r.src, r.st),
	}
	diag := map[string]any{
		"monotone":    d.Monotone,
		"length":      d.Length,
		"evaluations": res.Evaluations,
	}
	if !d.Monotone {
		diag["max_increase"] = d.MaxIncrease
		diag["max_increase_step"] = d.MaxIncreaseStep
	}
	if !math.IsNaN(d.Dissipation) {
		diag["dissipation_residual"] = d.Dissipation
		diag["dissipation_drop"] = d.DissipationDrop
		diag["dissipation_integral"] = d.DissipationIntegral
	}
	if rj := rateJSON(d.Rate); rj != nil {
		diag["rate"] = rj
	}
	if r.info.Adaptive {
		diag["rejected"] = res.Rejected
	}
	if r.metric != nil {
		rows := make([]string, len(r.metric))
		for i, row := range r.metric {
			parts := make([]string, len(row))
			for j, e := range row {
				parts[j] = ad.String(e)
			}
			rows[i] = "[" + strings.Join(parts, ", ") + "]"
		}
		diag["metric"] = "[" + strings.Join(rows, ", ") + "]"
	}
	if len(r.monNames) > 0 {
		mons := map[string]any{}
		for i, name := range r.monNames {
			mons[name] = trendJSON(d.Monitors[i])
		}
		diag["monitors"] = mons
	}
	rec.Diagnostics = diag

	// the human summary
	var sum []string
	sum = append(sum, fmt.Sprintf("run %s with %s: %d step%s, t = %s (%s)",
		r.o.name, r.methodLabel(), res.Steps, plural(res.Steps), FormatNumber(res.T, 6), rec.Stopped))
	sum = append(sum, fmt.Sprintf("  %s, value = %s, gradnorm = %s", r.statePrint(res.X), FormatNumber(res.F, 6), FormatNumber(gradNorm, 3)))
	mono := "monotone: yes"
	if !d.Monotone {
		mono = fmt.Sprintf("monotone: no (largest increase %s at step %d)", FormatNumber(d.MaxIncrease, 3), d.MaxIncreaseStep)
	}
	line := fmt.Sprintf("  %s; length %s", mono, FormatNumber(d.Length, 6))
	if !math.IsNaN(d.Dissipation) {
		line += fmt.Sprintf("; dissipation residual %s", FormatNumber(d.Dissipation, 2))
	}
	line += "; wall " + fmtSeconds(wall)
	sum = append(sum, line)
	if t := rateText(d.Rate, "f − f*"); t != "" {
		sum = append(sum, "  rate: "+t)
	}
	for i, name := range r.monNames {
		tr := d.Monitors[i]
		sum = append(sum, fmt.Sprintf("  monitor %s: %s, %s → %s", name, tr.Monotonicity(), FormatNumber(tr.Initial, 6), FormatNumber(tr.Final, 6)))
	}
	rec.Summary = sum
	return rec
}

// statePrint prints the final point by the objective's parameter names:
// "x = 0.99986, y = 0.99973" or "x = [1, 1, …]".
func (r *objectiveRun) statePrint(x []float64) string {
	var parts []string
	k := 0
	for _, p := range r.o.params {
		if p.size == 0 {
			parts = append(parts, p.name+" = "+FormatNumber(x[k], 6))
			k++
			continue
		}
		parts = append(parts, p.name+" = "+shortVec(x[k:k+p.size]))
		k += p.size
	}
	return strings.Join(parts, ", ")
}

// shortVec prints a point, eliding the middle of long ones.
func shortVec(x []float64) string {
	const show = 8
	if len(x) <= show {
		return fmtVec(x, 6)
	}
	head := fmtVec(x[:show-2], 6)
	return fmt.Sprintf("%s, …, %s] (%d coordinates)", head[:len(head)-1], FormatNumber(x[len(x)-1], 6), len(x))
}
