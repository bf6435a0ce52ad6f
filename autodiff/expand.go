// Expansion: multiply out products of sums, with a bound on the number of terms.
package autodiff

// MaxExpandTerms bounds the terms a single expansion may produce.
const MaxExpandTerms = 4096

// maxExpandPower bounds the integer power of a sum that Expand multiplies out.
const maxExpandPower = 16

// Expand multiplies out products and small positive integer powers of sums,
// bottom-up, so that (x + 1)^2 and x^2 + 2*x + 1 become one node. A product
// whose expansion would exceed MaxExpandTerms terms is left as it is; the
// work is therefore bounded.
func Expand(e *Node) *Node {
	memo := make(map[*Node]*Node)
	var walk func(n *Node) *Node
	walk = func(n *Node) *Node {
		if r, ok := memo[n]; ok {
			return r
		}
		r := n
		if len(n.args) > 0 {
			args := make([]*Node, len(n.args))
			changed := false
			for i, a := range n.args {
				args[i] = walk(a)
				changed = changed || args[i] != a
			}
			switch {
			case n.kind == KProduct:
				r = expandProduct(n, args)
			case changed:
				r = Rebuild(n, args)
			}
		}
		memo[n] = r
		return r
	}
	return walk(e)
}

// expandProduct multiplies out Π argsᵢ^eᵢ.
func expandProduct(n *Node, args []*Node) *Node {
	terms := []*Node{One()}
	var rest []factor
	for i, b := range args {
		e := n.coefs[i]
		k, isInt := e.IsInt()
		if b.kind != KSum || !isInt || k < 1 || k > maxExpandPower {
			rest = append(rest, factor{b, e})
			continue
		}
		summands := make([]*Node, 0, len(b.args)+1)
		for j, t := range b.args {
			summands = append(summands, Scale(t, b.coefs[j]))
		}
		if !b.num.IsZero() {
			summands = append(summands, Number(b.num))
		}
		for ; k > 0; k-- {
			if len(terms)*len(summands) > MaxExpandTerms {
				return Rebuild(n, args)
			}
			next := make([]*Node, 0, len(terms)*len(summands))
			for _, t := range terms {
				for _, s := range summands {
					next = append(next, Mul(t, s))
				}
			}
			terms = next
		}
	}
	r := mulFactors(Int(1), rest)
	for i, t := range terms {
		terms[i] = Mul(t, r)
	}
	return Add(terms...)
}
