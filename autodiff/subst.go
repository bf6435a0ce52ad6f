// Substitution and rebuilding: replace subexpressions and re-apply the canonical rules.
package autodiff

// Substitute returns e with every occurrence of each key of m replaced by its
// value, rebuilt through the constructors so that the result is canonical.
func Substitute(e *Node, m map[*Node]*Node) *Node {
	if len(m) == 0 {
		return e
	}
	return Transform(e, func(n *Node) *Node { return m[n] })
}

// Transform rebuilds e bottom-up. For each node, f is asked first: a non-nil
// answer replaces the node (and its subtree is not visited); otherwise the
// node is rebuilt from its transformed children. Results are memoised, so a
// DAG is transformed in time linear in its number of distinct nodes.
func Transform(e *Node, f func(*Node) *Node) *Node {
	memo := make(map[*Node]*Node)
	var walk func(n *Node) *Node
	walk = func(n *Node) *Node {
		if r, ok := memo[n]; ok {
			return r
		}
		r := f(n)
		if r == nil {
			if len(n.args) == 0 {
				r = n
			} else {
				args := make([]*Node, len(n.args))
				changed := false
				for i, a := range n.args {
					args[i] = walk(a)
					changed = changed || args[i] != a
				}
				r = n
				if changed {
					r = Rebuild(n, args)
				}
			}
		}
		memo[n] = r
		return r
	}
	return walk(e)
}

// Rebuild returns a node of n's kind (and name, coefficients, exponents) over
// new children, through the constructors.
func Rebuild(n *Node, args []*Node) *Node {
	switch n.kind {
	case KSum:
		terms := make([]*Node, len(args)+1)
		for i, a := range args {
			terms[i] = Scale(a, n.coefs[i])
		}
		terms[len(args)] = Number(n.num)
		return Add(terms...)
	case KProduct:
		fs := make([]factor, len(args))
		for i, a := range args {
			fs[i] = factor{a, n.coefs[i]}
		}
		return mulFactors(Int(1), fs)
	case KPower:
		return Pow(args[0], args[1])
	case KCall:
		return Call(n.name, args...)
	case KIntegral:
		return Integral(args[0], n.name, n.index, n.home)
	}
	return n
}
