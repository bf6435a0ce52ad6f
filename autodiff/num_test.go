// Tests of Num: exact rational arithmetic, overflow into big rationals and floats, exact roots.
package autodiff

import (
	"math"
	"testing"
)

// exact asserts that n is the exact rational p/q.
func exact(t *testing.T, what string, n Num, p, q int64) {
	t.Helper()
	if n.IsFloat() {
		t.Errorf("%s = %v is a float, want exact %d/%d", what, n, p, q)
		return
	}
	if np, nq := n.Frac(); np != p || nq != q {
		t.Errorf("%s = %d/%d, want %d/%d", what, np, nq, p, q)
	}
}

func TestNumNormalisation(t *testing.T) {
	exact(t, "Rat(6, -4)", Rat(6, -4), -3, 2)
	exact(t, "Rat(0, -5)", Rat(0, -5), 0, 1)
	exact(t, "Rat(-12, -18)", Rat(-12, -18), 2, 3)
	exact(t, "Float(2.0)", Float(2.0), 2, 1) // integral floats are integers
	exact(t, "Float(-0.0)", Float(math.Copysign(0, -1)), 0, 1)
	for _, f := range []float64{0.5, 1e300, -1e20 + 0.5, math.Inf(1)} {
		if !Float(f).IsFloat() || Float(f).Float64() != f {
			t.Errorf("Float(%g) = %v, want the float %g", f, Float(f), f)
		}
	}
	if Float(1<<53).IsFloat() != true {
		t.Errorf("Float(2^53) should stay a float (integers are exact below 2^53 only)")
	}
	if n := Rat(math.MinInt64, -1); n.IsFloat() || n.String() != "9223372036854775808" {
		t.Errorf("Rat(MinInt64, -1) = %v, want the exact 2^63", n)
	}
}

func TestNumExactArithmetic(t *testing.T) {
	exact(t, "1/3 + 1/6", Rat(1, 3).Add(Rat(1, 6)), 1, 2)
	exact(t, "2/3 · 3/4", Rat(2, 3).Mul(Rat(3, 4)), 1, 2)
	exact(t, "1/3 − 1/3", Rat(1, 3).Sub(Rat(1, 3)), 0, 1)
	q, ok := Rat(2, 3).Div(Rat(-4, 9))
	exact(t, "(2/3)/(−4/9)", q, -3, 2)
	if !ok {
		t.Error("Div reported a zero divisor")
	}
	if _, ok := Int(1).Div(Int(0)); ok {
		t.Error("1/0 should report a zero divisor")
	}
	inv, _ := Rat(-2, 7).Inv()
	exact(t, "1/(−2/7)", inv, -7, 2)
	// cross-reduction keeps products exact although the plain numerators
	// and denominators would overflow: (2^40/3)·(3/2^40) = 1
	exact(t, "(2^40/3)·(3/2^40)", Rat(1<<40, 3).Mul(Rat(3, 1<<40)), 1, 1)
	// a float anywhere makes the result a float
	third := 1.0
	third /= 3
	if s := Rat(1, 3).Add(Float(0.5)); !s.IsFloat() || s.Float64() != third+0.5 {
		t.Errorf("1/3 + 0.5 = %v, want the float %v", s, third+0.5)
	}
	exact(t, "−(−5/3)", Rat(-5, 3).Neg(), 5, 3)
	exact(t, "|−5/3|", Rat(-5, 3).Abs(), 5, 3)
}

func TestNumOverflow(t *testing.T) {
	// the int64 intermediates overflow but the result fits: exact again
	exact(t, "2^62/3 − 2^62/3", Rat(1<<62, 3).Add(Rat(-(1<<62), 3)), 0, 1)
	exact(t, "(MaxInt64 − 1) + 1", Int(math.MaxInt64-1).Add(Int(1)), math.MaxInt64, 1)
	exact(t, "(2^62/5)·(5/2^61)", Rat(1<<62, 5).Mul(Rat(5, 1<<61)), 2, 1)
	// the result does not fit in int64: exact in big rationals, as in SymPy
	big := func(what string, n Num, want string) {
		t.Helper()
		if n.IsFloat() || n.String() != want {
			t.Errorf("%s = %v (float %v), want the exact %s", what, n, n.IsFloat(), want)
		}
	}
	big("MaxInt64 + 1", Int(math.MaxInt64).Add(Int(1)), "9223372036854775808")
	big("2^40·2^40", Int(1<<40).Mul(Int(1<<40)), "1208925819614629174706176")
	// the sum's denominator, the product of two primes near 2^32, exceeds 2^63
	big("1/4294967291 + 1/4294967279", Rat(1, 4294967291).Add(Rat(1, 4294967279)), "8589934570/18446743979220271189")
	big("−MinInt64", Int(math.MinInt64).Neg(), "9223372036854775808")
	// and back: (2^63 + 1) − 2^63 is the int64 1, (2^80)/(2^80) is 1
	exact(t, "(MaxInt64 + 2) − (MaxInt64 + 1)", Int(math.MaxInt64).Add(Int(2)).Sub(Int(math.MaxInt64).Add(Int(1))), 1, 1)
	p80 := Int(1 << 40).Mul(Int(1 << 40))
	q, _ := p80.Div(p80)
	exact(t, "2^80/2^80", q, 1, 1)
	if p80.Cmp(Int(math.MaxInt64)) <= 0 || p80.Neg().Cmp(Int(math.MinInt64)) >= 0 || !p80.Equal(Int(1<<40).Mul(Int(1<<40))) {
		t.Error("comparisons of big rationals")
	}
	// beyond maxBigBits the arithmetic goes to floating point
	huge := Int(1 << 62)
	for range 70 {
		huge = huge.Mul(Int(1 << 62))
	}
	if !huge.IsFloat() {
		t.Errorf("2^4402 = %v, want a float", huge)
	}
}

func TestNumPow(t *testing.T) {
	pow := func(b, e Num) (Num, bool) { return b.Pow(e) }
	check := func(what string, b, e Num, p, q int64) {
		t.Helper()
		r, ok := pow(b, e)
		if !ok {
			t.Errorf("%s not representable", what)
			return
		}
		exact(t, what, r, p, q)
	}
	check("2^10", Int(2), Int(10), 1024, 1)
	check("3^−2", Int(3), Int(-2), 1, 9)
	check("(−2/3)^3", Rat(-2, 3), Int(3), -8, 27)
	check("(4/9)^(1/2)", Rat(4, 9), Rat(1, 2), 2, 3)
	check("(4/9)^(−3/2)", Rat(4, 9), Rat(-3, 2), 27, 8)
	check("27^(2/3)", Int(27), Rat(2, 3), 9, 1)
	check("0^0", Int(0), Int(0), 1, 1)
	check("0^5", Int(0), Int(5), 0, 1)
	check("(1/1024)^(1/10)", Rat(1, 1024), Rat(1, 10), 1, 2)
	for _, c := range []struct {
		what string
		b, e Num
	}{
		{"2^(1/2)", Int(2), Rat(1, 2)},     // irrational: kept symbolic
		{"(−4)^(1/2)", Int(-4), Rat(1, 2)}, // not real
		{"(−8)^(1/3)", Int(-8), Rat(1, 3)}, // NaN, as math.Pow and x^(1/3) at −8
		{"0^−1", Int(0), Int(-1)},          // division by zero
		{"(2/3)^(1/3)", Rat(2, 3), Rat(1, 3)},
	} {
		if r, ok := pow(c.b, c.e); ok {
			t.Errorf("%s = %v, want not representable", c.what, r)
		}
	}
	// large exponents go to floating point
	if r, ok := pow(Int(2), Int(100)); !ok || !r.IsFloat() || r.Float64() != 0x1p100 {
		t.Errorf("2^100 = %v, %v; want the float 2^100", r, ok)
	}
	// past int64: exact
	if r, ok := pow(Int(10), Int(30)); !ok || r.IsFloat() || r.String() != "1000000000000000000000000000000" {
		t.Errorf("10^30 = %v, %v; want the exact 10^30", r, ok)
	}
	if r, ok := pow(Int(10), Int(-400)); ok {
		t.Errorf("10^−400 = %v, want not representable (underflow)", r)
	}
	if r, ok := pow(Float(2.5), Int(2)); !ok || r.Float64() != 6.25 {
		t.Errorf("2.5^2 = %v, %v", r, ok)
	}
	if _, ok := pow(Float(-2.5), Float(0.5)); ok {
		t.Error("(−2.5)^0.5 should not be representable (NaN)")
	}
}

func TestNumCmp(t *testing.T) {
	nan := Num{f: math.NaN()}
	ordered := []Num{nan, Float(math.Inf(-1)), Int(-3), Rat(-1, 3), Int(0), Rat(1, 3), Float(0.34), Rat(1, 2), Float(0.5), Int(1), Float(math.Inf(1))}
	for i, a := range ordered {
		for j, b := range ordered {
			want := 0
			switch {
			case i < j:
				want = -1
			case i > j:
				want = 1
			}
			if got := a.Cmp(b); got != want {
				t.Errorf("Cmp(%v, %v) = %d, want %d", a, b, got, want)
			}
		}
	}
	if !Rat(2, 4).Equal(Rat(1, 2)) || Rat(1, 2).Equal(Float(0.5)) {
		t.Error("Equal compares value and representation")
	}
}

func TestNumString(t *testing.T) {
	for _, c := range []struct {
		n    Num
		want string
	}{
		{Int(3), "3"}, {Int(-2), "-2"}, {Rat(1, 3), "1/3"}, {Rat(-7, 2), "-7/2"},
		{Float(0.1), "0.1"}, {Float(1e-7), "1e-07"}, {Float(2.5e300), "2.5e+300"},
		{Float(1 << 53), "9.007199254740992e+15"}, {Float(math.Inf(-1)), "-Inf"},
	} {
		if got := c.n.String(); got != c.want {
			t.Errorf("String(%#v) = %q, want %q", c.n, got, c.want)
		}
	}
}
