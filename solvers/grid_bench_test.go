// Benchmarks of the grid method against a hand-written finite-volume solver of the same scheme.
package solvers

import (
	"math"
	"testing"
	"time"

	ad "flowlang/autodiff"
)

// handFP is the grid method's scheme written by hand for the Fokker–Planck
// equation ∂q/∂t = ∇·(q∇(V + log q + 1)) on a 1-D or 2-D grid: ξ with V
// tabulated once, minmod-limited reconstruction, upwind fluxes, SSP-RK3
// with the same step rule (0.9 of the positivity bound, and Δx²/4 in 1-D
// or 1/Σ(4/Δx²) in 2-D for the diffusion, λ = q·(1/q)·ρ), the compensated
// update, the positivity checks and, per step, the energy, the mass and
// the least value — the work a run does.
type handFP struct {
	n0, n1                                      int
	h                                           [2]float64
	v, q, a, inc, k, k1, qe, qw, comp, xi, ring []float64
	ringIx                                      []int
	t, energy, mass, min                        float64
}

func newHandFP(g *Grid, v func(x []float64) float64, q0 []float64) *handFP {
	s := &handFP{n0: g.N[0], n1: g.n1()}
	cells := g.Cells()
	for c := range g.Dim {
		s.h[c] = g.H(c)
	}
	mk := func() []float64 { return make([]float64, cells) }
	s.v, s.q, s.a, s.inc, s.k, s.k1, s.qe, s.qw, s.comp, s.xi = mk(), mk(), mk(), mk(), mk(), mk(), mk(), mk(), mk(), mk()
	x := g.centres()
	pt := make([]float64, g.Dim)
	for k := range cells {
		for c := range pt {
			pt[c] = x[c][k]
		}
		s.v[k] = v(pt)
		i, j := k/s.n1, k%s.n1
		if i == 0 || i == s.n0-1 || g.Dim == 2 && (j == 0 || j == s.n1-1) {
			s.ringIx = append(s.ringIx, k)
		}
	}
	copy(s.q, q0)
	return s
}

func (s *handFP) recon(q []float64, k, prev, next int) {
	dl, dr := q[k]-q[prev], q[next]-q[k]
	var sl float64
	if dl > 0 && dr > 0 {
		sl = min(2*dl, 0.5*(dl+dr), 2*dr)
	} else if dl < 0 && dr < 0 {
		sl = max(2*dl, 0.5*(dl+dr), 2*dr)
	}
	s.qe[k], s.qw[k] = q[k]+0.5*sl, q[k]-0.5*sl
}

// rhs writes L(q) into out and returns Σ_c max|u_c|/Δx_c.
func (s *handFP) rhs(q, out []float64) float64 {
	for i, v := range q {
		s.xi[i] = s.v[i] + math.Log(max(v, GridFloor)) + 1
	}
	clear(out)
	n0, n1 := s.n0, s.n1
	xi, qe, qw := s.xi, s.qe, s.qw
	// along the first coordinate
	copy(qe[:n1], q[:n1])
	copy(qw[:n1], q[:n1])
	last := (n0 - 1) * n1
	copy(qe[last:], q[last:])
	copy(qw[last:], q[last:])
	for k := n1; k < last; k++ {
		s.recon(q, k, k-n1, k+n1)
	}
	a0, inv := 0.0, 1/s.h[0]
	for k := range last {
		k1 := k + n1
		u := (xi[k] - xi[k1]) * inv
		var f float64
		if u > 0 {
			f = u * qe[k] * inv
			a0 = max(a0, u)
		} else {
			f = u * qw[k1] * inv
			a0 = max(a0, -u)
		}
		out[k] -= f
		out[k1] += f
	}
	rate := a0 * inv
	if n1 == 1 {
		return rate
	}
	a1, inv := 0.0, 1/s.h[1]
	for i := range n0 {
		a, b := i*n1, (i+1)*n1-1
		qe[a], qw[a], qe[b], qw[b] = q[a], q[a], q[b], q[b]
		for k := a + 1; k < b; k++ {
			s.recon(q, k, k-1, k+1)
		}
		for k := a; k < b; k++ {
			u := (xi[k] - xi[k+1]) * inv
			var f float64
			if u > 0 {
				f = u * qe[k] * inv
				a1 = max(a1, u)
			} else {
				f = u * qw[k+1] * inv
				a1 = max(a1, -u)
			}
			out[k] -= f
			out[k+1] += f
		}
	}
	return rate + a1*inv
}

func (s *handFP) observe() {
	vol := s.h[0]
	if s.n1 > 1 {
		vol *= s.h[1]
	}
	e, m, mn := 0.0, 0.0, math.Inf(1)
	for i, v := range s.q {
		qf := max(v, GridFloor)
		e += qf * (s.v[i] + math.Log(qf))
		m += v
		mn = min(mn, v)
	}
	ring := 0.0
	for _, k := range s.ringIx {
		ring += s.q[k]
	}
	s.energy, s.mass, s.min = e*vol, m*vol, mn+0*ring
}

func (s *handFP) step() bool {
	s.observe()
	rate := s.rhs(s.q, s.k)
	par := 0.0
	for c := range 2 {
		if s.h[c] > 0 {
			par += 4 / (s.h[c] * s.h[c])
		}
	}
	dt := math.Min(0.9/(2*rate), 1/par)
	for i := range s.a {
		s.a[i] = s.q[i] + dt*s.k[i]
	}
	if !nonNegative(s.a) {
		return false
	}
	s.rhs(s.a, s.k1)
	for i := range s.inc {
		s.inc[i] = (s.k[i] + s.k1[i]) / 6
		s.a[i] = s.q[i] + 1.5*dt*s.inc[i]
	}
	if !nonNegative(s.a) {
		return false
	}
	s.rhs(s.a, s.k1)
	for i := range s.inc {
		s.inc[i] += 2.0 / 3 * s.k1[i]
		s.a[i] = s.q[i] + (dt*s.inc[i] + s.comp[i])
	}
	if !nonNegative(s.a) {
		return false
	}
	for i, v := range s.a {
		y := dt*s.inc[i] + s.comp[i]
		s.comp[i] = y - (v - s.q[i])
		s.q[i] = v
	}
	s.t += dt
	return true
}

// fokkerPlanck returns the functional ∫V q + ∫q log q of sp with V given
// as an expression.
func fokkerPlanck(sp ad.Space, v *ad.Node) *ad.Node {
	q := sp.Q(sp.Var, nil)
	return ad.Add(ad.Integral(ad.Mul(v, q), sp.Var, sp.Dim, true), ad.Integral(ad.Mul(q, ad.Call("log", q)), sp.Var, sp.Dim, true))
}

// benchGrid runs steps of the grid method and of handFP from the same
// start in each iteration, checks that they agree, and reports ns/step of
// each and their ratio.
func benchGrid(b *testing.B, g *Grid, sp ad.Space, v *ad.Node, vf func([]float64) float64, start Dist, steps int) {
	p, err := NewGridProblem(sp, fokkerPlanck(sp, v), g)
	if err != nil {
		b.Fatal(err)
	}
	q0, _, err := GridDensity(g, start)
	if err != nil {
		b.Fatal(err)
	}
	var tGrid, tHand time.Duration
	for range b.N {
		t0 := time.Now()
		res, err := RunGrid(p, q0, &GridSettings{MaxSteps: steps})
		tGrid += time.Since(t0)
		if err != nil {
			b.Fatal(err)
		}
		h := newHandFP(g, vf, q0)
		t0 = time.Now()
		for range steps {
			if !h.step() {
				b.Fatal("hand-written step failed")
			}
		}
		h.observe()
		tHand += time.Since(t0)
		// the same arithmetic up to the order of rounding: the same state
		if d := math.Abs(h.t-res.T) / res.T; d > 1e-9 {
			b.Fatalf("t differs: %g vs %g", res.T, h.t)
		}
		if d := math.Abs(h.energy - res.Final.Energy); d > 1e-9*math.Max(1, math.Abs(h.energy)) {
			b.Fatalf("energy differs: %g vs %g", res.Final.Energy, h.energy)
		}
	}
	n := float64(b.N * steps)
	b.ReportMetric(float64(tGrid.Nanoseconds())/n, "ns/step")
	b.ReportMetric(float64(tHand.Nanoseconds())/n, "hand-ns/step")
	b.ReportMetric(float64(tGrid)/float64(tHand), "ratio")
}

// BenchmarkGrid1D is the Fokker–Planck flow of the double well
// x⁴/4 − x²/2 on 1000 cells of [−4, 4] (SSP-RK3, minmod), 2000 steps.
func BenchmarkGrid1D(b *testing.B) {
	sp := ad.Space{Density: "q", Var: "x"}
	x := sp.Coord("x", 0)
	v := ad.Add(ad.Scale(ad.PowNum(x, ad.Int(4)), ad.Rat(1, 4)), ad.Scale(ad.PowNum(x, ad.Int(2)), ad.Rat(-1, 2)))
	g, _ := NewGrid([]float64{-4}, []float64{4}, 1000)
	d, _ := NewNormal([]float64{1}, []float64{0.5})
	benchGrid(b, g, sp, v, func(p []float64) float64 { return p[0]*p[0]*p[0]*p[0]/4 - p[0]*p[0]/2 }, d, 2000)
}

// BenchmarkGrid2D is the Fokker–Planck flow of |x|²/2 on 200×200 cells of
// [−5, 5]², 50 steps.
func BenchmarkGrid2D(b *testing.B) {
	sp := ad.Space{Density: "q", Var: "x", Dim: 2}
	x1, x2 := sp.Coord("x", 0), sp.Coord("x", 1)
	v := ad.Scale(ad.Add(ad.PowNum(x1, ad.Int(2)), ad.PowNum(x2, ad.Int(2))), ad.Rat(1, 2))
	g, _ := NewGrid([]float64{-5, -5}, []float64{5, 5}, 200)
	d, _ := NewNormal([]float64{1, -0.5}, []float64{0.7, 1.2})
	benchGrid(b, g, sp, v, func(p []float64) float64 { return (p[0]*p[0] + p[1]*p[1]) / 2 }, d, 50)
}
