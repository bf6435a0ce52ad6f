// Symbolic differentiation: partial derivatives, gradients (reverse mode), Hessians, Jacobians.
package autodiff

// Diff returns ∂e/∂s for a symbol or jet s, treating every other symbol and
// jet as independent. It visits only the subexpressions that depend on s.
func Diff(e, s *Node) *Node {
	d := differ{s: s, memo: make(map[*Node]*Node)}
	return d.diff(e)
}

type differ struct {
	s    *Node
	memo map[*Node]*Node
}

func (d *differ) diff(e *Node) *Node {
	if !e.DependsOn(d.s) {
		return Zero()
	}
	if r, ok := d.memo[e]; ok {
		return r
	}
	var r *Node
	switch e.kind {
	case KSymbol, KJet:
		r = One() // e depends on s, so e is s
	case KSum:
		terms := make([]*Node, 0, len(e.args))
		for i, t := range e.args {
			if t.DependsOn(d.s) {
				terms = append(terms, Scale(d.diff(t), e.coefs[i]))
			}
		}
		r = Add(terms...)
	case KProduct:
		// ∂ Π bᵢ^eᵢ = Σᵢ eᵢ · ∂bᵢ · (Π bⱼ^eⱼ) / bᵢ
		terms := make([]*Node, 0, len(e.args))
		for i, b := range e.args {
			if b.DependsOn(d.s) {
				terms = append(terms, Mul(Number(e.coefs[i]), d.diff(b), e, PowNum(b, Int(-1))))
			}
		}
		r = Add(terms...)
	case KPower:
		// ∂ b^p = b^p · (∂p · log b + p · ∂b / b)
		b, p := e.args[0], e.args[1]
		r = Mul(e, Add(
			Mul(d.diff(p), Call("log", b)),
			Mul(p, d.diff(b), PowNum(b, Int(-1)))))
	case KCall:
		terms := make([]*Node, 0, len(e.args))
		for k, a := range e.args {
			if a.DependsOn(d.s) {
				terms = append(terms, Mul(callDeriv(e.name, e.args, k), d.diff(a)))
			}
		}
		r = Add(terms...)
	case KIntegral:
		// s is not the bound variable (the integral would not depend on it)
		r = Integral(d.diff(e.args[0]), e.name, e.index, e.home)
	default:
		r = Zero()
	}
	d.memo[e] = r
	return r
}

// DiffN returns the n-th partial derivative of e with respect to s.
func DiffN(e, s *Node, n int) *Node {
	for i := 0; i < n && !e.IsZero(); i++ {
		e = Diff(e, s)
	}
	return e
}

// Grad returns (∂e/∂s₁, …, ∂e/∂sₙ). Without integrals it works in reverse
// mode: one sweep over e's DAG from the root, accumulating each node's
// adjoint as a sum built at once, so the cost is linear in e's size whatever
// the number of symbols (the n = 1000 extended Rosenbrock derives in
// milliseconds).
func Grad(e *Node, syms []*Node) []*Node {
	if e.integ {
		out := make([]*Node, len(syms))
		for i, s := range syms {
			out[i] = Diff(e, s)
		}
		return out
	}
	targets := make(map[*Node]bool, len(syms))
	for _, s := range syms {
		targets[s] = true
	}
	relevant := func(n *Node) bool {
		for _, ix := range n.free {
			if targets[table.symbols[ix]] {
				return true
			}
		}
		return false
	}
	table.Lock()
	order := topoOrder(e, relevant)
	table.Unlock()

	inOrder := make(map[*Node]bool, len(order))
	for _, n := range order {
		inOrder[n] = true
	}
	contrib := make(map[*Node][]*Node, len(order))
	contrib[e] = []*Node{One()}
	adjoint := make(map[*Node]*Node, len(syms))
	for i := len(order) - 1; i >= 0; i-- {
		n := order[i]
		parts := contrib[n]
		delete(contrib, n)
		if len(parts) == 0 {
			continue
		}
		a := Add(parts...)
		push := func(child, c *Node) {
			if inOrder[child] && !c.IsZero() {
				contrib[child] = append(contrib[child], c)
			}
		}
		switch n.kind {
		case KSymbol, KJet:
			adjoint[n] = a
		case KSum:
			for k, t := range n.args {
				if inOrder[t] {
					push(t, Scale(a, n.coefs[k]))
				}
			}
		case KProduct:
			for k, b := range n.args {
				if inOrder[b] {
					push(b, Mul(a, Number(n.coefs[k]), n, PowNum(b, Int(-1))))
				}
			}
		case KPower:
			b, p := n.args[0], n.args[1]
			if inOrder[b] {
				push(b, Mul(a, n, p, PowNum(b, Int(-1))))
			}
			if inOrder[p] {
				push(p, Mul(a, n, Call("log", b)))
			}
		case KCall:
			for k, arg := range n.args {
				if inOrder[arg] {
					push(arg, Mul(a, callDeriv(n.name, n.args, k)))
				}
			}
		}
	}
	out := make([]*Node, len(syms))
	for i, s := range syms {
		if g, ok := adjoint[s]; ok {
			out[i] = g
		} else {
			out[i] = Zero()
		}
	}
	return out
}

// topoOrder returns the nodes of e's DAG for which keep holds, children before
// parents. It is iterative, so deep expressions cannot overflow the stack.
func topoOrder(e *Node, keep func(*Node) bool) []*Node {
	var order []*Node
	seen := map[*Node]bool{}
	type frame struct {
		n    *Node
		next int
	}
	if !keep(e) {
		return nil
	}
	stack := []frame{{n: e}}
	seen[e] = true
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		if top.next < len(top.n.args) {
			c := top.n.args[top.next]
			top.next++
			if !seen[c] && keep(c) {
				seen[c] = true
				stack = append(stack, frame{n: c})
			}
			continue
		}
		order = append(order, top.n)
		stack = stack[:len(stack)-1]
	}
	return order
}

// Hessian returns the symmetric matrix ∂²e/∂sᵢ∂sⱼ, differentiating each
// gradient component only with respect to the symbols it depends on.
func Hessian(e *Node, syms []*Node) [][]*Node {
	g := Grad(e, syms)
	return symmetricJacobian(g, syms)
}

func symmetricJacobian(g []*Node, syms []*Node) [][]*Node {
	n := len(syms)
	h := make([][]*Node, n)
	for i := range h {
		h[i] = make([]*Node, n)
	}
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			v := Zero()
			if g[i].DependsOn(syms[j]) {
				v = Diff(g[i], syms[j])
			}
			h[i][j], h[j][i] = v, v
		}
	}
	return h
}

// Jacobian returns ∂vᵢ/∂sⱼ.
func Jacobian(v []*Node, syms []*Node) [][]*Node {
	out := make([][]*Node, len(v))
	for i, vi := range v {
		out[i] = make([]*Node, len(syms))
		for j, s := range syms {
			out[i][j] = Diff(vi, s)
		}
	}
	return out
}
