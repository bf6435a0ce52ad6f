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
	regs  []float64   // scalar mode
	block [][]float64 // batch mode: one block per slot
	pool  []float64   // backing store of the temporary blocks
}

// NewMachine returns a machine for p with its constants loaded.
func (p *Program) NewMachine() *Machine {
	m := &Machine{p: p, regs: make([]float64, p.nslots)}
	for i, s := range p.constSlots {
		m.regs[s] = p.consts[i]
	}
	return m
}

// Program returns the program m runs.
func (m *Machine) Program() *Program { return m.p }

// Eval computes the outputs at the point in (one value per input) into out.
func (m *Machine) Eval(in, out []float64) {
	copy(m.regs, in[:len(m.p.Inputs)])
	m.run()
	r := m.regs
	for i, s := range m.p.out {
		out[i] = r[s]
	}
}

// Eval1 computes the first output at in.
func (m *Machine) Eval1(in []float64) float64 {
	copy(m.regs, in[:len(m.p.Inputs)])
	m.run()
	return m.regs[m.p.out[0]]
}

func (m *Machine) run() { m.exec(m.p.code) }

func (m *Machine) exec(code []Instr) {
	r := m.regs
	for i := range code {
		in := &code[i]
		switch in.Op {
		case opCopy:
			r[in.Dst] = r[in.A]
		case opAdd:
			r[in.Dst] = r[in.A] + r[in.B]
		case opSub:
			r[in.Dst] = r[in.A] - r[in.B]
		case opMul:
			r[in.Dst] = r[in.A] * r[in.B]
		case opDiv:
			r[in.Dst] = r[in.A] / r[in.B]
		case opLin1:
			r[in.Dst] = in.K0 + in.K1*r[in.A]
		case opLin2:
			r[in.Dst] = in.K0 + in.K1*r[in.A] + in.K2*r[in.B]
		case opLinN:
			s := in.K0
			rs := m.p.linR[in.A : in.A+in.B]
			ks := m.p.linK[in.A : in.A+in.B]
			ks = ks[:len(rs)]
			for j, k := range rs {
				s += ks[j] * r[k]
			}
			r[in.Dst] = s
		case opMulN:
			s := 1.0
			for _, k := range m.p.linR[in.A : in.A+in.B] {
				s *= r[k]
			}
			r[in.Dst] = s
		case opSq:
			a := r[in.A]
			r[in.Dst] = a * a
		case opCube:
			a := r[in.A]
			r[in.Dst] = a * a * a
		case opRecip:
			r[in.Dst] = 1 / r[in.A]
		case opSqrt:
			r[in.Dst] = math.Sqrt(r[in.A])
		case opRSqrt:
			r[in.Dst] = 1 / math.Sqrt(r[in.A])
		case opPowI:
			r[in.Dst] = powInt(r[in.A], int64(in.K0))
		case opPowK:
			r[in.Dst] = math.Pow(r[in.A], in.K0)
		case opPow:
			r[in.Dst] = math.Pow(r[in.A], r[in.B])
		case opExp:
			r[in.Dst] = math.Exp(r[in.A])
		case opLog:
			r[in.Dst] = math.Log(r[in.A])
		case opXMulExpK:
			r[in.Dst] = r[in.A] * math.Exp(in.K0*r[in.B])
		default:
			r[in.Dst] = scalarOp(in.Op, r[in.A], r[in.B])
		}
	}
}

// scalarOp evaluates the less common operations.
func scalarOp(op Op, a, b float64) float64 {
	switch op {
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
	copy(m.regs, in[:len(m.p.Inputs)])
	code := m.p.code
	for i := range code {
		m.exec(code[i : i+1])
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
		m.block = make([][]float64, p.nslots)
		m.pool = make([]float64, p.nslots*BlockSize)
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
	for start := 0; start < n; start += BlockSize {
		end := min(start+BlockSize, n)
		w := end - start
		for i := range p.Inputs {
			m.block[i] = in[i][start:end]
		}
		m.runBlock(w)
		for j, s := range p.out {
			copy(out[j][start:end], m.block[s][:w])
		}
	}
	for i := range p.Inputs {
		m.block[i] = m.pool[i*BlockSize : (i+1)*BlockSize]
	}
}

func (m *Machine) runBlock(w int) {
	R := m.block
	code := m.p.code
	for i := range code {
		in := &code[i]
		d := R[in.Dst][:w]
		var a []float64
		if in.Op != opLinN && in.Op != opMulN {
			a = R[in.A][:w]
		}
		switch in.Op {
		case opCopy:
			copy(d, a)
		case opAdd:
			b := R[in.B][:w]
			for k := range d {
				d[k] = a[k] + b[k]
			}
		case opSub:
			b := R[in.B][:w]
			for k := range d {
				d[k] = a[k] - b[k]
			}
		case opMul:
			b := R[in.B][:w]
			for k := range d {
				d[k] = a[k] * b[k]
			}
		case opDiv:
			b := R[in.B][:w]
			for k := range d {
				d[k] = a[k] / b[k]
			}
		case opLin1:
			k0, k1 := in.K0, in.K1
			for k := range d {
				d[k] = k0 + k1*a[k]
			}
		case opLin2:
			b := R[in.B][:w]
			k0, k1, k2 := in.K0, in.K1, in.K2
			for k := range d {
				d[k] = k0 + k1*a[k] + k2*b[k]
			}
		case opLinN:
			rs := m.p.linR[in.A : in.A+in.B]
			ks := m.p.linK[in.A : in.A+in.B]
			k0 := in.K0
			src, k1 := R[rs[0]][:w], ks[0]
			for k := range d {
				d[k] = k0 + k1*src[k]
			}
			for j := 1; j < len(rs); j++ {
				src, kj := R[rs[j]][:w], ks[j]
				for k := range d {
					d[k] += kj * src[k]
				}
			}
		case opMulN:
			rs := m.p.linR[in.A : in.A+in.B]
			copy(d, R[rs[0]][:w])
			for j := 1; j < len(rs); j++ {
				src := R[rs[j]][:w]
				for k := range d {
					d[k] *= src[k]
				}
			}
		case opSq:
			for k := range d {
				d[k] = a[k] * a[k]
			}
		case opCube:
			for k := range d {
				d[k] = a[k] * a[k] * a[k]
			}
		case opRecip:
			for k := range d {
				d[k] = 1 / a[k]
			}
		case opSqrt:
			for k := range d {
				d[k] = math.Sqrt(a[k])
			}
		case opRSqrt:
			for k := range d {
				d[k] = 1 / math.Sqrt(a[k])
			}
		case opExp:
			for k := range d {
				d[k] = math.Exp(a[k])
			}
		case opLog:
			for k := range d {
				d[k] = math.Log(a[k])
			}
		case opXMulExpK:
			b := R[in.B][:w]
			k0 := in.K0
			for k := range d {
				d[k] = a[k] * math.Exp(k0*b[k])
			}
		default:
			var b []float64
			if in.Op == opPow || in.Op == opMin || in.Op == opMax {
				b = R[in.B][:w]
			}
			switch in.Op {
			case opPowI:
				e := int64(in.K0)
				for k := range d {
					d[k] = powInt(a[k], e)
				}
			case opPowK:
				for k := range d {
					d[k] = math.Pow(a[k], in.K0)
				}
			case opPow:
				for k := range d {
					d[k] = math.Pow(a[k], b[k])
				}
			default:
				for k := range d {
					var bk float64
					if b != nil {
						bk = b[k]
					}
					d[k] = scalarOp(in.Op, a[k], bk)
				}
			}
		}
	}
}
