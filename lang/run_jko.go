// run for functionals by JKO steps: minimising movements in the quantile coordinates of a 1-D density.
package lang

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	ad "flowlang/autodiff"
	"flowlang/internal/plotting"
	"flowlang/solvers"
)

func init() {
	registerRunMethod(&runMethod{
		RunMethod: RunMethod{
			Name: "jko", Target: "functional",
			Doc:   "Jordan–Kinderlehrer–Otto steps argmin F + W₂²/(2τ), 1-D, in quantile coordinates",
			Until: densityQuantities,
			Params: []RunParam{
				{Name: "tau", Doc: "the time step τ", Default: 0.01, Check: positiveParam},
				{Name: "n", Doc: "quantile nodes", Default: 200, Int: true, Check: func(v float64) error {
					if v < 2 || v > solvers.MaxJKONodes {
						return fmt.Errorf("must be between 2 and %d", solvers.MaxJKONodes)
					}
					return nil
				}},
			},
		},
		run: runJKO,
	})
}

// jkoRun is a JKO run of a functional, resolved. It shares the grid's
// resolution of from, compare to and the columns.
type jkoRun struct {
	gridRun
	prob     *solvers.JKOProblem
	monExprs []*ad.Node
}

func runJKO(in *Interp, rc *runCtx) *Error {
	f := in.functionals[rc.target]
	r := &jkoRun{gridRun: gridRun{runCtx: rc, f: f, dim: f.space.Coords()}}
	r.ds = rc.s.withSpace(&f.space)
	if err := r.resolve(); err != nil {
		return err
	}
	if in.opts.CheckOnly {
		return nil
	}
	return r.execute()
}

func (r *jkoRun) resolve() *Error {
	st := r.st
	if r.dim != 1 {
		return r.errAt(st.Method.Name, "jko runs densities on R in quantile coordinates, and %s has %d coordinates", r.f.space.Density, r.dim).
			withHint("in two dimensions use grid")
	}
	p, err := solvers.NewJKOProblem(r.f.space, r.f.value, int(r.params["n"]))
	if err != nil {
		if e := r.termError(err); e != nil {
			return e
		}
		at := Node(st.Target)
		if a := r.args["n"]; a != nil && strings.Contains(err.Error(), "quantile nodes") {
			at = a.Value
		}
		return r.errAt(at, "cannot run %s by jko: %v", r.f.name, err)
	}
	r.prob = p
	if err := r.resolveFrom(); err != nil {
		return err
	}
	if st.Compare != nil {
		d, err := r.ds.distribution(st.Compare, 1)
		if err != nil {
			return err
		}
		if _, isPoints := d.(*solvers.Points); isPoints {
			return r.errAt(st.Compare, "compare a jko density to a law, not to points")
		}
		r.cmp = d
	}
	return r.resolveMonitors(func(e *ad.Node) error {
		r.monExprs = append(r.monExprs, e)
		return nil
	}, false)
}

func (r *jkoRun) execute() *Error {
	st := r.st
	n := int(r.params["n"])
	x0, qerr := solvers.JKOQuantiles(r.law, n)
	if qerr != nil {
		return r.errAt(st.From, "%v", qerr)
	}
	r.columns = append(r.baseColumns(), r.monNames...)
	tableCols := make([]int, len(r.columns))
	for i := range tableCols {
		tableCols[i] = i
	}
	sink, serr := r.newRowSink(r.columns, tableCols)
	if serr != nil {
		return serr
	}
	toTable := r.every > 0
	s := &solvers.JKOSettings{
		Tau:      r.params["tau"],
		Until:    r.until,
		Every:    r.rowEvery(),
		Context:  r.ctx(),
		Progress: r.progress(),
	}
	if r.hasSteps {
		s.MaxSteps = r.steps
		if r.steps == 0 {
			s.Until = nil
		}
	}
	if st.Plot != nil {
		s.KeepProfiles = keptProfiles
	}
	if len(r.monExprs) > 0 {
		inputs := []*ad.Node{r.f.space.Coord(r.f.space.Var, 0)}
		if r.tSym != nil {
			inputs = append(inputs, r.tSym)
		}
		prog, err := ad.Compile(r.monExprs, inputs)
		if err != nil {
			return r.errAt(st.Monitors[0], "cannot compile the monitors: %v", err)
		}
		avg := newParticleMonitor(prog, 1, r.tSym != nil)
		cloud := [][]float64{nil}
		s.MonitorCount = len(r.monExprs)
		s.Monitor = func(out, x []float64, t float64) {
			cloud[0] = x
			avg(out, cloud, t)
		}
	}
	vals := make([]float64, len(r.columns))
	s.Row = func(row *solvers.JKORow) error {
		vals[0], vals[1], vals[2], vals[3], vals[4], vals[5], vals[6] = float64(row.Step), row.T, 1, row.Mean, row.Var, row.Energy, row.Min
		copy(vals[7:], row.Monitors)
		return sink.write(vals, toTable)
	}
	start := time.Now()
	res, rerr := solvers.RunJKO(r.prob, x0, s)
	wall := wallSince(start)
	if rerr != nil {
		sink.abort()
		var se *solvers.StepError
		var de *solvers.DivergedError
		switch {
		case errors.As(rerr, &se):
			return r.errAt(st.Method, "jko failed at step %d: %s", se.Step, se.Msg)
		case errors.As(rerr, &de) && de.Step == 0:
			return r.errAt(st.From, "cannot start the run: %s", de.Reason)
		case errors.As(rerr, &de):
			e := r.errAt(st.Method, "jko stopped at step %d (t = %s): %s", de.Step, FormatNumber(de.T, 6), de.Reason)
			if de.Bound != "" { // a step too large for the energy; not a flow that runs away by itself
				e.Hint = de.Bound
			}
			return e
		}
		return r.errAt(st.Method, "jko: %v", rerr)
	}
	if res.Status == solvers.Cancelled {
		sink.abort()
		return r.interrupted(res.Steps, res.T)
	}
	w2 := math.NaN()
	if r.cmp != nil {
		v, err := solvers.W2ToLaw(solvers.JKOQuantile(res.Final.X), r.cmp)
		if err != nil {
			sink.abort()
			return r.errAt(st.Compare, "cannot compute W2 to %s: %v", label(r.src, st.Compare), err)
		}
		w2 = v
	}
	if err := sink.commit(); err != nil {
		return err
	}
	if st.Plot != nil {
		var series []plotting.Series
		ts := make([]float64, len(res.Profiles))
		for i, pr := range res.Profiles {
			ts[i] = pr.T
		}
		for _, i := range atTimes(ts) {
			pr := res.Profiles[i]
			mid, rho := solvers.JKODensity(pr.X)
			series = append(series, plotting.Series{Name: "t = " + FormatNumber(pr.T, 4), X: mid, Y: rho})
		}
		sp := r.f.space
		if err := plotting.Lines(st.Plot.Value, label(r.src, st), sp.Var, sp.Density, false, series...); err != nil {
			return r.errAt(st.Plot, "cannot draw %s: %v", st.Plot.Value, unwrapPathError(err))
		}
	}
	r.in.report(r.record(res, w2, wall))
	return nil
}

// record builds the run's JSON record and human summary.
func (r *jkoRun) record(res *solvers.JKOResult, w2, wall float64) *RunRecord {
	fin := res.Final
	final := map[string]any{"mass": 1.0, "mean": []float64{fin.Mean}, "var": []float64{fin.Var},
		"energy": finiteOr(fin.Energy), "min": finiteOr(fin.Min)}
	if !math.IsNaN(w2) {
		final["w2"] = w2
	}
	rec := &RunRecord{
		Kind: "run", Line: startLine(r.st), Target: r.f.name, Method: "jko",
		Params: r.numericParams(), Steps: res.Steps, T: res.T, Final: final,
		Monotone: res.EnergyMonotone, WallS: wall,
		Stopped: r.stopRule(res.Status, res.Met, res.Steps),
		Label:   label(r.src, r.st),
	}
	pot, loc, pair := r.prob.Parts()
	parts := map[string]any{}
	for k, v := range map[string]string{"potential": pot, "local": loc, "pair": pair} {
		if v != "" {
			parts[k] = v
		}
	}
	energy := map[string]any{"initial": res.Energy0, "final": finiteOr(fin.Energy), "monotone": res.EnergyMonotone}
	if !res.EnergyMonotone {
		energy["max_rise"], energy["max_rise_step"] = res.MaxIncrease, res.MaxIncreaseStep
	}
	diag := map[string]any{
		"terms":     parts,
		"nodes":     r.prob.N,
		"newton":    map[string]any{"total": res.Newton, "max": res.MaxNewton},
		"min_slack": res.MinSlack,
		"energy":    energy,
		"start":     label(r.src, r.st.From),
	}
	if rj := rateJSON(res.Rate); rj != nil {
		diag["rate"] = rj
	}
	if len(r.monNames) > 0 {
		m := map[string]any{}
		for i, name := range r.monNames {
			m[name] = trendJSON(res.Monitors[i])
		}
		diag["monitors"] = m
	}
	rec.Diagnostics = diag

	var sum []string
	sum = append(sum, fmt.Sprintf("run %s with %s: %d step%s, t = %s (%s)",
		r.f.name, r.methodLabel(), res.Steps, plural(res.Steps), FormatNumber(res.T, 6), rec.Stopped))
	line := fmt.Sprintf("  mean = %s, var = %s, energy = %s, min %s = %s",
		FormatNumber(fin.Mean, 6), FormatNumber(fin.Var, 6), FormatNumber(fin.Energy, 6), r.f.space.Density, FormatNumber(fin.Min, 3))
	if !math.IsNaN(w2) {
		line += fmt.Sprintf("; w2 to %s = %s", label(r.src, r.st.Compare), FormatNumber(w2, 4))
	}
	sum = append(sum, line)
	mono := "energy monotone: yes"
	if !res.EnergyMonotone {
		mono = fmt.Sprintf("energy monotone: no (largest rise %s at step %d)", FormatNumber(res.MaxIncrease, 3), res.MaxIncreaseStep)
	}
	sum = append(sum, fmt.Sprintf("  %s; %d quantile nodes; %d Newton iterations (at most %d a step); wall %s",
		mono, r.prob.N, res.Newton, res.MaxNewton, fmtSeconds(wall)))
	if t := rateText(res.Rate, "F − F*"); t != "" {
		sum = append(sum, "  rate: "+t)
	}
	for i, name := range r.monNames {
		tr := res.Monitors[i]
		sum = append(sum, fmt.Sprintf("  monitor %s: %s, %s → %s", name, tr.Monotonicity(), FormatNumber(tr.Initial, 6), FormatNumber(tr.Final, 6)))
	}
	rec.Summary = sum
	return rec
}
