// The round-trip rule (SPEC §2), the formatter, and the parser fuzz target.
package lang

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	ad "flowlang/autodiff"
)

// roundTripScope is a session in which x, y, z and v[1..3] are free symbols.
func roundTripScope(t testing.TB) *Interp {
	in := New(Options{})
	src := "objective f(x, y, z) = x*y*z\nobjective g(v[3]) = v[1]\ndef h(t) = t^2 + 1\n"
	if err := in.ExecFile("rt.flow", []byte(src)); err != nil {
		t.Fatal(err)
	}
	return in
}

// resolve resolves an expression's text as show would.
func resolve(in *Interp, text string) (Value, error) {
	e, errs := ParseExpr(text)
	if len(errs) > 0 {
		return Value{}, errs
	}
	s := in.newScope(&Source{Name: "<expr>", Text: []byte(text)}, true)
	v, err := s.eval(e)
	if err != nil {
		return Value{}, err
	}
	return v, nil
}

// checkRoundTrip resolves text, prints each entry canonically, and checks
// that the printed text resolves back to the same node (pointer-equal).
func checkRoundTrip(t *testing.T, in *Interp, text string) bool {
	t.Helper()
	v, err := resolve(in, text)
	if err != nil {
		return false // not every random expression resolves (0^-1, ...)
	}
	for _, n := range v.Elems {
		if n.TreeSize() > 5000 {
			continue
		}
		printed := ad.String(n)
		back, err := resolve(in, printed)
		if err != nil {
			t.Errorf("%s\n  prints as %s\n  which does not resolve: %v", text, printed, err)
			continue
		}
		if !back.IsScalar() || back.S() != n {
			t.Errorf("%s\n  prints as %s\n  which resolves to %s (a different node)", text, printed, back.String())
		}
	}
	return true
}

var roundTripCases = []string{
	"x", "-x", "x + y", "x - y", "y - x", "1 - x", "-x - y", "2*x", "-2*x", "x/2", "-x/2", "2/x", "x/y",
	"x/(2*y)", "1/3", "-1/3", "2/3*x", "x^2", "x^-1", "x^-2", "x^(1/2)", "x^(-1/2)", "x^(2/3)", "sqrt(x)",
	"1/sqrt(x)", "x^y", "x^(y + 1)", "(x + 1)^y", "2^x", "(-2)^x", "x^2^y", "(x^2)^y", "exp(x)^2",
	"exp(-x^2/2)", "exp(-x)", "log(x)", "log(x*y)", "log(2*x)", "log(exp(x) + 1)", "sin(x)^2", "sin(x^2)",
	"-sin(x)", "sin(-x)", "cos(-x)", "abs(-x)", "tanh(-x)", "x*y*z", "-x*y", "(x - y)*(y - z)", "(x - 1)^2",
	"(1 - x)^3", "x*(1 - x)", "-(x - y)^3", "2*x*(y - 1)", "(x + y)/(x - y)", "x/(x + 1)^2", "0.5*x",
	"1.5e-8*x", "1e300*x", "x + 0.1", "x - 2.5", "pi", "pi*x", "2*pi", "x/pi", "exp(1)", "sqrt(2)",
	"2^(1/2)*x", "3^(2/3)", "min(x, y)", "max(x, -y)", "pow(x, 3)", "atan(x/y)", "erf(x)*sigmoid(y)",
	"softplus(x) - logcosh(y)", "asin(x) + acos(y)", "sinh(x)*cosh(x)", "v[1]*v[2] - v[3]", "v[2]^2",
	"-v[1]", "norm2(v)", "norm(v)", "dot(v, [1, 2, 3])", "h(x)", "h(h(x))", "x^3/3 - x", "x^4/4 - x^2/2",
	"(x^2 - y)^2", "400*x*(x^2 - y) + 2*x - 2", "diff(x^x, x)", "grad(f)", "hess(f)", "grad(g)",
	"diff(exp(-x^2/2)*sin(y), x, 2, y)", "diff(log(1 + x^2), x, 3)", "diff(atan(x), x, 2)",
	"x*exp(x)", "exp(x + y)", "exp(x)*exp(y)", "1/(1 + exp(-x))", "(2*x + 2)^2", "(-x - 1)^3",
	"123456789012*x", "x/123456789012", "2^62*x", "-x^2", "-(x^2)", "(-x)^2", "(-x)^3",
}

func TestRoundTrip(t *testing.T) {
	in := roundTripScope(t)
	for _, c := range roundTripCases {
		if !checkRoundTrip(t, in, c) {
			t.Errorf("%s does not resolve", c)
		}
	}
}

// randomExpr writes a random expression over x, y, z and v[i] of the given
// depth, using every operator and elementary function.
func randomExpr(r *rand.Rand, depth int, floats bool) string {
	if depth == 0 || r.IntN(4) == 0 {
		k := r.IntN(8)
		if k == 5 && !floats {
			k = 4
		}
		switch k {
		case 0, 1:
			return []string{"x", "y", "z"}[r.IntN(3)]
		case 2:
			return fmt.Sprintf("v[%d]", 1+r.IntN(3))
		case 3:
			return fmt.Sprint(r.IntN(7) - 3)
		case 4:
			return fmt.Sprintf("%d/%d", 1+r.IntN(5), 1+r.IntN(5))
		case 5:
			return []string{"0.5", "2.5", "1e-3", "pi", "0.1"}[r.IntN(5)]
		}
		return []string{"x", "y"}[r.IntN(2)]
	}
	sub := func() string { return randomExpr(r, depth-1, floats) }
	switch r.IntN(10) {
	case 0:
		return sub() + " + " + sub()
	case 1:
		return sub() + " - " + sub()
	case 2:
		return "(" + sub() + ")*(" + sub() + ")"
	case 3:
		return "(" + sub() + ")/(" + sub() + ")"
	case 4:
		return "(" + sub() + ")^" + []string{"2", "3", "-1", "(1/2)", "(-3/2)", "y", "(x + 1)"}[r.IntN(7)]
	case 5:
		return "-(" + sub() + ")"
	case 6:
		return fmt.Sprintf("%d*(%s)", r.IntN(9)-4, sub())
	case 7:
		return "min(" + sub() + ", " + sub() + ")"
	}
	fns := ad.Builtins()
	for {
		name := fns[r.IntN(len(fns))]
		if arity, _ := ad.IsBuiltin(name); arity == 1 {
			return name + "(" + sub() + ")"
		}
	}
}

// TestRoundTripRandom: the round-trip rule on random expressions with
// exact numbers.
func TestRoundTripRandom(t *testing.T) {
	in := roundTripScope(t)
	r := rand.New(rand.NewPCG(1, 2))
	resolved := 0
	const n = 3000 // random expressions; most resolve (the rest divide by zero)
	for i := 0; i < n && !t.Failed(); i++ {
		if checkRoundTrip(t, in, randomExpr(r, 1+r.IntN(4), false)) {
			resolved++
		}
	}
	if resolved < n/2 && !t.Failed() {
		t.Errorf("only %d of %d random expressions resolved", resolved, n)
	}
}

// floatRoundTrip are expressions with float coefficients whose canonical
// text resolves to another node: a float factor of a sum is distributed
// when the text is read back, but kept outside when the expression was
// built by division (reported to the autodiff package's owner).
var floatRoundTrip = []string{
	"(1 - z - 2 + v[2] + 1/2 - 0.1 - 1)*(x - v[1] - sin(y))*0.1*2/x",
	"(x - 1e-3/5)/(abs(5/3) - min(0, y))",
}

// TestRoundTripRandomFloats: the round-trip rule on random expressions
// with floats.
func TestRoundTripRandomFloats(t *testing.T) {
	in := roundTripScope(t)
	for _, c := range floatRoundTrip {
		v, err := resolve(in, c)
		if err != nil {
			t.Fatal(err)
		}
		if back, err := resolve(in, v.String()); err == nil && back.S() != v.S() {
			t.Errorf("%s prints as %s, which resolves to %s", c, v.String(), back.String())
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 3000 && !t.Failed(); i++ {
		checkRoundTrip(t, in, randomExpr(r, 1+r.IntN(4), true))
	}
}

// astShape prints a syntax tree without positions, for comparing the trees
// of a script and of its formatted text.
func astShape(v reflect.Value) string {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return "nil"
		}
		return astShape(v.Elem())
	case reflect.Struct:
		var b strings.Builder
		b.WriteString(v.Type().Name() + "{")
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			if f.Type == reflect.TypeOf(span{}) || f.Type == reflect.TypeOf(Pos{}) {
				continue
			}
			b.WriteString(f.Name + ":" + astShape(v.Field(i)) + " ")
		}
		return b.String() + "}"
	case reflect.Slice:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = astShape(v.Index(i))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprintf("%q", fmt.Sprint(v.Interface()))
}

func stmtShapes(f *File) []string {
	out := make([]string, len(f.Stmts))
	for i, st := range f.Stmts {
		out[i] = astShape(reflect.ValueOf(st))
	}
	return out
}

// checkFormat asserts the formatter's contract on one source: the
// formatted text parses, has the same statements, keeps the comments and
// formats to itself.
func checkFormat(t *testing.T, name string, src []byte) {
	f, errs := Parse(name, src)
	if len(errs) > 0 {
		return
	}
	out := Format(f)
	f2, errs := Parse(name, out)
	if len(errs) > 0 {
		t.Fatalf("formatted text does not parse: %v\n--- source:\n%s\n--- formatted:\n%s", errs, src, out)
	}
	if a, b := stmtShapes(f), stmtShapes(f2); !reflect.DeepEqual(a, b) {
		t.Fatalf("formatting changed the statements\n--- source:\n%s\n--- formatted:\n%s\n%v\n%v", src, out, a, b)
	}
	if again := Format(f2); string(again) != string(out) {
		t.Fatalf("Format is not idempotent\n--- once:\n%s\n--- twice:\n%s", out, again)
	}
	if c1, c2 := comments(f), comments(f2); !reflect.DeepEqual(c1, c2) {
		t.Fatalf("formatting lost comments: %q became %q", c1, c2)
	}
}

func comments(f *File) []string {
	var out []string
	for _, it := range f.Items {
		if it.Comment != "" {
			out = append(out, strings.TrimRight(it.Comment, " \t\r"))
		}
		if it.Raw != "" {
			for _, l := range strings.Split(it.Raw, "\n") {
				if i := strings.IndexByte(l, '#'); i >= 0 {
					out = append(out, strings.TrimRight(l[i:], " \t\r"))
				}
			}
		}
	}
	return out
}

// scripts returns every .flow file of the repository's examples and testdata.
func scripts(t testing.TB) []string {
	var files []string
	for _, pat := range []string{"../examples/*.flow", "testdata/*.flow", "testdata/*/*.flow", "../stdlib/*.flow"} {
		m, _ := filepath.Glob(pat)
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no scripts found")
	}
	return files
}

func TestFormatScripts(t *testing.T) {
	for _, file := range scripts(t) {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(filepath.Base(file), func(t *testing.T) { checkFormat(t, file, src) })
	}
}

func TestFormatLayout(t *testing.T) {
	src := "# head\n\n\n\nlet   a=1 # one\nshow a+2*-x^2  ;show [1,2]\n" +
		"def f( x,y )=x*y\ncheck f(1,2)==2 at(1,2) tol 1e-3\nshow [1,   # first\n  2]\n\n\n# tail  \n"
	want := "# head\n\nlet a = 1  # one\nshow a + 2*-x^2\nshow [1, 2]\ndef f(x, y) = x*y\n" +
		"check f(1, 2) == 2 at (1, 2) tol 1e-3\nshow [1,   # first\n  2]\n\n# tail\n"
	f, errs := Parse("l.flow", []byte(src))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if got := string(Format(f)); got != want {
		t.Errorf("Format:\n%s\nwant:\n%s", got, want)
	}
}

// FuzzParse: no input makes the parser panic; a script that parses
// formats to text that parses to the same statements and formats to itself.
func FuzzParse(f *testing.F) {
	for _, file := range scripts(f) {
		if src, err := os.ReadFile(file); err == nil {
			f.Add(string(src))
		}
	}
	for _, c := range roundTripCases {
		f.Add("show " + c)
	}
	f.Add("show --x; show x^-y^2; check a == b at (1, 2) tol 1e-3 # c\nrun f from (1, 2) using euler(h = 0.1) for 10 steps every 2")
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > 1<<16 {
			return
		}
		checkFormat(t, "fuzz.flow", []byte(src))
	})
}
