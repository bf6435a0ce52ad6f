// Tests of the compiler and the machine: tapes agree with the Evaluator, batch mode with scalar mode.
package autodiff

import (
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"
)

// evalTape compiles outputs over genSyms and evaluates them at values.
func evalTape(t *testing.T, outputs []*Node, values map[*Node]float64) []float64 {
	t.Helper()
	p, err := Compile(outputs, genSyms)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	in := make([]float64, len(genSyms))
	for i, s := range genSyms {
		in[i] = values[s]
	}
	out := make([]float64, len(outputs))
	p.NewMachine().Eval(in, out)
	return out
}

func TestTapeMatchesEvaluator(t *testing.T) {
	t.Run("fixed", testTapeMatchesEvaluator)
	// programs of more than fixedSlots slots run the same loop over a slice
	sliceRegsOnly = true
	defer func() { sliceRegsOnly = false }()
	t.Run("slice", testTapeMatchesEvaluator)
}

func testTapeMatchesEvaluator(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	for range 300 {
		// several outputs per tape, so that they share subexpressions and slots
		outs := []*Node{randomExpr(rng, 30), randomExpr(rng, 30), randomExpr(rng, 12)}
		outs = append(outs, Grad(outs[0], genSyms)...)
		p, err := Compile(outs, genSyms)
		if err != nil {
			t.Fatal(err)
		}
		m := p.NewMachine()
		out := make([]float64, len(outs))
		for range 4 {
			values := randomPoint(rng, genSyms)
			in := []float64{values[x], values[y], values[z]}
			m.Eval(in, out)
			ev := newErrEval(values)
			for i, o := range outs {
				want, err := ev.eval(o)
				if !sameValue(want, out[i], err, err) {
					t.Fatalf("output %d = %s at %v: tape %v, Evaluator %v", i, String(o), values, out[i], want)
				}
			}
			if v := m.Eval1(in); !sameValue(v, out[0], 0, 0) {
				t.Fatalf("Eval1 = %v, Eval = %v", v, out[0])
			}
		}
	}
}

// TestLargeProgram runs a program of more than fixedSlots slots.
func TestLargeProgram(t *testing.T) {
	const n = 2100 // f and ∇f take about 4n slots
	f, xs := extRosen(n)
	p, err := Compile(append([]*Node{f}, Grad(f, xs)...), xs)
	if err != nil {
		t.Fatal(err)
	}
	if p.Slots() <= fixedSlots {
		t.Fatalf("%d slots: not a large program", p.Slots())
	}
	in := make([]float64, n)
	for i := range in {
		in[i] = math.Cos(float64(i))
	}
	got, want := make([]float64, n+1), make([]float64, n)
	p.NewMachine().Eval(in, got)
	handExtRosenGrad(in, want)
	for i := range want {
		if math.Abs(got[i+1]-want[i]) > 1e-12*800 { // as in TestExtRosenGradient
			t.Fatalf("∂f/∂x%d = %v, hand-written %v", i+1, got[i+1], want[i])
		}
	}
}

func TestTapeFusedForms(t *testing.T) {
	// each expression exercises one fused or special instruction; the value
	// is checked against the Evaluator at a few points
	q := Add(PowNum(x, Int(2)), One())
	exprs := map[string]*Node{
		"sum of products":    Add(Mul(x, y), Mul(IntNode(3), PowNum(z, Int(2))), Neg(y)),
		"two products":       Add(Mul(x, y), PowNum(z, Int(2))),
		"three products":     Add(Mul(x, y), PowNum(z, Int(2)), Mul(x, Call("sin", y))),
		"a + b, a − b":       Mul(Add(x, y), Sub(y, z), Call("exp", Add(x, z))),
		"a·b":                Call("sin", Mul(x, y)),
		"long sum":           Add(x, Mul(x, y), PowNum(y, Int(2)), Mul(two, z), Call("sin", x), IntNode(4)),
		"x·exp(−x²/2)":       Mul(x, Call("exp", Neg(Div(PowNum(x, Int(2)), two)))),
		"exp(1 − x·y)":       Call("exp", Sub(One(), Mul(x, y))),
		"sqrt(2)·y·exp(z)":   Mul(Sqrt(two), y, Call("exp", z)),
		"exp(x)·exp(y)":      Mul(Call("exp", x), Call("exp", y)),
		"polynomial":         Add(Div(PowNum(x, Int(4)), IntNode(4)), Neg(Div(PowNum(x, Int(2)), two)), Mul(IntNode(3), x), One()),
		"poly + shared":      Add(PowNum(y, Int(3)), y, Call("sin", PowNum(y, Int(3)))),
		"odd polynomial":     Sub(PowNum(x, Int(3)), x),
		"odd, degree 5":      Add(PowNum(x, Int(5)), Mul(IntNode(-2), PowNum(x, Int(3))), x),
		"odd, degree 7":      Add(PowNum(z, Int(7)), PowNum(z, Int(3))),
		"even polynomial":    Add(Div(PowNum(x, Int(4)), IntNode(4)), Neg(Div(PowNum(x, Int(2)), two)), Number(Rat(1, 4))),
		"even, degree 8":     Add(PowNum(y, Int(8)), PowNum(y, Int(2))),
		"plain, degree 8":    Add(PowNum(y, Int(8)), PowNum(y, Int(5)), y, One()),
		"rsqrt":              PowNum(q, Rat(-1, 2)),
		"x^(−3/2)·y^(5/2)":   Mul(PowNum(q, Rat(-3, 2)), PowNum(Add(PowNum(y, Int(2)), two), Rat(5, 2))),
		"x·y·z/(x²+1)":       Div(Mul(x, y, z), q),
		"x^7":                PowNum(x, Int(7)),
		"x^0.7":              PowNum(q, Float(0.7)),
		"x^y":                Pow(q, y),
		"min/max":            Add(Call("min", x, y), Call("max", y, z)),
		"sum with constants": Add(x, Call("log", two), Pi()),
	}
	rng := rand.New(rand.NewPCG(19, 20))
	for name, e := range exprs {
		p, err := Compile([]*Node{e}, genSyms)
		if err != nil {
			t.Fatal(err)
		}
		m := p.NewMachine()
		const n = 5
		in := [][]float64{make([]float64, n), make([]float64, n), make([]float64, n)}
		out := [][]float64{make([]float64, n)}
		for k := range n {
			values := randomPoint(rng, genSyms)
			for i, s := range genSyms {
				in[i][k] = values[s]
			}
			got := evalTape(t, []*Node{e}, values)[0]
			want, err := newErrEval(values).eval(e)
			if !sameValue(want, got, err, err) {
				t.Errorf("%s = %s at %v: tape %v, Evaluator %v", name, String(e), values, got, want)
			}
		}
		// batch mode has loops of its own for these forms
		m.EvalBatch(in, out, n)
		for k := range n {
			got := m.Eval1([]float64{in[0][k], in[1][k], in[2][k]})
			if b := out[0][k]; math.Abs(b-got) > batchTol*math.Abs(got) {
				t.Errorf("%s: batch %v, scalar %v", name, b, got)
			}
		}
	}
}

func TestTapeOutputs(t *testing.T) {
	// inputs, constants and repeated nodes as outputs
	e := Mul(x, y)
	values := map[*Node]float64{x: 1.5, y: -2, z: 0.25}
	got := evalTape(t, []*Node{x, e, Pi(), e, IntNode(3), z, Add(e, One())}, values)
	want := []float64{1.5, -3, math.Pi, -3, 3, 0.25, -2}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("output %d = %v, want %v", i, got[i], want[i])
		}
	}
	// no outputs, no inputs
	p, err := Compile(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.NewMachine().Eval(nil, nil)
}

func TestCompileErrors(t *testing.T) {
	q := Jet("q", "x", true, []uint8{0})
	for _, c := range []struct {
		outputs, inputs []*Node
		msg             string
	}{
		{[]*Node{Add(x, y)}, []*Node{x}, "no value for y"},
		{[]*Node{Integral(q, "x", 1, true)}, []*Node{q}, "integral"},
		{[]*Node{x}, []*Node{Mul(x, y)}, "not a symbol"},
		{[]*Node{x}, []*Node{x, x}, "twice"},
	} {
		_, err := Compile(c.outputs, c.inputs)
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("Compile(%v): error %v, want %q", c.outputs, err, c.msg)
		}
	}
	// jets are inputs like symbols
	if _, err := Compile([]*Node{Mul(q, Call("log", q))}, []*Node{q}); err != nil {
		t.Error(err)
	}
}

func TestFirstNonFinite(t *testing.T) {
	bad := Call("log", Sub(x, One()))
	e := Add(Mul(y, bad), Call("exp", y))
	p, err := Compile([]*Node{e}, []*Node{x, y})
	if err != nil {
		t.Fatal(err)
	}
	m := p.NewMachine()
	if n := m.FirstNonFinite([]float64{0.5, 1}); n != bad {
		t.Errorf("FirstNonFinite = %v, want %s", n, String(bad))
	}
	if n := m.FirstNonFinite([]float64{2, 1}); n != nil {
		t.Errorf("FirstNonFinite at a good point = %s, want nil", String(n))
	}
}

// batchTol is the relative agreement of batch and scalar mode: they run the
// same operations in the same order, but a compiler may fuse a multiply and
// an add differently in the two loops (Go does on arm64).
const batchTol = 1e-13

func TestBatchMatchesScalar(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, n := range []int{1, 7, 255, 256, 257, 511, 1000} {
		for range 10 {
			outs := []*Node{randomExpr(rng, 30), randomExpr(rng, 20), x, Pi()}
			outs = append(outs, Grad(outs[0], genSyms)...)
			p, err := Compile(outs, genSyms)
			if err != nil {
				t.Fatal(err)
			}
			m := p.NewMachine()
			in := make([][]float64, len(genSyms))
			for i := range in {
				in[i] = make([]float64, n)
				for k := range in[i] {
					in[i][k] = (2*rng.Float64() - 1) * pointRange
				}
			}
			out := make([][]float64, len(outs))
			for j := range out {
				out[j] = make([]float64, n)
			}
			m.EvalBatch(in, out, n)
			pt, one := make([]float64, len(genSyms)), make([]float64, len(outs))
			for k := range n {
				for i := range pt {
					pt[i] = in[i][k]
				}
				m.Eval(pt, one)
				for j := range outs {
					a, b := out[j][k], one[j]
					if a == b || math.IsNaN(a) && math.IsNaN(b) {
						continue
					}
					if math.Abs(a-b) > batchTol*math.Max(math.Abs(a), math.Abs(b)) {
						t.Fatalf("n=%d point %d output %s: batch %v, scalar %v", n, k, String(outs[j]), a, b)
					}
				}
			}
		}
	}
}

// TestEveryOpBothModes runs one instruction of every operation in scalar
// and in batch mode: each mode has its own code for each operation, and a
// missing case would panic or compute something else.
func TestEveryOpBothModes(t *testing.T) {
	for op := Op(0); op < numOps; op++ {
		if op == opRun {
			continue // scalar mode only: TestRuns
		}
		// slots: 0, 1, 2 inputs a, b, c; 3 the constant 1; 4 the output
		p := &Program{
			Inputs: []*Node{x, y, z}, Outputs: []*Node{x},
			nslots: 5, consts: []float64{1}, constSlots: []int32{3}, one: 3,
			out: []int32{4}, outBase: 4,
			sumA: []int32{0, 1, 2, 0}, sumB: []int32{1, 3, 2, 0}, sumK: []float64{0.5, -2, 1.5, 3},
			mulR:  []int32{0, 1, 2},
			polyK: []float64{2, -1, 0.5},
		}
		in := Instr{Op: op, Dst: 4, A: 0, B: 1, C: 2, D: 3, E: 1, F: 2, K0: 0.25, K1: 1.5, K2: -0.75, K3: 2}
		switch op {
		case opSumN:
			in.A, in.B = 0, 4
		case opMulN:
			in.A, in.B = 0, 3
		case opPoly:
			in.B, in.C, in.D = 0, 3, polyOdd
		case opPowI:
			in.K0 = 3
		}
		p.code = []Instr{in}
		m := p.NewMachine()
		pt := []float64{0.375, 0.8125, 0.5} // inside every built-in's domain
		scalar := make([]float64, 1)
		m.Eval(pt, scalar)
		const n = 3
		bin := [][]float64{{pt[0], pt[0], pt[0]}, {pt[1], pt[1], pt[1]}, {pt[2], pt[2], pt[2]}}
		bout := [][]float64{make([]float64, n)}
		m.EvalBatch(bin, bout, n)
		for k := range n {
			if a, b := bout[0][k], scalar[0]; math.Abs(a-b) > batchTol*math.Abs(b) || math.IsNaN(a) != math.IsNaN(b) {
				t.Errorf("op %d: batch %v, scalar %v", op, a, b)
			}
		}
		if math.IsNaN(scalar[0]) {
			t.Errorf("op %d: NaN at a point inside its domain", op)
		}
	}
}

// TestBatchInputsUntouched checks that batch mode reads the caller's input
// slices without writing them, and writes only the first n outputs.
func TestBatchInputsUntouched(t *testing.T) {
	p, err := Compile([]*Node{Add(Mul(x, y), One()), y}, []*Node{x, y})
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	in := [][]float64{make([]float64, n+5), make([]float64, n+5)}
	for k := range in[0] {
		in[0][k], in[1][k] = float64(k), 2
	}
	out := [][]float64{make([]float64, n+5), make([]float64, n+5)}
	out[0][n], out[1][n] = -7, -7
	m := p.NewMachine()
	m.EvalBatch(in, out, n)
	m.EvalBatch(in, out, n) // a second run reuses the blocks
	for k := range n {
		if out[0][k] != 2*float64(k)+1 || out[1][k] != 2 || in[0][k] != float64(k) || in[1][k] != 2 {
			t.Fatalf("point %d: out %v %v, in %v %v", k, out[0][k], out[1][k], in[0][k], in[1][k])
		}
	}
	if out[0][n] != -7 || out[1][n] != -7 {
		t.Error("EvalBatch wrote past n")
	}
	// scalar mode still works after batch mode
	res := make([]float64, 2)
	m.Eval([]float64{3, 4}, res)
	if res[0] != 13 || res[1] != 4 {
		t.Errorf("Eval after EvalBatch = %v", res)
	}
}

func TestEvalDoesNotAllocate(t *testing.T) {
	f, xs := extRosen(50)
	outs := append([]*Node{f}, Grad(f, xs)...)
	p, err := Compile(outs, xs)
	if err != nil {
		t.Fatal(err)
	}
	m := p.NewMachine()
	in, out := make([]float64, len(xs)), make([]float64, len(outs))
	if a := testing.AllocsPerRun(10, func() { m.Eval(in, out) }); a != 0 {
		t.Errorf("Eval allocates %v times", a)
	}
	bin := [][]float64{make([]float64, 600)}
	bout := [][]float64{make([]float64, 600)}
	pb, _ := Compile([]*Node{gaussWeight()}, []*Node{Symbol("x", 0)})
	mb := pb.NewMachine()
	mb.EvalBatch(bin, bout, 600)
	if a := testing.AllocsPerRun(10, func() { mb.EvalBatch(bin, bout, 600) }); a != 0 {
		t.Errorf("EvalBatch allocates %v times", a)
	}
}

// gradBuildLimit bounds the CPU time to derive and compile the gradient of
// the n = 1000 extended Rosenbrock function. It takes about 50 ms (most of
// it building and interning some 10⁵ nodes); the bound leaves room for
// slower machines while still catching a return to quadratic work (Diff
// per component takes seconds).
const gradBuildLimit = 100 * time.Millisecond

func TestExtRosenGradient(t *testing.T) {
	f, xs := extRosen(extRosenN)
	best := time.Duration(math.MaxInt64)
	var g []*Node
	var pg *Program
	runtime.LockOSThread() // threadTime measures this thread
	for range 3 {          // the best of three, to ride out other processes' load
		g, pg = nil, nil
		runtime.GC() // collect the last gradient, so that it is built anew
		t0 := threadTime()
		g = Grad(f, xs)
		var err error
		if pg, err = Compile(g, xs); err != nil {
			t.Fatal(err)
		}
		best = min(best, threadTime()-t0)
	}
	runtime.UnlockOSThread()
	t.Logf("Grad + Compile of the n = %d extended Rosenbrock: %v", extRosenN, best)
	if best > gradBuildLimit && !raceEnabled {
		t.Errorf("Grad + Compile took %v, want < %v", best, gradBuildLimit)
	}
	pf, err := Compile([]*Node{f}, xs)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("tape lengths: f %d, ∇f %d instructions", pf.Len(), pg.Len())
	if pg.Len() > 4*pf.Len() {
		t.Errorf("∇f tape has %d instructions, more than 4× f's %d", pg.Len(), pf.Len())
	}
	// the gradient against the hand-written one
	in := extRosenPoint()
	got, want := make([]float64, extRosenN), make([]float64, extRosenN)
	pg.NewMachine().Eval(in, got)
	handExtRosenGrad(in, want)
	for i := range want {
		// each component sums three terms of size ≤ 400·|x|·|t| ≤ 800: a
		// few roundings of that size
		if math.Abs(got[i]-want[i]) > 1e-12*800 {
			t.Fatalf("∂f/∂x%d = %v, hand-written %v", i+1, got[i], want[i])
		}
	}
}

func TestRosen2DTape(t *testing.T) {
	m := setupRosen2D(t)
	in := []float64{-1.2, 1}
	got, want := make([]float64, 3), make([]float64, 3)
	m.Eval(in, got)
	handRosen2D(in, want)
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-13*math.Max(1, math.Abs(want[i])) {
			t.Errorf("output %d = %v, hand-written %v", i, got[i], want[i])
		}
	}
	// f and ∇f share (y − x²): the fused tape is five instructions
	if n := m.Program().Len(); n > 5 {
		t.Errorf("Rosenbrock f and ∇f take %d instructions, want at most 5", n)
	}
}

// TestSignedZeros checks that the tape keeps the sign of a zero as the
// Evaluator does: a product of a negative number and 0 is −0 (so x/(z·0)
// is −Inf for z < 0), a sum is never −0.
func TestSignedZeros(t *testing.T) {
	m0 := Call("min", x, Zero()) // 0 at x > 0
	values := map[*Node]float64{x: 1.9, y: 0.31, z: -0.6}
	for _, e := range []*Node{
		Div(x, Mul(z, m0)),                                     // x/(−0)
		Div(One(), Mul(Number(Rat(1, 2)), m0, z)),              // a product with a constant
		Div(One(), Sub(PowNum(m0, Int(3)), m0)),                // an odd polynomial at 0: +0
		Div(One(), Mul(PowNum(m0, Int(2)), Call("sin", z))),    // a square times a negative
		Div(One(), Add(Mul(z, m0), Mul(y, m0))),                // a sum of −0 and +0: +0
		Div(One(), Mul(z, m0, Call("cos", y), Call("exp", z))), // a product of many factors
	} {
		want, err := Eval(e, values)
		if err != nil {
			t.Fatal(err)
		}
		got := evalTape(t, []*Node{e}, values)[0]
		p, _ := Compile([]*Node{e}, genSyms)
		batch := [][]float64{{0}}
		p.NewMachine().EvalBatch([][]float64{{values[x]}, {values[y]}, {values[z]}}, batch, 1)
		if math.IsInf(want, 0) != math.IsInf(got, 0) || math.Signbit(want) != math.Signbit(got) || math.Signbit(want) != math.Signbit(batch[0][0]) {
			t.Errorf("%s: Evaluator %v, tape %v, batch %v", String(e), want, got, batch[0][0])
		}
	}
}
