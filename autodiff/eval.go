// Direct numeric evaluation of a DAG (for checks and one-off values; runs use compiled tapes).
package autodiff

import (
	"fmt"
	"math"
)

// Evaluator computes numeric values of expressions at one point.
type Evaluator struct {
	// Values gives each symbol and jet its value.
	Values map[*Node]float64
	// Integral, when set, evaluates integral nodes (e.g. by quadrature
	// against a test density); without it an integral is an error.
	Integral func(n *Node, ev *Evaluator) (float64, error)

	memo map[*Node]float64
}

// UnboundError reports a symbol with no value.
type UnboundError struct{ Sym *Node }

func (e *UnboundError) Error() string { return fmt.Sprintf("no value for %s", String(e.Sym)) }

// Eval returns e's value at the point given by values.
func Eval(e *Node, values map[*Node]float64) (float64, error) {
	ev := Evaluator{Values: values}
	return ev.Eval(e)
}

// Eval returns e's value; results are memoised per Evaluator, so reset
// Values only through Reset.
func (ev *Evaluator) Eval(e *Node) (float64, error) {
	if ev.memo == nil {
		ev.memo = make(map[*Node]float64)
	}
	return ev.eval(e)
}

// Reset forgets memoised values (call it after changing Values).
func (ev *Evaluator) Reset() { ev.memo = nil }

func (ev *Evaluator) eval(e *Node) (float64, error) {
	if v, ok := ev.memo[e]; ok {
		return v, nil
	}
	var v float64
	switch e.kind {
	case KNumber:
		return e.num.Float64(), nil
	case KConstant:
		v = math.Pi
	case KSymbol, KJet:
		x, ok := ev.Values[e]
		if !ok {
			return 0, &UnboundError{e}
		}
		v = x
	case KSum:
		v = e.num.Float64()
		for i, t := range e.args {
			x, err := ev.eval(t)
			if err != nil {
				return 0, err
			}
			v += e.coefs[i].Float64() * x
		}
	case KProduct:
		v = 1
		for i, b := range e.args {
			x, err := ev.eval(b)
			if err != nil {
				return 0, err
			}
			v *= powNum(x, e.coefs[i])
		}
	case KPower:
		b, err := ev.eval(e.args[0])
		if err != nil {
			return 0, err
		}
		p, err := ev.eval(e.args[1])
		if err != nil {
			return 0, err
		}
		v = math.Pow(b, p)
	case KCall:
		a, err := ev.eval(e.args[0])
		if err != nil {
			return 0, err
		}
		var b float64
		if len(e.args) > 1 {
			if b, err = ev.eval(e.args[1]); err != nil {
				return 0, err
			}
		}
		v = builtins[e.name].eval(a, b)
	case KIntegral:
		if ev.Integral == nil {
			return 0, fmt.Errorf("cannot evaluate %s without a density", String(e))
		}
		x, err := ev.Integral(e, ev)
		if err != nil {
			return 0, err
		}
		v = x
	}
	ev.memo[e] = v
	return v, nil
}

// powNum computes x^e for a numeric exponent, exactly for small integers and
// for square roots.
func powNum(x float64, e Num) float64 {
	if n, ok := e.IsInt(); ok {
		return powInt(x, n)
	}
	if p, q := e.Frac(); q == 2 {
		return powInt(math.Sqrt(x), p)
	}
	return math.Pow(x, e.Float64())
}

func powInt(x float64, n int64) float64 {
	switch n {
	case 0:
		return 1
	case 1:
		return x
	case 2:
		return x * x
	case 3:
		return x * x * x
	case -1:
		return 1 / x
	case -2:
		return 1 / (x * x)
	}
	// small exponents by repeated squaring (a few multiplications instead
	// of math.Pow's logarithm and exponential; batch mode runs this per point)
	if n >= -maxSquaringPow && n <= maxSquaringPow {
		k := n
		if k < 0 {
			k = -k
		}
		r, b := 1.0, x
		for ; k > 0; k >>= 1 {
			if k&1 == 1 {
				r *= b
			}
			b *= b
		}
		if n < 0 {
			return 1 / r
		}
		return r
	}
	return math.Pow(x, float64(n))
}

// maxSquaringPow bounds the integer exponents computed by repeated
// squaring: at most 2·log₂ 64 = 12 multiplications, each adding half an
// ulp of rounding.
const maxSquaringPow = 64
