// Grids for flows of densities: the cells of a box in 1-D or 2-D, the starting density on them, and a functional compiled for the finite-volume scheme.
package solvers

import (
	"fmt"
	"math"
	"slices"

	ad "flowlang/autodiff"

	"gonum.org/v1/gonum/stat/distuv"
)

// MaxGridDim is the largest dimension of a grid.
const MaxGridDim = 2

// MinGridCells is the least number of cells per coordinate: the centred
// differences and the reconstruction's slopes need a cell on each side.
const MinGridCells = 3

// GridFloor is the least value of q that δF/δq and the energy see: in
// cells where the density underflows or vanishes (vacuum, the outside of
// a uniform law's support) they are evaluated at GridFloor, so that log q,
// 1/q and 1/q² (the Fisher information's) stay finite. The density itself
// is not raised, so the mass is conserved; nothing flows out of an empty
// cell (upwind fluxes).
const GridFloor = 1e-100

// MinMassInside is the least fraction of the starting law's mass that must
// lie inside a grid's domain; a law with more mass outside is refused.
const MinMassInside = 0.99

// Grid is a uniform grid of cells on the box Π[Lo[c], Hi[c]] in one or
// two dimensions: N[c] cells of width H(c) = (Hi[c] − Lo[c])/N[c] along
// coordinate c, with centres Lo[c] + (i + ½)H(c). Fields on the grid are
// slices of Cells() values; cell (i, j) of a 2-D grid is at index
// i·N[1] + j (the first coordinate varies slowest).
type Grid struct {
	Dim    int
	N      []int
	Lo, Hi []float64
}

// samplePoints returns 5 points per coordinate across the box (5 or 25).
func (g *Grid) samplePoints() [][]float64 {
	var pts [][]float64
	var rec func(c int, x []float64)
	rec = func(c int, x []float64) {
		if c == g.Dim {
			pts = append(pts, slices.Clone(x))
			return
		}
		for k := range 5 {
			x[c] = g.Lo[c] + (g.Hi[c]-g.Lo[c])*(float64(k)+0.5)/5
			rec(c+1, x)
		}
	}
	rec(0, make([]float64, g.Dim))
	return pts
}

// NewGrid returns the grid of n cells per coordinate on the box with
// corners lo and hi.
func NewGrid(lo, hi []float64, n int) (*Grid, error) {
	d := len(lo)
	if d < 1 || d > MaxGridDim || len(hi) != d {
		return nil, fmt.Errorf("a grid has 1 or %d coordinates, not %d", MaxGridDim, d)
	}
	if n < MinGridCells {
		return nil, fmt.Errorf("a grid needs at least %d cells per coordinate, not %d", MinGridCells, n)
	}
	for c := range lo {
		if !isFiniteNum(lo[c]) || !isFiniteNum(hi[c]) || !(lo[c] < hi[c]) {
			return nil, fmt.Errorf("the domain's interval %d must be [a, b] with finite a < b, not [%g, %g]", c+1, lo[c], hi[c])
		}
		if w := hi[c] - lo[c]; math.IsInf(w, 0) {
			return nil, fmt.Errorf("the domain [%g, %g] is too wide: its length overflows", lo[c], hi[c])
		}
		if w := (hi[c] - lo[c]) / float64(n); !(w > 0) || w < 1e-12*math.Max(math.Abs(lo[c]), math.Abs(hi[c])) {
			return nil, fmt.Errorf("the cells of [%g, %g] would be narrower than the precision of their centres", lo[c], hi[c])
		}
	}
	ns := make([]int, d)
	for c := range ns {
		ns[c] = n
	}
	return &Grid{Dim: d, N: ns, Lo: slices.Clone(lo), Hi: slices.Clone(hi)}, nil
}

// Cells returns the number of cells.
func (g *Grid) Cells() int {
	k := 1
	for _, n := range g.N {
		k *= n
	}
	return k
}

// H returns the width of the cells along coordinate c.
func (g *Grid) H(c int) float64 { return (g.Hi[c] - g.Lo[c]) / float64(g.N[c]) }

// Volume returns the volume (length, area) of a cell.
func (g *Grid) Volume() float64 {
	v := 1.0
	for c := range g.N {
		v *= g.H(c)
	}
	return v
}

// Center returns coordinate c of the centre of the cells with index i
// along c.
func (g *Grid) Center(c, i int) float64 { return g.Lo[c] + (float64(i)+0.5)*g.H(c) }

// n1 is the number of cells along the second coordinate (1 in 1-D).
func (g *Grid) n1() int {
	if g.Dim == 2 {
		return g.N[1]
	}
	return 1
}

// centres returns, per coordinate, the coordinate of every cell's centre.
func (g *Grid) centres() [][]float64 {
	out := make([][]float64, g.Dim)
	n1 := g.n1()
	for c := range out {
		x := make([]float64, g.Cells())
		for k := range x {
			i := k / n1
			if c == 1 {
				i = k % n1
			}
			x[k] = g.Center(c, i)
		}
		out[c] = x
	}
	return out
}

func (g *Grid) String() string {
	if g.Dim == 1 {
		return fmt.Sprintf("%d cells on [%g, %g]", g.N[0], g.Lo[0], g.Hi[0])
	}
	return fmt.Sprintf("%d×%d cells on [%g, %g]×[%g, %g]", g.N[0], g.N[1], g.Lo[0], g.Hi[0], g.Lo[1], g.Hi[1])
}

// GridBytes estimates the memory of a grid run with the given number of
// cells and fields held per cell (the density's stages, jets, fluxes,
// tape inputs and outputs), for refusing a run before allocating.
func GridBytes(cells, fields int) int64 {
	return int64(cells) * int64(fields) * 8
}

// GridDensity returns the starting density of a grid run: the cell
// averages of law d (its mass in each cell over the cell's volume),
// exactly where d's distribution function is known (1-D laws; normal and
// uniform laws and their mixtures in 2-D), else its density at the cell
// centres (exp(−V) for a Gibbs law in 2-D); normalised to mass 1 on the
// grid. inside is the fraction of d's mass in the domain (by the
// midpoint rule for laws known only by their density); a law with less
// than MinMassInside inside is refused.
func GridDensity(g *Grid, d Dist) (q []float64, inside float64, err error) {
	if d.Dim() != g.Dim {
		return nil, 0, fmt.Errorf("%s is a law on R^%d and the grid has %d coordinate%s", d, d.Dim(), g.Dim, pluralS(g.Dim))
	}
	if gb, ok := d.(*Gibbs); ok && gb.table == nil {
		return gibbsOnGrid(g, gb)
	}
	q, ok := cellMasses(g, d)
	vol := g.Volume()
	if ok {
		for k := range q {
			q[k] /= vol
		}
	} else {
		dens, isDens := d.(Densityer)
		if !isDens {
			return nil, 0, fmt.Errorf("%s has no density; a grid starts from a law with one (normal, uniform, mix, gibbs)", d)
		}
		q = make([]float64, g.Cells())
		x := g.centres()
		pt := make([]float64, g.Dim)
		for k := range q {
			for c := range pt {
				pt[c] = x[c][k]
			}
			q[k] = dens.Density(pt)
			if !(q[k] >= 0) || math.IsInf(q[k], 0) {
				return nil, 0, fmt.Errorf("the density of %s is not a finite number ≥ 0 at %v", d, pt)
			}
		}
	}
	mass := 0.0
	for _, v := range q {
		mass += v
	}
	mass *= vol
	if !(mass > 0) || math.IsInf(mass, 0) {
		return nil, 0, fmt.Errorf("%s puts no mass on the grid's cells", d)
	}
	if mass < MinMassInside {
		return nil, mass, &OutsideError{Law: d.String(), Inside: mass, Grid: g.String()}
	}
	for k := range q {
		q[k] /= mass
	}
	return q, math.Min(mass, 1), nil
}

// gibbsOnGrid puts exp(−V) of a Gibbs law in d ≥ 2 on the grid: its value
// at the cell centres, normalised to mass 1 on the grid (its mass outside
// the domain is not known: inside is reported as 1).
func gibbsOnGrid(g *Grid, gb *Gibbs) ([]float64, float64, error) {
	x := g.centres()
	m := gb.prog.NewMachine()
	out := make([]float64, len(gb.prog.Outputs))
	pt := make([]float64, g.Dim)
	v := make([]float64, g.Cells())
	vmin := math.Inf(1)
	for k := range v {
		for c := range pt {
			pt[c] = x[c][k]
		}
		m.Eval(pt, out)
		if math.IsNaN(out[0]) || math.IsInf(out[0], -1) {
			return nil, 0, fmt.Errorf("the potential of %s is %g at %v", gb, out[0], pt)
		}
		v[k] = out[0]
		vmin = math.Min(vmin, out[0])
	}
	if math.IsInf(vmin, 1) {
		return nil, 0, fmt.Errorf("the potential of %s is +Inf on the whole grid", gb)
	}
	sum := 0.0
	for k, e := range v {
		v[k] = math.Exp(-(e - vmin))
		sum += v[k]
	}
	sum *= g.Volume()
	for k := range v {
		v[k] /= sum
	}
	return v, 1, nil
}

// OutsideError reports a starting law with too much mass outside a grid.
type OutsideError struct {
	Law    string
	Inside float64 // the fraction of the mass inside
	Grid   string
}

func (e *OutsideError) Error() string {
	return fmt.Sprintf("%s has %.3g%% of its mass outside the grid's domain (%s)", e.Law, 100*(1-e.Inside), e.Grid)
}

func pluralS(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// cellMasses returns d's mass in every cell when its distribution function
// is known per coordinate.
func cellMasses(g *Grid, d Dist) ([]float64, bool) {
	if m, ok := d.(*Mix); ok {
		out := make([]float64, g.Cells())
		for k, c := range m.Comps {
			part, ok := cellMasses(g, c)
			if !ok {
				return nil, false
			}
			for i, v := range part {
				out[i] += m.W[k] * v
			}
		}
		return out, true
	}
	// per coordinate, the masses of the intervals of the cells
	per := make([][]float64, g.Dim)
	for c := range per {
		var cdf func(float64) float64
		switch d := d.(type) {
		case *Normal:
			cdf = normal1D{distuv.Normal{Mu: d.Mean[c], Sigma: d.SD[c]}}.cdf
		case *Uniform:
			cdf = uniform1D{d.Lo[c], d.Hi[c]}.cdf
		default:
			if g.Dim != 1 {
				return nil, false
			}
			l, ok := asLaw1D(d)
			if !ok {
				return nil, false
			}
			cdf = l.cdf
		}
		n, h := g.N[c], g.H(c)
		m := make([]float64, n)
		lo := cdf(g.Lo[c])
		for i := range m {
			hi := cdf(g.Lo[c] + float64(i+1)*h)
			m[i] = math.Max(hi-lo, 0)
			lo = hi
		}
		if nd, ok := d.(*Normal); ok {
			// above the mean, masses as differences of the upper tail, so
			// that cells far above it do not lose their mass to the
			// rounding of 1 − ε
			mu := nd.Mean[c]
			l := normal1D{distuv.Normal{Mu: mu, Sigma: nd.SD[c]}}
			for i := range m {
				a, b := g.Lo[c]+float64(i)*h, g.Lo[c]+float64(i+1)*h
				if a >= mu {
					m[i] = math.Max(l.cdf(2*mu-a)-l.cdf(2*mu-b), 0)
				}
			}
		}
		per[c] = m
	}
	out := make([]float64, g.Cells())
	n1 := g.n1()
	for k := range out {
		v := per[0][k/n1]
		if g.Dim == 2 {
			v *= per[1][k%n1]
		}
		out[k] = v
	}
	return out, true
}

// GridProblem is a functional F[q] compiled for the finite-volume scheme
// on a grid: its first variation ξ = δF/δq as a field over the cells (with
// the coefficients ∂ξ/∂(∂^α q) of its linearisation, for the step bound),
// and F itself as sums of integrals of fields, for the energy. Build it
// with NewGridProblem; it belongs to one run at a time.
type GridProblem struct {
	Grid  *Grid
	Space ad.Space
	F     *ad.Node
	// VD is δF/δq.
	VD *ad.Node
	// Order is the highest order of a derivative of q in δF/δq: 0 for
	// potential, entropy and interaction terms, 2 for the Fisher
	// information (whose flow, the DLSS equation, is of fourth order).
	Order int

	b      *gridBuilder
	xi     *gridField
	energy []gridEnergyTerm
	// coefOrders[k] is the multi-index of the jet whose coefficient is
	// output k+1 of xi.
	coefAlphas [][]uint8
	monitors   []*gridMonitor
}

// gridEnergyTerm is Coef·Π (∫ field)^Power of F.
type gridEnergyTerm struct {
	coef   float64
	fields []*gridField
	powers []int
}

// gridMethods are the methods that run functionals with derivatives of q.
var gridMethods = []string{"grid"}

// NewGridProblem compiles the functional f of the density of space for
// grid g. Terms the grid cannot evaluate (integrals nested two deep in
// δF/δq, a second density, pair integrals over too many cells) are
// refused with a *TermError naming them.
func NewGridProblem(space ad.Space, f *ad.Node, g *Grid) (*GridProblem, error) {
	if space.Coords() != g.Dim {
		return nil, fmt.Errorf("the density %s has %d coordinate%s and the grid %d", space.Density, space.Coords(), pluralS(space.Coords()), g.Dim)
	}
	vd, err := space.VariationalDerivative(f)
	if err != nil {
		return nil, err
	}
	terms, err := space.Terms(f)
	if err != nil {
		return nil, err
	}
	if err := backwardDiffusion(space, vd, g.samplePoints()); err != nil {
		return nil, err
	}
	b := newGridBuilder(space, g)
	p := &GridProblem{Grid: g, Space: space, F: f, VD: vd, b: b}

	// ξ with the coefficients of its jets
	xi, err := b.field(vd, true)
	if err != nil {
		return nil, err
	}
	p.xi = xi
	for _, k := range xi.jetIx {
		a := b.table.alphas[k]
		p.coefAlphas = append(p.coefAlphas, a)
		p.Order = max(p.Order, alphaOrder(a))
	}
	for _, t := range terms {
		c, err := ad.Eval(t.Coef, nil)
		if err != nil || !isFiniteNum(c) {
			return nil, fmt.Errorf("the coefficient %s of a term of the functional is not a finite number", ad.String(t.Coef))
		}
		et := gridEnergyTerm{coef: c, powers: t.Powers}
		for _, a := range t.Integrals {
			body, err := b.homeBody(a)
			if err != nil {
				return nil, err
			}
			fd, err := b.field(body, false)
			if err != nil {
				return nil, err
			}
			et.fields = append(et.fields, fd)
		}
		p.energy = append(p.energy, et)
	}
	return p, nil
}

// gridMonitor is a monitored quantity of a grid run: the mean under q of
// an expression of x and t (expect), or a functional's value (terms).
type gridMonitor struct {
	expect *ad.Machine
	in     [][]float64 // the centres and t
	out    [][]float64
	terms  []gridEnergyTerm
}

// AddMonitor adds a quantity computed at every row (GridRow.Monitors): for
// an expression of x (and of the symbol tsym, the time, when not nil) its
// mean under q, ∫e·q dx; for a functional (a sum of multiples of integrals
// of q, as F itself) its value. It must be called before the problem's
// first run.
func (p *GridProblem) AddMonitor(e, tsym *ad.Node) error {
	sp, b := p.Space, p.b
	if b.table.ready {
		return fmt.Errorf("monitors must be added before the run")
	}
	if e.HasIntegral() {
		terms, err := sp.Terms(e)
		if err != nil {
			return fmt.Errorf("a monitor with integrals must be a functional of %s: %v", sp.Density, err)
		}
		m := &gridMonitor{}
		for _, t := range terms {
			c, err := ad.Eval(t.Coef, nil)
			if err != nil || !isFiniteNum(c) {
				return fmt.Errorf("the coefficient %s of the monitor is not a finite number", ad.String(t.Coef))
			}
			et := gridEnergyTerm{coef: c, powers: t.Powers}
			for _, a := range t.Integrals {
				body, err := b.homeBody(a)
				if err != nil {
					return err
				}
				fd, err := b.field(body, false)
				if err != nil {
					return err
				}
				et.fields = append(et.fields, fd)
			}
			m.terms = append(m.terms, et)
		}
		p.monitors = append(p.monitors, m)
		return nil
	}
	inputs := make([]*ad.Node, 0, b.g.Dim+1)
	for c := range b.g.Dim {
		inputs = append(inputs, sp.Coord(sp.Var, c))
	}
	for _, s := range e.FreeSymbols() {
		if b.coordIndex(s, sp.Var) < 0 && s != tsym {
			if s.Kind() == ad.KJet {
				return fmt.Errorf("a monitor is the mean of a function of %s under %s, or a functional (integral(...)); %s is neither", sp.Var, sp.Density, ad.String(e))
			}
			return fmt.Errorf("the monitor depends on %s, which is neither %s nor t", ad.String(s), sp.Var)
		}
	}
	m := &gridMonitor{in: slices.Clone(b.x), out: [][]float64{make([]float64, b.g.Cells())}}
	if tsym != nil {
		inputs = append(inputs, tsym)
		m.in = append(m.in, make([]float64, b.g.Cells()))
	}
	prog, err := ad.Compile([]*ad.Node{e}, inputs)
	if err != nil {
		return fmt.Errorf("cannot compile the monitor %s: %v", shortExpr(e), err)
	}
	m.expect = prog.NewMachine()
	p.monitors = append(p.monitors, m)
	return nil
}

// Monitors returns the number of monitored quantities.
func (p *GridProblem) Monitors() int { return len(p.monitors) }

// Fields returns the number of float64 arrays of the grid's size the
// problem's tapes and tables hold (for memory estimates).
func (p *GridProblem) Fields() int { return p.b.arrays }

func alphaOrder(a []uint8) int {
	s := 0
	for _, v := range a {
		s += int(v)
	}
	return s
}

// W2QuantileNodes is the number of midpoints of (0, 1) at which W2ToLaw
// compares quantile functions.
const W2QuantileNodes = 20000

// W2ToLaw returns the Wasserstein distance between a law on R given by its
// quantile function qf and the 1-D law d, W₂² = ∫₀¹|qf(u) − G⁻¹(u)|² du,
// by the midpoint rule on W2QuantileNodes points (the quantile functions'
// singular ends cost O(log M/M) relative).
func W2ToLaw(qf func(u float64) float64, d Dist) (float64, error) {
	l, ok := asLaw1D(d)
	if !ok {
		return 0, fmt.Errorf("%s has no quantile function on R", d)
	}
	const m = W2QuantileNodes
	s := 0.0
	for j := range m {
		u := (float64(j) + 0.5) / m
		diff := qf(u) - l.quantile(u)
		s += diff * diff
	}
	return math.Sqrt(s / m), nil
}

// GridQuantile returns the quantile function of a 1-D grid density q
// (piecewise constant, so its distribution function is piecewise linear).
func GridQuantile(g *Grid, q []float64) func(u float64) float64 {
	n := g.N[0]
	cdf := make([]float64, n+1)
	for i, v := range q[:n] {
		cdf[i+1] = cdf[i] + v
	}
	total := cdf[n]
	h := g.H(0)
	return func(u float64) float64 {
		c := u * total
		i, _ := slices.BinarySearch(cdf, c)
		i = min(max(i-1, 0), n-1)
		for i+1 < n && cdf[i+1] < c {
			i++
		}
		frac := 0.0
		if q[i] > 0 {
			frac = (c - cdf[i]) / q[i]
		}
		return g.Lo[0] + (float64(i)+math.Min(math.Max(frac, 0), 1))*h
	}
}

// JKOQuantile returns the quantile function of JKO nodes x: the nodes at
// uᵢ = (i − ½)/N, linear in between, and constant beyond the end nodes.
func JKOQuantile(x []float64) func(u float64) float64 {
	n := len(x)
	return func(u float64) float64 {
		s := u*float64(n) - 0.5
		if s <= 0 {
			return x[0]
		}
		if s >= float64(n-1) {
			return x[n-1]
		}
		i := int(s)
		f := s - float64(i)
		return x[i] + f*(x[i+1]-x[i])
	}
}
