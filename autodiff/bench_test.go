// Benchmarks of compiled tapes, each beside the hand-written Go doing the same work, reporting the ratio.
package autodiff

import (
	"math"
	"runtime"
	"sync"
	"testing"
	"time"
)

// rosen2D returns the 2-D Rosenbrock function (1 − x)² + 100(y − x²)² and its symbols.
func rosen2D() (*Node, []*Node) {
	x, y := Symbol("x", 0), Symbol("y", 0)
	f := Add(PowNum(Sub(One(), x), Int(2)), Mul(IntNode(100), PowNum(Sub(y, PowNum(x, Int(2))), Int(2))))
	return f, []*Node{x, y}
}

// handRosen2D computes f, ∂f/∂x, ∂f/∂y of the 2-D Rosenbrock function into out.
func handRosen2D(in, out []float64) {
	x, y := in[0], in[1]
	t := y - x*x
	out[0] = (1-x)*(1-x) + 100*t*t
	out[1] = -2*(1-x) - 400*x*t
	out[2] = 200 * t
}

// extRosen returns f = Σ_{i<n} 100(x_{i+1} − x_i²)² + (1 − x_i)², the extended
// Rosenbrock function of n variables, and its symbols.
func extRosen(n int) (*Node, []*Node) {
	xs := make([]*Node, n)
	for i := range xs {
		xs[i] = Symbol("x", i+1)
	}
	terms := make([]*Node, 0, 2*n)
	for i := 0; i+1 < n; i++ {
		terms = append(terms,
			Mul(IntNode(100), PowNum(Sub(xs[i+1], PowNum(xs[i], Int(2))), Int(2))),
			PowNum(Sub(One(), xs[i]), Int(2)))
	}
	return Add(terms...), xs
}

// handExtRosenGrad computes ∇f of the extended Rosenbrock function into g:
// ∂f/∂x_i = −400 x_i (x_{i+1} − x_i²) − 2(1 − x_i) + 200 (x_i − x_{i−1}²).
func handExtRosenGrad(x, g []float64) {
	n := len(x)
	g = g[:n]
	for i := range g {
		g[i] = 0
	}
	for i := 0; i+1 < n; i++ {
		t := x[i+1] - x[i]*x[i]
		g[i] += -400*x[i]*t - 2*(1-x[i])
		g[i+1] += 200 * t
	}
}

// opLoop runs one version of a benchmark's work n times.
type opLoop func(n int)

// ratioRounds and ratioRound are how a ratio is measured: the tape and the
// hand-written loop run alternately for ratioRounds short rounds of about
// ratioRound of the thread's CPU time each, and the best time per
// operation of each is kept, so that load from other processes (these are
// shared machines) hits both alike and is filtered out by the minimum.
const (
	ratioRounds = 21
	ratioRound  = 3 * time.Millisecond
)

// ratioCache remembers each measured ratio: a benchmark function runs
// several times with growing b.N, the ratio is measured once.
var ratioCache sync.Map

// measureRatio returns the best time per operation of tape divided by that
// of hand.
func measureRatio(tape, hand opLoop) float64 {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	count := func(f opLoop) int { // operations that take about ratioRound
		n := 1
		for {
			t0 := threadTime()
			f(n)
			if d := threadTime() - t0; d >= ratioRound/4 {
				return max(1, int(float64(n)*float64(ratioRound)/float64(d)))
			}
			n *= 2
		}
	}
	nt, nh := count(tape), count(hand)
	bestT, bestH := math.Inf(1), math.Inf(1)
	for range ratioRounds {
		t0 := threadTime()
		tape(nt)
		bestT = math.Min(bestT, float64(threadTime()-t0)/float64(nt))
		t0 = threadTime()
		hand(nh)
		bestH = math.Min(bestH, float64(threadTime()-t0)/float64(nh))
	}
	return bestT / bestH
}

// reportRatio reports the tape's time per operation over the hand-written
// version's as the metric "x-hand", measured once per benchmark.
func reportRatio(b *testing.B, tape, hand opLoop) {
	b.StopTimer()
	v, ok := ratioCache.Load(b.Name())
	if !ok {
		v = measureRatio(tape, hand)
		ratioCache.Store(b.Name(), v)
	}
	b.ReportMetric(v.(float64), "x-hand")
}

// setupRosen2D compiles f and ∇f of the 2-D Rosenbrock function into one tape.
func setupRosen2D(tb testing.TB) *Machine {
	f, xs := rosen2D()
	g := Grad(f, xs)
	p, err := Compile([]*Node{f, g[0], g[1]}, xs)
	if err != nil {
		tb.Fatal(err)
	}
	return p.NewMachine()
}

// rosenIn and rosenOut are package variables so that the compiler cannot
// fold the hand-written loop's arithmetic into constants.
var rosenIn, rosenOut = []float64{-1.2, 1}, make([]float64, 3)

// rosenFunc is the hand-written function called through a function value,
// as a solver calls its problem's gradient (and as Machine.Eval is called):
// the comparison is between two ways of supplying that function.
var rosenFunc = handRosen2D

func tapeRosen2DLoop(m *Machine) opLoop {
	return func(n int) {
		for range n {
			m.Eval(rosenIn, rosenOut)
		}
	}
}

func handRosen2DLoop(n int) {
	for range n {
		rosenFunc(rosenIn, rosenOut)
	}
}

// handRosen2DInlineLoop is handRosen2DLoop with the function inlined into
// the loop: the fastest hand-written form, reported for reference.
func handRosen2DInlineLoop(n int) {
	in, out := rosenIn, rosenOut
	for range n {
		handRosen2D(in, out)
	}
}

func BenchmarkRosen2DTape(b *testing.B) {
	loop := tapeRosen2DLoop(setupRosen2D(b))
	b.ResetTimer()
	loop(b.N)
	reportRatio(b, loop, handRosen2DLoop)
}

func BenchmarkRosen2DGo(b *testing.B)       { handRosen2DLoop(b.N) }
func BenchmarkRosen2DGoInline(b *testing.B) { handRosen2DInlineLoop(b.N) }

const extRosenN = 1000 // the size of the extended Rosenbrock benchmark

// setupExtRosen compiles ∇f of the extended Rosenbrock function.
func setupExtRosen(tb testing.TB) *Machine {
	f, xs := extRosen(extRosenN)
	p, err := Compile(Grad(f, xs), xs)
	if err != nil {
		tb.Fatal(err)
	}
	return p.NewMachine()
}

// extRosenIn is a point with varied coordinates in [−1, 1].
var extRosenIn, extRosenOut = extRosenPoint(), make([]float64, extRosenN)

func extRosenPoint() []float64 {
	x := make([]float64, extRosenN)
	for i := range x {
		x[i] = math.Sin(float64(i))
	}
	return x
}

func tapeExtRosenLoop(m *Machine) opLoop {
	return func(n int) {
		for range n {
			m.Eval(extRosenIn, extRosenOut)
		}
	}
}

func handExtRosenLoop(n int) {
	for range n {
		handExtRosenGrad(extRosenIn, extRosenOut)
	}
}

func BenchmarkExtRosenGradTape(b *testing.B) {
	loop := tapeExtRosenLoop(setupExtRosen(b))
	b.ResetTimer()
	loop(b.N)
	reportRatio(b, loop, handExtRosenLoop)
}

func BenchmarkExtRosenGradGo(b *testing.B) { handExtRosenLoop(b.N) }

const batchPoints = 100_000 // the number of points of the batch benchmarks

// batchIn holds the batch benchmarks' points, spread over [−3, 3).
var batchIn, batchOut = batchInput(), [][]float64{make([]float64, batchPoints)}

func batchInput() [][]float64 {
	x := make([]float64, batchPoints)
	for i := range x {
		x[i] = -3 + 6*float64(i)/batchPoints
	}
	return [][]float64{x}
}

// cubicDrift is x − x³.
func cubicDrift() *Node {
	x := Symbol("x", 0)
	return Sub(x, PowNum(x, Int(3)))
}

// gaussWeight is exp(−x²/2)·x.
func gaussWeight() *Node {
	x := Symbol("x", 0)
	return Mul(Call("exp", Neg(Div(PowNum(x, Int(2)), IntNode(2)))), x)
}

// tapeBatchLoop compiles e (a function of x) and runs it in batch mode.
func tapeBatchLoop(tb testing.TB, e *Node) opLoop {
	p, err := Compile([]*Node{e}, []*Node{Symbol("x", 0)})
	if err != nil {
		tb.Fatal(err)
	}
	m := p.NewMachine()
	return func(n int) {
		for range n {
			m.EvalBatch(batchIn, batchOut, batchPoints)
		}
	}
}

func handCubicLoop(n int) {
	in, out := batchIn[0], batchOut[0]
	for range n {
		for k, x := range in {
			out[k] = x - x*x*x
		}
	}
}

func handGaussLoop(n int) {
	in, out := batchIn[0], batchOut[0]
	for range n {
		for k, x := range in {
			out[k] = math.Exp(-x*x/2) * x
		}
	}
}

func BenchmarkBatchCubicTape(b *testing.B) {
	loop := tapeBatchLoop(b, cubicDrift())
	b.ResetTimer()
	loop(b.N)
	reportRatio(b, loop, handCubicLoop)
}

func BenchmarkBatchCubicGo(b *testing.B) { handCubicLoop(b.N) }

func BenchmarkBatchGaussTape(b *testing.B) {
	loop := tapeBatchLoop(b, gaussWeight())
	b.ResetTimer()
	loop(b.N)
	reportRatio(b, loop, handGaussLoop)
}

func BenchmarkBatchGaussGo(b *testing.B) { handGaussLoop(b.N) }

// ratioGuardFactor is how far over its goal a ratio may go in an ordinary
// test run: far enough that a loaded machine does not trip it, near
// enough to catch a real regression (a lost fusion, or a dispatch that
// mispredicts again, each cost 2-3×).
const ratioGuardFactor = 3

// TestTapeRatioGuard measures the benchmark ratios briefly and fails when
// one is far over its goal. The figures to report come from the
// benchmarks (go test -run '^$' -bench . ./autodiff).
func TestTapeRatioGuard(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("timing")
	}
	for _, c := range []struct {
		name       string
		tape, hand opLoop
		goal       float64
	}{
		{"2-D Rosenbrock f, ∇f", tapeRosen2DLoop(setupRosen2D(t)), handRosen2DLoop, 5},
		{"n = 1000 extended Rosenbrock ∇f", tapeExtRosenLoop(setupExtRosen(t)), handExtRosenLoop, 3},
		{"batch x − x³", tapeBatchLoop(t, cubicDrift()), handCubicLoop, 2},
		{"batch x·exp(−x²/2)", tapeBatchLoop(t, gaussWeight()), handGaussLoop, 2},
	} {
		r := measureRatio(c.tape, c.hand)
		t.Logf("%s: %.2f× hand-written Go (goal %g×)", c.name, r, c.goal)
		if r > ratioGuardFactor*c.goal {
			t.Errorf("%s: %.2f× hand-written Go, more than %g× the goal of %g×", c.name, r, float64(ratioGuardFactor), c.goal)
		}
	}
}
