// Test densities: checking nonlocal terms numerically by substituting a random positive density.
package lang

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	ad "flowlang/autodiff"

	"gonum.org/v1/gonum/integrate/quad"
)

// Quadrature for integrals in checks. The test density is a mixture of
// Gaussians, so the integrands are smooth and decay like Gaussians; they
// are integrated on the box holding every component to boxRadius standard
// deviations, by tensor products of one-dimensional rules:
//
//   - fine: composite Gauss–Legendre, panelNodes nodes per panel, panels
//     one narrowest standard deviation wide (about 200 nodes per
//     coordinate). ∫(∂ᵏq)² against its closed form is exact to 1e-10 for
//     k ≤ 6 (TestTestDensityQuadrature).
//   - coarse: the same with panels two standard deviations wide, for
//     integrals nested two deep inside others in one dimension (about 1e-7
//     for k ≤ 3).
//   - nested2D: nested2DNodes-point Gauss–Legendre on the whole box, for
//     integrals with integrals inside or outside them in two dimensions,
//     whose cost is the square of a level's (about 1e-7 for k ≤ 4).
//
// A check's tolerance is at least the accuracy of the rules it uses.
const (
	boxRadius     = 10 // standard deviations: the Gaussian tail beyond is e^−50 ≈ 2e-22
	panelNodes    = 8  // Gauss–Legendre nodes per panel
	nested2DNodes = 80 // nodes per coordinate of the nested2D rule
	// nested2DRadius is the nested2D rule's box, in standard deviations
	// (the tail beyond is e^−32 ≈ 1e-14).
	nested2DRadius = 8
	// maxNestedLevels bounds the integrals nested in one another that a
	// check evaluates by quadrature, by dimension: the work is the product
	// of the levels' rule sizes.
	maxNestedLevels1D, maxNestedLevels2D = 3, 2
	// integralTol, coarseTol and nested2DTol are the smallest relative
	// tolerances of checks whose integrals use the fine, coarse and
	// nested2D rules: both sides are integrated with the same rule, but
	// identities that hold only after integrating by parts carry
	// quadrature error.
	integralTol = 1e-8
	coarseTol   = 1e-6
	nested2DTol = 1e-5
	// pointsPerDensity is how many random points share one test density,
	// so that integrals that do not depend on the point (the value of a
	// functional) are computed once per density.
	pointsPerDensity = 8
)

// The rules, indices into testDensities.rules.
const (
	ruleFine = iota
	ruleCoarse
	ruleNested2D
)

// testDensities substitutes for a density q a random mixture of two
// Gaussians, q(x) = Σ wₖ N(x; mₖ, diag(sₖ²)), whose derivatives of every
// order are known in closed form, and evaluates integrals by quadrature.
type testDensities struct {
	sp      *ad.Space
	weights []float64
	means   [][]float64 // per component, per coordinate
	sds     [][]float64
	draws   int     // calls of draw
	gen     int     // incremented by each new mixture
	minTol  float64 // the smallest tolerance of a check with these integrals
	// nested2DNodes, if positive, replaces the constant of that name (tests)
	nested2DNodes int

	rules    [3]rule                 // quadrature: fine, coarse, nested2D
	factors  map[factorKey][]float64 // per-coordinate Gaussian derivative factors at a rule's nodes
	programs map[*ad.Node]*integrand // compiled integrands, kept across densities
	closed   map[*ad.Node]float64    // values of integrals with no free symbol, for this density
	inner    map[innerKey][]float64  // values of inner integrals at the nodes around them, for this density
}

// rule is a tensor-product quadrature rule: the same one-dimensional nodes
// and weights per coordinate, on a box that depends on the density.
type rule struct {
	nodes   [][]float64 // per coordinate
	weights [][]float64
}

func (r rule) size() int {
	n := 1
	for _, x := range r.nodes {
		n *= len(x)
	}
	return n
}

type factorKey struct {
	rule, comp, coord, order int
}

func (in *Interp) newTestDensities(s *scope, st *CheckStmt, vals ...Value) (*testDensities, *Error) {
	var sp *ad.Space
	for _, v := range vals {
		for _, e := range v.Elems {
			for _, f := range e.FreeSymbols() {
				if f.Kind() != ad.KJet {
					continue
				}
				d := in.densities[f.Name()]
				if d == nil {
					continue
				}
				if sp != nil && sp.Density != d.space.Density {
					return nil, s.errAt(st, "cannot check integrals over two densities (%s and %s) numerically", sp.Density, d.space.Density)
				}
				sp = &d.space
			}
		}
	}
	if sp == nil {
		for _, name := range s.state.densities {
			sp = &in.densities[name].space
		}
	}
	if sp == nil && len(in.densityOrder) > 0 {
		sp = &in.densities[in.densityOrder[len(in.densityOrder)-1]].space
	}
	if sp == nil {
		return nil, s.errAt(st, "cannot evaluate integrals without a declared density")
	}
	if sp.Coords() > 2 {
		return nil, s.errAt(st, "integrals over %d dimensions cannot be checked numerically (at most 2)", sp.Coords())
	}
	t := &testDensities{sp: sp, programs: map[*ad.Node]*integrand{}}
	tol, err := t.tolerance(vals...)
	if err != nil {
		return nil, s.errAt(st, "%v", err)
	}
	t.minTol = tol
	return t, nil
}

// tolerance returns the smallest tolerance a check of vals may use, or an
// error if its integrals are nested too deep to evaluate by quadrature.
func (t *testDensities) tolerance(vals ...Value) (float64, error) {
	levels := 0
	for _, v := range vals {
		for _, e := range v.Elems {
			levels = max(levels, integralLevels(e))
		}
	}
	limit, tol := maxNestedLevels1D, integralTol
	if t.sp.Coords() == 2 {
		limit = maxNestedLevels2D
		if levels >= 2 {
			tol = nested2DTol
		}
	} else if levels >= 3 {
		tol = coarseTol
	}
	if levels > limit {
		return 0, fmt.Errorf("integrals nested %d deep cannot be compared numerically in %d dimension%s (at most %d)", levels, t.sp.Coords(), plural(t.sp.Coords()), limit)
	}
	return tol, nil
}

// integralLevels returns the greatest number of integrals nested in one
// another in e.
func integralLevels(e *ad.Node) int {
	memo := map[*ad.Node]int{}
	var walk func(n *ad.Node) int
	walk = func(n *ad.Node) int {
		if !n.HasIntegral() {
			return 0
		}
		if v, ok := memo[n]; ok {
			return v
		}
		m := 0
		for _, a := range n.Args() {
			m = max(m, walk(a))
		}
		if n.Kind() == ad.KIntegral {
			m++
		}
		memo[n] = m
		return m
	}
	return walk(e)
}

// draw moves to the next random point: every pointsPerDensity calls it
// picks a new mixture, with weights in (0.3, 0.7), means in (−1, 1) and
// standard deviations in (0.6, 1.4) per coordinate.
func (t *testDensities) draw(rng *rand.Rand) {
	t.draws++
	if t.weights != nil && (t.draws-1)%pointsPerDensity != 0 {
		return
	}
	d := t.sp.Coords()
	w := 0.3 + 0.4*rng.Float64()
	weights := []float64{w, 1 - w}
	means := make([][]float64, 2)
	sds := make([][]float64, 2)
	for k := range means {
		means[k] = make([]float64, d)
		sds[k] = make([]float64, d)
		for i := range d {
			means[k][i] = 2*rng.Float64() - 1
			sds[k][i] = 0.6 + 0.8*rng.Float64()
		}
	}
	t.set(weights, means, sds)
}

// set makes q the mixture Σ weights[k]·N(means[k], diag(sds[k]²)). Weights
// may be negative (tests use such mixtures as perturbations).
func (t *testDensities) set(weights []float64, means, sds [][]float64) {
	t.weights, t.means, t.sds = weights, means, sds
	t.gen++
	t.factors = map[factorKey][]float64{}
	t.closed = map[*ad.Node]float64{}
	t.inner = map[innerKey][]float64{}
	d := t.sp.Coords()
	lo, hi := make([]float64, d), make([]float64, d)
	sdMin := math.Inf(1)
	for i := range d {
		lo[i], hi[i] = math.Inf(1), math.Inf(-1)
		for k := range weights {
			lo[i] = math.Min(lo[i], means[k][i]-boxRadius*sds[k][i])
			hi[i] = math.Max(hi[i], means[k][i]+boxRadius*sds[k][i])
			sdMin = math.Min(sdMin, sds[k][i])
		}
	}
	t.rules[ruleFine] = compositeRule(lo, hi, sdMin)
	t.rules[ruleCoarse] = compositeRule(lo, hi, 2*sdMin)
	if d == 2 {
		for i := range d {
			lo[i], hi[i] = math.Inf(1), math.Inf(-1)
			for k := range weights {
				lo[i] = math.Min(lo[i], means[k][i]-nested2DRadius*sds[k][i])
				hi[i] = math.Max(hi[i], means[k][i]+nested2DRadius*sds[k][i])
			}
		}
		n := nested2DNodes
		if t.nested2DNodes > 0 {
			n = t.nested2DNodes
		}
		t.rules[ruleNested2D] = gaussRule(lo, hi, n)
	}
}

// compositeRule is Gauss–Legendre with panelNodes nodes on panels at most h
// wide covering [lo[i], hi[i]] in each coordinate.
func compositeRule(lo, hi []float64, h float64) rule {
	var r rule
	x, w := make([]float64, panelNodes), make([]float64, panelNodes)
	for i := range lo {
		panels := int(math.Ceil((hi[i] - lo[i]) / h))
		step := (hi[i] - lo[i]) / float64(panels)
		var nodes, weights []float64
		for p := range panels {
			a := lo[i] + float64(p)*step
			quad.Legendre{}.FixedLocations(x, w, a, a+step)
			nodes = append(nodes, x...)
			weights = append(weights, w...)
		}
		r.nodes = append(r.nodes, nodes)
		r.weights = append(r.weights, weights)
	}
	return r
}

// gaussRule is Gauss–Legendre with n nodes on [lo[i], hi[i]] per coordinate.
func gaussRule(lo, hi []float64, n int) rule {
	var r rule
	for i := range lo {
		x, w := make([]float64, n), make([]float64, n)
		quad.Legendre{}.FixedLocations(x, w, lo[i], hi[i])
		r.nodes = append(r.nodes, x)
		r.weights = append(r.weights, w)
	}
	return r
}

func (t *testDensities) describe() string {
	var parts []string
	vec := func(v []float64) string {
		if len(v) == 1 {
			return FormatNumber(v[0], 4)
		}
		return "(" + fmtCoords(v) + ")"
	}
	for k, w := range t.weights {
		parts = append(parts, fmt.Sprintf("%.3g·N(mean %s, sd %s)", w, vec(t.means[k]), vec(t.sds[k])))
	}
	return fmt.Sprintf("%s(%s) = %s", t.sp.Density, t.sp.Var, strings.Join(parts, " + "))
}

func fmtCoords(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = FormatNumber(x, 4)
	}
	return strings.Join(parts, ", ")
}

// gaussFactor returns ∂ⁿ/∂zⁿ N(z; m, s²) = (−1)ⁿ Heₙ(u)/sⁿ · N(z; m, s²),
// u = (z − m)/s, with the probabilists' Hermite polynomials He₀ = 1,
// He₁ = u, Heₖ₊₁ = u·Heₖ − k·Heₖ₋₁.
func gaussFactor(z, m, s float64, n int) float64 {
	u := (z - m) / s
	g := math.Exp(-u*u/2) / (s * math.Sqrt(2*math.Pi))
	he0, he1 := 1.0, u
	h := he0
	if n >= 1 {
		h = he1
		for j := 1; j < n; j++ {
			he0, he1 = he1, u*he1-float64(j)*he0
			h = he1
		}
	}
	if n%2 == 1 {
		h = -h
	}
	return h / math.Pow(s, float64(n)) * g
}

// jet returns ∂^α q at the point z.
func (t *testDensities) jet(alpha []uint8, z []float64) float64 {
	total := 0.0
	for k, w := range t.weights {
		v := w
		for i, zi := range z {
			v *= gaussFactor(zi, t.means[k][i], t.sds[k][i], int(alpha[i]))
		}
		total += v
	}
	return total
}

// factor returns gaussFactor of component comp, coordinate coord, order n
// at the nodes of rule r.
func (t *testDensities) factor(r, comp, coord, n int) []float64 {
	key := factorKey{r, comp, coord, n}
	if f, ok := t.factors[key]; ok {
		return f
	}
	nodes := t.rules[r].nodes[coord]
	f := make([]float64, len(nodes))
	for k, z := range nodes {
		f[k] = gaussFactor(z, t.means[comp][coord], t.sds[comp][coord], n)
	}
	t.factors[key] = f
	return f
}

// setJets gives the jets of q at point (the values of its coordinates in
// values) their test-density values.
func (t *testDensities) setJets(e *ad.Node, point string, values map[*ad.Node]float64) {
	z := make([]float64, t.sp.Coords())
	for i := range z {
		z[i] = values[t.sp.Coord(point, i)]
	}
	for _, f := range e.FreeSymbols() {
		if f.Kind() == ad.KJet && f.Name() == t.sp.Density && f.Point() == point {
			values[f] = t.jet(f.Alpha(), z)
		}
	}
}

// integrand is an integral's body compiled to a tape whose inputs are the
// coordinates of the integration point, the jets of q there, the values of
// the integrals directly inside it, and the free symbols of the integral
// (constant over the quadrature nodes).
type integrand struct {
	point   string // the integration variable
	machine *ad.Machine
	coords  []int      // input index of each coordinate of the point
	jets    []*ad.Node // jets of q at the point, inputs len(coords)...
	inner   []*ad.Node // integrals directly inside, the next inputs
	outer   []*ad.Node // free symbols of the integral, the last inputs
	in, out [][]float64
	weight  []float64 // quadrature weights of the nodes
	gen     int       // the density generation and rule the buffers were filled for
	rule    int
}

func (t *testDensities) compile(n *ad.Node) (*integrand, error) {
	if ig, ok := t.programs[n]; ok {
		return ig, nil
	}
	body := n.Args()[0]
	point := n.Name()
	ig := &integrand{point: point}
	var inputs []*ad.Node
	for i := range t.sp.Coords() {
		ig.coords = append(ig.coords, len(inputs))
		inputs = append(inputs, t.sp.Coord(point, i))
	}
	place := map[*ad.Node]*ad.Node{}
	for _, in := range ad.Integrals(body, false) {
		ph := ad.Symbol(fmt.Sprintf("·J%d", len(place)), 0)
		place[in] = ph
		ig.inner = append(ig.inner, in)
	}
	lp := ad.Substitute(body, place)
	for _, f := range lp.FreeSymbols() {
		if f.Kind() == ad.KJet && f.Name() == t.sp.Density && f.Point() == point {
			ig.jets = append(ig.jets, f)
		}
	}
	inputs = append(inputs, ig.jets...)
	for _, in := range ig.inner {
		inputs = append(inputs, place[in])
	}
	ig.outer = n.FreeSymbols()
	inputs = append(inputs, ig.outer...)
	// the body may not use every coordinate: inputs it does not read are harmless
	p, err := ad.Compile([]*ad.Node{lp}, inputs)
	if err != nil {
		return nil, err
	}
	ig.machine = p.NewMachine()
	ig.in = make([][]float64, len(inputs))
	ig.out = [][]float64{nil}
	t.programs[n] = ig
	return ig, nil
}

// eval integrates an integral node over its variable by the tensor-product
// rule, evaluating the compiled integrand at all nodes in batch mode. It is
// the Integral function of the evaluators of a check.
func (t *testDensities) eval(n *ad.Node, outer *ad.Evaluator) (float64, error) {
	return t.integrate(n, outer.Values, 0)
}

func (t *testDensities) integrate(n *ad.Node, values map[*ad.Node]float64, depth int) (float64, error) {
	closed := len(n.FreeSymbols()) == 0
	if closed {
		if v, ok := t.closed[n]; ok {
			return v, nil
		}
	}
	ig, err := t.compile(n)
	if err != nil {
		return 0, err
	}
	r := ruleFine
	switch {
	case t.sp.Coords() == 2 && (depth > 0 || len(ig.inner) > 0):
		r = ruleNested2D
	case depth >= 2:
		r = ruleCoarse
	}
	size := t.rules[r].size()
	if ig.gen != t.gen || ig.rule != r {
		t.fillPoint(ig, r, size)
	}
	// the free symbols of the integral, constant over the nodes
	base := len(ig.coords) + len(ig.jets) + len(ig.inner)
	for j, s := range ig.outer {
		v, ok := values[s]
		if !ok {
			return 0, fmt.Errorf("no value for %s", ad.String(s))
		}
		dst := ig.in[base+j]
		for k := range dst {
			dst[k] = v
		}
	}
	// integrals inside: evaluated at each node, with this point's values
	if len(ig.inner) > 0 {
		if err := t.fillInner(ig, values, size, depth); err != nil {
			return 0, err
		}
	}
	ig.machine.EvalBatch(ig.in, ig.out, size)
	sum := 0.0
	for k, f := range ig.out[0] {
		sum += ig.weight[k] * f
	}
	if closed {
		t.closed[n] = sum
	}
	return sum, nil
}

// fillPoint sizes ig's buffers for rule r and fills what depends only on
// the density and the rule: the nodes' coordinates, their weights and the
// jets of q there.
func (t *testDensities) fillPoint(ig *integrand, r, size int) {
	rl := t.rules[r]
	ig.gen, ig.rule = t.gen, r
	for i := range ig.in {
		if cap(ig.in[i]) < size {
			ig.in[i] = make([]float64, size)
		}
		ig.in[i] = ig.in[i][:size]
	}
	if cap(ig.out[0]) < size {
		ig.out[0] = make([]float64, size)
		ig.weight = make([]float64, size)
	}
	ig.out[0] = ig.out[0][:size]
	ig.weight = ig.weight[:size]
	d := t.sp.Coords()
	// coordinates and weights of the tensor grid, node k = k₁·n₂ + k₂ in
	// two dimensions
	for k := range size {
		w, rest := 1.0, k
		for i := d - 1; i >= 0; i-- {
			ni := len(rl.nodes[i])
			ki := rest % ni
			rest /= ni
			ig.in[ig.coords[i]][k] = rl.nodes[i][ki]
			w *= rl.weights[i][ki]
		}
		ig.weight[k] = w
	}
	// jets of q at the nodes: Σ_c w_c Π_i factor(c, i, αᵢ)
	for j, jet := range ig.jets {
		dst := ig.in[len(ig.coords)+j]
		clear(dst)
		alpha := jet.Alpha()
		for c, wc := range t.weights {
			f0 := t.factor(r, c, 0, int(alpha[0]))
			if d == 1 {
				for k := range size {
					dst[k] += wc * f0[k]
				}
				continue
			}
			f1 := t.factor(r, c, 1, int(alpha[1]))
			n1 := len(f1)
			for k := range size {
				dst[k] += wc * f0[k/n1] * f1[k%n1]
			}
		}
	}
}

// fillInner evaluates the integrals directly inside ig's body at each
// quadrature node, with the node's coordinates and jets of q added to the
// values of the enclosing points.
func (t *testDensities) fillInner(ig *integrand, values map[*ad.Node]float64, size, depth int) error {
	if depth >= ad.MaxIntegralDepth {
		return fmt.Errorf("integrals nested more than %d deep", ad.MaxIntegralDepth)
	}
	base := len(ig.coords) + len(ig.jets)
	// an inner integral that depends only on this integral's point (not on
	// enclosing points or the check's point) has the same values at the
	// nodes whatever the outer values: it is computed once per density
	var todo []int
	for j, in := range ig.inner {
		key := innerKey{in, ig.rule, depth}
		if cached, ok := t.inner[key]; ok {
			copy(ig.in[base+j], cached)
		} else {
			todo = append(todo, j)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	point := make(map[*ad.Node]float64, len(values)+8)
	for k, v := range values {
		point[k] = v
	}
	// jets at this point that only the inner integrals use
	var extra []*ad.Node
	for _, j := range todo {
		for _, f := range ig.inner[j].FreeSymbols() {
			if f.Kind() == ad.KJet && f.Name() == t.sp.Density && f.Point() == ig.point &&
				!slices.Contains(ig.jets, f) && !slices.Contains(extra, f) {
				extra = append(extra, f)
			}
		}
	}
	z := make([]float64, len(ig.coords))
	for k := range size {
		for i, c := range ig.coords {
			z[i] = ig.in[c][k]
			point[t.sp.Coord(ig.point, i)] = z[i]
		}
		for j, jet := range ig.jets {
			point[jet] = ig.in[len(ig.coords)+j][k]
		}
		for _, jet := range extra {
			point[jet] = t.jet(jet.Alpha(), z)
		}
		for _, j := range todo {
			v, err := t.integrate(ig.inner[j], point, depth+1)
			if err != nil {
				return err
			}
			ig.in[base+j][k] = v
		}
	}
	for _, j := range todo {
		if in := ig.inner[j]; t.localTo(in, ig.point) {
			t.inner[innerKey{in, ig.rule, depth}] = slices.Clone(ig.in[base+j])
		}
	}
	return nil
}

// innerKey identifies the values of an inner integral at the nodes of the
// rule of the integral around it, at a nesting depth.
type innerKey struct {
	n           *ad.Node
	rule, depth int
}

// localTo reports whether the integral n depends on nothing but the
// coordinates of point and the jets of q there.
func (t *testDensities) localTo(n *ad.Node, point string) bool {
	for _, f := range n.FreeSymbols() {
		switch {
		case f.Kind() == ad.KSymbol && f.Name() == point:
		case f.Kind() == ad.KJet && f.Name() == t.sp.Density && f.Point() == point:
		default:
			return false
		}
	}
	return true
}
