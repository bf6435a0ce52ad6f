// Exact rational numbers with a float64 fallback: the coefficients and exponents of the DAG.
package autodiff

import (
	"cmp"
	"math"
	"math/big"
	"math/bits"
	"strconv"
)

// Num is an exact rational p/q (q > 0, gcd(p, q) = 1), an exact rational
// too large for int64 (r, with q = bigQ), or, once a computation becomes
// inexact, a float64. Integer literals and their quotients stay exact,
// as in SymPy, so that x^3/3 differentiates to x^2 and prints as written;
// a literal with a decimal point or an exponent is a float.
//
// A float whose value is an integer of magnitude below 2^53 is stored as that
// integer, so that 2.0*x and 2*x are one node and every printed float
// contains '.' or 'e' and parses back as a float.
type Num struct {
	p, q int64 // q == 0 marks a float, q == bigQ an exact r
	f    float64
	r    *big.Rat // never modified once in a Num
}

// bigQ marks a Num held in r: exact, beyond int64.
const bigQ = -1

// maxBigBits bounds the size of an exact rational (numerator and
// denominator bits together): beyond it arithmetic continues in floating
// point, so that repeated squaring cannot exhaust memory.
const maxBigBits = 4096

// fromBig returns the exact z: an int64 rational when it fits, z itself
// when it is not too large, a float otherwise.
func fromBig(z *big.Rat) Num {
	if z.Num().IsInt64() && z.Denom().IsInt64() {
		return normRat(z.Num().Int64(), z.Denom().Int64())
	}
	if z.Num().BitLen()+z.Denom().BitLen() > maxBigBits {
		f, _ := z.Float64()
		return Num{f: f}
	}
	return Num{q: bigQ, r: z}
}

// BigInt returns the exact integer v.
func BigInt(v *big.Int) Num { return fromBig(new(big.Rat).SetInt(v)) }

// isBig reports whether n is held in r.
func (n Num) isBig() bool { return n.q == bigQ }

// toBig returns an exact n as a big.Rat (not to be modified).
func (n Num) toBig() *big.Rat {
	if n.isBig() {
		return n.r
	}
	return big.NewRat(n.p, n.q)
}

// maxExactInt bounds the integers a float is normalised to (2^53).
const maxExactInt = 1 << 53

// Int returns the exact integer n.
func Int(n int64) Num { return Num{p: n, q: 1} }

// Rat returns the exact rational p/q; q must not be 0.
func Rat(p, q int64) Num {
	if q == 0 {
		panic("autodiff: Rat with zero denominator")
	}
	return normRat(p, q)
}

// Float returns f, normalised to an exact integer when it is one.
func Float(f float64) Num {
	if f == math.Trunc(f) && math.Abs(f) < maxExactInt {
		return Int(int64(f))
	}
	return Num{f: f}
}

func normRat(p, q int64) Num {
	if q < 0 {
		if p == math.MinInt64 || q == math.MinInt64 {
			return fromBig(big.NewRat(p, q))
		}
		p, q = -p, -q
	}
	g := gcd(abs64(p), q)
	if g > 1 {
		p, q = p/g, q/g
	}
	return Num{p: p, q: q}
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func abs64(a int64) int64 {
	if a < 0 {
		return -a
	}
	return a
}

// IsFloat reports whether n is inexact.
func (n Num) IsFloat() bool { return n.q == 0 }

// Float64 returns n's value.
func (n Num) Float64() float64 {
	switch n.q {
	case 0:
		return n.f
	case 1:
		return float64(n.p)
	case bigQ:
		f, _ := n.r.Float64()
		return f
	}
	return float64(n.p) / float64(n.q)
}

// IsZero reports n == 0.
func (n Num) IsZero() bool { return n.q > 0 && n.p == 0 || n.q == 0 && n.f == 0 }

// IsOne reports n == 1.
func (n Num) IsOne() bool { return n.q == 1 && n.p == 1 }

// IsInt reports whether n is an exact integer, and which.
func (n Num) IsInt() (int64, bool) { return n.p, n.q == 1 }

// Sign returns -1, 0 or +1.
func (n Num) Sign() int {
	if n.isBig() {
		return n.r.Sign()
	}
	v := n.Float64()
	switch {
	case v < 0:
		return -1
	case v > 0:
		return 1
	}
	return 0
}

// IsFinite reports whether n is neither infinite nor NaN.
func (n Num) IsFinite() bool {
	return n.q != 0 || !math.IsInf(n.f, 0) && !math.IsNaN(n.f)
}

// Neg returns -n.
func (n Num) Neg() Num {
	if n.q == 0 {
		return Float(-n.f)
	}
	if n.isBig() || n.p == math.MinInt64 {
		return fromBig(new(big.Rat).Neg(n.toBig()))
	}
	return Num{p: -n.p, q: n.q}
}

// Add returns n + m, exact when both are exact and it fits.
func (n Num) Add(m Num) Num {
	if n.q != 0 && m.q != 0 {
		if n.isBig() || m.isBig() {
			return n.bigOp(m, (*big.Rat).Add)
		}
		// p1/q1 + p2/q2 = (p1 q2 + p2 q1) / (q1 q2)
		a, ok1 := mul64(n.p, m.q)
		b, ok2 := mul64(m.p, n.q)
		d, ok3 := mul64(n.q, m.q)
		if ok1 && ok2 && ok3 {
			if s, ok := add64(a, b); ok {
				return normRat(s, d)
			}
		}
		return n.bigOp(m, (*big.Rat).Add)
	}
	return Float(n.Float64() + m.Float64())
}

// Sub returns n - m.
func (n Num) Sub(m Num) Num { return n.Add(m.Neg()) }

// Mul returns n * m.
func (n Num) Mul(m Num) Num {
	if n.q != 0 && m.q != 0 {
		if n.isBig() || m.isBig() {
			return n.bigOp(m, (*big.Rat).Mul)
		}
		// cross-reduce first so that small results stay exact
		g1 := gcd(abs64(n.p), m.q)
		g2 := gcd(abs64(m.p), n.q)
		if g1 == 0 {
			g1 = 1
		}
		if g2 == 0 {
			g2 = 1
		}
		a, ok1 := mul64(n.p/g1, m.p/g2)
		b, ok2 := mul64(n.q/g2, m.q/g1)
		if ok1 && ok2 {
			return normRat(a, b)
		}
		return n.bigOp(m, (*big.Rat).Mul)
	}
	return Float(n.Float64() * m.Float64())
}

// Inv returns 1/n; ok is false when n is zero.
func (n Num) Inv() (Num, bool) {
	if n.IsZero() {
		return Num{}, false
	}
	if n.q == 0 {
		return Float(1 / n.f), true
	}
	if n.isBig() {
		return fromBig(new(big.Rat).Inv(n.r)), true
	}
	return normRat(n.q, n.p), true
}

// Div returns n / m; ok is false when m is zero.
func (n Num) Div(m Num) (Num, bool) {
	inv, ok := m.Inv()
	if !ok {
		return Num{}, false
	}
	return n.Mul(inv), true
}

// bigOp computes an exact operation in big rationals: int64 overflowed, or
// an operand is big. The result stays exact (see fromBig).
func (n Num) bigOp(m Num, op func(z, x, y *big.Rat) *big.Rat) Num {
	return fromBig(op(new(big.Rat), n.toBig(), m.toBig()))
}

func mul64(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	hi, lo := bits.Mul64(uint64(abs64(a)), uint64(abs64(b)))
	if hi != 0 || lo > math.MaxInt64 || a == math.MinInt64 || b == math.MinInt64 {
		return 0, false
	}
	r := int64(lo)
	if (a < 0) != (b < 0) {
		r = -r
	}
	return r, true
}

func add64(a, b int64) (int64, bool) {
	s := a + b
	if (a > 0 && b > 0 && s < 0) || (a < 0 && b < 0 && s >= 0) {
		return 0, false
	}
	return s, true
}

// maxExactPow bounds integer exponents computed exactly; beyond it powers are
// computed in floating point.
const maxExactPow = 64

// Pow returns n^m and whether the result is exact-or-float representable.
// A rational power of a rational that is not itself rational (2^(1/2)) is
// reported with ok == false so that the caller keeps it symbolic.
func (n Num) Pow(m Num) (Num, bool) {
	if n.q == 0 || m.q == 0 || m.isBig() {
		v := math.Pow(n.Float64(), m.Float64())
		return Float(v), !math.IsNaN(v) && !math.IsInf(v, 0)
	}
	if e, ok := m.IsInt(); ok {
		if n.IsZero() {
			if e < 0 {
				return Num{}, false
			}
			if e == 0 {
				return Int(1), true
			}
			return Int(0), true
		}
		if abs64(e) > maxExactPow {
			// neither overflow nor underflow of a non-zero base is representable
			v := math.Pow(n.Float64(), float64(e))
			return Float(v), !math.IsInf(v, 0) && v != 0
		}
		r := Int(1)
		base := n
		e0 := e
		if e < 0 {
			base, _ = n.Inv()
			e = -e
		}
		for ; e > 0; e-- {
			r = r.Mul(base)
			if r.IsFloat() { // beyond maxBigBits
				// too big to be exact: one rounding instead of one per factor
				v := math.Pow(n.Float64(), float64(e0))
				return Float(v), !math.IsInf(v, 0) && v != 0
			}
		}
		return r, true
	}
	// rational exponent a/b: exact only when n's numerator and denominator
	// are perfect b-th powers (and n >= 0 or b is odd).
	// A negative base has no real power with a fractional exponent here:
	// math.Pow gives NaN for (-8)^(1/3), and constants fold the same way
	// as expressions evaluate.
	a, b := m.p, m.q
	if n.Sign() < 0 || n.isBig() {
		return Num{}, false // (a big base keeps its root symbolic)
	}
	rp, ok1 := intRoot(n.p, b)
	rq, ok2 := intRoot(n.q, b)
	if !ok1 || !ok2 {
		return Num{}, false
	}
	return normRat(rp, rq).Pow(Int(a))
}

// intRoot returns the exact integer b-th root of v, if there is one.
func intRoot(v, b int64) (int64, bool) {
	neg := v < 0
	if neg {
		v = -v
	}
	r := int64(math.Round(math.Pow(float64(v), 1/float64(b))))
	for _, c := range []int64{r - 1, r, r + 1} {
		if c < 0 {
			continue
		}
		p, ok := Int(c).Pow(Int(b))
		if ok && !p.IsFloat() && p.p == v {
			if neg {
				c = -c
			}
			return c, true
		}
	}
	return 0, false
}

// Cmp compares n and m by value.
func (n Num) Cmp(m Num) int {
	if n.q != 0 && m.q != 0 {
		if n.isBig() || m.isBig() {
			return n.toBig().Cmp(m.toBig())
		}
		if n.q == m.q {
			return cmpInt(n.p, m.p)
		}
		a, ok1 := mul64(n.p, m.q)
		b, ok2 := mul64(m.p, n.q)
		if ok1 && ok2 {
			return cmpInt(a, b)
		}
		return big.NewRat(n.p, n.q).Cmp(big.NewRat(m.p, m.q))
	}
	// cmp.Compare puts NaN first, so that the order is total
	if c := cmp.Compare(n.Float64(), m.Float64()); c != 0 {
		return c
	}
	// equal values: order exact before float so that the order is total
	switch {
	case n.q != 0 && m.q == 0:
		return -1
	case n.q == 0 && m.q != 0:
		return 1
	}
	return cmp.Compare(math.Float64bits(n.f), math.Float64bits(m.f)) // NaN payloads
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Equal reports whether n and m are the same number in the same representation.
func (n Num) Equal(m Num) bool {
	if n.q == 0 || m.q == 0 {
		return n.q == m.q && math.Float64bits(n.f) == math.Float64bits(m.f)
	}
	if n.isBig() || m.isBig() {
		return n.isBig() && m.isBig() && n.r.Cmp(m.r) == 0
	}
	return n.p == m.p && n.q == m.q
}

// Abs returns |n|.
func (n Num) Abs() Num {
	if n.Sign() < 0 {
		return n.Neg()
	}
	return n
}

// Frac returns the numerator and denominator of an exact n that fits in
// int64 (0, 0 for a float or a larger rational; see FracText).
func (n Num) Frac() (p, q int64) {
	if n.isBig() {
		return 0, 0
	}
	return n.p, n.q
}

// FracText returns the numerator and denominator of an exact n in decimal
// ("1" for an integer), whatever their size.
func (n Num) FracText() (p, q string) {
	if n.isBig() {
		return n.r.Num().String(), n.r.Denom().String()
	}
	return strconv.FormatInt(n.p, 10), strconv.FormatInt(n.q, 10)
}

// String prints n as flowlang source: "3", "-2", "1/3" (as a quotient, so the
// caller parenthesises it where precedence needs) or the shortest float text
// that parses back to the same float ("0.1", "1e-07").
func (n Num) String() string {
	if n.q == 0 {
		s := strconv.FormatFloat(n.f, 'g', -1, 64)
		if !containsAny(s, ".eEIN") {
			s += ".0"
		}
		return s
	}
	if n.q == 1 {
		return strconv.FormatInt(n.p, 10)
	}
	p, q := n.FracText()
	if q == "1" {
		return p
	}
	return p + "/" + q
}

func containsAny(s, chars string) bool {
	for i := 0; i < len(s); i++ {
		for j := 0; j < len(chars); j++ {
			if s[i] == chars[j] {
				return true
			}
		}
	}
	return false
}
