// Expansion: multiply out products of sums, with a bound on the number of terms.
package autodiff

// MaxExpandTerms bounds the terms a single expansion may produce.
const MaxExpandTerms = 4096

// maxExpandPower bounds the integer power of a sum that Expand multiplies out.
const maxExpandPower = 16

// Expand multiplies out products and small positive integer powers of sums,
// bottom-up, so that (x + 1)^2 and x^2 + 2*x + 1 become one node. A product
// whose expansion would take more than MaxExpandTerms products in one step
// is left as it is, so an expanded product has at most MaxExpandTerms terms
// and the work is bounded.
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

// expandProduct multiplies out Π argsᵢ^eᵢ one factor at a time, collecting
// like terms after each multiplication, so that (x + 1)^16 costs 16 small
// steps rather than 2^16 products. A step that would form more than
// MaxExpandTerms products leaves the product as it is.
func expandProduct(n *Node, args []*Node) *Node {
	acc := []*Node{One()} // the terms of the product expanded so far
	var rest []factor
	for i, b := range args {
		e := n.coefs[i]
		k, isInt := e.IsInt()
		if b.kind != KSum || !isInt || k < 1 || k > maxExpandPower {
			rest = append(rest, factor{b, e})
			continue
		}
		bs := Summands(b)
		for ; k > 0; k-- {
			if len(acc)*len(bs) > MaxExpandTerms {
				return Rebuild(n, args)
			}
			next := make([]*Node, 0, len(acc)*len(bs))
			for _, t := range acc {
				for _, s := range bs {
					next = append(next, Mul(t, s))
				}
			}
			acc = Summands(Add(next...))
		}
	}
	r := mulFactors(Int(1), rest)
	for i, t := range acc {
		acc[i] = Mul(t, r)
	}
	return Add(acc...)
}

// Summands returns the terms of e as a sum (e itself when it is not one),
// each with its coefficient, and the constant term last.
func Summands(e *Node) []*Node {
	if e.kind != KSum {
		return []*Node{e}
	}
	out := make([]*Node, 0, len(e.args)+1)
	for j, t := range e.args {
		out = append(out, Scale(t, e.coefs[j]))
	}
	if !e.num.IsZero() {
		out = append(out, Number(e.num))
	}
	return out
}
