// Constructors: the only way to make nodes. Each applies cheap, safe canonical rules.
package autodiff

import (
	"slices"
)

// Number returns the node for the number v.
func Number(v Num) *Node { return intern(&Node{kind: KNumber, num: v}) }

// IntNode returns the node for the integer v.
func IntNode(v int64) *Node { return Number(Int(v)) }

// FloatNode returns the node for the float v (an integer if it is one).
func FloatNode(v float64) *Node { return Number(Float(v)) }

// Zero and One are the numbers 0 and 1.
func Zero() *Node { return IntNode(0) }

// One returns the number 1.
func One() *Node { return IntNode(1) }

// Pi returns the constant π.
func Pi() *Node { return intern(&Node{kind: KConstant, name: "pi"}) }

// Symbol returns the free scalar symbol name (index 0) or the element
// name[index] (index ≥ 1) of a vector symbol.
func Symbol(name string, index int) *Node {
	return intern(&Node{kind: KSymbol, name: name, index: index})
}

// Jet returns the symbol ∂^α q(point): the derivative of density q with
// multi-index alpha (one entry per space dimension), taken at the point whose
// base name is point. home says whether point is the density's own space
// variable (q, diff(q, x)) or a nonlocal integration variable (q(y)).
func Jet(density, point string, home bool, alpha []uint8) *Node {
	return intern(&Node{kind: KJet, name: density, point: point, home: home, alpha: slices.Clone(alpha)})
}

// Integral returns ∫ body d(variable) over the whole space; dim is the
// variable's dimension (its symbols are variable, or variable[1..dim]) and
// home says whether it is the density's own space variable.
//
// Integrals are kept linear and canonical: the integral of a sum without a
// constant term is the sum of the integrals, and factors that do not depend
// on the variable move outside, so that ∫(a + b) and ∫a + ∫b agree and
// ∫q(x)K(x−y)q(y)dy is q(x)·∫K(x−y)q(y)dy.
func Integral(body *Node, variable string, dim int, home bool) *Node {
	switch {
	case body.IsZero():
		return body
	case body.kind == KSum && body.num.IsZero():
		terms := make([]*Node, len(body.args))
		for i, t := range body.args {
			terms[i] = Scale(Integral(t, variable, dim, home), body.coefs[i])
		}
		return Add(terms...)
	case body.kind == KProduct:
		var in, out []factor
		for i, b := range body.args {
			f := factor{b, body.coefs[i]}
			if dependsOnPoint(b, variable) {
				in = append(in, f)
			} else {
				out = append(out, f)
			}
		}
		if len(out) > 0 && len(in) > 0 {
			inner := Integral(mulFactors(Int(1), in), variable, dim, home)
			return Mul(mulFactors(Int(1), out), inner)
		}
	}
	return intern(&Node{kind: KIntegral, name: variable, index: dim, home: home, args: []*Node{body}})
}

// dependsOnPoint reports whether e depends on a coordinate of the point
// variable or on a jet taken there.
func dependsOnPoint(e *Node, variable string) bool {
	table.Lock()
	defer table.Unlock()
	for _, ix := range e.free {
		s := table.symbols[ix]
		if s.kind == KSymbol && s.name == variable || s.kind == KJet && s.point == variable {
			return true
		}
	}
	return false
}

// Neg returns -a.
func Neg(a *Node) *Node { return Scale(a, Int(-1)) }

// Sub returns a - b.
func Sub(a, b *Node) *Node { return Add(a, Neg(b)) }

// Div returns a / b.
func Div(a, b *Node) *Node { return Mul(a, PowNum(b, Int(-1))) }

// Scale returns c·a.
func Scale(a *Node, c Num) *Node {
	switch {
	case c.IsZero():
		return Zero()
	case c.IsOne():
		return a
	}
	switch a.kind {
	case KNumber:
		return Number(a.num.Mul(c))
	case KSum:
		coefs := make([]Num, len(a.coefs))
		for i, k := range a.coefs {
			coefs[i] = k.Mul(c)
		}
		return makeSum(a.num.Mul(c), a.args, coefs)
	}
	return makeSum(Int(0), []*Node{a}, []Num{c})
}

// Add returns the sum of args, built over all of them at once: constants
// are added, nested sums flattened and like terms collected, so x + x, 2*x
// and x*2 are one node.
func Add(args ...*Node) *Node {
	c0 := Int(0)
	n := 0
	for _, a := range args {
		n += max(1, len(a.args))
	}
	// the terms in first-seen order, so that building is deterministic
	// before sorting; like terms are found by a linear search among a few,
	// through an index among many
	ts := make([]*Node, 0, n)
	cs := make([]Num, 0, n)
	var index map[*Node]int
	addTerm := func(t *Node, c Num) {
		i := -1
		if index != nil {
			if j, ok := index[t]; ok {
				i = j
			}
		} else {
			for j, u := range ts {
				if u == t {
					i = j
					break
				}
			}
		}
		if i >= 0 {
			cs[i] = cs[i].Add(c)
			return
		}
		ts = append(ts, t)
		cs = append(cs, c)
		switch {
		case index != nil:
			index[t] = len(ts) - 1
		case len(ts) > linearSearchMax:
			index = make(map[*Node]int, n)
			for j, u := range ts {
				index[u] = j
			}
		}
	}
	for _, a := range args {
		switch a.kind {
		case KNumber:
			c0 = c0.Add(a.num)
		case KSum:
			c0 = c0.Add(a.num)
			for i, t := range a.args {
				addTerm(t, a.coefs[i])
			}
		default:
			addTerm(a, Int(1))
		}
	}
	k := 0
	for i, t := range ts {
		if !cs[i].IsZero() {
			ts[k], cs[k] = t, cs[i]
			k++
		}
	}
	return makeSum(c0, ts[:k], cs[:k])
}

// linearSearchMax is the number of distinct terms or factors up to which
// Add and Mul look for like ones by a linear search rather than a map.
const linearSearchMax = 16

// makeSum builds c0 + Σ cs[i]·ts[i] from distinct non-number, non-sum terms
// with non-zero coefficients. It sorts ts and cs in place and the node keeps
// them, so the caller must not change them afterwards (a node's own args,
// already sorted and never changed, may be passed).
func makeSum(c0 Num, ts []*Node, cs []Num) *Node {
	switch {
	case len(ts) == 0:
		return Number(c0)
	case len(ts) == 1 && c0.IsZero() && cs[0].IsOne():
		return ts[0]
	}
	sortTerms(ts, cs)
	return intern(&Node{kind: KSum, num: c0, args: slices.Clip(ts), coefs: slices.Clip(cs)})
}

// sortTerms sorts ts into canonical order, permuting cs alike.
func sortTerms(ts []*Node, cs []Num) {
	if slices.IsSortedFunc(ts, Compare) {
		return
	}
	if len(ts) <= 12 {
		// insertion sort: few comparisons for few terms, no allocation
		for i := 1; i < len(ts); i++ {
			for j := i; j > 0 && Compare(ts[j-1], ts[j]) > 0; j-- {
				ts[j-1], ts[j] = ts[j], ts[j-1]
				cs[j-1], cs[j] = cs[j], cs[j-1]
			}
		}
		return
	}
	idx := make([]int, len(ts))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(i, j int) int { return Compare(ts[i], ts[j]) })
	t2 := make([]*Node, len(ts))
	c2 := make([]Num, len(ts))
	for k, i := range idx {
		t2[k], c2[k] = ts[i], cs[i]
	}
	copy(ts, t2)
	copy(cs, c2)
}

// factor is a base raised to a numeric exponent.
type factor struct {
	base *Node
	exp  Num
}

// Mul returns the product of args, built over all of them at once: numbers
// multiply into one coefficient, powers of the same base merge, and a sum
// that is a factor is made primitive (its content, with the sign that makes
// its leading term positive, moves into the coefficient), so that 2*(1 - x)
// and -2*(x - 1) agree.
func Mul(args ...*Node) *Node {
	fs := make([]factor, len(args))
	for i, a := range args {
		fs[i] = factor{a, Int(1)}
	}
	return mulFactors(Int(1), fs)
}

// PowNum returns b^e for a numeric exponent.
func PowNum(b *Node, e Num) *Node {
	switch {
	case e.IsZero():
		return One() // 0^0 = 1, as in IEEE pow and SymPy
	case e.IsOne():
		return b
	}
	if b.kind == KNumber {
		if r, ok := b.num.Pow(e); ok {
			return Number(r)
		}
		if b.num.IsZero() || b.num.Sign() < 0 || b.num.IsFloat() || e.IsFloat() {
			// division by zero or a non-real power: kept unevaluated, so that
			// the caller can report it at its position
			return intern(&Node{kind: KPower, args: []*Node{b, Number(e)}})
		}
	}
	return mulFactors(Int(1), []factor{{b, e}})
}

// Pow returns b^e.
func Pow(b, e *Node) *Node {
	if e.kind == KNumber {
		return PowNum(b, e.num)
	}
	if b.IsOne() {
		return b
	}
	return intern(&Node{kind: KPower, args: []*Node{b, e}})
}

// Sqrt returns b^(1/2).
func Sqrt(b *Node) *Node { return PowNum(b, Rat(1, 2)) }

func mulFactors(coef Num, fs []factor) *Node {
	// the bases in first-seen order with their exponents; like bases are
	// found as in Add
	order := make([]*Node, 0, len(fs))
	es := make([]Num, 0, len(fs))
	var index map[*Node]int
	find := func(b *Node) int {
		if index != nil {
			if j, ok := index[b]; ok {
				return j
			}
			return -1
		}
		for j, u := range order {
			if u == b {
				return j
			}
		}
		return -1
	}
	put := func(b *Node, e Num) {
		if j := find(b); j >= 0 {
			es[j] = es[j].Add(e)
			return
		}
		order = append(order, b)
		es = append(es, e)
		switch {
		case index != nil:
			index[b] = len(order) - 1
		case len(order) > linearSearchMax:
			index = make(map[*Node]int, 2*len(order))
			for j, u := range order {
				index[u] = j
			}
		}
	}
	var add func(b *Node, e Num)
	add = func(b *Node, e Num) {
		_, eInt := e.IsInt()
		switch b.kind {
		case KNumber:
			if e.IsOne() {
				coef = coef.Mul(b.num)
				return
			}
		case KProduct:
			if eInt {
				for i, bb := range b.args {
					add(bb, b.coefs[i].Mul(e))
				}
				return
			}
		case KSum:
			if eInt && b.num.IsZero() && len(b.args) == 1 {
				// (c·t)^e = c^e · t^e
				r, _ := b.coefs[0].Pow(e)
				coef = coef.Mul(r)
				add(b.args[0], e)
				return
			}
		}
		put(b, e)
	}
	for _, f := range fs {
		add(f.base, f.exp)
	}
	// a product (or c·t) kept whole under a fractional power whose
	// exponents added up to an integer is multiplied out now:
	// (x*y)^(1/2)*(x*y)^(1/2)/y is x, not (x*y)/y
	for i := 0; i < len(order); i++ {
		b, e := order[i], es[i]
		if _, ok := e.IsInt(); !ok || e.IsZero() {
			continue
		}
		if b.kind == KProduct || b.kind == KSum && b.num.IsZero() && len(b.args) == 1 {
			es[i] = Int(0)
			add(b, e)
		}
	}
	exp := func(b *Node) Num { return es[find(b)] }
	setExp := func(b *Node, e Num) { es[find(b)] = e }
	// a single sum to the first power takes the coefficient in: 2*(x + 1) = 2*x + 2
	if len(order) == 1 && order[0].kind == KSum && es[0].IsOne() {
		return Scale(order[0], coef)
	}
	// fold numeric bases and make sums with integer exponents primitive
	for i := 0; i < len(order); i++ {
		b := order[i]
		e := es[i]
		if e.IsZero() {
			continue
		}
		switch b.kind {
		case KNumber:
			if r, ok := b.num.Pow(e); ok {
				coef = coef.Mul(r)
				es[i] = Int(0)
			}
		case KSum:
			if _, ok := e.IsInt(); !ok {
				continue
			}
			content, prim := primitive(b)
			if content.IsOne() {
				continue
			}
			r, _ := content.Pow(e)
			coef = coef.Mul(r)
			es[i] = Int(0)
			if find(prim) >= 0 {
				setExp(prim, exp(prim).Add(e))
			} else {
				put(prim, e)
			}
		}
	}
	if coef.IsZero() {
		return Zero()
	}
	var bases []*Node
	var exps []Num
	for i, b := range order {
		if e := es[i]; !e.IsZero() {
			bases = append(bases, b)
			exps = append(exps, e)
		}
	}
	var prod *Node
	switch {
	case len(bases) == 0:
		return Number(coef)
	case len(bases) == 1 && exps[0].IsOne():
		prod = bases[0]
	default:
		sortTerms(bases, exps)
		prod = intern(&Node{kind: KProduct, args: slices.Clip(bases), coefs: slices.Clip(exps)})
	}
	return Scale(prod, coef)
}

// primitive splits a sum s into content·prim, where the content is the
// greatest common divisor of s's exact coefficients (1 if any is a float)
// with the sign of s's leading term, so that prim's leading term is positive.
func primitive(s *Node) (Num, *Node) {
	lead := s.coefs[0]
	content := Int(1)
	exact := !s.num.IsFloat() && !s.num.isBig() || s.num.IsZero()
	for _, c := range s.coefs {
		exact = exact && !c.IsFloat() && !c.isBig() // (the content of big coefficients is left at 1)
	}
	if exact {
		var gp, lq int64
		ok := true
		all := append([]Num{s.num}, s.coefs...)
		for _, c := range all {
			if c.IsZero() {
				continue
			}
			p, q := c.Frac()
			gp = gcd(gp, abs64(p))
			g := gcd(lq, q)
			if lq == 0 {
				lq = q
			} else if m, ok2 := mul64(lq/g, q); ok2 {
				lq = m
			} else {
				ok = false
			}
		}
		if ok && gp > 0 {
			content = Rat(gp, lq)
		}
	}
	if lead.Sign() < 0 {
		content = content.Neg()
	}
	if content.IsOne() {
		return content, s
	}
	inv, _ := content.Inv()
	return content, Scale(s, inv)
}

// parity is +1 for even built-ins, -1 for odd ones.
var parity = map[string]int{
	"abs": 1, "cos": 1, "cosh": 1, "logcosh": 1,
	"sin": -1, "tan": -1, "sinh": -1, "tanh": -1, "atan": -1, "asin": -1, "erf": -1, "sign": -1,
}

// Call returns the built-in function name applied to args, folding what is
// exact (exp(0) = 1, abs(-2) = 2, log(exp(x)) = x) and evaluating calls of
// floats. The name must be a built-in (see Builtins).
func Call(name string, args ...*Node) *Node {
	b, ok := builtins[name]
	if !ok || len(args) != b.arity {
		panic("autodiff: bad call of " + name)
	}
	if r := b.fold(args); r != nil {
		return r
	}
	// symmetry: an even function of a sum whose leading term is negative is
	// the function of the negated sum (cos(y - x) = cos(x - y)), an odd one
	// its negation, so that both orders print and compare the same
	if p := parity[name]; p != 0 && args[0].kind == KSum && args[0].coefs[0].Sign() < 0 {
		r := Call(name, Neg(args[0]))
		if p < 0 {
			r = Neg(r)
		}
		return r
	}
	return intern(&Node{kind: KCall, name: name, args: slices.Clone(args)})
}
