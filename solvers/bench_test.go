// Benchmarks of the Euclidean flows, each paired with hand-written Go doing the same work.
package solvers

import (
	"math"
	"testing"
	"time"

	ad "flowlang/autodiff"
)

// benchSteps is the unit of work: 10⁷ euler steps on Rosenbrock.
const benchSteps = 10_000_000

// handEulerRosenbrock is gradient descent on Rosenbrock written by hand,
// doing what a run does per step: the gradient, the step, f at the new
// point, a finiteness check and the monotonicity test.
func handEulerRosenbrock(x, y, h float64, steps int) (float64, float64, float64, bool) {
	monotone := true
	d := y - x*x
	f := (1-x)*(1-x) + 100*d*d
	gx, gy := -2*(1-x)-400*x*d, 200*d
	for k := 0; k < steps; k++ {
		x -= h * gx
		y -= h * gy
		d = y - x*x
		fn := (1-x)*(1-x) + 100*d*d
		gx, gy = -2*(1-x)-400*x*d, 200*d
		if math.IsNaN(fn) || math.IsInf(fn, 0) {
			break
		}
		if fn > f {
			monotone = false
		}
		f = fn
	}
	return x, y, f, monotone
}

// rosenbrockProblem is Rosenbrock's f and ∇f written by hand, as a Problem.
func rosenbrockProblem() *Problem {
	return &Problem{Dim: 2, FuncGrad: func(g, x []float64) float64 {
		d := x[1] - x[0]*x[0]
		g[0] = -2*(1-x[0]) - 400*x[0]*d
		g[1] = 200 * d
		return (1-x[0])*(1-x[0]) + 100*d*d
	}}
}

// BenchmarkEulerRosenbrock runs 10⁷ euler steps (h = 1e-4 from (−1, 1))
// three ways in the same iteration: through Flow with the compiled tape of
// f and ∇f (what a run does), through Flow with f and ∇f written by hand
// (the driver's own cost), and as a hand-written loop. It reports ns/step
// of each and the ratios to the hand-written loop.
func BenchmarkEulerRosenbrock(b *testing.B) {
	f, vars := rosenbrock()
	o, err := CompileObjective(f, vars, Needs{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	var flow, driver, hand time.Duration
	for i := 0; i < b.N; i++ {
		p := o.Problem()
		start := time.Now()
		res, err := Flow(p, []float64{-1, 1}, &Euler{H: 1e-4}, &Settings{MaxSteps: benchSteps})
		flow += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		res2, err := Flow(rosenbrockProblem(), []float64{-1, 1}, &Euler{H: 1e-4}, &Settings{MaxSteps: benchSteps})
		driver += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		x, y, _, _ := handEulerRosenbrock(-1, 1, 1e-4, benchSteps)
		hand += time.Since(start)
		// same arithmetic up to rounding order: the same point to 1e-9
		if math.Abs(x-res.X[0]) > 1e-9 || math.Abs(y-res.X[1]) > 1e-9 || math.Abs(x-res2.X[0]) > 1e-9 {
			b.Fatalf("flow ends at %v, by hand at (%v, %v)", res.X, x, y)
		}
	}
	n := float64(b.N) * benchSteps
	b.ReportMetric(float64(flow.Nanoseconds())/n, "ns/step")
	b.ReportMetric(float64(driver.Nanoseconds())/n, "hand-problem-ns/step")
	b.ReportMetric(float64(hand.Nanoseconds())/n, "hand-ns/step")
	b.ReportMetric(float64(flow)/float64(hand), "ratio")
	b.ReportMetric(float64(driver)/float64(hand), "driver-ratio")
}

// BenchmarkTapeRosenbrock times the compiled tape alone (f and ∇f at a
// point), for comparison with the step.
func BenchmarkTapeRosenbrock(b *testing.B) {
	f, vars := rosenbrock()
	o, err := CompileObjective(f, vars, Needs{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	p := o.Problem()
	x, g := []float64{-1, 1}, make([]float64, 2)
	for i := 0; i < b.N; i++ {
		x[0] = -1 + float64(i&1023)*1e-6
		p.FuncGrad(g, x)
	}
}

// quadratic10 is f = Σᵢ i·(xᵢ − 1)²/2 + Σᵢ (xᵢ − xᵢ₊₁)²/4 in 10 dimensions.
func quadratic10() (*ad.Node, []*ad.Node) {
	const n = 10
	vars := make([]*ad.Node, n)
	for i := range vars {
		vars[i] = ad.Symbol("x", i+1)
	}
	var terms []*ad.Node
	for i := 0; i < n; i++ {
		terms = append(terms, ad.Mul(ad.Number(ad.Rat(int64(i+1), 2)), sq(ad.Sub(vars[i], num(1)))))
		if i+1 < n {
			terms = append(terms, ad.Mul(ad.Number(ad.Rat(1, 4)), sq(ad.Sub(vars[i], vars[i+1]))))
		}
	}
	return ad.Add(terms...), vars
}

// quadratic10Problem is quadratic10's f and ∇f written by hand.
func quadratic10Problem() *Problem {
	return &Problem{Dim: 10, FuncGrad: func(g, x []float64) float64 {
		f := 0.0
		for i := range g {
			g[i] = 0
		}
		for i := 0; i < 10; i++ {
			d := x[i] - 1
			f += float64(i+1) * d * d / 2
			g[i] += float64(i+1) * d
			if i+1 < 10 {
				e := x[i] - x[i+1]
				f += e * e / 4
				g[i] += e / 2
				g[i+1] -= e / 2
			}
		}
		return f
	}}
}

// BenchmarkRK45Quadratic10 measures rk45's per-step cost on a
// 10-dimensional quadratic (rtol 1e-10, to t = 1000): with the compiled
// tape, and with f and ∇f written by hand, whose evaluations cost little,
// so that its time per step is the method's own overhead (the stages'
// vector arithmetic, the error norm, the step-size control and the
// driver's bookkeeping).
func BenchmarkRK45Quadratic10(b *testing.B) {
	f, vars := quadratic10()
	o, err := CompileObjective(f, vars, Needs{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	x0 := make([]float64, 10)
	s := func() *Settings { return &Settings{Until: []Condition{{QTime, ">=", 1e3}}} }
	var tape, hand time.Duration
	steps, handSteps, evals := 0, 0, 0
	for i := 0; i < b.N; i++ {
		start := time.Now()
		res, err := Flow(o.Problem(), x0, &RK45{Rtol: 1e-10, Atol: 1e-12}, s())
		tape += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		res2, err := Flow(quadratic10Problem(), x0, &RK45{Rtol: 1e-10, Atol: 1e-12}, s())
		hand += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if maxErr(res.X, res2.X) > 1e-9 {
			b.Fatalf("tape and hand-written runs end at %v and %v", res.X, res2.X)
		}
		steps += res.Steps
		handSteps += res2.Steps
		evals += res.Evaluations
	}
	b.ReportMetric(float64(tape.Nanoseconds())/float64(steps), "ns/step")
	b.ReportMetric(float64(hand.Nanoseconds())/float64(handSteps), "overhead-ns/step")
	b.ReportMetric(float64(evals)/float64(steps), "evals/step")
}
