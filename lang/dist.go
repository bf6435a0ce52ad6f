// Distributions in scripts: normal, uniform, mix, gibbs and points resolved to solvers.Dist, and sample(D, N).
package lang

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	ad "flowlang/autodiff"
	"flowlang/internal/spell"
	"flowlang/solvers"
)

// distNames are the distributions a script can write (SPEC §3.3).
var distNames = []string{"normal", "uniform", "mix", "gibbs", "points"}

// distForms shows how each distribution is written, for hints.
const distForms = "normal(m, s), uniform(a, b), mix(w1, D1, w2, D2, ...), gibbs(V) or points([...])"

// distribution resolves a distribution expression to a law with dim
// coordinates (dim is the density's Coords(): 1 for q(x), d for q(x[d]));
// dim 0 accepts any dimension and lets the expression decide (show w2,
// whose two sides are then compared with each other). The forms are
//
//   - normal(m, s): independent coordinates with means m and standard
//     deviations s > 0; m is a number in one dimension and a vector of dim
//     numbers otherwise, s a number (the same for every coordinate) or a
//     vector like m;
//   - uniform(a, b): the box with corners a < b (numbers, or vectors of
//     dim numbers);
//   - mix(w1, D1, w2, D2, ...): the mixture of the laws Dk with positive
//     weights wk (normalised to sum 1);
//   - gibbs(V): the law ∝ exp(−V), V the name of a function of the
//     coordinates (def V(x) = ..., its parameters flattened giving the dim
//     coordinates) or an expression in the density's variable. With a
//     density in scope (s.withSpace) the variable is the density's;
//     otherwise (in show) it is the one free variable the expression uses.
//     It is sampled exactly in 1-D and by MALA chains in d ≥ 2 (see
//     solvers.Gibbs);
//   - points([...]): the empirical law of given points, numbers in one
//     dimension, vectors (the rows of a matrix) in several.
//
// Every number must be known now. A law of the wrong dimension is refused
// with an error at the expression.
func (s *scope) distribution(e Expr, dim int) (solvers.Dist, *Error) {
	d, err := s.dist(e, dim)
	if err != nil {
		return nil, err
	}
	if dim > 0 && d.Dim() != dim {
		return nil, s.errAt(e, "%s is a law on %s, but the density has %d coordinate%s", label(s.src, e), spaceName(d.Dim()), dim, plural(dim)).
			withHint(dimHint(dim))
	}
	return d, nil
}

// spaceName is R or R^d for messages.
func spaceName(d int) string {
	if d == 1 {
		return "R"
	}
	return fmt.Sprintf("R^%d", d)
}

// dimHint shows a law of dimension dim.
func dimHint(dim int) string {
	if dim == 1 {
		return "in one dimension write numbers, e.g. normal(0, 1)"
	}
	zeros := make([]string, dim)
	for i := range zeros {
		zeros[i] = "0"
	}
	if dim > 4 {
		zeros = []string{"0", "0", "…", "0"}
	}
	return fmt.Sprintf("in %d dimensions write vectors, e.g. normal([%s], 1)", dim, strings.Join(zeros, ", "))
}

// isDistCall reports whether e is written as a call of a distribution.
func isDistCall(e Expr) bool {
	c, ok := unparen(e).(*CallExpr)
	return ok && slices.Contains(distNames, c.Fun.Name)
}

// isSampleCall reports whether e is written as sample(D, N).
func isSampleCall(e Expr) bool {
	c, ok := unparen(e).(*CallExpr)
	return ok && c.Fun.Name == "sample"
}

func unparen(e Expr) Expr {
	for {
		p, ok := e.(*ParenExpr)
		if !ok {
			return e
		}
		e = p.X
	}
}

// dist resolves a distribution without checking its dimension against
// dim at the top (the components of a mix are checked by dist itself).
func (s *scope) dist(e Expr, dim int) (solvers.Dist, *Error) {
	call, ok := unparen(e).(*CallExpr)
	if !ok || !slices.Contains(distNames, call.Fun.Name) {
		err := s.errAt(e, "expected a distribution: %s", distForms)
		if ok {
			if call.Fun.Name == "sample" {
				err.Msg = "sample(D, N) is a cloud of points, not a law; it is allowed after from and in show w2"
			} else if hint := spell.Suggest(call.Fun.Name, distNames); hint != "" {
				err.Hint = "did you mean " + hint + "?"
			}
		}
		if t, isTuple := e.(*TupleExpr); isTuple {
			err.Msg = "expected a distribution, not a point"
			err.Hint = "a cloud of given points is points([...]); e.g. points([" + label(s.src, t.Elems[0]) + ", ...])"
		}
		return nil, err
	}
	switch call.Fun.Name {
	case "normal":
		return s.normalDist(call, dim)
	case "uniform":
		return s.uniformDist(call, dim)
	case "mix":
		return s.mixDist(call, dim)
	case "gibbs":
		return s.gibbsDist(call, dim)
	}
	return s.pointsDist(call, dim)
}

// distError turns a solvers error about a law into an error at the call.
func (s *scope) distError(call *CallExpr, err error) *Error {
	msg := err.Error()
	// solvers prefix their messages with the law's name; say it once
	msg = strings.TrimPrefix(msg, call.Fun.Name+": ")
	return s.errAt(call, "%s: %s", call.Fun.Name, msg)
}

// numbers evaluates e to numbers known now: a scalar (vector false) or a
// vector's entries.
func (s *scope) numbers(e Expr, what string) (vals []float64, vector bool, err *Error) {
	v, err := s.eval(e)
	if err != nil {
		return nil, false, err
	}
	if v.IsMatrix() {
		return nil, false, s.errAt(e, "%s must be a number or a vector, found %s", what, v.ShapeName())
	}
	vals = make([]float64, len(v.Elems))
	for i, n := range v.Elems {
		if !n.IsConstant() {
			return nil, false, s.errAt(e, "%s must be known now, found %s", what, brief(n))
		}
		x, evErr := ad.Eval(n, nil)
		if evErr != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, false, s.errAt(e, "%s is not a finite number: %s", what, brief(n))
		}
		vals[i] = x
	}
	return vals, v.IsVector(), nil
}

// coords evaluates a location argument (a mean, a corner) that must have
// dim coordinates: a number (or a vector of one) in one dimension, a
// vector of dim numbers otherwise; dim 0 accepts either and lets the
// argument decide the dimension.
func (s *scope) coords(e Expr, what string, dim int) ([]float64, *Error) {
	vals, vector, err := s.numbers(e, what)
	if err != nil {
		return nil, err
	}
	switch {
	case dim == 1 && len(vals) != 1:
		return nil, s.errAt(e, "%s is a vector of %d, but the density has one coordinate", what, len(vals)).withHint(dimHint(1))
	case dim > 1 && !vector:
		return nil, s.errAt(e, "%s is a number, but the density has %d coordinates", what, dim).withHint(dimHint(dim))
	case dim > 1 && len(vals) != dim:
		return nil, s.errAt(e, "%s has %d coordinates, but the density has %d", what, len(vals), dim).withHint(dimHint(dim))
	case len(vals) > solvers.MaxDim:
		return nil, s.errAt(e, "%s has %d coordinates, more than %d", what, len(vals), solvers.MaxDim)
	}
	return vals, nil
}

func (s *scope) normalDist(call *CallExpr, dim int) (solvers.Dist, *Error) {
	if len(call.Args) != 2 {
		return nil, s.errAt(call, "normal takes a mean and a standard deviation: normal(m, s)")
	}
	mean, err := s.coords(call.Args[0], "the mean", dim)
	if err != nil {
		return nil, err
	}
	sd, vector, err := s.numbers(call.Args[1], "the standard deviation")
	if err != nil {
		return nil, err
	}
	if vector && len(sd) != len(mean) {
		return nil, s.errAt(call.Args[1], "the standard deviations are %d but the mean has %d coordinate%s", len(sd), len(mean), plural(len(mean))).
			withHint("give one standard deviation for all coordinates, or one per coordinate")
	}
	for _, v := range sd {
		if !(v > 0) {
			return nil, s.errAt(call.Args[1], "the standard deviation must be positive, found %s", FormatNumber(v, 6))
		}
	}
	n, nerr := solvers.NewNormal(mean, sd)
	if nerr != nil {
		return nil, s.distError(call, nerr)
	}
	return n, nil
}

func (s *scope) uniformDist(call *CallExpr, dim int) (solvers.Dist, *Error) {
	if len(call.Args) != 2 {
		return nil, s.errAt(call, "uniform takes two corners: uniform(a, b) with a < b")
	}
	lo, err := s.coords(call.Args[0], "the lower corner", dim)
	if err != nil {
		return nil, err
	}
	hi, err := s.coords(call.Args[1], "the upper corner", dim)
	if err != nil {
		return nil, err
	}
	if len(hi) != len(lo) {
		return nil, s.errAt(call.Args[1], "the corners have %d and %d coordinates", len(lo), len(hi))
	}
	for i := range lo {
		if !(lo[i] < hi[i]) {
			at := ""
			if len(lo) > 1 {
				at = fmt.Sprintf(" in coordinate %d", i+1)
			}
			return nil, s.errAt(call, "uniform(a, b) needs a < b%s, found a = %s, b = %s", at, FormatNumber(lo[i], 6), FormatNumber(hi[i], 6))
		}
	}
	u, uerr := solvers.NewUniform(lo, hi)
	if uerr != nil {
		return nil, s.distError(call, uerr)
	}
	return u, nil
}

func (s *scope) mixDist(call *CallExpr, dim int) (solvers.Dist, *Error) {
	if len(call.Args) < 2 || len(call.Args)%2 != 0 {
		return nil, s.errAt(call, "mix takes pairs of a weight and a law: mix(w1, D1, w2, D2, ...)")
	}
	var ws []float64
	var comps []solvers.Dist
	for k := 0; k < len(call.Args); k += 2 {
		w, err := s.constNumber(call.Args[k], fmt.Sprintf("weight %d", k/2+1))
		if err != nil {
			return nil, err
		}
		if !(w > 0) {
			return nil, s.errAt(call.Args[k], "the weights of a mixture must be positive, found %s", FormatNumber(w, 6))
		}
		c, err := s.dist(call.Args[k+1], dim)
		if err != nil {
			return nil, err
		}
		if dim == 0 && k > 0 && c.Dim() != comps[0].Dim() {
			return nil, s.errAt(call.Args[k+1], "this law is on %s, the first on %s: the laws of a mixture share one space", spaceName(c.Dim()), spaceName(comps[0].Dim()))
		}
		if dim > 0 && c.Dim() != dim {
			return nil, s.errAt(call.Args[k+1], "%s is a law on %s, but the density has %d coordinate%s", label(s.src, call.Args[k+1]), spaceName(c.Dim()), dim, plural(dim)).withHint(dimHint(dim))
		}
		ws = append(ws, w)
		comps = append(comps, c)
	}
	m, merr := solvers.NewMix(ws, comps)
	if merr != nil {
		return nil, s.distError(call, merr)
	}
	return m, nil
}

// gibbsDist resolves gibbs(V): the potential as an expression of the
// coordinates, compiled to a tape giving V and ∇V.
func (s *scope) gibbsDist(call *CallExpr, dim int) (solvers.Dist, *Error) {
	if len(call.Args) != 1 {
		return nil, s.errAt(call, "gibbs takes one potential: gibbs(V), the law ∝ exp(−V)")
	}
	arg := call.Args[0]
	var v *ad.Node
	var syms []*ad.Node
	name := label(s.src, arg)
	if id, ok := unparen(arg).(*Ident); ok && s.in.defs[id.Name] != nil && !s.isLocal(id.Name) {
		// a function of the coordinates, applied at the density's variable
		// (or at its own parameters)
		d := s.in.defs[id.Name]
		n := 0
		for _, p := range d.params {
			n += max(p.size, 1)
		}
		if dim > 0 && n != dim {
			return nil, s.errAt(arg, "%s(%s) takes %d coordinate%s, but the density has %d", id.Name, paramList(d.params), n, plural(n), dim)
		}
		var args []Value
		if s.space != nil && s.space.Coords() == n {
			args, syms = splitArgs(s.spaceVar().Elems, d.params)
		} else {
			for _, p := range d.params {
				fv := freeSymbol(p.name, p.size)
				args = append(args, fv)
				syms = append(syms, fv.Elems...)
			}
			if dupSymbols(syms) {
				return nil, s.errAt(arg, "gibbs(%s): the parameters of %s repeat a name", id.Name, id.Name)
			}
		}
		val, err := s.applyDef(arg, id.Name, args)
		if err != nil {
			return nil, err
		}
		if !val.IsScalar() {
			return nil, s.errAt(arg, "the potential of gibbs must be a scalar, %s gives %s", id.Name, val.ShapeName())
		}
		v = val.S()
	} else {
		val, err := s.eval(arg)
		if err != nil {
			return nil, err
		}
		if !val.IsScalar() {
			return nil, s.errAt(arg, "the potential of gibbs must be a scalar, found %s", val.ShapeName())
		}
		v = val.S()
		syms, err = s.gibbsVariable(arg, v, dim)
		if err != nil {
			return nil, err
		}
	}
	if v.HasIntegral() {
		return nil, s.errAt(arg, "the potential of gibbs cannot contain an integral")
	}
	for _, f := range v.FreeSymbols() {
		if f.Kind() == ad.KJet {
			return nil, s.errAt(arg, "the potential of gibbs cannot involve the density %s: the law ∝ exp(−V) needs V(x) alone", f.Name())
		}
		if !slices.Contains(syms, f) {
			return nil, s.errAt(arg, "the potential of gibbs depends on %s, which is not a coordinate (%s)", ad.String(f), symbolNames(syms))
		}
	}
	if len(syms) > solvers.MaxDim {
		return nil, s.errAt(arg, "gibbs in %d dimensions: at most %d", len(syms), solvers.MaxDim)
	}
	outs := []*ad.Node{v}
	for _, x := range syms {
		outs = append(outs, ad.Diff(v, x))
	}
	prog, cerr := ad.Compile(outs, syms)
	if cerr != nil {
		return nil, s.errAt(arg, "cannot compile the potential of gibbs: %v", cerr)
	}
	g, gerr := solvers.NewGibbs(prog, name)
	if gerr != nil {
		return nil, s.errAt(call, "%s", strings.TrimPrefix(gerr.Error(), "gibbs("+name+"): ")).withHint("gibbs(V) needs V finite and growing at infinity, so that exp(−V) is integrable")
	}
	return g, nil
}

// isLocal reports whether name is bound in the scope itself (a template's
// parameter, say), so that it does not mean a declared function.
func (s *scope) isLocal(name string) bool {
	_, ok := s.lookupVar(name)
	return ok
}

// splitArgs cuts the coordinates xs into a function's arguments by its
// parameters' shapes.
func splitArgs(xs []*ad.Node, ps []paramInfo) ([]Value, []*ad.Node) {
	var args []Value
	k := 0
	for _, p := range ps {
		if p.size == 0 {
			args = append(args, Scalar(xs[k]))
			k++
			continue
		}
		args = append(args, Vector(slices.Clone(xs[k:k+p.size])))
		k += p.size
	}
	return args, xs
}

func dupSymbols(syms []*ad.Node) bool {
	seen := map[*ad.Node]bool{}
	for _, s := range syms {
		if seen[s] {
			return true
		}
		seen[s] = true
	}
	return false
}

// gibbsVariable returns the coordinates a potential written as an
// expression is a function of: the density's variable when one is in
// scope, else the one free variable it uses (a scalar, or a vector
// declared with its length).
func (s *scope) gibbsVariable(at Expr, v *ad.Node, dim int) ([]*ad.Node, *Error) {
	if s.space != nil {
		xs := s.spaceVar().Elems
		if dim > 0 && len(xs) != dim {
			return nil, s.errAt(at, "the potential is a function of %s, which has %d coordinate%s, but the law needs %d", s.space.Var, len(xs), plural(len(xs)), dim)
		}
		return xs, nil
	}
	var base *ad.Node
	for _, f := range v.FreeSymbols() {
		if f.Kind() != ad.KSymbol {
			continue
		}
		if base != nil && f.Name() != base.Name() {
			return nil, s.errAt(at, "the potential of gibbs depends on %s and %s: it must be a function of one variable (a vector in several dimensions)", base.Name(), f.Name())
		}
		base = f
	}
	if base == nil {
		return nil, s.errAt(at, "the potential of gibbs must depend on the variable: exp(−%s) is not a probability density on the whole space", brief(v)).
			withHint("e.g. gibbs(x^2/2) is normal(0, 1)")
	}
	var xs []*ad.Node
	if base.Index() == 0 {
		xs = []*ad.Node{base}
	} else {
		size := s.in.free[base.Name()]
		if size == 0 {
			return nil, s.errAt(at, "the potential of gibbs uses %s as a vector, but its length is not declared", base.Name())
		}
		xs = freeSymbol(base.Name(), size).Elems
	}
	if dim > 0 && len(xs) != dim {
		return nil, s.errAt(at, "the potential is a function of %s, which has %d coordinate%s, but the law needs %d", base.Name(), len(xs), plural(len(xs)), dim)
	}
	return xs, nil
}

// pointsDist resolves points([...]): numbers in one dimension, the rows of
// a matrix in several.
func (s *scope) pointsDist(call *CallExpr, dim int) (solvers.Dist, *Error) {
	if len(call.Args) != 1 {
		return nil, s.errAt(call, "points takes one list of points: points([x1, x2, ...]) or points([[x1, y1], [x2, y2], ...])")
	}
	arg := call.Args[0]
	v, err := s.eval(arg)
	if err != nil {
		return nil, err
	}
	var pts [][]float64
	switch {
	case v.IsScalar():
		return nil, s.errAt(arg, "points needs a list: points([%s])", label(s.src, arg))
	case v.IsVector():
		if dim > 1 {
			return nil, s.errAt(arg, "these are points of R, but the density has %d coordinates", dim).
				withHint(fmt.Sprintf("write each point as a vector of %d: points([[...], [...]])", dim))
		}
		for _, n := range v.Elems {
			pts = append(pts, []float64{0})
			if pts[len(pts)-1][0], err = s.pointNumber(arg, n); err != nil {
				return nil, err
			}
		}
	default:
		rows, cols := v.Shape[0], v.Shape[1]
		if dim == 1 {
			return nil, s.errAt(arg, "these are points of R^%d, but the density has one coordinate", cols).
				withHint("write the points as numbers: points([x1, x2, ...])")
		}
		if dim > 1 && cols != dim {
			return nil, s.errAt(arg, "these are points of R^%d, but the density has %d coordinates", cols, dim)
		}
		for i := 0; i < rows; i++ {
			pt := make([]float64, cols)
			for c, n := range v.Row(i) {
				if pt[c], err = s.pointNumber(arg, n); err != nil {
					return nil, err
				}
			}
			pts = append(pts, pt)
		}
	}
	p, perr := solvers.NewPoints(pts)
	if perr != nil {
		return nil, s.distError(call, perr)
	}
	return p, nil
}

func (s *scope) pointNumber(at Expr, n *ad.Node) (float64, *Error) {
	if !n.IsConstant() {
		return 0, s.errAt(at, "the points must be numbers known now, found %s", brief(n))
	}
	x, evErr := ad.Eval(n, nil)
	if evErr != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, s.errAt(at, "a point's coordinate is not a finite number: %s", brief(n))
	}
	return x, nil
}

// MaxSampleSize bounds N in sample(D, N): beyond it the cloud's indices
// would not fit the solvers' 32-bit permutations. Memory is checked
// separately, against what the machine has.
const MaxSampleSize = math.MaxInt32

// sampleSpec resolves sample(D, N) without drawing: the law (with dim
// coordinates, 0 for any) and the number of points N ≥ 1. The caller
// estimates the memory of what it will do with N points before drawing
// (solvers.EstimateParticleBytes for a run).
func (s *scope) sampleSpec(e Expr, dim int) (solvers.Dist, int, *Error) {
	call, ok := unparen(e).(*CallExpr)
	if !ok || call.Fun.Name != "sample" {
		return nil, 0, s.errAt(e, "expected sample(D, N), a cloud of N points drawn from a law D")
	}
	if len(call.Args) != 2 {
		return nil, 0, s.errAt(call, "sample takes a law and a number of points: sample(D, N), e.g. sample(normal(0, 1), 1000)")
	}
	d, err := s.distribution(call.Args[0], dim)
	if err != nil {
		return nil, 0, err
	}
	n, err := s.constInt(call.Args[1], "the number of points")
	if err != nil {
		return nil, 0, err
	}
	if n <= 0 {
		return nil, 0, s.errAt(call.Args[1], "the number of points must be positive, found %d", n)
	}
	if n > MaxSampleSize {
		return nil, 0, s.errAt(call.Args[1], "too many points: %d (at most %d)", n, MaxSampleSize)
	}
	return d, n, nil
}

// drawSample resolves and draws sample(D, N) with the given seed (the
// draw depends on the seed alone, not on the number of cores). A cloud
// that would not fit in memory is refused before allocating.
func (s *scope) drawSample(e Expr, dim int, seed uint64) (*solvers.Particles, solvers.Dist, *Error) {
	d, n, err := s.sampleSpec(e, dim)
	if err != nil {
		return nil, nil, err
	}
	p, serr := solvers.SampleParticles(d, n, seed, 0)
	if serr != nil {
		return nil, nil, s.memoryError(e, serr)
	}
	return p, d, nil
}

// memoryError positions an error of the solvers about the size of a cloud
// or a run; a refusal for memory gets a hint.
func (s *scope) memoryError(at Node, err error) *Error {
	e := s.errAt(at, "%v", err)
	var me *solvers.MemoryError
	if errors.As(err, &me) {
		e.Hint = "use fewer particles"
	}
	return e
}
