// Tests of symbolic derivatives against forward-mode duals: every built-in, powers, gradients, Hessians.
package autodiff

import (
	"math"
	"math/rand/v2"
	"testing"
)

// derivPoints is the number of random points each derivative is checked at.
const derivPoints = 60

// builtinArg returns an argument of x and y at which the built-in f is
// defined for every x, y in (−pointRange, pointRange): the derivative check
// then also exercises the chain rule through the argument.
func builtinArg(f string) *Node {
	switch f {
	case "log":
		return Add(PowNum(x, Int(2)), PowNum(y, Int(2)), Number(Rat(1, 10))) // ≥ 1/10
	case "asin", "acos":
		// |xy| ≤ (x² + y²)/2, so the argument lies in (−1/2, 1/2)
		return Div(Mul(x, y), Add(PowNum(x, Int(2)), PowNum(y, Int(2)), One()))
	}
	return Add(Mul(x, y), Div(x, two), Neg(y)) // spans about (−11, 11)
}

// checkDerivs compares Diff(e, s) for s = x, y and the directional
// derivative along a random direction with EvalDual at random points.
func checkDerivs(t *testing.T, rng *rand.Rand, e *Node, syms []*Node, points int) {
	t.Helper()
	ds := make([]*Node, len(syms))
	for i, s := range syms {
		ds[i] = Diff(e, s)
	}
	for range points {
		values := randomPoint(rng, syms)
		ev := newErrEval(values)
		if v, err := ev.eval(e); !finite(v) || math.IsInf(err, 0) {
			continue // no derivative where the function is undefined or overflows inside
		}
		for i, s := range syms {
			want, err := ev.eval(ds[i])
			_, got, derr := EvalDual(e, values, map[*Node]float64{s: 1})
			if derr != nil {
				t.Fatal(derr)
			}
			if !sameValue(want, got, err, err) {
				t.Errorf("∂/∂%s %s at %v: symbolic %s = %v, dual %v", String(s), String(e), values, String(ds[i]), want, got)
				return
			}
		}
		// a random direction: Σ dᵢ ∂e/∂sᵢ
		dir := map[*Node]float64{}
		want, werr := 0.0, 0.0
		for i, s := range syms {
			dir[s] = rng.NormFloat64()
			v, err := ev.eval(ds[i])
			want += dir[s] * v
			werr += math.Abs(dir[s])*err + math.Abs(dir[s]*v)
		}
		if _, got, _ := EvalDual(e, values, dir); !sameValue(want, got, werr, werr) {
			t.Errorf("directional derivative of %s at %v: symbolic %v, dual %v", String(e), values, want, got)
		}
	}
}

func TestDiffEveryBuiltin(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, f := range Builtins() {
		var e *Node
		if arity, _ := IsBuiltin(f); arity == 2 {
			e = Call(f, Mul(x, PowNum(y, Int(2))), Call("sin", Add(x, y)))
		} else {
			e = Call(f, builtinArg(f))
		}
		if e.Kind() != KCall {
			t.Fatalf("%s folded to %s", f, String(e))
		}
		checkDerivs(t, rng, e, []*Node{x, y}, derivPoints)
	}
}

// TestDualAgainstDifferences checks the dual numbers' own derivative
// table against central differences, a third, independent method.
func TestDualAgainstDifferences(t *testing.T) {
	// fdStep is the central-difference step relative to max(1, |u|); its
	// error is O(h²·f‴) + O(ε·f/h) ≈ 1e-8 relative for smooth functions.
	const fdStep = 1e-5
	const fdTol = 1e-6 // relative, with an absolute floor of fdTol
	rng := rand.New(rand.NewPCG(7, 8))
	for _, f := range unaryBuiltins() {
		if f == "sign" || f == "step" {
			continue // zero derivative away from 0, checked symbolically
		}
		e := Call(f, builtinArg(f))
		for range derivPoints {
			values := randomPoint(rng, []*Node{x, y})
			_, d, err := EvalDual(e, values, map[*Node]float64{x: 1})
			if err != nil {
				t.Fatal(err)
			}
			h := fdStep * math.Max(1, math.Abs(values[x]))
			vp, vm := values[x]+h, values[x]-h
			fp, _ := Eval(e, map[*Node]float64{x: vp, y: values[y]})
			fm, _ := Eval(e, map[*Node]float64{x: vm, y: values[y]})
			fd := (fp - fm) / (vp - vm)
			arg, _ := Eval(builtinArg(f), values)
			if f == "abs" && math.Abs(arg) < 1e-3 || f == "tan" && math.Abs(math.Cos(arg)) < 1e-2 {
				continue // a kink or a pole within reach of the step
			}
			if math.Abs(fd-d) > fdTol*math.Max(1, math.Abs(d)) {
				t.Errorf("%s at %v: dual %v, central difference %v", String(e), values, d, fd)
			}
		}
	}
}

func TestDiffPowers(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	pos := Add(PowNum(x, Int(2)), One()) // x² + 1 > 0
	for _, e := range []*Node{
		Pow(pos, Call("sin", y)),                                   // KPower, both base and exponent vary
		Pow(Call("exp", y), x),                                     // e^(xy) written as a power
		Pow(two, Mul(x, y)),                                        // constant base
		Pow(pos, Number(Float(0.7))),                               // numeric float exponent
		Mul(PowNum(pos, Rat(-3, 2)), PowNum(y, Int(3))),            // rational and integer exponents
		Sqrt(Add(PowNum(x, Int(2)), PowNum(y, Int(2)), One())),     // sqrt
		PowNum(Add(x, Mul(two, y), IntNode(7)), Int(-1)),           // x^−1 of a sum (no zero nearby: 7 > 2.5·3)
		PowNum(Call("cosh", Mul(x, y)), Rat(1, 3)),                 // cube root of a positive
		Mul(x, PowNum(y, Int(4)), PowNum(pos, Int(-2))),            // products
		Div(Call("sin", x), Add(Call("cosh", y), Call("tanh", x))), // quotient, cosh y + tanh x > 0
	} {
		checkDerivs(t, rng, e, []*Node{x, y}, derivPoints)
	}
}

func TestDiffRandomExpressions(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for range 150 {
		e := randomExpr(rng, 24)
		checkDerivs(t, rng, e, genSyms, 4)
	}
}

func TestDiffClosedForms(t *testing.T) {
	// d³/dx³ x⁵ = 60x²
	same(t, "DiffN(x^5, x, 3)", DiffN(PowNum(x, Int(5)), x, 3), Mul(IntNode(60), PowNum(x, Int(2))))
	// d/dx x³/3 = x², exactly
	same(t, "d(x^3/3)", Diff(Div(PowNum(x, Int(3)), IntNode(3)), x), PowNum(x, Int(2)))
	// d/dx sin(x)·exp(x) = (sin x + cos x)·exp(x)
	same(t, "d(sin·exp)", Expand(Diff(Mul(Call("sin", x), Call("exp", x)), x)),
		Expand(Mul(Add(Call("sin", x), Call("cos", x)), Call("exp", x))))
	// d/dx abs(x) = sign(x), d/dx max(x, y) = step(x − y)
	same(t, "d abs", Diff(Call("abs", x), x), Call("sign", x))
	same(t, "d max", Diff(Call("max", x, y), x), Call("step", Sub(x, y)))
	same(t, "d min wrt y", Diff(Call("min", x, y), y), Call("step", Sub(x, y)))
	same(t, "d sign", Diff(Call("sign", x), x), Zero())
	same(t, "no dependence", Diff(Call("exp", y), x), Zero())
	// Jacobian of (xy, x + y)
	J := Jacobian([]*Node{Mul(x, y), Add(x, y)}, []*Node{x, y})
	same(t, "J00", J[0][0], y)
	same(t, "J01", J[0][1], x)
	same(t, "J10", J[1][0], One())
}

// rosenbrock returns (1 − x)² + 100(y − x²)².
func rosenbrock() *Node {
	return Add(PowNum(Sub(One(), x), Int(2)), Mul(IntNode(100), PowNum(Sub(y, PowNum(x, Int(2))), Int(2))))
}

func TestGradEqualsDiff(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	exprs := []*Node{rosenbrock(), Mul(Call("exp", Mul(x, y)), Call("sin", z), Pow(Add(PowNum(z, Int(2)), One()), x))}
	for range 100 {
		exprs = append(exprs, randomExpr(rng, 24))
	}
	identical := 0
	for _, e := range exprs {
		g := Grad(e, genSyms)
		for i, s := range genSyms {
			d := Diff(e, s)
			if g[i] == d {
				identical++
				continue
			}
			for range 5 {
				values := randomPoint(rng, genSyms)
				ev := newErrEval(values)
				a, ea := ev.eval(g[i])
				b, eb := ev.eval(d)
				if !sameValue(a, b, ea, eb) {
					t.Fatalf("∂/∂%s of %s: Grad %s = %v, Diff %s = %v", String(s), String(e), String(g[i]), a, String(d), b)
				}
			}
		}
	}
	t.Logf("Grad and Diff built the same node for %d of %d components", identical, 3*len(exprs))
	// the textbook Rosenbrock gradient
	g := Grad(rosenbrock(), []*Node{x, y})
	same(t, "∂rosen/∂x", g[0], Add(Mul(IntNode(-2), Sub(One(), x)), Mul(IntNode(-400), x, Sub(y, PowNum(x, Int(2))))))
	same(t, "∂rosen/∂y", g[1], Mul(IntNode(200), Sub(y, PowNum(x, Int(2)))))
}

func TestHessianAgainstHyperDuals(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	exprs := []*Node{
		rosenbrock(),
		Mul(PowNum(x, Int(2)), PowNum(y, Int(3)), Call("cos", z)),
		Call("logcosh", Sub(Mul(x, y), z)),
		Pow(Add(PowNum(x, Int(2)), One()), Mul(y, z)),
		Div(Call("atan", x), Add(Call("cosh", y), Call("sigmoid", z))),
		Call("max", Mul(x, y), Mul(y, z)),
	}
	for range 40 {
		exprs = append(exprs, randomExpr(rng, 20))
	}
	for _, e := range exprs {
		H := Hessian(e, genSyms)
		for range 5 {
			values := randomPoint(rng, genSyms)
			ev := newErrEval(values)
			for i, si := range genSyms {
				for j, sj := range genSyms {
					if H[i][j] != H[j][i] {
						t.Fatalf("Hessian of %s not symmetric", String(e))
					}
					want, err := ev.eval(H[i][j])
					_, _, _, got, derr := EvalHyperDual(e, values, map[*Node]float64{si: 1}, map[*Node]float64{sj: 1})
					if derr != nil {
						t.Fatal(derr)
					}
					if !sameValue(want, got, err, err) {
						t.Fatalf("∂²/∂%s∂%s of %s at %v: symbolic %s = %v, hyper-dual %v",
							String(si), String(sj), String(e), values, String(H[i][j]), want, got)
					}
				}
			}
		}
	}
	// ∂²(x²y³)/∂x∂y = 6xy², by hyper-duals directly
	values := map[*Node]float64{x: 0.5, y: -1.5}
	v, dx, dy, dxy, _ := EvalHyperDual(Mul(PowNum(x, Int(2)), PowNum(y, Int(3))), values, map[*Node]float64{x: 1}, map[*Node]float64{y: 1})
	if v != 0.25*-3.375 || dx != 2*0.5*-3.375 || dy != 0.25*3*2.25 || dxy != 6*0.5*2.25 {
		t.Errorf("x²y³ at (0.5, −1.5): %v %v %v %v", v, dx, dy, dxy)
	}
}

func TestDualEdgeCases(t *testing.T) {
	// unbound symbols and integrals are errors
	if _, _, err := EvalDual(Add(x, y), map[*Node]float64{x: 1}, nil); err == nil {
		t.Error("unbound y: no error")
	}
	q := Jet("q", "x", true, []uint8{0})
	if _, _, err := EvalDual(Integral(q, "x", 1, true), nil, nil); err == nil {
		t.Error("integral: no error")
	}
	// ties of min and max average the two sides, as step(0) = 1/2 does
	_, d, _ := EvalDual(Call("max", x, Neg(x)), map[*Node]float64{x: 0}, map[*Node]float64{x: 1})
	if d != 0 {
		t.Errorf("d/dx max(x, −x) at 0 = %v, want 0", d)
	}
	sym := Diff(Call("max", x, Mul(two, x)), x) // step(−x) + 2 step(x)
	want, _ := Eval(sym, map[*Node]float64{x: 0})
	_, d, _ = EvalDual(Call("max", x, Mul(two, x)), map[*Node]float64{x: 0}, map[*Node]float64{x: 1})
	if d != want || d != 1.5 {
		t.Errorf("d/dx max(x, 2x) at 0: dual %v, symbolic %v, want 3/2", d, want)
	}
	// abs′(0) = sign(0) = 0
	if _, d, _ := EvalDual(Call("abs", x), map[*Node]float64{x: 0}, map[*Node]float64{x: 1}); d != 0 {
		t.Errorf("abs′(0) = %v", d)
	}
	// a derivative that does not enter is 0, not 0·∞ = NaN: ∂/∂y of sqrt(x)·y at x = 0
	if _, d, _ := EvalDual(Mul(Sqrt(x), y), map[*Node]float64{x: 0, y: 2}, map[*Node]float64{y: 1}); d != 0 {
		t.Errorf("∂(sqrt(x)·y)/∂y at x = 0: %v, want 0", d)
	}
	// (−2)^y with the exponent fixed is defined for integer y; its x-derivative too
	_, d, _ = EvalDual(Pow(Neg(x), y), map[*Node]float64{x: 2, y: 3}, map[*Node]float64{x: 1})
	if d != -12 {
		t.Errorf("d/dx (−x)^y at x = 2, y = 3: %v, want −12", d)
	}
}
