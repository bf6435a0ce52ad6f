// show critical(f) near POINT: a critical point by safeguarded Newton, its Hessian's eigenvalues and its kind.
package lang

import (
	"fmt"

	"flowlang/internal/spell"
	"flowlang/solvers"
)

// showCritical finds a critical point of an objective near a point.
func (in *Interp) showCritical(src *Source, st *ShowStmt, call *CallExpr) *Error {
	s := in.newScope(src, true)
	if st.At != nil {
		return s.errAt(st.At, "write show critical(f) near POINT, not at")
	}
	if len(call.Args) != 1 {
		return s.errAt(call, "critical takes one objective: show critical(f) near POINT")
	}
	id, ok := call.Args[0].(*Ident)
	if !ok {
		return s.errAt(call.Args[0], "critical needs the name of an objective").withHint("declare it: objective f(x, y) = ..., then show critical(f) near (0, 0)")
	}
	o := in.objectives[id.Name]
	if o == nil {
		if in.broken[id.Name] {
			return errBroken
		}
		switch {
		case in.functionals[id.Name] != nil:
			return s.errAt(id, "critical needs an objective; %s is a functional", id.Name)
		case in.defs[id.Name] != nil:
			return s.errAt(id, "critical needs an objective; %s is a function", id.Name).
				withHint(fmt.Sprintf("declare it as an objective: objective %s(%s) = ...", id.Name, paramList(in.defs[id.Name].params)))
		}
		var names []string
		for n := range in.objectives {
			names = append(names, n)
		}
		err := s.errAt(id, "undefined: %s (critical needs an objective)", id.Name)
		if hint := spell.Suggest(id.Name, names); hint != "" {
			err.Hint = "did you mean " + hint + "?"
		}
		return err
	}
	if st.Near == nil {
		return s.errAt(call, "critical needs a starting point: show critical(%s) near (...)", id.Name)
	}
	x0, err := s.pointCoords(st.Near)
	if err != nil {
		return err
	}
	if len(x0) != len(o.syms) {
		return s.errAt(st.Near, "the point has %d coordinate%s but %s(%s) has %d", len(x0), plural(len(x0)), o.name, paramList(o.params), len(o.syms))
	}
	if in.opts.CheckOnly {
		return nil
	}
	obj, cerr := solvers.CompileObjective(o.value, o.syms, solvers.Needs{Hessian: true}, nil)
	if cerr != nil {
		return s.errAt(id, "cannot compile %s: %v", o.name, cerr)
	}
	cp, ferr := solvers.FindCritical(obj.Problem(), x0)
	if ferr != nil {
		return s.errAt(st.Near, "no critical point of %s found from this point: %v", o.name, ferr)
	}
	rec := &ShowRecord{Kind: "show", Line: startLine(st), Label: label(src, st.X) + " near " + label(src, st.Near)}
	rec.Value = cp.X
	rec.Text = literal(cp.X)
	rec.Latex = literalLaTeX(cp.X)
	rec.Info = map[string]any{
		"kind":        cp.Kind,
		"value":       cp.F,
		"gradnorm":    cp.GradNorm,
		"eigenvalues": cp.Eigenvalues,
		"iterations":  cp.Iterations,
	}
	rec.Notes = []string{fmt.Sprintf("%s: f = %s, Hessian eigenvalues %s (%d Newton iteration%s, ‖∇f‖ = %s)",
		cp.Kind, FormatNumber(cp.F, 8), fmtVec(cp.Eigenvalues, 6), cp.Iterations, plural(cp.Iterations), FormatNumber(cp.GradNorm, 2))}
	in.report(rec)
	return nil
}
