// Tests of run for objectives and show critical: classic test problems, bad input, outputs, cancellation, memory.
package lang

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	ad "flowlang/autodiff"
)

// runCollector gathers what a script says.
type runCollector struct {
	mu      sync.Mutex
	records []Record
	errs    []*Error
	rows    [][]float64
	columns []string
	labels  []string
}

func (c *runCollector) Record(r Record) { c.mu.Lock(); c.records = append(c.records, r); c.mu.Unlock() }
func (c *runCollector) RunRows(label string, cols []string) {
	c.labels, c.columns = append(c.labels, label), cols
}
func (c *runCollector) Row(v []float64) { c.rows = append(c.rows, append([]float64(nil), v...)) }
func (c *runCollector) Error(e *Error)  { c.errs = append(c.errs, e) }

// runScript runs src and returns the collector and the error.
func runScript(t testing.TB, src string, opts Options) (*runCollector, error) {
	t.Helper()
	c := &runCollector{}
	opts.Out = c
	in := New(opts)
	err := in.ExecFile("test.flow", []byte(src))
	return c, err
}

func (c *runCollector) runRecords() []*RunRecord {
	var out []*RunRecord
	for _, r := range c.records {
		if r, ok := r.(*RunRecord); ok {
			out = append(out, r)
		}
	}
	return out
}

// testProblems are classic unconstrained test problems, written in
// flowlang (derived here, not copied: gonum's optimize/functions has a
// wrong Beale Hessian), with a start, a run that reaches the known
// minimiser, and how close it must get. References: Moré, Garbow &
// Hillstrom, "Testing unconstrained optimization software", ACM TOMS 7
// (1981) for Rosenbrock, Beale, Powell singular, Wood, extended Rosenbrock
// and Brown badly scaled; the others are standard 2-D test functions.
var testProblems = []struct {
	name, decl, run string
	xmin            []float64
	fmin            float64
	tol             float64 // on each coordinate
}{
	{"rosenbrock", "objective f(x, y) = (1 - x)^2 + 100*(y - x^2)^2",
		// explicit rk45 on the stiff valley (L ≈ 1000) hovers at its
		// tolerance: ‖∇f‖ stays near 1e-8, so stop on t (e^{−0.4t} ≈ 1e-14)
		"run f from (-1.2, 1) using rk45(rtol = 1e-10, atol = 1e-12) until t >= 80",
		[]float64{1, 1}, 0, 1e-8},
	{"beale", "objective f(x, y) = (1.5 - x + x*y)^2 + (2.25 - x + x*y^2)^2 + (2.625 - x + x*y^3)^2",
		"run f from (1, 1) using implicit_euler(h = 1) until gradnorm < 1e-11",
		[]float64{3, 0.5}, 0, 1e-9},
	{"booth", "objective f(x, y) = (x + 2*y - 7)^2 + (2*x + y - 5)^2",
		"run f from (0, 0) using implicit_euler(h = 10) until gradnorm < 1e-12",
		[]float64{1, 3}, 0, 1e-12},
	{"himmelblau", "objective f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2",
		"run f from (1, 1) using rk4(h = 0.001) until gradnorm < 1e-10",
		[]float64{3, 2}, 0, 1e-10},
	// a degenerate minimum (singular Hessian at 0): Newton converges
	// linearly, by 2/3 a step, until the Hessian is singular to working
	// precision near |x| ≈ 1e-7; f < 1e-20 means |x| ≲ 1e-5 (f is quartic
	// along the Hessian's null space)
	{"powell singular", "objective f(x[4]) = (x[1] + 10*x[2])^2 + 5*(x[3] - x[4])^2 + (x[2] - 2*x[3])^4 + 10*(x[1] - x[4])^4",
		"run f from [3, -1, 0, 1] using newton until value < 1e-20",
		[]float64{0, 0, 0, 0}, 0, 1e-5},
	{"wood", "objective f(x[4]) = 100*(x[2] - x[1]^2)^2 + (1 - x[1])^2 + 90*(x[4] - x[3]^2)^2 + (1 - x[3])^2 + 10.1*((x[2] - 1)^2 + (x[4] - 1)^2) + 19.8*(x[2] - 1)*(x[4] - 1)",
		"run f from [-3, -1, -3, -1] using implicit_euler(h = 1) until gradnorm < 1e-10",
		[]float64{1, 1, 1, 1}, 0, 1e-9},
	{"extended rosenbrock", "objective f(x[10]) = sum(i in 1..5, 100*(x[2*i] - x[2*i - 1]^2)^2 + (1 - x[2*i - 1])^2)",
		"run f from [-1.2, 1, -1.2, 1, -1.2, 1, -1.2, 1, -1.2, 1] using implicit_euler(h = 1) until gradnorm < 1e-10",
		[]float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 0, 1e-9},
	{"quadratic", "objective f(x[5]) = sum(i in 1..5, i*(x[i] - i)^2)",
		"run f from [0, 0, 0, 0, 0] using euler(h = 0.09) until gradnorm < 1e-12",
		[]float64{1, 2, 3, 4, 5}, 0, 1e-12},
	{"matyas", "objective f(x, y) = 0.26*(x^2 + y^2) - 0.48*x*y",
		"run f from (10, -7) using heavy_ball(h = 1, beta = 0.7) until gradnorm < 1e-12",
		[]float64{0, 0}, 0, 1e-10},
	{"three-hump camel", "objective f(x, y) = 2*x^2 - 1.05*x^4 + x^6/6 + x*y + y^2",
		"run f from (0.5, -0.5) using nesterov(h = 0.05) until gradnorm < 1e-10",
		[]float64{0, 0}, 0, 1e-9},
	{"mccormick", "objective f(x, y) = sin(x + y) + (x - y)^2 - 1.5*x + 2.5*y + 1",
		"run f from (0, 0) using rk4(h = 0.05) until gradnorm < 1e-12",
		[]float64{-math.Pi/3 + 0.5, -math.Pi/3 - 0.5}, -math.Sqrt(3)/2 - math.Pi/3, 1e-11},
	// badly scaled: curvatures from 2 to 2e12 (pure Newton from (1, 1)
	// wanders off; the proximal step does not)
	{"brown badly scaled", "objective f(x, y) = (x - 1e6)^2 + (y - 2e-6)^2 + (x*y - 2)^2",
		"run f from (1, 1) using implicit_euler(h = 10) until gradnorm < 1e-8",
		[]float64{1e6, 2e-6}, 0, 1e-9},
}

// TestProblems runs each classic problem to its known minimiser. The
// tolerances are a few orders above the rounding of each problem's
// conditioning at the stopping gradient (‖x − x*‖ ≲ ‖∇f‖/λ_min).
func TestProblems(t *testing.T) {
	for _, p := range testProblems {
		t.Run(p.name, func(t *testing.T) {
			c, err := runScript(t, p.decl+"\n"+p.run+"\n", Options{})
			if err != nil {
				t.Fatal(err)
			}
			r := c.runRecords()[0]
			x := r.Final["x"].([]float64)
			for i := range x {
				scale := math.Max(1, math.Abs(p.xmin[i]))
				if math.Abs(x[i]-p.xmin[i]) > p.tol*scale {
					t.Errorf("x = %v, want %v (±%g)", x, p.xmin, p.tol)
					break
				}
			}
			if f := r.Final["value"].(float64); math.Abs(f-p.fmin) > 1e-12*math.Max(1, math.Abs(p.fmin)) {
				t.Errorf("f = %g, want %g", f, p.fmin)
			}
			if strings.HasPrefix(r.Stopped, "step limit") {
				t.Errorf("stopped by the default step limit")
			}
		})
	}
}

// TestProblemsCheckGradients checks each test problem's symbolic gradient
// and Hessian against central differences at its start (the derivation in
// flowlang must be right for the runs above to mean anything).
func TestProblemsCheckGradients(t *testing.T) {
	for _, p := range testProblems {
		in := New(Options{})
		if err := in.ExecFile("p.flow", []byte(p.decl)); err != nil {
			t.Fatal(err)
		}
		o := in.objectives["f"]
		n := len(o.syms)
		x := make([]float64, n)
		for i := range x {
			x[i] = 0.3 + 0.1*float64(i) // a generic point
		}
		if p.name == "brown badly scaled" {
			x = []float64{3, 0.5}
		}
		val := func(x []float64) float64 {
			m := map[*ad.Node]float64{}
			for i, s := range o.syms {
				m[s] = x[i]
			}
			v, err := ad.Eval(o.value, m)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		g := ad.Grad(o.value, o.syms)
		for i := range g {
			m := map[*ad.Node]float64{}
			for k, s := range o.syms {
				m[s] = x[k]
			}
			gi, _ := ad.Eval(g[i], m)
			// central difference with step h = 1e-6: truncation O(h²f''') ≈ 1e-12
			// relative; rounding ≈ ε|f|/h (large for Brown's f ≈ 1e12)
			h := 1e-6 * math.Max(1, math.Abs(x[i]))
			xp, xm := append([]float64(nil), x...), append([]float64(nil), x...)
			xp[i] += h
			xm[i] -= h
			fd := (val(xp) - val(xm)) / (2 * h)
			if math.Abs(fd-gi) > 1e-6*math.Max(1, math.Abs(gi))+10*2.2e-16*math.Abs(val(x))/h {
				t.Errorf("%s: ∂f/∂x%d = %g, central difference %g", p.name, i+1, gi, fd)
			}
		}
	}
}

// TestRunBadInput: every mistake is a positioned error with a useful message.
func TestRunBadInput(t *testing.T) {
	const decl = "objective rosen(x, y) = (1 - x)^2 + 100*(y - x^2)^2\ndef V(x) = x^2\ndensity q(x)\nfunctional F[q] = integral(q*log(q))\n"
	cases := []struct {
		stmt string
		col  int
		msg  string
		hint string
	}{
		{"run rosen from (-1, 1) using eulr(h = 0.001) for 10 steps", 30, "unknown method eulr", "did you mean euler?"},
		{"run rosen from (-1, 1) using euler(hh = 0.001) for 10 steps", 36, "euler has no parameter hh", "did you mean h?"},
		{"run rosen from (-1, 1) using euler(beta = 0.001) for 10 steps", 36, "euler has no parameter beta", "euler's parameters: h"},
		{"run rosen from (-1, 1) using euler for 10 steps", 30, "euler needs the step size h", "write euler(h = 0.01)"},
		{"run rosen from (-1, 1) using euler(h = 0.1, h = 0.2) for 10 steps", 45, "h given twice", ""},
		{"run rosen from (-1, 1) using euler(h = -1) for 10 steps", 40, "h must be positive, found -1", ""},
		{"run rosen from (-1, 1) using euler(h = x) for 10 steps", 40, "undefined: x", "a free symbol only in show and check"},
		{"run rosen from (-1, 1) using heavy_ball(h = 0.1, beta = 1) for 10 steps", 57, "beta must be in [0, 1)", ""},
		{"run rosen from (-1, 1) using rk45(rtol = 1e-20) for 10 steps", 42, "rtol must be in [1e-14, 1)", ""},
		{"run rosen from (-1, 1, 2) using euler(h = 0.1) for 10 steps", 16, "the starting point has 3 coordinates but rosen(x, y) has 2", ""},
		{"run rosen using euler(h = 0.1) for 10 steps", 5, "a run of an objective needs a starting point", ""},
		{"run rosen from (-1, 1) for 10 steps", 5, "a run needs a method", "methods for an objective: euler, implicit_euler"},
		{"run rosen from (-1, 1) using euler(h = 0.1)", 1, "a run needs a stopping rule", ""},
		{"run rosen from (-1, 1) using euler(h = 0.001) until gradnrm < 1e-3", 53, "euler cannot stop on gradnrm", "did you mean gradnorm?"},
		{"run rosen from (-1, 1) using euler(h = 0.001) until energy < 1e-3", 53, "euler cannot stop on energy", "its until conditions are on t, steps, gradnorm, value"},
		{"run rosen from (-1, 1) using euler(h = 0.001) until t == 3", 53, "an until condition compares with <, <=, > or >=, not ==", ""},
		{"run rosen from (-1, 1) using euler(h = 0.001) for 10 steps every 0.5", 66, "every (a number of steps) must be an integer", ""},
		{"run rosen from (-1, 1) using euler(h = 0.001) for 10 steps every 0", 66, "every must be at least 1 step", ""},
		{"run rosen from (-1, 1) using rk45 for 10 steps every -1", 54, "every must be positive", ""},
		{"run rosen from (-1, 1) using rk45 until t >= 1e10 every 1e-9", 57, "asks for 1e+19 rows, more than 10000000", "take a larger every"},
		{"run rosen from (-1, 1) using euler(h = 0.001) for -5 steps", 51, "the number of steps must be in 0..", ""},
		{"run rosen from (-1, 1) using natural(h = 0.1, metric = [[1, 0]]) for 10 steps", 56, "the metric must be a square 2×2 matrix (rosen has 2 variables), found a 1×2 matrix", ""},
		{"run rosen from (-1, 1) using natural(h = 0.1, metric = [1, 0]) for 10 steps", 56, "the metric must be a square 2×2 matrix", ""},
		{"run rosen from (-1, 1) using natural(h = 0.1) for 10 steps", 30, "natural needs the metric M(x)", ""},
		{"run rosen from (1, 1) using natural(h = 0.1, metric = [[1, 0], [0, z]]) for 10 steps", 68, "undefined: z", ""},
		{"run rosen from (-1, 1) using natural(h = 0.1, metric = [[1, 0], [0, y - 1]]) for 20 steps", 30, "natural failed at step 1: the metric is singular", ""},
		{"run rosen from (-1, 1) using natural(h = 0.1, metric = [[1, 0], [0, x]]) for 20 steps", 30, "natural failed at step 2: the metric is not positive definite", ""},
		{"run rosen from (-1, 1) using euler(h = 0.01) for 1000 steps", 30, "euler diverged at step 6 (t = 0.06): f = ", "the stability bound is h < 2/L = 0.0019968 with L = 1001.6"},
		{"run rosen from (-1, 1) using langevin(h = 0.01) for 10 steps", 30, "langevin is a method for functionals, and rosen is an objective", "methods for an objective: euler"},
		{"run rosn from (-1, 1) using euler(h = 0.01) for 10 steps", 5, "undefined: rosn", "did you mean rosen?"},
		{"run V from (1) using euler(h = 0.01) for 10 steps", 5, "V is a function; a run needs an objective or a functional", "objective V(x) = ..."},
		{"run rosen from (-1, 1) using euler(h = 0.001) for 10 steps monitor value = x", 68, "monitor value clashes with a column", ""},
		{"run rosen from (-1, 1) using euler(h = 0.001) for 10 steps monitor m = [x, y]", 72, "a monitor must be a scalar, this is a vector of length 2", ""},
		{"run rosen from (-1, 1) using euler(h = 0.001) for 10 steps monitor m = q", 72, "density q can only be used", ""},
		{"run rosen from (-1, 1) using euler(h = 0.001) for 10 steps plot \"a.pdf\"", 65, "plot writes PNG or SVG", ""},
		{"run rosen from (-1, 1) using euler(h = 0.001) for 10 steps to \"/nonexistent/dir/a.csv\"", 63, "cannot write /nonexistent/dir/a.csv", ""},
		{"run rosen from (-1, 1) using euler(h = 0.001) for 10 steps compare to normal(0, 1)", 71, "compare to is for flows of densities", ""},
		{"run rosen from (-1, 1) using newton(h = 1) for 10 steps from (1, 1)", 0, "from given twice", ""},
		{"run rosen from (log(-1), 1) using euler(h = 0.1) for 10 steps", 17, "coordinate log(-1) is not a finite number", ""},
		{"run rosen from (1e200, 1) using euler(h = 0.1) for 10 steps", 16, "cannot start the run: f is not finite at the starting point", ""},
		{"objective g(x) = log(x)\nrun g from (1) using euler(h = 2) for 10 steps", 22, "euler diverged at step 1 (t = 2): f = NaN; log(x) is NaN there", "take a smaller step"},
		{"show critical(rosen) near (1, 2, 3)", 27, "the point has 3 coordinates but rosen(x, y) has 2", ""},
		{"show critical(V) near (1)", 15, "critical needs an objective; V is a function", ""},
		{"show critical(F) near (1)", 15, "critical needs an objective; F is a functional", ""},
		{"show critical(rosen)", 6, "critical needs a starting point", ""},
		{"show critical(rosen, V) near (1, 1)", 6, "critical takes one objective", ""},
		{"objective lin(x, y) = x + y\nshow critical(lin) near (0, 0)", 25, "no critical point of lin found from this point", ""},
	}
	for _, c := range cases {
		src := decl + c.stmt + "\n"
		_, err := runScript(t, src, Options{})
		if err == nil {
			t.Errorf("%s: no error", c.stmt)
			continue
		}
		var e *Error
		switch err := err.(type) {
		case *Error:
			e = err
		case ErrorList:
			e = err[0]
		default:
			t.Errorf("%s: error %T %v", c.stmt, err, err)
			continue
		}
		line := 5 + strings.Count(c.stmt, "\n")
		if e.Pos.Line != line || c.col != 0 && e.Pos.Col != c.col || !strings.Contains(e.Msg, c.msg) || !strings.Contains(e.Hint, c.hint) {
			t.Errorf("%s:\n got %d:%d: %s (hint %q)\nwant %d:%d: %s (hint %q)", c.stmt, e.Pos.Line, e.Pos.Col, e.Msg, e.Hint, line, c.col, c.msg, c.hint)
		}
		if !strings.Contains(e.Error(), "^") {
			t.Errorf("%s: no caret in\n%s", c.stmt, e.Error())
		}
	}
}

// TestRunCSV: to writes every row (every step without every) atomically;
// a failed run leaves no file.
func TestRunCSV(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.csv")
	src := fmt.Sprintf("objective f(x, y) = x^2 + 2*y^2\nrun f from (1, 1) using euler(h = 0.1) for 50 steps monitor r = x^2 + y^2 to %q\n", path)
	if _, err := runScript(t, src, Options{}); err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, path)
	if got := strings.Join(rows[0], ","); got != "step,t,x,y,value,gradnorm,r" {
		t.Errorf("header %s", got)
	}
	if len(rows) != 52 {
		t.Fatalf("%d lines, want the header and 51 rows", len(rows))
	}
	// x ← 0.8x, y ← 0.6y; the CSV keeps every digit (50 steps of a
	// couple of roundings each: 1e-13 relative)
	var x, y float64
	fmt.Sscan(rows[51][2], &x)
	fmt.Sscan(rows[51][3], &y)
	if math.Abs(x-math.Pow(0.8, 50)) > 1e-13*x || math.Abs(y-math.Pow(0.6, 50)) > 1e-13*y {
		t.Errorf("last row %v", rows[51])
	}
	// with every, the CSV holds the table's rows
	src = fmt.Sprintf("objective f(x, y) = x^2 + 2*y^2\nrun f from (1, 1) using euler(h = 0.1) for 50 steps every 20 to %q\n", path)
	if _, err := runScript(t, src, Options{Quiet: true}); err != nil {
		t.Fatal(err)
	}
	if rows := readCSV(t, path); len(rows) != 5 || rows[4][0] != "50" {
		t.Errorf("every 20: rows %v, want steps 0, 20, 40, 50", rows)
	}
	// a diverging run writes nothing and leaves no temporary file
	bad := filepath.Join(dir, "bad.csv")
	src = fmt.Sprintf("objective f(x, y) = x^2 + 2*y^2\nrun f from (1, 1) using euler(h = 2) for 500 steps to %q\n", bad)
	if _, err := runScript(t, src, Options{}); err == nil {
		t.Fatal("no divergence")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != "out.csv" {
			t.Errorf("left behind %s", e.Name())
		}
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestRunJSON: the run's JSON line has SPEC §5's fields.
func TestRunJSON(t *testing.T) {
	var buf bytes.Buffer
	in := New(Options{Out: &JSONReporter{Out: &buf}})
	src := "objective rosen(x, y) = (1 - x)^2 + 100*(y - x^2)^2\nrun rosen from (-1, 1) using euler(h = 0.001) for 20000 steps every 10000 monitor d = (x - 1)^2\n"
	if err := in.ExecFile("t.flow", []byte(src)); err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	for _, k := range []string{"kind", "line", "target", "method", "params", "steps", "t", "final", "monotone", "wall_s", "diagnostics", "columns", "rows"} {
		if _, ok := rec[k]; !ok {
			t.Errorf("no %q in %s", k, buf.String())
		}
	}
	final := rec["final"].(map[string]any)
	x := final["x"].([]any)
	if rec["kind"] != "run" || rec["line"] != 2.0 || rec["target"] != "rosen" || rec["method"] != "euler" ||
		rec["params"].(map[string]any)["h"] != 0.001 || rec["steps"] != 20000.0 || rec["t"] != 20.0 ||
		math.Abs(x[0].(float64)-0.99986) > 1e-5 || final["value"] == nil || final["gradnorm"] == nil || rec["monotone"] != true {
		t.Errorf("record %s", buf.String())
	}
	d := rec["diagnostics"].(map[string]any)
	for _, k := range []string{"dissipation_residual", "length", "rate", "monitors"} {
		if _, ok := d[k]; !ok {
			t.Errorf("diagnostics lack %q", k)
		}
	}
	if rows := rec["rows"].([]any); len(rows) != 3 {
		t.Errorf("%d rows, want 3", len(rows))
	}
	if w := rec["wall_s"].(float64); !(w > 0) || w > 60 {
		t.Errorf("wall_s = %v", w)
	}
}

// TestRunRows: the table's columns and rows; rk45's every is an interval of t.
func TestRunRows(t *testing.T) {
	c, err := runScript(t, "objective f(x[3]) = norm2(x)\nrun f from [1, 2, 3] using rk45 until t >= 1 every 0.25 monitor n = norm(x)\n", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.columns, ","); got != "step,t,x[1],x[2],x[3],value,gradnorm,n" {
		t.Errorf("columns %s", got)
	}
	if len(c.rows) != 5 {
		t.Fatalf("%d rows, want t = 0, 0.25, …, 1", len(c.rows))
	}
	for i, r := range c.rows {
		// dx/dt = −2x: x(t) = x₀e^{−2t}, to rk45's default tolerance
		want := math.Exp(-2 * r[1])
		if math.Abs(r[1]-0.25*float64(i)) > 1e-12 || math.Abs(r[2]-want) > 1e-5 || math.Abs(r[7]-math.Sqrt(14)*want) > 1e-5 {
			t.Errorf("row %v, want t = %v, x[1] = %v", r, 0.25*float64(i), want)
		}
	}
	if len(c.labels) != 1 || !strings.HasPrefix(c.labels[0], "run f from [1, 2, 3]") {
		t.Errorf("labels %q", c.labels)
	}
	// quiet: no rows, the summary still
	c, err = runScript(t, "objective f(x) = x^2\nrun f from (1) using euler(h = 0.1) for 10 steps every 1\n", Options{Quiet: true})
	if err != nil || len(c.rows) != 0 || len(c.runRecords()) != 1 {
		t.Errorf("quiet: %v, %d rows", err, len(c.rows))
	}
}

// TestRunCancel: a cancelled context stops a run that would take hours,
// at once, with an error saying so.
func TestRunCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	c := &runCollector{}
	in := New(Options{Out: c})
	in.SetContext(ctx)
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	start := time.Now()
	err := in.ExecFile("t.flow", []byte("objective f(x) = x^2\nrun f from (1) using euler(h = 1e-9) for 1000000000000 steps\n"))
	if err == nil || !strings.Contains(err.Error(), "run interrupted at step") {
		t.Errorf("error %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v to stop", d)
	}
}

// TestRunProgress: progress starts with 0, ends with −1, and in between
// comes at most every ~100 ms.
func TestRunProgress(t *testing.T) {
	var calls []int
	var times []time.Time
	p := func(done, total int, tt float64) {
		calls = append(calls, done)
		times = append(times, time.Now())
	}
	if _, err := runScript(t, "objective f(x) = x^2\nrun f from (1) using euler(h = 1e-7) for 3000000 steps\n", Options{Progress: p}); err != nil {
		t.Fatal(err)
	}
	if len(calls) < 2 || calls[0] != 0 || calls[len(calls)-1] != -1 {
		t.Fatalf("progress calls %v", calls)
	}
	for i := 2; i < len(calls)-1; i++ {
		if d := times[i].Sub(times[i-1]); d < 90*time.Millisecond {
			t.Errorf("progress calls %v apart", d)
		}
	}
}

// TestRunMemory: a long run keeps only what it prints — ten times the
// steps allocate no more (the few kilobytes of compiling, samples and the
// record are the same).
func TestRunMemory(t *testing.T) {
	alloc := func(steps int) uint64 {
		src := fmt.Sprintf("objective f(x, y) = (1 - x)^2 + 100*(y - x^2)^2\nrun f from (-1, 1) using euler(h = 1e-4) for %d steps monitor m = x*y\n", steps)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		if _, err := runScript(t, src, Options{}); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	alloc(1000) // warm up caches
	small, large := alloc(100_000), alloc(1_000_000)
	if large > small+64<<10 {
		t.Errorf("100000 steps allocate %d bytes, 1000000 steps %d", small, large)
	}
}

// TestRunPlot: a 2-D run draws its trajectory, a 3-D one its value.
func TestRunPlot(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ decl, from, file string }{
		{"objective f(x, y) = (1 - x)^2 + 100*(y - x^2)^2", "(-1, 1)", "traj.png"},
		{"objective f(x[3]) = norm2(x)", "[1, 2, 3]", "value.svg"},
	} {
		path := filepath.Join(dir, c.file)
		src := fmt.Sprintf("%s\nrun f from %s using euler(h = 0.001) for 5000 steps plot %q\n", c.decl, c.from, path)
		if _, err := runScript(t, src, Options{}); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(path)
		if err != nil || st.Size() < 1000 {
			t.Errorf("%s: %v", c.file, err)
		}
	}
}

// TestCriticalJSON: show critical reports the point as the value and the
// facts as info.
func TestCriticalJSON(t *testing.T) {
	var buf bytes.Buffer
	in := New(Options{Out: &JSONReporter{Out: &buf}})
	if err := in.ExecFile("t.flow", []byte("objective s(x, y) = x^2 - y^2 + x*y\nshow critical(s) near (1, 1)\n")); err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Kind  string
		Line  int
		Value []float64
		Info  struct {
			Kind        string
			Value       float64
			Eigenvalues []float64
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatal(err)
	}
	// Hessian [[2, 1], [1, −2]]: eigenvalues ±√5
	if rec.Kind != "show" || rec.Line != 2 || len(rec.Value) != 2 || rec.Value[0] != 0 || rec.Value[1] != 0 ||
		rec.Info.Kind != "saddle" || math.Abs(rec.Info.Eigenvalues[0]+math.Sqrt(5)) > 1e-14 || math.Abs(rec.Info.Eigenvalues[1]-math.Sqrt(5)) > 1e-14 {
		t.Errorf("record %s", buf.String())
	}
}

// TestRunCheckOnly: flowlang check resolves a run without running it.
func TestRunCheckOnly(t *testing.T) {
	c, err := runScript(t, "objective f(x) = x^2\nrun f from (1) using euler(h = 0.1) for 1000000000000 steps\n", Options{CheckOnly: true})
	if err != nil || len(c.records) != 0 {
		t.Errorf("check only: %v, %d records", err, len(c.records))
	}
	_, err = runScript(t, "objective f(x) = x^2\nrun f from (1) using eulr(h = 0.1) for 10 steps\n", Options{CheckOnly: true})
	if err == nil {
		t.Error("check only did not resolve the method")
	}
}

// TestRunMethodsTable: every method of SPEC §3.3 for objectives is there,
// with its parameters.
func TestRunMethodsTable(t *testing.T) {
	want := map[string]string{"euler": "h", "implicit_euler": "h", "rk4": "h", "rk45": "rtol,atol", "normalized": "eps",
		"heavy_ball": "h,beta", "nesterov": "h", "natural": "h,metric", "newton": "h"}
	seen := 0
	for _, m := range RunMethods() {
		if m.Target != "objective" {
			continue
		}
		var names []string
		for _, p := range m.Params {
			names = append(names, p.Name)
		}
		if want[m.Name] != strings.Join(names, ",") {
			t.Errorf("%s has parameters %v, want %s", m.Name, names, want[m.Name])
		}
		seen++
	}
	if seen != len(want) {
		t.Errorf("%d methods for objectives, want %d", seen, len(want))
	}
}

// handRosenbrockEuler is the hand-written counterpart of
// BenchmarkRunRosenbrock's run: gradient descent with f evaluated at every
// step and tested for monotonicity, as the run reports it.
func handRosenbrockEuler(x, y, h float64, steps int) (float64, float64, bool) {
	monotone := true
	d := y - x*x
	f := (1-x)*(1-x) + 100*d*d
	gx, gy := -2*(1-x)-400*x*d, 200*d
	for k := 0; k < steps; k++ {
		x -= h * gx
		y -= h * gy
		d = y - x*x
		fn := (1-x)*(1-x) + 100*d*d
		gx, gy = -2*(1-x)-400*x*d, 200*d
		if math.IsNaN(fn) || math.IsInf(fn, 0) {
			break
		}
		if fn > f {
			monotone = false
		}
		f = fn
	}
	return x, y, monotone
}

// BenchmarkRunRosenbrock times the statement
//
//	run rosen from (-1, 1) using euler(h = 0.001) for 10000000 steps
//
// by its own wall_s (the run after parsing and compiling, SPEC §5) against
// the hand-written loop in the same iteration, and reports the ratio.
func BenchmarkRunRosenbrock(b *testing.B) {
	const steps = 10_000_000
	src := fmt.Sprintf("objective rosen(x, y) = (1 - x)^2 + 100*(y - x^2)^2\nrun rosen from (-1, 1) using euler(h = 0.001) for %d steps\n", steps)
	var run, hand float64
	for i := 0; i < b.N; i++ {
		c, err := runScript(b, src, Options{})
		if err != nil {
			b.Fatal(err)
		}
		r := c.runRecords()[0]
		run += r.WallS
		start := time.Now()
		x, y, _ := handRosenbrockEuler(-1, 1, 0.001, steps)
		hand += time.Since(start).Seconds()
		if got := r.Final["x"].([]float64); math.Abs(got[0]-x) > 1e-9 || math.Abs(got[1]-y) > 1e-9 {
			b.Fatalf("run ends at %v, by hand at (%v, %v)", got, x, y)
		}
	}
	n := float64(b.N) * steps
	b.ReportMetric(run/n*1e9, "run-ns/step")
	b.ReportMetric(hand/n*1e9, "hand-ns/step")
	b.ReportMetric(run/hand, "ratio")
}
