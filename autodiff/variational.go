// Densities in jet coordinates: total derivatives, Euler–Lagrange variational derivatives, nonlocal terms.
package autodiff

import (
	"fmt"
	"slices"
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

// unit returns the multi-index eᵢ + α.
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
	terms := []*Node{Diff(e, s.Coord(point, i))}
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

// totalDiffAlpha applies (−D)^α: each Dᵢ αᵢ times, with sign (−1)^|α|.
func (s Space) negTotalDiffAlpha(e *Node, point string, alpha []uint8) (*Node, error) {
	var err error
	for i, a := range alpha {
		for k := 0; k < int(a); k++ {
			if e, err = s.TotalDiff(e, point, i); err != nil {
				return nil, err
			}
			e = Neg(e)
		}
	}
	return e, nil
}

// EulerLagrange returns Σ_α (−D)^α ∂L/∂q_α over the jets of s at point in L:
// the variational derivative of ∫ L d(point) with respect to q(point).
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

// SplitIntegrals writes a functional's value as Σ scaleᵢ·∫Lᵢ dx, where each
// scale is constant. It fails if the value is not a sum of constant
// multiples of integrals over the density's own variable.
func (s Space) SplitIntegrals(f *Node) (integrals, scales []*Node, err error) {
	items, cs := []*Node{f}, []Num{Int(1)}
	if f.kind == KSum {
		if !f.num.IsZero() {
			return nil, nil, fmt.Errorf("a functional is a sum of integrals, but this one has the constant term %s", f.num)
		}
		items, cs = f.args, f.coefs
	}
	for i, t := range items {
		integral, scale := t, One()
		if t.kind == KProduct {
			integral = nil
			for k, b := range t.args {
				if b.kind == KIntegral && t.coefs[k].IsOne() && integral == nil {
					integral = b
				} else if !b.IsConstant() {
					integral = nil
					break
				}
			}
			if integral != nil {
				scale = Div(t, integral)
			}
		}
		if integral == nil || integral.kind != KIntegral || !integral.home {
			return nil, nil, fmt.Errorf("%s is not a constant multiple of an integral over %s", String(t), s.Var)
		}
		integrals = append(integrals, integral)
		scales = append(scales, Scale(scale, cs[i]))
	}
	return integrals, scales, nil
}

// VariationalDerivative returns δF/δq(x) for a functional F = Σ cᵢ·∫Lᵢ dx.
//
// A local integrand L(x, q, ∂q, ∂²q, …) gives the Euler–Lagrange expression
// Σ_α (−D)^α ∂L/∂q_α. An integrand that contains inner integrals
// I(x) = ∫G(x, y, q(x), q(y), …) dy (a nonlocal interaction) contributes,
// with L_I = ∂L/∂I,
//
//	(−Dₓ)^α [L_I(x) ∫ ∂G/∂q_α(x) dy]   and   ∫ [(−D_y)^β (L_I(x) ∂G/∂q_β(y))]|x↔y dy,
//
// the second being the rule δ/δq(x) ∬G = ∫∂G/∂q(x) dy + ∫(∂G/∂q(y))|x↔y dy,
// which is right for asymmetric kernels too: ½∬K(x−y)q(x)q(y) gives
// ½∫(K(x−y) + K(y−x))q(y)dy.
func (s Space) VariationalDerivative(f *Node) (*Node, error) {
	integrals, scales, err := s.SplitIntegrals(f)
	if err != nil {
		return nil, err
	}
	out := make([]*Node, len(integrals))
	for i, t := range integrals {
		v, err := s.vdIntegral(t)
		if err != nil {
			return nil, err
		}
		out[i] = Mul(scales[i], v)
	}
	return Add(out...), nil
}

func (s Space) vdIntegral(integral *Node) (*Node, error) {
	l := integral.args[0]
	x := s.Var
	// inner integrals of l, replaced by placeholder symbols for differentiation
	var inner []*Node
	collectInner(l, &inner)
	place := make(map[*Node]*Node, len(inner))
	back := make(map[*Node]*Node, len(inner))
	for k, in := range inner {
		if in.home || in.name == x {
			return nil, fmt.Errorf("an integral over %s nested in an integral over %s", x, x)
		}
		ph := Symbol(fmt.Sprintf("·I%d", k), 0)
		place[in] = ph
		back[ph] = in
	}
	lp := Substitute(l, place)
	local, err := s.EulerLagrange(lp, x)
	if err != nil {
		return nil, err
	}
	terms := []*Node{Substitute(local, back)}
	for _, in := range inner {
		y := in.name
		g := in.args[0]
		var deeper []*Node
		collectInner(g, &deeper)
		if len(deeper) > 0 {
			return nil, fmt.Errorf("integrals nested more than two deep are not supported")
		}
		lI := Substitute(Diff(lp, place[in]), back) // L_I(x), may contain inner integrals
		// part B: (−Dₓ)^α [L_I(x) ∫ ∂G/∂q_α(x) dy]
		for _, j := range g.FreeSymbols() {
			if j.kind != KJet || j.name != s.Density || j.point != x {
				continue
			}
			m := Mul(lI, Integral(Diff(g, j), y, in.index, false))
			t, err := s.negTotalDiffAlpha(m, x, j.alpha)
			if err != nil {
				return nil, err
			}
			terms = append(terms, t)
		}
		// part C: ∫ [(−D_y)^β (L_I(x) ∂G/∂q_β(y))]|x↔y dy
		var partC []*Node
		for _, j := range g.FreeSymbols() {
			if j.kind != KJet || j.name != s.Density || j.point != y {
				continue
			}
			t, err := s.negTotalDiffAlpha(Mul(lI, Diff(g, j)), y, j.alpha)
			if err != nil {
				return nil, err
			}
			partC = append(partC, t)
		}
		if len(partC) > 0 {
			swapped, err := s.swap(Add(partC...), x, y)
			if err != nil {
				return nil, err
			}
			terms = append(terms, Integral(swapped, y, in.index, false))
		}
	}
	return Add(terms...), nil
}

// collectInner appends the integral nodes directly inside e (not inside them).
func collectInner(e *Node, out *[]*Node) {
	seen := map[*Node]bool{}
	var walk func(n *Node)
	walk = func(n *Node) {
		if seen[n] || !n.integ {
			return
		}
		seen[n] = true
		if n.kind == KIntegral {
			*out = append(*out, n)
			return
		}
		for _, a := range n.args {
			walk(a)
		}
	}
	walk(e)
}

// swap exchanges the points x and y in e: coordinates and jets. An integral
// over y inside e would capture the swapped x, so that is refused.
func (s Space) swap(e *Node, x, y string) (*Node, error) {
	var bad error
	r := Transform(e, func(n *Node) *Node {
		switch n.kind {
		case KSymbol:
			switch n.name {
			case x:
				return Symbol(y, n.index)
			case y:
				return Symbol(x, n.index)
			}
		case KJet:
			if n.name == s.Density {
				switch n.point {
				case x:
					return Jet(n.name, y, false, n.alpha)
				case y:
					return Jet(n.name, x, true, n.alpha)
				}
			}
		case KIntegral:
			if n.name == y || n.name == x {
				bad = fmt.Errorf("the integrand is nonlinear in a nonlocal term; its variational derivative needs a third integration variable")
				return n
			}
		}
		return nil
	})
	return r, bad
}
