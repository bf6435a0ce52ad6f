// The built-in functions: numeric values, derivatives, exact folding and LaTeX names.
package autodiff

import (
	"math"
	"slices"
	"sort"
)

// builtin describes one elementary function.
type builtin struct {
	arity int
	eval  func(a, b float64) float64
	// deriv returns ∂f/∂args[k].
	deriv func(args []*Node, k int) *Node
	latex string // LaTeX operator, e.g. `\exp`; empty for special layouts
	// exact values at exact arguments: f(0) etc.; nil when none
	exact func(args []*Node) *Node
}

var builtins map[string]*builtin

// Builtins returns the names of the built-in functions in sorted order.
func Builtins() []string {
	names := make([]string, 0, len(builtins))
	for n := range builtins {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// IsBuiltin reports whether name is a built-in function, and its arity.
func IsBuiltin(name string) (arity int, ok bool) {
	b, ok := builtins[name]
	if !ok {
		return 0, false
	}
	return b.arity, true
}

// Sigmoid is 1/(1 + e^{-x}), computed without overflow.
func Sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// Softplus is log(1 + e^x), computed without overflow.
func Softplus(x float64) float64 { return math.Max(x, 0) + math.Log1p(math.Exp(-math.Abs(x))) }

// Logcosh is log(cosh x), computed without overflow and to full relative
// precision: log1p(2 sinh²(x/2)) for |x| < 1 (cosh x − 1 = 2 sinh²(x/2)
// has no cancellation, so log cosh x ≈ x²/2 near 0 is accurate), and
// |x| + log1p(e^{−2|x|}) − log 2 beyond, where cosh could overflow.
func Logcosh(x float64) float64 {
	a := math.Abs(x)
	if a < 1 {
		s := math.Sinh(a / 2)
		return math.Log1p(2 * s * s)
	}
	return a + math.Log1p(math.Exp(-2*a)) - math.Ln2
}

// Step is the Heaviside function with step(0) = 1/2, the derivative of max
// and min almost everywhere.
func Step(x float64) float64 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return 0
	case x == 0:
		return 0.5
	}
	return math.NaN()
}

// Sign is -1, 0 or 1 (NaN for NaN), the derivative of abs almost everywhere.
func Sign(x float64) float64 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	case x == 0:
		return 0
	}
	return math.NaN()
}

func unary(f func(float64) float64) func(a, b float64) float64 {
	return func(a, _ float64) float64 { return f(a) }
}

// at0 returns an exact-folding rule: f(v0) = r0 for the exact argument v0.
func at0(v0, r0 int64) func(args []*Node) *Node {
	return func(args []*Node) *Node {
		if v, ok := args[0].Value(); ok && !v.IsFloat() && v.Cmp(Int(v0)) == 0 {
			return IntNode(r0)
		}
		return nil
	}
}

func init() {
	x := func(args []*Node) *Node { return args[0] }
	builtins = map[string]*builtin{
		"exp": {arity: 1, eval: unary(math.Exp), latex: `\exp`, exact: at0(0, 1),
			deriv: func(a []*Node, _ int) *Node { return Call("exp", x(a)) }},
		"log": {arity: 1, eval: unary(math.Log), latex: `\log`, exact: func(a []*Node) *Node {
			if a[0].IsOne() {
				return Zero()
			}
			if a[0].kind == KCall && a[0].name == "exp" {
				return a[0].args[0] // log(exp(x)) = x for every real x
			}
			// log(c·t) = log(c) + log(t) for a positive number c and a
			// positive t that is not a constant (2*exp(x), q/2; log(2*pi)
			// stays whole), log(p/q) written log(p) − log(q)
			if e := a[0]; e.kind == KSum && e.num.IsZero() && len(e.args) == 1 && e.coefs[0].Sign() > 0 && !e.args[0].IsConstant() &&
				(IsPositive(e.args[0]) || e.args[0].kind == KProduct && allPositive(e.args[0].args)) {
				c := e.coefs[0]
				logC := Call("log", Number(c))
				if p, q := c.Frac(); !c.IsFloat() && q > 1 {
					logC = Sub(Call("log", IntNode(p)), Call("log", IntNode(q)))
				}
				return Add(logC, Call("log", e.args[0]))
			}
			// log(Π bᵢ^eᵢ) = Σ eᵢ log bᵢ when every bᵢ is positive
			if a[0].kind == KProduct && allPositive(a[0].args) {
				terms := make([]*Node, len(a[0].args))
				for i, b := range a[0].args {
					terms[i] = Scale(Call("log", b), a[0].coefs[i])
				}
				return Add(terms...)
			}
			return nil
		},
			deriv: func(a []*Node, _ int) *Node { return PowNum(x(a), Int(-1)) }},
		"sin": {arity: 1, eval: unary(math.Sin), latex: `\sin`, exact: at0(0, 0),
			deriv: func(a []*Node, _ int) *Node { return Call("cos", x(a)) }},
		"cos": {arity: 1, eval: unary(math.Cos), latex: `\cos`, exact: at0(0, 1),
			deriv: func(a []*Node, _ int) *Node { return Neg(Call("sin", x(a))) }},
		"tan": {arity: 1, eval: unary(math.Tan), latex: `\tan`, exact: at0(0, 0),
			deriv: func(a []*Node, _ int) *Node { return Add(One(), PowNum(Call("tan", x(a)), Int(2))) }},
		"sinh": {arity: 1, eval: unary(math.Sinh), latex: `\sinh`, exact: at0(0, 0),
			deriv: func(a []*Node, _ int) *Node { return Call("cosh", x(a)) }},
		"cosh": {arity: 1, eval: unary(math.Cosh), latex: `\cosh`, exact: at0(0, 1),
			deriv: func(a []*Node, _ int) *Node { return Call("sinh", x(a)) }},
		"tanh": {arity: 1, eval: unary(math.Tanh), latex: `\tanh`, exact: at0(0, 0),
			deriv: func(a []*Node, _ int) *Node { return Sub(One(), PowNum(Call("tanh", x(a)), Int(2))) }},
		"atan": {arity: 1, eval: unary(math.Atan), latex: `\arctan`, exact: at0(0, 0),
			deriv: func(a []*Node, _ int) *Node { return PowNum(Add(One(), PowNum(x(a), Int(2))), Int(-1)) }},
		"asin": {arity: 1, eval: unary(math.Asin), latex: `\arcsin`, exact: at0(0, 0),
			deriv: func(a []*Node, _ int) *Node { return PowNum(Sub(One(), PowNum(x(a), Int(2))), Rat(-1, 2)) }},
		"acos": {arity: 1, eval: unary(math.Acos), latex: `\arccos`, exact: at0(1, 0),
			deriv: func(a []*Node, _ int) *Node {
				return Neg(PowNum(Sub(One(), PowNum(x(a), Int(2))), Rat(-1, 2)))
			}},
		"erf": {arity: 1, eval: unary(math.Erf), latex: `\operatorname{erf}`, exact: at0(0, 0),
			// erf'(x) = 2/sqrt(pi) · exp(-x²)
			deriv: func(a []*Node, _ int) *Node {
				return Mul(IntNode(2), PowNum(Pi(), Rat(-1, 2)), Call("exp", Neg(PowNum(x(a), Int(2)))))
			}},
		"sigmoid": {arity: 1, eval: unary(Sigmoid), latex: `\operatorname{sigmoid}`, exact: func(a []*Node) *Node {
			if a[0].IsZero() {
				return Number(Rat(1, 2))
			}
			return nil
		},
			// σ' = σ(1 - σ)
			deriv: func(a []*Node, _ int) *Node {
				s := Call("sigmoid", x(a))
				return Mul(s, Sub(One(), s))
			}},
		"softplus": {arity: 1, eval: unary(Softplus), latex: `\operatorname{softplus}`,
			deriv: func(a []*Node, _ int) *Node { return Call("sigmoid", x(a)) }},
		"logcosh": {arity: 1, eval: unary(Logcosh), latex: `\log\cosh`, exact: at0(0, 0),
			deriv: func(a []*Node, _ int) *Node { return Call("tanh", x(a)) }},
		"abs": {arity: 1, eval: unary(math.Abs), exact: func(a []*Node) *Node {
			if v, ok := a[0].Value(); ok {
				return Number(v.Abs())
			}
			if a[0].kind == KCall && (a[0].name == "abs" || a[0].name == "exp") {
				return a[0]
			}
			return nil
		},
			deriv: func(a []*Node, _ int) *Node { return Call("sign", x(a)) }},
		"sign": {arity: 1, eval: unary(Sign), latex: `\operatorname{sign}`, exact: func(a []*Node) *Node {
			if v, ok := a[0].Value(); ok {
				return IntNode(int64(v.Sign()))
			}
			return nil
		},
			deriv: func(a []*Node, _ int) *Node { return Zero() }},
		"step": {arity: 1, eval: unary(Step), latex: `\operatorname{step}`, exact: func(a []*Node) *Node {
			if v, ok := a[0].Value(); ok {
				return Number(Rat(int64(v.Sign()+1), 2))
			}
			return nil
		},
			deriv: func(a []*Node, _ int) *Node { return Zero() }},
		"min": {arity: 2, eval: math.Min, latex: `\min`, exact: minmax(-1),
			// ∂min(a,b)/∂a = step(b - a), ∂/∂b = step(a - b)
			deriv: func(a []*Node, k int) *Node { return Call("step", Sub(a[1-k], a[k])) }},
		"max": {arity: 2, eval: math.Max, latex: `\max`, exact: minmax(1),
			deriv: func(a []*Node, k int) *Node { return Call("step", Sub(a[k], a[1-k])) }},
	}
}

// IsPositive reports whether e is positive wherever it is defined: positive
// numbers, pi, exp, a density's value q (densities are positive), cosh,
// sigmoid, and sums, products and powers of positive expressions.
func IsPositive(e *Node) bool {
	switch e.kind {
	case KNumber:
		return e.num.Sign() > 0
	case KConstant:
		return true
	case KJet:
		return order(e.alpha) == 0
	case KCall:
		switch e.name {
		case "exp", "cosh", "sigmoid", "softplus":
			return true
		}
	case KProduct:
		return allPositive(e.args)
	case KPower:
		return IsPositive(e.args[0])
	case KSum:
		if e.num.Sign() < 0 {
			return false
		}
		for i, t := range e.coefs {
			if t.Sign() < 0 || !IsPositive(e.args[i]) {
				return false
			}
		}
		return true
	}
	return false
}

func allPositive(ns []*Node) bool {
	for _, n := range ns {
		if !IsPositive(n) {
			return false
		}
	}
	return true
}

// minmax folds min (which = -1) or max (which = 1) of equal or numeric arguments.
func minmax(which int) func(a []*Node) *Node {
	return func(a []*Node) *Node {
		if a[0] == a[1] {
			return a[0]
		}
		u, ok1 := a[0].Value()
		v, ok2 := a[1].Value()
		if ok1 && ok2 {
			if u.Cmp(v)*which >= 0 {
				return a[0]
			}
			return a[1]
		}
		return nil
	}
}

// fold returns the exact or numeric value of a call, or nil to keep the call.
func (b *builtin) fold(args []*Node) *Node {
	if b.exact != nil {
		if r := b.exact(args); r != nil {
			return r
		}
	}
	// a call of floats is a float, like any arithmetic on floats
	anyFloat := false
	for _, a := range args {
		v, ok := a.Value()
		if !ok {
			return nil
		}
		anyFloat = anyFloat || v.IsFloat()
	}
	if !anyFloat {
		return nil // exact arguments: keep log(2), exp(1) symbolic
	}
	var v float64
	u := args[0].num.Float64()
	if len(args) > 1 {
		v = args[1].num.Float64()
	}
	r := b.eval(u, v)
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return nil
	}
	return FloatNode(r)
}

// EvalBuiltin evaluates the built-in name at a (and b for two arguments).
func EvalBuiltin(name string, a, b float64) float64 { return builtins[name].eval(a, b) }

// callDeriv returns ∂f(args)/∂args[k].
func callDeriv(name string, args []*Node, k int) *Node {
	return builtins[name].deriv(slices.Clip(args), k)
}
