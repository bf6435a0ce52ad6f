// Densities in jet coordinates: total derivatives, Euler–Lagrange variational derivatives, nonlocal terms.
package autodiff

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Space describes a density q over a space variable: its name, the base
// name of its variable and the dimension (Dim 0 for a scalar variable x,
// d ≥ 1 for a vector x[1..d]).
type Space struct {
	Density string
	Var     string
	Dim     int
}

// Coords returns the number of coordinates (1 for a scalar variable).
func (s Space) Coords() int { return max(s.Dim, 1) }

// Coord returns the symbol of coordinate i (0-based) of point (s.Var for the
// density's own variable, or a nonlocal integration variable).
func (s Space) Coord(point string, i int) *Node {
	if s.Dim == 0 {
		return Symbol(point, 0)
	}
	return Symbol(point, i+1)
}

// Q returns the jet ∂^α q at point (home: the density's own variable).
func (s Space) Q(point string, alpha []uint8) *Node {
	if alpha == nil {
		alpha = make([]uint8, s.Coords())
	}
	return Jet(s.Density, point, point == s.Var, alpha)
}

// addUnit returns the multi-index α + eᵢ.
func addUnit(alpha []uint8, i int) []uint8 {
	b := slices.Clone(alpha)
	b[i]++
	return b
}

// MaxJetOrder bounds the derivative order of a jet.
const MaxJetOrder = 60

// TotalDiff returns the total derivative Dᵢe with respect to coordinate i of
// point: ∂e/∂xᵢ + Σ_α q_{α+eᵢ} ∂e/∂q_α over the jets of s at that point. It
// passes into integrals over other variables, so Dₓ∫K(x−y)q(y)dy is
// ∫∂ₓK(x−y)q(y)dy.
func (s Space) TotalDiff(e *Node, point string, i int) (*Node, error) {
	dx, err := DiffE(e, s.Coord(point, i))
	if err != nil {
		return nil, err
	}
	terms := []*Node{dx}
	for _, j := range e.FreeSymbols() {
		if j.kind == KJet && j.name == s.Density && j.point == point {
			if order(j.alpha) >= MaxJetOrder {
				return nil, fmt.Errorf("derivative of %s beyond order %d", s.Density, MaxJetOrder)
			}
			terms = append(terms, Mul(Jet(s.Density, point, j.home, addUnit(j.alpha, i)), Diff(e, j)))
		}
	}
	return Add(terms...), nil
}

// negTotalDiffAlpha applies (−D)^α at point: each Dᵢ αᵢ times, with sign
// (−1)^|α|.
func (s Space) negTotalDiffAlpha(e *Node, point string, alpha []uint8) (*Node, error) {
	var err error
	for i, a := range alpha {
		for k := 0; k < int(a) && !e.IsZero(); k++ {
			if e, err = s.TotalDiff(e, point, i); err != nil {
				return nil, err
			}
			e = Neg(e)
		}
	}
	return e, nil
}

// EulerLagrange returns Σ_α (−D)^α ∂L/∂q_α over the jets of s at point in L:
// the variational derivative of ∫ L d(point) with respect to q(point) for
// a local integrand L.
func (s Space) EulerLagrange(l *Node, point string) (*Node, error) {
	var terms []*Node
	for _, j := range l.FreeSymbols() {
		if j.kind != KJet || j.name != s.Density || j.point != point {
			continue
		}
		t, err := s.negTotalDiffAlpha(Diff(l, j), point, j.alpha)
		if err != nil {
			return nil, err
		}
		terms = append(terms, t)
	}
	return Add(terms...), nil
}

// Term is one term of a functional: a constant coefficient times a product
// of powers of closed integrals, Coef·Π Integrals[i]^Powers[i]. A single
// integral ∫L dx is the term with one factor of power 1; a product of
// integrals such as (∫q dx)² or ∫q dx·∫q(y)K(y) dy is a nested integral that
// the canonical form has factored (∬q(x)q(y) dy dx = (∫q dx)²).
type Term struct {
	Coef      *Node
	Integrals []*Node
	Powers    []int
}

// MaxTermPower bounds the power of an integral in a term of a functional.
const MaxTermPower = 1000

// Terms writes a functional's value as a sum of terms (see Term). It fails,
// saying which part is wrong, unless the value is a sum of constant
// multiples of integrals and of products of integrals.
func (s Space) Terms(f *Node) ([]Term, error) {
	if f.IsZero() {
		return nil, nil // the zero functional (∫q·0, say) has no terms
	}
	items, cs := []*Node{f}, []Num{Int(1)}
	if f.kind == KSum {
		if !f.num.IsZero() {
			return nil, fmt.Errorf("the constant term %s is not an integral", f.num)
		}
		items, cs = f.args, f.coefs
	}
	out := make([]Term, 0, len(items))
	for i, t := range items {
		bases, exps := []*Node{t}, []Num{Int(1)}
		if t.kind == KProduct {
			bases, exps = t.args, t.coefs
		}
		term := Term{Coef: Number(cs[i])}
		var consts []*Node
		for k, b := range bases {
			if !b.integ && !s.dependsOnSpace(b) {
				consts = append(consts, PowNum(b, exps[k]))
				continue
			}
			p, isInt := exps[k].IsInt()
			switch {
			case b.kind != KIntegral:
				return nil, fmt.Errorf("%s is not a constant multiple of an integral over %s", String(t), s.Var)
			case s.dependsOnSpace(b):
				return nil, fmt.Errorf("%s depends on %s outside the integral", String(b), s.Var)
			case !isInt || p < 1 || p > MaxTermPower:
				return nil, fmt.Errorf("%s: an integral may be raised only to a positive integer power (a product of integrals), not %s", String(t), exps[k])
			}
			if !dependsOnPoint(b.args[0], b.name) {
				return nil, fmt.Errorf("the integrand of %s depends neither on the integration variable nor on %s there: its integral over the whole space diverges", String(b), s.Density)
			}
			term.Integrals = append(term.Integrals, b)
			term.Powers = append(term.Powers, int(p))
		}
		if len(term.Integrals) == 0 {
			return nil, fmt.Errorf("the term %s is not an integral", String(t))
		}
		term.Coef = Mul(append(consts, term.Coef)...)
		out = append(out, term)
	}
	return out, nil
}

// SplitIntegrals writes a functional's value as Σ scaleᵢ·integralᵢ with
// constant scales, where each integralᵢ is one closed integral or a product
// of powers of closed integrals (see Terms).
func (s Space) SplitIntegrals(f *Node) (integrals, scales []*Node, err error) {
	terms, err := s.Terms(f)
	if err != nil {
		return nil, nil, err
	}
	for _, t := range terms {
		fs := make([]*Node, len(t.Integrals))
		for i, a := range t.Integrals {
			fs[i] = PowNum(a, Int(int64(t.Powers[i])))
		}
		integrals = append(integrals, Mul(fs...))
		scales = append(scales, t.Coef)
	}
	return integrals, scales, nil
}

// dependsOnSpace reports whether e depends on the density's own variable
// or on a jet of the density at any point left free in e.
func (s Space) dependsOnSpace(e *Node) bool {
	table.Lock()
	defer table.Unlock()
	for _, ix := range e.free {
		sym := table.symbols[ix]
		if sym.kind == KSymbol && sym.name == s.Var || sym.kind == KJet && sym.name == s.Density {
			return true
		}
	}
	return false
}

// VariationalDerivative returns δF/δq(x) for a functional F, a sum of
// terms c·Π Aᵢ^kᵢ of closed integrals (see Terms), by the product rule
// δ(Π Aᵢ^kᵢ) = Σᵢ kᵢ Aᵢ^(kᵢ−1) Π_{j≠i} Aⱼ^kⱼ δAᵢ.
//
// For one integral A = ∫ L dx, a local integrand L(x, q, ∂q, ∂²q, …) gives
// the Euler–Lagrange expression Σ_α (−D)^α ∂L/∂q_α, with D the total
// derivative. Nonlocal terms, integrals nested to any depth
// ∫dx L(…, ∫dy G(…, ∫dz H …)), follow from the first variation: the
// integrand at depth i is differentiated with respect to every jet q_α(v)
// at a point v of an enclosing integral (or its own), multiplied by the
// chain of factors ∂(outer integrand)/∂(inner integral) that link it to the
// top, integrated by parts in v ((−D_v)^α), and v is made the outermost
// variable and renamed x, the other variables being integrated. For two
// levels this is the rule
//
//	δ/δq(x) ∬G(x, y, q(x), q(y)) dy dx = ∫∂G/∂q(x) dy + ∫(∂G/∂q(y))|x↔y dy,
//
// right for asymmetric kernels: ½∬K(x−y)q(x)q(y) gives
// ½∫(K(x−y) + K(y−x))q(y)dy. An integrand nonlinear in an inner integral,
// ∫q(x)(∫K(x−y)q(y)dy)² dx, gives L_I = 2q(x)∫K(x−z)q(z)dz inside the
// swapped term, with a third variable where renaming would capture. The
// result's integration variables are named canonically (see CanonicalBound).
func (s Space) VariationalDerivative(f *Node) (*Node, error) {
	terms, err := s.Terms(f)
	if err != nil {
		return nil, err
	}
	var out []*Node
	for _, t := range terms {
		for i, a := range t.Integrals {
			v, err := s.vdIntegral(s.homeBody(a))
			if err != nil {
				return nil, err
			}
			fs := []*Node{t.Coef, IntNode(int64(t.Powers[i])), PowNum(a, Int(int64(t.Powers[i]-1))), v}
			for j, b := range t.Integrals {
				if j != i {
					fs = append(fs, PowNum(b, Int(int64(t.Powers[j]))))
				}
			}
			out = append(out, Mul(fs...))
		}
	}
	return s.CanonicalBound(Add(out...)), nil
}

// homeBody returns the integrand of a closed integral as a function of
// the density's own variable (∫G(y)dy gives G(x)).
func (s Space) homeBody(a *Node) *Node {
	if a.name == s.Var {
		return a.args[0]
	}
	return s.substPoints(a.args[0], map[string]string{a.name: s.Var})
}

// rebind returns the integral in with its variable renamed to.
func (s Space) rebind(in *Node, to string) *Node {
	body := s.substPoints(in.args[0], map[string]string{in.name: to})
	return Integral(body, to, in.index, to == s.Var)
}

// vdIntegral returns δ/δq(x) of ∫ l dx.
func (s Space) vdIntegral(l *Node) (*Node, error) {
	var out []*Node
	if err := s.visit(l, []string{s.Var}, nil, &out); err != nil {
		return nil, err
	}
	return Add(out...), nil
}

// MaxIntegralDepth bounds the nesting of integrals in a functional.
const MaxIntegralDepth = 16

// visit adds to out the contributions of the integrand b of the integral
// over vars[i] (i = len(vars)−1), nested in integrals over vars[:i];
// cs[m] = ∂(integrand at depth m)/∂(integral at depth m+1) links the levels.
func (s Space) visit(b *Node, vars []string, cs []*Node, out *[]*Node) error {
	i := len(vars) - 1
	if i >= MaxIntegralDepth {
		return fmt.Errorf("integrals nested more than %d deep", MaxIntegralDepth)
	}
	// inner integrals over a name already in use on this path are renamed
	inner := Integrals(b, false)
	ren := map[*Node]*Node{}
	for _, in := range inner {
		if slices.Contains(vars, in.name) {
			ren[in] = s.rebind(in, freshName(usedNames(b, vars)))
		}
	}
	if len(ren) > 0 {
		b = Substitute(b, ren)
		inner = Integrals(b, false)
	}
	// inner integrals become placeholder symbols for differentiation
	place := make(map[*Node]*Node, len(inner))
	back := make(map[*Node]*Node, len(inner))
	for k, in := range inner {
		ph := Symbol("·I"+strconv.Itoa(k), 0)
		place[in] = ph
		back[ph] = in
	}
	lp := Substitute(b, place)
	for _, j := range lp.FreeSymbols() {
		if j.kind != KJet || j.name != s.Density {
			continue
		}
		k := slices.Index(vars, j.point)
		if k < 0 {
			continue // a jet at a point bound elsewhere cannot occur; one left free is a constant
		}
		t, err := s.contribution(Substitute(Diff(lp, j), back), vars, cs, k, j.alpha)
		if err != nil {
			return err
		}
		*out = append(*out, t)
	}
	for _, in := range inner {
		c := Substitute(Diff(lp, place[in]), back)
		if c.IsZero() {
			continue
		}
		if err := s.visit(in.args[0], append(slices.Clip(vars), in.name), append(slices.Clip(cs), c), out); err != nil {
			return err
		}
	}
	return nil
}

// contribution turns X = ∂(integrand at depth i)/∂q_α(vars[k]) into its part
// of δF/δq(x): with the links cs, the first variation is
// ∫dv₀…∫dvᵢ c₀⋯c_{i−1}·X·η_α(v_k); integrating over v_{k+1}…vᵢ, by parts in
// v_k, and making v_k the outer variable named x gives
//
//	∫dv₀…∫dv_{k−1} [c₀⋯c_{k−1}·(−D_{v_k})^α (c_k ∫dv_{k+1} c_{k+1} ⋯ ∫dvᵢ X)]|_{x↔v_k}.
func (s Space) contribution(x *Node, vars []string, cs []*Node, k int, alpha []uint8) (*Node, error) {
	i := len(vars) - 1
	a := x
	for m := i; m > k; m-- {
		a = Mul(cs[m-1], Integral(a, vars[m], s.Dim, false))
	}
	t, err := s.negTotalDiffAlpha(a, vars[k], alpha)
	if err != nil {
		return nil, err
	}
	if k == 0 || t.IsZero() {
		return t, nil
	}
	t = Mul(append(slices.Clone(cs[:k]), t)...)
	t = s.substPoints(t, map[string]string{vars[0]: vars[k], vars[k]: vars[0]})
	for m := k - 1; m >= 1; m-- {
		t = Integral(t, vars[m], s.Dim, false)
	}
	return Integral(t, vars[k], s.Dim, false), nil
}

// Integrals returns the integral nodes in e, each once: with nested false
// only those not inside another integral, with nested true all of them
// (outer before inner).
func Integrals(e *Node, nested bool) []*Node {
	var out []*Node
	seen := map[*Node]bool{}
	var walk func(n *Node)
	walk = func(n *Node) {
		if seen[n] || !n.integ {
			return
		}
		seen[n] = true
		if n.kind == KIntegral {
			out = append(out, n)
			if !nested {
				return
			}
		}
		for _, a := range n.args {
			walk(a)
		}
	}
	walk(e)
	return out
}

// usedNames returns every symbol name, jet point and integration variable
// in e, and the names in extra.
func usedNames(e *Node, extra []string) map[string]bool {
	used := map[string]bool{}
	for _, n := range extra {
		used[n] = true
	}
	seen := map[*Node]bool{}
	var walk func(n *Node)
	walk = func(n *Node) {
		if seen[n] {
			return
		}
		seen[n] = true
		switch n.kind {
		case KSymbol, KIntegral:
			used[n.name] = true
		case KJet:
			used[n.point] = true
		}
		for _, a := range n.args {
			walk(a)
		}
	}
	walk(e)
	return used
}

// freshName returns a temporary variable name not in used. Temporary names
// cannot be written in a script; CanonicalBound replaces them.
func freshName(used map[string]bool) string {
	for k := 1; ; k++ {
		if n := "·v" + strconv.Itoa(k); !used[n] {
			used[n] = true
			return n
		}
	}
}

// renameKey memoises a walk of the renamer: a node under a renaming.
type renameKey struct {
	n   *Node
	sig string
}

// where is the position of a walk: how many nonlocal integration
// variables enclose it (level) and whether any integral does (nested).
type where struct {
	level  int
	nested bool
}

// renamer walks an expression renaming points: free symbols and jets by
// the map m, and integration variables by choose.
type renamer struct {
	s      Space
	used   map[string]bool
	memo   map[renameKey]*Node
	choose func(n *Node, at where, m map[string]string) string
}

func signature(m map[string]string, at where) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(strconv.Itoa(at.level))
	if at.nested {
		b.WriteByte('n')
	}
	for _, k := range keys {
		b.WriteString("\x00" + k + "\x01" + m[k])
	}
	return b.String()
}

func (r *renamer) walk(n *Node, m map[string]string, at where) *Node {
	if !n.integ && !r.dependsOnAny(n, m) {
		return n
	}
	key := renameKey{n, signature(m, at)}
	if v, ok := r.memo[key]; ok {
		return v
	}
	var out *Node
	switch n.kind {
	case KSymbol:
		out = Symbol(m[n.name], n.index)
	case KJet:
		to := m[n.point]
		out = Jet(n.name, to, to == r.s.Var, n.alpha)
	case KIntegral:
		v := n.name
		nv := r.choose(n, at, m)
		inner := make(map[string]string, len(m)+1)
		for k, t := range m {
			if k != v {
				inner[k] = t
			}
		}
		if nv != v {
			inner[v] = nv
		}
		in := where{level: at.level, nested: true}
		if nv != r.s.Var {
			in.level++
		}
		out = Integral(r.walk(n.args[0], inner, in), nv, n.index, nv == r.s.Var)
	default:
		args := make([]*Node, len(n.args))
		for i, a := range n.args {
			args[i] = r.walk(a, m, at)
		}
		out = Rebuild(n, args)
	}
	r.memo[key] = out
	return out
}

// dependsOnAny reports whether e depends on a point renamed by m (jets of
// other densities are renamed too: a point is a point).
func (r *renamer) dependsOnAny(e *Node, m map[string]string) bool {
	if len(m) == 0 {
		return false
	}
	table.Lock()
	defer table.Unlock()
	for _, ix := range e.free {
		sym := table.symbols[ix]
		switch sym.kind {
		case KSymbol:
			if _, ok := m[sym.name]; ok {
				return true
			}
		case KJet:
			if _, ok := m[sym.point]; ok {
				return true
			}
		}
	}
	return false
}

// substPoints renames the free points of e by m (simultaneously, so
// {x: y, y: x} swaps them), avoiding capture: an integration variable that
// a renamed point would fall under is renamed to a fresh name first.
func (s Space) substPoints(e *Node, m map[string]string) *Node {
	r := &renamer{s: s, used: usedNames(e, nil), memo: map[renameKey]*Node{}}
	for k, v := range m {
		r.used[k], r.used[v] = true, true
	}
	r.choose = func(n *Node, _ where, m map[string]string) string {
		v := n.name
		for k, t := range m {
			if k != v && t == v {
				return freshName(r.used) // v would capture the renamed k
			}
		}
		return v
	}
	return r.walk(e, m, where{})
}

// boundCandidates are the canonical names of integration variables, by
// nesting depth (then y1, y2, …).
var boundCandidates = []string{"y", "z", "w", "u", "v", "s", "t"}

// CanonicalBound renames the integration variables of e canonically, so
// that the same mathematics prints the same text whatever names a script
// used: an integral that is not inside another one and does not depend on
// the density's variable (a number, such as the mass ∫q) is taken over the
// density's own variable, integral(q); the others are named by their
// nesting depth y, z, w, … avoiding the names of e's free symbols.
func (s Space) CanonicalBound(e *Node) *Node {
	if !e.integ {
		return e
	}
	avoid := map[string]bool{s.Var: true}
	for _, f := range e.FreeSymbols() {
		switch f.kind {
		case KSymbol:
			avoid[f.name] = true
		case KJet:
			avoid[f.point] = true
		}
	}
	var names []string
	name := func(depth int) string {
		for len(names) <= depth {
			k := len(names)
			for {
				var c string
				if k < len(boundCandidates) {
					c = boundCandidates[k]
				} else {
					c = "y" + strconv.Itoa(k-len(boundCandidates)+1)
				}
				k++
				if !avoid[c] && !slices.Contains(names, c) {
					names = append(names, c)
					break
				}
			}
		}
		return names[depth]
	}
	r := &renamer{s: s, memo: map[renameKey]*Node{}}
	r.choose = func(n *Node, at where, _ map[string]string) string {
		if !at.nested && !s.dependsOnSpace(n) {
			return s.Var
		}
		return name(at.level)
	}
	return r.walk(e, map[string]string{}, where{})
}
