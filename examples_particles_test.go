// The particle examples run with their numbers asserted within sampling error: Ornstein–Uhlenbeck, double well, aggregation, mean field, SVGD, blob.
package flowlang_test

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/integrate/quad"

	"flowlang/internal/exampletest"
	"flowlang/lang"
)

// nSigma is how many standard errors a sampled moment may stray from its
// prediction. The examples run with fixed seeds, so a test either always
// passes or always fails; four standard errors make a failure by chance
// (about 6·10⁻⁵ for a normal deviation) far less likely than a real bug,
// while a bias of a fraction of the prediction's size is still caught.
const nSigma = 4

// conserveTol bounds the drift of a quantity a method conserves exactly
// (the mean under an antisymmetric interaction): rounding in sums over
// 10³ particles for 10² steps, about 10⁻¹³ relative each.
const conserveTol = 1e-10

// particleRun returns run i of a script and its final moments.
func particleRun(t *testing.T, s *exampletest.Script, i int) (r *lang.RunRecord, mean, variance []float64, n int) {
	t.Helper()
	runs := s.Runs()
	if i >= len(runs) {
		t.Fatalf("%s: %d runs, want at least %d", s.Path, len(runs), i+1)
	}
	r = runs[i]
	return r, r.Final["mean"].([]float64), r.Final["var"].([]float64), r.Final["n"].(int)
}

// initial returns the cloud's moments at step 0, from the diagnostics.
func initial(t *testing.T, r *lang.RunRecord) (mean, variance []float64) {
	t.Helper()
	m, ok := r.Diagnostics["initial"].(map[string]any)
	if !ok {
		t.Fatalf("run at line %d: no initial moments in the diagnostics", r.Line)
	}
	return m["mean"].([]float64), m["var"].([]float64)
}

func finalW2(t *testing.T, r *lang.RunRecord) float64 {
	t.Helper()
	w, ok := r.Final["w2"].(float64)
	if !ok {
		t.Fatalf("run at line %d: no w2 in final", r.Line)
	}
	return w
}

func within(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if !(math.Abs(got-want) <= tol) {
		t.Errorf("%s = %.6g, want %.6g ± %.3g (off by %.3g)", what, got, want, tol, got-want)
	}
}

// TestLangevinGaussianExample: Ornstein–Uhlenbeck from N(2, 0.5²). With
// m₀ = 2, v₀ = 0.25 the law at t is N(m₀e^(−t), 1 + (v₀ − 1)e^(−2t)).
// The standard errors: the final sample mean has variance v(t)/N exactly
// (the initial sample's own error is part of it), the sample variance
// about v(t)·√(2/N) (the cloud is Gaussian). Euler–Maruyama's bias is
// added to the tolerance: its moments follow m ← (1 − h)m and
// v ← (1 − h)²v + 2h exactly, and their distance from the continuous
// formulas is computed.
func TestLangevinGaussianExample(t *testing.T) {
	s := exampletest.Run(t, "examples/langevin_gaussian.flow")
	s.WantExit(t, 0)
	wantText(t, s, "vd(F)", "x^2/2 + log(q) + 1")

	const m0, v0 = 2.0, 0.25
	r, mean, v, n := particleRun(t, s, 0)
	h := r.Params["h"].(float64)
	N := float64(n)
	mCont, vCont := m0*math.Exp(-r.T), 1+(v0-1)*math.Exp(-2*r.T)
	mDisc, vDisc := m0, v0
	for k := 0; k < r.Steps; k++ {
		mDisc *= 1 - h
		vDisc = (1-h)*(1-h)*vDisc + 2*h
	}
	within(t, "OU mean", mean[0], mCont, nSigma*math.Sqrt(vCont/N)+math.Abs(mDisc-mCont))
	within(t, "OU variance", v[0], vCont, nSigma*vCont*math.Sqrt(2/N)+math.Abs(vDisc-vCont))
	// W2 to the exact law: at least the distance of the moments
	// (√((Δm)² + (Δs)²) for Gaussians), and of the order of a sample's own
	// distance from its law, about 0.007 at N = 20000 (double_well.flow
	// shows one); 0.05 is far above both and far below the start's 1.3
	w := finalW2(t, r)
	if lo := math.Hypot(mean[0]-mCont, math.Sqrt(v[0])-math.Sqrt(vCont)); !(w >= lo-1e-12 && w < 0.05) {
		t.Errorf("OU w2 = %g, want in [%g, 0.05)", w, lo)
	}

	// MALA leaves N(0, 1) exactly invariant; 100 steps of h = 0.5
	// (acceptance about 0.92) forget the start, and the chains are
	// independent, so the cloud is a sample of N(0, 1)
	r, mean, v, n = particleRun(t, s, 1)
	N = float64(n)
	within(t, "MALA mean", mean[0], 0, nSigma/math.Sqrt(N))
	within(t, "MALA variance", v[0], 1, nSigma*math.Sqrt(2/N))
	if a, _ := r.Diagnostics["accept"].(float64); !(a > 0.5 && a < 1) {
		t.Errorf("MALA acceptance %v, want in (0.5, 1)", r.Diagnostics["accept"])
	}
}

// gibbsMoments returns E[x²] and E[x⁴] under exp(−V)/Z by Gauss–Legendre
// quadrature on [−6, 6] (exp(−V) < 10⁻¹³⁰ beyond), in 120 panels of 16
// nodes: exact to rounding for this smooth integrand.
func gibbsMoments(V func(float64) float64) (m2, m4 float64) {
	moment := func(k int) float64 {
		f := func(x float64) float64 { return math.Pow(x, float64(k)) * math.Exp(-V(x)) }
		s := 0.0
		for p := 0; p < 120; p++ {
			lo := -6 + 0.1*float64(p)
			s += quad.Fixed(f, lo, lo+0.1, 16, quad.Legendre{}, 0)
		}
		return s
	}
	z := moment(0)
	return moment(2) / z, moment(4) / z
}

// TestDoubleWellExample: MALA's cloud is a sample of exp(−V)/Z with
// V = x⁴/4 − x²/2 (independent chains, exact invariance; 200 steps of
// h = 0.2 cross the barrier of height 1/4 many times). Its mean is 0 and
// its variance E[x²] within their standard errors √(E[x²]/N) and
// √((E[x⁴] − E[x²]²)/N), the moments computed by quadrature.
func TestDoubleWellExample(t *testing.T) {
	s := exampletest.Run(t, "examples/double_well.flow")
	s.WantExit(t, 0)
	s.WantCheck(t, "check vd(F) ==", true)
	m2, m4 := gibbsMoments(func(x float64) float64 { return x*x*x*x/4 - x*x/2 })
	_, mean, v, n := particleRun(t, s, 0)
	N := float64(n)
	within(t, "MALA mean", mean[0], 0, nSigma*math.Sqrt(m2/N))
	within(t, "MALA variance", v[0], m2, nSigma*math.Sqrt((m4-m2*m2)/N))

	// W2 to the Gibbs law by quantile functions: an exact sample of the
	// same size (shown) is at about 0.007; MALA's sample is one too, and
	// Langevin's O(h) bias (h = 0.01) adds about as much again. 0.05 is
	// far below W2 between N(0, 1), the start, and the Gibbs law (0.19)
	rm, _, _, _ := particleRun(t, s, 0)
	rl, _, _, _ := particleRun(t, s, 1)
	exact := s.Show(t, "w2(sample(gibbs(V), 20000), gibbs(V))").Value.(float64)
	for _, w := range []float64{finalW2(t, rm), finalW2(t, rl), exact} {
		if !(w > 0 && w < 0.05) {
			t.Errorf("double well: w2 = %g, want in (0, 0.05)", w)
		}
	}
	if info := s.Show(t, "w2(sample(gibbs(V), 20000), gibbs(V))").Info; info["method"] != "quantile" {
		t.Errorf("w2 of a 1-D sample and a law computed by %v, want quantile", info["method"])
	}
}

// TestAggregationExample: with W(z) = |z|²/2 the drift of particle i is
// exactly −(xᵢ − mean), so each explicit Euler step multiplies the
// deviations by 1 − h: the mean is conserved and the variance of each
// coordinate is v₀(1 − h)^(2k), within rounding; that is v₀e^(−2t) up to
// Euler's O(h) error.
//
// With random batches of two, the pair (i, j) moves as
// dᵢⱼ ← (1 − 2hf)dᵢⱼ with f = (N − 1)/N, keeping the pair's mean (so the
// mean is conserved), and averaging over the random pairing gives
// E[v_{k+1}] = v_k(1 − 2h + 2h²f). The pairing's fluctuation: a step
// changes v by (1/N)Σ_pairs (d²/2)((1 − 2hf)² − 1), whose standard
// deviation for a Gaussian cloud is about 4h·v/√N, so after k steps the
// relative error is about 4h√(k/N).
func TestAggregationExample(t *testing.T) {
	s := exampletest.Run(t, "examples/aggregation.flow")
	s.WantExit(t, 0)
	wantText(t, s, "velocity(A)", "[-integral(q(y)*(x[1] - y[1]), y), -integral(q(y)*(x[2] - y[2]), y)]")

	const exactTol = 1e-9 // rounding in 100 steps of O(N) sums
	r, mean, v, _ := particleRun(t, s, 0)
	m0, v0 := initial(t, r)
	h, k := r.Params["h"].(float64), r.Steps
	decay := math.Pow(1-h, 2*float64(k))
	for c := range v {
		within(t, "exact mean", mean[c], m0[c], conserveTol)
		within(t, "exact variance", v[c], v0[c]*decay, exactTol*v0[c])
		within(t, "exact variance vs e^(−2t)", v[c], v0[c]*math.Exp(-2*r.T), v0[c]*math.Abs(decay-math.Exp(-2*r.T))+exactTol)
	}

	r, mean, v, n := particleRun(t, s, 1)
	m0, v0 = initial(t, r)
	N := float64(n)
	f := (N - 1) / N
	rbm := math.Pow(1-2*h+2*h*h*f, float64(k))
	rel := nSigma * 4 * h * math.Sqrt(float64(k)/N)
	for c := range v {
		within(t, "random batch mean", mean[c], m0[c], conserveTol)
		within(t, "random batch variance", v[c], v0[c]*rbm, rel*v0[c]*rbm)
		within(t, "random batch variance vs e^(−2t)", v[c], v0[c]*math.Exp(-2*r.T), rel*v0[c]*rbm+v0[c]*math.Abs(rbm-math.Exp(-2*r.T)))
	}
	if r.Diagnostics["batch"] != 2 {
		t.Errorf("random batch run: batch = %v, want 2", r.Diagnostics["batch"])
	}
}

// TestMeanFieldExample: dXᵢ = −Xᵢ dt − (Xᵢ − mean) dt + √2 dWᵢ from
// N(1.5, 0.5²). The mean of the particles obeys d(mean) = −mean dt +
// √(2/N) dB, so at t it is m₀e^(−t) with variance
// v₀e^(−2t)/N + (1 − e^(−2t))/N; the variance relaxes to 1/2 as
// 1/2 + (v₀ − 1/2)e^(−4t), with standard error about v√(2/N).
//
// Euler–Maruyama's moments follow m ← (1 − h)m and, for the exact
// interaction, v ← (1 − 2h)²v + 2h(N − 1)/N (the noise's own mean takes
// 1/N of it); random batches of two give, averaged over the pairing,
// v ← (1 − 4h + 3h² + 2h²f)v + 2h(N − 1)/N with f = (N − 1)/N, and their
// fluctuation adds a relative 4h√(k/N) (see TestAggregationExample). The
// distance of these from the continuous formulas is added to the
// tolerances.
func TestMeanFieldExample(t *testing.T) {
	s := exampletest.Run(t, "examples/mean_field.flow")
	s.WantExit(t, 0)
	wantText(t, s, "vd(F)", "x^2/2 + log(q) + integral(q(y)*(x - y)^2, y)/2 + 1")

	const m0, v0 = 1.5, 0.25
	for i, batch := range []bool{false, true} {
		r, mean, v, n := particleRun(t, s, i)
		N := float64(n)
		h, k, tt := r.Params["h"].(float64), r.Steps, r.T
		mCont := m0 * math.Exp(-tt)
		vCont := 0.5 + (v0-0.5)*math.Exp(-4*tt)
		mDisc, vDisc := m0, v0
		f := (N - 1) / N
		for j := 0; j < k; j++ {
			mDisc *= 1 - h
			if batch {
				vDisc = (1-4*h+3*h*h+2*h*h*f)*vDisc + 2*h*f
			} else {
				vDisc = (1-2*h)*(1-2*h)*vDisc + 2*h*f
			}
		}
		seMean := math.Sqrt(v0*math.Exp(-2*tt)/N + (1-math.Exp(-2*tt))/N)
		seVar := vCont * math.Sqrt(2/N)
		if batch {
			seVar += vCont * 4 * h * math.Sqrt(float64(k)/N)
		}
		within(t, "mean-field mean", mean[0], mCont, nSigma*seMean+math.Abs(mDisc-mCont))
		within(t, "mean-field variance", v[0], vCont, nSigma*seVar+math.Abs(vDisc-vCont))
		// W2 to the exact law N(m(t), v(t)): at least the moments'
		// distance, and below 0.2 (a tenth of the start's 0.96)
		w := finalW2(t, r)
		if lo := math.Hypot(mean[0]-mCont, math.Sqrt(v[0])-math.Sqrt(vCont)); !(w >= lo-1e-12 && w < 0.2) {
			t.Errorf("mean-field w2 = %g, want in [%g, 0.2)", w, lo)
		}
	}
}

// TestSVGDGaussianExample: SVGD's particles on p = N(1, 0.5²) are a
// deterministic, evenly spread cloud: they must be at least as close to p
// as an independent sample of the same size — in W2 (the script shows
// one), and in mean and variance within an independent sample's standard
// errors, 0.5/√N and 0.25·√(2/N).
func TestSVGDGaussianExample(t *testing.T) {
	s := exampletest.Run(t, "examples/svgd_gaussian.flow")
	s.WantExit(t, 0)
	wantText(t, s, "vd(F)", "2*(x - 1)^2 + log(q) + 1")
	r, mean, v, n := particleRun(t, s, 0)
	N := float64(n)
	within(t, "SVGD mean", mean[0], 1, nSigma*0.5/math.Sqrt(N))
	within(t, "SVGD variance", v[0], 0.25, nSigma*0.25*math.Sqrt(2/N))
	iid := s.Show(t, "w2(sample(normal(1, 0.5), 200), normal(1, 0.5))").Value.(float64)
	if w := finalW2(t, r); !(w < iid) {
		t.Errorf("SVGD w2 = %g, not below an independent sample's %g", w, iid)
	}
	if bw, _ := r.Diagnostics["bandwidth"].(float64); !(bw > 0) {
		t.Errorf("SVGD bandwidth %v, want the median heuristic's positive value", r.Diagnostics["bandwidth"])
	}
}

// blobRate is the blob method's rate of growth of the variance of a
// Gaussian of variance s² with mollifier width ε (Carrillo, Craig,
// Patacchini 2019; solvers.Blob): 2(s²/(s² + ε²) + s²ε²/(s² + ε²)²),
// 2 − O(ε⁴) against the heat equation's 2.
func blobRate(s2, eps float64) float64 {
	e2 := eps * eps
	return 2 * (s2/(s2+e2) + s2*e2/((s2+e2)*(s2+e2)))
}

// TestBlobHeatExample: the blob method keeps the mean exactly (its
// velocity is antisymmetric in pairs) and grows the variance at
// blobRate, integrated here by RK4; the increase over t = 0.5 must match
// to 1%, which covers the smoothing of a finite random cloud (measured
// over ten seeds at N = 600, ε = 0.3: −0.17% ± 0.08%, at most 0.33%)
// and explicit Euler's O(h). Against the heat equation's v₀ + 2t the
// tolerance adds the blob's own O(ε⁴) deficit, computed.
func TestBlobHeatExample(t *testing.T) {
	s := exampletest.Run(t, "examples/blob_heat.flow")
	s.WantExit(t, 0)
	wantText(t, s, "pde(H)", "diff(q, x, 2)")
	r, mean, v, _ := particleRun(t, s, 0)
	m0, v0 := initial(t, r)
	eps := r.Params["eps"].(float64)
	w := v0[0]
	const rk4Steps = 1000
	dt := r.T / rk4Steps
	for k := 0; k < rk4Steps; k++ {
		k1 := blobRate(w, eps)
		k2 := blobRate(w+dt/2*k1, eps)
		k3 := blobRate(w+dt/2*k2, eps)
		k4 := blobRate(w+dt*k3, eps)
		w += dt / 6 * (k1 + 2*k2 + 2*k3 + k4)
	}
	const blobTol = 0.01 // of the increase 2t (see above)
	within(t, "blob mean", mean[0], m0[0], conserveTol)
	within(t, "blob variance", v[0], w, blobTol*2*r.T)
	heat := v0[0] + 2*r.T
	within(t, "blob variance vs v₀ + 2t", v[0], heat, blobTol*2*r.T+math.Abs(w-heat))
}
