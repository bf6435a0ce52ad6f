// Calls: elementary functions, differential operators, sums, integrals and user definitions.
package lang

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	ad "flowlang/autodiff"
	"flowlang/internal/spell"
)

// contextOnly are calls that only mean something in one place of a statement.
var contextOnly = map[string]string{
	"critical": "critical(f) is only allowed as show critical(f) near POINT",
	"w2":       "w2(A, B) is only allowed as show w2(A, B)",
	"sample":   "sample(D, N) is only allowed after from in a run",
	"normal":   "a distribution is only allowed in a run (from, compare to) or in show w2(A, B)",
	"uniform":  "a distribution is only allowed in a run (from, compare to) or in show w2(A, B)",
	"mix":      "a distribution is only allowed in a run (from, compare to) or in show w2(A, B)",
	"gibbs":    "a distribution is only allowed in a run (from, compare to) or in show w2(A, B)",
	"points":   "a distribution is only allowed in a run (from, compare to) or in show w2(A, B)",
}

func (s *scope) call(e *CallExpr) (Value, *Error) {
	name := e.Fun.Name
	if b, ok := s.lookupVar(name); ok {
		if b.fn == "" {
			return Value{}, s.errAt(e.Fun, "%s is a value, not a function", name)
		}
		args, err := s.args(e)
		if err != nil {
			return Value{}, err
		}
		return s.applyDef(e, b.fn, args)
	}
	if s.space != nil && name == s.densityName {
		return s.densityAt(e, s.space)
	}
	switch name {
	case "sum", "prod":
		return s.sumProd(e)
	case "diff":
		return s.diff(e)
	case "grad":
		return s.grad(e)
	case "hess":
		return s.hess(e)
	case "jacobian":
		return s.jacobian(e)
	case "laplacian":
		return s.laplacian(e)
	case "div":
		return s.divergence(e)
	case "integral":
		return s.integral(e)
	case "vd", "velocity", "pde":
		return s.variational(e)
	case "sqrt":
		args, err := s.argsN(e, 1, "sqrt(x)")
		if err != nil {
			return Value{}, err
		}
		return args[0].Map(ad.Sqrt), nil
	case "pow":
		args, err := s.argsN(e, 2, "pow(a, b)")
		if err != nil {
			return Value{}, err
		}
		return s.arith(e, "^", args[0], args[1])
	case "norm", "norm2":
		args, err := s.argsN(e, 1, name+"(v)")
		if err != nil {
			return Value{}, err
		}
		if args[0].IsMatrix() {
			return Value{}, s.errAt(e.Args[0], "%s needs a vector, found %s", name, args[0].ShapeName())
		}
		n2 := dotNodes(args[0].Elems, args[0].Elems)
		if name == "norm" {
			if args[0].IsScalar() {
				return Scalar(ad.Call("abs", args[0].S())), nil
			}
			return Scalar(ad.Sqrt(n2)), nil
		}
		return Scalar(n2), nil
	case "dot":
		args, err := s.argsN(e, 2, "dot(u, v)")
		if err != nil {
			return Value{}, err
		}
		if args[0].IsMatrix() || args[1].IsMatrix() || !sameShape(args[0], args[1]) {
			return Value{}, s.errAt(e, "dot needs two vectors of the same length, found %s and %s", args[0].ShapeName(), args[1].ShapeName())
		}
		return Scalar(dotNodes(args[0].Elems, args[1].Elems)), nil
	}
	if msg, ok := contextOnly[name]; ok && s.in.defs[name] == nil {
		return Value{}, s.errAt(e.Fun, "%s", msg)
	}
	if arity, ok := ad.IsBuiltin(name); ok {
		args, err := s.argsN(e, arity, fmt.Sprintf("%s(%s)", name, []string{"", "x", "a, b"}[arity]))
		if err != nil {
			return Value{}, err
		}
		if arity == 1 {
			return args[0].Map(func(n *ad.Node) *ad.Node { return ad.Call(name, n) }), nil
		}
		if !args[0].IsScalar() || !args[1].IsScalar() {
			return Value{}, s.errAt(e, "%s needs scalars, found %s and %s", name, args[0].ShapeName(), args[1].ShapeName())
		}
		return Scalar(ad.Call(name, args[0].S(), args[1].S())), nil
	}
	in := s.in
	if d := in.defs[name]; d != nil {
		args, err := s.argsFor(e, d.params)
		if err != nil {
			return Value{}, err
		}
		s.mention(name)
		return s.applyDef(e, name, args)
	}
	if o := in.objectives[name]; o != nil {
		args, err := s.argsFor(e, o.params)
		if err != nil {
			return Value{}, err
		}
		s.mention(name)
		return s.applyObjective(e, o, args)
	}
	if f := in.functionals[name]; f != nil {
		if f.template == nil {
			return Value{}, s.errAt(e, "%s is a functional, not a function; write %s without arguments", name, name)
		}
		return s.instantiate(e, f)
	}
	if d := in.densities[name]; d != nil && (s.free || s.space != nil) {
		return s.densityAt(e, &d.space)
	}
	if i := slices.Index(s.expanding, name); i >= 0 {
		chain := append(slices.Clone(s.expanding[i:]), name)
		return Value{}, s.errAt(e.Fun, "recursive definition: %s", strings.Join(chain, " → "))
	}
	if in.broken[name] {
		return Value{}, errBroken
	}
	err := s.errAt(e.Fun, "undefined function: %s", name)
	if hint := spell.Suggest(name, s.names(true)); hint != "" {
		err.Hint = "did you mean " + hint + "?"
	}
	return Value{}, err
}

func (s *scope) arith(at Node, op string, a, b Value) (Value, *Error) {
	v, err := arith(op, a, b)
	if err != nil {
		return Value{}, s.errAt(at, "%v", err)
	}
	return v, nil
}

// args evaluates a call's arguments.
func (s *scope) args(e *CallExpr) ([]Value, *Error) {
	out := make([]Value, len(e.Args))
	for i, a := range e.Args {
		v, err := s.eval(a)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// argsFor evaluates the arguments of a call of a function with parameters
// ps. A bare free name declared with several shapes (x in f(x) and in
// g(x[3])) takes the shape of the parameter it is passed to.
func (s *scope) argsFor(e *CallExpr, ps []paramInfo) ([]Value, *Error) {
	out := make([]Value, len(e.Args))
	for i, a := range e.Args {
		if id, ok := a.(*Ident); ok && i < len(ps) && s.free && s.isPlainFree(id.Name) {
			if slices.Contains(s.in.freeShapes[id.Name], ps[i].size) {
				out[i] = freeSymbol(id.Name, ps[i].size)
				continue
			}
		}
		v, err := s.eval(a)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// isPlainFree reports whether name would resolve to a free symbol (nothing
// nearer shadows it).
func (s *scope) isPlainFree(name string) bool {
	if _, ok := s.lookupVar(name); ok {
		return false
	}
	if s.space != nil && (name == s.densityName || name == s.varName || s.bound[name] != "") {
		return false
	}
	_, isLet := s.in.lets[name]
	_, isFree := s.in.free[name]
	return !isLet && isFree && s.in.densities[name] == nil
}

// argsN evaluates exactly n arguments.
func (s *scope) argsN(e *CallExpr, n int, form string) ([]Value, *Error) {
	if len(e.Args) != n {
		return nil, s.errAt(e, "%s takes %d argument%s, found %d: write %s", e.Fun.Name, n, plural(n), len(e.Args), form)
	}
	return s.args(e)
}

// sumProd unrolls sum(i in a..b, E) or prod(i in a..b, E).
func (s *scope) sumProd(e *CallExpr) (Value, *Error) {
	name := e.Fun.Name
	if len(e.Args) != 2 {
		return Value{}, s.errAt(e, "%s takes two arguments: %s(i in a..b, E)", name, name)
	}
	r, ok := e.Args[0].(*RangeArg)
	if !ok {
		return Value{}, s.errAt(e.Args[0], "the first argument of %s is a range: %s(i in a..b, E)", name, name)
	}
	lo, err := s.constInt(r.Lo, "a range bound")
	if err != nil {
		return Value{}, err
	}
	hi, err := s.constInt(r.Hi, "a range bound")
	if err != nil {
		return Value{}, err
	}
	if n := hi - lo + 1; n > MaxUnroll-s.state.unrolled {
		return Value{}, s.errAt(r, "%s over %d terms: more than the %d a statement may unroll", name, n, MaxUnroll)
	}
	if n := hi - lo + 1; n > 0 {
		// inside another sum this one is unrolled once per outer term:
		// refuse now what the repetitions would exceed
		if s.state.outer > 0 && n > (MaxUnroll-s.state.unrolled)/s.state.outer {
			return Value{}, s.errAt(r, "%s over %d terms inside sums of %d terms: more than the %d a statement may unroll", name, n, s.state.outer, MaxUnroll)
		}
		s.state.unrolled += n
		outer := max(s.state.outer, 1)
		s.state.outer = outer * n
		defer func() { s.state.outer = outer }()
	}
	var terms []Value
	c := s.child() // one scope for every term: nothing keeps it past its term
	for i := lo; i <= hi; i++ {
		if (i-lo)%4096 == 0 {
			if err := s.in.ctx.Err(); err != nil {
				return Value{}, s.errAt(e, "interrupted")
			}
		}
		c.vars[r.Var.Name] = binding{val: Scalar(ad.IntNode(int64(i)))}
		v, err := c.eval(e.Args[1])
		if err != nil {
			return Value{}, err
		}
		if len(terms) > 0 && !sameShape(v, terms[0]) {
			return Value{}, s.errAt(e.Args[1], "the terms of %s change shape: %s, then %s", name, terms[0].ShapeName(), v.ShapeName())
		}
		terms = append(terms, v)
	}
	if len(terms) == 0 {
		if name == "sum" {
			return Scalar(ad.Zero()), nil
		}
		return Scalar(ad.One()), nil
	}
	// build each entry over all terms at once (n-ary, never pairwise)
	out := Value{Shape: terms[0].Shape, Elems: make([]*ad.Node, len(terms[0].Elems))}
	col := make([]*ad.Node, len(terms))
	for k := range out.Elems {
		for i, t := range terms {
			col[i] = t.Elems[k]
		}
		if name == "sum" {
			out.Elems[k] = ad.Add(col...)
		} else {
			out.Elems[k] = ad.Mul(col...)
		}
	}
	return out, nil
}

// variable is a differentiation variable: a symbol, and for a coordinate of
// a density's space, the point it belongs to and its coordinate index.
type variable struct {
	sym   *ad.Node
	space *ad.Space
	point string
	coord int
}

// variables resolves a differentiation variable: a scalar symbol, a vector
// of symbols, or an element x[i].
func (s *scope) variables(e Expr) ([]variable, *Error) {
	v, err := s.eval(e)
	if err != nil {
		return nil, err
	}
	if v.IsMatrix() {
		return nil, s.errAt(e, "cannot differentiate with respect to a matrix")
	}
	out := make([]variable, len(v.Elems))
	for i, n := range v.Elems {
		if n.Kind() != ad.KSymbol {
			return nil, s.errAt(e, "can only differentiate with respect to a variable, not %s", brief(n))
		}
		out[i] = s.locate(n)
	}
	return out, nil
}

// locate finds whether symbol n is a coordinate of a density's point.
func (s *scope) locate(n *ad.Node) variable {
	v := variable{sym: n}
	coord := max(n.Index()-1, 0)
	if s.space != nil {
		if n.Name() == s.space.Var {
			return variable{sym: n, space: s.space, point: n.Name(), coord: coord}
		}
		for _, actual := range s.bound {
			if n.Name() == actual {
				return variable{sym: n, space: s.space, point: actual, coord: coord}
			}
		}
		return v
	}
	// show and check: a declared density over this variable
	for _, name := range s.state.densities {
		if d := s.in.densities[name]; d != nil && d.space.Var == n.Name() {
			return variable{sym: n, space: &d.space, point: n.Name(), coord: coord}
		}
	}
	return v
}

// derive returns ∂e/∂v, a total derivative when v is a density's coordinate.
func (s *scope) derive(at Node, e *ad.Node, v variable) (*ad.Node, *Error) {
	if v.space == nil {
		d, err := ad.DiffE(e, v.sym)
		if err != nil {
			return nil, s.errAt(at, "%v", err)
		}
		return d, nil
	}
	r, err := v.space.TotalDiff(e, v.point, v.coord)
	if err != nil {
		return nil, s.errAt(at, "%v", err)
	}
	return r, nil
}

// diff implements diff(E, x), diff(E, x, y), diff(E, x, 3), diff(E, x, 2, y).
func (s *scope) diff(e *CallExpr) (Value, *Error) {
	if len(e.Args) < 2 {
		return Value{}, s.errAt(e, "diff takes an expression and variables: diff(E, x), diff(E, x, 2), diff(E, x, y)")
	}
	v, err := s.eval(e.Args[0])
	if err != nil {
		return Value{}, err
	}
	var last *variable
	apply := func(at Node, x variable, n int) *Error {
		for k := 0; k < n; k++ {
			if k > 0 && dagSize(v.Elems, MaxDerivedNodes) > MaxDerivedNodes {
				return s.errAt(e, "the derivative grows too large: more than %d distinct subexpressions after %d derivatives with respect to %s", MaxDerivedNodes, k, ad.String(x.sym))
			}
			out := Value{Shape: v.Shape, Elems: make([]*ad.Node, len(v.Elems))}
			for i, el := range v.Elems {
				d, err := s.derive(at, el, x)
				if err != nil {
					return err
				}
				out.Elems[i] = d
			}
			v = out
		}
		return nil
	}
	pending := 0 // the last variable has not been applied yet
	for _, a := range e.Args[1:] {
		val, err := s.eval(a)
		if err != nil {
			if id, ok := a.(*Ident); ok && s.space != nil && err.Msg == "undefined: "+id.Name {
				// diff(q, t) in a functional: say what a derivative may be taken in
				err.Msg = fmt.Sprintf("undefined: %s; in a functional, derivatives are taken with respect to %s (or y inside integral(..., y))", id.Name, s.varName)
				err.Hint = ""
			}
			return Value{}, err
		}
		if val.IsScalar() && val.S().IsConstant() {
			if last == nil || pending == 0 {
				return Value{}, s.errAt(a, "a derivative order must follow a variable: diff(E, x, 2)")
			}
			n, err := s.constInt(a, "a derivative order")
			if err != nil {
				return Value{}, err
			}
			if n < 0 || n > ad.MaxJetOrder {
				return Value{}, s.errAt(a, "derivative order %d out of range 0..%d", n, ad.MaxJetOrder)
			}
			if err := apply(a, *last, n); err != nil {
				return Value{}, err
			}
			pending = 0
			continue
		}
		if pending > 0 {
			if err := apply(a, *last, 1); err != nil {
				return Value{}, err
			}
		}
		vars, err := s.variables(a)
		if err != nil {
			return Value{}, err
		}
		if len(vars) != 1 {
			return Value{}, s.errAt(a, "diff needs scalar variables; for a vector x write diff(E, x[i]) or grad(E, x)")
		}
		if err := s.densityVarCheck(a, v, vars[0]); err != nil {
			return Value{}, err
		}
		last = &vars[0]
		pending = 1
	}
	if pending > 0 {
		if err := apply(e, *last, 1); err != nil {
			return Value{}, err
		}
	}
	return v, nil
}

// namedFunction returns the parameters (as symbols) and body of an objective
// or def named by e, if e is such a name.
func (s *scope) namedFunction(e Expr) ([]*ad.Node, *ad.Node, bool, *Error) {
	id, ok := e.(*Ident)
	if !ok {
		return nil, nil, false, nil
	}
	if _, local := s.lookupVar(id.Name); local {
		return nil, nil, false, nil
	}
	if o := s.in.objectives[id.Name]; o != nil {
		s.mention(id.Name)
		return o.syms, o.value, true, nil
	}
	if d := s.in.defs[id.Name]; d != nil {
		s.mention(id.Name)
		args := make([]Value, len(d.params))
		var syms []*ad.Node
		for i, p := range d.params {
			args[i] = freeSymbol(p.name, p.size)
			syms = append(syms, args[i].Elems...)
		}
		v, err := s.applyDef(e, id.Name, args)
		if err != nil {
			return nil, nil, true, err
		}
		if !v.IsScalar() {
			return nil, nil, true, s.errAt(e, "%s is %s; grad and hess need a scalar function", id.Name, v.ShapeName())
		}
		return syms, v.S(), true, nil
	}
	return nil, nil, false, nil
}

// densitySpace returns the density that total derivatives in v refer to.
func (s *scope) densitySpace(at Node, v Value, op string) (*ad.Space, *Error) {
	if s.space != nil {
		return s.space, nil
	}
	var found []*ad.Space
	for _, name := range s.state.densities {
		found = append(found, &s.in.densities[name].space)
	}
	if len(found) == 0 && len(s.in.densityOrder) == 1 {
		d := s.in.densities[s.in.densityOrder[0]]
		return &d.space, nil
	}
	if len(found) == 1 {
		return found[0], nil
	}
	if len(found) == 0 {
		return nil, s.errAt(at, "%s is taken with respect to a density's space variable, and no density is in scope", op)
	}
	return nil, s.errAt(at, "%s is ambiguous: the expression involves several densities", op)
}

// totalGrad returns (D₁e, …, D_d e) at the density's own point: a scalar in
// one dimension.
func (s *scope) totalGrad(at Node, e *ad.Node, sp *ad.Space) (Value, *Error) {
	d := sp.Coords()
	out := make([]*ad.Node, d)
	for i := range out {
		r, err := sp.TotalDiff(e, sp.Var, i)
		if err != nil {
			return Value{}, s.errAt(at, "%v", err)
		}
		out[i] = r
	}
	if sp.Dim == 0 {
		return Scalar(out[0]), nil
	}
	return Vector(out), nil
}

func (s *scope) grad(e *CallExpr) (Value, *Error) {
	switch len(e.Args) {
	case 1:
		syms, body, ok, err := s.namedFunction(e.Args[0])
		if err != nil {
			return Value{}, err
		}
		if ok {
			g, gerr := ad.GradE(body, syms)
			if gerr != nil {
				return Value{}, s.errAt(e, "%v", gerr)
			}
			return Vector(g), nil
		}
		v, err := s.eval(e.Args[0])
		if err != nil {
			return Value{}, err
		}
		if !v.IsScalar() {
			return Value{}, s.errAt(e.Args[0], "grad needs a scalar, found %s (for a vector field use jacobian)", v.ShapeName())
		}
		sp, err := s.densitySpace(e, v, "grad(E)")
		if err != nil {
			err.Hint = "for a gradient with respect to a variable write grad(E, x)"
			return Value{}, err
		}
		return s.totalGrad(e, v.S(), sp)
	case 2:
		v, err := s.eval(e.Args[0])
		if err != nil {
			return Value{}, err
		}
		if !v.IsScalar() {
			return Value{}, s.errAt(e.Args[0], "grad needs a scalar, found %s (for a vector field use jacobian)", v.ShapeName())
		}
		vars, err := s.variables(e.Args[1])
		if err != nil {
			return Value{}, err
		}
		out := make([]*ad.Node, len(vars))
		if allPlain(vars) {
			syms := make([]*ad.Node, len(vars))
			for i, x := range vars {
				syms[i] = x.sym
			}
			g, gerr := ad.GradE(v.S(), syms)
			if gerr != nil {
				return Value{}, s.errAt(e, "%v", gerr)
			}
			out = g
		} else {
			for i, x := range vars {
				if out[i], err = s.derive(e, v.S(), x); err != nil {
					return Value{}, err
				}
			}
		}
		if isScalarVar(s, e.Args[1]) {
			return Scalar(out[0]), nil
		}
		return Vector(out), nil
	}
	return Value{}, s.errAt(e, "grad takes a named function or an expression and a variable: grad(f), grad(E, x)")
}

func allPlain(vs []variable) bool {
	for _, v := range vs {
		if v.space != nil {
			return false
		}
	}
	return true
}

// isScalarVar reports whether a variable argument denotes a scalar variable.
func isScalarVar(s *scope, e Expr) bool {
	v, err := s.eval(e)
	return err == nil && v.IsScalar()
}

func (s *scope) hess(e *CallExpr) (Value, *Error) {
	switch len(e.Args) {
	case 1:
		syms, body, ok, err := s.namedFunction(e.Args[0])
		if err != nil {
			return Value{}, err
		}
		if !ok {
			return Value{}, s.errAt(e.Args[0], "hess(f) needs a named objective or function; for an expression write hess(E, x)")
		}
		if err := s.matrixSize(e, "hess", len(syms), len(syms)); err != nil {
			return Value{}, err
		}
		return Matrix(ad.Hessian(body, syms)), nil
	case 2:
		v, err := s.eval(e.Args[0])
		if err != nil {
			return Value{}, err
		}
		if !v.IsScalar() {
			return Value{}, s.errAt(e.Args[0], "hess needs a scalar, found %s", v.ShapeName())
		}
		vars, err := s.variables(e.Args[1])
		if err != nil {
			return Value{}, err
		}
		n := len(vars)
		if err := s.matrixSize(e, "hess", n, n); err != nil {
			return Value{}, err
		}
		rows := make([][]*ad.Node, n)
		for i := range rows {
			gi, err := s.derive(e, v.S(), vars[i])
			if err != nil {
				return Value{}, err
			}
			rows[i] = make([]*ad.Node, n)
			for j := range rows[i] {
				if rows[i][j], err = s.derive(e, gi, vars[j]); err != nil {
					return Value{}, err
				}
			}
		}
		if isScalarVar(s, e.Args[1]) {
			return Scalar(rows[0][0]), nil
		}
		return Matrix(rows), nil
	}
	return Value{}, s.errAt(e, "hess takes a named function or an expression and a variable: hess(f), hess(E, x)")
}

// matrixSize refuses a derived matrix with more than MaxMatrixEntries entries.
func (s *scope) matrixSize(at Node, op string, rows, cols int) *Error {
	if rows*cols > MaxMatrixEntries {
		return s.errAt(at, "%s would be a %d×%d matrix, more than the %d entries a statement may derive", op, rows, cols, MaxMatrixEntries)
	}
	return nil
}

func (s *scope) jacobian(e *CallExpr) (Value, *Error) {
	args, err := s.argsN(e, 2, "jacobian(V, x)")
	if err != nil {
		return Value{}, err
	}
	if args[0].IsMatrix() {
		return Value{}, s.errAt(e.Args[0], "jacobian needs a vector, found %s", args[0].ShapeName())
	}
	vars, err := s.variables(e.Args[1])
	if err != nil {
		return Value{}, err
	}
	if err := s.matrixSize(e, "jacobian", len(args[0].Elems), len(vars)); err != nil {
		return Value{}, err
	}
	rows := make([][]*ad.Node, len(args[0].Elems))
	for i, vi := range args[0].Elems {
		rows[i] = make([]*ad.Node, len(vars))
		for j, x := range vars {
			if rows[i][j], err = s.derive(e, vi, x); err != nil {
				return Value{}, err
			}
		}
	}
	return Matrix(rows), nil
}

func (s *scope) laplacian(e *CallExpr) (Value, *Error) {
	args, err := s.argsN(e, 1, "laplacian(E)")
	if err != nil {
		return Value{}, err
	}
	sp, err := s.densitySpace(e, args[0], "laplacian")
	if err != nil {
		return Value{}, err
	}
	var bad *Error
	v := args[0].Map(func(n *ad.Node) *ad.Node {
		terms := make([]*ad.Node, sp.Coords())
		for i := range terms {
			d1, e1 := sp.TotalDiff(n, sp.Var, i)
			if e1 != nil {
				bad = s.errAt(e, "%v", e1)
				return n
			}
			d2, e2 := sp.TotalDiff(d1, sp.Var, i)
			if e2 != nil {
				bad = s.errAt(e, "%v", e2)
				return n
			}
			terms[i] = d2
		}
		return ad.Add(terms...)
	})
	return v, bad
}

func (s *scope) divergence(e *CallExpr) (Value, *Error) {
	args, err := s.argsN(e, 1, "div(V)")
	if err != nil {
		return Value{}, err
	}
	sp, err := s.densitySpace(e, args[0], "div")
	if err != nil {
		return Value{}, err
	}
	v := args[0]
	if v.IsMatrix() || len(v.Elems) != sp.Coords() || v.IsScalar() != (sp.Dim == 0) {
		want := "a scalar"
		if sp.Dim > 0 {
			want = fmt.Sprintf("a vector of length %d", sp.Dim)
		}
		return Value{}, s.errAt(e.Args[0], "div over %s needs %s, found %s", sp.Var, want, v.ShapeName())
	}
	terms := make([]*ad.Node, len(v.Elems))
	for i, c := range v.Elems {
		d, err := sp.TotalDiff(c, sp.Var, i)
		if err != nil {
			return Value{}, s.errAt(e, "%v", err)
		}
		terms[i] = d
	}
	return Scalar(ad.Add(terms...)), nil
}

// densityAt resolves q(y): the density at its own variable or at a bound
// integration variable.
func (s *scope) densityAt(e *CallExpr, sp *ad.Space) (Value, *Error) {
	if len(e.Args) != 1 {
		return Value{}, s.errAt(e, "%s takes one point: %s(%s) or %s(y) inside integral(..., y)", e.Fun.Name, e.Fun.Name, sp.Var, e.Fun.Name)
	}
	id, ok := e.Args[0].(*Ident)
	if !ok {
		return Value{}, s.errAt(e.Args[0], "%s can only be taken at its variable %s or at an integration variable, not at an expression", e.Fun.Name, sp.Var)
	}
	if s.space != nil && sp.Density != s.space.Density {
		return Value{}, s.errAt(e.Fun, "a functional of %s cannot use another density, %s", s.space.Density, sp.Density)
	}
	if s.space == nil {
		if id.Name != sp.Var {
			err := s.errAt(id, "%s is a density over %s", e.Fun.Name, sp.Var)
			err.Hint = fmt.Sprintf("%s(%s) means %s at a point bound by integral(..., %s)", e.Fun.Name, id.Name, e.Fun.Name, id.Name)
			return Value{}, err
		}
		s.noteDensity(sp.Density)
		return Scalar(sp.Q(sp.Var, nil)), nil
	}
	if id.Name == s.varName {
		return Scalar(sp.Q(sp.Var, nil)), nil
	}
	if actual, ok := s.bound[id.Name]; ok {
		return Scalar(sp.Q(actual, nil)), nil
	}
	err := s.errAt(id, "%s(%s) outside an integral over %s", e.Fun.Name, id.Name, id.Name)
	err.Hint = fmt.Sprintf("write integral(..., %s) around it, e.g. integral(K(%s - %s) * %s(%s), %s)", id.Name, s.varName, id.Name, e.Fun.Name, id.Name, id.Name)
	return Value{}, err
}

// integral resolves integral(E) and integral(E, y). Inside a functional
// the density is the functional's; in show and check it is the density
// the integrand names (so that printed results parse back). The outermost
// integral's variables are renamed canonically (autodiff.CanonicalBound).
func (s *scope) integral(e *CallExpr) (Value, *Error) {
	if s.space == nil {
		if !s.free {
			return Value{}, s.errAt(e, "integral is only allowed inside a functional: functional F[q] = integral(...)")
		}
		sp, err := s.integralSpace(e)
		if err != nil {
			return Value{}, err
		}
		s.noteDensity(sp.Density)
		return s.withSpace(sp).integral(e)
	}
	sp := s.space
	var v *ad.Node
	switch len(e.Args) {
	case 1:
		if s.state.integralDepth > 0 {
			return Value{}, s.errAt(e, "integral over %s nested in another integral: name the inner variable, integral(E, y)", s.varName)
		}
		s.state.integralDepth++
		body, err := s.scalar(e.Args[0])
		s.state.integralDepth--
		if err != nil {
			return Value{}, err
		}
		v = ad.Integral(body, sp.Var, sp.Dim, true)
	case 2:
		id, ok := e.Args[1].(*Ident)
		if !ok || Reserved[id.Name] {
			return Value{}, s.errAt(e.Args[1], "the second argument of integral is the integration variable, a new name such as y")
		}
		if id.Name == s.varName {
			return s.integral(&CallExpr{span: e.span, Fun: e.Fun, Args: e.Args[:1]})
		}
		if _, taken := s.bound[id.Name]; taken {
			return Value{}, s.errAt(id, "%s is already bound by an enclosing integral", id.Name)
		}
		if s.state.integralDepth == 0 && !s.free {
			err := s.errAt(e, "integral over %s must be inside an integral over %s (a nonlocal term)", id.Name, s.varName)
			err.Hint = fmt.Sprintf("write integral(integral(K(%s - %s)*%s(%s), %s)*%s)", s.varName, id.Name, s.densityName, id.Name, id.Name, s.densityName)
			return Value{}, err
		}
		// the variable's name in the DAG: as written unless taken (it is
		// renamed canonically once the outermost integral is built)
		actual := ""
		for _, alt := range []string{id.Name, "y", "z", "w", "u", "v"} {
			if alt != sp.Var && !s.boundActual(alt) {
				actual = alt
				break
			}
		}
		for k := 1; actual == ""; k++ {
			if alt := fmt.Sprintf("·%s%d", id.Name, k); !s.boundActual(alt) {
				actual = alt
			}
		}
		c := s.child()
		c.bound = maps.Clone(s.bound)
		c.bound[id.Name] = actual
		s.state.integralDepth++
		body, err := c.scalar(e.Args[0])
		s.state.integralDepth--
		if err != nil {
			return Value{}, err
		}
		v = ad.Integral(body, actual, sp.Dim, false)
	default:
		return Value{}, s.errAt(e, "integral takes an integrand and optionally a variable: integral(E), integral(E, y)")
	}
	if s.state.integralDepth == 0 {
		v = sp.CanonicalBound(v)
	}
	return Scalar(v), nil
}

func (s *scope) boundActual(name string) bool {
	for _, a := range s.bound {
		if a == name {
			return true
		}
	}
	return false
}

// functionalArg resolves the functional that vd, velocity and pde act on:
// a declared functional, or an expression that is a sum of integrals.
func (s *scope) functionalArg(e Expr, op string) (*ad.Node, *ad.Space, *Error) {
	if id, ok := e.(*Ident); ok {
		if _, local := s.lookupVar(id.Name); !local {
			if f := s.in.functionals[id.Name]; f != nil {
				if f.template != nil {
					return nil, nil, s.errAt(e, "%s is a generic functional; instantiate it first: functional F[q] = %s(...)", id.Name, id.Name)
				}
				s.noteDensity(f.space.Density)
				return f.value, &f.space, nil
			}
			if s.in.broken[id.Name] {
				return nil, nil, errBroken
			}
			if kind := s.in.kindOf(id.Name); kind != "" {
				if kind == "def" || kind == "let" {
					kind = map[string]string{"def": "function", "let": "value"}[kind]
				}
				err := s.errAt(e, "%s needs a functional, but %s is %s", op, id.Name, article(kind))
				err.Hint = "declare one with functional F[q] = integral(...), then write " + op + "(F)"
				return nil, nil, err
			}
		}
	}
	v, err := s.eval(e)
	if err != nil {
		return nil, nil, err
	}
	if !v.IsScalar() || !v.S().HasIntegral() {
		err := s.errAt(e, "%s needs a functional (a sum of integrals of a density), found %s", op, v.ShapeName())
		if v.IsScalar() {
			err.Msg = fmt.Sprintf("%s needs a functional (a sum of integrals of a density), found %s", op, ad.String(v.S()))
		}
		err.Hint = "declare one with functional F[q] = integral(...), then write " + op + "(F)"
		return nil, nil, err
	}
	sp, err := s.densitySpace(e, v, "a variational derivative")
	if err != nil {
		return nil, nil, err
	}
	if _, _, terr := sp.SplitIntegrals(v.S()); terr != nil {
		return nil, nil, s.errAt(e, "%s needs a functional, a sum of constant multiples of integrals: %v", op, terr)
	}
	return v.S(), sp, nil
}

// variational implements vd(F), velocity(F) = −∇ₓ δF/δq and
// pde(F) = ∇·(q ∇ₓ δF/δq), the right-hand side of ∂q/∂t.
func (s *scope) variational(e *CallExpr) (Value, *Error) {
	name := e.Fun.Name
	if len(e.Args) != 1 {
		return Value{}, s.errAt(e, "%s takes one functional: %s(F)", name, name)
	}
	f, sp, err := s.functionalArg(e.Args[0], name)
	if err != nil {
		return Value{}, err
	}
	vd, verr := sp.VariationalDerivative(f)
	if verr != nil {
		return Value{}, s.errAt(e.Args[0], "%v", verr)
	}
	switch name {
	case "vd":
		return Scalar(vd), nil
	case "velocity":
		g, err := s.totalGrad(e, vd, sp)
		if err != nil {
			return Value{}, err
		}
		return g.Map(func(n *ad.Node) *ad.Node { return sp.CanonicalBound(ad.Neg(n)) }), nil
	}
	q := sp.Q(sp.Var, nil)
	terms := make([]*ad.Node, sp.Coords())
	for i := range terms {
		d, err1 := sp.TotalDiff(vd, sp.Var, i)
		if err1 != nil {
			return Value{}, s.errAt(e, "%v", err1)
		}
		flux, err2 := sp.TotalDiff(ad.Mul(q, d), sp.Var, i)
		if err2 != nil {
			return Value{}, s.errAt(e, "%v", err2)
		}
		terms[i] = flux
	}
	return Scalar(sp.CanonicalBound(ad.Add(terms...))), nil
}

// instantiate expands a functional template such as entropy() or
// potential(V) for the density in scope.
func (s *scope) instantiate(e *CallExpr, f *funcInfo) (Value, *Error) {
	if s.space == nil {
		return Value{}, s.errAt(e, "%s(...) builds a functional: use it inside functional F[q] = %s(...)", f.name, f.name)
	}
	t := f.template
	if len(e.Args) != len(t.Params) {
		return Value{}, s.errAt(e, "%s takes %d argument%s (%s), found %d", f.name, len(t.Params), plural(len(t.Params)), paramList(f.params), len(e.Args))
	}
	if slices.Contains(s.expanding, f.name) {
		return Value{}, s.errAt(e, "recursive functional %s", f.name)
	}
	body := &scope{in: s.in, src: f.src, vars: map[string]binding{}, state: s.state,
		space: s.space, densityName: t.Density.Name, varName: f.tmplVar, bound: map[string]string{},
		expanding: append(slices.Clone(s.expanding), f.name)}
	for i, a := range e.Args {
		p := t.Params[i].Name.Name
		if id, ok := a.(*Ident); ok {
			_, local := s.lookupVar(id.Name)
			if !local && s.in.defs[id.Name] != nil {
				body.vars[p] = binding{fn: id.Name}
				continue
			}
			if _, builtin := ad.IsBuiltin(id.Name); !local && builtin {
				return Value{}, s.errAt(a, "%s is a built-in function; %s takes a function declared with def", id.Name, f.name).
					withHint(fmt.Sprintf("def K(z) = %s(z), then %s(K)", id.Name, f.name))
			}
		}
		v, err := s.eval(a)
		if err != nil {
			return Value{}, err
		}
		body.vars[p] = binding{val: v}
	}
	v, err := body.eval(t.Body)
	if err != nil {
		start, end := t.Span()
		inside := err.Src == f.src && !posBefore(err.Pos, start) && !posBefore(end, err.Pos)
		if err != errBroken && (err.Src != s.src || inside) {
			if f.src != nil && strings.HasPrefix(f.src.Name, "<") {
				// the standard library's body: the user's call is the place
				e2 := s.errAt(e, "in %s(...): %s", f.name, err.Msg)
				e2.Hint = err.Hint
				if strings.Contains(err.Msg, "is a value, not a function") {
					e2.Hint = "pass the name of a function: def K(z) = ..., then " + f.name + "(K)"
				}
				return Value{}, e2
			}
			// an error in the body of the script's own template: say which use of it failed
			at, _ := e.Span()
			err.Msg = fmt.Sprintf("in %s (used at line %d): %s", f.name, at.Line, err.Msg)
		}
		return Value{}, err
	}
	return v, nil
}
