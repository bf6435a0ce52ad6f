// Bad input: every hostile or malformed script gets a positioned error with a caret, quickly.
package lang

import (
	"bytes"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

const (
	// maxCaseTime bounds each bad input's parse-and-run time. The slowest
	// cases (40 000 tokens parsed before the statement is refused) take
	// about 0.5 s on one core; the bound leaves room for a loaded machine.
	maxCaseTime = 2 * time.Second
	// maxCaseAlloc bounds the bytes each case allocates: refusing input
	// must not build it first.
	maxCaseAlloc = 1 << 30
)

type badCase struct {
	name string
	src  string
	line int    // where the error must be reported (0: not checked)
	col  int    // (0: not checked)
	msg  string // regexp the message must match
}

func repeat(s string, n int) string { return strings.Repeat(s, n) }

// deepDefs declares n functions, each calling the one before.
func deepDefs(n int) string {
	var b strings.Builder
	b.WriteString("def f0(x) = x + 1\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "def f%d(x) = f%d(x) + 1\n", i, i-1)
	}
	return b.String()
}

// doubling declares g1..g7 with g(k+1) = g(k)∘g(k): a small DAG whose
// tree (what printing writes out) has more than 2^64 nodes.
const doubling = `objective f(x) = x
def g1(x) = x*exp(x) + sin(x)
def g2(x) = g1(g1(x))
def g3(x) = g2(g2(x))
def g4(x) = g3(g3(x))
def g5(x) = g4(g4(x))
def g6(x) = g5(g5(x))
def g7(x) = g6(g6(x))
`

var badCases = []badCase{
	// an error inside the standard library is reported at the user's call
	{"stdlib value for a kernel", "density q(x)\nfunctional W[q] = interaction(exp(-x^2))", 2, 19, `in interaction\(\.\.\.\): K is a value, not a function`},
	{"stdlib porous(1)", "density q(x)\nfunctional P[q] = porous(1)", 2, 19, `in porous\(\.\.\.\): division by zero`},
	{"built-in as a kernel", "density q(x)\nfunctional W[q] = interaction(abs)", 2, 31, `abs is a built-in function; interaction takes a function declared with def`},
	// malformed scripts
	{"unclosed paren", "show (1 + 2", 1, 6, `"\(" is never closed`},
	{"missing operand", "show 1 +", 1, 9, `unexpected end of statement`},
	{"missing body", "objective f(x) =", 1, 17, `unexpected end of statement: expected objective NAME\(PARAMS\) = EXPR`},
	{"bare keyword", "let", 1, 4, `expected let NAME = EXPR`},
	{"not a statement", "x = 3", 1, 1, `expected a statement`},
	{"stray closing bracket", "show 1)", 1, 7, `unexpected "\)"`},
	{"bad character", "show 1 @ 2", 1, 8, `unexpected character "@"`},
	{"unterminated string", `load "abc`, 1, 6, `unterminated string`},
	{"typographic minus", "show 3 \u2212 1", 1, 8, `unexpected character "−"`},
	{"check with =", "check 1 = 1", 1, 9, `check compares with ==`},
	{"missing file", `load "no/such/file.flow"`, 1, 6, `cannot load no/such/file.flow`},
	// unknown names and arity
	{"unknown name", "objective rosen(x, y) = x*y\nshow grad(rosne)", 2, 11, `undefined: rosne`},
	{"unknown function", "show sinn(1)", 1, 6, `undefined function: sinn`},
	{"arity builtin", "show exp(1, 2)", 1, 6, `exp takes 1 argument, found 2`},
	{"arity def", "def f(x, y) = x*y\nshow f(1)", 2, 6, `f takes 2 arguments \(x, y\), found 1`},
	// shapes
	{"vector plus scalar", "show [1, 2] + 1", 1, 13, `cannot add a vector of length 2 and a scalar`},
	{"vector times vector", "show [1, 2]*[1, 2]", 1, 12, `cannot multiply`},
	{"ragged matrix", "show [[1, 2], [3]]", 1, 15, `entry 2 is a vector of length 1 but entry 1 is a vector of length 2`},
	// constant division by zero
	{"division by zero", "show 1/0", 1, 8, `division by zero`},
	{"division by a zero expression", "let a = 2\nshow 3/(a - 2)", 2, 8, `division by zero`},
	{"zero to a negative power", "show 0^(-2)", 1, 6, `division by zero`},
	// recursion
	{"self-recursive def", "def f(x) = f(x) + 1", 1, 12, `recursive definition: f → f`},
	{"recursion by redefinition", "def g(x) = 1\ndef f(x) = g(x)\ndef g(x) = f(x)", 3, 12, `recursive definition: g → f → g`},
	{"mutual recursion three deep", "def a(x) = 1\ndef b(x) = a(x)\ndef c(x) = b(x)\ndef a(x) = c(x)", 4, 12, `recursive definition: a → c → b → a`},
	{"functions nested too deep", deepDefs(300), 201, 15, `functions nested more than 200 deep`},
	// non-UTF-8 bytes
	{"invalid UTF-8", "show 1\nshow \xff\xfe", 2, 6, `invalid UTF-8 byte 0xff`},
	{"invalid UTF-8 in a comment", "# caf\xe9\nshow 1", 1, 6, `invalid UTF-8 byte 0xe9`},
	{"NUL byte", "show 1\x00", 1, 7, `unexpected character`},
	// 10⁵-deep nesting and long chains
	{"deep parentheses", "show " + repeat("(", 100000) + "x" + repeat(")", 100000), 1, 206, `brackets nested more than 200 deep`},
	{"deep brackets", "show " + repeat("[", 100000) + "1" + repeat("]", 100000), 1, 206, `brackets nested more than 200 deep`},
	{"deep calls", "show " + repeat("sin(", 100000) + "1" + repeat(")", 100000), 1, 0, `brackets nested more than 200 deep`},
	{"unclosed deep nesting", "show " + repeat("(", 100000), 1, 206, `brackets nested more than 200 deep`},
	{"power chain", "objective f(x) = " + repeat("x^", 100000) + "x", 1, 0, `statement longer than 40000 tokens`},
	{"signed power chain", "objective f(x) = " + repeat("x^-", 100000) + "x", 1, 0, `statement longer than 40000 tokens`},
	{"unary minus chain", "objective f(x) = " + repeat("-", 100000) + "x", 1, 0, `statement longer than 40000 tokens`},
	{"product chain", "objective f(x) = " + repeat("x*", 100000) + "x", 1, 0, `statement longer than 40000 tokens`},
	{"long line quoted in a window", "show " + repeat("1 + ", 5000) + "zz", 1, 20006, `undefined: zz`},
	// absurd sizes
	{"huge vector parameter", "objective f(x[1000000000]) = x[1]", 1, 15, `vector length 1000000000 out of range 1..100000`},
	{"huge index", "show [1, 2][1000000000]", 1, 13, `index 1000000000 out of range 1..2`},
	{"huge sum", "show sum(i in 1..1000000000, i)", 1, 10, `sum over 1000000000 terms: more than the 1000000`},
	{"huge nested sums", "show sum(i in 1..1000, sum(j in 1..1000, sum(k in 1..1000, i*j*k)))", 1, 0, `more than the 1000000 a statement may unroll`},
	{"huge prod", "show prod(i in 1..10000000000000, 2)", 1, 11, `prod over 10000000000000 terms`},
	{"huge number", "show 1e999", 1, 6, `number 1e999 is too large`},
	{"huge Hessian", "objective f(x[100000]) = x[1]\nshow hess(f)", 2, 6, `hess would be a 100000×100000 matrix`},
	{"huge Jacobian", "objective f(x[2000]) = x[1]\nshow jacobian(x, x)", 2, 6, `jacobian would be a 2000×2000 matrix`},
	{"huge derivative order", "objective f(x) = x\nshow diff(x^2, x, 1000000000)", 2, 19, `derivative order 1000000000 out of range`},
	{"exploding derivative", "objective f(x) = x\nshow diff(sin(x)*cos(x)*exp(x)*tan(x)*sinh(x)*cosh(x)*atan(x)*erf(x)*log(x)*sqrt(x), x, 60)", 2, 6, `the derivative grows too large`},
	// huge printed expressions
	{"huge printed expression", doubling + "show g7(x)", 9, 6, `too large to print: more than 10\^18 nodes`},
	{"huge printed derivative", doubling + "show diff(g7(x), x)", 9, 6, `too large to print`},
	{"huge let", doubling + "let big = g7(2)", 0, 0, `.`},
}

func TestBadInput(t *testing.T) {
	for _, c := range badCases {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			in := New(Options{Out: &TextReporter{Out: &out, Err: &errOut}})
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			err := in.ExecFile("bad.flow", []byte(c.src))
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			if elapsed > maxCaseTime {
				t.Errorf("took %v, more than %v", elapsed, maxCaseTime)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > maxCaseAlloc {
				t.Errorf("allocated %d MiB, more than %d MiB", alloc>>20, maxCaseAlloc>>20)
			}
			if err == nil {
				t.Fatalf("no error; output:\n%s", out.String())
			}
			text := errOut.String()
			if strings.Contains(text, "internal error") {
				t.Fatalf("internal error:\n%s", text)
			}
			first := firstError(t, err)
			if !regexp.MustCompile(c.msg).MatchString(first.Msg) {
				t.Errorf("message %q does not match %q", first.Msg, c.msg)
			}
			if c.line > 0 && first.Pos.Line != c.line || c.col > 0 && first.Pos.Col != c.col {
				t.Errorf("reported at %d:%d, want %d:%d", first.Pos.Line, first.Pos.Col, c.line, c.col)
			}
			// the printed error names the place and quotes the line with a
			// caret under it, whatever the line's length
			head := fmt.Sprintf("bad.flow:%d:%d: ", first.Pos.Line, first.Pos.Col)
			if !strings.HasPrefix(text, head) {
				t.Errorf("printed error does not start with %q:\n%.300s", head, text)
			}
			lines := strings.Split(text, "\n")
			if len(lines) < 3 || !strings.Contains(lines[2], "^") {
				t.Errorf("no caret line:\n%.300s", text)
			}
			for _, l := range lines[:min(3, len(lines))] {
				if len([]rune(l)) > maxQuoted+len(first.Msg)+40 {
					t.Errorf("printed line of %d characters: a long source line must be quoted in a window", len(l))
				}
			}
			if len(lines) >= 3 {
				// the caret sits under the reported column of the quoted text
				caret := strings.IndexRune(lines[2], '^')
				bar := strings.Index(lines[1], "| ")
				if caret < 0 || bar < 0 || caret < bar {
					t.Errorf("caret misplaced:\n%.300s", text)
				}
			}
		})
	}
}

// firstError returns the first positioned error of an ExecFile result.
func firstError(t *testing.T, err error) *Error {
	t.Helper()
	switch e := err.(type) {
	case *Error:
		return e
	case ErrorList:
		return e[0]
	}
	t.Fatalf("error of type %T: %v", err, err)
	return nil
}

// TestParseReportsEveryError: a parse error does not hide the next one.
func TestParseReportsEveryError(t *testing.T) {
	src := "show 1 +\nshow 2\nlet = 3\nshow (\nshow 4\ndef f(x) x\n"
	_, errs := Parse("p.flow", []byte(src))
	var lines []int
	for _, e := range errs {
		lines = append(lines, e.Pos.Line)
	}
	if fmt.Sprint(lines) != "[1 3 4 6]" {
		t.Errorf("errors at lines %v, want [1 3 4 6]:\n%v", lines, errs)
	}
}

// TestErrorWindow: a caret under column col of a long line stays under the
// same character once the line is cut to a window.
func TestErrorWindow(t *testing.T) {
	line := strings.Repeat("abcdefghij", 100) // 1000 characters
	for _, col := range []int{1, 5, 60, 61, 500, 941, 1000} {
		w, c := window(line, col)
		rs := []rune(w)
		if c < 1 || c > len(rs) || rs[c-1] != rune(line[col-1]) {
			t.Errorf("col %d: window column %d does not hold %q", col, c, line[col-1])
		}
		if len(rs) > maxQuoted+2 {
			t.Errorf("col %d: window of %d characters", col, len(rs))
		}
	}
	if w, c := window("short", 3); w != "short" || c != 3 {
		t.Errorf("a short line changed: %q %d", w, c)
	}
}

// TestByteOrderMark: a UTF-8 byte-order mark opening a file is skipped,
// as editors on some systems write one; anywhere else it is an error.
func TestByteOrderMark(t *testing.T) {
	if _, errs := Parse("bom.flow", []byte("\ufeffshow 1 + 2\n")); len(errs) > 0 {
		t.Errorf("a leading byte-order mark: %v", errs)
	}
	if _, errs := Parse("bom.flow", []byte("show 1 +\ufeff 2\n")); len(errs) == 0 {
		t.Error("a byte-order mark inside a statement was accepted")
	}
}

// TestCaretUnderWideCharacters: the caret sits under the column as a
// terminal shows it, two cells for each CJK character before it.
func TestCaretUnderWideCharacters(t *testing.T) {
	_, err := runScript(t, "let 漢字 = 1\nshow 漢字 + b\n", Options{})
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(firstError(t, err).Error(), "\n")
	// " 2 | show 漢字 + b" and " 2 |" + 12 cells + "^": under b
	if len(lines) < 3 || lines[2] != "   | "+strings.Repeat(" ", 12)+"^" {
		t.Errorf("caret line %q", lines[len(lines)-1])
	}
}
