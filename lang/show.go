// show: print an expression canonically (text and LaTeX), or its value at a point.
package lang

import (
	"fmt"
	"math"
	"slices"
	"strings"

	ad "flowlang/autodiff"
)

func (in *Interp) show(src *Source, st *ShowStmt) *Error {
	if call, ok := st.X.(*CallExpr); ok && in.defs[call.Fun.Name] == nil {
		switch call.Fun.Name {
		case "critical":
			return in.showCritical(src, st, call)
		case "w2":
			return in.showW2(src, st, call)
		}
	}
	s := in.newScope(src, true)
	if st.Near != nil {
		return s.errAt(st.Near, "near is only for show critical(f) near POINT")
	}
	v, err := s.eval(st.X)
	if err != nil {
		return err
	}
	if err := s.checkFinite(st.X, v); err != nil {
		return err
	}
	rec := &ShowRecord{Kind: "show", Line: startLine(st), Label: label(src, st.X)}
	if st.At != nil {
		if in.opts.CheckOnly {
			return nil
		}
		val, err := s.valueAt([]Value{v}, st.At)
		if err != nil {
			return err
		}
		rec.Label += " at " + label(src, st.At)
		rec.Value = val[0]
		rec.Text = literal(val[0])
		rec.Latex = literalLaTeX(val[0])
		in.report(rec)
		return nil
	}
	if size := v.TreeSize(); size > MaxPrintSize {
		n := fmt.Sprint(size)
		if size >= 1<<62 {
			n = "more than 10^18"
		}
		e := s.errAt(st.X, "the result is too large to print: %s nodes written out, more than %d", n, MaxPrintSize)
		e.Hint = "show it at a point: show ... at (...)"
		return e
	}
	if in.opts.CheckOnly {
		return nil
	}
	rec.Text = v.String()
	rec.Latex = v.LaTeX()
	if constant(v) {
		if val, err := s.numeric(v, nil); err == nil {
			rec.Value = val
		}
	}
	in.report(rec)
	return nil
}

// checkFinite refuses a value holding a number that overflowed (or is
// NaN): such a number cannot be printed as flowlang source.
func (s *scope) checkFinite(at Node, v Value) *Error {
	seen := map[*ad.Node]bool{}
	var bad func(n *ad.Node) bool
	bad = func(n *ad.Node) bool {
		if seen[n] {
			return false
		}
		seen[n] = true
		if x, ok := n.Value(); ok {
			return !x.IsFinite()
		}
		if n.Kind() == ad.KSum && !n.Const().IsFinite() {
			return true
		}
		for _, c := range n.Coefs() {
			if !c.IsFinite() {
				return true
			}
		}
		for _, a := range n.Args() {
			if bad(a) {
				return true
			}
		}
		return false
	}
	for _, e := range v.Elems {
		if bad(e) {
			return s.errAt(at, "a number in the result overflows a float64 (it would be ±Inf or NaN)")
		}
	}
	return nil
}

func startLine(n Node) int {
	p, _ := n.Span()
	return p.Line
}

func constant(v Value) bool {
	for _, e := range v.Elems {
		if !e.IsConstant() {
			return false
		}
	}
	return true
}

// numeric evaluates a value at a point (nil for a constant value); the
// result is a float64, []float64 or [][]float64.
func (s *scope) numeric(v Value, at map[*ad.Node]float64) (any, error) {
	ev := ad.Evaluator{Values: at}
	vals := make([]float64, len(v.Elems))
	for i, e := range v.Elems {
		x, err := ev.Eval(e)
		if err != nil {
			return nil, err
		}
		vals[i] = x
	}
	return shapeValues(v.Shape, vals), nil
}

func shapeValues(shape []int, vals []float64) any {
	switch len(shape) {
	case 0:
		return vals[0]
	case 1:
		return vals
	}
	rows := make([][]float64, shape[0])
	for i := range rows {
		rows[i] = vals[i*shape[1] : (i+1)*shape[1]]
	}
	return rows
}

// literal prints a numeric value as flowlang source.
func literal(v any) string {
	switch v := v.(type) {
	case float64:
		return FormatNumber(v, 17)
	case []float64:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = FormatNumber(x, 17)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case [][]float64:
		parts := make([]string, len(v))
		for i, r := range v {
			parts[i] = literal(r)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprint(v)
}

func literalLaTeX(v any) string {
	num := func(x float64) string {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return `\mathrm{` + FormatNumber(x, 6) + `}`
		}
		return ad.LaTeX(ad.FloatNode(x))
	}
	switch v := v.(type) {
	case float64:
		return num(v)
	case []float64:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = num(x)
		}
		return `\begin{pmatrix}` + strings.Join(parts, ` \\ `) + `\end{pmatrix}`
	case [][]float64:
		rows := make([]string, len(v))
		for i, r := range v {
			parts := make([]string, len(r))
			for j, x := range r {
				parts[j] = num(x)
			}
			rows[i] = strings.Join(parts, " & ")
		}
		return `\begin{pmatrix}` + strings.Join(rows, ` \\ `) + `\end{pmatrix}`
	}
	return ""
}

// pointCoords evaluates a point literal (a, b, ...), a vector [a, b] or a
// single number to its coordinates (vectors inside a point are flattened).
func (s *scope) pointCoords(e Expr) ([]float64, *Error) {
	var elems []Expr
	switch p := e.(type) {
	case *TupleExpr:
		elems = p.Elems
	default:
		elems = []Expr{e}
	}
	var out []float64
	for _, el := range elems {
		v, err := s.eval(el)
		if err != nil {
			return nil, err
		}
		if v.IsMatrix() {
			return nil, s.errAt(el, "a point's coordinates are numbers or vectors, not %s", v.ShapeName())
		}
		for _, n := range v.Elems {
			if !n.IsConstant() {
				return nil, s.errAt(el, "a point's coordinates must be numbers known now, found %s", brief(n))
			}
			x, evErr := ad.Eval(n, nil)
			if evErr != nil || math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, s.errAt(el, "coordinate %s is not a finite number", brief(n))
			}
			out = append(out, x)
		}
	}
	return out, nil
}

// pointSymbols decides which symbols a point of n coordinates binds, in
// order: the parameters of the one objective or function the statement
// names; else the parameters of the latest objective that has all the free
// symbols of vals and n parameters; else the elements of the one variable
// they belong to; else the latest objective with all the free symbols (whose
// parameter count the caller then reports as a mismatch).
func (s *scope) pointSymbols(at Node, vals []Value, n int) ([]*ad.Node, string, *Error) {
	in := s.in
	if len(s.state.mentioned) == 1 {
		name := s.state.mentioned[0]
		if o := in.objectives[name]; o != nil {
			return o.syms, fmt.Sprintf("%s(%s)", name, paramList(o.params)), nil
		}
		if d := in.defs[name]; d != nil {
			var syms []*ad.Node
			for _, p := range d.params {
				syms = append(syms, freeSymbol(p.name, p.size).Elems...)
			}
			return syms, fmt.Sprintf("%s(%s)", name, paramList(d.params)), nil
		}
	}
	var free []*ad.Node
	for _, v := range vals {
		for _, e := range v.Elems {
			for _, f := range e.FreeSymbols() {
				if f.Kind() == ad.KJet {
					return nil, "", s.errAt(at, "cannot evaluate %s at a point: it involves the density %s", brief(e), f.Name())
				}
				if !slices.Contains(free, f) {
					free = append(free, f)
				}
			}
		}
	}
	if len(free) == 0 {
		return nil, "", nil
	}
	var best, fits *objInfo
	for _, o := range in.objectives {
		all := true
		for _, f := range free {
			all = all && slices.Contains(o.syms, f)
		}
		if all && (best == nil || o.order > best.order) {
			best = o
		}
		if all && len(o.syms) == n && (fits == nil || o.order > fits.order) {
			fits = o
		}
	}
	if fits != nil {
		return fits.syms, fmt.Sprintf("%s(%s)", fits.name, paramList(fits.params)), nil
	}
	base := free[0].Name()
	for _, f := range free {
		if f.Name() != base {
			if best != nil {
				return best.syms, fmt.Sprintf("%s(%s)", best.name, paramList(best.params)), nil
			}
			return nil, "", s.errAt(at, "ambiguous point: the expression has the variables %s; evaluate a named objective, e.g. show grad(f) at (...)", symbolNames(free))
		}
	}
	var syms []*ad.Node
	if size := in.free[base]; size > 0 {
		syms = freeSymbol(base, size).Elems
	} else {
		syms = []*ad.Node{free[0]}
	}
	if len(syms) != n && best != nil {
		return best.syms, fmt.Sprintf("%s(%s)", best.name, paramList(best.params)), nil
	}
	return syms, base, nil
}

func symbolNames(syms []*ad.Node) string {
	parts := make([]string, len(syms))
	for i, s := range syms {
		parts[i] = ad.String(s)
	}
	return strings.Join(parts, ", ")
}

// bindPoint maps the symbols a point binds to its coordinates.
func (s *scope) bindPoint(at Expr, vals []Value) (map[*ad.Node]float64, *Error) {
	coords, err := s.pointCoords(at)
	if err != nil {
		return nil, err
	}
	syms, what, err := s.pointSymbols(at, vals, len(coords))
	if err != nil {
		return nil, err
	}
	if len(syms) == 0 {
		return nil, nil // a constant: there is nothing to bind
	}
	if len(syms) != len(coords) {
		return nil, s.errAt(at, "the point has %d coordinate%s but %s has %d", len(coords), plural(len(coords)), what, len(syms))
	}
	m := make(map[*ad.Node]float64, len(syms))
	for i, sym := range syms {
		m[sym] = coords[i]
	}
	return m, nil
}

// valueAt evaluates values at a point.
func (s *scope) valueAt(vals []Value, at Expr) ([]any, *Error) {
	m, err := s.bindPoint(at, vals)
	if err != nil {
		return nil, err
	}
	out := make([]any, len(vals))
	for i, v := range vals {
		x, evErr := s.numeric(v, m)
		if evErr != nil {
			return nil, s.errAt(at, "cannot evaluate at this point: %v", evErr)
		}
		out[i] = x
	}
	return out, nil
}
