// Tests of the printers: the canonical text of tricky forms, and their LaTeX.
package autodiff

import "testing"

func TestPrintStability(t *testing.T) {
	q := Jet("q", "x", true, []uint8{0})
	qy := Jet("q", "y", false, []uint8{0})
	v1, v2 := Symbol("v", 1), Symbol("v", 2)
	for _, c := range []struct {
		e         *Node
		text, tex string
	}{
		// negative coefficients and signs: a positive term leads
		{Neg(x), "-x", "-x"},
		{Mul(IntNode(-3), x, y), "-3*x*y", "-3 x y"},
		{Sub(One(), x), "1 - x", "1 - x"},
		{Sub(Neg(x), y), "-x - y", "-x - y"},
		{Add(Call("sin", x), PowNum(x, Int(3)), y, IntNode(-4)), "x^3 + sin(x) + y - 4", `x^{3} + \sin\left(x\right) + y - 4`},
		// rationals and denominators
		{Div(x, IntNode(3)), "x/3", `\frac{x}{3}`},
		{Mul(Number(Rat(-2, 3)), x), "-2*x/3", `-\frac{2 x}{3}`},
		{Number(Rat(-1, 3)), "-1/3", `-\frac{1}{3}`},
		{Mul(Number(Rat(2, 3)), x, PowNum(y, Int(-2))), "2*x/(3*y^2)", `\frac{2 x}{3 y^{2}}`},
		{Div(One(), Mul(x, y)), "1/(x*y)", `\frac{1}{x y}`},
		{Div(x, Add(x, y)), "x/(x + y)", `\frac{x}{x + y}`},
		{Div(Mul(two, x), Mul(IntNode(3), y, z)), "2*x/(3*y*z)", `\frac{2 x}{3 y z}`},
		{Div(Pi(), x), "pi/x", `\frac{\pi}{x}`},
		// square roots and fractional powers
		{Sqrt(x), "sqrt(x)", `\sqrt{x}`},
		{Sqrt(Add(x, y)), "sqrt(x + y)", `\sqrt{x + y}`},
		{Mul(Sqrt(two), x), "sqrt(2)*x", `\sqrt{2} x`},
		{Div(One(), Sqrt(x)), "1/sqrt(x)", `\frac{1}{\sqrt{x}}`},
		{PowNum(x, Rat(3, 2)), "x^(3/2)", `x^{3/2}`},
		{PowNum(Add(x, y), Rat(-3, 2)), "1/(x + y)^(3/2)", `\frac{1}{\left(x + y\right)^{3/2}}`},
		{PowNum(x, Rat(-2, 3)), "1/x^(2/3)", `\frac{1}{x^{2/3}}`},
		// nested powers and x^-1
		{Pow(Pow(x, y), z), "(x^y)^z", `\left(x^{y}\right)^{z}`},
		{Pow(x, Pow(y, z)), "x^(y^z)", `x^{y^{z}}`},
		{PowNum(PowNum(x, Int(2)), Rat(1, 2)), "sqrt(x^2)", `\sqrt{x^{2}}`},
		{Pow(Neg(x), y), "(-x)^y", `\left(-x\right)^{y}`},
		{Pow(x, Neg(y)), "x^(-y)", `x^{-y}`},
		{Pow(Add(x, One()), Mul(x, y)), "(x + 1)^(x*y)", `\left(x + 1\right)^{x y}`},
		{PowNum(x, Int(-1)), "1/x", `\frac{1}{x}`},
		{PowNum(Add(x, y), Int(-1)), "1/(x + y)", `\frac{1}{x + y}`},
		{PowNum(x, Int(-3)), "1/x^3", `\frac{1}{x^{3}}`},
		// flipped sums: the canonical -x*(y - 1) reads x*(1 - y)
		{Mul(x, Sub(One(), y)), "x*(1 - y)", `x \left(1 - y\right)`},
		{Mul(PowNum(Sub(One(), x), Int(3)), y), "y*(1 - x)^3", `y \left(1 - x\right)^{3}`},
		{Mul(x, Sub(One(), y), Sub(One(), z)), "x*(y - 1)*(z - 1)", `x \left(y - 1\right) \left(z - 1\right)`},
		// floats
		{FloatNode(0.1), "0.1", "0.1"},
		{Mul(FloatNode(-2.5), x), "-2.5*x", "-2.5 x"},
		{FloatNode(1e-7), "1e-07", `10^{-7}`},
		{Mul(FloatNode(2.5e20), x), "2.5e+20*x", `2.5 \cdot 10^{20} x`},
		// calls, constants, vectors, densities
		{Call("exp", Neg(Div(PowNum(x, Int(2)), two))), "exp(-x^2/2)", `\exp\left(-\frac{x^{2}}{2}\right)`},
		{Call("max", Neg(x), y), "max(-x, y)", `\max\left(-x, y\right)`},
		{Call("abs", Sub(y, x)), "abs(x - y)", `\left|x - y\right|`},
		{Call("log", Mul(two, Pi())), "log(2*pi)", `\log\left(2 \pi\right)`},
		{Add(v1, PowNum(v2, Int(2))), "v[2]^2 + v[1]", `{v}_{2}^{2} + {v}_{1}`},
		{Add(Mul(q, Call("log", q)), Jet("q", "x", true, []uint8{2})), "q*log(q) + diff(q, x, 2)", `q \log\left(q\right) + \partial_{x}^{2} q`},
		{Jet("q", "x", true, []uint8{1, 2}), "diff(q, x[1], x[2], 2)", `\partial_{x_{1}}\partial_{x_{2}}^{2} q`},
		{Jet("q", "y", false, []uint8{0, 1}), "diff(q(y), y[2])", `\partial_{y_{2}} q(y)`},
		{Integral(Mul(q, Call("log", q)), "x", 1, true), "integral(q*log(q))", `\int q \log\left(q\right)\,\mathrm{d}x`},
		{Mul(qy, Integral(Mul(q, qy), "y", 1, false)), "q*q(y)*integral(q(y), y)", `q q(y) \left(\int q(y)\,\mathrm{d}y\right)`},
	} {
		if got := String(c.e); got != c.text {
			t.Errorf("String = %q, want %q", got, c.text)
		}
		if got := LaTeX(c.e); got != c.tex {
			t.Errorf("LaTeX(%s) = %q, want %q", c.text, got, c.tex)
		}
	}
}

// TestPrintOrderIndependent builds the same mathematics in different orders
// and groupings: it must print the same. (A sum is not factored: x/(2z) −
// y/(2z) stays a sum, distinct from (x − y)/(2z).)
func TestPrintOrderIndependent(t *testing.T) {
	forms := [][]*Node{
		{Add(Mul(two, x), PowNum(x, Int(2)), One()), Add(One(), Add(x, x), Mul(x, x)), Expand(PowNum(Add(One(), x), Int(2)))},
		{Call("cos", Sub(y, x)), Call("cos", Sub(x, y)), Call("cos", Add(Neg(x), y))},
		{Mul(y, Sub(two, Mul(two, x))), Mul(Sub(Mul(two, x), two), Neg(y)), Scale(Mul(Sub(x, One()), y), Int(-2))},
		{Div(Sub(x, y), Mul(two, z)), Mul(Number(Rat(1, 2)), Sub(x, y), PowNum(z, Int(-1))), Div(Sub(Neg(y), Neg(x)), Mul(z, two))},
	}
	for _, f := range forms {
		want := String(f[0])
		for _, e := range f[1:] {
			if got := String(e); got != want {
				t.Errorf("%q and %q are the same mathematics", got, want)
			}
		}
	}
}
