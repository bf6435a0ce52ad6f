// Strided runs: scalar mode's loops over a tape's repeated patterns.
package autodiff

import (
	"math"
	"slices"
)

// An objective or a gradient written with sum(…, i, 1, n) compiles to a
// tape that repeats a short pattern of instructions n times, each
// repetition reading and writing slots a fixed distance further on: the
// gradient of the extended Rosenbrock function is, for each i, the
// temporary t = x_i² − x_{i+1} and then ∂f/∂x_i = −2 + 400·t·x_i −
// 200·x_{i−1}² + 202·x_i. In scalar mode every instruction pays a dispatch
// (load the operation, test it against the kinds before it, load its slot
// numbers and immediates). An opRun pays it once for all the repetitions
// of one instruction and then loops over them with the immediates in
// machine registers, as hand-written Go does.
//
// buildRuns rewrites a program's code for scalar mode:
//
//  1. it finds windows in which code[i+k·p+j] (j < p, k < R) is code[i+j]
//     with each slot field advanced by k times a stride of its own, with
//     the same operation and immediates;
//  2. for a period p > 1 it reorders the window from repetition-major to
//     instruction-major (all R repetitions of the first instruction, then
//     of the second, …) when that keeps every dependence in order. A
//     temporary that every repetition writes and then reads (stride 0: the
//     register allocator reuses one slot) is first given R fresh slots, so
//     that the repetitions no longer share it;
//  3. the R repetitions of each instruction become one opRun.
//
// Every instruction computes what it computed before, and no instruction
// moves past one it depends on, so scalar mode's results are bit for bit
// those of the original code. Batch mode keeps the original code: it pays
// the dispatch once per block of points already.

// run is one opRun: body executed n times, its slot fields advancing by
// stride after each execution.
type run struct {
	body   Instr
	n      int32
	stride fieldVec
	unit   bool // every slot field advances by 1: execUnitRun
}

// fieldVec holds a value per slot field of an instruction: Dst, A, …, F.
type fieldVec [7]int32

const (
	maxRunPeriod = 4 // the longest pattern looked for
	minRunReps   = 4 // the fewest repetitions worth a loop
	// maxScalarSlots bounds the slots the fresh temporaries may add.
	maxScalarSlots = 1 << 22
)

// field returns a pointer to the slot field f (0 for Dst, 1 for A, …).
func (in *Instr) field(f int) *int32 {
	switch f {
	case 0:
		return &in.Dst
	case 1:
		return &in.A
	case 2:
		return &in.B
	case 3:
		return &in.C
	case 4:
		return &in.D
	case 5:
		return &in.E
	}
	return &in.F
}

// runReads returns the fields (bits 1…6 for A…F) that op reads as slots,
// and whether op can be repeated by an opRun: the operations with side
// tables (opSumN, opMulN, opPoly) cannot.
func runReads(op Op) (mask uint8, ok bool) {
	const a, b, c, d, e, f = 1 << 1, 1 << 2, 1 << 3, 1 << 4, 1 << 5, 1 << 6
	switch op {
	case opSumN, opMulN, opPoly, opRun:
		return 0, false
	case opMulK, opDiv, opPow, opMin, opMax:
		return a | b, true
	case opSum2P, opExpMul:
		return a | b | c, true
	case opSum2:
		return a | b | c | d, true
	case opSum3P:
		return a | b | c | d | e, true
	case opSum3:
		return a | b | c | d | e | f, true
	}
	return a, true // the one-argument operations
}

// forSlotsRead calls f with each slot in reads, including those listed in
// the side tables.
func (p *Program) forSlotsRead(in *Instr, f func(int32)) {
	switch in.Op {
	case opSumN:
		for j := in.A; j < in.A+in.B; j++ {
			f(p.sumA[j])
			f(p.sumB[j])
		}
		return
	case opMulN:
		for _, s := range p.mulR[in.A : in.A+in.B] {
			f(s)
		}
		return
	case opPoly:
		f(in.A)
		return
	}
	mask, _ := runReads(in.Op)
	for fl := 1; fl <= 6; fl++ {
		if mask&(1<<fl) != 0 {
			f(*in.field(fl))
		}
	}
}

// sameKind reports whether a and b do the same operation with the same
// immediates (compared bit for bit).
func sameKind(a, b *Instr) bool {
	eq := func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) }
	return a.Op == b.Op && eq(a.K0, b.K0) && eq(a.K1, b.K1) && eq(a.K2, b.K2) && eq(a.K3, b.K3)
}

// runBuilder holds what buildRuns needs while it rewrites the code.
type runBuilder struct {
	p       *Program
	nslots  int             // slots so far, fresh temporaries included
	isConst map[int32]bool  // the constant slots
	def     []int32         // def[7·pos+f]: the position of the instruction whose value field f of code[pos] reads, −1 if none
	access  map[int32][]int // each slot's accesses in the original code, in order: 2·position, +1 for a write
	out     []Instr         // the scalar code
	runs    []run           // the runs it refers to
}

// buildRuns sets p.scalarCode, p.runs and p.nscalar (see the top of this file).
func (p *Program) buildRuns() {
	p.scalarCode, p.nscalar = p.code, p.nslots
	b := runBuilder{p: p, nslots: p.nslots, isConst: make(map[int32]bool)}
	for _, s := range p.constSlots {
		b.isConst[s] = true
	}
	b.findDefs()
	for i := 0; i < len(p.code); {
		period, reps, stride := b.findWindow(i)
		if reps == 0 {
			b.out = append(b.out, p.code[i])
			i++
			continue
		}
		end := i + period*reps
		if !b.window(i, period, reps, stride) { // left as it was
			b.out = append(b.out, p.code[i:end]...)
		}
		i = end
	}
	if len(b.runs) == 0 {
		return
	}
	p.scalarCode, p.runs, p.nscalar = b.out, b.runs, b.nslots
}

// isTemp reports whether s is a temporary of the original code.
func (b *runBuilder) isTemp(s int32) bool {
	p := b.p
	return int(s) >= len(p.Inputs) && int(s) < p.nslots && !b.isConst[s] &&
		(s < p.outBase || int(s) >= int(p.outBase)+len(p.out))
}

// findDefs sets b.def: which instruction computed each temporary read.
func (b *runBuilder) findDefs() {
	code := b.p.code
	b.def = make([]int32, 7*len(code))
	last := make(map[int32]int32) // the last writer of each temporary so far
	for pos := range code {
		in := &code[pos]
		mask, _ := runReads(in.Op)
		for f := 1; f <= 6; f++ {
			b.def[7*pos+f] = -1
			if mask&(1<<f) == 0 {
				continue
			}
			if w, ok := last[*in.field(f)]; ok {
				b.def[7*pos+f] = w
			}
		}
		if b.isTemp(in.Dst) {
			last[in.Dst] = int32(pos)
		}
	}
}

// Operand kinds: what an instruction's slot field names, for comparing
// repetitions. A temporary read is compared by the instruction that
// computed it, not by its slot (the register allocator hands slots out in
// an order that need not repeat); a temporary written is renamed anyway.
const (
	operandSlot  = iota // an input, output or constant slot: its number
	operandValue        // a temporary read: the position of its computation
	operandFresh        // a temporary written: renamed, so anything matches
)

// operand returns field f of code[pos] as a kind and a number.
func (b *runBuilder) operand(pos, f int) (kind int, v int32) {
	s := *b.p.code[pos].field(f)
	switch {
	case f == 0 && b.isTemp(s):
		return operandFresh, 0
	case f > 0 && b.def[7*pos+f] >= 0:
		return operandValue, b.def[7*pos+f]
	}
	return operandSlot, s
}

// strideOf returns the strides taking code[a] to code[c], if c is a's kind.
func (b *runBuilder) strideOf(a, c int) (st fieldVec, ok bool) {
	x, y := &b.p.code[a], &b.p.code[c]
	mask, ok := runReads(x.Op)
	if !ok || !sameKind(x, y) {
		return st, false
	}
	for f := range 7 {
		if f == 0 || mask&(1<<f) != 0 {
			kx, vx := b.operand(a, f)
			ky, vy := b.operand(c, f)
			if kx != ky {
				return st, false
			}
			st[f] = vy - vx
		}
	}
	return st, true
}

// isRep reports whether code[c] is code[base]'s k-th repetition under the
// strides st.
func (b *runBuilder) isRep(base, c int, k int32, st *fieldVec) bool {
	x, y := &b.p.code[base], &b.p.code[c]
	if !sameKind(x, y) {
		return false
	}
	mask, _ := runReads(x.Op)
	for f := range 7 {
		if f == 0 || mask&(1<<f) != 0 {
			kx, vx := b.operand(base, f)
			ky, vy := b.operand(c, f)
			if kx != ky || vy != vx+k*st[f] {
				return false
			}
		}
	}
	return true
}

// findWindow returns the period, repetitions and strides of the longest
// window starting at code[i] (reps = 0 when there is none).
func (b *runBuilder) findWindow(i int) (period, reps int, stride [maxRunPeriod]fieldVec) {
	n, best := len(b.p.code), 0
	for q := 1; q <= maxRunPeriod && i+2*q <= n; q++ {
		var st [maxRunPeriod]fieldVec
		ok := true
		for j := 0; j < q && ok; j++ {
			st[j], ok = b.strideOf(i+j, i+q+j)
		}
		if !ok {
			continue
		}
		r := 2
	extend:
		for ; i+(r+1)*q <= n; r++ {
			for j := range q {
				if !b.isRep(i+j, i+r*q+j, int32(r), &st[j]) {
					break extend
				}
			}
		}
		if r >= minRunReps && r*q > best {
			best, period, reps, stride = r*q, q, r, st
		}
	}
	return period, reps, stride
}

// deadFrom reports whether slot s's value is not read at or after position
// end of the original code before it is written again.
func (b *runBuilder) deadFrom(s int32, end int) bool {
	if b.access == nil {
		b.access = make(map[int32][]int)
		for pos := range b.p.code {
			in := &b.p.code[pos]
			b.p.forSlotsRead(in, func(r int32) { b.access[r] = append(b.access[r], 2*pos) })
			b.access[in.Dst] = append(b.access[in.Dst], 2*pos+1)
		}
	}
	acc := b.access[s]
	k, _ := slices.BinarySearch(acc, 2*end)
	return k == len(acc) || acc[k]%2 == 1
}

// window turns the window of reps repetitions of code[i : i+period] into
// opRuns, if the reordering it needs is allowed. Every temporary the window
// writes gets fresh slots, one per repetition, and the reads of those
// values follow them. A value read from the previous repetition is, in the
// first repetition, one computed before the window: it is copied into a
// slot in front of the fresh ones. A temporary still read after the window
// gets its last value copied back.
func (b *runBuilder) window(i, period, reps int, stride [maxRunPeriod]fieldVec) bool {
	code := b.p.code
	end := i + period*reps
	body := slices.Clone(code[i : i+period])
	st := stride[:period]

	// which values each repetition reads from the one before
	type valueRead struct{ j, f, from, back int } // body[j] field f reads body[from], back repetitions ago
	var reads []valueRead
	prefix := make([]int, period)
	for j := range body {
		mask, _ := runReads(body[j].Op)
		for f := 1; f <= 6; f++ {
			if mask&(1<<f) == 0 {
				continue
			}
			kind, v := b.operand(i+j, f)
			if kind != operandValue {
				continue
			}
			d := int(v) - i
			switch {
			case st[j][f] == 0 && d < 0:
				// computed before the window, the same value in every
				// repetition: its slot is not written in the window any more
			case st[j][f] == int32(period) && d >= -period:
				r := valueRead{j, f, (d + period) % period, 0}
				if d < 0 {
					r.back = 1
					prefix[r.from] = 1
				}
				if k, _ := b.operand(i+r.from, 0); k != operandFresh {
					return false
				}
				reads = append(reads, r)
			default:
				return false
			}
		}
	}

	first := make([]int32, period) // the fresh slot of each instruction's first repetition, else −1
	nslots := b.nslots
	var pre []Instr // the copies in front of the fresh slots
	for j := range body {
		first[j] = -1
		if k, _ := b.operand(i+j, 0); k == operandFresh {
			if nslots+prefix[j]+reps > maxScalarSlots {
				return false
			}
			first[j] = int32(nslots + prefix[j])
			nslots += prefix[j] + reps
			body[j].Dst, st[j][0] = first[j], 1
		}
	}
	for _, r := range reads {
		fp := body[r.j].field(r.f)
		if r.back == 1 && !slices.ContainsFunc(pre, func(c Instr) bool { return c.Dst == first[r.from]-1 }) {
			pre = append(pre, Instr{Op: opCopy, Dst: first[r.from] - 1, A: *fp})
		}
		*fp, st[r.j][r.f] = first[r.from]-int32(r.back), 1
	}
	if period > 1 && !inOrder(body, st, reps) {
		return false
	}
	b.nslots = nslots
	b.out = append(b.out, pre...)
	for j := range body {
		b.out = append(b.out, Instr{Op: opRun, A: int32(len(b.runs))})
		b.runs = append(b.runs, run{body: body[j], n: int32(reps), stride: st[j], unit: unitStrides(body[j].Op, st[j])})
	}
	// the temporaries read after the window: their last values, copied back
	restored := make(map[int32]bool)
	for pos := end - 1; pos >= i; pos-- {
		s := code[pos].Dst
		k, j := (pos-i)/period, (pos-i)%period
		if first[j] < 0 || restored[s] {
			continue
		}
		restored[s] = true
		if !b.deadFrom(s, end) {
			b.out = append(b.out, Instr{Op: opCopy, Dst: s, A: first[j] + int32(k)})
		}
	}
	return true
}

// inOrder reports whether running the window instruction-major (all
// repetitions of body[0], then of body[1], …) keeps every pair of accesses
// to a slot of which one is a write in their repetition-major order.
func inOrder(body []Instr, st []fieldVec, reps int) bool {
	type access struct {
		slot     int32
		was, now int // positions in the two orders
		write    bool
	}
	period := len(body)
	var acc []access
	for k := range reps {
		for j := range body {
			mask, _ := runReads(body[j].Op)
			was, now := k*period+j, j*reps+k
			for f := 1; f <= 6; f++ {
				if mask&(1<<f) != 0 {
					acc = append(acc, access{*body[j].field(f) + int32(k)*st[j][f], was, now, false})
				}
			}
			acc = append(acc, access{body[j].Dst + int32(k)*st[j][0], was, now, true})
		}
	}
	// by slot, then in the original order (an instruction reads before it writes)
	slices.SortStableFunc(acc, func(x, y access) int { return int(x.slot) - int(y.slot) })
	for lo := 0; lo < len(acc); {
		hi := lo
		lastWrite, latest := -1, -1
		for ; hi < len(acc) && acc[hi].slot == acc[lo].slot; hi++ {
			a := acc[hi]
			if a.now < lastWrite || (a.write && a.now < latest) {
				return false
			}
			latest = max(latest, a.now)
			if a.write {
				lastWrite = a.now
			}
		}
		lo = hi
	}
	return true
}

// unitStrides reports whether every slot field op uses advances by 1.
func unitStrides(op Op, st fieldVec) bool {
	mask, _ := runReads(op)
	for f := range 7 {
		if (f == 0 || mask&(1<<f) != 0) && st[f] != 1 {
			return false
		}
	}
	return true
}

// execRun runs an opRun's repetitions over the registers r.
func execRun(rn *run, r []float64) {
	if rn.unit && execUnitRun(rn, r) {
		return
	}
	in, st := &rn.body, &rn.stride
	d, a, b, c, dd, e, f := int(in.Dst), int(in.A), int(in.B), int(in.C), int(in.D), int(in.E), int(in.F)
	sd, sa, sb, sc, sdd, se, sf := int(st[0]), int(st[1]), int(st[2]), int(st[3]), int(st[4]), int(st[5]), int(st[6])
	k0, k1, k2, k3 := in.K0, in.K1, in.K2, in.K3
	n := int(rn.n)
	switch in.Op {
	case opSum2P:
		for range n {
			r[d] = k0 + k1*r[a]*r[b] + k2*r[c]
			d, a, b, c = d+sd, a+sa, b+sb, c+sc
		}
	case opSum3P:
		for range n {
			r[d] = k0 + k1*r[a]*r[b] + k2*r[c]*r[dd] + k3*r[e]
			d, a, b, c, dd, e = d+sd, a+sa, b+sb, c+sc, dd+sdd, e+se
		}
	case opLin1:
		for range n {
			r[d] = k0 + k1*r[a]
			d, a = d+sd, a+sa
		}
	case opSum2:
		for range n {
			r[d] = k0 + k1*r[a]*r[b] + k2*r[c]*r[dd]
			d, a, b, c, dd = d+sd, a+sa, b+sb, c+sc, dd+sdd
		}
	case opMulK:
		for range n {
			r[d] = k0 + k1*r[a]*r[b]
			d, a, b = d+sd, a+sa, b+sb
		}
	case opSum3:
		for range n {
			r[d] = k0 + k1*r[a]*r[b] + k2*r[c]*r[dd] + k3*r[e]*r[f]
			d, a, b, c, dd, e, f = d+sd, a+sa, b+sb, c+sc, dd+sdd, e+se, f+sf
		}
	case opExpMul:
		for range n {
			r[d] = k1 * r[a] * math.Exp(k2+k0*r[b]*r[c])
			d, a, b, c = d+sd, a+sa, b+sb, c+sc
		}
	case opDiv, opPow, opMin, opMax:
		for range n {
			r[d] = scalarOp(in, r[a], r[b])
			d, a, b = d+sd, a+sa, b+sb
		}
	default:
		for range n {
			r[d] = scalarOp(in, r[a], 0)
			d, a = d+sd, a+sa
		}
	}
}

// execUnitRun runs the common operations of a run whose slots all advance
// by 1 as loops over slices of the registers with one index, which the
// compiler keeps in machine registers without bounds checks: the loop of
// a hand-written gradient. The order of the operations is execRun's, so
// overlapping slices (a value read one repetition after it is written)
// give the same numbers. It reports false for the other operations.
func execUnitRun(rn *run, r []float64) bool {
	in := &rn.body
	n := int(rn.n)
	d := r[in.Dst : int(in.Dst)+n]
	a := r[in.A:][:n]
	k0, k1, k2, k3 := in.K0, in.K1, in.K2, in.K3
	switch in.Op {
	case opSum2P:
		b, c := r[in.B:][:n], r[in.C:][:n]
		for j := range d {
			d[j] = k0 + k1*a[j]*b[j] + k2*c[j]
		}
	case opSum3P:
		b, c, dd, e := r[in.B:][:n], r[in.C:][:n], r[in.D:][:n], r[in.E:][:n]
		for j := range d {
			d[j] = k0 + k1*a[j]*b[j] + k2*c[j]*dd[j] + k3*e[j]
		}
	case opLin1:
		for j := range d {
			d[j] = k0 + k1*a[j]
		}
	case opSum2:
		b, c, dd := r[in.B:][:n], r[in.C:][:n], r[in.D:][:n]
		for j := range d {
			d[j] = k0 + k1*a[j]*b[j] + k2*c[j]*dd[j]
		}
	case opMulK:
		b := r[in.B:][:n]
		for j := range d {
			d[j] = k0 + k1*a[j]*b[j]
		}
	case opSum3:
		b, c, dd, e, f := r[in.B:][:n], r[in.C:][:n], r[in.D:][:n], r[in.E:][:n], r[in.F:][:n]
		for j := range d {
			d[j] = k0 + k1*a[j]*b[j] + k2*c[j]*dd[j] + k3*e[j]*f[j]
		}
	default:
		return false
	}
	return true
}
