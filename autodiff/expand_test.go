// Tests of Expand: the expanded forms, their agreement with the original, and the bound on their size.
package autodiff

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestExpandForms(t *testing.T) {
	x1 := Add(x, One())
	for _, c := range []struct {
		what      string
		got, want *Node
	}{
		{"(x + 1)^2", Expand(PowNum(x1, Int(2))), Add(PowNum(x, Int(2)), Mul(two, x), One())},
		{"(x + y)^3", Expand(PowNum(Add(x, y), Int(3))),
			Add(PowNum(x, Int(3)), Mul(IntNode(3), PowNum(x, Int(2)), y), Mul(IntNode(3), x, PowNum(y, Int(2))), PowNum(y, Int(3)))},
		{"(x + y)(x − y)", Expand(Mul(Add(x, y), Sub(x, y))), Sub(PowNum(x, Int(2)), PowNum(y, Int(2)))},
		{"(√x + 1)(√x − 1)", Expand(Mul(Add(Sqrt(x), One()), Sub(Sqrt(x), One()))), Sub(x, One())},
		{"inside calls", Expand(Call("sin", PowNum(x1, Int(2)))), Call("sin", Add(PowNum(x, Int(2)), Mul(two, x), One()))},
		{"non-sum factors distribute", Expand(Mul(y, Call("exp", x), x1)), Add(Mul(x, y, Call("exp", x)), Mul(y, Call("exp", x)))},
		// negative and fractional powers are not multiplied out
		{"1/(x + 1)^2", Expand(PowNum(x1, Int(-2))), PowNum(x1, Int(-2))},
		{"sqrt(x + 1)", Expand(Sqrt(x1)), Sqrt(x1)},
		{"(x + 1)/(x + 1)", Expand(Mul(x1, PowNum(x1, Int(-1)))), One()},
	} {
		same(t, c.what, c.got, c.want)
	}
	// (x + 1)^16 has the binomial coefficients, although 2^16 products
	// would exceed MaxExpandTerms: like terms are collected at each step
	e := Expand(PowNum(x1, Int(16)))
	if e.Kind() != KSum || len(e.Args()) != 16 {
		t.Fatalf("(x + 1)^16 expands to %s", String(e))
	}
	binom := int64(1)
	for k := int64(16); k >= 1; k-- { // terms are ordered x^16, x^15, …, x
		if c, _ := e.Coefs()[16-k].IsInt(); c != binom || e.Args()[16-k] != PowNum(x, Int(k)) {
			t.Errorf("coefficient of x^%d = %v, want %d", k, e.Coefs()[16-k], binom)
		}
		binom = binom * k / (17 - k)
	}
	// beyond maxExpandPower a power is left alone
	p := PowNum(x1, Int(maxExpandPower+1))
	same(t, "(x + 1)^17", Expand(p), p)
}

func TestExpandBound(t *testing.T) {
	sum := func(n int) *Node {
		ts := make([]*Node, n)
		for i := range ts {
			ts[i] = Symbol("v", i+1)
		}
		return Add(ts...)
	}
	// (v1 + … + v10)^4 has C(13, 4) = 715 monomials, reached through steps
	// of at most 220·10 products: within the bound
	e := Expand(PowNum(sum(10), Int(4)))
	if e.Kind() != KSum || len(e.Args()) != 715 {
		t.Errorf("(v1 + … + v10)^4 expands to %d terms, want 715", len(e.Args()))
	}
	// the fifth power would take 715·10 > MaxExpandTerms products in its
	// last step: left unexpanded, and quickly
	p := PowNum(sum(10), Int(5))
	t0 := time.Now()
	same(t, "(v1 + … + v10)^5", Expand(p), p)
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("giving up on (v1 + … + v10)^5 took %v", d)
	}
	// nested products expand inside out, each within the bound
	rng := rand.New(rand.NewPCG(23, 24))
	for range 200 {
		e := Expand(randomExpr(rng, 30))
		checkTerms(t, e)
	}
}

// checkTerms asserts that no sum in e has more than MaxExpandTerms terms.
func checkTerms(t *testing.T, e *Node) {
	t.Helper()
	for _, n := range topoOrder(e, func(*Node) bool { return true }) {
		if n.Kind() == KSum && len(n.Args()) > MaxExpandTerms {
			t.Fatalf("a sum of %d terms in an expansion", len(n.Args()))
		}
	}
}

func TestExpandAgrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	for range 300 {
		e := randomExpr(rng, 30)
		xe := Expand(e)
		same(t, "Expand is idempotent", Expand(xe), xe)
		for range 3 {
			values := randomPoint(rng, genSyms)
			ev := newErrEval(values)
			a, ea := ev.eval(e)
			b, eb := ev.eval(xe)
			if finite(a) && !sameValue(a, b, ea, eb) {
				t.Fatalf("%s = %v but its expansion %s = %v at %v", String(e), a, String(xe), b, values)
			}
		}
	}
}
