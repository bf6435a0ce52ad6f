// Test helpers: random expressions decoded from bytes, random points, and numeric comparison with error estimates.
package autodiff

import (
	"math"
	"math/rand/v2"
)

// genSyms are the symbols random expressions are built over.
var genSyms = []*Node{Symbol("x", 0), Symbol("y", 0), Symbol("z", 0)}

// genNumbers are the numbers the generator pushes: exact integers and
// rationals, floats, and pi.
var genNumbers = []*Node{
	IntNode(-3), IntNode(-2), IntNode(-1), IntNode(0), IntNode(1), IntNode(2), IntNode(3), IntNode(10),
	Number(Rat(1, 2)), Number(Rat(-1, 3)), Number(Rat(3, 4)),
	FloatNode(0.5), FloatNode(2.5), FloatNode(-1.25), FloatNode(1e-3), Pi(),
}

// genExponents are the numeric exponents of PowNum.
var genExponents = []Num{
	Int(2), Int(3), Int(-1), Int(-2), Rat(1, 2), Rat(-1, 2), Rat(3, 2), Rat(1, 3),
	Int(4), Int(-3), Rat(2, 3), Float(0.7), Int(5), Rat(-3, 2), Int(0), Int(1),
}

// genMaxTree bounds the tree size of generated expressions, so that a
// decoded expression stays cheap to expand, print and evaluate.
const genMaxTree = 3000

// genMaxOps bounds the number of stack-machine operations decoded.
const genMaxOps = 48

// decodeExpr builds an expression from data with a small stack machine over
// genSyms, every built-in and every constructor: each byte is an operation
// (low four bits) and an argument (high four bits). Operations that would
// underflow the stack or exceed genMaxTree are skipped. The result is the
// sum of what is left on the stack (0 for an empty stack).
func decodeExpr(data []byte) *Node {
	unary := unaryBuiltins()
	var st []*Node
	push := func(e *Node) {
		if e.TreeSize() <= genMaxTree {
			st = append(st, e)
		}
	}
	pop2 := func() (*Node, *Node, bool) {
		if len(st) < 2 {
			return nil, nil, false
		}
		a, b := st[len(st)-2], st[len(st)-1]
		st = st[:len(st)-2]
		return a, b, true
	}
	for i, c := range data {
		if i >= genMaxOps {
			break
		}
		op, arg := c&15, int(c>>4)
		switch op {
		case 0:
			push(genSyms[arg%len(genSyms)])
		case 1:
			push(genNumbers[arg])
		case 2, 3, 4, 5:
			a, b, ok := pop2()
			if !ok {
				continue
			}
			switch op {
			case 2:
				push(Add(a, b))
			case 3:
				push(Sub(a, b))
			case 4:
				push(Mul(a, b))
			case 5:
				push(Div(a, b))
			}
		case 6:
			if len(st) > 0 {
				a := st[len(st)-1]
				st = st[:len(st)-1]
				push(Scale(a, genNumbers[arg].num))
			}
		case 7:
			if len(st) > 0 {
				a := st[len(st)-1]
				st = st[:len(st)-1]
				push(PowNum(a, genExponents[arg]))
			}
		case 8:
			if a, b, ok := pop2(); ok {
				push(Pow(a, b))
			}
		case 9, 10:
			if len(st) > 0 {
				a := st[len(st)-1]
				st = st[:len(st)-1]
				push(Call(unary[(arg+16*int(op-9))%len(unary)], a))
			}
		case 11:
			if a, b, ok := pop2(); ok {
				push(Call([]string{"min", "max"}[arg%2], a, b))
			}
		case 12:
			if len(st) > 0 {
				push(st[len(st)-1]) // dup: shared subexpressions
			}
		case 13:
			if len(st) > 0 && st[len(st)-1].TreeSize() <= genMaxTree/4 {
				a := st[len(st)-1]
				st = st[:len(st)-1]
				push(Diff(a, genSyms[arg%len(genSyms)]))
			}
		case 14:
			if len(st) > 0 {
				a := st[len(st)-1]
				st = st[:len(st)-1]
				push(Expand(a))
			}
		case 15:
			// substitute b for a symbol in a
			if a, b, ok := pop2(); ok {
				push(Substitute(a, map[*Node]*Node{genSyms[arg%len(genSyms)]: b}))
			}
		}
	}
	if len(st) == 0 {
		return Zero()
	}
	r := Add(st...)
	if r.TreeSize() > genMaxTree {
		return st[len(st)-1]
	}
	return r
}

// unaryBuiltins returns the names of the one-argument built-ins.
func unaryBuiltins() []string {
	var unary []string
	for _, n := range Builtins() {
		if a, _ := IsBuiltin(n); a == 1 {
			unary = append(unary, n)
		}
	}
	return unary
}

// randomExpr returns a random expression of about n operations.
func randomExpr(rng *rand.Rand, n int) *Node {
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(rng.IntN(256))
	}
	return decodeExpr(data)
}

// pointRange is the half-width of the box random points are drawn from;
// it reaches beyond ±1 (asin, acos are NaN there) and below 0 (log, sqrt).
const pointRange = 2.5

// randomPoint returns values for syms, uniform on (−pointRange, pointRange).
func randomPoint(rng *rand.Rand, syms []*Node) map[*Node]float64 {
	m := make(map[*Node]float64, len(syms))
	for _, s := range syms {
		m[s] = (2*rng.Float64() - 1) * pointRange
	}
	return m
}

// roundoff is the unit roundoff of float64, 2^−53.
const roundoff = 0x1p-53

// errEval computes a value together with a first-order estimate of its
// absolute rounding error (running error analysis, Higham, "Accuracy and
// Stability of Numerical Algorithms", §3.3), in units of roundoff. The
// estimate is +Inf where the value is ill-conditioned: near a
// discontinuity of sign/step/min/max, or where a derivative is infinite.
type errEval struct {
	values map[*Node]float64
	memo   map[*Node][2]float64
}

func newErrEval(values map[*Node]float64) *errEval {
	return &errEval{values: values, memo: make(map[*Node][2]float64)}
}

// errSlack is the factor by which a first-order error estimate may be
// exceeded near a flip of sign/step/min/max (the argument is within that
// many estimated errors of the switching point).
const errSlack = 64

func (ev *errEval) eval(e *Node) (v, err float64) {
	if r, ok := ev.memo[e]; ok {
		return r[0], r[1]
	}
	switch e.kind {
	case KNumber:
		v = e.num.Float64()
		err = math.Abs(v) // rounding of an exact rational, or of a float's source
	case KConstant:
		v, err = math.Pi, math.Pi
	case KSymbol, KJet:
		v = ev.values[e]
	case KSum:
		v = e.num.Float64()
		mag := math.Abs(v)
		for i, t := range e.args {
			x, ex := ev.eval(t)
			c := e.coefs[i].Float64()
			v += c * x
			mag += math.Abs(c * x)
			err += math.Abs(c) * ex
		}
		err += float64(len(e.args)+1) * mag
	case KProduct:
		v = 1
		rel := 0.0
		logMag := 0.0 // bounds the log magnitude of every partial product
		for i, b := range e.args {
			x, ex := ev.eval(b)
			k := e.coefs[i]
			v *= powNum(x, k)
			if ex != 0 {
				rel += math.Abs(k.Float64()) * ex / math.Abs(x)
			}
			if _, isInt := k.IsInt(); (k.Sign() < 0 || !isInt) && errGrowth*ex*roundoff >= math.Abs(x) {
				// 1/x or √x of an x whose sign is not known: no first-order bound
				rel = math.Inf(1)
			}
			rel += 2
			logMag += math.Abs(k.Float64() * math.Log(math.Abs(x)))
		}
		err = math.Abs(v) * rel
		// where a partial product may leave the float range, the order of
		// multiplication decides between a value, 0 and ±Inf
		if logMag > rangeLog {
			err = math.Inf(1)
		}
	case KPower:
		b, eb := ev.eval(e.args[0])
		p, ep := ev.eval(e.args[1])
		v = math.Pow(b, p)
		err = math.Abs(v)
		if errGrowth*eb*roundoff >= math.Abs(b) {
			err = math.Inf(1) // the base's sign is not known
		}
		if eb != 0 {
			err += math.Abs(p*math.Pow(b, p-1)) * eb
		}
		if ep != 0 {
			err += math.Abs(v*math.Log(b)) * ep
		}
	case KCall:
		a, ea := ev.eval(e.args[0])
		switch e.name {
		case "min", "max":
			b, eb := ev.eval(e.args[1])
			v = EvalBuiltin(e.name, a, b)
			err = math.Max(ea, eb)
			if math.Abs(a-b) <= errSlack*(ea+eb)*roundoff {
				err = math.Inf(1) // which argument wins is decided by rounding
			}
		case "sign", "step", "abs":
			v = EvalBuiltin(e.name, a, 0)
			err = ea
			if e.name != "abs" {
				err = 0
			}
			if a == 0 && ea != 0 || math.Abs(a) <= errSlack*ea*roundoff {
				err = math.Inf(1)
			}
		default:
			if f, ok := dualConst[e.name]; ok {
				v = f(a) // sign and step were handled above
				break
			}
			// f(a + δ) − f(a) ≈ f′δ + f″δ²/2 with δ = ea·roundoff: the
			// second-order term matters where f′ = 0 (logcosh at 0)
			f0, f1, f2 := dualFuncs[e.name](a)
			v = f0
			err = math.Abs(f0)
			if ea != 0 {
				err += math.Abs(f1)*ea + math.Abs(f2)*ea*ea*roundoff/2
				// where the argument is that uncertain, a saturating function
				// (atan of ±huge) can land anywhere in its range: bound the
				// change over a ± δ directly (+Inf where that interval
				// leaves the domain)
				d := ea * roundoff
				for _, b := range []float64{a - d, a + d} {
					fb, _, _ := dualFuncs[e.name](b)
					err = math.Max(err, math.Abs(fb-f0)/roundoff)
					if math.IsNaN(fb) && !math.IsNaN(f0) {
						err = math.Inf(1)
					}
				}
			}
		}
	default:
		v, err = math.NaN(), math.Inf(1)
	}
	if math.IsNaN(err) {
		err = math.Inf(1)
	}
	// a finite value computed from a non-finite one (atan(Inf), 0/0 in a
	// branch min discards) depends on how the intermediate overflowed
	for _, a := range e.args {
		if finite(v) && !finite(ev.memo[a][0]) {
			err = math.Inf(1)
		}
	}
	ev.memo[e] = [2]float64{v, err}
	return v, err
}

// rangeLog is log(1e300): partial products beyond e^±rangeLog are near
// overflow or underflow.
var rangeLog = math.Log(1e300)

// finite reports whether v is neither NaN nor ±Inf.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// agreeRel is the relative agreement required of two evaluations of the
// same mathematics in different forms.
const agreeRel = 1e-8

// errGrowth is the factor allowed over the first-order rounding-error
// estimates: they bound the error to first order only, and the forms
// compared round differently (a product as numerator/denominator, a sum in
// a different order, x^(3/2) by pow or by sqrt).
const errGrowth = 1e4

// underflowMag is an absolute tolerance below which values are treated as
// underflowing: subnormal results keep few significant bits, and one form
// may flush to 0 where another does not.
const underflowMag = 1e-280

// agree reports whether a and b, with rounding-error estimates ea and eb
// (in units of roundoff), agree: |a − b| ≤ agreeRel·max(|a|, |b|) +
// errGrowth·roundoff·(ea + eb) + underflowMag. Both must be finite.
func agree(a, b, ea, eb float64) bool {
	tol := agreeRel*math.Max(math.Abs(a), math.Abs(b)) + errGrowth*roundoff*(ea+eb) + underflowMag
	return math.Abs(a-b) <= tol
}
