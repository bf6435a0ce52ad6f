// Running an example through flowlang.Run; finding and comparing its records.
package exampletest

import (
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"flowlang"
	"flowlang/lang"
)

// Script is an example that has run.
type Script struct {
	Path   string
	Result *flowlang.Result
	Err    error
}

// Run runs the script at path through flowlang.Run with seed 1.
func Run(t testing.TB, path string) *Script {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := flowlang.Run(path, src, lang.Options{Seed: 1})
	return &Script{Path: path, Result: res, Err: err}
}

// Exit is the exit code the command line would give (SPEC §6): 1 for an
// error, 3 when a check failed, otherwise 0.
func (s *Script) Exit() int {
	switch {
	case s.Err != nil:
		return 1
	case s.Result.FailedChecks > 0:
		return 3
	}
	return 0
}

// WantExit fails the test unless the script exits with code.
func (s *Script) WantExit(t testing.TB, code int) {
	t.Helper()
	if got := s.Exit(); got != code {
		t.Errorf("%s: exit %d, want %d (error: %v)", s.Path, got, code, s.Err)
	}
}

// Shows returns the show records whose label (the statement's source
// text, with "at POINT" when given) is label.
func (s *Script) Shows(label string) []*lang.ShowRecord {
	var out []*lang.ShowRecord
	for _, r := range s.Result.Records {
		if sh, ok := r.(*lang.ShowRecord); ok && sh.Label == label {
			out = append(out, sh)
		}
	}
	return out
}

// Show returns the one show record labelled label (see Shows).
func (s *Script) Show(t testing.TB, label string) *lang.ShowRecord {
	t.Helper()
	rs := s.Shows(label)
	if len(rs) != 1 {
		t.Fatalf("%s: %d shows labelled %q, want 1", s.Path, len(rs), label)
	}
	return rs[0]
}

// Check returns the check record whose source text starts with prefix.
func (s *Script) Check(t testing.TB, prefix string) *lang.CheckRecord {
	t.Helper()
	var found *lang.CheckRecord
	for _, r := range s.Result.Records {
		if c, ok := r.(*lang.CheckRecord); ok && strings.HasPrefix(c.Label, prefix) {
			if found != nil {
				t.Fatalf("%s: several checks start with %q", s.Path, prefix)
			}
			found = c
		}
	}
	if found == nil {
		t.Fatalf("%s: no check starts with %q", s.Path, prefix)
	}
	return found
}

// WantCheck fails the test unless the check starting with prefix has
// outcome ok; it returns the record.
func (s *Script) WantCheck(t testing.TB, prefix string, ok bool) *lang.CheckRecord {
	t.Helper()
	c := s.Check(t, prefix)
	if c.OK != ok {
		t.Errorf("%s:%d: %s: ok = %v, want %v", s.Path, c.Line, c.Label, c.OK, ok)
	}
	return c
}

// Runs returns the run records, in order.
func (s *Script) Runs() []*lang.RunRecord {
	var out []*lang.RunRecord
	for _, r := range s.Result.Records {
		if run, ok := r.(*lang.RunRecord); ok {
			out = append(out, run)
		}
	}
	return out
}

// Near fails the test unless got (a float64, []float64 or [][]float64, as
// in records) equals want entry by entry within tol·max(1, |want|).
func Near(t testing.TB, got, want any, tol float64) {
	t.Helper()
	g, gs := flat(got)
	w, ws := flat(want)
	if gs != ws {
		t.Errorf("shape %s, want %s: %v", gs, ws, got)
		return
	}
	for i := range w {
		if !(math.Abs(g[i]-w[i]) <= tol*math.Max(1, math.Abs(w[i]))) {
			t.Errorf("entry %d = %v, want %v ± %g (got %v)", i, g[i], w[i], tol, got)
			return
		}
	}
}

func flat(v any) ([]float64, string) {
	switch v := v.(type) {
	case float64:
		return []float64{v}, "scalar"
	case int:
		return []float64{float64(v)}, "scalar"
	case []float64:
		return v, fmt.Sprintf("[%d]", len(v))
	case [][]float64:
		var out []float64
		for _, r := range v {
			out = append(out, r...)
		}
		cols := 0
		if len(v) > 0 {
			cols = len(v[0])
		}
		return out, fmt.Sprintf("[%d×%d]", len(v), cols)
	}
	return nil, fmt.Sprintf("%T", v)
}

// ExpectedExit is the exit code an example declares: 3 when its first
// comment says that a check fails on purpose (it mentions "fail" and
// "exit 3"), otherwise 0.
func ExpectedExit(src []byte) int {
	var head strings.Builder
	for _, line := range strings.Split(string(src), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			break
		}
		head.WriteString(strings.ToLower(line) + "\n")
	}
	h := head.String()
	if strings.Contains(h, "fail") && strings.Contains(h, "exit 3") {
		return 3
	}
	return 0
}
