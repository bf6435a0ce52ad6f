// Tests of grid and jko runs in scripts: bad input with positions, records, CSV, plots, warnings, cancellation, check-only.
package lang

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const densityDecl = `def V(x) = x^4/4 - x^2/2
def K(z) = exp(-z^2)
density q(x)
density p(y[2])
density r(z[3])
functional F[q] = potential(V) + entropy()
functional I[q] = fisher()
functional N[q] = integral(q*integral(q(y)*log(abs(x - y)), y))
functional P[p] = integral(p*log(p))
functional R[r] = integral(r*log(r))
functional W[q] = interaction(K) + integral(q*integral(q(y)*x*y, y))^2
`

// TestDensityRunBadInput: every refusal of grid and jko names the place
// (the column of the text marked by at) and, where it helps, the way out.
func TestDensityRunBadInput(t *testing.T) {
	cases := []struct {
		stmt, at, msg, hint string
	}{
		{"run F from normal(0, 1) using grid(n = 50) for 10 steps", "grid(", "grid needs its domain, the box [a, b]", "grid(domain = [-5, 5]"},
		{"run F from normal(0, 1) using grid(domain = [[-3, 3], [-3, 3]]) for 10 steps", "[[", "the domain of a density with 1 coordinate is [a, b], found a 2×2 matrix", "domain = [-5, 5]"},
		{"run P from normal([0, 0], 1) using grid(domain = [-3, 3]) for 10 steps", "[-3", "is [[a1, b1], [a2, b2]], found a vector of length 2", "[[-5, 5], [-5, 5]]"},
		{"run F from normal(0, 1) using grid(domain = [3, -3]) for 10 steps", "[3", "the domain must be [a, b] with a < b, found [3, -3]", ""},
		{"run F from normal(0, 1) using grid(domain = [-3, x]) for 10 steps", "x]", "undefined: x", ""},
		{"run F from normal(0, 1) using grid(domain = [-3, 3], n = 2) for 10 steps", "2)", "n must be between 3 and", ""},
		{"run F from normal(0, 1) using grid(domain = [-3, 3], n = 1e8) for 10 steps", "1e8", "n must be between 3 and 67108864, found 100000000", ""},
		{"run P from normal([0, 0], 1) using grid(domain = [[-3, 3], [-3, 3]], n = 60000) for 10 steps", "60000", "a grid of 60000 cells per coordinate in 2 dimensions would need about", "use fewer cells"},
		{"run F from normal(0, 1) using grid(domain = [-3, 3], h = -1) for 10 steps", "-1)", "h must be positive", ""},
		{"run F from normal(0, 1) using grid(domain = [-3, 3], rk = 4) for 10 steps", "4)", "rk must be 1, 2 or 3", ""},
		{"run F from normal(0, 1) using grid(domain = [-3, 3], order = 3) for 10 steps", "3)", "order must be 1 or 2", ""},
		{"run R from normal([0, 0, 0], 1) using grid(domain = [-3, 3]) for 10 steps", "grid", "grid runs densities in 1 or 2 dimensions, and r has 3", "particle method"},
		{"run F using grid(domain = [-3, 3]) for 10 steps", "F", "needs a starting law", "from normal(0, 1)"},
		{"run F from sample(normal(0, 1), 100) using grid(domain = [-3, 3]) for 10 steps", "sample", "evolves a density, not particles", ""},
		{"run F from points([0, 1]) using grid(domain = [-3, 3]) for 10 steps", "points", "points(...) has none", ""},
		{"run F from normal(9, 1) using grid(domain = [-3, 3]) for 10 steps", "normal", "has 100% of its mass outside the domain [-3, 3]", "widen the domain"},
		{"run F from normal([0, 0], 1) using grid(domain = [-3, 3]) for 10 steps", "[0, 0]", "the mean is a vector of 2, but the density has one coordinate", "normal(0, 1)"},
		{"run N from normal(0, 1) using grid(domain = [-3, 3]) for 10 steps", "grid", "grid cannot handle integral(q(y)*log(abs(x - y)), y) of N: its kernel log(abs(·w)) is singular at x − y = 0", ""},
		{"run F from normal(0, 1) using grid(domain = [-3, 3]) until value < 1", "value", "grid cannot evaluate value", "its until conditions are on steps, t"},
		{"run F from normal(0, 1) using grid(domain = [-3, 3]) for 10 steps compare to normal([0, 0], 1)", "[0, 0]", "the mean is a vector of 2, but the density has one coordinate", ""},
		{"run P from normal([0, 0], 1) using grid(domain = [[-3, 3], [-3, 3]]) for 10 steps compare to normal([0, 0], 1)", "normal([0, 0], 1)\n", "compare to is available for grids in one dimension", ""},
		{"run F from normal(0, 1) using grid(domain = [-3, 3]) for 10 steps monitor m = diff(q, x)", "diff", "a monitor is the mean of a function of x under q, or a functional", "integral(q*log(q))"},
		{"run F from normal(0, 1) using grid(domain = [-3, 3]) for 10 steps monitor mean = x", "mean", "monitor mean clashes with a column", ""},
		{"run F from uniform(-1, 1) using grid(domain = [-3, 3]) for 10 steps monitor m = integral(q*log(q))*t", "integral", "a functional monitor cannot depend on t", ""},
		{"run I from normal(0, 1) using grid(domain = [-5, 5], n = 2000) until t >= 1", "grid", "grid failed at step 0: the stability of the fourth-order term", "" /* message says fewer cells */},
		{"def G(x) = log(x)\nfunctional L[q] = potential(G) + entropy()\nrun L from normal(0, 1) using grid(domain = [-3, 3]) for 10 steps", "normal", "cannot start the run: δF/δq is not finite at the start", "must be finite"},
		{"functional C[q] = integral(1000*x^2*q) + integral(q*log(2 - q)) + 10*integral(q*log(q))\nrun C from normal(0, 1) using grid(domain = [-4, 4], n = 80) until t >= 5", "grid",
			"the energy is not finite: its integrand q*log(2 - q) is -Inf in the cell at x = ",
			"either the flow reached a density where C or δC/δq is not defined"},
		{"run I from normal(0, 1) using jko(tau = 0.01) for 10 steps", "jko", "jko cannot handle integral(diff(q, x)^2/q) of I: it depends on diff(q, x), a derivative of q", "use grid"},
		{"run W from normal(0, 1) using jko(tau = 0.01) for 10 steps", "jko", "jko cannot handle", "use grid"},
		{"run P from normal([0, 0], 1) using jko(tau = 0.01) for 10 steps", "jko", "jko runs densities on R in quantile coordinates, and p has 2 coordinates", "use grid"},
		{"run F from normal(0, 1) using jko(tau = 0) for 10 steps", "0)", "tau must be positive", ""},
		{"run F from normal(0, 1) using jko(tau = 0.1, n = 1) for 10 steps", "1) for", "n must be between 2 and", ""},
		{"def Q(z) = z^2\nfunctional A[q] = interaction(Q) + entropy()\nrun A from normal(0, 1) using jko(n = 5000) for 10 steps", "5000", "use at most 2000 quantile nodes", ""},
		{"run F from points([0, 1]) using jko for 10 steps", "points", "points(...) has none", ""},
		{"run F from normal(0, 1) using jko for 10 steps monitor m = integral(q^2)", "integral", "a monitor of a jko run is the mean of a function of x and t", ""},
		{"run F from normal(0, 1) using jko(domain = [-3, 3]) for 10 steps", "domain", "jko has no parameter domain", "tau, n"},
		// a negative entropy or porous term: a backward heat equation
		{"functional B[q] = potential(V) - 2*entropy()\nrun B from normal(0, 1) using grid(domain = [-8, 8]) until t >= 0.5", "B from",
			"its diffusion coefficient q·∂(δF/δq)/∂q = -2 is negative: a backward heat equation, which is ill-posed", ""},
		{"functional B[q] = potential(V) - porous(2)\nrun B from normal(0, 1) using grid(domain = [-8, 8]) until t >= 0.5", "B from", "= -2*q is negative", ""},
		{"functional B[q] = potential(V) - entropy()\nrun B from normal(0, 1) using jko for 10 steps", "B from", "ill-posed", ""},
		// a flow that runs off: V = −x²/2 pushes the law outwards for ever
		{"def U(x) = -x^2/2\nfunctional E[q] = potential(U) + entropy()\nrun E from normal(0, 1) using jko(tau = 0.5, n = 50) for 300 steps", "jko", "the nodes grew without bound", ""},
		// a step that lands higher than staying put: 1/x is not convex across 0
		{"def G(x) = 1/x\nfunctional E[q] = potential(G) + entropy()\nrun E from normal(0, 1) using jko(tau = 0.01, n = 100) for 100 steps", "jko", "ended at nodes worse than the previous ones", ""},
	}
	base := strings.Count(densityDecl, "\n")
	for _, c := range cases {
		_, err := runScript(t, densityDecl+c.stmt+"\n", Options{})
		if err == nil {
			t.Errorf("%s: no error", c.stmt)
			continue
		}
		e := firstError(t, err)
		lines := strings.Split(c.stmt, "\n")
		last := lines[len(lines)-1]
		at := strings.TrimSuffix(c.at, "\n")
		idx := strings.Index(last, at)
		if strings.HasSuffix(c.at, "\n") {
			idx = strings.LastIndex(last, at)
		}
		line, col := base+len(lines), idx+1
		if idx < 0 {
			t.Fatalf("%s: %q not in the statement", c.stmt, c.at)
		}
		if e.Pos.Line != line || e.Pos.Col != col || !strings.Contains(e.Msg, c.msg) || !strings.Contains(e.Hint, c.hint) {
			t.Errorf("%s:\n got %d:%d: %s (hint %q)\nwant %d:%d: %s (hint %q)", c.stmt, e.Pos.Line, e.Pos.Col, e.Msg, e.Hint, line, col, c.msg, c.hint)
		}
		if !strings.Contains(e.Error(), "^") {
			t.Errorf("%s: no caret in\n%s", c.stmt, e.Error())
		}
	}
}

// TestGridRunJSON: a grid run's record has SPEC §5's final (mass, mean,
// var, energy, min), w2 with compare to, and its diagnostics.
func TestGridRunJSON(t *testing.T) {
	var buf bytes.Buffer
	in := New(Options{Out: &JSONReporter{Out: &buf}})
	src := densityDecl + "run F from normal(1, 0.5) using grid(domain = [-3.5, 3.5], n = 70) until t >= 2 every 100 compare to gibbs(V) monitor m = x monitor H = integral(q*log(q))\n"
	if err := in.ExecFile("t.flow", []byte(src)); err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	final := rec["final"].(map[string]any)
	for _, k := range []string{"mass", "mean", "var", "energy", "min", "w2"} {
		if _, ok := final[k]; !ok {
			t.Errorf("final lacks %q: %s", k, buf.String())
		}
	}
	params := rec["params"].(map[string]any)
	if _, ok := params["h"]; ok || params["n"] != 70.0 || rec["method"] != "grid" || rec["t"] != 2.0 || rec["monotone"] != true {
		t.Errorf("record %s", buf.String())
	}
	d := rec["diagnostics"].(map[string]any)
	for _, k := range []string{"grid", "dt", "limited_by", "mass_drift", "min_q", "energy", "monitors", "vd"} {
		if _, ok := d[k]; !ok {
			t.Errorf("diagnostics lack %q", k)
		}
	}
	cols := rec["columns"].([]any)
	if fmt.Sprint(cols) != "[step t mass mean var energy min m H]" {
		t.Errorf("columns %v", cols)
	}
	// the monitor m is the mean, and H, the entropy, is part of the energy
	rows := rec["rows"].([]any)
	last := rows[len(rows)-1].([]any)
	if m, mean := last[7].(float64), last[3].(float64); math.Abs(m-mean) > 1e-14 {
		t.Errorf("monitor m = %v, mean %v", last[7], last[3])
	}
}

// TestJKORunJSON: a jko run's record.
func TestJKORunJSON(t *testing.T) {
	var buf bytes.Buffer
	in := New(Options{Out: &JSONReporter{Out: &buf}})
	src := densityDecl + "run F from normal(1, 0.5) using jko(tau = 0.05, n = 100) until t >= 1 compare to gibbs(V) monitor m2 = x^2\n"
	if err := in.ExecFile("t.flow", []byte(src)); err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	final := rec["final"].(map[string]any)
	for _, k := range []string{"mass", "mean", "var", "energy", "min", "w2"} {
		if _, ok := final[k]; !ok {
			t.Errorf("final lacks %q: %s", k, buf.String())
		}
	}
	d := rec["diagnostics"].(map[string]any)
	terms := d["terms"].(map[string]any)
	if terms["potential"] != "x^4/4 - x^2/2" || terms["local"] != "q*log(q)" || rec["steps"] != 20.0 {
		t.Errorf("record %s", buf.String())
	}
	// E(Y) − E(X) ≥ W₂²/(2τ) at each step: the minimisation's check
	if s := d["min_slack"].(float64); s < -1e-12 {
		t.Errorf("min_slack %g", s)
	}
}

// TestDensityRunCSVAndPlots: to writes every step; plots are drawn for 1-D
// and 2-D grids and for jko; a failed run leaves no file.
func TestDensityRunCSVAndPlots(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "out.csv")
	png1, png2, png3 := filepath.Join(dir, "a.png"), filepath.Join(dir, "b.png"), filepath.Join(dir, "c.svg")
	src := densityDecl + fmt.Sprintf(`run F from normal(0, 1) using grid(domain = [-4, 4], n = 40) for 30 steps to %q plot %q
run P from normal([0, 0], [1, 0.5]) using grid(domain = [[-4, 4], [-4, 4]], n = 20) for 5 steps plot %q
run F from normal(0, 1) using jko(n = 50) for 5 steps plot %q
`, csvPath, png1, png2, png3)
	if _, err := runScript(t, src, Options{}); err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, csvPath)
	if got := strings.Join(rows[0], ","); got != "step,t,mass,mean,var,energy,min" || len(rows) != 32 {
		t.Errorf("CSV header %s and %d lines, want 32", got, len(rows))
	}
	for _, p := range []string{png1, png2, png3} {
		if st, err := os.Stat(p); err != nil || st.Size() < 1000 {
			t.Errorf("%s: %v", p, err)
		}
	}
	// a run that fails leaves nothing
	bad := filepath.Join(dir, "bad.csv")
	src = densityDecl + fmt.Sprintf("def G(x) = log(x)\nfunctional L[q] = potential(G) + entropy()\nrun L from normal(0, 1) using grid(domain = [-3, 3]) for 10 steps to %q\n", bad)
	if _, err := runScript(t, src, Options{}); err == nil {
		t.Fatal("no error")
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Errorf("left %s behind", bad)
	}
}

// TestGridWarnings: a law partly outside the domain and a density that
// reaches the walls are said in the summary and the diagnostics.
func TestGridWarnings(t *testing.T) {
	c, err := runScript(t, densityDecl+"functional H[q] = entropy()\nrun H from normal(0, 1) using grid(domain = [-3, 3], n = 60) until t >= 1\n", Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := c.runRecords()[0]
	w, _ := r.Diagnostics["warnings"].([]string)
	if len(w) != 2 || !strings.Contains(w[0], "0.27% of the starting law's mass lies outside") || !strings.Contains(w[1], "reached the walls") {
		t.Errorf("warnings %q", w)
	}
	if !strings.Contains(strings.Join(r.Summary, "\n"), "warning: the density reached the walls") {
		t.Errorf("summary %q", r.Summary)
	}
}

// TestGridRunCancel: a cancelled context stops a long grid run at once.
func TestGridRunCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	in := New(Options{Out: &runCollector{}})
	in.SetContext(ctx)
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	start := time.Now()
	err := in.ExecFile("t.flow", []byte(densityDecl+"run F from normal(0, 1) using grid(domain = [-3, 3]) for 100000000 steps\n"))
	if err == nil || !strings.Contains(err.Error(), "run interrupted at step") {
		t.Errorf("error %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v to stop", d)
	}
}

// TestDensityRunCheckOnly: flowlang check refuses what grid and jko cannot
// run, without running what they can.
func TestDensityRunCheckOnly(t *testing.T) {
	c, err := runScript(t, densityDecl+"run F from normal(0, 1) using grid(domain = [-3, 3]) for 1000000000000 steps\nrun F from normal(0, 1) using jko for 1000000000000 steps\n", Options{CheckOnly: true})
	if err != nil || len(c.records) != 0 {
		t.Errorf("check only: %v, %d records", err, len(c.records))
	}
	if _, err := runScript(t, densityDecl+"run I from normal(0, 1) using jko for 10 steps\n", Options{CheckOnly: true}); err == nil || !strings.Contains(err.Error(), "jko cannot handle") {
		t.Errorf("check only: %v", err)
	}
}
