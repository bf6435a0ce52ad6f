// Symbolic differentiation: partial derivatives, gradients (reverse mode), Hessians, Jacobians.
package autodiff

import "fmt"

// Diff returns ∂e/∂s for a symbol or jet s, treating every other symbol and
// jet as independent. It visits only the subexpressions that depend on s.
//
// Inside an integral the derivative is taken in the sense of distributions:
// a jump of the integrand across a surface that moves with s adds a term
// (see jumps), so that ∂ₓ∫sign(x − y)q(y)dy = 2q(x). Diff leaves out the
// jumps it cannot represent (DiffE reports them).
func Diff(e, s *Node) *Node {
	d := differ{s: s, root: e, memo: make(map[*Node]*Node)}
	return d.diff(e)
}

// DiffE is Diff, failing where an integrand's jump cannot be written as an
// expression (a jump across a curve in two or more dimensions, or across a
// point that depends nonlinearly on the integration variable).
func DiffE(e, s *Node) (*Node, error) {
	d := differ{s: s, root: e, memo: make(map[*Node]*Node)}
	r := d.diff(e)
	return r, d.err
}

type differ struct {
	s    *Node
	root *Node // the expression differentiated (for the jets' home flag)
	memo map[*Node]*Node
	err  error // the first jump that could not be represented
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
		if !p.DependsOn(d.s) {
			r = Mul(powerBaseDeriv(e), d.diff(b))
			break
		}
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
		r = Add(Integral(d.diff(e.args[0]), e.name, e.index, e.home), d.jumps(e))
	default:
		r = Zero()
	}
	d.memo[e] = r
	return r
}

// jumps returns the point terms of ∂/∂s of the integral e over y that the
// derivative of its integrand leaves out: sign(u) and step(u) with u
// depending on s and y jump where u = 0, so their derivatives are Dirac
// masses, 2δ(u)·∂u/∂s and δ(u)·∂u/∂s, which the integral over y turns into
// values at the root y* of u. For u linear in y (u = a·y + b, as x − y,
// c(x − y), y − x):
//
//	∂/∂s ∫ E dy = ∫ ∂E/∂s dy + [E]·(∂u/∂s)/|a| at y = y* = −b/a,
//
// where [E] is E with the calls at u > 0 minus E at u < 0 (the calls with
// the same u, or −u, jump together). In one dimension only: across a curve
// or surface the mass is not a value at a point.
func (d *differ) jumps(e *Node) *Node {
	y := Symbol(e.name, 0)
	body := e.args[0]
	// the calls that jump, grouped by their argument up to sign
	var args []*Node
	calls := make(map[*Node][]*Node) // argument → the sign/step calls of it or of its negative
	seen := make(map[*Node]bool)
	var walk func(n *Node, inner bool)
	walk = func(n *Node, inner bool) {
		if seen[n] || !n.DependsOn(d.s) {
			return
		}
		seen[n] = true
		if n.kind == KCall && (n.name == "sign" || n.name == "step") {
			if u := n.args[0]; u.DependsOn(d.s) && dependsOnPoint(u, e.name) {
				if inner || e.index > 0 {
					d.fail(fmt.Errorf("the derivative of %s in %s has a mass on a curve or across an inner integral, which flowlang does not write", String(n), String(e)))
					return
				}
				key := u
				if _, ok := calls[u]; !ok {
					if _, neg := calls[Neg(u)]; neg {
						key = Neg(u)
					} else {
						args = append(args, u)
					}
				}
				calls[key] = append(calls[key], n)
			}
		}
		for _, a := range n.args {
			walk(a, inner || n.kind == KIntegral)
		}
	}
	walk(body, false)
	var terms []*Node
	for _, u := range args {
		a := Diff(u, y)
		if a.IsZero() || a.DependsOn(y) {
			d.fail(fmt.Errorf("%s jumps where %s = 0, which is not linear in %s: the derivative's point mass is not written", String(calls[u][0]), String(u), String(y)))
			continue
		}
		ystar := Sub(y, Div(u, a))
		if ystar.DependsOn(y) {
			d.fail(fmt.Errorf("cannot solve %s = 0 for %s", String(u), String(y)))
			continue
		}
		hi, lo := make(map[*Node]*Node), make(map[*Node]*Node)
		for _, c := range calls[u] {
			pos := c.args[0] == u // the call's argument is u, not −u
			switch {
			case c.name == "sign" && pos:
				hi[c], lo[c] = One(), IntNode(-1)
			case c.name == "sign":
				hi[c], lo[c] = IntNode(-1), One()
			case pos:
				hi[c], lo[c] = One(), Zero()
			default:
				hi[c], lo[c] = Zero(), One()
			}
		}
		jump := Sub(Substitute(body, hi), Substitute(body, lo))
		t := Mul(jump, Diff(u, d.s), PowNum(Call("abs", a), Int(-1)))
		at, ok := d.atPoint(t, e.name, y, ystar)
		if !ok {
			d.fail(fmt.Errorf("the derivative of %s has a point mass at %s = %s, where %s cannot be written", String(e), String(y), String(ystar), "the density"))
			continue
		}
		terms = append(terms, at)
	}
	return Add(terms...)
}

// atPoint substitutes y* for the integration variable y of point name in
// t, jets included: the density at y becomes the density at y* when y* is
// the coordinate of a point p (its jets there keep the home flag they have
// in the expression differentiated, home if none is there).
func (d *differ) atPoint(t *Node, name string, y, ystar *Node) (*Node, bool) {
	m := map[*Node]*Node{y: ystar}
	for _, j := range t.FreeSymbols() {
		if j.kind != KJet || j.point != name {
			continue
		}
		if ystar.kind != KSymbol || ystar.index != 0 {
			return nil, false
		}
		p, home := ystar.name, true
		for _, k := range d.root.FreeSymbols() {
			if k.kind == KJet && k.point == p {
				home = k.home
				break
			}
		}
		m[j] = Jet(j.name, p, home, j.alpha)
	}
	return Substitute(t, m), true
}

func (d *differ) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

// powerBaseDeriv returns ∂(b^p)/∂b for the power e = b^p: p · b^(p − 1)
// when p and b share no symbol, so that ∂ₓ x^y is 0, not 0/0, at x = 0
// (y > 1); otherwise p · b^p / b, which joins the exponent's term into
// one product (∂ₓ x^x = x^x·(log x + 1)).
func powerBaseDeriv(e *Node) *Node {
	b, p := e.args[0], e.args[1]
	for _, s := range b.FreeSymbols() {
		if p.DependsOn(s) {
			return Mul(p, e, PowNum(b, Int(-1)))
		}
	}
	return Mul(p, Pow(b, Sub(p, One())))
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
	g, _ := GradE(e, syms)
	return g
}

// GradE is Grad, failing as DiffE does.
func GradE(e *Node, syms []*Node) ([]*Node, error) {
	if e.integ {
		out := make([]*Node, len(syms))
		for i, s := range syms {
			var err error
			if out[i], err = DiffE(e, s); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return grad(e, syms), nil
}

// grad is Grad's reverse mode, for expressions without integrals.
func grad(e *Node, syms []*Node) []*Node {
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
				push(b, Mul(a, powerBaseDeriv(n)))
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
