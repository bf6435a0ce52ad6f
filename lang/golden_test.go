// Golden script tests: testdata/*.flow run statement by statement, output compared with .out files.
package lang

import (
	"bytes"
	"testing"

	"flowlang/internal/golden"
)

// TestGolden runs every testdata/*.flow script (except the functional*
// files, which functional_test.go runs) through the interpreter and compares
// what it prints with the .out file beside it; lines ending in ### "regexp"
// must report a matching error. Rewrite the .out files with
//
//	go test ./lang -run TestGolden -update
func TestGolden(t *testing.T) {
	golden.Run(t, golden.Glob(t, "testdata/*.flow", "functional"), GoldenExec)
}

// errorRecorder passes records on and remembers the errors.
type errorRecorder struct {
	Reporter
	errs []golden.Error
}

func (r *errorRecorder) Error(e *Error) {
	r.errs = append(r.errs, golden.Error{Line: e.Pos.Line, Msg: e.Msg})
	r.Reporter.Error(e)
}

// GoldenExec runs one chunk of a golden script in a fresh session with seed
// 1. Every statement runs, even after an error, so that one error does not
// hide the next; parse errors are reported in line order among the
// statements' output.
func GoldenExec(c golden.Chunk) golden.Result {
	var out bytes.Buffer
	var rep Reporter = &TextReporter{Out: &out, Err: &out}
	if c.JSON {
		rep = &JSONReporter{Out: &out}
	}
	rec := &errorRecorder{Reporter: rep}
	in := New(Options{Out: rec, Seed: 1})
	f, errs := Parse(c.File, c.Src)
	for _, st := range f.Stmts {
		start, _ := st.Span()
		for len(errs) > 0 && before(errs[0].Pos, start) {
			rec.Error(errs[0])
			errs = errs[1:]
		}
		in.ExecStmt(f.Src, st)
	}
	for _, e := range errs {
		rec.Error(e)
	}
	return golden.Result{Output: out.String(), Errors: rec.errs}
}

func before(a, b Pos) bool { return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col }
