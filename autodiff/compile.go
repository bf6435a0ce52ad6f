// The compiler from a set of expressions to one flat instruction tape over float64 slots.
package autodiff

import (
	"fmt"
	"math"
	"slices"
)

// Op is a tape instruction's operation.
type Op uint8

// The operations. K0…K3 are the instruction's immediates; a, b, … are the
// values of the slots A, B, …. Sums fuse the products that are their terms
// (k·a·b, with b the constant-1 slot for a plain term k·a), so that one
// dispatch does what would otherwise take several: the tape interpreter's
// cost is mostly the dispatch. For the same reason there are few
// arithmetic operations (a + b is an opSum2P, a·b an opMulK): every kind
// the machine tests for costs the kinds after it a comparison.
const (
	opCopy  Op = iota // d = a
	opDiv             // d = a / b
	opLin1            // d = K0 + K1·a
	opMulK            // d = K0 + K1·a·b (a product, a square, a scaled product)
	opSum2P           // d = K0 + K1·a·b + K2·c
	opSum2            // d = K0 + K1·a·b + K2·c·d'   (C, D)
	opSum3P           // d = K0 + K1·a·b + K2·c·d' + K3·e
	opSum3            // d = K0 + K1·a·b + K2·c·d' + K3·e·f   (C, D, E, F)
	opSumN            // d = K0 + Σ sumK[j]·r[sumA[j]]·r[sumB[j]], j in [A, A+B)
	opMulN            // d = Π r[mulR[j]], j in [A, A+B)
	opCube            // d = a³
	opRecip           // d = 1/a
	opSqrt            // d = √a
	opRSqrt           // d = 1/√a
	opPowI            // d = a^K0, K0 an integer
	opPowK            // d = a^K0
	opPow             // d = a^b
	opMin             // d = min(a, b)
	opMax             // d = max(a, b)
	opExp
	opLog
	opSin
	opCos
	opTan
	opSinh
	opCosh
	opTanh
	opAtan
	opAsin
	opAcos
	opErf
	opSigmoid
	opSoftplus
	opLogcosh
	opAbs
	opSign
	opStep
	opExpMul // d = K1·a·exp(K2 + K0·b·c): x·exp(−x²/2) and exp(k·u) in one step
	opPoly   // d = P(a), P(a²) or a·P(a²) as D is polyPlain, polyEven or polyOdd; P has the C coefficients polyK[B:], highest degree first (Horner's rule)
	opRun    // runs[A]: one instruction repeated with strided slots (scalar mode only; see runs.go)
	numOps
)

var callOps = map[string]Op{
	"exp": opExp, "log": opLog, "sin": opSin, "cos": opCos, "tan": opTan, "sinh": opSinh,
	"cosh": opCosh, "tanh": opTanh, "atan": opAtan, "asin": opAsin, "acos": opAcos,
	"erf": opErf, "sigmoid": opSigmoid, "softplus": opSoftplus, "logcosh": opLogcosh,
	"abs": opAbs, "sign": opSign, "step": opStep, "min": opMin, "max": opMax,
}

// Instr is one tape instruction: Dst receives Op applied to the slots A…F
// and the immediates K0…K3 (see the Op constants for which are used).
type Instr struct {
	Op                    Op
	Dst, A, B, C, D, E, F int32
	K0, K1, K2, K3        float64
}

// Program is a compiled set of expressions: one tape that computes all
// outputs together, sharing every common subexpression (each DAG node gets
// at most one slot) and folding every constant subexpression at compile time.
//
// Slots 0..len(Inputs)-1 hold the inputs, then come the constant 1, the
// outputs (consecutive, so that they are copied out at once), and the other
// constants and the temporaries; temporaries are reused once dead so that
// batch mode stays in cache.
type Program struct {
	Inputs  []*Node
	Outputs []*Node

	code       []Instr
	nodes      []*Node // the node each instruction computes (nil for internal steps)
	sumA, sumB []int32 // opSumN terms: slots of the two factors
	sumK       []float64
	mulR       []int32   // opMulN factors
	polyK      []float64 // opPoly coefficients, highest degree first
	nslots     int
	consts     []float64 // values of the constant slots
	constSlots []int32   // the constant slots
	out        []int32   // slot of each output: outBase, outBase+1, …
	outBase    int32     // the first output slot
	one        int32     // the constant slot holding 1

	// scalar mode runs scalarCode: code with its strided repetitions
	// turned into opRuns (runs.go), over nscalar ≥ nslots slots
	scalarCode []Instr
	runs       []run
	nscalar    int
}

// Len returns the number of instructions.
func (p *Program) Len() int { return len(p.code) }

// Slots returns the number of registers the program uses: a Machine holds
// this many blocks of BlockSize in batch mode, and this many float64s or a
// few more (the temporaries of its loops, see runs.go) in scalar mode.
func (p *Program) Slots() int { return p.nslots }

// Code returns the instructions (for inspection and tests).
func (p *Program) Code() []Instr { return p.code }

// Compile compiles outputs as functions of inputs (symbols or jets). Any
// other free symbol is an error; integrals cannot be compiled.
func Compile(outputs []*Node, inputs []*Node) (*Program, error) {
	c := compiler{
		p:    &Program{Inputs: slices.Clone(inputs), Outputs: slices.Clone(outputs)},
		slot: make(map[*Node]int32),
	}
	return c.compile()
}

type compiler struct {
	p        *Program
	slot     map[*Node]int32
	constIx  map[uint64]int32
	free     []int32 // dead temporaries
	lastUse  map[*Node]int
	isOutput map[*Node]bool
	one      int32 // the slot holding 1, the missing factor of a plain term

	// fusion: nodes without an instruction of their own
	inlined  map[*Node]bool     // products computed inside the sums that use them
	poly     map[*Node]*Node    // sums of powers of one base, emitted as opPoly: the base
	alias    map[*Node]multiple // sums computed as a multiple of an earlier sum
	outSlot  map[*Node]int32    // the output slot an output node is computed into
	absorbed map[*Node]bool     // exp arguments and exps computed by an opExpMul
	expMul   map[*Node]bool     // products and exps emitted as opExpMul
}

// multiple is k times the value of node of.
type multiple struct {
	of *Node
	k  float64
}

// term is one summand k·a·b of a fused sum; b is nil for k·a.
type term struct {
	k    float64
	a, b *Node
}

func (c *compiler) compile() (*Program, error) {
	p := c.p
	for i, in := range p.Inputs {
		if in.kind != KSymbol && in.kind != KJet {
			return nil, fmt.Errorf("input %d is not a symbol: %s", i, String(in))
		}
		if _, dup := c.slot[in]; dup {
			return nil, fmt.Errorf("input %s given twice", String(in))
		}
		c.slot[in] = int32(i)
	}
	p.nslots = len(p.Inputs)
	c.constIx = make(map[uint64]int32)
	c.one = c.constSlot(1)
	p.one = c.one
	// the outputs get consecutive slots, so that Eval copies them out at once
	p.outBase = int32(p.nslots)
	p.nslots += len(p.Outputs)

	// nodes to compute, children first; constants fold to slots
	var order []*Node
	seen := make(map[*Node]bool)
	for _, o := range p.Outputs {
		if o.integ {
			return nil, fmt.Errorf("cannot compile an integral: %s", String(o))
		}
		for _, n := range topoOrder(o, func(n *Node) bool { return !seen[n] && !n.IsConstant() }) {
			if !seen[n] {
				seen[n] = true
				order = append(order, n)
			}
		}
	}
	for _, n := range order {
		if (n.kind == KSymbol || n.kind == KJet) && !c.has(n) {
			return nil, fmt.Errorf("no value for %s", String(n))
		}
	}
	c.isOutput = make(map[*Node]bool)
	c.outSlot = make(map[*Node]int32)
	for i, o := range p.Outputs {
		c.isOutput[o] = true
		if _, dup := c.outSlot[o]; !dup && !c.has(o) && !o.IsConstant() {
			c.outSlot[o] = p.outBase + int32(i)
		}
	}
	if err := c.plan(order); err != nil {
		return nil, err
	}
	// liveness: the last instruction that reads each slot's node
	c.lastUse = make(map[*Node]int)
	for i, n := range order {
		if c.fused(n) {
			continue
		}
		c.reads(n, func(a *Node) { c.lastUse[a] = i })
	}
	for i, n := range order {
		if _, done := c.slot[n]; done || c.fused(n) {
			continue // an input, or computed inside another instruction
		}
		if err := c.emit(n); err != nil {
			return nil, err
		}
		c.reads(n, func(a *Node) {
			if c.lastUse[a] == i {
				c.release(a)
			}
		})
	}
	// outputs not computed in place (inputs, constants, repeats) are copied
	p.out = make([]int32, len(p.Outputs))
	for i, o := range p.Outputs {
		p.out[i] = p.outBase + int32(i)
		if c.outSlot[o] == p.out[i] {
			continue
		}
		s, err := c.operand(o)
		if err != nil {
			return nil, err
		}
		c.add(Instr{Op: opCopy, Dst: p.out[i], A: s}, o)
	}
	p.buildRuns()
	return p, nil
}

// fused reports whether n has no instruction of its own.
func (c *compiler) fused(n *Node) bool { return c.inlined[n] || c.absorbed[n] }

// reads calls f for each node whose slot n's instruction reads, looking
// through the fused nodes n computes itself.
func (c *compiler) reads(n *Node, f func(*Node)) {
	if a, ok := c.alias[n]; ok {
		f(a.of)
		return
	}
	if a := c.poly[n]; a != nil {
		f(a) // a polynomial reads its base only, whatever its powers' slots
		return
	}
	for _, a := range n.args {
		switch {
		case a.IsConstant():
		case c.fused(a):
			c.reads(a, f)
		default:
			f(a)
		}
	}
}

// plan decides which nodes are fused into their users, and how sums are
// computed:
//   - exp(c + k·u) whose argument is used only there computes its argument
//     itself, and a product a·exp(…) that is the exp's only user computes
//     the exp (opExpMul);
//   - a sum that is a multiple of an earlier sum is computed from it;
//   - a sum of powers of one base is a polynomial in it (opPoly);
//   - a product that is at most two factors (a, a·b or a²) and is used only
//     as a term of sums is computed inside each of them, at the cost of one
//     multiplication per use instead of an instruction and a slot (powers
//     of the base of a polynomial likewise).
func (c *compiler) plan(order []*Node) error {
	c.inlined = make(map[*Node]bool)
	c.absorbed = make(map[*Node]bool)
	c.expMul = make(map[*Node]bool)
	users := make(map[*Node][]*Node)
	for _, n := range order {
		for _, a := range n.args {
			if !a.IsConstant() {
				users[a] = append(users[a], n)
			}
		}
	}
	only := func(a, user *Node) bool {
		u := users[a]
		return !c.isOutput[a] && len(u) == 1 && u[0] == user
	}
	for _, n := range order {
		if n.kind != KCall || n.name != "exp" {
			continue
		}
		if u := n.args[0]; u.kind == KSum && len(u.args) == 1 && only(u, n) {
			c.absorbed[u] = true
			c.expMul[n] = true
		}
		us := users[n]
		if len(us) != 1 || !only(n, us[0]) || us[0].kind != KProduct || c.expMul[us[0]] {
			continue
		}
		t, ok, err := c.termOf(us[0])
		if err != nil {
			return err
		}
		if ok && (t.a == n || t.b == n) && t.a != t.b {
			c.absorbed[n] = true
			c.expMul[us[0]] = true
		}
	}
	// a sum that is a multiple of an earlier one is computed from it: the
	// chain rule gives c·r for the derivative of r² with respect to a
	// variable r is linear in, and Scale distributes c over r's terms
	// (∂/∂y of 100(y − x²)² is 200y − 200x², a multiple of x² − y)
	c.poly = make(map[*Node]*Node)
	c.alias = make(map[*Node]multiple)
	type first struct {
		sum     *Node
		content Num
	}
	firstOf := make(map[*Node]first) // primitive part → the first sum with it
	for _, n := range order {
		if n.kind != KSum || c.absorbed[n] {
			continue
		}
		content, prim := primitive(n)
		if m, ok := firstOf[prim]; ok {
			if k, ok := content.Div(m.content); ok {
				c.alias[n] = multiple{m.sum, k.Float64()}
				continue
			}
		}
		firstOf[prim] = first{n, content}
		if a := polyBase(n); a != nil {
			c.poly[n] = a
		}
	}
	for _, n := range order {
		if n.kind != KProduct || c.isOutput[n] || c.expMul[n] {
			continue
		}
		_, isTerm, err := c.termOf(n)
		if err != nil {
			return err
		}
		all := len(users[n]) > 0
		for _, u := range users[n] {
			all = all && u.kind == KSum && (isTerm || c.poly[u] != nil)
		}
		c.inlined[n] = all
	}
	return nil
}

// maxPolyDegree bounds the degree of the sums emitted as opPoly.
const maxPolyDegree = 8

// polyBase returns a when every non-constant term of the sum s is a power
// a^k with integer 1 ≤ k ≤ maxPolyDegree of one base a, and there are at
// least two such terms (x³ − x, x⁴/4 − x²/2); otherwise nil.
func polyBase(s *Node) *Node {
	var base *Node
	count := 0
	for _, t := range s.args {
		if t.IsConstant() {
			continue
		}
		b := t
		if t.kind == KProduct && len(t.args) == 1 {
			k, ok := t.coefs[0].IsInt()
			if !ok || k < 2 || k > maxPolyDegree {
				return nil
			}
			b = t.args[0]
		}
		if base != nil && b != base {
			return nil
		}
		base = b
		count++
	}
	if count < 2 {
		return nil
	}
	return base
}

// termOf splits a product into k·a·b (b nil for k·a) when it has at most two
// non-constant factors with exponent 1, or one squared; k is the value of
// its constant factors.
func (c *compiler) termOf(n *Node) (t term, ok bool, err error) {
	t.k = 1
	for i, f := range n.args {
		e := n.coefs[i]
		if f.IsConstant() {
			v, err := Eval(PowNum(f, e), nil)
			if err != nil {
				return t, false, err
			}
			t.k *= v
			continue
		}
		switch {
		case e.IsOne() && t.a == nil:
			t.a = f
		case e.IsOne() && t.b == nil:
			t.b = f
		case e.Cmp(Int(2)) == 0 && t.a == nil:
			t.a, t.b = f, f
		default:
			return t, false, nil
		}
	}
	return t, t.a != nil, nil
}

func (c *compiler) has(n *Node) bool { _, ok := c.slot[n]; return ok }

// release frees the slot of a dead temporary.
func (c *compiler) release(n *Node) {
	s, ok := c.slot[n]
	if !ok || c.isOutput[n] || int(s) < len(c.p.Inputs) {
		return
	}
	c.free = append(c.free, s)
	delete(c.slot, n)
}

func (c *compiler) newTemp() int32 {
	if k := len(c.free); k > 0 {
		s := c.free[k-1]
		c.free = c.free[:k-1]
		return s
	}
	s := int32(c.p.nslots)
	c.p.nslots++
	return s
}

// constSlot returns the slot holding v. Constant slots are never freed, so
// they are filled once per machine.
func (c *compiler) constSlot(v float64) int32 {
	bits := math.Float64bits(v)
	if s, ok := c.constIx[bits]; ok {
		return s
	}
	s := int32(c.p.nslots)
	c.p.nslots++
	c.constIx[bits] = s
	c.p.consts = append(c.p.consts, v)
	c.p.constSlots = append(c.p.constSlots, s)
	return s
}

// operand returns the slot holding n's value (a constant slot for constants).
func (c *compiler) operand(n *Node) (int32, error) {
	if s, ok := c.slot[n]; ok {
		return s, nil
	}
	if n.IsConstant() {
		v, err := Eval(n, nil)
		if err != nil {
			return 0, err
		}
		return c.constSlot(v), nil
	}
	return 0, fmt.Errorf("autodiff: %s used before it is computed", String(n))
}

// factorSlot is operand for the second factor of a term: the one slot for nil.
func (c *compiler) factorSlot(n *Node) (int32, error) {
	if n == nil {
		return c.one, nil
	}
	return c.operand(n)
}

func (c *compiler) add(in Instr, n *Node) {
	c.p.code = append(c.p.code, in)
	c.p.nodes = append(c.p.nodes, n)
}

func (c *compiler) emit(n *Node) error {
	dst, ok := c.outSlot[n]
	if !ok {
		dst = c.newTemp()
	}
	if err := c.emitInto(n, dst); err != nil {
		return err
	}
	c.slot[n] = dst
	return nil
}

func (c *compiler) emitInto(n *Node, dst int32) error {
	if a, ok := c.alias[n]; ok {
		s, err := c.operand(a.of)
		if err != nil {
			return err
		}
		c.add(Instr{Op: opLin1, Dst: dst, A: s, K1: a.k}, n)
		return nil
	}
	switch {
	case c.expMul[n]:
		return c.emitExpMul(n, dst)
	case n.kind == KSum:
		return c.emitSum(n, dst)
	case n.kind == KProduct:
		return c.emitProduct(n, dst)
	case n.kind == KPower:
		a, err := c.operand(n.args[0])
		if err != nil {
			return err
		}
		b, err := c.operand(n.args[1])
		if err != nil {
			return err
		}
		c.add(Instr{Op: opPow, Dst: dst, A: a, B: b}, n)
	case n.kind == KCall:
		op := callOps[n.name]
		a, err := c.operand(n.args[0])
		if err != nil {
			return err
		}
		in := Instr{Op: op, Dst: dst, A: a}
		if len(n.args) > 1 {
			if in.B, err = c.operand(n.args[1]); err != nil {
				return err
			}
		}
		c.add(in, n)
	default:
		return fmt.Errorf("autodiff: cannot compile %s", String(n))
	}
	return nil
}

// sumTerms returns a sum's constant (with its constant terms folded in) and
// its other terms, with the products planned for inlining split into their
// factors.
func (c *compiler) sumTerms(n *Node) (float64, []term, error) {
	k0 := n.num.Float64()
	ts := make([]term, 0, len(n.args))
	for i, t := range n.args {
		k := n.coefs[i].Float64()
		switch {
		case t.IsConstant():
			v, err := Eval(t, nil)
			if err != nil {
				return 0, nil, err
			}
			k0 += k * v
		case c.inlined[t]:
			tt, _, err := c.termOf(t)
			if err != nil {
				return 0, nil, err
			}
			tt.k *= k
			ts = append(ts, tt)
		default:
			ts = append(ts, term{k, t, nil})
		}
	}
	return k0, ts, nil
}

func (c *compiler) emitSum(n *Node, dst int32) error {
	if a := c.poly[n]; a != nil {
		return c.emitPoly(n, a, dst)
	}
	k0, ts, err := c.sumTerms(n)
	if err != nil {
		return err
	}
	type slots struct{ a, b int32 }
	ss := make([]slots, len(ts))
	for i, t := range ts {
		if ss[i].a, err = c.operand(t.a); err != nil {
			return err
		}
		if ss[i].b, err = c.factorSlot(t.b); err != nil {
			return err
		}
	}
	// a plain term goes last, where the opSum…P forms take it
	if len(ts) <= 3 {
		for i := len(ts) - 1; i >= 0; i-- {
			if ts[i].b == nil {
				last := len(ts) - 1
				ts[i], ts[last] = ts[last], ts[i]
				ss[i], ss[last] = ss[last], ss[i]
				break
			}
		}
	}
	in := Instr{Dst: dst, K0: k0}
	switch {
	case len(ts) == 0:
		in.Op, in.A = opCopy, c.constSlot(k0)
	case len(ts) == 1 && ts[0].b == nil:
		in.Op, in.A, in.K1 = opLin1, ss[0].a, ts[0].k
	case len(ts) == 1:
		in.Op, in.A, in.B, in.K1 = opMulK, ss[0].a, ss[0].b, ts[0].k
	case len(ts) == 2 && ts[1].b == nil:
		in.Op = opSum2P
		in.A, in.B, in.K1 = ss[0].a, ss[0].b, ts[0].k
		in.C, in.K2 = ss[1].a, ts[1].k
	case len(ts) == 2:
		in.Op = opSum2
		in.A, in.B, in.K1 = ss[0].a, ss[0].b, ts[0].k
		in.C, in.D, in.K2 = ss[1].a, ss[1].b, ts[1].k
	case len(ts) == 3 && ts[2].b == nil:
		in.Op = opSum3P
		in.A, in.B, in.K1 = ss[0].a, ss[0].b, ts[0].k
		in.C, in.D, in.K2 = ss[1].a, ss[1].b, ts[1].k
		in.E, in.K3 = ss[2].a, ts[2].k
	case len(ts) == 3:
		in.Op = opSum3
		in.A, in.B, in.K1 = ss[0].a, ss[0].b, ts[0].k
		in.C, in.D, in.K2 = ss[1].a, ss[1].b, ts[1].k
		in.E, in.F, in.K3 = ss[2].a, ss[2].b, ts[2].k
	default:
		in.Op, in.A, in.B = opSumN, int32(len(c.p.sumA)), int32(len(ts))
		for i, t := range ts {
			c.p.sumA = append(c.p.sumA, ss[i].a)
			c.p.sumB = append(c.p.sumB, ss[i].b)
			c.p.sumK = append(c.p.sumK, t.k)
		}
	}
	c.add(in, n)
	return nil
}

// emitPoly emits a sum of powers of a as a polynomial in a.
func (c *compiler) emitPoly(n, a *Node, dst int32) error {
	var coef [maxPolyDegree + 1]float64
	deg := 0
	coef[0] = n.num.Float64()
	for i, t := range n.args {
		k := n.coefs[i].Float64()
		if t.IsConstant() {
			v, err := Eval(t, nil)
			if err != nil {
				return err
			}
			coef[0] += k * v
			continue
		}
		e := 1
		if t != a {
			e64, _ := t.coefs[0].IsInt()
			e = int(e64)
		}
		coef[e] += k
		deg = max(deg, e)
	}
	s, err := c.operand(a)
	if err != nil {
		return err
	}
	// an odd or even polynomial (x³ − x, x⁴/4 − x²/2) is one in a²: half
	// the multiplications and additions of Horner's rule in a
	odd, even := true, true
	for j, k := range coef[:deg+1] {
		if k != 0 {
			odd = odd && j%2 == 1
			even = even && j%2 == 0
		}
	}
	in := Instr{Op: opPoly, Dst: dst, A: s, B: int32(len(c.p.polyK)), D: polyPlain}
	step, low := 1, 0
	switch {
	case odd:
		in.D, step, low = polyOdd, 2, 1
	case even:
		in.D, step = polyEven, 2
	}
	for j := deg - (deg-low)%step; j >= low; j -= step {
		c.p.polyK = append(c.p.polyK, coef[j])
	}
	in.C = int32(len(c.p.polyK)) - in.B
	c.add(in, n)
	return nil
}

// negZero is −0, the constant term of a product computed as K0 + K1·a·b:
// −0 + p = p for every p, so the sign of a zero product is kept (+0 would
// turn z·0 = −0 for negative z into +0, and x/(z·0) from −Inf into +Inf,
// unlike the Evaluator). Sums start from +0, as the Evaluator's do.
var negZero = math.Copysign(0, -1)

// The forms of an opPoly (its D field).
const (
	polyPlain = iota // P(a)
	polyEven         // P(a²)
	polyOdd          // a·P(a²)
)

// emitExpMul emits a product k·a·exp(c + k'·u) or an exp(c + k'·u) as one
// opExpMul, computing the exp's argument inside when it was absorbed.
func (c *compiler) emitExpMul(n *Node, dst int32) error {
	in := Instr{Op: opExpMul, Dst: dst, A: c.one, K1: 1}
	x := n // the exp
	if n.kind == KProduct {
		t, _, err := c.termOf(n)
		if err != nil {
			return err
		}
		if t.b != nil && c.absorbed[t.b] {
			t.a, t.b = t.b, t.a
		}
		x = t.a // the absorbed exp
		in.K1 = t.k
		if t.b != nil {
			if in.A, err = c.operand(t.b); err != nil {
				return err
			}
		}
	}
	u := x.args[0]
	in.K0 = 1
	var err error
	if !c.absorbed[u] {
		if in.B, err = c.operand(u); err != nil {
			return err
		}
		in.C = c.one
		c.add(in, n)
		return nil
	}
	k0, ts, err := c.sumTerms(u)
	if err != nil {
		return err
	}
	if len(ts) != 1 {
		return fmt.Errorf("autodiff: bad fused exp %s", String(x))
	}
	in.K2, in.K0 = k0, ts[0].k
	if in.B, err = c.operand(ts[0].a); err != nil {
		return err
	}
	if in.C, err = c.factorSlot(ts[0].b); err != nil {
		return err
	}
	c.add(in, n)
	return nil
}

// emitProduct computes Π bᵢ^eᵢ: a product of at most two factors as one
// multiplication (with its constant), otherwise as (numerator
// factors)/(denominator factors), with squares, cubes, square roots and
// reciprocals as single instructions and a lone factor computed straight
// into dst.
func (c *compiler) emitProduct(n *Node, dst int32) error {
	if t, ok, err := c.termOf(n); err != nil {
		return err
	} else if ok {
		as, err := c.operand(t.a)
		if err != nil {
			return err
		}
		in := Instr{Op: opMulK, Dst: dst, A: as, K0: negZero, K1: t.k}
		if t.b == nil {
			in.Op = opLin1
		}
		if t.b != nil {
			if in.B, err = c.operand(t.b); err != nil {
				return err
			}
		}
		c.add(in, n)
		return nil
	}
	type part struct {
		slot  int32
		instr int // index of the instruction that computed a temporary, or -1
	}
	var num, den []part
	var temps []int32
	defer func() { c.free = append(c.free, temps...) }()
	power := func(b *Node, e Num) (part, error) {
		s, err := c.operand(b)
		if err != nil {
			return part{}, err
		}
		if e.IsOne() {
			return part{s, -1}, nil
		}
		t := c.newTemp()
		temps = append(temps, t)
		in := Instr{Dst: t, A: s}
		switch {
		case e.Cmp(Int(2)) == 0:
			in.Op, in.B, in.K0, in.K1 = opMulK, s, negZero, 1
		case e.Cmp(Int(3)) == 0:
			in.Op = opCube
		case e.Cmp(Rat(1, 2)) == 0:
			in.Op = opSqrt
		default:
			if k, ok := e.IsInt(); ok {
				in.Op, in.K0 = opPowI, float64(k)
			} else {
				in.Op, in.K0 = opPowK, e.Float64()
			}
		}
		c.add(in, nil)
		return part{t, len(c.p.code) - 1}, nil
	}
	k := 1.0 // numeric factors such as sqrt(2)
	for i, b := range n.args {
		e := n.coefs[i]
		if b.IsConstant() {
			v, err := Eval(PowNum(b, e), nil)
			if err != nil {
				return err
			}
			k *= v
			continue
		}
		if e.Sign() < 0 {
			pt, err := power(b, e.Neg())
			if err != nil {
				return err
			}
			den = append(den, pt)
		} else {
			pt, err := power(b, e)
			if err != nil {
				return err
			}
			num = append(num, pt)
		}
	}
	if k != 1 {
		num = append(num, part{c.constSlot(k), -1})
	}
	// retarget makes the instruction that computed a lone temporary write dst.
	retarget := func(pt part) bool {
		if pt.instr < 0 {
			return false
		}
		c.p.code[pt.instr].Dst = dst
		c.p.nodes[pt.instr] = n
		return true
	}
	product := func(ps []part, into int32) {
		switch len(ps) {
		case 1:
			c.add(Instr{Op: opCopy, Dst: into, A: ps[0].slot}, nil)
		case 2:
			c.add(Instr{Op: opMulK, Dst: into, A: ps[0].slot, B: ps[1].slot, K0: negZero, K1: 1}, nil)
		default:
			start := int32(len(c.p.mulR))
			for _, pt := range ps {
				c.p.mulR = append(c.p.mulR, pt.slot)
			}
			c.add(Instr{Op: opMulN, Dst: into, A: start, B: int32(len(ps))}, nil)
		}
	}
	reduce := func(ps []part) int32 {
		if len(ps) == 1 {
			return ps[0].slot
		}
		t := c.newTemp()
		temps = append(temps, t)
		product(ps, t)
		return t
	}
	switch {
	case len(den) == 0 && len(num) == 1:
		if retarget(num[0]) {
			return nil
		}
		product(num, dst)
	case len(den) == 0:
		product(num, dst)
	case len(num) == 0 && len(den) == 1:
		last := den[0]
		if last.instr >= 0 && c.p.code[last.instr].Op == opSqrt {
			c.p.code[last.instr].Op = opRSqrt
			retarget(last)
			return nil
		}
		c.add(Instr{Op: opRecip, Dst: dst, A: last.slot}, nil)
	case len(num) == 0:
		c.add(Instr{Op: opRecip, Dst: dst, A: reduce(den)}, nil)
	default:
		a := reduce(num)
		c.add(Instr{Op: opDiv, Dst: dst, A: a, B: reduce(den)}, nil)
	}
	c.p.nodes[len(c.p.nodes)-1] = n
	return nil
}
