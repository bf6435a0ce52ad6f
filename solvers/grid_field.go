// Fields on a grid: expressions of a cell's centre, the derivatives of q there (centred differences) and nonlocal integrals, compiled to batch tapes.
package solvers

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	ad "flowlang/autodiff"
)

// MaxGridPairs bounds the pairs of cells (cells²) over which a nonlocal
// term that is not a convolution is summed at every evaluation: 2^24, a
// 1-D grid of 4096 cells or a 2-D grid of 64×64.
const MaxGridPairs = 1 << 24

// directConvCells is the largest 1-D grid on which a convolution is summed
// directly (O(n²)) rather than by FFT: below it the sum is as fast and
// simpler.
const directConvCells = 128

// gridBuilder compiles the fields of one problem; they share one table of
// jets of q.
type gridBuilder struct {
	space ad.Space
	g     *Grid
	table *jetTable
	x     [][]float64 // the centres, per coordinate
	// arrays counts the float64 arrays of Cells() values the fields hold,
	// for memory estimates.
	arrays     int
	nplace     int
	coordCache map[*ad.Node][]float64
	ints       map[*ad.Node]*gridIntegral // by node, shared between fields
}

func newGridBuilder(space ad.Space, g *Grid) *gridBuilder {
	b := &gridBuilder{space: space, g: g, x: g.centres(), table: newJetTable(g)}
	b.arrays = g.Dim + 1
	return b
}

// gridField is an expression of a cell's centre x, the jets of q at x and
// integrals over the grid, compiled to one tape run in batch mode over
// all cells. Its first output is the expression; ξ's field has, after
// it, the coefficients ∂ξ/∂(∂^α q) of its jets.
type gridField struct {
	b     *gridBuilder
	expr  *ad.Node
	prog  *ad.Program
	mach  *ad.Machine
	short *ad.Machine // the first output alone (nil when there is one)
	jetIx []int       // the table index of each jet input
	ints  []*gridIntegral
	// hoisted are the expressions of x alone computed once (the last inputs)
	hoisted []*ad.Node
	in      [][]float64 // coordinates, jets, integrals, hoisted expressions
	out     [][]float64
}

// integral kinds
const (
	closedIntegral = iota // a number: ∫ L dy over the grid
	convIntegral          // ∫ K(x − y) q(y) dy by discrete convolution
	pairIntegral          // ∫ J(x, y, q(x), q(y), …) dy by sums over pairs of cells
)

// gridIntegral is a nonlocal term of a field, evaluated at every cell.
type gridIntegral struct {
	node *ad.Node
	kind int
	// version is the jet table's version val was computed for
	version int
	val     []float64
	body    *gridField // closed: the integrand as a field
	conv    *convolver
	pair    *pairSum
}

// pairSum evaluates ∫ J(x, y, …) dy ≈ ΔV Σⱼ J(x, yⱼ, …) at every cell x
// by one batch run of J's tape over the cells y per cell x.
type pairSum struct {
	mach  *ad.Machine
	prog  *ad.Program
	xJets []int       // table index of each jet at x
	yJets []int       // and at y
	xbuf  [][]float64 // the x inputs, each constant over the batch
	in    [][]float64 // x coordinates, x jets, y coordinates, y jets
	out   [][]float64
}

// coordIndex returns which coordinate of the point named point the symbol
// s is, or −1.
func (b *gridBuilder) coordIndex(s *ad.Node, point string) int {
	if s.Kind() != ad.KSymbol || s.Name() != point {
		return -1
	}
	if b.space.Dim == 0 {
		if s.Index() == 0 {
			return 0
		}
		return -1
	}
	if s.Index() >= 1 && s.Index() <= b.space.Dim {
		return s.Index() - 1
	}
	return -1
}

// isJetAt reports whether s is a jet of the density at point.
func (b *gridBuilder) isJetAt(s *ad.Node, point string) bool {
	return s.Kind() == ad.KJet && s.Name() == b.space.Density && s.Point() == point
}

// unknownSymbol explains a symbol a field cannot evaluate.
func (b *gridBuilder) unknownSymbol(s *ad.Node, in *ad.Node) error {
	if s.Kind() == ad.KJet && s.Name() != b.space.Density {
		return fmt.Errorf("%s depends on the density %s; a grid runs one density, %s", shortExpr(in), s.Name(), b.space.Density)
	}
	return fmt.Errorf("%s depends on %s, which is neither a coordinate of %s nor a derivative of %s", shortExpr(in), ad.String(s), b.space.Var, b.space.Density)
}

// shortExpr prints e, cut to about 80 characters.
func shortExpr(e *ad.Node) string {
	const most = 80
	if e.TreeSize() > 400 {
		return "a term of the functional"
	}
	s := ad.String(e)
	if r := []rune(s); len(r) > most {
		return string(r[:most-1]) + "…"
	}
	return s
}

// field compiles e (an expression of x, the jets of q at x and integrals)
// into a field; with coefs, the derivatives of e by each of its jets follow
// e among the outputs.
func (b *gridBuilder) field(e *ad.Node, coefs bool) (*gridField, error) {
	sp := b.space
	f := &gridField{b: b, expr: e}
	inner := ad.Integrals(e, false)
	place := make(map[*ad.Node]*ad.Node, len(inner))
	var places []*ad.Node
	for _, n := range inner {
		ph := ad.Symbol("·grid"+strconv.Itoa(b.nplace), 0)
		b.nplace++
		place[n] = ph
		places = append(places, ph)
	}
	e2 := ad.Substitute(e, place)
	var jets []*ad.Node
	for _, s := range e2.FreeSymbols() {
		switch {
		case b.coordIndex(s, sp.Var) >= 0, slices.Contains(places, s):
		case b.isJetAt(s, sp.Var):
			jets = append(jets, s)
		default:
			return nil, b.unknownSymbol(s, e)
		}
	}
	e2, hoisted, hexprs := b.hoist(e2)
	inputs := make([]*ad.Node, 0, b.g.Dim+len(jets)+len(places)+len(hoisted))
	for c := range b.g.Dim {
		inputs = append(inputs, sp.Coord(sp.Var, c))
	}
	for _, j := range jets {
		f.jetIx = append(f.jetIx, b.table.index(j.Alpha()))
	}
	inputs = append(inputs, jets...)
	inputs = append(inputs, places...)
	inputs = append(inputs, hoisted...)
	outputs := []*ad.Node{e2}
	if coefs {
		for _, j := range jets {
			outputs = append(outputs, ad.Diff(e2, j))
		}
	}
	prog, err := ad.Compile(outputs, inputs)
	if err != nil {
		return nil, fmt.Errorf("cannot compile %s: %v", shortExpr(e), err)
	}
	f.prog, f.mach = prog, prog.NewMachine()
	if len(outputs) > 1 {
		short, err := ad.Compile(outputs[:1], inputs)
		if err != nil {
			return nil, fmt.Errorf("cannot compile %s: %v", shortExpr(e), err)
		}
		f.short = short.NewMachine()
	}
	cells := b.g.Cells()
	f.in = make([][]float64, len(inputs))
	copy(f.in, b.x)
	f.out = make([][]float64, len(outputs))
	for k := range f.out {
		f.out[k] = make([]float64, cells)
	}
	b.arrays += len(outputs)
	for k, n := range inner {
		gi, err := b.integral(n)
		if err != nil {
			return nil, err
		}
		f.ints = append(f.ints, gi)
		f.in[b.g.Dim+len(jets)+k] = gi.val
	}
	base := b.g.Dim + len(jets) + len(places)
	for k, h := range hexprs {
		v, err := b.coordField(h)
		if err != nil {
			return nil, err
		}
		f.in[base+k] = v
		f.hoisted = append(f.hoisted, h)
	}
	return f, nil
}

// hoist replaces the subexpressions of e that depend on the cell centres
// alone (a potential V(x), a weight) by symbols whose values are computed
// once per run, so that a step's tape does only the work that depends on
// q: the terms of a sum, or the factors of a product, that depend on x
// alone are gathered into one such symbol. It returns the new expression,
// the symbols and the expressions they stand for.
func (b *gridBuilder) hoist(e *ad.Node) (*ad.Node, []*ad.Node, []*ad.Node) {
	sp := b.space
	var syms, exprs []*ad.Node
	coordOnly := func(n *ad.Node) bool {
		if n.HasIntegral() {
			return false
		}
		fs := n.FreeSymbols()
		for _, s := range fs {
			if b.coordIndex(s, sp.Var) < 0 {
				return false
			}
		}
		return len(fs) > 0
	}
	trivial := func(n *ad.Node) bool {
		k := n.Kind()
		return k == ad.KNumber || k == ad.KConstant || k == ad.KSymbol
	}
	sym := func(n *ad.Node) *ad.Node {
		if trivial(n) {
			return n
		}
		if i := slices.Index(exprs, n); i >= 0 {
			return syms[i]
		}
		s := ad.Symbol("·x"+strconv.Itoa(b.nplace), 0)
		b.nplace++
		syms, exprs = append(syms, s), append(exprs, n)
		return s
	}
	memo := map[*ad.Node]*ad.Node{}
	var walk func(n *ad.Node) *ad.Node
	walk = func(n *ad.Node) *ad.Node {
		if r, ok := memo[n]; ok {
			return r
		}
		var r *ad.Node
		switch {
		case coordOnly(n):
			r = sym(n)
		case n.Kind() == ad.KSum:
			var inX, rest []*ad.Node
			for i, a := range n.Args() {
				if coordOnly(a) {
					inX = append(inX, ad.Scale(a, n.Coefs()[i]))
				} else {
					rest = append(rest, ad.Scale(walk(a), n.Coefs()[i]))
				}
			}
			if len(inX) > 0 {
				rest = append(rest, sym(ad.Add(inX...)))
			}
			r = ad.Add(append(rest, ad.Number(n.Const()))...)
		case n.Kind() == ad.KProduct:
			var inX, rest []*ad.Node
			for i, a := range n.Args() {
				if coordOnly(a) {
					inX = append(inX, ad.PowNum(a, n.Coefs()[i]))
				} else {
					rest = append(rest, ad.PowNum(walk(a), n.Coefs()[i]))
				}
			}
			if len(inX) > 0 {
				rest = append(rest, sym(ad.Mul(inX...)))
			}
			r = ad.Mul(rest...)
		case len(n.Args()) > 0 && !n.HasIntegral():
			args := make([]*ad.Node, len(n.Args()))
			for i, a := range n.Args() {
				args[i] = walk(a)
			}
			r = ad.Rebuild(n, args)
		default:
			r = n
		}
		memo[n] = r
		return r
	}
	return walk(e), syms, exprs
}

// coordField returns the values at the cell centres of an expression of
// the centres alone, computed once and shared between the fields.
func (b *gridBuilder) coordField(e *ad.Node) ([]float64, error) {
	if v, ok := b.coordCache[e]; ok {
		return v, nil
	}
	var inputs []*ad.Node
	for c := range b.g.Dim {
		inputs = append(inputs, b.space.Coord(b.space.Var, c))
	}
	prog, err := ad.Compile([]*ad.Node{e}, inputs)
	if err != nil {
		return nil, fmt.Errorf("cannot compile %s: %v", shortExpr(e), err)
	}
	v := make([]float64, b.g.Cells())
	prog.NewMachine().EvalBatch(b.x, [][]float64{v}, len(v))
	if b.coordCache == nil {
		b.coordCache = map[*ad.Node][]float64{}
	}
	b.coordCache[e] = v
	b.arrays++
	return v, nil
}

// homeBody returns the integrand of the closed integral a as a function of
// the density's own variable.
func (b *gridBuilder) homeBody(a *ad.Node) (*ad.Node, error) {
	return b.rename(a.Args()[0], a.Name())
}

// rename rewrites e, a function of the point v, as a function of the
// density's own variable x.
func (b *gridBuilder) rename(e *ad.Node, v string) (*ad.Node, error) {
	return renameToHome(b.space, e, v)
}

// renameToHome rewrites e, a function of the point v, as a function of the
// density's own variable.
func renameToHome(sp ad.Space, e *ad.Node, v string) (*ad.Node, error) {
	if v == sp.Var {
		return e, nil
	}
	for _, n := range ad.Integrals(e, true) {
		if n.Name() == sp.Var {
			return nil, fmt.Errorf("cannot evaluate %s: an inner integral runs over %s", shortExpr(e), sp.Var)
		}
	}
	m := map[*ad.Node]*ad.Node{}
	for _, s := range e.FreeSymbols() {
		switch {
		case s.Kind() == ad.KSymbol && s.Name() == v:
			m[s] = ad.Symbol(sp.Var, s.Index())
		case s.Kind() == ad.KJet && s.Point() == v:
			m[s] = ad.Jet(s.Name(), sp.Var, true, s.Alpha())
		case s.Kind() == ad.KSymbol && s.Name() == sp.Var, s.Kind() == ad.KJet && s.Point() == sp.Var:
			return nil, fmt.Errorf("cannot evaluate %s: it depends on both %s and %s", shortExpr(e), v, sp.Var)
		}
	}
	return ad.Substitute(e, m), nil
}

// integral classifies and compiles a nonlocal term ∫ J dy of a field: a
// number (J does not depend on x: a field summed over the cells), a
// convolution (J = K(x − y)·q(y): a kernel table and an FFT or a direct
// sum), or a general pair sum (J(x, y, jets at x and y), O(cells²) per
// evaluation, at most MaxGridPairs pairs).
func (b *gridBuilder) integral(n *ad.Node) (*gridIntegral, error) {
	if gi, ok := b.ints[n]; ok {
		return gi, nil // the same term in ξ and in F (an interaction's): computed once per density
	}
	gi, err := b.newIntegral(n)
	if err != nil {
		return nil, err
	}
	if b.ints == nil {
		b.ints = map[*ad.Node]*gridIntegral{}
	}
	b.ints[n] = gi
	return gi, nil
}

func (b *gridBuilder) newIntegral(n *ad.Node) (*gridIntegral, error) {
	sp, g := b.space, b.g
	cells := g.Cells()
	gi := &gridIntegral{node: n, val: make([]float64, cells), version: -1}
	b.arrays++
	v, body := n.Name(), n.Args()[0]
	if len(n.FreeSymbols()) == 0 {
		hb, err := b.rename(body, v)
		if err != nil {
			return nil, err
		}
		if gi.body, err = b.field(hb, false); err != nil {
			return nil, err
		}
		gi.kind = closedIntegral
		return gi, nil
	}
	if body.HasIntegral() {
		return nil, &TermError{Method: "grid", Term: shortExpr(n),
			Why: "integrals nested two deep in δF/δq; the grid evaluates one level of nonlocal terms"}
	}
	var xJets, yJets []*ad.Node
	for _, s := range body.FreeSymbols() {
		switch {
		case b.coordIndex(s, sp.Var) >= 0, b.coordIndex(s, v) >= 0:
		case b.isJetAt(s, sp.Var):
			xJets = append(xJets, s)
		case b.isJetAt(s, v):
			yJets = append(yJets, s)
		default:
			return nil, b.unknownSymbol(s, n)
		}
	}
	qy := ad.Jet(sp.Density, v, false, make([]uint8, g.Dim))
	if len(xJets) == 0 && len(yJets) == 1 && yJets[0] == qy {
		k := ad.Diff(body, qy)
		if ad.Diff(k, qy).IsZero() && ad.Substitute(body, map[*ad.Node]*ad.Node{qy: ad.Zero()}).IsZero() {
			if kern, ok := b.translationKernel(k, v); ok {
				conv, err := b.newConvolution(kern, n)
				if err != nil {
					return nil, err
				}
				gi.kind, gi.conv = convIntegral, conv
				return gi, nil
			}
		}
	}
	if pairs := float64(cells) * float64(cells); pairs > MaxGridPairs {
		return nil, &TermError{Method: "grid", Term: shortExpr(n),
			Why: fmt.Sprintf("a nonlocal term that is not a convolution K(x − y)·q(y) is summed over all pairs of cells, and %d cells make %.3g pairs, more than %d", cells, pairs, MaxGridPairs)}
	}
	ps := &pairSum{}
	var inputs []*ad.Node
	for c := range g.Dim {
		inputs = append(inputs, sp.Coord(sp.Var, c))
	}
	for _, j := range xJets {
		ps.xJets = append(ps.xJets, b.table.index(j.Alpha()))
	}
	inputs = append(inputs, xJets...)
	for c := range g.Dim {
		inputs = append(inputs, sp.Coord(v, c))
	}
	for _, j := range yJets {
		ps.yJets = append(ps.yJets, b.table.index(j.Alpha()))
	}
	inputs = append(inputs, yJets...)
	prog, err := ad.Compile([]*ad.Node{body}, inputs)
	if err != nil {
		return nil, fmt.Errorf("cannot compile %s: %v", shortExpr(n), err)
	}
	ps.prog, ps.mach = prog, prog.NewMachine()
	nx := g.Dim + len(xJets)
	ps.xbuf = make([][]float64, nx)
	for k := range ps.xbuf {
		ps.xbuf[k] = make([]float64, cells)
	}
	ps.in = make([][]float64, len(inputs))
	copy(ps.in, ps.xbuf)
	copy(ps.in[nx:], b.x)
	ps.out = [][]float64{make([]float64, cells)}
	b.arrays += nx + 1
	gi.kind, gi.pair = pairIntegral, ps
	return gi, nil
}

// translationKernel reports whether G(x, y) is a function K(x − y) of the
// difference alone, and returns K as an expression of the symbols
// ·w[c] = x[c] − y[c]: G(x, x − w) must not depend on x (checked
// symbolically, expanding if need be).
func (b *gridBuilder) translationKernel(gxy *ad.Node, v string) (*ad.Node, bool) {
	sp := b.space
	m := map[*ad.Node]*ad.Node{}
	var xs []*ad.Node
	for c := range b.g.Dim {
		x, y := sp.Coord(sp.Var, c), sp.Coord(v, c)
		m[y] = ad.Sub(x, kernelSym(sp, c))
		xs = append(xs, x)
	}
	k := ad.Substitute(gxy, m)
	for _, x := range xs {
		if d := ad.Diff(k, x); !d.IsZero() && !ad.Expand(d).IsZero() {
			return nil, false
		}
	}
	if len(k.FreeSymbols()) > 0 {
		for _, x := range xs {
			if k.DependsOn(x) { // a dependence that cancels only when expanded
				k = ad.Substitute(k, map[*ad.Node]*ad.Node{x: ad.Zero()})
			}
		}
	}
	return k, true
}

// kernelSym is the symbol of coordinate c of the difference x − y.
func kernelSym(sp ad.Space, c int) *ad.Node {
	if sp.Dim == 0 {
		return ad.Symbol("·w", 0)
	}
	return ad.Symbol("·w", c+1)
}

// newConvolution tabulates the kernel K at the differences of cell
// centres and prepares the convolution.
func (b *gridBuilder) newConvolution(k *ad.Node, n *ad.Node) (*convolver, error) {
	g := b.g
	var ws []*ad.Node
	for c := range g.Dim {
		ws = append(ws, kernelSym(b.space, c))
	}
	prog, err := ad.Compile([]*ad.Node{k}, ws)
	if err != nil {
		return nil, fmt.Errorf("cannot compile the kernel of %s: %v", shortExpr(n), err)
	}
	// the differences m·h for m in −(n−1)…n−1 per coordinate
	m0, m1 := 2*g.N[0]-1, 1
	if g.Dim == 2 {
		m1 = 2*g.N[1] - 1
	}
	in := make([][]float64, g.Dim)
	for c := range in {
		in[c] = make([]float64, m0*m1)
	}
	for a := range m0 {
		for c := range m1 {
			in[0][a*m1+c] = float64(a-(g.N[0]-1)) * g.H(0)
			if g.Dim == 2 {
				in[1][a*m1+c] = float64(c-(g.N[1]-1)) * g.H(1)
			}
		}
	}
	table := make([]float64, m0*m1)
	prog.NewMachine().EvalBatch(in, [][]float64{table}, len(table))
	for i, v := range table {
		if !isFiniteNum(v) {
			at := in[0][i]
			where := strconv.FormatFloat(at, 'g', 6, 64)
			if g.Dim == 2 {
				where = "(" + where + ", " + strconv.FormatFloat(in[1][i], 'g', 6, 64) + ")"
			}
			why := fmt.Sprintf("its kernel %s is not finite at x − y = %s", ad.String(k), where)
			if at == 0 && (g.Dim == 1 || in[1][i] == 0) {
				why = fmt.Sprintf("its kernel %s is singular at x − y = 0; the grid needs a kernel finite there", ad.String(k))
			}
			return nil, &TermError{Method: "grid", Term: shortExpr(n), Why: why}
		}
	}
	cv := newConvolver(g, table)
	b.arrays += cv.arrays()
	return cv, nil
}

// eval computes the field for the density whose jets are in the table:
// every output with all, else the first alone.
func (f *gridField) eval(all bool) {
	b := f.b
	d := b.g.Dim
	for k, ix := range f.jetIx {
		f.in[d+k] = b.table.vals[ix]
	}
	for _, gi := range f.ints {
		gi.eval(b)
	}
	if all || f.short == nil {
		f.mach.EvalBatch(f.in, f.out, b.g.Cells())
		return
	}
	f.short.EvalBatch(f.in, f.out[:1], b.g.Cells())
}

// sum returns ΔV·Σ field (the integral of the first output over the grid).
func (f *gridField) sum() float64 {
	s := 0.0
	for _, v := range f.out[0] {
		s += v
	}
	return s * f.b.g.Volume()
}

func (gi *gridIntegral) eval(b *gridBuilder) {
	if gi.version == b.table.version {
		return // computed already for this density
	}
	gi.version = b.table.version
	switch gi.kind {
	case closedIntegral:
		gi.body.eval(false)
		v := gi.body.sum()
		for k := range gi.val {
			gi.val[k] = v
		}
	case convIntegral:
		gi.conv.apply(b.table.vals[0], gi.val)
	default:
		gi.pair.eval(b, gi.val)
	}
}

// eval computes ΔV·Σⱼ J(xₖ, yⱼ) at every cell k.
func (ps *pairSum) eval(b *gridBuilder, val []float64) {
	d := b.g.Dim
	nx := d + len(ps.xJets)
	for k, ix := range ps.yJets {
		ps.in[nx+d+k] = b.table.vals[ix]
	}
	vol, cells := b.g.Volume(), b.g.Cells()
	out := ps.out[0]
	for k := range cells {
		for c := range d {
			fill(ps.xbuf[c], b.x[c][k])
		}
		for j, ix := range ps.xJets {
			fill(ps.xbuf[d+j], b.table.vals[ix][k])
		}
		ps.mach.EvalBatch(ps.in, ps.out, cells)
		s := 0.0
		for _, v := range out {
			s += v
		}
		val[k] = s * vol
	}
}

func fill(x []float64, v float64) {
	for i := range x {
		x[i] = v
	}
}

// explain names the subexpression of the field that first turns
// non-finite at cell k, or the nonlocal term whose value is not finite.
func (f *gridField) explain(k int) string {
	for _, gi := range f.ints {
		if !isFiniteNum(gi.val[k]) {
			return fmt.Sprintf("the nonlocal term %s is %g there", shortExpr(gi.node), gi.val[k])
		}
	}
	base := len(f.in) - len(f.hoisted)
	for i, h := range f.hoisted {
		if v := f.in[base+i][k]; !isFiniteNum(v) {
			return fmt.Sprintf("%s is %g there", shortExpr(h), v)
		}
	}
	pt := make([]float64, len(f.in))
	for i, a := range f.in {
		pt[i] = a[k]
	}
	if n := f.mach.FirstNonFinite(pt); n != nil {
		return "it first became non-finite in " + shortExpr(n)
	}
	return ""
}

// firstNonFinite returns the first cell where output 0 is not finite, or −1.
func (f *gridField) firstNonFinite() int {
	for k, v := range f.out[0] {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return k
		}
	}
	return -1
}
