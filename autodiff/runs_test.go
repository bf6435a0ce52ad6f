// Tests of the strided runs of scalar mode: the same numbers, bit for bit, as the code they replace.
package autodiff

import (
	"math"
	"math/rand/v2"
	"testing"
)

// withoutRuns returns a copy of p whose machines run its original code in
// scalar mode.
func withoutRuns(p *Program) *Program {
	q := *p
	q.scalarCode, q.runs, q.nscalar = nil, nil, 0
	return &q
}

// vars returns the symbols x[1], …, x[n].
func vars(n int) []*Node {
	xs := make([]*Node, n)
	for i := range xs {
		xs[i] = Symbol("x", i+1)
	}
	return xs
}

// runFamilies are programs built the way sum(…, i, 1, n) builds them: each
// repeats a pattern along the vector, with stencils, recurrences and
// temporaries shared between outputs.
func runFamilies(n int) map[string][]*Node {
	xs := vars(n)
	fam := make(map[string][]*Node)

	rosen, _ := extRosen(n)
	fam["ext-Rosenbrock ∇f"] = Grad(rosen, xs)
	fam["ext-Rosenbrock f, ∇f"] = append([]*Node{rosen}, Grad(rosen, xs)...)
	h := Hessian(rosen, xs)
	var band []*Node
	for i := range n {
		band = append(band, h[i][i])
		if i+1 < n {
			band = append(band, h[i][i+1])
		}
	}
	fam["ext-Rosenbrock Hessian band"] = band

	// a smoothness energy: Σ (x_{i+1} − 2x_i + x_{i−1})², a five-point gradient
	var lap []*Node
	for i := 1; i+1 < n; i++ {
		lap = append(lap, PowNum(Add(xs[i+1], Mul(IntNode(-2), xs[i]), xs[i-1]), Int(2)))
	}
	fam["second-difference energy ∇f"] = Grad(Add(lap...), xs)

	// a pairwise Gaussian attraction along the chain: opExpMul repetitions
	var pair []*Node
	for i := 0; i+1 < n; i++ {
		pair = append(pair, Call("exp", Neg(PowNum(Sub(xs[i], xs[i+1]), Int(2)))))
	}
	fam["Gaussian chain ∇f"] = Grad(Add(pair...), xs)

	// a recurrence: every output depends on the one before, so that no
	// repetition may move before the one it reads
	rec := []*Node{xs[0]}
	for i := 1; i < n; i++ {
		rec = append(rec, Add(Mul(rec[i-1], xs[i]), PowNum(xs[i], Int(2))))
	}
	fam["recurrence s_i = s_{i−1}·x_i + x_i²"] = rec

	// quotients and a one-argument function along the vector
	var quot []*Node
	for i := 0; i+2 < n; i++ {
		quot = append(quot, Div(Mul(xs[i], xs[i+1]), Add(One(), PowNum(xs[i+2], Int(2)))), Call("tanh", xs[i]))
	}
	fam["quotients and tanh"] = quot
	return fam
}

// TestRunsSameNumbers runs each family with and without its runs, in both
// register files, and asks for the same bits.
func TestRunsSameNumbers(t *testing.T) {
	t.Run("fixed", testRunsSameNumbers)
	sliceRegsOnly = true
	defer func() { sliceRegsOnly = false }()
	t.Run("slice", testRunsSameNumbers)
}

func testRunsSameNumbers(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{3, 4, 9, 40, 300} {
		for name, outs := range runFamilies(n) {
			xs := vars(n)
			p, err := Compile(outs, xs)
			if err != nil {
				t.Fatal(err)
			}
			// (a stencil of more than three terms is one opSumN per output,
			// which runs do not repeat)
			if n >= 40 && len(p.runs) == 0 && name != "second-difference energy ∇f" {
				t.Errorf("%s, n = %d: no runs in a program of %d instructions", name, n, p.Len())
			}
			m, ref := p.NewMachine(), withoutRuns(p).NewMachine()
			got, want := make([]float64, len(outs)), make([]float64, len(outs))
			in := make([]float64, n)
			for range 5 {
				for i := range in {
					in[i] = 3 * (rng.Float64() - 0.5)
				}
				m.Eval(in, got)
				ref.Eval(in, want)
				for i := range got {
					if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
						t.Fatalf("%s, n = %d: output %d is %v with runs, %v without", name, n, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestRunsShortenTheTape checks what the runs are for: the gradient of the
// extended Rosenbrock function, two instructions per coordinate, becomes
// two loops and the instructions at its ends.
func TestRunsShortenTheTape(t *testing.T) {
	f, xs := extRosen(1000)
	p, err := Compile(Grad(f, xs), xs)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d instructions, %d in scalar mode (%d runs)", p.Len(), len(p.scalarCode), len(p.runs))
	if len(p.scalarCode) > 10 {
		t.Errorf("scalar code has %d instructions, want at most 10", len(p.scalarCode))
	}
}

// TestRunsKeepDependences builds a window whose reordering would break a
// dependence carried from one repetition to the next, and one whose
// reordering is allowed, and checks what each becomes.
func TestRunsKeepDependences(t *testing.T) {
	// slots: 0…5 inputs x[1…6], 6 the constant 1, 7 the output, 8 and 9 temporaries
	newProgram := func(code []Instr) *Program {
		xs := vars(6)
		p := &Program{
			Inputs: xs, Outputs: xs[:1], code: code,
			nslots: 10, consts: []float64{1}, constSlots: []int32{6}, one: 6,
			out: []int32{7}, outBase: 7,
		}
		p.buildRuns()
		return p
	}
	in := []float64{0.5, -1.25, 2, 0.75, -0.5, 1.5}

	// s = 0; for k: t = s + x_k; s = 2t; output s. The first instruction
	// of each repetition reads the s the last one wrote.
	var carried []Instr
	carried = append(carried, Instr{Op: opLin1, Dst: 9, A: 6, K0: 0, K1: 0})
	for k := range int32(6) {
		carried = append(carried,
			Instr{Op: opSum2P, Dst: 8, A: 9, B: 6, C: k, K1: 1, K2: 1},
			Instr{Op: opLin1, Dst: 9, A: 8, K1: 2})
	}
	carried = append(carried, Instr{Op: opCopy, Dst: 7, A: 9})
	p := newProgram(carried)
	if len(p.runs) != 0 {
		t.Errorf("a dependence carried between repetitions was reordered: %d runs", len(p.runs))
	}
	want := 0.0
	for _, v := range in {
		want = 2 * (want + v)
	}
	out := make([]float64, 1)
	p.NewMachine().Eval(in, out)
	if out[0] != want {
		t.Errorf("carried: got %v, want %v", out[0], want)
	}

	// for k: t = x_k²; out_k… here one accumulating output: the product
	// t·x_k added to a running sum would carry, so each repetition writes
	// its own slot of a strided destination instead: no dependence between
	// repetitions, and the reused temporary t (slot 8) is read after the
	// window, so its last value must be restored
	var free []Instr
	for k := range int32(4) {
		free = append(free,
			Instr{Op: opMulK, Dst: 8, A: k, B: k, K1: 1},
			Instr{Op: opMulK, Dst: 0 + k, A: 8, B: k + 1, K1: 3})
	}
	free = append(free, Instr{Op: opSum2P, Dst: 7, A: 8, B: 6, C: 3, K1: 1, K2: 1})
	p = newProgram(free)
	if len(p.runs) != 2 {
		t.Fatalf("independent repetitions: %d runs, want 2", len(p.runs))
	}
	x := append([]float64(nil), in...)
	var tmp float64
	for k := range 4 {
		tmp = x[k] * x[k]
		x[k] = 3 * tmp * x[k+1]
	}
	want = tmp + x[3]
	m := p.NewMachine()
	m.Eval(in, out)
	if out[0] != want {
		t.Errorf("independent: got %v, want %v", out[0], want)
	}
	ref := withoutRuns(p).NewMachine()
	ref.Eval(in, out)
	if out[0] != want {
		t.Errorf("independent, without runs: got %v, want %v", out[0], want)
	}
}

// TestRunsRandomPatterns builds random tapes that repeat a random pattern
// with random strides, temporaries reused or not, values carried between
// repetitions or not, and checks that scalar mode gives the bits of the
// code without runs: whatever the windows found, reordered or refused.
func TestRunsRandomPatterns(t *testing.T) {
	const (
		nin, nout, ntemp = 24, 4, 6
		one              = nin // the constant-1 slot
		outBase          = nin + 1
		tempBase         = outBase + nout
		nslots           = tempBase + ntemp
	)
	kinds := []Op{opSum2P, opSum3P, opLin1, opSum2, opMulK, opSum3, opExpMul, opDiv, opTanh, opCopy}
	rng := rand.New(rand.NewPCG(7, 8))
	xs := vars(nin)
	outs := make([]*Node, nout)
	for i := range outs {
		outs[i] = xs[i]
	}
	windows, refused := 0, 0
	for trial := range 3000 {
		reps := 4 + rng.IntN(6)
		// a field reading slots base + k·stride for k < reps, inside [0, nslots)
		readField := func() (base, stride int32) {
			stride = []int32{0, 0, 1, 1, -1, 2}[rng.IntN(6)]
			lo, hi := int32(0), int32(nslots-1) // the range base may take
			if stride > 0 {
				hi -= stride * int32(reps-1)
			} else {
				lo -= stride * int32(reps-1)
			}
			return lo + rng.Int32N(hi-lo+1), stride
		}
		// a destination: a reused temporary, or a strided range of
		// temporaries and outputs
		dstField := func() (base, stride int32) {
			if rng.IntN(2) == 0 {
				return tempBase + rng.Int32N(ntemp), 0
			}
			return outBase + rng.Int32N(nout+ntemp-int32(reps)+1), 1
		}
		random := func() (Instr, [7]int32) {
			in := Instr{Op: kinds[rng.IntN(len(kinds))],
				K0: float64(rng.IntN(5) - 2), K1: float64(rng.IntN(5) - 2), K2: 0.5, K3: -1}
			var st [7]int32
			in.Dst, st[0] = dstField()
			for f := 1; f <= 6; f++ {
				*in.field(f), st[f] = readField()
			}
			if in.Op == opExpMul {
				in.K0 = -0.5 // keep exp finite
			}
			return in, st
		}
		var code []Instr
		for range rng.IntN(3) {
			in, _ := random()
			code = append(code, in)
		}
		period := 1 + rng.IntN(maxRunPeriod)
		body := make([]Instr, period)
		st := make([][7]int32, period)
		for j := range body {
			body[j], st[j] = random()
		}
		for k := range int32(reps) {
			for j := range body {
				in := body[j]
				for f := range 7 {
					*in.field(f) += k * st[j][f]
				}
				code = append(code, in)
			}
		}
		for range rng.IntN(3) {
			in, _ := random()
			code = append(code, in)
		}
		for o := range int32(nout) { // the outputs read the temporaries last
			code = append(code, Instr{Op: opSum2P, Dst: outBase + o, A: outBase + o, B: one, C: tempBase + o, K1: 1, K2: 1})
		}
		p := &Program{
			Inputs: xs, Outputs: outs, code: code, nslots: nslots,
			consts: []float64{1}, constSlots: []int32{one}, one: one,
			out: []int32{outBase, outBase + 1, outBase + 2, outBase + 3}, outBase: outBase,
		}
		p.buildRuns()
		if len(p.runs) > 0 {
			windows++
		} else {
			refused++
		}
		in := make([]float64, nin)
		for i := range in {
			in[i] = 4 * (rng.Float64() - 0.5)
		}
		got, want := make([]float64, nout), make([]float64, nout)
		p.NewMachine().Eval(in, got)
		withoutRuns(p).NewMachine().Eval(in, want)
		for i := range got {
			if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
				t.Fatalf("trial %d: output %d is %v with runs, %v without\ncode %v\nscalar code %v\nruns %v",
					trial, i, got[i], want[i], code, p.scalarCode, p.runs)
			}
		}
	}
	t.Logf("%d programs with runs, %d without", windows, refused)
	if windows < 300 || refused < 300 {
		t.Errorf("%d programs with runs and %d without: the test no longer covers both", windows, refused)
	}
}
