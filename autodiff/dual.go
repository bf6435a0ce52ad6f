// Forward-mode dual and hyper-dual numbers: derivatives of a DAG by evaluation, with no symbolic work.
package autodiff

import (
	"fmt"
	"math"
)

// HyperDual is the hyper-dual number V + D1·ε₁ + D2·ε₂ + D12·ε₁ε₂ with
// ε₁² = ε₂² = 0 and ε₁ε₂ ≠ 0 (Fike & Alonso, "The development of hyper-dual
// numbers for exact second-derivative calculations", AIAA 2011-886).
// Evaluating f at x + u·ε₁ + v·ε₂ gives f(x), the directional derivatives
// ∇f·u and ∇f·v, and the mixed second derivative uᵀ∇²f v, all exact to
// rounding (no step size, no cancellation). With D2 = D12 = 0 it is an
// ordinary dual number.
type HyperDual struct{ V, D1, D2, D12 float64 }

// EvalDual returns e's value at the point values and its directional
// derivative Σ dir[s]·∂e/∂s (symbols missing from dir have direction 0),
// computed with dual numbers: an independent check of Diff and Grad.
// Integrals cannot be evaluated (an error, as for Eval without a density).
//
// Functions that are only piecewise smooth use the derivatives Diff uses
// almost everywhere: abs' = sign, sign' = step' = 0, and at a tie of min or
// max each argument gets half the weight (step(0) = 1/2).
func EvalDual(e *Node, values, dir map[*Node]float64) (val, deriv float64, err error) {
	h, err := evalHyper(e, values, dir, nil)
	return h.V, h.D1, err
}

// EvalHyperDual returns e's value at the point values, its directional
// derivatives along u and along v, and the mixed second derivative
// uᵀ∇²e v, computed with hyper-dual numbers: an independent check of Hessian.
// With u = v = eᵢ it gives ∂²e/∂sᵢ²; with u = eᵢ and a vector v it gives the
// Hessian–vector product's i-th entry without forming the Hessian.
func EvalHyperDual(e *Node, values, u, v map[*Node]float64) (val, du, dv, duv float64, err error) {
	h, err := evalHyper(e, values, u, v)
	return h.V, h.D1, h.D2, h.D12, err
}

func evalHyper(e *Node, values, u, v map[*Node]float64) (HyperDual, error) {
	ev := hyperEval{values: values, u: u, v: v, memo: make(map[*Node]HyperDual)}
	return ev.eval(e)
}

type hyperEval struct {
	values, u, v map[*Node]float64
	memo         map[*Node]HyperDual
}

func (ev *hyperEval) eval(e *Node) (HyperDual, error) {
	if r, ok := ev.memo[e]; ok {
		return r, nil
	}
	var r HyperDual
	switch e.kind {
	case KNumber:
		r = HyperDual{V: e.num.Float64()}
	case KConstant:
		r = HyperDual{V: math.Pi}
	case KSymbol, KJet:
		x, ok := ev.values[e]
		if !ok {
			return r, &UnboundError{e}
		}
		r = HyperDual{V: x, D1: ev.u[e], D2: ev.v[e]}
	case KSum:
		r.V = e.num.Float64()
		for i, t := range e.args {
			a, err := ev.eval(t)
			if err != nil {
				return r, err
			}
			r = r.add(a.scale(e.coefs[i].Float64()))
		}
	case KProduct:
		r = HyperDual{V: 1}
		for i, b := range e.args {
			a, err := ev.eval(b)
			if err != nil {
				return r, err
			}
			r = r.mul(a.powNum(e.coefs[i]))
		}
	case KPower:
		b, err := ev.eval(e.args[0])
		if err != nil {
			return r, err
		}
		p, err := ev.eval(e.args[1])
		if err != nil {
			return r, err
		}
		r = hyperPow(b, p)
	case KCall:
		a, err := ev.eval(e.args[0])
		if err != nil {
			return r, err
		}
		switch e.name {
		case "min", "max":
			b, err := ev.eval(e.args[1])
			if err != nil {
				return r, err
			}
			r = minMax(e.name == "max", a, b)
		case "sign", "step":
			// piecewise constant: the derivatives are 0 whatever the argument's
			r = HyperDual{V: dualConst[e.name](a.V)}
		case "abs":
			// piecewise linear: abs″ is 0 whatever the argument's derivatives
			v := a.V
			r = HyperDual{V: math.Abs(v), D1: dirTerm(Sign(v), a.D1), D2: dirTerm(Sign(v), a.D2), D12: dirTerm(Sign(v), a.D12)}
		default:
			f, ok := dualFuncs[e.name]
			if !ok {
				return r, fmt.Errorf("autodiff: no dual rule for %s", e.name)
			}
			r = a.chain(f(a.V))
		}
	case KIntegral:
		return r, fmt.Errorf("cannot evaluate %s without a density", String(e))
	}
	ev.memo[e] = r
	return r, nil
}

// dirTerm returns k·d, or 0 when the direction part d is 0, so that a
// derivative that does not enter (d = 0) cannot turn into NaN through an
// infinite or undefined k (sqrt at 0, log of a negative base): the symbolic
// derivative drops such terms in the same way.
func dirTerm(k, d float64) float64 {
	if d == 0 {
		return 0
	}
	return k * d
}

func (a HyperDual) add(b HyperDual) HyperDual {
	return HyperDual{a.V + b.V, a.D1 + b.D1, a.D2 + b.D2, a.D12 + b.D12}
}

func (a HyperDual) scale(k float64) HyperDual {
	return HyperDual{k * a.V, k * a.D1, k * a.D2, k * a.D12}
}

// mul is the product rule: (ab)₁₂ = a₁₂b + a₁b₂ + a₂b₁ + ab₁₂.
func (a HyperDual) mul(b HyperDual) HyperDual {
	return HyperDual{
		V:   a.V * b.V,
		D1:  dirTerm(b.V, a.D1) + dirTerm(a.V, b.D1),
		D2:  dirTerm(b.V, a.D2) + dirTerm(a.V, b.D2),
		D12: dirTerm(b.V, a.D12) + dirTerm(a.D1, b.D2) + dirTerm(a.D2, b.D1) + dirTerm(a.V, b.D12),
	}
}

// chain applies a function with value f0, first derivative f1 and second
// derivative f2 at a.V: f(a)₁ = f′a₁, f(a)₁₂ = f′a₁₂ + f″a₁a₂.
func (a HyperDual) chain(f0, f1, f2 float64) HyperDual {
	return HyperDual{
		V:   f0,
		D1:  dirTerm(f1, a.D1),
		D2:  dirTerm(f1, a.D2),
		D12: dirTerm(f1, a.D12) + dirTerm(f2, a.D1*a.D2),
	}
}

// powNum raises a to a numeric exponent k: f = x^k, f′ = k·x^(k−1),
// f″ = k(k−1)·x^(k−2), with the exact-integer shortcuts of the Evaluator.
func (a HyperDual) powNum(k Num) HyperDual {
	if k.IsOne() {
		return a
	}
	x, kf := a.V, k.Float64()
	f0 := powNum(x, k)
	f1 := kf * powNum(x, k.Sub(Int(1)))
	f2 := 0.0
	if km1 := k.Sub(Int(1)); !km1.IsZero() {
		f2 = kf * km1.Float64() * powNum(x, k.Sub(Int(2)))
	}
	return a.chain(f0, f1, f2)
}

// hyperPow is b^p for a non-numeric exponent, f(b, p) = b^p, with partials
// f_b = p·b^(p−1), f_p = b^p·log b, f_bb = p(p−1)·b^(p−2),
// f_bp = b^(p−1)·(1 + p·log b), f_pp = b^p·log²b.
func hyperPow(b, p HyperDual) HyperDual {
	x, y := b.V, p.V
	f := math.Pow(x, y)
	var lg float64
	if p.D1 != 0 || p.D2 != 0 {
		lg = math.Log(x) // only needed when the exponent moves
	}
	fb := y * math.Pow(x, y-1)
	fp := f * lg
	fbb := y * (y - 1) * math.Pow(x, y-2)
	fbp := math.Pow(x, y-1) * (1 + y*lg)
	fpp := f * lg * lg
	return HyperDual{
		V:  f,
		D1: dirTerm(fb, b.D1) + dirTerm(fp, p.D1),
		D2: dirTerm(fb, b.D2) + dirTerm(fp, p.D2),
		D12: dirTerm(fb, b.D12) + dirTerm(fp, p.D12) +
			dirTerm(fbb, b.D1*b.D2) + dirTerm(fbp, b.D1*p.D2+b.D2*p.D1) + dirTerm(fpp, p.D1*p.D2),
	}
}

// minMax returns min(a, b) (or max): the smaller (larger) argument with its
// derivatives, and at a tie the average of both, matching ∂min/∂a =
// step(b − a) with step(0) = 1/2.
func minMax(isMax bool, a, b HyperDual) HyperDual {
	switch {
	case math.IsNaN(a.V) || math.IsNaN(b.V):
		nan := math.NaN()
		return HyperDual{nan, nan, nan, nan}
	case a.V == b.V:
		return HyperDual{a.V, (a.D1 + b.D1) / 2, (a.D2 + b.D2) / 2, (a.D12 + b.D12) / 2}
	case (a.V > b.V) == isMax:
		return a
	}
	return b
}

// dualFuncs gives each one-argument built-in's value, first and second
// derivative at x. They are written out numerically here, independently of
// the symbolic rules in builtins.go, so that each checks the other.
var dualFuncs = map[string]func(x float64) (f0, f1, f2 float64){
	"exp": func(x float64) (float64, float64, float64) {
		e := math.Exp(x)
		return e, e, e
	},
	"log": func(x float64) (float64, float64, float64) { return math.Log(x), 1 / x, -1 / (x * x) },
	"sin": func(x float64) (float64, float64, float64) {
		s, c := math.Sincos(x)
		return s, c, -s
	},
	"cos": func(x float64) (float64, float64, float64) {
		s, c := math.Sincos(x)
		return c, -s, -c
	},
	// tan′ = 1 + tan², tan″ = 2 tan (1 + tan²)
	"tan": func(x float64) (float64, float64, float64) {
		t := math.Tan(x)
		return t, 1 + t*t, 2 * t * (1 + t*t)
	},
	"sinh": func(x float64) (float64, float64, float64) {
		return math.Sinh(x), math.Cosh(x), math.Sinh(x)
	},
	"cosh": func(x float64) (float64, float64, float64) {
		return math.Cosh(x), math.Sinh(x), math.Cosh(x)
	},
	// tanh′ = 1 − tanh², tanh″ = −2 tanh (1 − tanh²)
	"tanh": func(x float64) (float64, float64, float64) {
		t := math.Tanh(x)
		return t, 1 - t*t, -2 * t * (1 - t*t)
	},
	// atan′ = 1/(1 + x²), atan″ = −2x/(1 + x²)²
	"atan": func(x float64) (float64, float64, float64) {
		d := 1 / (1 + x*x)
		return math.Atan(x), d, -2 * x * d * d
	},
	// asin′ = (1 − x²)^(−1/2), asin″ = x (1 − x²)^(−3/2)
	"asin": func(x float64) (float64, float64, float64) {
		s := 1 / math.Sqrt(1-x*x)
		return math.Asin(x), s, x * s * s * s
	},
	"acos": func(x float64) (float64, float64, float64) {
		s := 1 / math.Sqrt(1-x*x)
		return math.Acos(x), -s, -x * s * s * s
	},
	// erf′ = (2/√π) e^(−x²), erf″ = −2x erf′
	"erf": func(x float64) (float64, float64, float64) {
		d := 2 / math.Sqrt(math.Pi) * math.Exp(-x*x)
		return math.Erf(x), d, -2 * x * d
	},
	// σ′ = σ(1 − σ), σ″ = σ(1 − σ)(1 − 2σ)
	"sigmoid": func(x float64) (float64, float64, float64) {
		s := Sigmoid(x)
		d := s * (1 - s)
		return s, d, d * (1 - 2*s)
	},
	// softplus′ = σ, softplus″ = σ(1 − σ)
	"softplus": func(x float64) (float64, float64, float64) {
		s := Sigmoid(x)
		return Softplus(x), s, s * (1 - s)
	},
	// (log cosh)′ = tanh, (log cosh)″ = 1 − tanh²
	"logcosh": func(x float64) (float64, float64, float64) {
		t := math.Tanh(x)
		return Logcosh(x), t, 1 - t*t
	},
	"abs": func(x float64) (float64, float64, float64) { return math.Abs(x), Sign(x), 0 },
}

// dualConst gives the piecewise-constant built-ins, whose derivatives are
// 0 even where their argument's are not finite (as the symbolic rule
// sign′ = step′ = 0 has it).
var dualConst = map[string]func(x float64) float64{"sign": Sign, "step": Step}
