// Benchmark of JKO steps against a hand-written Newton solver of the same steps for the entropy.
package solvers

import (
	"math"
	"testing"
	"time"
)

// handJKOEntropy takes JKO steps of the entropy −(1/N)Σlog(NΔXᵢ) by hand:
// the same Newton iteration (LDLᵀ of the tridiagonal Hessian, Armijo
// backtracking that keeps the nodes in order, the same stopping rule and
// extrapolated start) with the gradient and Hessian written out.
type handJKOEntropy struct {
	n                                   int
	tau                                 float64
	x, y, prev, g, a, b, d, l, p, trial []float64
}

func newHandJKO(x0 []float64, tau float64) *handJKOEntropy {
	n := len(x0)
	mk := func() []float64 { return make([]float64, n) }
	h := &handJKOEntropy{n: n, tau: tau, x: append([]float64(nil), x0...), y: mk(), prev: mk(), g: mk(), a: mk(), b: mk(), d: mk(), l: mk(), p: mk(), trial: mk()}
	return h
}

func (h *handJKOEntropy) phi(x []float64) float64 {
	n := float64(h.n)
	s := 0.0
	for i := 0; i+1 < h.n; i++ {
		gap := x[i+1] - x[i]
		if !(gap > 0) {
			return math.Inf(1)
		}
		s -= math.Log(n*gap) / n
	}
	for i, v := range x {
		d := v - h.y[i]
		s += d * d / (2 * h.tau * n)
	}
	return s
}

func (h *handJKOEntropy) step(first bool) {
	n, nf := h.n, float64(h.n)
	copy(h.prev, h.y)
	copy(h.y, h.x)
	if !first {
		for i := range h.x {
			h.x[i] = 2*h.y[i] - h.prev[i]
		}
		if !ordered(h.x) {
			copy(h.x, h.y)
		}
	}
	x := h.x
	f := h.phi(x)
	c := 1 / (h.tau * nf)
	for it := 0; it < JKOMaxNewton; it++ {
		// ∂/∂xᵢ of −(1/N)log(ΔX): ±1/(NΔX); second derivatives 1/(NΔX²)
		for i := range x {
			h.g[i] = (x[i] - h.y[i]) * c
			h.a[i] = c
			h.b[i] = 0
		}
		gap := math.Inf(1)
		for i := 0; i+1 < n; i++ {
			dx := x[i+1] - x[i]
			gap = math.Min(gap, dx)
			h.g[i] += 1 / (nf * dx)
			h.g[i+1] -= 1 / (nf * dx)
			k := 1 / (nf * dx * dx)
			h.a[i] += k
			h.a[i+1] += k
			h.b[i] -= k
		}
		for i := range n {
			a := h.a[i]
			if i > 0 {
				a -= h.l[i-1] * h.b[i-1]
			}
			h.d[i] = a
			if i+1 < n {
				h.l[i] = h.b[i] / a
			}
		}
		for i := range n {
			h.p[i] = -h.g[i]
			if i > 0 {
				h.p[i] -= h.l[i-1] * h.p[i-1]
			}
		}
		big, dec := 0.0, 0.0
		for i := n - 1; i >= 0; i-- {
			h.p[i] /= h.d[i]
			if i+1 < n {
				h.p[i] -= h.l[i] * h.p[i+1]
			}
		}
		for i := range n {
			big = math.Max(big, math.Abs(h.p[i]))
			dec -= h.g[i] * h.p[i]
		}
		if big <= jkoStepTol*gap {
			for i := range x {
				x[i] += h.p[i]
			}
			return
		}
		alpha := 1.0
		for range 60 {
			for i := range x {
				h.trial[i] = x[i] + alpha*h.p[i]
			}
			if ordered(h.trial) {
				if t := h.phi(h.trial); t <= f-jkoArmijo*alpha*dec+4*jkoRounding*math.Abs(f) {
					copy(x, h.trial)
					f = t
					break
				}
			}
			alpha /= 2
		}
	}
}

// BenchmarkJKOHeat takes 200 JKO steps (τ = 0.005) of the entropy with
// N = 1000 quantile nodes from N(0, 1) through RunJKO and by hand, checks
// that they agree, and reports ns/step of each and their ratio.
func BenchmarkJKOHeat(b *testing.B) {
	const n, steps, tau = 1000, 200, 0.005
	p, err := NewJKOProblem(space1, entropyF(space1), n)
	if err != nil {
		b.Fatal(err)
	}
	d, _ := NewNormal([]float64{0}, []float64{1})
	x0, _ := JKOQuantiles(d, n)
	var tRun, tHand time.Duration
	for range b.N {
		t0 := time.Now()
		res, err := RunJKO(p, x0, &JKOSettings{Tau: tau, MaxSteps: steps})
		tRun += time.Since(t0)
		if err != nil {
			b.Fatal(err)
		}
		h := newHandJKO(x0, tau)
		t0 = time.Now()
		for k := range steps {
			h.step(k == 0)
		}
		tHand += time.Since(t0)
		if v := nodeVar(h.x); math.Abs(v-res.Final.Var) > 1e-9 {
			b.Fatalf("variance %g by RunJKO, %g by hand", res.Final.Var, v)
		}
	}
	k := float64(b.N * steps)
	b.ReportMetric(float64(tRun.Nanoseconds())/k, "ns/step")
	b.ReportMetric(float64(tHand.Nanoseconds())/k, "hand-ns/step")
	b.ReportMetric(float64(tRun)/float64(tHand), "ratio")
}
