// Tests of densities: total derivatives, Euler–Lagrange to high order, nonlocal terms, canonical integration variables, cost.
package autodiff

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"
)

// jetOf returns ∂^α q(point) for a density q over x (dim 0) or x[1..dim].
func jetOf(sp Space, point string, alpha ...uint8) *Node {
	a := make([]uint8, sp.Coords())
	copy(a, alpha)
	return sp.Q(point, a)
}

var (
	line  = Space{Density: "q", Var: "x"}
	plane = Space{Density: "q", Var: "x", Dim: 2}
)

func mustVD(t testing.TB, sp Space, f *Node) *Node {
	t.Helper()
	v, err := sp.VariationalDerivative(f)
	if err != nil {
		t.Fatalf("vd(%s): %v", String(f), err)
	}
	return v
}

func TestTotalDiff(t *testing.T) {
	x := Symbol("x", 0)
	q, q1, q2 := jetOf(line, "x"), jetOf(line, "x", 1), jetOf(line, "x", 2)
	// D(x³q) = 3x²q + x³q'
	d, err := line.TotalDiff(Mul(PowNum(x, Int(3)), q), "x", 0)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "D(x^3 q)", d, Add(Mul(IntNode(3), PowNum(x, Int(2)), q), Mul(PowNum(x, Int(3)), q1)))
	// D log q = q'/q, D(q'/q) = q''/q − q'²/q²
	d, _ = line.TotalDiff(Call("log", q), "x", 0)
	same(t, "D log q", d, Div(q1, q))
	d, _ = line.TotalDiff(d, "x", 0)
	same(t, "D² log q", d, Sub(Div(q2, q), Div(PowNum(q1, Int(2)), PowNum(q, Int(2)))))
	// a jet at another point is a constant for Dₓ, and Dₓ passes into ∫dy
	y := Symbol("y", 0)
	k := Call("exp", Neg(PowNum(Sub(x, y), Int(2))))
	in := Integral(Mul(k, jetOf(line, "y")), "y", 0, false)
	d, _ = line.TotalDiff(in, "x", 0)
	same(t, "Dₓ∫K(x−y)q(y)", d, Integral(Mul(Diff(k, x), jetOf(line, "y")), "y", 0, false))
	// mixed partials commute: D₁D₂ = D₂D₁ on q₁·q₂²
	e := Mul(jetOf(plane, "x", 1, 0), PowNum(jetOf(plane, "x", 0, 1), Int(2)), Symbol("x", 1))
	a, _ := plane.TotalDiff(e, "x", 0)
	a, _ = plane.TotalDiff(a, "x", 1)
	b, _ := plane.TotalDiff(e, "x", 1)
	b, _ = plane.TotalDiff(b, "x", 0)
	same(t, "D1 D2 = D2 D1", Expand(a), Expand(b))
	// the order limit is an error, not a panic
	if _, err := line.TotalDiff(jetOf(line, "x", MaxJetOrder), "x", 0); err == nil {
		t.Error("no error beyond MaxJetOrder")
	}
}

// TestEulerLagrangeHighOrder checks δ/δq ∫(∂ᵏq)² = 2(−1)ᵏ∂²ᵏq and
// δ/δq ∫q(∂ᵏq)² = (∂ᵏq)² + 2(−1)ᵏ Σⱼ C(k, j) ∂ʲq ∂²ᵏ⁻ʲq (Leibniz) up to k = 12.
func TestEulerLagrangeHighOrder(t *testing.T) {
	x := "x"
	for k := 1; k <= 12; k++ {
		qk := jetOf(line, x, uint8(k))
		sign := int64(1 - 2*(k%2))
		got := mustVD(t, line, Integral(PowNum(qk, Int(2)), x, 0, true))
		same(t, fmt.Sprintf("vd ∫(∂^%d q)²", k), got, Mul(IntNode(2*sign), jetOf(line, x, uint8(2*k))))

		got = mustVD(t, line, Integral(Mul(jetOf(line, x), PowNum(qk, Int(2))), x, 0, true))
		terms := []*Node{PowNum(qk, Int(2))}
		c := int64(1)
		for j := 0; j <= k; j++ {
			terms = append(terms, Mul(IntNode(2*sign*c), jetOf(line, x, uint8(j)), jetOf(line, x, uint8(2*k-j))))
			c = c * int64(k-j) / int64(j+1)
		}
		same(t, fmt.Sprintf("vd ∫q(∂^%d q)²", k), got, Add(terms...))
	}
}

// dagSize returns the number of distinct nodes of e.
func dagSize(e *Node) int {
	seen := map[*Node]bool{}
	var walk func(n *Node)
	walk = func(n *Node) {
		if seen[n] {
			return
		}
		seen[n] = true
		for _, a := range n.args {
			walk(a)
		}
	}
	walk(e)
	return len(seen)
}

// TestVariationalSizeLinearInOrder derives vd of functionals with
// derivatives of q of order k = 1..12 and checks that the result's size
// (written out as a tree, and as distinct DAG nodes) grows linearly in k:
// the repeated total derivatives must not multiply terms. The bound is
// the size at k = 1 times k^power, with a factor 2 of slack; power is 1,
// except where k derivatives fall on a kernel, whose k-th derivative is a
// polynomial of degree k times the kernel (so k terms of size up to k).
func TestVariationalSizeLinearInOrder(t *testing.T) {
	x := Symbol("x", 0)
	families := []struct {
		name  string
		power float64
		sp    Space
		f     func(k int) *Node
	}{
		{"∫(∂ᵏq)²", 1, line, func(k int) *Node { return Integral(PowNum(jetOf(line, "x", uint8(k)), Int(2)), "x", 0, true) }},
		{"∫q(∂ᵏq)²", 1, line, func(k int) *Node {
			return Integral(Mul(jetOf(line, "x"), PowNum(jetOf(line, "x", uint8(k)), Int(2))), "x", 0, true)
		}},
		{"∫x²(∂ᵏq)²", 1, line, func(k int) *Node {
			return Integral(Mul(PowNum(x, Int(2)), PowNum(jetOf(line, "x", uint8(k)), Int(2))), "x", 0, true)
		}},
		{"∫(∂₁ᵏ∂₂q)² in 2-D", 1, plane, func(k int) *Node {
			return Integral(PowNum(jetOf(plane, "x", uint8(k), 1), Int(2)), "x", 2, true)
		}},
		{"∫q·∫K(x−y)(∂ᵏq(y))²dy", 2, line, func(k int) *Node {
			kern := Call("exp", Neg(PowNum(Sub(x, Symbol("y", 0)), Int(2))))
			inner := Integral(Mul(kern, PowNum(jetOf(line, "y", uint8(k)), Int(2))), "y", 0, false)
			return Integral(Mul(jetOf(line, "x"), inner), "x", 0, true)
		}},
	}
	for _, fam := range families {
		var tree1, dag1 float64
		for k := 1; k <= 12; k++ {
			v := mustVD(t, fam.sp, fam.f(k))
			tree, dag := float64(v.TreeSize()), float64(dagSize(v))
			if k == 1 {
				tree1, dag1 = tree, dag
				continue
			}
			bound := 2 * math.Pow(float64(k), fam.power)
			if tree > bound*tree1 || dag > bound*dag1 {
				t.Errorf("%s, k = %d: vd has %v nodes as a tree, %v distinct (k = 1: %v, %v): growth beyond k^%v",
					fam.name, k, tree, dag, tree1, dag1, fam.power)
			}
		}
	}
}

// functional50 returns a functional of q over R² with 50 terms that use q
// and all its derivatives up to order two, each term different.
func functional50() *Node {
	x1, x2 := Symbol("x", 1), Symbol("x", 2)
	jets := []*Node{
		jetOf(plane, "x", 1, 0), jetOf(plane, "x", 0, 1),
		jetOf(plane, "x", 2, 0), jetOf(plane, "x", 1, 1), jetOf(plane, "x", 0, 2),
	}
	q := jetOf(plane, "x")
	var terms []*Node
	for k := range 50 {
		a, b := jets[k%5], jets[(k/5)%5]
		weight := Add(PowNum(x1, Int(int64(k%3))), Mul(IntNode(int64(k%4+1)), PowNum(x2, Int(int64(k%2+1)))))
		var body *Node
		switch k % 5 {
		case 0:
			body = Mul(weight, a, b)
		case 1:
			body = Mul(weight, a, b, PowNum(q, Int(-1)))
		case 2:
			body = Mul(weight, PowNum(a, Int(2)), Call("log", q))
		case 3:
			body = Mul(Call("sin", Add(x1, Scale(x2, Int(int64(k))))), a, Call("exp", Neg(b)))
		default:
			body = Mul(weight, PowNum(Add(a, Mul(q, b)), Int(2)), Sqrt(q))
		}
		terms = append(terms, Scale(body, Rat(int64(k+1), 7)))
	}
	return Integral(Add(terms...), "x", 2, true)
}

// maxVD50 is the time deriving vd of functional50 may take (the issue's
// performance goal), measured as the thread's CPU time so that other
// processes' load does not count.
const maxVD50 = 100 * time.Millisecond

func TestVariationalDerivative50Terms(t *testing.T) {
	f := functional50()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	best := time.Duration(1 << 62)
	var v *Node
	for range 3 { // the best of three: a GC pause is not the derivation's cost
		start := threadTime()
		v = mustVD(t, plane, f)
		best = min(best, threadTime()-start)
	}
	if best > maxVD50 {
		t.Errorf("vd of a 50-term functional took %v (CPU), more than %v", best, maxVD50)
	}
	t.Logf("vd of a 50-term functional: %v CPU, %d distinct nodes", best, dagSize(v))
	// linearity: vd of the sum (of integrals, as ∫ is linear) is the sum of
	// the terms' vds
	if f.Kind() != KSum || len(f.args) != 50 {
		t.Fatalf("the functional is not a sum of 50 integrals: %s", String(f))
	}
	var parts []*Node
	for i, term := range f.args {
		parts = append(parts, Scale(mustVD(t, plane, term), f.coefs[i]))
	}
	same(t, "vd of the sum", v, Add(parts...))
}

// TestNonlocalClosedForms checks the nested-integral rule on kernels
// whose answers are known: ½∬K(x−y)q(x)q(y) gives ½∫(K(x−y) + K(y−x))q(y)dy.
func TestNonlocalClosedForms(t *testing.T) {
	x, y := Symbol("x", 0), Symbol("y", 0)
	qx, qy := jetOf(line, "x"), jetOf(line, "y")
	kern := func(a, b *Node) *Node { return Call("exp", Neg(PowNum(Sub(Sub(a, b), One()), Int(2)))) } // asymmetric
	w := Scale(Integral(Mul(qx, Integral(Mul(kern(x, y), qy), "y", 0, false)), "x", 0, true), Rat(1, 2))
	want := Scale(Add(Integral(Mul(kern(x, y), qy), "y", 0, false), Integral(Mul(kern(y, x), qy), "y", 0, false)), Rat(1, 2))
	same(t, "asymmetric interaction", mustVD(t, line, w), want)

	// the same functional with its inner variable called s is the same node
	s := Symbol("s", 0)
	ws := Scale(Integral(Mul(qx, Integral(Mul(kern(x, s), jetOf(line, "s")), "s", 0, false)), "x", 0, true), Rat(1, 2))
	same(t, "named s", line.CanonicalBound(ws), line.CanonicalBound(w))
	same(t, "vd, named s", mustVD(t, line, ws), want)

	// ∬q(x)q(y) is (∫q)², with vd 2∫q
	mass := Integral(qx, "x", 0, true)
	n := Integral(Mul(qx, Integral(qy, "y", 0, false)), "x", 0, true)
	same(t, "∬q(x)q(y)", line.CanonicalBound(n), PowNum(mass, Int(2)))
	same(t, "vd (∫q)²", mustVD(t, line, n), Scale(mass, Int(2)))

	// L nonlinear in the inner integral: ∫q(x)I(x)² with I = ∫K(x−y)q(y)dy gives
	// I(x)² + 2∫q(y)I(y)K(y−x)dy, the swapped I(y) over a third variable
	z := Symbol("z", 0)
	ix := Integral(Mul(kern(x, y), qy), "y", 0, false)
	nl := Integral(Mul(qx, PowNum(ix, Int(2))), "x", 0, true)
	iy := Integral(Mul(kern(y, z), jetOf(line, "z")), "z", 0, false)
	want = Add(PowNum(ix, Int(2)), Scale(Integral(Mul(qy, iy, kern(y, x)), "y", 0, false), Int(2)))
	same(t, "nonlinear in I", mustVD(t, line, nl), want)
}

// TestSwapAvoidsCapture renames points x ↔ y in an expression with an
// integral over y inside: the bound variable must be renamed first, so
// that q(x)·y·∫(x − y)q(y)dy becomes q(y)·x·∫(y − z)q(z)dz.
func TestSwapAvoidsCapture(t *testing.T) {
	x, y, z := Symbol("x", 0), Symbol("y", 0), Symbol("z", 0)
	in := Integral(Mul(Sub(x, y), jetOf(line, "y")), "y", 0, false)
	e := Mul(jetOf(line, "x"), y, in)
	got := line.substPoints(e, map[string]string{"x": "y", "y": "x"})
	want := Mul(jetOf(line, "y"), x, Integral(Mul(Sub(y, z), jetOf(line, "z")), "z", 0, false))
	same(t, "swap", line.CanonicalBound(got), line.CanonicalBound(want))
	if strings.Contains(String(line.CanonicalBound(got)), "·") {
		t.Errorf("a temporary name escaped: %s", String(got))
	}
}

func TestTermsErrors(t *testing.T) {
	x := Symbol("x", 0)
	q := jetOf(line, "x")
	for _, c := range []struct {
		f    *Node
		want string
	}{
		{Add(Integral(q, "x", 0, true), One()), "constant term 1"},
		{Mul(x, Integral(q, "x", 0, true)), "not a constant multiple"},
		{Call("log", Integral(q, "x", 0, true)), "not a constant multiple"},
		{Sqrt(Integral(PowNum(q, Int(2)), "x", 0, true)), "positive integer power"},
		{q, "not a constant multiple"},
		{Integral(Mul(Sub(x, Symbol("y", 0)), jetOf(line, "y")), "y", 0, false), "depends on x outside"},
	} {
		_, err := line.VariationalDerivative(c.f)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("vd(%s): error %v, want one saying %q", String(c.f), err, c.want)
		}
	}
}

// TestDiffJumps: derivatives of integrals whose integrands jump across
// y = y*(x) carry the Dirac masses of the jumps, each checked against the
// integral written with variable limits.
func TestDiffJumps(t *testing.T) {
	x, y := line.Coord("x", 0), line.Coord("y", 0)
	q, qy := line.Q("x", nil), line.Q("y", nil)
	over := func(e *Node) *Node { return Integral(e, "y", 0, false) }
	cases := []struct {
		name string
		e    *Node
		n    int
		want *Node
	}{
		// ∫sign(x − y)q(y)dy = ∫_{−∞}^x q − ∫_x^∞ q: derivative 2q(x)
		{"sign", over(Mul(Call("sign", Sub(x, y)), qy)), 1, Mul(IntNode(2), q)},
		// the same kernel written as sign(2y − 2x) = −sign(x − y)
		{"scaled sign", over(Mul(Call("sign", Sub(Mul(IntNode(2), y), Mul(IntNode(2), x))), qy)), 1, Mul(IntNode(-2), q)},
		// ∫_x^∞ y²q(y)dy: derivative −x²q(x)
		{"step", over(Mul(Call("step", Sub(y, x)), qy, PowNum(y, Int(2)))), 1, Neg(Mul(PowNum(x, Int(2)), q))},
		// ∫min(x, y)q(y)dy = ∫_{−∞}^x y q + x∫_x^∞ q: first derivative ∫_x^∞ q, second −q(x)
		{"min", over(Mul(Call("min", x, y), qy)), 2, Neg(q)},
		// |x − y| is continuous: its first derivative has no mass, its second 2q(x)
		{"abs", over(Mul(Call("abs", Sub(x, y)), qy)), 2, Mul(IntNode(2), q)},
	}
	for _, c := range cases {
		got := c.e
		for range c.n {
			var err error
			if got, err = DiffE(got, x); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
		}
		if got != c.want {
			t.Errorf("%s: d^%d/dx^%d %s = %s, want %s", c.name, c.n, c.n, String(c.e), String(got), String(c.want))
		}
	}
	// in two dimensions the mass sits on a line: refused, not dropped
	x1, y1 := plane.Coord("x", 0), plane.Coord("y", 0)
	e := Integral(Mul(Call("sign", Sub(x1, y1)), plane.Q("y", nil)), "y", 2, false)
	if _, err := DiffE(e, x1); err == nil {
		t.Error("a jump across a line in the plane was differentiated")
	}
	// nor when the jump is where a nonlinear function of y vanishes
	e = over(Mul(Call("step", Sub(x, PowNum(y, Int(3)))), qy))
	if _, err := DiffE(e, x); err == nil {
		t.Error("a jump at y = x^(1/3) was differentiated")
	}
}
