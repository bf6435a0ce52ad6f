// Tests of densities and functionals: variational derivatives against their definition, closed forms, round trips, checks with integrals.
package lang

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	ad "flowlang/autodiff"
	"flowlang/internal/golden"
)

// TestFunctionalGolden runs the testdata/functional*.flow scripts: every
// standard-library functional against its hand-derived variational
// derivative, checks with integrals, and bad input with the errors it must
// produce. Rewrite the .out files with
//
//	go test ./lang -run TestFunctionalGolden -update
func TestFunctionalGolden(t *testing.T) {
	golden.Run(t, golden.Glob(t, "testdata/functional*.flow"), GoldenExec)
}

// session runs declarations in a fresh interpreter and fails the test on
// any error.
func session(t *testing.T, src string) *Interp {
	t.Helper()
	var errs bytes.Buffer
	in := New(Options{Out: &TextReporter{Out: &bytes.Buffer{}, Err: &errs}, Seed: 1})
	if err := in.ExecFile("test.flow", []byte(src)); err != nil {
		t.Fatalf("%s\n%s", src, errs.String())
	}
	return in
}

// evalIn resolves an expression as a show statement would.
func evalIn(t *testing.T, in *Interp, expr string) Value {
	t.Helper()
	f, errs := Parse("expr.flow", []byte("show "+expr))
	if len(errs) > 0 {
		t.Fatalf("%s: %v", expr, errs)
	}
	s := in.newScope(f.Src, true)
	v, err := s.eval(f.Stmts[0].(*ShowStmt).X)
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// mixture is a weighted sum of Gaussians Σ w[k]·N(m[k], diag(s[k]²)); the
// weights may be negative (a perturbation η).
type mixture struct {
	w    []float64
	m, s [][]float64
}

// plus returns the mixture a + c·b.
func (a mixture) plus(c float64, b mixture) mixture {
	out := mixture{w: append([]float64(nil), a.w...), m: append([][]float64(nil), a.m...), s: append([][]float64(nil), a.s...)}
	for k, w := range b.w {
		out.w = append(out.w, c*w)
		out.m = append(out.m, b.m[k])
		out.s = append(out.s, b.s[k])
	}
	return out
}

// expr returns the mixture as an expression in the density's variable.
func (a mixture) expr(sp *ad.Space) *ad.Node {
	var terms []*ad.Node
	for k, w := range a.w {
		f := []*ad.Node{ad.FloatNode(w)}
		for i := range sp.Coords() {
			u := ad.Scale(ad.Sub(sp.Coord(sp.Var, i), ad.FloatNode(a.m[k][i])), ad.Float(1/a.s[k][i]))
			f = append(f, ad.Call("exp", ad.Scale(ad.Mul(u, u), ad.Float(-0.5))), ad.FloatNode(1/(a.s[k][i]*math.Sqrt(2*math.Pi))))
		}
		terms = append(terms, ad.Mul(f...))
	}
	return ad.Add(terms...)
}

// The first variation, d/dε F[q + εη] at 0, is taken by the five-point
// central difference [8(F(h) − F(−h)) − (F(2h) − F(−2h))]/(12h), whose
// truncation error is h⁴F⁽⁵⁾/30 ≈ 1e-13·F⁽⁵⁾ and whose rounding error is
// about 1e-16·|F|/h ≈ 1e-13·|F|. Both it and ∫vd·η use the same
// quadrature nodes, so they agree up to the error of integrating by parts
// under the rule: about 1e-10 with the fine rule (TestTestDensityQuadrature),
// none for integrals without derivatives of q. vdTol leaves a margin of
// a hundred over the worst of these.
const (
	fdStep = 1e-3
	vdTol  = 1e-8
)

// firstVariation returns d/dε F[q + εη] at ε = 0 by differences and ∫vd·η.
func firstVariation(t *testing.T, sp *ad.Space, f, vd *ad.Node, q, eta mixture) (fd, pairing float64) {
	t.Helper()
	// two-dimensional nested integrals use a smaller rule than checks do:
	// the difference quotient and ∫vd·η are the same double sums over its
	// nodes whatever their number
	td := &testDensities{sp: sp, programs: map[*ad.Node]*integrand{}, nested2DNodes: 32}
	value := func(m mixture, e *ad.Node) float64 {
		td.set(m.w, m.m, m.s)
		ev := ad.Evaluator{Values: map[*ad.Node]float64{}, Integral: td.eval}
		v, err := ev.Eval(e)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	h := fdStep
	fd = (8*(value(q.plus(h, eta), f)-value(q.plus(-h, eta), f)) - (value(q.plus(2*h, eta), f) - value(q.plus(-2*h, eta), f))) / (12 * h)
	// the same nodes: the box of q and η together, η with weight 0
	pairing = value(q.plus(0, eta), ad.Integral(ad.Mul(vd, eta.expr(sp)), sp.Var, sp.Dim, true))
	return fd, pairing
}

// minVariation is the smallest first variation the tests below compare:
// q and η are chosen so that every case is at least this large, and a
// comparison of two tiny numbers would test nothing.
const minVariation = 1e-4

// TestVariationalDerivativeFromDefinition checks vd(F) against the
// definition of the variational derivative: for a test density q and a
// perturbation η, d/dε F[q + εη] at 0 must equal ∫ vd(F)·η. This catches
// wrong signs, missing terms and mistakes in integrating by parts, for
// local terms of any derivative order and for nonlocal terms nested to any
// depth, with symmetric and asymmetric kernels.
func TestVariationalDerivativeFromDefinition(t *testing.T) {
	one := []string{
		"potential(V) + entropy()",
		"free_energy(V, 2)",
		"kl(p(x))",
		"fdiv(f_kl, p(x))",
		"fdiv(f_rkl, p(x))",
		"fdiv(f_chi2, p(x))",
		"fdiv(f_hellinger, p(x))",
		"fdiv(f_js, p(x))",
		"fdiv(f_tv, p(x))",
		"fisher()",
		"porous(2)",
		"porous(3)",
		"porous(1.5)",
		"interaction(K)",
		"interaction(B)",
		"interaction(C)",
		"integral(diff(q, x, 2)^2)",
		"integral(diff(q, x, 3)^2)",
		"integral(q*diff(q, x)^2)",
		"integral(x^2*diff(q, x)^2/q)",
		"integral(sin(x)*diff(q, x)*diff(q, x, 2)/(1 + q^2))",
		"integral(q*integral(B(x - y)*q(y), y)^2)",
		"integral(q*exp(integral(B(x - y)*q(y), y)))",
		"integral(q*integral(q(y)*B(x - y)*integral(q(z)*A(y - z), z), y))",
		"integral(integral(diff(q, x)*q(y)*B(x - y), y))",
		"integral(integral(q*diff(q(y), y)^2*B(x - y), y))",
		"integral(x^2*q)*integral(q*log(q))",
		"integral(q*log(q)) + 1/2*integral(integral(K(x - y)*q*q(y), y)) + integral(x*q)^2",
	}
	decl1 := `density q(x)
def V(x) = x^4/4 - x^2/2
def p(x) = exp(-x^2/2)/sqrt(2*pi)
def K(z) = exp(-z^2)
def A(z) = z^3 + z
def B(z) = exp(-(z - 1)^2/2)
def C(z) = z^3 + z^2
`
	// q with standard deviations above p's, so that ∫p²/q is finite; η
	// narrower than q, so that q + εη > 0 for |ε| ≤ 2h
	q1 := []mixture{
		{w: []float64{0.6, 0.4}, m: [][]float64{{-0.4}, {0.7}}, s: [][]float64{{1.3}, {1.5}}},
		{w: []float64{0.3, 0.7}, m: [][]float64{{0.5}, {-0.2}}, s: [][]float64{{1.6}, {1.2}}},
	}
	eta1 := []mixture{
		{w: []float64{1, -0.7}, m: [][]float64{{0.2}, {-0.5}}, s: [][]float64{{0.8}, {0.9}}},
		{w: []float64{-0.4, 0.9}, m: [][]float64{{-0.8}, {0.3}}, s: [][]float64{{1.0}, {0.85}}},
	}
	two := []string{
		"potential(V) + entropy()",
		"fisher()",
		"integral(laplacian(q)^2)",
		"integral(q*diff(q, x[1], x[2])^2)",
		"integral(x[1]*diff(q, x[1], 2)*diff(q, x[2]) + norm2(grad(q))^2/q^3)",
		"interaction(A)",
	}
	decl2 := `density q(x[2])
def V(x[2]) = x[1]^2/2 + x[1]*x[2]/3 + x[2]^4/4
def A(z[2]) = (z[1] - 1/2)^2*z[2] + z[1]
`
	q2 := []mixture{{w: []float64{0.55, 0.45}, m: [][]float64{{-0.3, 0.2}, {0.6, -0.4}}, s: [][]float64{{1.2, 1.4}, {1.5, 1.1}}}}
	eta2 := []mixture{{w: []float64{1, -0.6}, m: [][]float64{{0.1, 0.3}, {-0.4, -0.2}}, s: [][]float64{{0.9, 0.8}, {0.8, 1.0}}}}

	cases := []struct {
		decl   string
		bodies []string
		qs     []mixture
		etas   []mixture
	}{{decl1, one, q1, eta1}, {decl2, two, q2, eta2}}
	for _, c := range cases {
		var src strings.Builder
		src.WriteString(c.decl)
		for i, b := range c.bodies {
			fmt.Fprintf(&src, "functional F%d[q] = %s\n", i, b)
		}
		in := session(t, src.String())
		for i, b := range c.bodies {
			fi := in.functionals[fmt.Sprintf("F%d", i)]
			sp := &fi.space
			vd, err := sp.VariationalDerivative(fi.value)
			if err != nil {
				t.Fatalf("%s: %v", b, err)
			}
			for k := range c.qs {
				if k > 0 && integralLevels(vd) > 1 {
					break // nested: one case (the cost is a power of the rule's size)
				}
				fd, pairing := firstVariation(t, sp, fi.value, vd, c.qs[k], c.etas[k])
				scale := math.Max(math.Abs(fd), math.Abs(pairing))
				if !(math.Abs(fd-pairing) <= vdTol*scale && scale >= minVariation) {
					t.Errorf("%s (%d-D, case %d): d/dε F[q + εη] = %.12g but ∫vd·η = %.12g\nvd = %s",
						b, sp.Coords(), k, fd, pairing, ad.String(vd))
				}
			}
		}
	}
}

// TestWrongVariationalDerivativesFail makes sure the comparison above has
// teeth: plausible mistakes (a sign in integrating by parts, the
// symmetric formula for an asymmetric kernel, the heat equation's vd for
// the Fisher information) disagree with the definition.
func TestWrongVariationalDerivativesFail(t *testing.T) {
	in := session(t, `density q(x)
def A(z) = z^3 + z
def B(z) = exp(-(z - 1)^2/2)
functional I[q] = fisher()
functional L[q] = integral(diff(q, x, 2)^2)
functional W[q] = interaction(B)
functional N[q] = integral(q*integral(B(x - y)*q(y), y)^2)
`)
	wrong := []struct{ functional, vd string }{
		{"I", "diff(q, x)^2/q^2 + 2*diff(q, x, 2)/q"},
		{"I", "log(q) + 1"},
		{"L", "-2*diff(q, x, 4)"},
		{"W", "integral(B(x - y)*q(y), y)"},
		{"N", "integral(B(x - y)*q(y), y)^2 + 2*integral(q(y)*B(x - y)*integral(B(y - z)*q(z), z), y)"},
	}
	q := mixture{w: []float64{0.6, 0.4}, m: [][]float64{{-0.4}, {0.7}}, s: [][]float64{{1.3}, {1.5}}}
	eta := mixture{w: []float64{1, -0.7}, m: [][]float64{{0.2}, {-0.5}}, s: [][]float64{{0.8}, {0.9}}}
	for _, w := range wrong {
		fi := in.functionals[w.functional]
		vd := evalIn(t, in, w.vd).S()
		fd, pairing := firstVariation(t, &fi.space, fi.value, vd, q, eta)
		if math.Abs(fd-pairing) <= 1e-3*math.Max(math.Abs(fd), math.Abs(pairing)) {
			t.Errorf("vd(%s) = %s passes: d/dε F = %.12g, ∫vd·η = %.12g", w.functional, w.vd, fd, pairing)
		}
	}
}

// TestTestDensityQuadrature measures the quadrature of checks against the
// closed form ∫ ∂^α N_a ∂^α N_b = Π_i (−1)^{αᵢ} g⁽²ᵅⁱ⁾(m_ai − m_bi), g the
// normal density of variance s_ai² + s_bi²: the fine rule must be exact to
// 1e-9 up to derivatives of order 6, in one and two dimensions, for random
// test densities as checks draw them.
func TestTestDensityQuadrature(t *testing.T) {
	const quadTol = 1e-9 // the fine rule's accuracy promised in testdensity.go, with a margin of 10
	rng := rand.New(rand.NewPCG(7, 11))
	for _, dim := range []int{0, 2} {
		sp := &ad.Space{Density: "q", Var: "x", Dim: dim}
		td := &testDensities{sp: sp, programs: map[*ad.Node]*integrand{}}
		for trial := range 10 {
			td.weights = nil
			td.draw(rng)
			for k := 0; k <= 6; k++ {
				alpha := make([]uint8, sp.Coords())
				alpha[0] = uint8(k)
				if dim == 2 {
					alpha[1] = uint8(trial % 3)
				}
				j := sp.Q("x", alpha)
				got, err := td.integrate(ad.Integral(ad.Mul(j, j), "x", dim, true), map[*ad.Node]float64{}, 0)
				if err != nil {
					t.Fatal(err)
				}
				want := 0.0
				for a := range td.weights {
					for b := range td.weights {
						v := td.weights[a] * td.weights[b]
						for i := range sp.Coords() {
							s := math.Hypot(td.sds[a][i], td.sds[b][i])
							v *= math.Pow(-1, float64(alpha[i])) * gaussFactor(td.means[a][i]-td.means[b][i], 0, s, 2*int(alpha[i]))
						}
						want += v
					}
				}
				if e := math.Abs(got-want) / want; e > quadTol {
					t.Errorf("%d-D ∫(∂^%v q)² = %.15g, closed form %.15g (relative error %.2g)", sp.Coords(), alpha, got, want, e)
				}
			}
		}
	}
}

// TestFunctionalRoundTrip prints variational derivatives, velocities and
// PDEs (local and nonlocal, one and two dimensions, mixed partials) and
// parses the text back in the same session: it must give the same node.
func TestFunctionalRoundTrip(t *testing.T) {
	scripts := []struct {
		decl  string
		exprs []string
	}{{
		decl: `density q(x)
def V(x) = x^4/4 - x^2/2
def K(z) = exp(-z^2)
def A(z) = z^3 + z
functional F[q] = potential(V) + entropy()
functional I[q] = fisher()
functional W[q] = interaction(A)
functional N[q] = integral(q*integral(K(x - y)*q(y), y)^2)
functional T[q] = integral(q*integral(q(y)*K(x - y)*integral(q(z)*A(y - z), z), y))
functional P[q] = integral(integral(q(z)*A(x - z), z)*integral(q(w)*K(x - w), w)*q)
functional M[q] = integral(x^2*q)*integral(q*log(q)) + integral(q)^2
`,
		exprs: []string{"vd(F)", "pde(F)", "velocity(F)", "vd(I)", "pde(I)", "vd(W)", "pde(W)", "velocity(W)",
			"vd(N)", "pde(N)", "vd(T)", "vd(P)", "vd(M)", "W", "N", "T", "P", "M", "diff(q*x^3, x, 3)",
			"integral(q(z)*A(x - z), z)", "integral(q(z), z)"},
	}, {
		decl: `density q(x[2])
def K(z[2]) = exp(-norm2(z))
functional I[q] = fisher()
functional M[q] = integral(q*diff(q, x[1], x[2])^2)
functional L[q] = integral(laplacian(q)^2 + diff(q, x[1], 3, x[2])*x[2])
functional W[q] = integral(q*integral(K(x - y)*q(y), y)^2)
`,
		exprs: []string{"vd(I)", "pde(I)", "velocity(I)", "vd(M)", "pde(M)", "vd(L)", "vd(W)", "velocity(W)",
			"diff(q, x[1], x[2])", "laplacian(q*x[1]^2)", "div([q*x[2], q*x[1]])"},
	}}
	for _, sc := range scripts {
		in := session(t, sc.decl)
		for _, e := range sc.exprs {
			v := evalIn(t, in, e)
			for i, el := range v.Elems {
				text := ad.String(el)
				back := evalIn(t, in, text)
				if !back.IsScalar() || back.S() != el {
					t.Errorf("%s[%d] prints as\n\t%s\nwhich parses back to\n\t%s", e, i, text, back.String())
				}
			}
		}
	}
}

// TestFunctionalCanonical checks that the same functional written with
// other names, orders and groupings is the same node, and so is its vd.
func TestFunctionalCanonical(t *testing.T) {
	in := session(t, `density q(x)
def K(z) = exp(-z^2)
functional W1[q] = 1/2*integral(integral(K(x - y)*q*q(y), y))
functional W2[q] = integral(q*integral(q(s)*K(s - x), s))/2
functional W3[q] = interaction(K)
functional N1[q] = integral(integral(q*q(y), y))
functional N2[q] = integral(q)^2
`)
	same := func(a, b string) {
		t.Helper()
		va, vb := evalIn(t, in, a), evalIn(t, in, b)
		if va.S() != vb.S() {
			t.Errorf("%s = %s but %s = %s", a, va.String(), b, vb.String())
		}
	}
	same("W1", "W2")
	same("W1", "W3")
	same("vd(W1)", "vd(W2)")
	same("N1", "N2")
	same("vd(N1)", "2*integral(q)")
	same("integral(q(z)*K(x - z), z)", "integral(K(y - x)*q(y), y)")
}

// TestFunctionalLaTeX prints variational derivatives as LaTeX: braces
// balance, integrals and derivatives are typeset, and a density
// derivative followed by another factor is parenthesised (∂ₓq (x³ − x) is
// not the derivative of a product).
func TestFunctionalLaTeX(t *testing.T) {
	in := session(t, `density q(x[2])
def V(x[2]) = x[1]^4/4 - x[2]^2/2
def K(z[2]) = exp(-norm2(z))
functional F[q] = potential(V) + entropy() + integral(q*diff(q, x[1], x[2])^2)
functional W[q] = integral(q*integral(K(x - y)*q(y), y)^2)
`)
	for _, e := range []string{"vd(F)", "pde(F)", "vd(W)", "velocity(W)"} {
		for _, el := range evalIn(t, in, e).Elems {
			tex := ad.LaTeX(el)
			if strings.Count(tex, "{") != strings.Count(tex, "}") || strings.Count(tex, `\left(`) != strings.Count(tex, `\right)`) {
				t.Errorf("%s: unbalanced LaTeX %s", e, tex)
			}
			if strings.Contains(tex, "diff(") || strings.Contains(tex, "integral(") {
				t.Errorf("%s: LaTeX %s", e, tex)
			}
			// \partial_{x} q \left(...\right) would read as the derivative of a product
			for rest := tex; ; {
				i := strings.Index(rest, ` q \left(`)
				if i < 0 {
					break
				}
				if token := rest[strings.LastIndex(rest[:i], " ")+1 : i]; strings.Contains(token, `\partial`) {
					t.Errorf("%s: unparenthesised derivative before a factor in %s", e, tex)
					break
				}
				rest = rest[i+1:]
			}
		}
	}
	if tex := ad.LaTeX(evalIn(t, in, "vd(W)").S()); !strings.Contains(tex, `\,\mathrm{d}z`) || !strings.Contains(tex, `q(y)`) {
		t.Errorf("vd(W) = %s: no nested integral over z", tex)
	}
	if tex := ad.LaTeX(evalIn(t, in, "pde(F)").S()); !strings.Contains(tex, `\partial_{x_{1}}^{2}\partial_{x_{2}}^{2} q`) {
		t.Errorf("pde(F) = %s: no mixed partial", tex)
	}
}
