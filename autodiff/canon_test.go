// Tests of the canonical forms: hash-consing, order independence, folding, primitive sums, parity, integrals.
package autodiff

import (
	"math/big"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
)

var (
	x, y, z = Symbol("x", 0), Symbol("y", 0), Symbol("z", 0)
	two     = IntNode(2)
)

// same asserts that got and want are the same node.
func same(t *testing.T, what string, got, want *Node) {
	t.Helper()
	if got != want {
		t.Errorf("%s: got %s, want %s (distinct nodes)", what, String(got), String(want))
	}
}

func TestLikeTermsAreOneNode(t *testing.T) {
	same(t, "x + x", Add(x, x), Mul(two, x))
	same(t, "x*2", Mul(x, two), Mul(two, x))
	same(t, "2*x", Scale(x, Int(2)), Mul(two, x))
	same(t, "x + x + y − x", Add(x, x, y, Neg(x)), Add(x, y))
	same(t, "x*x", Mul(x, x), PowNum(x, Int(2)))
	same(t, "x^2·x^−2", Mul(PowNum(x, Int(2)), PowNum(x, Int(-2))), One())
	same(t, "x − x", Sub(x, x), Zero())
	same(t, "0·x", Mul(Zero(), x), Zero())
	same(t, "(x·y)^2", PowNum(Mul(x, y), Int(2)), Mul(PowNum(x, Int(2)), PowNum(y, Int(2))))
	same(t, "2.0*x", Mul(FloatNode(2.0), x), Mul(two, x))
	same(t, "1/2 + 1/2", Add(Number(Rat(1, 2)), Number(Rat(1, 2))), One())
	same(t, "x^0", PowNum(x, Int(0)), One())
	same(t, "0^0", PowNum(Zero(), Int(0)), One())
	same(t, "x^1", PowNum(x, Int(1)), x)
	same(t, "1^x", Pow(One(), x), One())
	same(t, "sqrt(x)^2", PowNum(Sqrt(x), Int(2)), x)
	same(t, "sqrt(4/9)", Sqrt(Number(Rat(4, 9))), Number(Rat(2, 3)))
	// exact beyond int64: one node whichever way the number was made
	p70 := new(big.Int).Lsh(big.NewInt(1), 70)
	same(t, "2^35·2^35 = 2^70", Mul(IntNode(1<<35), IntNode(1<<35)), Number(BigInt(p70)))
	same(t, "(2^70 + 1) − 2^70", Sub(Add(Number(BigInt(p70)), One()), Number(BigInt(p70))), One())
	// a product kept whole under a fractional power, its exponents summing to 1
	same(t, "(x·y)^(1/2)·(x·y)^(1/2)/y", Mul(Sqrt(Mul(x, y)), Sqrt(Mul(x, y)), PowNum(y, Int(-1))), x)
	same(t, "(2x)^(1/2)·(2x)^(1/2)", Mul(Sqrt(Mul(two, x)), Sqrt(Mul(two, x))), Mul(two, x))
	if e := PowNum(Zero(), Int(-1)); e.Kind() != KPower {
		t.Errorf("0^−1 = %s, want an unevaluated power (the caller reports it)", String(e))
	}
	if e := Sqrt(IntNode(-4)); e.Kind() != KPower {
		t.Errorf("sqrt(−4) = %s, want an unevaluated power", String(e))
	}
}

// randomTerms returns varied non-numeric nodes: symbols, products, powers,
// calls and sums.
func randomTerms(rng *rand.Rand, n int) []*Node {
	atoms := []*Node{x, y, z, Symbol("v", 1), Symbol("v", 2), Pi()}
	out := make([]*Node, n)
	for i := range out {
		a, b := atoms[rng.IntN(len(atoms))], atoms[rng.IntN(len(atoms))]
		switch rng.IntN(6) {
		case 0:
			out[i] = a
		case 1:
			out[i] = Mul(a, b, IntNode(int64(rng.IntN(5)-2)))
		case 2:
			out[i] = PowNum(a, Int(int64(rng.IntN(4)+2)))
		case 3:
			unary := unaryBuiltins()
			out[i] = Call(unary[rng.IntN(len(unary))], Add(a, IntNode(1)))
		case 4:
			out[i] = Add(a, Scale(b, Rat(int64(rng.IntN(7)-3), 2)))
		default:
			out[i] = Pow(Add(a, two), b)
		}
	}
	return out
}

func TestAddMulOrderIndependence(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		ts := randomTerms(rng, 2+rng.IntN(6))
		sum, prod := Add(ts...), Mul(ts...)
		for range 5 {
			p := append([]*Node(nil), ts...)
			rng.Shuffle(len(p), func(i, j int) { p[i], p[j] = p[j], p[i] })
			same(t, "Add permuted", Add(p...), sum)
			same(t, "Mul permuted", Mul(p...), prod)
			// grouping: (a + b) + rest, a·(b·rest)
			k := 1 + rng.IntN(len(p)-1)
			same(t, "Add grouped", Add(Add(p[:k]...), Add(p[k:]...)), sum)
			same(t, "Mul grouped", Mul(Mul(p[:k]...), Mul(p[k:]...)), prod)
		}
		if trial < 3 && String(sum) == "" {
			t.Fatal("empty print")
		}
	}
}

func TestCompareIsATotalOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ns := randomTerms(rng, 60)
	ns = append(ns, Zero(), One(), Number(Rat(-1, 3)), FloatNode(0.25), Pi(),
		Jet("q", "x", true, []uint8{0}), Jet("q", "x", true, []uint8{1}), Jet("q", "y", false, []uint8{0}),
		PowNum(x, Float(1e308)), Mul(PowNum(x, Float(1e308)), PowNum(y, Float(1e308))))
	for _, a := range ns {
		if Compare(a, a) != 0 {
			t.Errorf("Compare(%s, itself) ≠ 0", String(a))
		}
		for _, b := range ns {
			ab, ba := Compare(a, b), Compare(b, a)
			if ab != -ba || (ab == 0) != (a == b) {
				t.Errorf("Compare(%s, %s) = %d but the reverse is %d", String(a), String(b), ab, ba)
			}
			for _, c := range ns {
				if ab < 0 && Compare(b, c) < 0 && Compare(a, c) >= 0 {
					t.Fatalf("not transitive: %s < %s < %s", String(a), String(b), String(c))
				}
			}
		}
	}
}

func TestPrimitiveSums(t *testing.T) {
	// a sum factor's content and sign move into the coefficient
	same(t, "y·(2 − 2x) = −2y·(x − 1)", Mul(y, Sub(two, Mul(two, x))), Mul(IntNode(-2), y, Sub(x, One())))
	same(t, "(x/2 + 1/3)·y", Mul(Add(Div(x, two), Number(Rat(1, 3))), y), Mul(Number(Rat(1, 6)), y, Add(Mul(IntNode(3), x), two)))
	same(t, "(1 − x)^2 = (x − 1)^2", PowNum(Sub(One(), x), Int(2)), PowNum(Sub(x, One()), Int(2)))
	same(t, "(1 − x)^3 = −(x − 1)^3", PowNum(Sub(One(), x), Int(3)), Neg(PowNum(Sub(x, One()), Int(3))))
	same(t, "1/(2 − 2x)", Div(One(), Sub(two, Mul(two, x))), Mul(Number(Rat(-1, 2)), PowNum(Sub(x, One()), Int(-1))))
	// a lone sum takes the coefficient in
	same(t, "2·(x + 1)", Mul(two, Add(x, One())), Add(Mul(two, x), two))
	// a non-integer power of a sum is left alone: sqrt(4 − 4x) ≠ 2 sqrt(1 − x) in sign conventions
	if e := Sqrt(Sub(IntNode(4), Mul(IntNode(4), x))); e.Kind() != KProduct || e.Args()[0].Kind() != KSum {
		t.Errorf("sqrt(4 − 4x) = %s", String(e))
	}
}

func TestParity(t *testing.T) {
	xy, yx := Sub(x, y), Sub(y, x)
	for _, f := range []string{"cos", "cosh", "abs", "logcosh"} {
		same(t, f+" even", Call(f, yx), Call(f, xy))
	}
	for _, f := range []string{"sin", "tan", "sinh", "tanh", "atan", "asin", "erf", "sign"} {
		same(t, f+" odd", Call(f, yx), Neg(Call(f, xy)))
	}
	same(t, "abs(−x)", Call("abs", Neg(x)), Call("abs", x))
	same(t, "tanh(−x)", Call("tanh", Neg(x)), Neg(Call("tanh", x)))
	// functions without parity keep the sign
	if Call("exp", yx) == Call("exp", xy) || Call("sigmoid", yx) == Call("sigmoid", xy) {
		t.Error("exp and sigmoid have no parity")
	}
	same(t, "abs(abs(x))", Call("abs", Call("abs", x)), Call("abs", x))
	same(t, "abs(exp(x))", Call("abs", Call("exp", x)), Call("exp", x))
}

func TestCallFolding(t *testing.T) {
	for _, c := range []struct {
		got, want *Node
	}{
		{Call("exp", Zero()), One()}, {Call("log", One()), Zero()}, {Call("sin", Zero()), Zero()},
		{Call("cos", Zero()), One()}, {Call("acos", One()), Zero()}, {Call("sigmoid", Zero()), Number(Rat(1, 2))},
		{Call("abs", IntNode(-2)), two}, {Call("sign", Number(Rat(-3, 4))), IntNode(-1)},
		{Call("step", Zero()), Number(Rat(1, 2))}, {Call("step", IntNode(5)), One()},
		{Call("min", two, IntNode(3)), two}, {Call("max", two, IntNode(3)), IntNode(3)}, {Call("max", x, x), x},
		{Call("log", Call("exp", Mul(x, y))), Mul(x, y)},
		{Call("exp", FloatNode(0.5)), FloatNode(1.6487212707001282)}, // a call of floats is a float
	} {
		same(t, "fold", c.got, c.want)
	}
	// exact arguments stay symbolic: log(2), exp(1)
	if Call("log", two).Kind() != KCall || Call("exp", One()).Kind() != KCall {
		t.Error("log(2) and exp(1) should stay symbolic")
	}
	// a float call whose value is not finite stays a call (reported at run time)
	if Call("log", FloatNode(-0.5)).Kind() != KCall {
		t.Error("log(−0.5) should stay a call")
	}
}

func TestLogOfPositiveProducts(t *testing.T) {
	q := Jet("q", "x", true, []uint8{0})
	same(t, "log(exp(x)·pi)", Call("log", Mul(Call("exp", x), Pi())), Add(x, Call("log", Pi())))
	same(t, "log(q^2·exp(−x))", Call("log", Mul(PowNum(q, Int(2)), Call("exp", Neg(x)))), Add(Scale(Call("log", q), Int(2)), Neg(x)))
	same(t, "log(sqrt(q))", Call("log", Sqrt(q)), Scale(Call("log", q), Rat(1, 2)))
	// a positive number factor splits out too, log(p/q) as log p − log q
	same(t, "log(2·exp(x))", Call("log", Mul(two, Call("exp", x))), Add(x, Call("log", two)))
	same(t, "log(q/2)", Call("log", Mul(q, Number(Rat(1, 2)))), Sub(Call("log", q), Call("log", two)))
	// but a constant stays whole, and a negative factor keeps the log
	if e := Call("log", Mul(two, Pi())); e.Kind() != KCall {
		t.Errorf("log(2·pi) = %s, want it kept", String(e))
	}
	if e := Call("log", Mul(IntNode(-2), Call("exp", x))); e.Kind() != KCall {
		t.Errorf("log(−2·exp(x)) = %s, want it kept", String(e))
	}
	// x·y may be negative: no split
	if e := Call("log", Mul(x, y)); e.Kind() != KCall {
		t.Errorf("log(x·y) = %s, want it kept", String(e))
	}
}

func TestIntegralLinearity(t *testing.T) {
	q := Jet("q", "x", true, []uint8{0})
	dq := Jet("q", "x", true, []uint8{1})
	qy := Jet("q", "y", false, []uint8{0})
	x1 := Symbol("x", 0)
	I := func(e *Node) *Node { return Integral(e, "x", 1, true) }
	a, b := Mul(q, Call("log", q)), Mul(PowNum(x1, Int(2)), q)
	same(t, "∫(a + b)", I(Add(a, b)), Add(I(a), I(b)))
	same(t, "∫(2a − b/3)", I(Sub(Scale(a, Int(2)), Div(b, IntNode(3)))), Sub(Scale(I(a), Int(2)), Scale(I(b), Rat(1, 3))))
	same(t, "∫0", I(Zero()), Zero())
	// factors that do not depend on x move out: ∫ y·q(y)·q = q(y)·y·∫q
	same(t, "∫ y·q(y)·q dx", I(Mul(y, qy, q)), Mul(y, qy, I(q)))
	// a constant term makes the sum an integral of its own (∫c is infinite)
	if e := I(Add(q, One())); e.Kind() != KIntegral {
		t.Errorf("∫(q + 1) = %s, want one integral", String(e))
	}
	if I(dq).DependsOn(x1) || I(dq).DependsOn(q) {
		t.Error("an integral over x does not depend on x or on q(x)")
	}
	if !I(Mul(qy, q)).DependsOn(qy) {
		t.Error("∫q(y)q(x)dx depends on q(y)")
	}
}

func TestDependsAndFreeSymbols(t *testing.T) {
	e := Add(Mul(x, Call("sin", y)), Pi())
	if !e.DependsOn(x) || !e.DependsOn(y) || e.DependsOn(z) || e.DependsOn(Pi()) {
		t.Error("DependsOn")
	}
	free := e.FreeSymbols()
	if len(free) != 2 || free[0] != x || free[1] != y {
		t.Errorf("FreeSymbols = %v", free)
	}
	if !Call("log", two).IsConstant() || Mul(x, Zero()).IsConstant() != true || e.IsConstant() {
		t.Error("IsConstant")
	}
}

// TestInternConcurrent builds the same expressions from several goroutines
// while the collector runs, so that -race checks the intern table, its weak
// pointers and their cleanups.
func TestInternConcurrent(t *testing.T) {
	build := func(i int) *Node {
		s := Symbol("w", i%7+1)
		return Add(Mul(s, Call("exp", Neg(PowNum(s, Int(2))))), PowNum(Sub(s, IntNode(int64(i%5))), Rat(3, 2)))
	}
	const goroutines, rounds = 4, 300
	results := make([][]*Node, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				results[g] = append(results[g], build(i))
				if i%50 == 0 {
					runtime.GC() // run cleanups of collected nodes while others intern
				}
			}
		}()
	}
	wg.Wait()
	for g := 1; g < goroutines; g++ {
		for i := range rounds {
			if results[g][i] != results[0][i] {
				t.Fatalf("goroutine %d built a different node for %d: %s", g, i, String(results[g][i]))
			}
		}
	}
	// nodes that were dropped and collected are rebuilt as equal nodes
	id := build(3).ID()
	runtime.GC()
	runtime.GC()
	if e := build(3); String(e) != String(results[0][3]) || e != results[0][3] {
		t.Errorf("rebuilt node %d differs", id)
	}
}
