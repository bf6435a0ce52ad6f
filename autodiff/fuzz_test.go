// Fuzzing of the constructors, Expand and the compiler: random expressions must agree in every form.
package autodiff

import (
	"math"
	"testing"
)

// fuzzPoints are the points each fuzzed expression is evaluated at
// (generic values: no symbol sits at a singularity of a built-in).
var fuzzPoints = [][]float64{
	{0.7, -1.3, 2.1},
	{-0.45, 0.9, -1.7},
	{1.9, 0.31, -0.6},
}

// overflowMag is the magnitude from which a value or its error estimate is
// treated as overflowing: different but equivalent forms may then become
// ±Inf or NaN at different steps.
const overflowMag = 1e250

// checkForms evaluates e, Expand(e) and e's compiled tape at the fuzz
// points and reports any disagreement.
func checkForms(t *testing.T, e *Node) {
	t.Helper()
	x := Expand(e)
	_ = String(e) // printing must not panic
	_ = LaTeX(e)
	prog, err := Compile([]*Node{e, x}, genSyms)
	if err != nil {
		t.Fatalf("Compile(%s): %v", String(e), err)
	}
	m := prog.NewMachine()
	out := make([]float64, 2)
	for _, pt := range fuzzPoints {
		values := map[*Node]float64{}
		for i, s := range genSyms {
			values[s] = pt[i]
		}
		ev := newErrEval(values)
		ve, ee := ev.eval(e)
		vx, ex := ev.eval(x)
		m.Eval(pt, out)
		// the tape computes the same DAG as the Evaluator, in another order
		for i, pair := range [][2]float64{{ve, ee}, {vx, ex}} {
			v, ve2 := pair[0], pair[1]
			if !sameValue(v, out[i], ve2, ve2) {
				t.Fatalf("at %v: tape %v, Evaluator %v (err ≈ %g·u) for %s",
					pt, out[i], v, ve2, String([]*Node{e, x}[i]))
			}
		}
		// Expand changes the form: Expand(e) may be defined where e is not
		// (sqrt(x)*sqrt(x) is x), but not the other way round
		if finite(ve) && !sameValue(ve, vx, ee, ex) {
			t.Fatalf("at %v: %s = %v but its expansion %s = %v (err ≈ %g·u, %g·u)",
				pt, String(e), ve, String(x), vx, ee, ex)
		}
	}
	// batch mode runs the same tape with loops of its own
	n := len(fuzzPoints)
	in := make([][]float64, len(genSyms))
	for i := range in {
		in[i] = make([]float64, n)
		for k, pt := range fuzzPoints {
			in[i][k] = pt[i]
		}
	}
	bout := [][]float64{make([]float64, n), make([]float64, n)}
	m.EvalBatch(in, bout, n)
	for k, pt := range fuzzPoints {
		m.Eval(pt, out)
		for j := range out {
			a, b := bout[j][k], out[j]
			if a != b && !(math.IsNaN(a) && math.IsNaN(b)) && math.Abs(a-b) > batchTol*math.Max(math.Abs(a), math.Abs(b)) {
				t.Fatalf("at %v: batch %v, scalar %v for %s", pt, a, b, String([]*Node{e, x}[j]))
			}
		}
	}
}

// sameValue reports whether two evaluations a, b with error estimates ea,
// eb of one value agree: both finite and within tolerance, or both the same
// non-finite value. Any answer is accepted where the value is
// ill-conditioned (an infinite estimate), overflows, or has no significant
// digit left (the error estimate exceeds the value).
func sameValue(a, b, ea, eb float64) bool {
	noise := errGrowth * roundoff * (ea + eb)
	switch {
	case math.IsInf(noise, 0) || noise > overflowMag:
		return true
	case finite(a) && finite(b):
		return agree(a, b, ea, eb)
	case math.Abs(a) > overflowMag || math.Abs(b) > overflowMag:
		return true
	case math.IsNaN(a) && math.IsNaN(b):
		return true
	case finite(a) && noise >= math.Abs(a), finite(b) && noise >= math.Abs(b):
		return true
	}
	return a == b
}

func FuzzSimplify(f *testing.F) {
	f.Add([]byte{0x00, 0x10, 0x02, 0x07})                                     // (x + y)^2
	f.Add([]byte{0x00, 0x61, 0x02, 0x27, 0x00, 0x04, 0x0e})                   // expand(x·(x + 1)^4)
	f.Add([]byte{0x00, 0x09, 0x00, 0x19, 0x04, 0x0d})                         // diff(exp(x)·log(x), x)
	f.Add([]byte{0x00, 0x10, 0x03, 0x0c, 0x04, 0x49, 0x10, 0x00, 0x0b, 0x02}) // shared (x − y)² and min
	f.Add([]byte{0x00, 0x10, 0x08, 0x20, 0x0f, 0x0d, 0x1d, 0x0e})             // x^y with z substituted, derivatives
	f.Add([]byte{0x00, 0x47, 0x00, 0x57, 0x02, 0x0e, 0x00, 0x69, 0x04})
	f.Fuzz(func(t *testing.T, data []byte) {
		checkForms(t, decodeExpr(data))
	})
}
