// Tests of the command line: exit codes, JSON lines, check, fmt and version (SPEC §4–6).
package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// flowlang runs the command line with args and returns its exit code,
// standard output and standard error.
func flowlang(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

// script writes a script into a temporary directory and returns its path.
func script(t *testing.T, name, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const good = `objective rosen(x, y) = (1 - x)^2 + 100*(y - x^2)^2
show grad(rosen)
show hess(rosen) at (1, 1)
check grad(rosen) == [-2*(1 - x) - 400*x*(y - x^2), 200*(y - x^2)]
`

const failing = `objective f(x) = x^3
check diff(f(x), x) == 3*x
show 2 + 2
`

func TestExitCodes(t *testing.T) {
	goodFile := script(t, "good.flow", good)
	badFile := script(t, "bad.flow", "show 1\nshow nope\nshow 2\n")
	failFile := script(t, "fail.flow", failing)
	cases := []struct {
		name string
		args []string
		code int
	}{
		{"run", []string{"run", goodFile}, exitOK},
		{"bare file", []string{goodFile}, exitOK},
		{"run with flags", []string{"run", "--json", "--seed", "7", "--quiet", goodFile}, exitOK},
		{"script error", []string{"run", badFile}, exitError},
		{"failed check", []string{"run", failFile}, exitCheckFailed},
		{"error beats a failed check", []string{"run", failFile, badFile}, exitError},
		{"check command ok", []string{"check", goodFile}, exitOK},
		{"check command errors", []string{"check", badFile}, exitError},
		{"check does not evaluate checks", []string{"check", failFile}, exitOK},
		{"fmt", []string{"fmt", goodFile}, exitOK},
		{"version", []string{"version"}, exitOK},
		{"help", []string{"help"}, exitOK},
		{"unknown command", []string{"frobnicate"}, exitUsage},
		{"run without file", []string{"run"}, exitUsage},
		{"check without file", []string{"check"}, exitUsage},
		{"fmt without file", []string{"fmt"}, exitUsage},
		{"unknown flag", []string{"run", "--frob", goodFile}, exitUsage},
		{"bad seed", []string{"run", "--seed", "abc", goodFile}, exitUsage},
		{"missing file", []string{"run", filepath.Join(t.TempDir(), "missing.flow")}, exitUsage},
		{"missing bare file", []string{"missing.flow"}, exitUsage},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := flowlang(t, c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.code, out, errOut)
			}
			if strings.Contains(errOut, "internal error") || strings.Contains(errOut, "goroutine") {
				t.Errorf("internal error:\n%s", errOut)
			}
		})
	}
}

func TestRunOutput(t *testing.T) {
	code, out, errOut := flowlang(t, script(t, "good.flow", good))
	want := "grad(rosen) = [400*x*(x^2 - y) + 2*x - 2, 200*y - 200*x^2]\n" +
		"hess(rosen) at (1, 1) = [[802, -400], [-400, 200]]\n" +
		"check grad(rosen) == [-2*(1 - x) - 400*x*(y - x^2), 200*(y - x^2)]: ok (symbolic)\n"
	if code != 0 || out != want || errOut != "" {
		t.Errorf("exit %d\nstdout:\n%s\nwant:\n%s\nstderr:\n%s", code, out, want, errOut)
	}
}

// TestFailedCheckRunsEverything: a failed check does not stop the script
// (exit 3 means every statement ran), and it names a counterexample.
func TestFailedCheckRunsEverything(t *testing.T) {
	code, out, _ := flowlang(t, script(t, "fail.flow", failing))
	if code != exitCheckFailed {
		t.Fatalf("exit %d, want 3", code)
	}
	for _, want := range []string{"check diff(f(x), x) == 3*x: FAILED (line 2)", "counterexample: x = ", "2 + 2 = 4"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestScriptError: an error names file:line:col, quotes the line with a
// caret, gives the hint, and stops the script.
func TestScriptError(t *testing.T) {
	p := script(t, "err.flow", "objective rosen(x, y) = x*y\nshow 1\nshow grad(rosne)\nshow 2\n")
	code, out, errOut := flowlang(t, "run", p)
	if code != exitError {
		t.Fatalf("exit %d, want 1", code)
	}
	want := p + ":3:11: undefined: rosne\n 3 | show grad(rosne)\n   |           ^~~~~\nhint: did you mean rosen?\n"
	if errOut != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", errOut, want)
	}
	if out != "1 = 1\n" {
		t.Errorf("stdout %q: the statements before the error run, those after do not", out)
	}
}

// jsonLines decodes one JSON object per line.
func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON line: %q: %v", line, err)
		}
		recs = append(recs, m)
	}
	return recs
}

func TestJSON(t *testing.T) {
	src := good + "check sin(x) == x\nshow nope\n"
	code, out, errOut := flowlang(t, "run", "--json", script(t, "j.flow", src))
	if code != exitError || errOut != "" {
		t.Fatalf("exit %d (want 1), stderr %q", code, errOut)
	}
	recs := jsonLines(t, out)
	kinds := []string{"show", "show", "check", "check", "error"}
	lines := []float64{2, 3, 4, 5, 6}
	if len(recs) != len(kinds) {
		t.Fatalf("%d records, want %d:\n%s", len(recs), len(kinds), out)
	}
	for i, r := range recs {
		if r["kind"] != kinds[i] || r["line"] != lines[i] {
			t.Errorf("record %d: kind %v line %v, want %s %v", i, r["kind"], r["line"], kinds[i], lines[i])
		}
	}
	// show: text, latex, and a value when it evaluates to numbers
	if recs[0]["text"] != "[400*x*(x^2 - y) + 2*x - 2, 200*y - 200*x^2]" || recs[0]["value"] != nil || recs[0]["latex"] == "" {
		t.Errorf("symbolic show record: %v", recs[0])
	}
	if v, _ := json.Marshal(recs[1]["value"]); string(v) != "[[802,-400],[-400,200]]" {
		t.Errorf("show at: value %s, want [[802,-400],[-400,200]]", v)
	}
	// check: ok, how, lhs, rhs, counterexample
	if recs[2]["ok"] != true || recs[2]["how"] != "symbolic" || recs[2]["counterexample"] != nil || recs[2]["lhs"] != recs[2]["rhs"] {
		t.Errorf("symbolic check record: %v", recs[2])
	}
	cx, _ := recs[3]["counterexample"].(map[string]any)
	if recs[3]["ok"] != false || recs[3]["how"] != "numeric" || recs[3]["lhs"] != "sin(x)" || recs[3]["rhs"] != "x" || cx["x"] == nil {
		t.Errorf("failed check record: %v", recs[3])
	}
	// error: line, col, message, hint
	e := recs[4]
	if e["col"] != float64(6) || e["message"] != "undefined: nope" {
		t.Errorf("error record: %v", e)
	}
}

// TestCheckCommand: flowlang check reports every error of a file, and
// runs nothing.
func TestCheckCommand(t *testing.T) {
	src := "show 1 +\nshow sinn(1)\nlet a = [1, 2] + 1\nshow 2\ncheck 1 == 2\ndef f(x) = f(x)\nshow 1/0\n"
	p := script(t, "many.flow", src)
	code, out, errOut := flowlang(t, "check", p)
	if code != exitError {
		t.Fatalf("exit %d, want 1", code)
	}
	if out != "" {
		t.Errorf("check printed results: %q", out)
	}
	// the parse errors are reported (here one), and nothing is resolved
	if lines := errorLines(errOut, p); lines != "1" {
		t.Errorf("errors at lines %s, want 1 (the parse error)\n%s", lines, errOut)
	}
	// without the parse error, every resolve error is reported
	p = script(t, "many2.flow", strings.Replace(src, "show 1 +\n", "show 1\n", 1))
	code, out, errOut = flowlang(t, "check", p)
	if code != exitError || out != "" {
		t.Errorf("exit %d (want 1), stdout %q", code, out)
	}
	if lines := errorLines(errOut, p); lines != "2,3,6,7" {
		t.Errorf("errors at lines %s, want 2,3,6,7\n%s", lines, errOut)
	}
	// as JSON lines
	_, out, _ = flowlang(t, "check", "--json", p)
	recs := jsonLines(t, out)
	if len(recs) != 4 || recs[0]["kind"] != "error" || recs[3]["line"] != float64(7) {
		t.Errorf("check --json:\n%s", out)
	}
}

// errorLines lists the lines of the errors printed for file.
func errorLines(stderr, file string) string {
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(file) + `:(\d+):\d+: `)
	var lines []string
	for _, m := range re.FindAllStringSubmatch(stderr, -1) {
		lines = append(lines, m[1])
	}
	return strings.Join(lines, ",")
}

func TestFmt(t *testing.T) {
	src := "# a comment\nlet   a=1   # trailing\nshow a+2*-3^2\n\n\n\nshow [1,2]\n"
	want := "# a comment\nlet a = 1  # trailing\nshow a + 2*-3^2\n\nshow [1, 2]\n"
	p := script(t, "f.flow", src)
	code, out, errOut := flowlang(t, "fmt", p)
	if code != 0 || out != want || errOut != "" {
		t.Fatalf("fmt: exit %d\n%s\nwant:\n%s\nstderr: %s", code, out, want, errOut)
	}
	if b, _ := os.ReadFile(p); string(b) != src {
		t.Error("fmt without -w changed the file")
	}
	// -w rewrites in place, through a temporary file renamed over it
	code, out, _ = flowlang(t, "fmt", "-w", p)
	if b, _ := os.ReadFile(p); code != 0 || out != "" || string(b) != want {
		t.Errorf("fmt -w: exit %d, stdout %q, file:\n%s", code, out, b)
	}
	entries, _ := os.ReadDir(filepath.Dir(p))
	if len(entries) != 1 {
		t.Errorf("fmt -w left files behind: %v", entries)
	}
	// fmt is idempotent
	code, out, _ = flowlang(t, "fmt", p)
	if code != 0 || out != want {
		t.Errorf("fmt of formatted text changed it:\n%s", out)
	}
	// a file that does not parse is left alone
	bad := script(t, "bad.flow", "show (1 +\n")
	code, _, errOut = flowlang(t, "fmt", "-w", bad)
	if b, _ := os.ReadFile(bad); code != exitError || string(b) != "show (1 +\n" || !strings.Contains(errOut, "bad.flow:1:6") {
		t.Errorf("fmt -w of a bad file: exit %d, file %q, stderr %q", code, b, errOut)
	}
}

func TestVersionAndUsage(t *testing.T) {
	code, out, _ := flowlang(t, "version")
	if code != 0 || out != "flowlang "+Version+"\n" {
		t.Errorf("version: %d %q", code, out)
	}
	code, _, errOut := flowlang(t, "frobnicate")
	if code != exitUsage || !strings.Contains(errOut, `unknown command "frobnicate"`) || !strings.Contains(errOut, "usage:") {
		t.Errorf("unknown command: %d %q", code, errOut)
	}
}

// TestSeed: --seed changes the random points of a numeric check, and the
// same seed gives the same counterexample.
func TestSeed(t *testing.T) {
	p := script(t, "s.flow", "objective f(x) = x\ncheck sin(x) == x\n")
	_, a, _ := flowlang(t, "run", "--json", "--seed", "5", p)
	_, b, _ := flowlang(t, "run", "--json", "--seed", "5", p)
	_, c, _ := flowlang(t, "run", "--json", "--seed", "6", p)
	if a != b {
		t.Errorf("the same seed gave different results:\n%s\n%s", a, b)
	}
	if a == c {
		t.Errorf("different seeds gave the same counterexample:\n%s", a)
	}
}
