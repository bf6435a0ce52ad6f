// The resolver: expressions in a scope become values (expression DAGs), with shape checks.
package lang

import (
	"fmt"
	"math"
	"math/big"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	ad "flowlang/autodiff"
	"flowlang/internal/spell"
)

// Limits on what a script may ask for, so that hostile input is refused in
// bounded time and memory.
const (
	MaxDim       = 100_000   // length of a vector parameter or variable
	MaxUnroll    = 1_000_000 // iterations of sum/prod unrolled in one statement
	MaxDefDepth  = 200       // nested def expansions
	MaxPrintSize = 2_000_000 // tree size of an expression printed as text
	// MaxDerivedNodes bounds the size (distinct nodes plus their
	// arguments) of an expression differentiated again by diff(E, x, n):
	// the 60th derivative of a product of ten functions has billions of
	// terms, and one derivative of a size-10 000 expression takes about half a
	// second. Each order is checked before the next is taken.
	MaxDerivedNodes = 10_000
	// MaxMatrixEntries bounds the entries of a Hessian or Jacobian (a
	// 1000×1000 matrix).
	MaxMatrixEntries = 1_000_000
)

// dagSize measures the work of differentiating expressions: their distinct
// nodes plus the arguments of those nodes (the cost of rebuilding n-ary
// sums and products grows with their arity). It stops counting once the
// size exceeds limit.
func dagSize(es []*ad.Node, limit int) int {
	seen := map[*ad.Node]bool{}
	stack := slices.Clone(es)
	size := 0
	for len(stack) > 0 && size <= limit {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[n] {
			continue
		}
		seen[n] = true
		size += 1 + len(n.Args())
		stack = append(stack, n.Args()...)
	}
	return size
}

// errBroken stands for an error already reported: a name whose declaration
// failed. Statements that meet it are skipped silently, so that one mistake
// is reported once.
var errBroken = &Error{Msg: "uses a declaration that failed"}

// binding is what a name means in a scope: a value, or a function passed
// by name to a functional template.
type binding struct {
	val Value
	fn  string // a def's name
}

// scope resolves names inside one statement.
type scope struct {
	in     *Interp
	src    *Source
	parent *scope
	vars   map[string]binding

	// the density in scope (a functional's body, or one mentioned by a
	// show), with the names it goes by here (a template calls it q(x))
	space       *ad.Space
	densityName string
	varName     string
	bound       map[string]string // integration variables: local name → name in the DAG

	free      bool // free symbols (parameters of declared objectives) allowed
	expanding []string
	state     *stmtState
}

// stmtState is shared by the scopes of one statement.
type stmtState struct {
	unrolled      int
	outer         int // terms of the sums being unrolled around this point, multiplied
	integralDepth int
	mentioned     []string // objectives and defs named, for binding `at` points
	densities     []string // densities mentioned
}

func (in *Interp) newScope(src *Source, free bool) *scope {
	return &scope{in: in, src: src, vars: map[string]binding{}, free: free, state: &stmtState{}}
}

func (s *scope) child() *scope {
	c := *s
	c.parent = s
	c.vars = map[string]binding{}
	return &c
}

func (s *scope) lookupVar(name string) (binding, bool) {
	for sc := s; sc != nil; sc = sc.parent {
		if b, ok := sc.vars[name]; ok {
			return b, true
		}
	}
	return binding{}, false
}

func (s *scope) errAt(n Node, format string, args ...any) *Error {
	start, end := n.Span()
	if end.Line != start.Line {
		end = Pos{}
	}
	return &Error{Src: s.src, Pos: start, End: end, Msg: fmt.Sprintf(format, args...)}
}

// withSpace returns a child scope in which density sp is in scope.
func (s *scope) withSpace(sp *ad.Space) *scope {
	c := s.child()
	c.space = sp
	c.densityName = sp.Density
	c.varName = sp.Var
	c.bound = map[string]string{}
	return c
}

// eval resolves an expression to a value.
func (s *scope) eval(e Expr) (Value, *Error) {
	switch e := e.(type) {
	case *NumberLit:
		return s.number(e)
	case *Ident:
		return s.ident(e)
	case *ParenExpr:
		return s.eval(e.X)
	case *UnaryExpr:
		v, err := s.eval(e.X)
		if err != nil {
			return Value{}, err
		}
		if e.Op == "-" {
			return v.Map(ad.Neg), nil
		}
		return v, nil
	case *BinaryExpr:
		return s.binary(e)
	case *VectorExpr:
		return s.vector(e)
	case *TupleExpr:
		return Value{}, s.errAt(e, "a point (a, b, ...) is only allowed after from, at or near; write a vector as [a, b, ...]")
	case *IndexExpr:
		return s.index(e)
	case *CallExpr:
		return s.call(e)
	case *RangeArg:
		return Value{}, s.errAt(e, "`%s in a..b` is only allowed as the first argument of sum or prod", e.Var.Name)
	}
	return Value{}, s.errAt(e, "unexpected expression")
}

func (s *scope) scalar(e Expr) (*ad.Node, *Error) {
	v, err := s.eval(e)
	if err != nil {
		return nil, err
	}
	if !v.IsScalar() {
		return nil, s.errAt(e, "expected a scalar, found %s", v.ShapeName())
	}
	return v.S(), nil
}

// maxLiteralBits bounds an exact integer literal (about 1200 digits);
// longer ones are read as floats, as before they overflow.
const maxLiteralBits = 4000

func (s *scope) number(e *NumberLit) (Value, *Error) {
	if !strings.ContainsAny(e.Text, ".eE") {
		if n, err := strconv.ParseInt(e.Text, 10, 64); err == nil {
			return Scalar(ad.IntNode(n)), nil
		}
		if v, ok := new(big.Int).SetString(e.Text, 10); ok && v.BitLen() <= maxLiteralBits {
			return Scalar(ad.Number(ad.BigInt(v))), nil // exact beyond int64, as in SymPy
		}
	}
	f, err := strconv.ParseFloat(e.Text, 64)
	if err != nil && !math.IsInf(f, 0) {
		return Value{}, s.errAt(e, "bad number %s", e.Text)
	}
	if math.IsInf(f, 0) {
		return Value{}, s.errAt(e, "number %s is too large for a float64", e.Text)
	}
	return Scalar(ad.FloatNode(f)), nil
}

// constInt evaluates e to an integer known now.
func (s *scope) constInt(e Expr, what string) (int, *Error) {
	v, err := s.eval(e)
	if err != nil {
		return 0, err
	}
	if !v.IsScalar() || !v.S().IsConstant() {
		return 0, s.errAt(e, "%s must be an integer known now", what)
	}
	f, evErr := ad.Eval(v.S(), nil)
	if evErr != nil || f != math.Trunc(f) || math.IsNaN(f) {
		return 0, s.errAt(e, "%s must be an integer, found %s", what, brief(v.S()))
	}
	if math.Abs(f) > 1e15 {
		return 0, s.errAt(e, "%s %s is out of range", what, brief(v.S()))
	}
	return int(f), nil
}

// constNumber evaluates e to a number known now.
func (s *scope) constNumber(e Expr, what string) (float64, *Error) {
	n, err := s.scalar(e)
	if err != nil {
		return 0, err
	}
	if !n.IsConstant() {
		return 0, s.errAt(e, "%s must be a number known now, found %s", what, brief(n))
	}
	f, evErr := ad.Eval(n, nil)
	if evErr != nil {
		return 0, s.errAt(e, "%s: %v", what, evErr)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, s.errAt(e, "%s is %v", what, f)
	}
	return f, nil
}

func (s *scope) ident(e *Ident) (Value, *Error) {
	name := e.Name
	if b, ok := s.lookupVar(name); ok {
		if b.fn != "" {
			// a function passed to a template, used as a value: apply it at x
			if s.space == nil {
				return Value{}, s.errAt(e, "%s is a function; call it", name)
			}
			return s.applyDef(e, b.fn, []Value{s.spaceVar()})
		}
		return b.val, nil
	}
	if name == "pi" {
		return Scalar(ad.Pi()), nil
	}
	if s.space != nil {
		if name == s.densityName {
			s.noteDensity(s.space.Density)
			return Scalar(s.space.Q(s.space.Var, nil)), nil
		}
		if name == s.varName {
			return s.spaceVar(), nil
		}
		if actual, ok := s.bound[name]; ok {
			return s.pointVar(actual), nil
		}
	}
	in := s.in
	if v, ok := in.lets[name]; ok {
		return v, nil
	}
	if s.free {
		if d, ok := in.densities[name]; ok {
			s.noteDensity(name)
			return Scalar(d.space.Q(d.space.Var, nil)), nil
		}
		// the parameters of an objective or function this statement names
		// come first, so that check grad(f) == [..x..] means f's x
		for _, m := range s.state.mentioned {
			for _, p := range in.paramsOf(m) {
				if p.name == name {
					return freeSymbol(name, p.size), nil
				}
			}
		}
		if size, ok := in.free[name]; ok {
			return freeSymbol(name, size), nil
		}
	}
	if in.broken[name] {
		return Value{}, errBroken // its declaration failed and was reported there
	}
	switch {
	case in.objectives[name] != nil:
		o := in.objectives[name]
		return Value{}, s.errAt(e, "%s is an objective; call it as %s(%s) or use grad(%s)", name, name, paramList(o.params), name)
	case in.defs[name] != nil:
		return Value{}, s.errAt(e, "%s is a function; call it as %s(%s)", name, name, paramList(in.defs[name].params))
	case in.functionals[name] != nil:
		if f := in.functionals[name]; f.template == nil && s.space != nil && f.space.Density == s.space.Density {
			return Scalar(f.value), nil
		}
		if f := in.functionals[name]; f.template != nil {
			return Value{}, s.errAt(e, "%s is a generic functional; call it as %s(...) inside a functional", name, name)
		}
		if !s.free {
			return Value{}, s.errAt(e, "functional %s cannot be used here", name)
		}
		return Scalar(in.functionals[name].value), nil
	case in.densities[name] != nil:
		if s.space != nil {
			return Value{}, s.errAt(e, "a functional of %s cannot use another density, %s", s.space.Density, name)
		}
		return Value{}, s.errAt(e, "density %s can only be used inside a functional, or in show and check", name)
	}
	err := s.errAt(e, "undefined: %s", name)
	if Reserved[name] {
		err.Msg = fmt.Sprintf("%s is a reserved word and cannot be used as a value", name)
		return Value{}, err
	}
	if _, ok := in.free[name]; ok && !s.free && err.Hint == "" {
		err.Hint = fmt.Sprintf("%s is a parameter of %s, a free symbol only in show and check", name, in.freeOwner[name])
	}
	if s.space != nil && s.bound != nil && (name == "y" || name == "z") {
		err.Hint = fmt.Sprintf("%s is only bound inside integral(..., %s)", name, name)
	}
	if hint := spell.Suggest(name, s.names(false)); hint != "" && err.Hint == "" {
		err.Hint = "did you mean " + hint + "?"
	}
	return Value{}, err
}

// names lists the names visible in s that fit where a name was not found,
// for spelling hints: values for a name used as a value, functions for a
// name called (so that "foo(x)" is not offered a variable, nor "y" a
// function).
func (s *scope) names(called bool) []string {
	var out []string
	for sc := s; sc != nil; sc = sc.parent {
		for n, b := range sc.vars {
			if (b.fn != "") == called {
				out = append(out, n)
			}
		}
	}
	in := s.in
	for n := range in.objectives {
		out = append(out, n)
	}
	for n := range in.functionals {
		out = append(out, n)
	}
	for n := range in.densities {
		out = append(out, n)
	}
	if called {
		for n := range in.defs {
			out = append(out, n)
		}
		out = append(out, ad.Builtins()...)
		out = append(out, languageFunctions...)
	} else {
		if s.space != nil {
			out = append(out, s.densityName, s.varName)
			for n := range s.bound {
				out = append(out, n)
			}
		}
		for n := range in.lets {
			out = append(out, n)
		}
		if s.free {
			for n := range in.free {
				out = append(out, n)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// languageFunctions are the calls the resolver knows besides the elementary
// functions of autodiff.
var languageFunctions = []string{
	"sqrt", "pow", "norm", "norm2", "dot", "sum", "prod", "diff", "grad", "hess", "jacobian",
	"laplacian", "div", "integral", "vd", "velocity", "pde",
}

func paramList(ps []paramInfo) string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.name
		if p.size > 0 {
			names[i] += "[" + strconv.Itoa(p.size) + "]"
		}
	}
	return strings.Join(names, ", ")
}

// freeSymbol is the value of a free symbol: a scalar, or a vector of the
// symbols name[1..size].
func freeSymbol(name string, size int) Value {
	if size == 0 {
		return Scalar(ad.Symbol(name, 0))
	}
	els := make([]*ad.Node, size)
	for i := range els {
		els[i] = ad.Symbol(name, i+1)
	}
	return Vector(els)
}

// spaceVar is the density's own variable as a value.
func (s *scope) spaceVar() Value { return s.pointVar(s.space.Var) }

// pointVar is a point variable of the density's space (x or a bound y).
func (s *scope) pointVar(actual string) Value {
	sp := s.space
	if sp.Dim == 0 {
		return Scalar(ad.Symbol(actual, 0))
	}
	return freeSymbol(actual, sp.Dim)
}

func (s *scope) noteDensity(name string) {
	if !slices.Contains(s.state.densities, name) {
		s.state.densities = append(s.state.densities, name)
	}
}

func (s *scope) binary(e *BinaryExpr) (Value, *Error) {
	a, err := s.eval(e.X)
	if err != nil {
		return Value{}, err
	}
	b, err := s.eval(e.Y)
	if err != nil {
		return Value{}, err
	}
	if e.Op == "/" && b.IsScalar() && b.S().IsZero() {
		return Value{}, s.errAt(e.Y, "division by zero")
	}
	if e.Op == "^" && a.IsScalar() && b.IsScalar() && a.S().IsZero() {
		if v, ok := b.S().Value(); ok && v.Sign() < 0 {
			return Value{}, s.errAt(e, "division by zero: 0 to a negative power")
		}
	}
	v, aerr := arith(e.Op, a, b)
	if aerr != nil {
		return Value{}, &Error{Src: s.src, Pos: e.OpAt, End: Pos{Line: e.OpAt.Line, Col: e.OpAt.Col + 1}, Msg: aerr.Error()}
	}
	return v, nil
}

func (s *scope) vector(e *VectorExpr) (Value, *Error) {
	if len(e.Elems) == 0 {
		return Value{}, s.errAt(e, "empty vector")
	}
	vals := make([]Value, len(e.Elems))
	for i, x := range e.Elems {
		v, err := s.eval(x)
		if err != nil {
			return Value{}, err
		}
		if v.IsMatrix() {
			return Value{}, s.errAt(x, "a vector's entries must be scalars or (for a matrix) vectors")
		}
		if i > 0 && !sameShape(v, vals[0]) {
			return Value{}, s.errAt(x, "entry %d is %s but entry 1 is %s", i+1, v.ShapeName(), vals[0].ShapeName())
		}
		vals[i] = v
	}
	if vals[0].IsScalar() {
		els := make([]*ad.Node, len(vals))
		for i, v := range vals {
			els[i] = v.S()
		}
		return Vector(els), nil
	}
	rows := make([][]*ad.Node, len(vals))
	for i, v := range vals {
		rows[i] = v.Elems
	}
	return Matrix(rows), nil
}

func (s *scope) index(e *IndexExpr) (Value, *Error) {
	v, err := s.eval(e.X)
	if err != nil {
		return Value{}, err
	}
	if v.IsScalar() {
		return Value{}, s.errAt(e, "cannot index a scalar")
	}
	i, err := s.constInt(e.Index, "an index")
	if err != nil {
		return Value{}, err
	}
	if i < 1 || i > v.Shape[0] {
		return Value{}, s.errAt(e.Index, "index %d out of range 1..%d", i, v.Shape[0])
	}
	if v.IsVector() {
		return Scalar(v.Elems[i-1]), nil
	}
	return Vector(slices.Clone(v.Row(i - 1))), nil
}

// applyDef expands a user function at argument values (defs are inlined).
func (s *scope) applyDef(at Node, name string, args []Value) (Value, *Error) {
	d := s.in.defs[name]
	if len(args) != len(d.params) {
		return Value{}, s.errAt(at, "%s takes %d argument%s (%s), found %d", name, len(d.params), plural(len(d.params)), paramList(d.params), len(args))
	}
	if len(s.expanding) >= MaxDefDepth {
		return Value{}, s.errAt(at, "functions nested more than %d deep", MaxDefDepth)
	}
	if slices.Contains(s.expanding, name) {
		chain := append(slices.Clone(s.expanding[slices.Index(s.expanding, name):]), name)
		return Value{}, s.errAt(at, "recursive definition: %s", strings.Join(chain, " → "))
	}
	for i, p := range d.params {
		want := Value{}
		if p.size > 0 {
			want.Shape = []int{p.size}
		}
		if !sameShape(args[i], want) {
			return Value{}, s.errAt(at, "argument %d of %s (%s) must be %s, found %s", i+1, name, p.name, want.ShapeName(), args[i].ShapeName())
		}
	}
	key := d.key(args)
	if v, ok := d.cache[key]; ok {
		return v, nil
	}
	// A function is its body resolved at symbolic parameters, with the
	// arguments substituted afterwards: so def fp(r) = diff(f(r), r) means
	// f′, whatever it is later called with.
	if v, ok := s.defAtSymbols(d, name); ok {
		out := v
		if m := paramSubstitution(d.params, args); len(m) > 0 {
			out = v.Map(func(e *ad.Node) *ad.Node { return ad.Substitute(e, m) })
		}
		if divisionByZero(out) {
			return Value{}, s.errAt(at, "division by zero in %s at these arguments", name)
		}
		if len(d.cache) < 4096 {
			d.cache[key] = out
		}
		return out, nil
	}
	// the body is resolved in a fresh scope: parameters, lets, other defs
	body := &scope{in: s.in, src: d.src, vars: map[string]binding{}, state: s.state,
		expanding: append(slices.Clone(s.expanding), name)}
	for i, p := range d.params {
		body.vars[p.name] = binding{val: args[i]}
	}
	v, err := body.eval(d.stmt.Body)
	if err != nil {
		if err == errBroken {
			return Value{}, err
		}
		// the body resolved when it was declared, so the cause is here (the
		// arguments, or a name redeclared since): report the call, and
		// where in the body it failed
		call := s.errAt(at, "")
		call.Hint = err.Hint
		call.calls = append([]string{name}, err.calls...)
		call.where, call.bodyMsg = err.where, err.bodyMsg
		if len(err.calls) == 0 {
			call.bodyMsg = err.Msg
			if err.Src != nil && err.Pos.IsValid() {
				call.where = fmt.Sprintf(" (%s:%d:%d)", filepath.Base(err.Src.Name), err.Pos.Line, err.Pos.Col)
			}
		}
		chain := strings.Join(call.calls, " → ")
		if len(call.calls) > 3 {
			chain = call.calls[0] + " → … → " + call.calls[len(call.calls)-1]
		}
		call.Msg = fmt.Sprintf("in %s%s: %s", chain, call.where, call.bodyMsg)
		return Value{}, call
	}
	if len(d.cache) < 4096 {
		d.cache[key] = v
	}
	return v, nil
}

// defAtSymbols resolves a def's body with its parameters as symbols, once
// per declaration; ok is false when that fails (the caller then expands the
// body at the arguments, which reports the error where it arises).
func (s *scope) defAtSymbols(d *defInfo, name string) (Value, bool) {
	const symKey = "·symbols"
	if v, ok := d.cache[symKey]; ok {
		return v, v.Elems != nil
	}
	body := &scope{in: s.in, src: d.src, vars: map[string]binding{}, state: s.state,
		expanding: append(slices.Clone(s.expanding), name)}
	for _, p := range d.params {
		body.vars[p.name] = binding{val: freeSymbol(p.name, p.size)}
	}
	v, err := body.eval(d.stmt.Body)
	if err != nil {
		if err != errBroken && !strings.HasPrefix(err.Msg, "recursive definition") {
			d.cache[symKey] = Value{}
		}
		return Value{}, false
	}
	d.cache[symKey] = v
	return v, true
}

// paramSubstitution maps a def's parameter symbols to argument entries,
// leaving out those passed unchanged.
func paramSubstitution(ps []paramInfo, args []Value) map[*ad.Node]*ad.Node {
	m := map[*ad.Node]*ad.Node{}
	for i, p := range ps {
		for k, sym := range freeSymbol(p.name, p.size).Elems {
			if a := args[i].Elems[k]; a != sym {
				m[sym] = a
			}
		}
	}
	return m
}

// divisionByZero reports whether substitution produced a power of zero
// with a negative exponent (kept unevaluated by the constructors).
func divisionByZero(v Value) bool {
	seen := map[*ad.Node]bool{}
	var walk func(n *ad.Node) bool
	walk = func(n *ad.Node) bool {
		if seen[n] || n.IsNumber() {
			return false
		}
		seen[n] = true
		switch n.Kind() {
		case ad.KPower:
			b, e := n.Args()[0], n.Args()[1]
			if ev, ok := e.Value(); ok && b.IsZero() && ev.Sign() < 0 {
				return true
			}
		case ad.KProduct:
			for i, b := range n.Args() {
				if b.IsZero() && n.Coefs()[i].Sign() < 0 {
					return true
				}
			}
		}
		for _, a := range n.Args() {
			if walk(a) {
				return true
			}
		}
		return false
	}
	for _, e := range v.Elems {
		if walk(e) {
			return true
		}
	}
	return false
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// applyObjective evaluates an objective at argument values by substitution.
func (s *scope) applyObjective(at Node, o *objInfo, args []Value) (Value, *Error) {
	var flat []Value
	if len(args) == len(o.params) {
		flat = args
	} else if len(args) == 1 && args[0].IsVector() && len(args[0].Elems) == len(o.syms) {
		// f(v) with all parameters in one vector
		flat = nil
	} else {
		return Value{}, s.errAt(at, "%s takes %d argument%s (%s), found %d", o.name, len(o.params), plural(len(o.params)), paramList(o.params), len(args))
	}
	m := make(map[*ad.Node]*ad.Node, len(o.syms))
	if flat == nil {
		for i, sym := range o.syms {
			m[sym] = args[0].Elems[i]
		}
	} else {
		k := 0
		for i, p := range o.params {
			want := Value{}
			if p.size > 0 {
				want.Shape = []int{p.size}
			}
			if !sameShape(args[i], want) {
				return Value{}, s.errAt(at, "argument %d of %s (%s) must be %s, found %s", i+1, o.name, p.name, want.ShapeName(), args[i].ShapeName())
			}
			for _, el := range args[i].Elems {
				m[o.syms[k]] = el
				k++
			}
		}
	}
	return Scalar(ad.Substitute(o.value, m)), nil
}

func (s *scope) mention(name string) {
	if !slices.Contains(s.state.mentioned, name) {
		s.state.mentioned = append(s.state.mentioned, name)
	}
}
