// run: the run statement's plumbing shared by every flow — method and parameter resolution, stopping rules, rows, CSV, progress, summaries.
package lang

// A kind of flow lives in a file run_KIND.go that registers its methods
// from init with registerRunMethod: name, target ("objective" or
// "functional"), parameters (defaults, Required, Int, Expr, Check), the
// quantities its until conditions can test, and whether it is Adaptive.
// run resolves what every run shares and hands a runCtx to the method's
// run function:
//
//   - the target's name and kind, the method (unknown names and methods
//     for the other kind of target are refused with hints);
//   - rc.params: the numeric parameters with defaults filled in (rc.given
//     says which were written, rc.args holds every written argument, so
//     that expression parameters can be resolved by the method);
//   - rc.steps/rc.hasSteps and rc.until (solvers.Conditions; rc.untilAt
//     their positions); a run has at least one of them;
//   - rc.every (steps) or, for adaptive methods, rc.everyT (an interval of
//     t); rc.seed (from `seed`, else --seed, else 1);
//   - the plot file's extension.
//
// The method's run function resolves the rest (from, monitors, compare
// to), returns nil in CheckOnly mode, and runs, with rc.newRowSink for
// the table and the CSV file (write, commit, abort), rc.ctx() and
// rc.progress() for the solver, rc.runError and rc.interrupted for
// failures, and rc.stopRule and rc.numericParams for the record.

import (
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"flowlang/internal/atomicfile"
	"flowlang/internal/spell"
	"flowlang/solvers"
)

// RunMethod describes a method a run can use, for help and completion.
type RunMethod struct {
	Name   string
	Target string // "objective" or "functional"
	Doc    string
	Params []RunParam
	// Until lists the quantities an until condition of this method can test.
	Until []string
	// Adaptive methods choose their own steps: every is an interval of t.
	Adaptive bool
}

// RunParam describes a method's parameter.
type RunParam struct {
	Name     string
	Doc      string
	Default  float64 // used when not given, unless Required
	Required bool
	// Expr marks a parameter that is an expression (a matrix of the state,
	// a domain) resolved by the method itself, not a number.
	Expr bool
	// Int marks a parameter that must be a whole number.
	Int bool
	// Check validates a numeric value (nil: any finite number); its error
	// reads after the parameter's name ("must be positive").
	Check func(v float64) error
}

// runMethod is a registered method: its description and how it runs.
type runMethod struct {
	RunMethod
	run func(in *Interp, rc *runCtx) *Error
}

var runMethods []*runMethod

// registerRunMethod adds a method; the run_*.go files call it from init.
func registerRunMethod(m *runMethod) {
	for _, old := range runMethods {
		if old.Name == m.Name {
			panic("lang: method " + m.Name + " registered twice")
		}
	}
	runMethods = append(runMethods, m)
}

// RunMethods lists every method a run can use, objectives' first.
func RunMethods() []RunMethod {
	out := make([]RunMethod, len(runMethods))
	for i, m := range runMethods {
		out[i] = m.RunMethod
		out[i].Params = slices.Clone(m.Params)
		out[i].Until = slices.Clone(m.Until)
	}
	slices.SortStableFunc(out, func(a, b RunMethod) int {
		if a.Target != b.Target {
			return strings.Compare(b.Target, a.Target) // objective before functional
		}
		return 0
	})
	return out
}

func lookupRunMethod(name string) *runMethod {
	for _, m := range runMethods {
		if m.Name == name {
			return m
		}
	}
	return nil
}

// MaxRunSteps bounds `for N steps`.
const MaxRunSteps = 1_000_000_000_000

// runCtx is a run statement resolved so far: what every flow shares. The
// method's run function resolves the rest (the starting point, monitors,
// expression parameters) and runs.
type runCtx struct {
	in     *Interp
	src    *Source
	st     *RunStmt
	s      *scope
	method *runMethod
	target string // the target's name

	// params holds the numeric parameters, defaults filled in; given says
	// which the run wrote; args holds every written argument by name (for
	// expression parameters and positions).
	params map[string]float64
	given  map[string]bool
	args   map[string]*NamedArg

	steps    int // for N steps; 0 when absent
	hasSteps bool
	until    []solvers.Condition
	untilAt  []*Cond
	every    int     // every K steps; 0 when absent
	everyT   float64 // every Δt for adaptive methods; 0 when absent
	seed     uint64
	hasSeed  bool
}

// run resolves what every run shares and hands over to the method.
func (in *Interp) run(src *Source, st *RunStmt) *Error {
	s := in.newScope(src, false)
	rc := &runCtx{in: in, src: src, st: st, s: s, target: st.Target.Name}
	kind, err := in.runTarget(s, st.Target)
	if err != nil {
		return err
	}
	if st.Method == nil {
		return s.errAt(st.Target, "a run needs a method: run %s ... using METHOD(...)", st.Target.Name).withHint(methodHint(kind))
	}
	if err := rc.resolveMethod(kind); err != nil {
		return err
	}
	if err := rc.resolveParams(); err != nil {
		return err
	}
	if err := rc.resolveStops(); err != nil {
		return err
	}
	if st.Every != nil {
		if rc.method.Adaptive {
			v, err := s.constNumber(st.Every, "every")
			if err != nil {
				return err
			}
			if !(v > 0) {
				return s.errAt(st.Every, "every must be positive (for %s it is an interval of t)", rc.method.Name)
			}
			for _, c := range rc.until { // rows up to a time bound: counted now
				if c.Quantity == solvers.QTime && (c.Op == ">=" || c.Op == ">") && c.Value/v > solvers.MaxDenseRows {
					return s.errAt(st.Every, "every %s until t %s %s asks for %s rows, more than %d",
						FormatNumber(v, 6), c.Op, FormatNumber(c.Value, 6), FormatNumber(c.Value/v, 3), solvers.MaxDenseRows).
						withHint("take a larger every")
				}
			}
			rc.everyT = v
		} else {
			k, err := s.constInt(st.Every, "every (a number of steps)")
			if err != nil {
				return err
			}
			if k < 1 {
				return s.errAt(st.Every, "every must be at least 1 step")
			}
			rc.every = k
		}
	}
	if st.Seed != nil {
		k, err := s.constInt(st.Seed, "seed")
		if err != nil {
			return err
		}
		if k < 0 {
			return s.errAt(st.Seed, "seed must be a whole number ≥ 0")
		}
		rc.seed, rc.hasSeed = uint64(k), true
	} else {
		rc.seed = in.opts.Seed
		if rc.seed == 0 {
			rc.seed = 1
		}
	}
	if st.Plot != nil {
		if ext := strings.ToLower(filepath.Ext(st.Plot.Value)); ext != ".png" && ext != ".svg" {
			return s.errAt(st.Plot, "plot writes PNG or SVG: the file name must end in .png or .svg, not %q", ext)
		}
	}
	if st.To != nil && st.To.Value == "" {
		return s.errAt(st.To, "to needs a file name")
	}
	return rc.method.run(in, rc)
}

func (e *Error) withHint(h string) *Error {
	e.Hint = h
	return e
}

// runTarget says whether name is an objective or a functional.
func (in *Interp) runTarget(s *scope, id *Ident) (string, *Error) {
	name := id.Name
	switch {
	case in.objectives[name] != nil:
		return "objective", nil
	case in.functionals[name] != nil:
		if in.functionals[name].template != nil {
			return "", s.errAt(id, "%s is a generic functional; run a functional of a declared density, e.g. functional F[q] = %s(...)", name, name)
		}
		return "functional", nil
	case in.broken[name]:
		return "", errBroken
	case in.defs[name] != nil:
		return "", s.errAt(id, "%s is a function; a run needs an objective or a functional", name).
			withHint(fmt.Sprintf("declare it as an objective: objective %s(%s) = ...", name, paramList(in.defs[name].params)))
	case in.densities[name] != nil:
		return "", s.errAt(id, "%s is a density; run a functional of it, e.g. functional F[%s] = ...", name, name)
	}
	var names []string
	for n := range in.objectives {
		names = append(names, n)
	}
	for n, f := range in.functionals {
		if f.template == nil {
			names = append(names, n)
		}
	}
	err := s.errAt(id, "undefined: %s (a run needs an objective or a functional)", name)
	if hint := spell.Suggest(name, names); hint != "" {
		err.Hint = "did you mean " + hint + "?"
	}
	return "", err
}

func methodHint(kind string) string {
	var names []string
	for _, m := range runMethods {
		if m.Target == kind {
			names = append(names, m.Name)
		}
	}
	if len(names) == 0 {
		return ""
	}
	return "methods for " + article(kind) + ": " + strings.Join(names, ", ")
}

// resolveMethod finds the method and checks that it runs this kind of target.
func (rc *runCtx) resolveMethod(kind string) *Error {
	id := rc.st.Method.Name
	m := lookupRunMethod(id.Name)
	if m == nil {
		var all []string
		for _, m := range runMethods {
			all = append(all, m.Name)
		}
		err := rc.s.errAt(id, "unknown method %s", id.Name)
		if hint := spell.Suggest(id.Name, all); hint != "" {
			err.Hint = "did you mean " + hint + "?"
		} else {
			err.Hint = methodHint(kind)
		}
		return err
	}
	if m.Target != kind {
		return rc.s.errAt(id, "%s is a method for %ss, and %s is %s", m.Name, m.Target, rc.target, article(kind)).withHint(methodHint(kind))
	}
	rc.method = m
	return nil
}

// resolveParams checks the written parameters against the method's, fills
// in defaults and evaluates the numeric ones.
func (rc *runCtx) resolveParams() *Error {
	m, s := rc.method, rc.s
	rc.params, rc.given, rc.args = map[string]float64{}, map[string]bool{}, map[string]*NamedArg{}
	for _, a := range rc.st.Method.Args {
		name := a.Name.Name
		var p *RunParam
		for i := range m.Params {
			if m.Params[i].Name == name {
				p = &m.Params[i]
			}
		}
		if p == nil {
			var names []string
			for _, q := range m.Params {
				names = append(names, q.Name)
			}
			err := s.errAt(a.Name, "%s has no parameter %s", m.Name, name)
			switch hint := spell.Suggest(name, names); {
			case hint != "":
				err.Hint = "did you mean " + hint + "?"
			case len(names) == 0:
				err.Hint = m.Name + " takes no parameters"
			default:
				err.Hint = m.Name + "'s parameters: " + strings.Join(names, ", ")
			}
			return err
		}
		if rc.args[name] != nil {
			return s.errAt(a.Name, "%s given twice", name)
		}
		rc.args[name] = a
		rc.given[name] = true
		if p.Expr {
			continue
		}
		if p.Int {
			k, err := s.constInt(a.Value, name)
			if err != nil {
				return err
			}
			if p.Check != nil {
				if cerr := p.Check(float64(k)); cerr != nil {
					return s.errAt(a.Value, "%s %v, found %d", name, cerr, k)
				}
			}
			rc.params[name] = float64(k)
			continue
		}
		v, err := s.constNumber(a.Value, name)
		if err != nil {
			return err
		}
		if p.Check != nil {
			if cerr := p.Check(v); cerr != nil {
				return s.errAt(a.Value, "%s %v, found %s", name, cerr, FormatNumber(v, 6))
			}
		}
		rc.params[name] = v
	}
	for _, p := range m.Params {
		if rc.given[p.Name] {
			continue
		}
		if p.Required {
			what := p.Name
			if p.Doc != "" {
				what = p.Doc + " " + p.Name
			}
			example := p.Name + " = 0.01"
			if p.Expr {
				example = p.Name + " = [[...]]"
			}
			return s.errAt(rc.st.Method, "%s needs %s", m.Name, what).withHint(fmt.Sprintf("write %s(%s)", m.Name, example))
		}
		if !p.Expr {
			rc.params[p.Name] = p.Default
		}
	}
	return nil
}

// resolveStops reads for N steps and until.
func (rc *runCtx) resolveStops() *Error {
	s, st := rc.s, rc.st
	if st.Steps != nil {
		n, err := s.constInt(st.Steps, "the number of steps")
		if err != nil {
			return err
		}
		if n < 0 || n > MaxRunSteps {
			return s.errAt(st.Steps, "the number of steps must be in 0..%d", MaxRunSteps)
		}
		rc.steps, rc.hasSteps = n, true
	}
	for _, c := range st.Until {
		q, ok := quantityNames[c.Name.Name]
		if !ok || !slices.Contains(rc.method.Until, c.Name.Name) {
			err := s.errAt(c.Name, "%s cannot stop on %s", rc.method.Name, c.Name.Name)
			if ok {
				err.Msg = fmt.Sprintf("%s cannot evaluate %s", rc.method.Name, c.Name.Name)
			}
			err.Hint = "its until conditions are on " + strings.Join(rc.method.Until, ", ")
			if hint := spell.Suggest(c.Name.Name, rc.method.Until); hint != "" && !ok {
				err.Hint = "did you mean " + hint + "?"
			}
			return err
		}
		op := c.Op
		if op != "<" && op != "<=" && op != ">" && op != ">=" {
			return s.errAt(c, "an until condition compares with <, <=, > or >=, not %s", op).withHint(fmt.Sprintf("e.g. until %s", defaultCond(c.Name.Name)))
		}
		v, err := s.constNumber(c.Value, c.Name.Name)
		if err != nil {
			return err
		}
		rc.until = append(rc.until, solvers.Condition{Quantity: q, Op: op, Value: v})
		rc.untilAt = append(rc.untilAt, c)
	}
	if !rc.hasSteps && len(rc.until) == 0 {
		return s.errAt(st, "a run needs a stopping rule: for N steps or until CONDITION").withHint("e.g. for 1000 steps, or until " + defaultCond(rc.method.Until[len(rc.method.Until)-1]))
	}
	return nil
}

var quantityNames = map[string]solvers.Quantity{
	"steps": solvers.QSteps, "t": solvers.QTime, "gradnorm": solvers.QGradNorm, "value": solvers.QValue,
}

func defaultCond(name string) string {
	switch name {
	case "t":
		return "t >= 10"
	case "steps":
		return "steps >= 1000"
	case "gradnorm":
		return "gradnorm < 1e-6"
	}
	return name + " < 1e-6"
}

// errAt is a positioned error in the run statement.
func (rc *runCtx) errAt(n Node, format string, args ...any) *Error {
	return rc.s.errAt(n, format, args...)
}

// methodLabel is the method as written with its parameters, e.g.
// "euler(h = 0.001)".
func (rc *runCtx) methodLabel() string {
	return label(rc.src, rc.st.Method)
}

// numericParams are the numeric parameters with defaults, for the record.
func (rc *runCtx) numericParams() map[string]any {
	out := make(map[string]any, len(rc.params))
	for k, v := range rc.params {
		out[k] = v
	}
	return out
}

// ctx is the context that cancels the run.
func (rc *runCtx) ctx() context.Context { return rc.in.ctx }

// stopRule describes why the run ended, for summaries.
func (rc *runCtx) stopRule(status solvers.Status, met solvers.Condition, steps int) string {
	switch status {
	case solvers.ConditionMet:
		return fmt.Sprintf("until %s %s %s", met.Quantity, met.Op, FormatNumber(met.Value, 6))
	case solvers.DefaultLimit:
		return fmt.Sprintf("step limit %d reached before the until condition held; add for N steps to allow more", solvers.DefaultStepLimit)
	case solvers.Cancelled:
		return "interrupted"
	}
	return fmt.Sprintf("for %d steps", steps)
}

// rowSink sends a run's rows to the reporter's table (when every asked
// for one and the run is not quiet) and to the CSV file of `to`, streaming:
// nothing is kept.
type rowSink struct {
	rc      *runCtx
	table   bool
	cols    []int // which CSV columns the table shows
	tbuf    []float64
	file    *atomicfile.File
	csv     *csv.Writer
	rec     []string
	started bool
}

// newRowSink starts the outputs of a run's rows: columns names every
// value of a row (all go to the CSV), and tableCols those the table shows.
func (rc *runCtx) newRowSink(columns []string, tableCols []int) (*rowSink, *Error) {
	w := &rowSink{rc: rc, table: (rc.every > 0 || rc.everyT > 0) && !rc.in.opts.Quiet, cols: tableCols}
	if rc.st.To != nil && !rc.in.opts.CheckOnly {
		f, err := atomicfile.Create(rc.st.To.Value)
		if err != nil {
			return nil, rc.errAt(rc.st.To, "cannot write %s: %v", rc.st.To.Value, unwrapPathError(err))
		}
		w.file = f
		w.csv = csv.NewWriter(f)
		w.rec = make([]string, len(columns))
		if err := w.csv.Write(columns); err != nil {
			f.Abort()
			return nil, rc.errAt(rc.st.To, "cannot write %s: %v", rc.st.To.Value, err)
		}
	}
	if w.table && rc.in.opts.Out != nil {
		names := make([]string, len(tableCols))
		for i, c := range tableCols {
			names[i] = columns[c]
		}
		rc.in.opts.Out.RunRows(label(rc.src, rc.st), names)
		w.tbuf = make([]float64, len(tableCols))
		w.started = true
	}
	return w, nil
}

// write sends one row; toTable says whether the table shows it (rows of
// every; the CSV gets them all).
func (w *rowSink) write(values []float64, toTable bool) error {
	if w.csv != nil {
		for i, v := range values {
			if i == 0 {
				w.rec[i] = strconv.FormatInt(int64(v), 10)
			} else {
				w.rec[i] = strconv.FormatFloat(v, 'g', -1, 64)
			}
		}
		if err := w.csv.Write(w.rec); err != nil {
			return err
		}
	}
	if toTable && w.started {
		for i, c := range w.cols {
			w.tbuf[i] = values[c]
		}
		w.rc.in.opts.Out.Row(w.tbuf)
	}
	return nil
}

// commit publishes the CSV file.
func (w *rowSink) commit() *Error {
	if w.file == nil {
		return nil
	}
	w.csv.Flush()
	err := w.csv.Error()
	if err == nil {
		err = w.file.Commit()
	} else {
		w.file.Abort()
	}
	if err != nil {
		return w.rc.errAt(w.rc.st.To, "cannot write %s: %v", w.rc.st.To.Value, unwrapPathError(err))
	}
	return nil
}

// abort discards the CSV file (the run failed: no partial output).
func (w *rowSink) abort() {
	if w != nil && w.file != nil {
		w.file.Abort()
	}
}

func unwrapPathError(err error) error {
	type unwrapper interface{ Unwrap() error }
	if u, ok := err.(unwrapper); ok && u.Unwrap() != nil {
		return u.Unwrap()
	}
	return err
}

// progress returns the callback for the solver's progress reports, or nil.
func (rc *runCtx) progress() func(done, total int, t float64) {
	p := rc.in.opts.Progress
	if p == nil {
		return nil
	}
	return func(done, total int, t float64) { p(done, total, t) }
}

// runError turns a solver's failure into a positioned error at the
// method: a divergence names the step and the method and gives the
// stability bound as a hint.
func (rc *runCtx) runError(err error) *Error {
	at := Node(rc.st.Method)
	var de *solvers.DivergedError
	var se *solvers.StepError
	switch {
	case asDiverged(err, &de):
		e := rc.errAt(at, "%s diverged at step %d (t = %s): %s", rc.method.Name, de.Step, FormatNumber(de.T, 6), de.Reason)
		if de.Step == 0 {
			e.Msg = fmt.Sprintf("cannot start the run: %s", de.Reason)
			if rc.st.From != nil {
				e = rc.errAt(rc.st.From, "cannot start the run: %s", de.Reason)
			}
		}
		if de.Source != "" {
			e.Msg += "; " + de.Source
		}
		switch {
		case de.Runaway:
			e.Hint = "f decreased at every step: it looks unbounded below along the flow, which then runs off by itself (a smaller step would not help)"
		case de.Bound != "":
			e.Hint = de.Bound + "; take a smaller step"
			if rc.target != "" {
				e.Hint += " or an implicit method"
			}
		case de.Step > 0:
			e.Hint = "take a smaller step"
			if _, adaptive := rc.params["rtol"]; adaptive {
				e.Hint = "tighten rtol and atol"
			}
		}
		return e
	case asStepError(err, &se):
		return rc.errAt(at, "%s failed at step %d: %s", rc.method.Name, se.Step, se.Msg)
	}
	return rc.errAt(at, "%s: %v", rc.method.Name, err)
}

func asDiverged(err error, out **solvers.DivergedError) bool {
	e, ok := err.(*solvers.DivergedError)
	*out = e
	return ok
}

func asStepError(err error, out **solvers.StepError) bool {
	e, ok := err.(*solvers.StepError)
	*out = e
	return ok
}

// interrupted is the error of a run stopped through the context.
func (rc *runCtx) interrupted(steps int, t float64) *Error {
	return rc.errAt(rc.st.Method, "run interrupted at step %d (t = %s)", steps, FormatNumber(t, 6))
}

// trendJSON describes a monitored quantity's trend for the JSON record.
func trendJSON(tr solvers.Trend) map[string]any {
	m := map[string]any{"initial": tr.Initial, "final": tr.Final, "trend": tr.Monotonicity()}
	if !tr.Decreasing && tr.MaxRise > 0 {
		m["max_rise"] = tr.MaxRise
	}
	if !tr.Increasing && tr.MaxFall > 0 {
		m["max_fall"] = tr.MaxFall
	}
	return m
}

// wallSince is the time since start in seconds.
func wallSince(start time.Time) float64 { return time.Since(start).Seconds() }

// fmtVec prints a vector for summaries.
func fmtVec(x []float64, sig int) string {
	parts := make([]string, len(x))
	for i, v := range x {
		parts[i] = FormatNumber(v, sig)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// fmtSeconds prints a wall time.
func fmtSeconds(s float64) string {
	switch {
	case s < 1e-3:
		return fmt.Sprintf("%.0f µs", s*1e6)
	case s < 1:
		return fmt.Sprintf("%.3g ms", s*1e3)
	}
	return fmt.Sprintf("%.3g s", s)
}

// rateText describes a rate fit for humans; a fit that explains less than
// 90 % of the variance (an oscillating f) is named as such.
func rateText(r solvers.RateFit, what string) string {
	if r.Kind == "" {
		return ""
	}
	if r.R2 < 0.9 {
		return fmt.Sprintf("%s follows no clean exponential or power law (R² = %s)", what, FormatNumber(r.R2, 2))
	}
	rate := "−" + FormatNumber(r.Rate, 4)
	if r.Rate < 0 {
		rate = FormatNumber(-r.Rate, 4)
	}
	if r.Kind == "exponential" {
		return fmt.Sprintf("%s ≈ %s·exp(%s t) (R² = %s)", what, FormatNumber(r.C, 3), rate, FormatNumber(r.R2, 4))
	}
	return fmt.Sprintf("%s ≈ %s·t^(%s) (R² = %s)", what, FormatNumber(r.C, 3), rate, FormatNumber(r.R2, 4))
}

// rateJSON is a rate fit for the JSON record (nil when there is none).
func rateJSON(r solvers.RateFit) map[string]any {
	if r.Kind == "" {
		return nil
	}
	m := map[string]any{"kind": r.Kind, "rate": r.Rate, "c": r.C, "r2": r.R2, "from": r.From, "to": r.To, "points": r.Points}
	if r.Kind == "exponential" {
		m["per_step"] = r.PerStep
	}
	return m
}

// finiteOr returns v, or nil for NaN (JSON has no NaN).
func finiteOr(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}
