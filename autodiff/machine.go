// Running a tape: scalar mode (one point) and batch mode (a block of points, structure of arrays).
package autodiff

import (
	"math"
)

// BlockSize is the number of points batch mode runs each instruction over:
// the dispatch cost is paid once per block, and a block's slots stay in L1.
const BlockSize = 256

// Machine runs a Program. It owns the register file, so use one Machine per
// goroutine; running allocates nothing.
type Machine struct {
	p     *Program
	regs  []float64   // scalar mode: one register per slot (nil until first used)
	fixed *fixedRegs  // regs as a fixed-size array, when the program fits one
	ins   []float64   // the input registers, regs[:len(Inputs)]
	outs  []float64   // the output registers
	block [][]float64 // batch mode: one block per slot
	pool  []float64   // backing store of the temporary blocks
	code  []Instr     // scalar mode's code
}

// fixedRegs is the register file of programs with at most fixedSlots
// slots. Indexing it with a slot masked by fixedMask needs no bounds check
// (the compiler proves the index in range), which saves about a fifth of
// the time of a sum instruction. 8192 slots (64 KiB) hold the tapes of f
// and ∇f of a thousand variables; larger programs use a plain slice.
type fixedRegs [fixedSlots]float64

const (
	fixedSlots = 1 << 13
	fixedMask  = fixedSlots - 1
)

// sliceRegsOnly makes every machine use the slice register file (tests set
// it to run the same programs through both loops).
var sliceRegsOnly = false

// Machines of different goroutines are often allocated one after the
// other, and the registers and block table they write at every step would
// then share cache lines at their ends (false sharing: two goroutines
// evaluating x³ − x a point per block ran no faster together than one
// after the other, against 1.4–2 times faster padded). Those arrays are
// allocated with two cache lines (the unit of adjacent-line prefetch) of
// unused space on each side: padFloats float64, or padHeaders slice
// headers of 24 bytes.
const (
	padFloats  = 16
	padHeaders = 6
)

// padded returns n float64 with padFloats of unused space on each side.
func padded(n int) []float64 {
	return make([]float64, n+2*padFloats)[padFloats : padFloats+n : padFloats+n]
}

// NewMachine returns a machine for p. Its registers are allocated when it
// first runs in each mode, so a machine used only in batch mode does not
// hold a scalar register file, nor the other way round.
func (p *Program) NewMachine() *Machine { return &Machine{p: p} }

// scalar allocates the scalar register file and loads the constants.
func (m *Machine) scalar() {
	p := m.p
	code, n := p.scalarCode, p.nscalar
	if code == nil { // a Program not made by Compile (tests build some)
		code, n = p.code, p.nslots
	}
	m.code = code
	if n <= fixedSlots && !sliceRegsOnly {
		m.fixed = new(fixedRegs)
		m.regs = m.fixed[:n]
	} else {
		m.regs = padded(n)
	}
	for i, s := range p.constSlots {
		m.regs[s] = p.consts[i]
	}
	m.ins = m.regs[:len(p.Inputs)]
	m.outs = m.regs[p.outBase : int(p.outBase)+len(p.out)]
}

// Program returns the program m runs.
func (m *Machine) Program() *Program { return m.p }

// Eval computes the outputs at the point in (one value per input) into
// out. Either may be empty: Run is Eval with neither.
func (m *Machine) Eval(in, out []float64) {
	if m.fixed == nil {
		m.evalSlice(in, out)
		return
	}
	m.runFixed(in, out)
}

// evalSlice is Eval over the slice register file (or before the first run).
func (m *Machine) evalSlice(in, out []float64) {
	if m.regs == nil {
		m.scalar()
		if m.fixed != nil {
			m.runFixed(in, out)
			return
		}
	}
	if len(in) > 0 {
		m.load(in)
	}
	m.execSlice(m.code)
	if len(out) > 0 {
		r := m.outs
		copy(out[:len(r)], r)
	}
}

// Registers returns the machine's input and output registers in scalar
// mode, for a caller that keeps its state there: write a point into in,
// call Run, read the outputs from out. Nothing is copied either way, which
// is what a tight step loop wants (see solvers' Euler fast path). The
// slices stay valid for the machine's life.
func (m *Machine) Registers() (in, out []float64) {
	if m.regs == nil {
		m.scalar()
	}
	return m.ins, m.outs
}

// Run computes the outputs from the inputs already in the registers.
func (m *Machine) Run() { m.Eval(nil, nil) }

// Eval1 computes the first output at in.
func (m *Machine) Eval1(in []float64) float64 {
	m.Eval(in, nil)
	return m.outs[0]
}

// load copies the inputs into their registers.
func (m *Machine) load(in []float64) {
	r := m.ins
	if len(r) > 8 {
		copy(r, in[:len(r)])
		return
	}
	in = in[:len(r)]
	for i, v := range in { // a few values: cheaper than calling memmove
		r[i] = v
	}
}

// runFixed loads the point in into the input registers, runs the scalar
// code over the fixed register file and copies the outputs into out (in
// and out may be empty, as in Run). Loading, running and copying in one
// function saves a call per evaluation, a fifth of a small program's time.
//
// The arithmetic operations are tested for in turn, most frequent first,
// rather than dispatched through a switch's jump table: a conditional
// branch is predicted from the history of recent outcomes, so the pattern
// of operations a tape repeats (a sum, then a product, then a sum, …) is
// learned, while an indirect jump whose target changes at every
// instruction is often mispredicted. On the machines this was tuned on,
// alternating two operations through a jump table cost about three times
// as much per instruction as through these tests. The elementary
// functions, which cost more than a misprediction anyway, go through
// scalarOp.
//
// execSlice is the same loop over a register file of any size; keep the
// two in step.
func (m *Machine) runFixed(in, out []float64) {
	r := m.fixed
	const k = fixedMask
	if len(in) > 0 {
		ins := m.ins
		for i, v := range in[:len(ins)] {
			r[i&k] = v
		}
	}
	code := m.code
	for i := range code {
		in := &code[i]
		switch op := in.Op; {
		case op == opSum2P:
			r[in.Dst&k] = in.K0 + in.K1*r[in.A&k]*r[in.B&k] + in.K2*r[in.C&k]
		case op == opSum3P:
			r[in.Dst&k] = in.K0 + in.K1*r[in.A&k]*r[in.B&k] + in.K2*r[in.C&k]*r[in.D&k] + in.K3*r[in.E&k]
		case op == opLin1:
			r[in.Dst&k] = in.K0 + in.K1*r[in.A&k]
		case op == opSum2:
			r[in.Dst&k] = in.K0 + in.K1*r[in.A&k]*r[in.B&k] + in.K2*r[in.C&k]*r[in.D&k]
		case op == opMulK:
			r[in.Dst&k] = in.K0 + in.K1*r[in.A&k]*r[in.B&k]
		case op == opSum3:
			r[in.Dst&k] = in.K0 + in.K1*r[in.A&k]*r[in.B&k] + in.K2*r[in.C&k]*r[in.D&k] + in.K3*r[in.E&k]*r[in.F&k]
		case op == opExpMul:
			r[in.Dst&k] = in.K1 * r[in.A&k] * math.Exp(in.K2+in.K0*r[in.B&k]*r[in.C&k])
		default:
			m.execOther(in, r[:])
		}
	}
	if len(out) > 0 {
		o := m.outs
		copy(out[:len(o)], o)
	}
}

func (m *Machine) execSlice(code []Instr) {
	r := m.regs
	for i := range code {
		in := &code[i]
		switch op := in.Op; {
		case op == opSum2P:
			r[in.Dst] = in.K0 + in.K1*r[in.A]*r[in.B] + in.K2*r[in.C]
		case op == opSum3P:
			r[in.Dst] = in.K0 + in.K1*r[in.A]*r[in.B] + in.K2*r[in.C]*r[in.D] + in.K3*r[in.E]
		case op == opLin1:
			r[in.Dst] = in.K0 + in.K1*r[in.A]
		case op == opSum2:
			r[in.Dst] = in.K0 + in.K1*r[in.A]*r[in.B] + in.K2*r[in.C]*r[in.D]
		case op == opMulK:
			r[in.Dst] = in.K0 + in.K1*r[in.A]*r[in.B]
		case op == opSum3:
			r[in.Dst] = in.K0 + in.K1*r[in.A]*r[in.B] + in.K2*r[in.C]*r[in.D] + in.K3*r[in.E]*r[in.F]
		case op == opExpMul:
			r[in.Dst] = in.K1 * r[in.A] * math.Exp(in.K2+in.K0*r[in.B]*r[in.C])
		default:
			m.execOther(in, r)
		}
	}
}

// execOther runs the operations exec does not inline: those reading the
// program's side tables, and (through scalarOp) the elementary functions.
func (m *Machine) execOther(in *Instr, r []float64) {
	p := m.p
	switch in.Op {
	case opSumN:
		as := p.sumA[in.A : in.A+in.B]
		bs := p.sumB[in.A : in.A+in.B]
		ks := p.sumK[in.A : in.A+in.B]
		bs, ks = bs[:len(as)], ks[:len(as)]
		s := in.K0
		for j, a := range as {
			s += ks[j] * r[a] * r[bs[j]]
		}
		r[in.Dst] = s
	case opPoly:
		x := r[in.A]
		y := x
		if in.D != polyPlain {
			y = x * x
		}
		ks := p.polyK[in.B : in.B+in.C]
		s := ks[0]
		for _, k := range ks[1:] {
			s = s*y + k
		}
		if in.D == polyOdd {
			s = s*x + 0 // + 0: a sum is never −0, as in the Evaluator
		}
		r[in.Dst] = s
	case opMulN:
		s := 1.0
		for _, k := range p.mulR[in.A : in.A+in.B] {
			s *= r[k]
		}
		r[in.Dst] = s
	case opRun:
		execRun(&p.runs[in.A], r)
	default:
		r[in.Dst] = scalarOp(in, r[in.A], r[in.B])
	}
}

// scalarOp evaluates the operations exec does not test for itself.
func scalarOp(in *Instr, a, b float64) float64 {
	switch in.Op {
	case opCopy:
		return a
	case opDiv:
		return a / b
	case opCube:
		return a * a * a
	case opRecip:
		return 1 / a
	case opSqrt:
		return math.Sqrt(a)
	case opRSqrt:
		return 1 / math.Sqrt(a)
	case opPowI:
		return powInt(a, int64(in.K0))
	case opPowK:
		return math.Pow(a, in.K0)
	case opPow:
		return math.Pow(a, b)
	case opExp:
		return math.Exp(a)
	case opLog:
		return math.Log(a)
	case opMin:
		return math.Min(a, b)
	case opMax:
		return math.Max(a, b)
	case opSin:
		return math.Sin(a)
	case opCos:
		return math.Cos(a)
	case opTan:
		return math.Tan(a)
	case opSinh:
		return math.Sinh(a)
	case opCosh:
		return math.Cosh(a)
	case opTanh:
		return math.Tanh(a)
	case opAtan:
		return math.Atan(a)
	case opAsin:
		return math.Asin(a)
	case opAcos:
		return math.Acos(a)
	case opErf:
		return math.Erf(a)
	case opSigmoid:
		return Sigmoid(a)
	case opSoftplus:
		return Softplus(a)
	case opLogcosh:
		return Logcosh(a)
	case opAbs:
		return math.Abs(a)
	case opSign:
		return Sign(a)
	case opStep:
		return Step(a)
	}
	panic("autodiff: unknown op")
}

// FirstNonFinite runs the tape at in and returns the first instruction's node
// whose value is NaN or ±Inf although its operands were finite: the source of
// a blow-up. It returns nil when every output is finite.
func (m *Machine) FirstNonFinite(in []float64) *Node {
	if m.regs == nil {
		m.scalar()
	}
	m.load(in)
	code := m.p.code
	for i := range code {
		m.execSlice(code[i : i+1])
		v := m.regs[code[i].Dst]
		if math.IsNaN(v) || math.IsInf(v, 0) {
			for j := i; j < len(code); j++ {
				if m.p.nodes[j] != nil {
					return m.p.nodes[j]
				}
			}
		}
	}
	return nil
}

// EvalBatch computes the outputs at n points given as structure of arrays:
// in[i][k] is input i at point k, and out[j][k] receives output j. Each
// instruction runs over a block of points at a time.
func (m *Machine) EvalBatch(in, out [][]float64, n int) {
	p := m.p
	if m.block == nil {
		// the table is written at every block: padded like the registers
		m.block = make([][]float64, p.nslots+2*padHeaders)[padHeaders : padHeaders+p.nslots : padHeaders+p.nslots]
		m.pool = padded(p.nslots * BlockSize)
		for s := range m.block {
			m.block[s] = m.pool[s*BlockSize : (s+1)*BlockSize]
		}
		for i, s := range p.constSlots {
			b := m.block[s]
			for k := range b {
				b[k] = p.consts[i]
			}
		}
	}
	// the input and output slots are the caller's slices themselves
	ob := int(p.outBase)
	for start := 0; start < n; start += BlockSize {
		end := min(start+BlockSize, n)
		for i := range p.Inputs {
			m.block[i] = in[i][start:end]
		}
		for j := range p.out {
			m.block[ob+j] = out[j][start:end]
		}
		m.runBlock(end - start)
	}
	for i := range p.Inputs {
		m.block[i] = m.pool[i*BlockSize : (i+1)*BlockSize]
	}
	for j := range p.out {
		m.block[ob+j] = m.pool[(ob+j)*BlockSize : (ob+j+1)*BlockSize]
	}
}

// runBlock runs the tape over the first w points of the blocks. Each
// operation is a loop over the points; the fused sums are run term by term,
// skipping the multiplication by the constant-1 slot of plain terms.
func (m *Machine) runBlock(w int) {
	R := m.block
	p := m.p
	one := p.one
	for i := range p.code {
		in := &p.code[i]
		d := R[in.Dst][:w]
		switch in.Op {
		case opCopy:
			copy(d, R[in.A][:w])
		case opDiv:
			a, b := R[in.A][:w], R[in.B][:w]
			for k := range d {
				d[k] = a[k] / b[k]
			}
		case opLin1:
			a := R[in.A][:w]
			k0, k1 := in.K0, in.K1
			for k := range d {
				d[k] = k0 + k1*a[k]
			}
		case opMulK:
			a, b := R[in.A][:w], R[in.B][:w]
			k0, k1 := in.K0, in.K1
			switch {
			case k0 == 0 && k1 == 1:
				for k := range d {
					d[k] = a[k] * b[k]
				}
			default:
				for k := range d {
					d[k] = k0 + k1*a[k]*b[k]
				}
			}
		case opSum2P:
			blockTerm(d, in.K0, in.K1, R[in.A][:w], R[in.B][:w], in.B == one, true)
			blockTerm(d, 0, in.K2, R[in.C][:w], nil, true, false)
		case opSum3P:
			blockTerm(d, in.K0, in.K1, R[in.A][:w], R[in.B][:w], in.B == one, true)
			blockTerm(d, 0, in.K2, R[in.C][:w], R[in.D][:w], in.D == one, false)
			blockTerm(d, 0, in.K3, R[in.E][:w], nil, true, false)
		case opSum2:
			blockTerm(d, in.K0, in.K1, R[in.A][:w], R[in.B][:w], in.B == one, true)
			blockTerm(d, 0, in.K2, R[in.C][:w], R[in.D][:w], in.D == one, false)
		case opSum3:
			blockTerm(d, in.K0, in.K1, R[in.A][:w], R[in.B][:w], in.B == one, true)
			blockTerm(d, 0, in.K2, R[in.C][:w], R[in.D][:w], in.D == one, false)
			blockTerm(d, 0, in.K3, R[in.E][:w], R[in.F][:w], in.F == one, false)
		case opSumN:
			k0 := in.K0
			for j := in.A; j < in.A+in.B; j++ {
				b := p.sumB[j]
				blockTerm(d, k0, p.sumK[j], R[p.sumA[j]][:w], R[b][:w], b == one, j == in.A)
			}
		case opPoly:
			blockPoly(d, R[in.A][:w], p.polyK[in.B:in.B+in.C], in.D)
		case opMulN:
			rs := p.mulR[in.A : in.A+in.B]
			copy(d, R[rs[0]][:w])
			for _, r := range rs[1:] {
				src := R[r][:w]
				for k := range d {
					d[k] *= src[k]
				}
			}
		case opCube:
			a := R[in.A][:w]
			for k := range d {
				d[k] = a[k] * a[k] * a[k]
			}
		case opRecip:
			a := R[in.A][:w]
			for k := range d {
				d[k] = 1 / a[k]
			}
		case opSqrt:
			a := R[in.A][:w]
			for k := range d {
				d[k] = math.Sqrt(a[k])
			}
		case opRSqrt:
			a := R[in.A][:w]
			for k := range d {
				d[k] = 1 / math.Sqrt(a[k])
			}
		case opExp:
			a := R[in.A][:w]
			for k := range d {
				d[k] = math.Exp(a[k])
			}
		case opLog:
			a := R[in.A][:w]
			for k := range d {
				d[k] = math.Log(a[k])
			}
		case opExpMul:
			a, b, c := R[in.A][:w], R[in.B][:w], R[in.C][:w]
			k0, k1, k2 := in.K0, in.K1, in.K2
			for k := range d {
				d[k] = k1 * a[k] * math.Exp(k2+k0*b[k]*c[k])
			}
		case opPowI:
			a := R[in.A][:w]
			e := int64(in.K0)
			for k := range d {
				d[k] = powInt(a[k], e)
			}
		case opPowK:
			a := R[in.A][:w]
			for k := range d {
				d[k] = math.Pow(a[k], in.K0)
			}
		case opPow, opMin, opMax:
			a, b := R[in.A][:w], R[in.B][:w]
			for k := range d {
				d[k] = scalarOp(in, a[k], b[k])
			}
		default:
			a := R[in.A][:w]
			for k := range d {
				d[k] = scalarOp(in, a[k], 0)
			}
		}
	}
}

// blockPoly computes d = P(a), P(a²) or a·P(a²) (as form is polyPlain,
// polyEven or polyOdd) by Horner's rule, P having the coefficients ks,
// highest degree first. The common low degrees are unrolled.
func blockPoly(d, a, ks []float64, form int32) {
	a = a[:len(d)]
	switch {
	case form == polyOdd && len(ks) == 2: // x³ − x
		k0, k1 := ks[0], ks[1]
		for i, x := range a {
			d[i] = (k0*(x*x)+k1)*x + 0 // + 0: a sum is never −0, as in the Evaluator
		}
		return
	case form == polyOdd && len(ks) == 3:
		k0, k1, k2 := ks[0], ks[1], ks[2]
		for i, x := range a {
			y := x * x
			d[i] = ((k0*y+k1)*y+k2)*x + 0
		}
		return
	case form == polyEven && len(ks) == 3: // x⁴/4 − x²/2 + c
		k0, k1, k2 := ks[0], ks[1], ks[2]
		for i, x := range a {
			y := x * x
			d[i] = (k0*y+k1)*y + k2
		}
		return
	}
	y := a
	if form != polyPlain { // the polynomial in a², then the factor a
		for i, x := range a {
			d[i] = x * x
		}
		y = d
	}
	switch len(ks) {
	case 2:
		k0, k1 := ks[0], ks[1]
		for i, x := range y {
			d[i] = k0*x + k1
		}
	case 3:
		k0, k1, k2 := ks[0], ks[1], ks[2]
		for i, x := range y {
			d[i] = (k0*x+k1)*x + k2
		}
	case 4:
		k0, k1, k2, k3 := ks[0], ks[1], ks[2], ks[3]
		for i, x := range y {
			d[i] = ((k0*x+k1)*x+k2)*x + k3
		}
	default:
		for i, x := range y {
			s := ks[0]
			for _, k := range ks[1:] {
				s = s*x + k
			}
			d[i] = s
		}
	}
	if form == polyOdd {
		for i, x := range a {
			d[i] = d[i]*x + 0
		}
	}
}

// blockTerm computes d = k0 + k·a·b over a block (when first) or adds k·a·b
// to it, skipping b when it is the constant-1 slot.
func blockTerm(d []float64, k0, k float64, a, b []float64, bIsOne, first bool) {
	a = a[:len(d)]
	if !bIsOne {
		b = b[:len(d)]
	}
	switch {
	case first && bIsOne:
		for i := range d {
			d[i] = k0 + k*a[i]
		}
	case first:
		for i := range d {
			d[i] = k0 + k*a[i]*b[i]
		}
	case bIsOne:
		for i := range d {
			d[i] += k * a[i]
		}
	default:
		for i := range d {
			d[i] += k * a[i] * b[i]
		}
	}
}
