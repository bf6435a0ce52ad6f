// JKO in quantile coordinates: a 1-D functional split into potential, local and pair terms, compiled as functions of the quantile nodes.
package solvers

import (
	"fmt"

	ad "flowlang/autodiff"
)

// MaxJKONodes bounds the quantile nodes of a JKO run; MaxJKOPairNodes
// bounds them when the functional has a pair term, whose Hessian is dense
// (a Cholesky factorisation of N×N per Newton iteration).
const (
	MaxJKONodes     = 1_000_000
	MaxJKOPairNodes = 2000
)

// JKOProblem is a functional of a density on R written in the quantile
// coordinates of Jordan–Kinderlehrer–Otto steps: the density as its
// inverse distribution function X(u), discretised at N nodes
// X₁ < … < X_N, each carrying mass 1/N (Xᵢ is the quantile at
// uᵢ = (i − ½)/N), and the functional as
//
//	E(X) = (1/N)·Σᵢ V(Xᵢ)                                  potential terms ∫V q
//	     + Σᵢ ΔXᵢ·L(X̄ᵢ, 1/(N·ΔXᵢ))                         local terms ∫L(x, q)
//	     + (1/N²)·Σ_{i≠j} H(Xᵢ, Xⱼ)                        pair terms ∬H(x, y)q(x)q(y)
//
// with ΔXᵢ = X_{i+1} − Xᵢ and X̄ᵢ their midpoint: a local term is
// ∫L(x, q(x))dx = ∫₀¹ L(X, 1/X′)·X′ du with the density 1/(N·ΔXᵢ) between
// neighbouring nodes, so the entropy ∫q log q is −(1/N)Σ log(N·ΔXᵢ) and
// the porous-medium energy ∫q^m/(m − 1) is (1/N)Σ(N·ΔXᵢ)^{1−m}/(m − 1);
// the pair sum leaves out i = j, so kernels singular at 0 are allowed.
// (The Lagrangian discretisation of Blanchet, Calvez & Carrillo 2008 and
// of Carrillo, Matthes & Wolfram 2016 for 1-D gradient flows.) Terms
// with derivatives of q (the Fisher information) or nonlinear in a
// nonlocal integral are refused with a *TermError naming them.
//
// The parts are compiled with their first and second derivatives: the
// potential's as a function of x, the local terms' h(a, b) =
// (b − a)·L((a + b)/2, 1/(N(b − a))) of two neighbouring nodes, the pair
// kernel's of (x, y).
type JKOProblem struct {
	Space ad.Space
	F     *ad.Node
	N     int
	// Potential, Local and Pair are the parts of F found (nil when absent),
	// for reports: V(x), L(x, q) and H(x, y) (y the symbol JKOPairY).
	Potential, Local, Pair *ad.Node

	pot, loc, pair *jkoTape
}

// jkoTape is a part's value tape and its derivatives' tape (the first
// derivatives by each input, then the second ones: ∂₁₁, ∂₁₂, ∂₂₂).
type jkoTape struct {
	val, der *ad.Machine
}

// JKOPairY is the symbol of the second point in a pair kernel H(x, y).
var JKOPairY = ad.Symbol("·y", 0)

// jkoLocalCan are the methods that handle a term jko cannot.
var jkoLocalCan = []string{"grid"}

// NewJKOProblem splits the functional f of the density of space (in one
// dimension) into potential, local and pair terms and compiles them for N
// quantile nodes.
func NewJKOProblem(space ad.Space, f *ad.Node, n int) (*JKOProblem, error) {
	if space.Coords() != 1 {
		return nil, fmt.Errorf("jko runs densities on R; %s has %d coordinates", space.Density, space.Coords())
	}
	if n < 2 || n > MaxJKONodes {
		return nil, fmt.Errorf("the number of quantile nodes must be between 2 and %d, not %d", MaxJKONodes, n)
	}
	terms, err := space.Terms(f)
	if err != nil {
		return nil, err
	}
	vd, err := space.VariationalDerivative(f)
	if err != nil {
		return nil, err
	}
	if err := backwardDiffusion(space, vd, [][]float64{{-2}, {-0.5}, {0}, {0.5}, {2}}); err != nil {
		return nil, err
	}
	p := &JKOProblem{Space: space, F: f, N: n}
	x := space.Coord(space.Var, 0)
	q := space.Q(space.Var, nil)
	var pots, locs, pairs []*ad.Node
	for _, t := range terms {
		if len(t.Integrals) != 1 || t.Powers[0] != 1 {
			return nil, &TermError{Method: "jko", Term: shortExpr(termNode(t)),
				Why: "a product of integrals is not a potential, local or pair term", Can: jkoLocalCan}
		}
		a := t.Integrals[0]
		body, err := renameToHome(space, a.Args()[0], a.Name())
		if err != nil {
			return nil, err
		}
		body = ad.Mul(t.Coef, body)
		inner := ad.Integrals(body, false)
		if len(inner) == 0 {
			lin, nonlin, err := p.splitLocal(body, a, x, q)
			if err != nil {
				return nil, err
			}
			pots = append(pots, lin...)
			locs = append(locs, nonlin...)
			continue
		}
		h, err := p.pairTerm(body, inner, a, q)
		if err != nil {
			return nil, err
		}
		pairs = append(pairs, h...)
	}
	if len(pairs) > 0 && n > MaxJKOPairNodes {
		return nil, fmt.Errorf("with a pair term the Newton steps factor a dense %d×%d Hessian; use at most %d quantile nodes", n, n, MaxJKOPairNodes)
	}
	if len(pots) > 0 {
		p.Potential = ad.Add(pots...)
		if p.pot, err = jkoCompile(p.Potential, []*ad.Node{x}); err != nil {
			return nil, err
		}
	}
	if len(locs) > 0 {
		p.Local = ad.Add(locs...)
		// h(a, b) = (b − a)·L((a + b)/2, 1/(N(b − a)))
		sa, sb := ad.Symbol("·a", 0), ad.Symbol("·b", 0)
		gap := ad.Sub(sb, sa)
		h := ad.Mul(gap, ad.Substitute(p.Local, map[*ad.Node]*ad.Node{
			x: ad.Scale(ad.Add(sa, sb), ad.Rat(1, 2)),
			q: ad.PowNum(ad.Scale(gap, ad.Int(int64(n))), ad.Int(-1)),
		}))
		if p.loc, err = jkoCompile(h, []*ad.Node{sa, sb}); err != nil {
			return nil, err
		}
	}
	if len(pairs) > 0 {
		p.Pair = ad.Add(pairs...)
		if p.pair, err = jkoCompile(p.Pair, []*ad.Node{x, JKOPairY}); err != nil {
			return nil, err
		}
	}
	if p.pot == nil && p.loc == nil && p.pair == nil {
		return nil, fmt.Errorf("the functional has no term that depends on the density")
	}
	return p, nil
}

// termNode rebuilds a term for messages.
func termNode(t ad.Term) *ad.Node {
	fs := []*ad.Node{t.Coef}
	for i, a := range t.Integrals {
		fs = append(fs, ad.PowNum(a, ad.Int(int64(t.Powers[i]))))
	}
	return ad.Mul(fs...)
}

// splitLocal splits a local integrand L(x, q) into terms linear in q
// (returned as V(x), the potential's part) and the others.
func (p *JKOProblem) splitLocal(body, a, x, q *ad.Node) (lin, nonlin []*ad.Node, err error) {
	sp := p.Space
	for _, s := range body.FreeSymbols() {
		switch {
		case s == x || s == q:
		case s.Kind() == ad.KJet && s.Name() == sp.Density:
			return nil, nil, &TermError{Method: "jko", Term: shortExpr(a),
				Why: fmt.Sprintf("it depends on %s, a derivative of %s; in quantile coordinates jko discretises terms of %s itself", ad.String(s), sp.Density, sp.Density),
				Can: jkoLocalCan}
		default:
			return nil, nil, fmt.Errorf("%s depends on %s, which is neither %s nor %s", shortExpr(a), ad.String(s), sp.Var, sp.Density)
		}
	}
	zero := map[*ad.Node]*ad.Node{q: ad.Zero()}
	parts := []*ad.Node{body}
	if !ad.Diff(ad.Diff(body, q), q).IsZero() {
		parts = ad.Summands(ad.Expand(body))
	}
	for _, t := range parts {
		if !ad.Substitute(t, zero).IsZero() {
			return nil, nil, fmt.Errorf("the integrand of %s does not vanish where %s = 0, so its integral over R diverges", shortExpr(a), sp.Density)
		}
		if ad.Diff(ad.Diff(t, q), q).IsZero() {
			lin = append(lin, ad.Diff(t, q))
		} else {
			nonlin = append(nonlin, t)
		}
	}
	return lin, nonlin, nil
}

// pairTerm reads a body q(x)·Σₘ Ψₘ(x)·∫Gₘ(x, y)q(y)dy as the pair kernels
// Ψₘ(x)·Gₘ(x, y) (in x and JKOPairY).
func (p *JKOProblem) pairTerm(body *ad.Node, inner []*ad.Node, a, q *ad.Node) ([]*ad.Node, error) {
	sp := p.Space
	refuse := func(why string) error {
		return &TermError{Method: "jko", Term: shortExpr(a), Why: why, Can: jkoLocalCan}
	}
	place := map[*ad.Node]*ad.Node{}
	var phs []*ad.Node
	for k, n := range inner {
		ph := ad.Symbol(fmt.Sprintf("·J%d", k), 0)
		place[n] = ph
		phs = append(phs, ph)
	}
	b := ad.Substitute(body, place)
	rest := b
	var out []*ad.Node
	for k, n := range inner {
		r := ad.Diff(b, phs[k])
		for _, ph := range phs {
			if r.DependsOn(ph) {
				return nil, refuse("it is not linear in its inner integrals (jko handles pair terms ∬H(x, y)q(x)q(y))")
			}
		}
		rest = ad.Sub(rest, ad.Mul(phs[k], r))
		// r = q·Ψ(x)
		psi := ad.Diff(r, q)
		if psi.DependsOn(q) || !ad.Substitute(r, map[*ad.Node]*ad.Node{q: ad.Zero()}).IsZero() {
			return nil, refuse("its outer integrand is not q(x) times a function of x and inner integrals")
		}
		for _, s := range psi.FreeSymbols() {
			if s.Kind() == ad.KJet {
				return nil, refuse(fmt.Sprintf("it depends on %s outside q(%s)·∫…", ad.String(s), sp.Var))
			}
		}
		// the inner integrand G(x, y)·q(y)
		v := n.Name()
		qy := ad.Jet(sp.Density, v, false, []uint8{0})
		j := n.Args()[0]
		if j.HasIntegral() {
			return nil, refuse("its integrals are nested more than two deep")
		}
		for _, s := range j.FreeSymbols() {
			if s.Kind() == ad.KJet && s != qy {
				return nil, refuse(fmt.Sprintf("its inner integrand depends on %s (jko handles ∫G(x, y)q(y)dy)", ad.String(s)))
			}
		}
		g := ad.Diff(j, qy)
		if g.DependsOn(qy) || !ad.Substitute(j, map[*ad.Node]*ad.Node{qy: ad.Zero()}).IsZero() {
			return nil, refuse("its inner integrand is not linear in q(y)")
		}
		g = ad.Substitute(g, map[*ad.Node]*ad.Node{sp.Coord(v, 0): JKOPairY})
		out = append(out, ad.Mul(psi, g))
	}
	if !rest.IsZero() && !ad.Expand(rest).IsZero() {
		return nil, refuse("it has a part outside its inner integrals; write the local part as a separate term")
	}
	return out, nil
}

// jkoCompile compiles e's value tape and the tape of its first and second
// derivatives (∂ᵢ, then ∂ᵢ∂ⱼ for i ≤ j) by the inputs.
func jkoCompile(e *ad.Node, inputs []*ad.Node) (*jkoTape, error) {
	outs := []*ad.Node{e}
	d1 := make([]*ad.Node, len(inputs))
	for i, v := range inputs {
		d1[i] = ad.Diff(e, v)
	}
	outs = append(outs, d1...)
	for i := range inputs {
		for j := i; j < len(inputs); j++ {
			outs = append(outs, ad.Diff(d1[i], inputs[j]))
		}
	}
	val, err := ad.Compile(outs[:1], inputs)
	if err != nil {
		return nil, fmt.Errorf("cannot compile %s: %v", shortExpr(e), err)
	}
	der, err := ad.Compile(outs[1:], inputs)
	if err != nil {
		return nil, fmt.Errorf("cannot compile the derivatives of %s: %v", shortExpr(e), err)
	}
	return &jkoTape{val: val.NewMachine(), der: der.NewMachine()}, nil
}

// Parts describes the split for reports: the potential V(x), the local
// integrand L(x, q) and the pair kernel H(x, y), as text ("" when absent).
func (p *JKOProblem) Parts() (potential, local, pair string) {
	str := func(e *ad.Node) string {
		if e == nil {
			return ""
		}
		return ad.String(e)
	}
	pr := ""
	if p.Pair != nil {
		pr = ad.String(ad.Substitute(p.Pair, map[*ad.Node]*ad.Node{JKOPairY: ad.Symbol("y", 0)}))
	}
	return str(p.Potential), str(p.Local), pr
}
