// Densities in show and check: which density an integral or a total derivative refers to.
package lang

import (
	"fmt"

	ad "flowlang/autodiff"
)

// mentionedSpaces returns the spaces of the densities an expression names,
// directly (q, q(y)) or through a functional (vd(F)), in order of first
// mention.
func (s *scope) mentionedSpaces(es ...Expr) []*ad.Space {
	var out []*ad.Space
	add := func(sp *ad.Space) {
		for _, o := range out {
			if o.Density == sp.Density {
				return
			}
		}
		out = append(out, sp)
	}
	var walk func(e Expr)
	name := func(n string) {
		if _, local := s.lookupVar(n); local {
			return
		}
		if d := s.in.densities[n]; d != nil {
			add(&d.space)
		} else if f := s.in.functionals[n]; f != nil && f.template == nil {
			add(&f.space)
		}
	}
	walk = func(e Expr) {
		switch e := e.(type) {
		case *Ident:
			name(e.Name)
		case *CallExpr:
			name(e.Fun.Name)
			for _, a := range e.Args {
				walk(a)
			}
		case *UnaryExpr:
			walk(e.X)
		case *BinaryExpr:
			walk(e.X)
			walk(e.Y)
		case *ParenExpr:
			walk(e.X)
		case *IndexExpr:
			walk(e.X)
			walk(e.Index)
		case *VectorExpr:
			for _, x := range e.Elems {
				walk(x)
			}
		case *TupleExpr:
			for _, x := range e.Elems {
				walk(x)
			}
		case *RangeArg:
			walk(e.Lo)
			walk(e.Hi)
		}
	}
	for _, e := range es {
		walk(e)
	}
	return out
}

// integralSpace chooses the density an integral written in show or check
// refers to: the one its integrand names, else the one the statement has
// named so far, else the only one declared.
func (s *scope) integralSpace(e *CallExpr) (*ad.Space, *Error) {
	found := s.mentionedSpaces(e.Args...)
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) > 1:
		return nil, s.errAt(e, "integral over two densities (%s and %s): an integral runs over one density's space", found[0].Density, found[1].Density)
	}
	if len(s.state.densities) == 1 {
		return &s.in.densities[s.state.densities[0]].space, nil
	}
	if len(s.in.densityOrder) == 1 {
		return &s.in.densities[s.in.densityOrder[0]].space, nil
	}
	if len(s.in.densityOrder) == 0 {
		err := s.errAt(e, "integral needs a density: it integrates over a density's space")
		err.Hint = "declare one first: density q(x)"
		return nil, err
	}
	return nil, s.errAt(e, "integral: several densities are declared and the integrand names none of them")
}

// densityVarCheck refuses a derivative of an expression of a density with
// respect to a variable the density does not depend on (diff(q, t) for a
// density q(x)): the result would be 0, and writing it is a mistake.
func (s *scope) densityVarCheck(at Node, v Value, x variable) *Error {
	if x.space != nil {
		return nil
	}
	var jet *ad.Node
	for _, el := range v.Elems {
		if el.DependsOn(x.sym) {
			return nil
		}
		for _, f := range el.FreeSymbols() {
			if f.Kind() == ad.KJet && jet == nil {
				jet = f
			}
		}
	}
	if jet == nil {
		return nil
	}
	d := s.in.densities[jet.Name()]
	if d == nil {
		return nil
	}
	err := s.errAt(at, "%s is a density over %s; it does not depend on %s", jet.Name(), d.space.Var, ad.String(x.sym))
	err.Hint = fmt.Sprintf("differentiate with respect to %s", d.space.Var)
	if d.space.Dim > 0 {
		err.Hint = fmt.Sprintf("differentiate with respect to a coordinate of %s, e.g. diff(%s, %s[1])", d.space.Var, jet.Name(), d.space.Var)
	}
	return err
}

// posBefore reports whether position a comes before b.
func posBefore(a, b Pos) bool { return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col }
