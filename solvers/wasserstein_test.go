// Tests of W2: Gaussian closed form, quantile formulas, assignment against brute force, Sinkhorn against exact values.
package solvers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestW2Gaussian checks the closed form on cases with known answers: 1-D
// (|Δm|² + (σ₁ − σ₂)²), commuting covariances (|Δm|² + Σ(√λᵢ − √μᵢ)² in a
// shared eigenbasis, here a rotation of diag(4, 1) and diag(1, 9)), and
// identical laws (0).
func TestW2Gaussian(t *testing.T) {
	const tol = 1e-12
	w, err := W2Gaussian([]float64{1}, mat.NewSymDense(1, []float64{4}), []float64{-2}, mat.NewSymDense(1, []float64{0.25}))
	if err != nil {
		t.Fatal(err)
	}
	ptWithin(t, "1-D", w, math.Sqrt(9+1.5*1.5), tol)

	c, s := math.Cos(0.3), math.Sin(0.3)
	rot := func(a, b float64) *mat.SymDense { // R diag(a, b) Rᵀ
		return mat.NewSymDense(2, []float64{a*c*c + b*s*s, (a - b) * c * s, (a - b) * c * s, a*s*s + b*c*c})
	}
	w, err = W2Gaussian([]float64{0, 1}, rot(4, 1), []float64{1, 1}, rot(1, 9))
	if err != nil {
		t.Fatal(err)
	}
	ptWithin(t, "commuting", w, math.Sqrt(1+1+4), tol)
	w, _ = W2Gaussian([]float64{3, 3}, rot(2, 5), []float64{3, 3}, rot(2, 5))
	ptWithin(t, "identical", w, 0, 1e-7) // √ of a difference of O(1) terms: √(ulp)

	// the dispatcher takes normal laws to the closed form
	res, err := W2(ptNormal(t, []float64{0, 0}, []float64{1, 2}), ptNormal(t, []float64{3, 4}, []float64{1, 2}), nil)
	if err != nil || res.Method != "gaussian" {
		t.Fatalf("W2 of normals: %+v, %v", res, err)
	}
	ptWithin(t, "normals", res.W2, 5, tol)
}

// permutations calls f with every permutation of 0..n−1.
func permutations(n int, f func([]int)) {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	var rec func(k int)
	rec = func(k int) {
		if k == n {
			f(p)
			return
		}
		for i := k; i < n; i++ {
			p[k], p[i] = p[i], p[k]
			rec(k + 1)
			p[k], p[i] = p[i], p[k]
		}
	}
	rec(0)
}

// TestAssignBruteForce compares Assign with the minimum over all
// permutations, on random real costs and on integer costs with many ties.
func TestAssignBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for trial := 0; trial < 200; trial++ {
		n := 1 + trial%7
		cost := make([]float64, n*n)
		for i := range cost {
			if trial%2 == 0 {
				cost[i] = rng.Float64()*10 - 3
			} else {
				cost[i] = float64(rng.IntN(4))
			}
		}
		best := math.Inf(1)
		permutations(n, func(p []int) {
			s := 0.0
			for i, j := range p {
				s += cost[i*n+j]
			}
			best = math.Min(best, s)
		})
		perm, total, err := Assign(cost, n)
		if err != nil {
			t.Fatal(err)
		}
		seen := make([]bool, n)
		check := 0.0
		for i, j := range perm {
			if seen[j] {
				t.Fatalf("not a permutation: %v", perm)
			}
			seen[j] = true
			check += cost[i*n+j]
		}
		if math.Abs(total-best) > 1e-9 || math.Abs(check-total) > 1e-9 {
			t.Fatalf("n = %d: assignment cost %g (recomputed %g), brute force %g", n, total, check, best)
		}
	}
}

// TestAssignReference compares Assign with the plain shortest augmenting
// path algorithm on instances too large for brute force: Euclidean costs,
// uniform real costs, small integers with many ties, and costs too large
// for float32. The optimal
// totals must agree to rounding (sums of n terms).
func TestAssignReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, n := range []int{2, 10, 57, 200} {
		for kind := 0; kind < 4; kind++ {
			cost := make([]float64, n*n)
			xs, ys := make([]float64, 2*n), make([]float64, 2*n)
			for i := range xs {
				xs[i], ys[i] = rng.NormFloat64(), rng.NormFloat64()
			}
			for i := 0; i < n; i++ {
				for j := 0; j < n; j++ {
					switch kind {
					case 0:
						dx, dy := xs[2*i]-ys[2*j], xs[2*i+1]-ys[2*j+1]
						cost[i*n+j] = dx*dx + dy*dy
					case 1:
						cost[i*n+j] = rng.Float64()
					case 3: // beyond float32, where the auction cannot warm up
						cost[i*n+j] = rng.Float64() * 1e35
					default:
						cost[i*n+j] = float64(rng.IntN(3))
					}
				}
			}
			_, want, err := assignReference(cost, n)
			if err != nil {
				t.Fatal(err)
			}
			perm, got, err := Assign(cost, n)
			if err != nil {
				t.Fatal(err)
			}
			seen := make([]bool, n)
			for _, j := range perm {
				if seen[j] {
					t.Fatalf("n = %d, kind %d: not a permutation", n, kind)
				}
				seen[j] = true
			}
			if math.Abs(got-want) > 1e-12*float64(n)*(1+math.Abs(want)) {
				t.Errorf("n = %d, kind %d: Assign %v, reference %v", n, kind, got, want)
			}
		}
	}
}

// TestW2Samples checks W2 between samples: a translate (exactly |v|), the
// 1-D formula for unequal sizes against the exact assignment of the
// repeated points, and equal 1-D samples against sorted matching.
func TestW2Samples(t *testing.T) {
	const tol = 1e-12
	rng := rand.New(rand.NewPCG(2, 2))
	a, _ := NewParticles(300, 2, 0)
	b, _ := NewParticles(300, 2, 0)
	for i := 0; i < 300; i++ {
		for c := 0; c < 2; c++ {
			a.X[c][i] = rng.NormFloat64()
		}
		b.X[0][i], b.X[1][i] = a.X[0][i]+0.3, a.X[1][i]-0.4
	}
	w, err := W2Assignment(a, b, 0)
	if err != nil {
		t.Fatal(err)
	}
	ptWithin(t, "translate", w, 0.5, tol)

	// 1-D, sizes 6 and 4: the quantile formula against the assignment of
	// the points repeated to 12
	x := []float64{0.3, -1, 2, 0.5, 0.1, 4}
	y := []float64{1, -0.5, 3, 0}
	px, _ := NewPoints(col(x))
	py, _ := NewPoints(col(y))
	want, err := W2Assignment(repeatCloud(px.P, 2), repeatCloud(py.P, 3), 0)
	if err != nil {
		t.Fatal(err)
	}
	ptWithin(t, "unequal 1-D", W2Samples1D(x, y), want, tol)
	res, err := W2(px, py, nil)
	if err != nil || res.Method != "quantile" {
		t.Fatalf("W2 of 1-D samples: %+v %v", res, err)
	}
	ptWithin(t, "unequal 1-D dispatch", res.W2, want, tol)

	// 2-D, sizes 4 and 6 through the dispatcher (lcm 12 ≤ 2000)
	p4, _ := NewPoints([][]float64{{0, 0}, {1, 0}, {0, 1}, {1, 1}})
	p6, _ := NewPoints([][]float64{{0, 0}, {2, 0}, {0, 2}, {2, 2}, {1, 1}, {1, 1}})
	res, err = W2(p4, p6, nil)
	if err != nil || res.Method != "assignment" {
		t.Fatalf("W2 of 2-D samples of sizes 4, 6: %+v %v", res, err)
	}
	w12, _ := W2Assignment(repeatCloud(p4.P, 3), repeatCloud(p6.P, 2), 0)
	ptWithin(t, "2-D unequal", res.W2, w12, tol)
}

func col(x []float64) [][]float64 {
	p := make([][]float64, len(x))
	for i, v := range x {
		p[i] = []float64{v}
	}
	return p
}

// TestW2SampleLaw checks W2 between a 1-D sample and a law. A single point
// x against N(μ, σ²) has W₂² = (x − μ)² + σ²; n points against U(0, 1) at
// the midpoints (i − ½)/n have W₂² = 1/(12n²) (each interval contributes
// the variance of a uniform of width 1/n); and a mixture with one
// component must agree with that component.
func TestW2SampleLaw(t *testing.T) {
	const tol = 1e-12
	w, err := W2SampleLaw1D([]float64{1.5}, ptNormal(t, []float64{-0.5}, []float64{2}))
	if err != nil {
		t.Fatal(err)
	}
	ptWithin(t, "one point", w, math.Sqrt(4+4), tol)
	u, _ := NewUniform([]float64{0}, []float64{1})
	const n = 1000
	x := make([]float64, n)
	for i := range x {
		x[i] = (float64(i) + 0.5) / n
	}
	w, _ = W2SampleLaw1D(x, u)
	ptWithin(t, "midpoints", w, math.Sqrt(1/(12.0*n*n)), 1e-9) // √ of sums of cancelling O(1/n) terms

	nrm := ptNormal(t, []float64{0.3}, []float64{1.2})
	mix, _ := NewMix([]float64{1}, []Dist{nrm})
	s := ptSample(t, nrm, 2000, 5)
	w1, _ := W2SampleLaw1D(s.X[0], nrm)
	w2, _ := W2SampleLaw1D(s.X[0], mix)
	ptWithin(t, "mix of one", w2, w1, 1e-8) // the mixture's quantile is found by Newton to 1e-15

	// a large sample of the law itself is close: W₂ = O(√(log log n / n))
	big := ptSample(t, nrm, 200_000, 6)
	w, _ = W2SampleLaw1D(big.X[0], nrm)
	if w > 0.02 {
		t.Errorf("W2 of a sample of 2·10⁵ to its own law: %g", w)
	}
	// and W2 is the exact quantile distance: shift the sample by 0.5
	shifted := make([]float64, len(s.X[0]))
	for i, v := range s.X[0] {
		shifted[i] = v + 0.5
	}
	ws, _ := W2SampleLaw1D(shifted, ptNormal(t, []float64{0.8}, []float64{1.2}))
	ptWithin(t, "shift invariance", ws, w1, 1e-9)
}

// TestW2Laws1D checks the quadrature of two 1-D laws against closed forms:
// two uniforms (linear quantiles: W₂² = ∫(a + u(b−a) − c − u(d−c))² du)
// and two normals taken through the generic path (mixtures of one).
func TestW2Laws1D(t *testing.T) {
	const tol = 1e-9 // 160 × 16 Gauss–Legendre nodes in logit coordinates
	u1, _ := NewUniform([]float64{0}, []float64{2})
	u2, _ := NewUniform([]float64{1}, []float64{4})
	// a + u(b−a) − (c + u(d−c)) = −1 − u
	w, err := W2Laws1D(u1, u2)
	if err != nil {
		t.Fatal(err)
	}
	ptWithin(t, "uniforms", w, math.Sqrt(7.0/3), tol)

	n1, n2 := ptNormal(t, []float64{1}, []float64{2}), ptNormal(t, []float64{-1}, []float64{0.5})
	m1, _ := NewMix([]float64{1}, []Dist{n1})
	m2, _ := NewMix([]float64{1}, []Dist{n2})
	w, _ = W2Laws1D(m1, m2)
	ptWithin(t, "normals by quadrature", w, math.Sqrt(4+2.25), tol)
	res, _ := W2(m1, n2, nil)
	ptWithin(t, "dispatch", res.W2, math.Sqrt(4+2.25), tol)
}

// TestW2Sinkhorn checks debiased Sinkhorn. For a translate ν = μ(· − v)
// the entropic costs satisfy OT_ε(μ, ν) = OT_ε(μ, μ) + |v|² exactly (the
// cross term ∫⟨x − y, v⟩dπ vanishes for couplings of μ with itself), so
// S_ε = |v|² whatever ε: the result must be |v| to the convergence of the
// sweeps (10⁻⁴). On two independent samples of n points the entropic cost
// lies between the exact one and that plus ε·log n (the entropy of a
// coupling of uniform measures is between log n and 2 log n), so W₂ is
// within ε·log n/(2W₂) of the exact assignment.
func TestW2Sinkhorn(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	const n = 250
	a, _ := NewParticles(n, 2, 0)
	b, _ := NewParticles(n, 2, 0)
	c, _ := NewParticles(n, 2, 0)
	for i := 0; i < n; i++ {
		for d := 0; d < 2; d++ {
			a.X[d][i] = rng.NormFloat64()
			c.X[d][i] = 0.5*rng.NormFloat64() + 1
		}
		b.X[0][i], b.X[1][i] = a.X[0][i]+0.6, a.X[1][i]+0.8
	}
	r, err := W2Sinkhorn(a, b, 0)
	if err != nil {
		t.Fatal(err)
	}
	ptWithin(t, "Sinkhorn translate", r.W2, 1, 1e-4)

	exact, _ := W2Assignment(a, c, 0)
	r, err = W2Sinkhorn(a, c, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Converged {
		t.Errorf("Sinkhorn did not converge in %d sweeps", r.Iterations)
	}
	ptWithin(t, "Sinkhorn vs assignment", r.W2, exact, r.Eps*math.Log(n)/(2*exact))

	// the dispatcher goes to Sinkhorn beyond MaxAssignment and says so
	res, err := W2(&Points{P: a}, &Points{P: b}, &W2Options{MaxAssignment: 100})
	if err != nil || res.Method != "sinkhorn" || !(res.Eps > 0) || !res.Debiased {
		t.Fatalf("dispatch to Sinkhorn: %+v %v", res, err)
	}
	ptWithin(t, "dispatched Sinkhorn translate", res.W2, 1, 1e-4)
}

// TestW2SinkhornLarge checks Sinkhorn where all its shortcuts act (coarse
// annealing between subsamples, stored kernels) on n = 2500 points a of
// N(0, I₂) against their images b = T(a) by the map T(x) = m + Ax, A
// symmetric positive definite: T is the gradient of a convex function, so
// pairing each point with its image is an optimal assignment, and W₂² of
// the samples is exactly mean |x − T(x)|². The debiased divergence differs
// from W₂² by O(ε²) for smooth laws (Chizat et al. 2020; here about
// −0.4ε²): we allow 2ε² on S_ε, where the bound that holds for any samples,
// ε·log n, would be 16 times looser. The samples' W₂² is in turn within
// the statistical error of a mean of n values (4 standard errors) of the
// closed form for N(0, I) and N(m, A²): |m|² + tr((A − I)²).
func TestW2SinkhornLarge(t *testing.T) {
	const n = 2500
	rng := rand.New(rand.NewPCG(8, 8))
	c, s := math.Cos(0.4), math.Sin(0.4)
	a11, a12, a22 := 2*c*c+0.5*s*s, 1.5*c*s, 2*s*s+0.5*c*c // R diag(2, ½) Rᵀ
	a, _ := NewParticles(n, 2, 0)
	b, _ := NewParticles(n, 2, 0)
	sq := make([]float64, n)
	for i := 0; i < n; i++ {
		x0, x1 := rng.NormFloat64(), rng.NormFloat64()
		y0, y1 := 1+a11*x0+a12*x1, -0.5+a12*x0+a22*x1
		a.X[0][i], a.X[1][i], b.X[0][i], b.X[1][i] = x0, x1, y0, y1
		sq[i] = (x0-y0)*(x0-y0) + (x1-y1)*(x1-y1)
	}
	mean, sd := meanSD(sq)
	r, err := W2Sinkhorn(a, b, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Converged {
		t.Errorf("Sinkhorn did not converge in %d sweeps", r.Iterations)
	}
	ptWithin(t, "S_ε against the exact W₂² of the samples", r.W2*r.W2, mean, 2*r.Eps*r.Eps)
	closed := 1.25 + 1 + 0.25 // |m|² + (2 − 1)² + (½ − 1)²
	ptWithin(t, "W₂² against the closed form", r.W2*r.W2, closed, 4*sd/math.Sqrt(n)+2*r.Eps*r.Eps)
}

func meanSD(v []float64) (mean, sd float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	for _, x := range v {
		sd += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sd / float64(len(v)-1))
}

// TestW2SinkhornPlain compares W2Sinkhorn with the textbook log-domain
// Sinkhorn it speeds up (w2SinkhornPlain: same sweeps and stopping rules,
// every sum in two passes with math.Exp): in 2-D and 3-D, with unequal
// sizes, far from the origin, with repeated points and with a large ε. The
// two differ by rounding, by the terms below 2⁻⁵³ of a sum, and in when
// the symmetric problems stop; each stops once S_ε has changed by less
// than 10⁻⁶ relative for three sweeps, which in these geometric
// convergences leaves it within a few 10⁻⁶ of the fixed point: we allow
// 10⁻⁵ relative. It also requires the same bits under GOMAXPROCS 1 and 2
// (sums in a fixed order).
func TestW2SinkhornPlain(t *testing.T) {
	const tol = 1e-5
	rng := rand.New(rand.NewPCG(9, 9))
	cloud := func(n, d int, f func(i int, x []float64)) *Particles {
		p, _ := NewParticles(n, d, 0)
		x := make([]float64, d)
		for i := 0; i < n; i++ {
			for c := range x {
				x[c] = rng.NormFloat64()
			}
			f(i, x)
			for c := range x {
				p.X[c][i] = x[c]
			}
		}
		return p
	}
	id := func(int, []float64) {}
	cases := []struct {
		name string
		a, b *Particles
		eps  float64
	}{
		{"2-D", cloud(300, 2, id), cloud(200, 2, func(_ int, x []float64) { x[0] = 2*x[0] + 1 }), 0},
		{"3-D", cloud(200, 3, id), cloud(150, 3, func(_ int, x []float64) { x[2] += 1 }), 0},
		{"far", cloud(200, 2, func(_ int, x []float64) { x[0] += 1e3; x[1] -= 2e3 }), cloud(150, 2, func(_ int, x []float64) { x[0] += 1e3 + 0.5; x[1] -= 2e3 }), 0},
		{"repeated", cloud(200, 2, func(i int, x []float64) { x[0], x[1] = float64(i%5), float64(i%7) }), cloud(150, 2, id), 0},
		{"large ε", cloud(200, 2, id), cloud(150, 2, func(_ int, x []float64) { x[0] *= 2 }), 3},
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, c := range cases {
		runtime.GOMAXPROCS(2)
		got, err := W2Sinkhorn(c.a, c.b, c.eps)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := w2SinkhornPlain(c.a, c.b, c.eps)
		if !got.Converged || math.Abs(got.W2-want.W2) > tol*want.W2 {
			t.Errorf("%s: W2Sinkhorn %v, plain %v", c.name, got, want)
		}
		runtime.GOMAXPROCS(1)
		if one, _ := W2Sinkhorn(c.a, c.b, c.eps); one.W2 != got.W2 {
			t.Errorf("%s: %v on one core, %v on two", c.name, one.W2, got.W2)
		}
	}
}

// TestW2LawSample2D: in 2-D a law against a sample is estimated by a
// sample of the law of the same size and the exact assignment; for a
// sample of N(0, I) against N(0, I) the distance is small.
func TestW2LawSample2D(t *testing.T) {
	nrm := ptNormal(t, []float64{0, 0}, []float64{1})
	x := ptSample(t, nrm, 500, 1)
	g, _ := NewMix([]float64{1}, []Dist{nrm}) // not a Gaussian by type: sampled
	res, err := W2(&Points{P: x}, g, &W2Options{Seed: 2})
	if err != nil || res.Method != "assignment" || !res.Sampled || res.M != 500 {
		t.Fatalf("%+v %v", res, err)
	}
	if res.W2 > 0.3 {
		t.Errorf("W2 of two samples of 500 of N(0, I): %g", res.W2)
	}
	if _, err := W2(&Points{P: x}, ptNormal(t, []float64{0}, []float64{1}), nil); err == nil {
		t.Errorf("dimensions 2 and 1 accepted")
	}
}

// assignReference is the shortest-augmenting-path algorithm of Crouse
// (2016, "On implementing 2D rectangular assignment algorithms", IEEE TAES
// 52(4)) without initialisation: simple and slow, the reference Assign is
// checked against on instances too large for brute force.
func assignReference(cost []float64, n int) ([]int, float64, error) {
	if len(cost) != n*n {
		return nil, 0, fmt.Errorf("assign: %d costs for %d×%d", len(cost), n, n)
	}
	for _, c := range cost {
		if math.IsNaN(c) || math.IsInf(c, 0) {
			return nil, 0, fmt.Errorf("assign: the costs must be finite")
		}
	}
	u := make([]float64, n)
	v := make([]float64, n)
	spc := make([]float64, n) // shortest path costs to each column
	path := make([]int, n)    // the row before each column on the path
	col4row := make([]int, n)
	row4col := make([]int, n)
	remaining := make([]int, n)
	visitedRow := make([]bool, n)
	visitedCol := make([]bool, n)
	for i := range col4row {
		col4row[i], row4col[i] = -1, -1
	}
	for cur := 0; cur < n; cur++ {
		// Dijkstra from row cur over reduced costs
		for j := range spc {
			spc[j] = math.Inf(1)
			visitedCol[j] = false
			remaining[j] = n - 1 - j
		}
		clear(visitedRow)
		numRemaining := n
		minVal := 0.0
		i := cur
		sink := -1
		for sink < 0 {
			visitedRow[i] = true
			lowest, index := math.Inf(1), -1
			row := cost[i*n : (i+1)*n]
			ui := u[i]
			for it := 0; it < numRemaining; it++ {
				j := remaining[it]
				r := minVal + row[j] - ui - v[j]
				if r < spc[j] {
					path[j] = i
					spc[j] = r
				}
				if spc[j] < lowest || (spc[j] == lowest && row4col[j] < 0) {
					lowest, index = spc[j], it
				}
			}
			minVal = lowest
			if index < 0 || math.IsInf(minVal, 1) {
				return nil, 0, fmt.Errorf("assign: no feasible assignment")
			}
			j := remaining[index]
			if row4col[j] < 0 {
				sink = j
			} else {
				i = row4col[j]
			}
			visitedCol[j] = true
			numRemaining--
			remaining[index] = remaining[numRemaining]
		}
		// update the duals
		u[cur] += minVal
		for r := 0; r < n; r++ {
			if visitedRow[r] && r != cur {
				u[r] += minVal - spc[col4row[r]]
			}
		}
		for j := 0; j < n; j++ {
			if visitedCol[j] {
				v[j] -= minVal - spc[j]
			}
		}
		// augment along the path
		j := sink
		for {
			r := path[j]
			row4col[j] = r
			col4row[r], j = j, col4row[r]
			if r == cur {
				break
			}
		}
	}
	total := 0.0
	for i, j := range col4row {
		total += cost[i*n+j]
	}
	return col4row, total, nil
}

// TestExpSinkhorn compares expSinkhorn with math.Exp over its range
// [−708, 709] (2·10⁶ points and their neighbours): the table entries, the
// reduction and the polynomial each round once or twice, so the relative
// error stays within a few ulps (2⁻⁵³ ≈ 1.1·10⁻¹⁶); we allow 10⁻¹⁵.
func TestExpSinkhorn(t *testing.T) {
	const tol = 1e-15
	const n = 2_000_000
	worst, at := 0.0, 0.0
	for i := 0; i <= n; i++ {
		x := -708 + 1417*float64(i)/n
		for _, y := range []float64{x, math.Nextafter(x, 0), math.Nextafter(x, -1000)} {
			if y < -708 || y > 709 {
				continue
			}
			want := math.Exp(y)
			if e := math.Abs(expSinkhorn(y)-want) / want; e > worst {
				worst, at = e, y
			}
		}
	}
	if worst > tol {
		t.Errorf("expSinkhorn: relative error %g at %v", worst, at)
	}
	for _, x := range []float64{0, 1, -1, math.Ln2, -math.Ln2 / 128, 600, -45} {
		if got, want := expSinkhorn(x), math.Exp(x); math.Abs(got-want) > tol*want {
			t.Errorf("expSinkhorn(%v) = %v, math.Exp %v", x, got, want)
		}
	}
}

// plainSoftminRef returns −log (1/m) Σⱼ exp(hⱼ − |xᵢ − yⱼ|²) by the
// two-pass method with math.Exp.
func plainSoftminRef(x [][]float64, i int, y [][]float64, h []float64) float64 {
	e := make([]float64, len(h))
	exponents(e, x, i, 0, y, h)
	mx := math.Inf(-1)
	for _, v := range e {
		mx = math.Max(mx, v)
	}
	s := 0.0
	for _, v := range e {
		s += math.Exp(v - mx)
	}
	return -mx - math.Log(s/float64(len(h)))
}

// sinkhornFixture returns a problem between two random clouds of n and m
// points in d dimensions at ε, with random potentials of size about 10ε
// or, when annealed, those of annealing sweeps down to ε.
func sinkhornFixture(n, m, d int, eps float64, seed uint64, annealed bool) *sinkhorn {
	rng := rand.New(rand.NewPCG(seed, seed))
	cloud := func(n int) [][]float64 {
		c := make([][]float64, d)
		for k := range c {
			c[k] = make([]float64, n)
			for i := range c[k] {
				c[k][i] = rng.NormFloat64()
			}
		}
		return c
	}
	s := newSinkhorn(cloud(n), cloud(m))
	if annealed {
		s.anneal(100, eps, 2)
	}
	s.setEps(eps)
	for p := range s.pot {
		for i := range s.pot[p] {
			if !annealed {
				s.pot[p][i] = 10 * eps * rng.NormFloat64()
			}
		}
		scaled(s.scaled[p], s.pot[p], eps)
	}
	return s
}

// TestSinkhornSoftmin checks the one-pass sums against the two-pass method
// with math.Exp, in 2-D (the fused loop) and 3-D, with the guess fᵢ right,
// off by 30 or −5 (one pass: the sum is e^30 or e^−5 times about m), and
// off by −30 or ±1000 (the sum is below s.accept, underflows, or a term
// overflows: the two-pass fallback).
// The results are logarithms of sums of up to 10³ terms of relative error
// ≤ 10⁻¹⁵, each of which is about 1 in magnitude: we allow 10⁻¹³ absolute.
func TestSinkhornSoftmin(t *testing.T) {
	const tol = 1e-13
	for _, d := range []int{2, 3} {
		s := sinkhornFixture(300, 400, d, 0.01, uint64(d), false)
		defer s.pool.close()
		x, y, q := s.coords(pAB)
		h := s.scaled[q]
		buf := make([]float64, 400)
		for i := 0; i < 300; i += 7 {
			want := plainSoftminRef(x, i, y, h)
			for _, c := range []struct {
				off      float64
				fallback bool
			}{{0, false}, {30, false}, {-5, false}, {-30, true}, {1000, true}, {-1000, true}} {
				before := s.fallbacks.Load()
				got := s.softmin(x, i, want+c.off, y, h, buf)
				if math.Abs(got-want) > tol*math.Max(1, math.Abs(want)) {
					t.Fatalf("d = %d, row %d, guess off by %g: %v, want %v", d, i, c.off, got, want)
				}
				if fell := s.fallbacks.Load() > before; fell != c.fallback {
					t.Errorf("d = %d, row %d, guess off by %g: fallback %v", d, i, c.off, fell)
				}
			}
		}
	}
}

// TestSinkhornKernel checks the sums through a stored kernel against the
// two-pass method after the potential summed over has moved since the
// kernel was built: by up to ±3 at every point (the entries absorb it
// through w), and by 40 > kernelSlack at some (dirty columns, summed
// afresh). Tolerance as in TestSinkhornSoftmin.
func TestSinkhornKernel(t *testing.T) {
	const tol = 1e-13
	for _, d := range []int{2, 3} {
		s := sinkhornFixture(600, 500, d, 0.004, 10+uint64(d), true)
		defer s.pool.close()
		s.useKernels()
		x, y, q := s.coords(pAB)
		k := s.kern[pAB]
		if k.prepare(s.scaled[q]) {
			k.setOrigin(s.scaled[pAB], s.scaled[q])
			s.build = append(s.build[:0], k)
			s.pool.run(numTiles(s.na), s.bjob)
			k.finish()
		}
		if k.off {
			t.Fatalf("d = %d: the kernel was refused", d)
		}
		rng := rand.New(rand.NewPCG(5, 5))
		h := s.scaled[q]
		for j := range h {
			h[j] += 3 * (2*rng.Float64() - 1)
			if j%50 == 0 {
				h[j] += 40
			}
		}
		if k.prepare(h) || len(k.dirty) != 10 {
			t.Fatalf("d = %d: %d dirty columns, want 10 and no rebuild", d, len(k.dirty))
		}
		checked := 0
		for i := 0; i < s.na; i++ {
			t0, r := i/Tile, i%Tile
			sum := k.rowSum(t0, r)
			more, over := sumExpAt(x, i, k.f0[i], y, h, k.dirty)
			if over || sum+more < s.accept {
				continue // refused: the caller takes the sum afresh
			}
			got := k.f0[i] - math.Log((sum+more)/float64(len(h)))
			want := plainSoftminRef(x, i, y, h)
			if math.Abs(got-want) > tol*math.Max(1, math.Abs(want)) {
				t.Fatalf("d = %d, row %d: %v from the kernel, want %v", d, i, got, want)
			}
			checked++
		}
		if checked < s.na*9/10 {
			t.Errorf("d = %d: only %d of %d rows summed from the kernel", d, checked, s.na)
		}
	}
}
