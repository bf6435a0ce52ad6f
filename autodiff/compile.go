// The compiler from a set of expressions to one flat instruction tape over float64 slots.
package autodiff

import (
	"fmt"
	"math"
	"slices"
)

// Op is a tape instruction's operation.
type Op uint8

// The operations. k0, k1, k2 are the instruction's immediates.
const (
	opCopy  Op = iota // d = a
	opAdd             // d = a + b
	opSub             // d = a - b
	opMul             // d = a * b
	opDiv             // d = a / b
	opLin1            // d = k0 + k1·a
	opLin2            // d = k0 + k1·a + k2·b
	opLinN            // d = k0 + Σ linK[j]·r[linR[j]], j in [a, a+b)
	opMulN            // d = Π r[linR[j]], j in [a, a+b)
	opSq              // d = a²
	opCube            // d = a³
	opRecip           // d = 1/a
	opSqrt            // d = √a
	opRSqrt           // d = 1/√a
	opPowI            // d = a^k0, k0 an integer
	opPowK            // d = a^k0
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
	opXMulExpK // d = a·exp(k0·b), the Gaussian-weight pattern x·exp(-x²/2)
)

var callOps = map[string]Op{
	"exp": opExp, "log": opLog, "sin": opSin, "cos": opCos, "tan": opTan, "sinh": opSinh,
	"cosh": opCosh, "tanh": opTanh, "atan": opAtan, "asin": opAsin, "acos": opAcos,
	"erf": opErf, "sigmoid": opSigmoid, "softplus": opSoftplus, "logcosh": opLogcosh,
	"abs": opAbs, "sign": opSign, "step": opStep, "min": opMin, "max": opMax,
}

// Instr is one tape instruction.
type Instr struct {
	Op         Op
	Dst, A, B  int32
	K0, K1, K2 float64
}

// Program is a compiled set of expressions: one tape that computes all
// outputs together, sharing every common subexpression (each DAG node gets
// one slot) and folding every constant subexpression at compile time.
//
// Slots 0..len(Inputs)-1 hold the inputs, then come the constants, then the
// temporaries, which are reused once dead so that batch mode stays in cache.
type Program struct {
	Inputs  []*Node
	Outputs []*Node

	code       []Instr
	nodes      []*Node // the node each instruction computes (nil for internal steps)
	linR       []int32
	linK       []float64
	nslots     int
	consts     []float64 // values of the constant slots
	constSlots []int32   // the constant slots
	out        []int32   // slot of each output
}

// Len returns the number of instructions.
func (p *Program) Len() int { return len(p.code) }

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
	// liveness: the last instruction that reads each node
	c.lastUse = make(map[*Node]int)
	c.isOutput = make(map[*Node]bool)
	for i, n := range order {
		for _, a := range n.args {
			c.lastUse[a] = i
		}
	}
	for _, o := range p.Outputs {
		c.isOutput[o] = true
	}
	for i, n := range order {
		if _, done := c.slot[n]; done {
			continue // an input
		}
		if err := c.emit(n); err != nil {
			return nil, err
		}
		for _, a := range n.args {
			if c.lastUse[a] == i {
				c.release(a)
			}
		}
	}
	p.out = make([]int32, len(p.Outputs))
	for i, o := range p.Outputs {
		s, err := c.operand(o)
		if err != nil {
			return nil, err
		}
		p.out[i] = s
	}
	return p, nil
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

func (c *compiler) add(in Instr, n *Node) {
	c.p.code = append(c.p.code, in)
	c.p.nodes = append(c.p.nodes, n)
}

func (c *compiler) emit(n *Node) error {
	dst := c.newTemp()
	if err := c.emitInto(n, dst); err != nil {
		return err
	}
	c.slot[n] = dst
	return nil
}

func (c *compiler) emitInto(n *Node, dst int32) error {
	switch n.kind {
	case KSum:
		return c.emitSum(n, dst)
	case KProduct:
		return c.emitProduct(n, dst)
	case KPower:
		a, err := c.operand(n.args[0])
		if err != nil {
			return err
		}
		b, err := c.operand(n.args[1])
		if err != nil {
			return err
		}
		c.add(Instr{Op: opPow, Dst: dst, A: a, B: b}, n)
	case KCall:
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

func (c *compiler) emitSum(n *Node, dst int32) error {
	// terms that are constant fold into the constant term
	k0 := n.num.Float64()
	var rs []int32
	var ks []float64
	for i, t := range n.args {
		if t.IsConstant() {
			v, err := Eval(t, nil)
			if err != nil {
				return err
			}
			k0 += n.coefs[i].Float64() * v
			continue
		}
		s, err := c.operand(t)
		if err != nil {
			return err
		}
		rs = append(rs, s)
		ks = append(ks, n.coefs[i].Float64())
	}
	switch {
	case len(rs) == 1 && k0 == 0 && ks[0] == 1:
		c.add(Instr{Op: opCopy, Dst: dst, A: rs[0]}, n)
	case len(rs) == 1:
		c.add(Instr{Op: opLin1, Dst: dst, A: rs[0], K0: k0, K1: ks[0]}, n)
	case len(rs) == 2 && k0 == 0 && ks[0] == 1 && ks[1] == 1:
		c.add(Instr{Op: opAdd, Dst: dst, A: rs[0], B: rs[1]}, n)
	case len(rs) == 2 && k0 == 0 && ks[0] == 1 && ks[1] == -1:
		c.add(Instr{Op: opSub, Dst: dst, A: rs[0], B: rs[1]}, n)
	case len(rs) == 2 && k0 == 0 && ks[0] == -1 && ks[1] == 1:
		c.add(Instr{Op: opSub, Dst: dst, A: rs[1], B: rs[0]}, n)
	case len(rs) == 2:
		c.add(Instr{Op: opLin2, Dst: dst, A: rs[0], B: rs[1], K0: k0, K1: ks[0], K2: ks[1]}, n)
	default:
		start := int32(len(c.p.linR))
		c.p.linR = append(c.p.linR, rs...)
		c.p.linK = append(c.p.linK, ks...)
		c.add(Instr{Op: opLinN, Dst: dst, A: start, B: int32(len(rs)), K0: k0}, n)
	}
	return nil
}

// emitProduct computes Π bᵢ^eᵢ as (numerator factors)/(denominator factors),
// with squares, cubes, square roots and reciprocals as single instructions
// and a lone factor computed straight into dst.
func (c *compiler) emitProduct(n *Node, dst int32) error {
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
			in.Op = opSq
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
			c.add(Instr{Op: opMul, Dst: into, A: ps[0].slot, B: ps[1].slot}, nil)
		default:
			start := int32(len(c.p.linR))
			for _, pt := range ps {
				c.p.linR = append(c.p.linR, pt.slot)
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
