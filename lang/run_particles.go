// run for functionals by particles: δF/δq split into potential, interaction and entropy; langevin, mala, particles, blob, svgd.
package lang

import (
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	ad "flowlang/autodiff"
	"flowlang/internal/atomicfile"
	"flowlang/internal/plotting"
	"flowlang/solvers"
)

func init() {
	for _, m := range solvers.ParticleMethods() {
		rm := &runMethod{
			RunMethod: RunMethod{Name: m.Name, Target: "functional", Doc: m.Doc, Until: m.Until},
			run:       runParticles,
		}
		for _, p := range m.Params {
			rm.Params = append(rm.Params, RunParam{Name: p.Name, Doc: p.Doc, Default: p.Default, Required: p.Required, Int: p.Int, Check: p.Check})
		}
		registerRunMethod(rm)
	}
}

// otherTermMethods says which methods handle terms of δF/δq that particles
// cannot see (derivatives of q, q itself other than through log q, general
// nonlocal terms): they solve for the density itself.
const otherTermMethods = "grid (or, in one dimension and without derivatives of q, jko)"

// particleTerms is a functional's variational derivative split for
// particle methods,
//
//	δF/δq = V(x) + ∫W(x − y) q(y) dy + D·log q + const,
//
// the three parts being the potential (drift −∇V at each particle), the
// interaction (drift −(1/N)Σⱼ∇W(xᵢ − xⱼ)) and the entropy D∫q log q
// (Brownian noise √(2D) dW with D = 1/β, or a smoothed density). Its
// energy, F = ∫V q + ½∬W(x − y)q(x)q(y) + D∫q log q up to a constant, is
// what the rows report.
type particleTerms struct {
	sp *ad.Space
	xs []*ad.Node // the coordinates of x, the tapes' inputs
	vd *ad.Node   // δF/δq

	// potential is V(x) (nil when no term of δF/δq depends on x alone).
	potential *ad.Node
	// kernel is W as a function of the difference, written in xs (nil
	// when there is no interaction); interactions are the terms it came
	// from.
	kernel       *ad.Node
	interactions []*ad.Node
	// diffusion is D = 1/β, the entropy's coefficient; entropy holds the
	// terms of δF/δq it came from.
	diffusion float64
	entropy   []*ad.Node

	rejected []rejectedTerm
}

// rejectedTerm is a term of δF/δq no particle method can handle.
type rejectedTerm struct {
	term *ad.Node
	why  string
}

// translationTol is the relative tolerance of the numeric test that a
// kernel G(x, y) is W(x − y): both are evaluated by the same arithmetic
// at points of size about 2, so they agree to a few ulps times the
// expression's depth when the identity holds; 1e-9 leaves room for deep
// kernels and still rejects any real dependence on x + y.
const translationTol = 1e-9

// translationPoints is how many random points the kernel test uses.
const translationPoints = 16

// splitParticleTerms computes δF/δq of f and splits it (see particleTerms).
// Terms that fit none of the three parts are collected in rejected.
func splitParticleTerms(f *funcInfo) (*particleTerms, error) {
	sp := f.space
	vd, err := sp.VariationalDerivative(f.value)
	if err != nil {
		return nil, err
	}
	pt := &particleTerms{sp: &sp, vd: vd}
	for i := 0; i < sp.Coords(); i++ {
		pt.xs = append(pt.xs, sp.Coord(sp.Var, i))
	}
	q := sp.Q(sp.Var, nil)
	var pot, kern []*ad.Node
	constant := ad.Zero()
	for _, t := range ad.Summands(vd) {
		switch {
		case t.IsConstant():
			constant = ad.Add(constant, t)
		case !pt.dependsOnX(t):
			// a closed integral (a number once q is known): no force
		case t.HasIntegral():
			w, why := pt.interactionKernel(t)
			if why != "" {
				pt.rejected = append(pt.rejected, rejectedTerm{t, why})
				continue
			}
			kern = append(kern, w)
			pt.interactions = append(pt.interactions, t)
		case pt.hasJets(t):
			c, rest, why := pt.entropyPart(t, q)
			if why != "" {
				pt.rejected = append(pt.rejected, rejectedTerm{t, why})
				continue
			}
			pt.diffusion += c
			pt.entropy = append(pt.entropy, t)
			pot = append(pot, rest)
		default:
			pot = append(pot, t)
		}
	}
	if len(pt.entropy) > 0 {
		// δ/δq of D∫q log q is D log q + D: the constant D belongs to the
		// entropy, not to the potential's energy
		constant = ad.Sub(constant, ad.FloatNode(pt.diffusion))
	}
	if v := ad.Add(pot...); pt.dependsOnX(v) {
		pt.potential = ad.Add(v, constant)
	}
	if len(kern) > 0 {
		pt.kernel = ad.Add(kern...)
	}
	return pt, nil
}

// dependsOnX reports whether e depends on the density's own variable (a
// coordinate, or a jet of q at x).
func (pt *particleTerms) dependsOnX(e *ad.Node) bool {
	for _, f := range e.FreeSymbols() {
		switch f.Kind() {
		case ad.KSymbol:
			if f.Name() == pt.sp.Var {
				return true
			}
		case ad.KJet:
			if f.Point() == pt.sp.Var {
				return true
			}
		}
	}
	return false
}

func (pt *particleTerms) hasJets(e *ad.Node) bool {
	for _, f := range e.FreeSymbols() {
		if f.Kind() == ad.KJet {
			return true
		}
	}
	return false
}

// entropyPart writes a term with jets as c·log q + rest(x), the form of
// the entropy's δ/δq: its derivative in q must be c/q with c a number
// (then rest is the term at q = 1). why says what else it is.
func (pt *particleTerms) entropyPart(t, q *ad.Node) (c float64, rest *ad.Node, why string) {
	for _, f := range t.FreeSymbols() {
		if f.Kind() != ad.KJet {
			continue
		}
		if f.Name() != pt.sp.Density || f.Point() != pt.sp.Var || !isZeroAlpha(f.Alpha()) {
			return 0, nil, fmt.Sprintf("it depends on derivatives of %s, which particles do not carry (Fisher information and other gradient terms)", pt.sp.Density)
		}
	}
	h := ad.Mul(ad.Diff(t, q), q)
	if !h.IsConstant() {
		return 0, nil, fmt.Sprintf("it depends on %s itself, not only through log(%s) (a porous-medium or other local term), and particles carry no density values", pt.sp.Density, pt.sp.Density)
	}
	v, err := ad.Eval(h, nil)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, nil, "its coefficient of log(" + pt.sp.Density + ") is not a finite number"
	}
	if v < 0 {
		return 0, nil, fmt.Sprintf("it is a negative multiple of log(%s): a negative entropy makes the flow a backward heat equation, which is ill-posed", pt.sp.Density)
	}
	rest = ad.Substitute(t, map[*ad.Node]*ad.Node{q: ad.One()})
	if pt.hasJets(rest) {
		return 0, nil, fmt.Sprintf("it depends on %s other than through log(%s)", pt.sp.Density, pt.sp.Density)
	}
	return v, rest, ""
}

// interactionKernel recognises a nonlocal term c·∫G(x, y) q(y) dy with G
// free of q and a function of x − y alone, and returns c·W as a function
// of the difference written in x (W(z) = G(z, 0)). why says what else the
// term is.
func (pt *particleTerms) interactionKernel(t *ad.Node) (w *ad.Node, why string) {
	const notInteraction = "it is a nonlocal term other than an interaction ∫K(x − y) q(y) dy"
	coef, in := ad.One(), t
	if t.Kind() == ad.KSum && len(t.Args()) == 1 && t.Const().IsZero() {
		coef, in = ad.Number(t.Coefs()[0]), t.Args()[0]
	}
	if in.Kind() != ad.KIntegral || in.Home() {
		return nil, notInteraction
	}
	body, y := in.Args()[0], in.Name()
	qy := pt.sp.Q(y, nil)
	for _, f := range body.FreeSymbols() {
		if f.Kind() == ad.KJet && f != qy {
			return nil, notInteraction + fmt.Sprintf(": it involves %s other than %s(%s)", ad.String(f), pt.sp.Density, y)
		}
	}
	if body.HasIntegral() {
		return nil, notInteraction + ": it nests integrals"
	}
	g := ad.Diff(body, qy)
	if !ad.Diff(g, qy).IsZero() || !ad.Sub(body, ad.Mul(g, qy)).IsZero() && !ad.Expand(ad.Sub(body, ad.Mul(g, qy))).IsZero() {
		return nil, notInteraction + fmt.Sprintf(": it is not linear in %s(%s)", pt.sp.Density, y)
	}
	// W(z) = G(z, 0), then G(x, y) = W(x − y) must hold
	ys := make([]*ad.Node, len(pt.xs))
	zero := map[*ad.Node]*ad.Node{}
	shift := map[*ad.Node]*ad.Node{}
	for i, x := range pt.xs {
		ys[i] = pt.sp.Coord(y, i)
		zero[ys[i]] = ad.Zero()
		shift[x] = ad.Sub(x, ys[i])
	}
	w = ad.Substitute(g, zero)
	if !sameFunction(g, ad.Substitute(w, shift), append(slices.Clone(pt.xs), ys...)) {
		return nil, fmt.Sprintf("its kernel %s is not a function of %s − %s alone, and particle interactions are", ad.String(g), pt.sp.Var, y)
	}
	return ad.Mul(coef, w), ""
}

// sameFunction reports whether a and b are the same function of vars:
// symbolically, after expansion, or else numerically at
// translationPoints random points in [−2, 2] (fixed, so the answer is
// reproducible).
func sameFunction(a, b *ad.Node, vars []*ad.Node) bool {
	d := ad.Sub(a, b)
	if d.IsZero() || ad.Expand(d).IsZero() {
		return true
	}
	rng := rand.New(rand.NewPCG(1, 2))
	vals := map[*ad.Node]float64{}
	for k := 0; k < translationPoints; k++ {
		for _, v := range vars {
			vals[v] = 4*rng.Float64() - 2
		}
		va, err1 := ad.Eval(a, vals)
		vb, err2 := ad.Eval(b, vals)
		if err1 != nil || err2 != nil {
			return false
		}
		if math.IsNaN(va) && math.IsNaN(vb) {
			continue
		}
		if !(math.Abs(va-vb) <= translationTol*math.Max(1, math.Max(math.Abs(va), math.Abs(vb)))) {
			return false
		}
	}
	return true
}

// describe lists the parts for the record: the potential V(x), the
// kernel W(z) (in x) and D.
func (pt *particleTerms) describe() map[string]any {
	m := map[string]any{"vd": ad.String(pt.vd)}
	if pt.potential != nil {
		m["potential"] = ad.String(pt.potential)
	}
	if pt.kernel != nil {
		m["interaction"] = ad.String(pt.kernel)
	}
	if pt.diffusion != 0 {
		m["diffusion"] = pt.diffusion
	}
	return m
}

// particleProblem compiles the parts to batch-mode tapes: ∇V with V as a
// last output, ∇W with W.
func (pt *particleTerms) particleProblem() (*solvers.ParticleProblem, error) {
	p := &solvers.ParticleProblem{Dim: len(pt.xs), Diffusion: pt.diffusion}
	term := func(e *ad.Node) (*solvers.ParticleTerm, error) {
		outs := make([]*ad.Node, 0, len(pt.xs)+1)
		for _, x := range pt.xs {
			outs = append(outs, ad.Diff(e, x))
		}
		outs = append(outs, e)
		prog, err := ad.Compile(outs, pt.xs)
		if err != nil {
			return nil, err
		}
		return &solvers.ParticleTerm{Grad: prog}, nil
	}
	var err error
	if pt.potential != nil {
		if p.Potential, err = term(pt.potential); err != nil {
			return nil, fmt.Errorf("the potential: %w", err)
		}
	}
	if pt.kernel != nil {
		if p.Interaction, err = term(pt.kernel); err != nil {
			return nil, fmt.Errorf("the interaction kernel: %w", err)
		}
	}
	return p, nil
}

// termsText prints terms joined by +, for messages.
func termsText(ts []*ad.Node) string {
	return ad.String(ad.Add(ts...))
}

// particleRun is a run of a functional by particles, resolved.
type particleRun struct {
	*runCtx
	f       *funcInfo
	pt      *particleTerms
	problem *solvers.ParticleProblem
	pm      solvers.ParticleMethod
	set     *solvers.ParticleSettings
	dim     int
	ds      *scope // the run's scope with the density in scope

	init    solvers.Dist
	n       int
	fromN   Expr // where N was written (or the points)
	cmp     solvers.Dist
	cmpText string

	monNames []string
	monExprs []*ad.Node
	tSym     *ad.Node

	columns   []string
	coordCols []string
	energyCol bool
	w2Col     bool
	acceptCol bool
}

func runParticles(in *Interp, rc *runCtx) *Error {
	f := in.functionals[rc.target]
	r := &particleRun{runCtx: rc, f: f, dim: f.space.Coords()}
	r.ds = rc.s.withSpace(&f.space)
	if err := r.resolve(); err != nil {
		return err
	}
	if in.opts.CheckOnly {
		return nil
	}
	return r.execute()
}

// resolve splits the functional, checks it against the method, and
// resolves from, compare to and the monitors.
func (r *particleRun) resolve() *Error {
	st := r.st
	pt, err := splitParticleTerms(r.f)
	if err != nil {
		return r.errAt(st.Target, "cannot take the variational derivative of %s: %v", r.f.name, err)
	}
	r.pt = pt
	if len(pt.rejected) > 0 {
		return r.rejectedError()
	}
	if pt.potential == nil && pt.kernel == nil && pt.diffusion == 0 {
		return r.errAt(st.Target, "%s has no force for particles: δ%s/δ%s = %s does not depend on %s", r.f.name, r.f.name, pt.sp.Density, ad.String(pt.vd), pt.sp.Var)
	}
	p, cerr := pt.particleProblem()
	if cerr != nil {
		return r.errAt(st.Target, "cannot compile %s: %v", r.f.name, cerr)
	}
	r.problem = p

	// the method, from the parameters the run wrote (the others take the
	// solvers' defaults: computed eps and bandwidth, exact interactions)
	r.set = &solvers.ParticleSettings{}
	params := map[string]float64{}
	for name := range r.given {
		if v, ok := r.params[name]; ok {
			params[name] = v
		}
	}
	m, merr := solvers.NewParticleMethod(r.method.Name, params, r.set)
	if merr != nil {
		var pe *solvers.ParamError
		if errors.As(merr, &pe) && r.args[pe.Param] != nil {
			return r.errAt(r.args[pe.Param].Value, "%s must be %s, found %s", pe.Param, pe.Want, FormatNumber(pe.Value, 6))
		}
		return r.errAt(st.Method, "%v", merr)
	}
	r.pm = m
	if cerr := m.Check(p); cerr != nil {
		return r.termError(cerr)
	}
	if a := r.args["batch"]; a != nil && p.Interaction == nil {
		return r.errAt(a.Name, "batch is the size of the random batches of an interaction, and %s has none", r.f.name).
			withHint("remove batch = ..., or add an interaction: functional F[q] = ... + interaction(K)")
	}

	if err := r.resolveFrom(); err != nil {
		return err
	}
	if st.Compare != nil {
		if err := r.resolveCompare(); err != nil {
			return err
		}
	}
	return r.resolveMonitors()
}

// rejectedError reports the first term of δF/δq that particles cannot
// handle, and the methods that can.
func (r *particleRun) rejectedError() *Error {
	rt := r.pt.rejected[0]
	msg := fmt.Sprintf("%s cannot handle the term %s of vd(%s): %s", r.method.Name, brief(rt.term), r.f.name, rt.why)
	if k := len(r.pt.rejected) - 1; k > 0 {
		msg += fmt.Sprintf(" (and %d more such term%s)", k, plural(k))
	}
	return r.errAt(r.st.Method.Name, "%s", msg).
		withHint(fmt.Sprintf("particle methods handle a potential, interactions ∫K(x − y)q(y)dy and the entropy; for this functional use %s", otherTermMethods))
}

// termError reports a part of the functional the method cannot handle,
// with the terms of δF/δq it comes from.
func (r *particleRun) termError(err error) *Error {
	var te *solvers.TermError
	if !errors.As(err, &te) {
		return r.errAt(r.st.Method, "%v", err)
	}
	what := te.Term
	switch te.Term {
	case "the entropy":
		what = fmt.Sprintf("the entropy (the term %s of vd(%s))", termsText(r.pt.entropy), r.f.name)
	case "the interaction":
		what = fmt.Sprintf("the interaction (the term %s of vd(%s))", termsText(r.pt.interactions), r.f.name)
	}
	msg := fmt.Sprintf("%s cannot handle %s", te.Method, what)
	if te.Why != "" {
		msg += ": " + te.Why
	}
	e := r.errAt(r.st.Method.Name, "%s", msg)
	if len(te.Can) > 0 {
		e.Hint = "use " + orList(te.Can)
	}
	return e
}

func orList(names []string) string {
	if len(names) <= 1 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// resolveFrom reads the starting cloud: sample(D, N), or points([...])
// to start exactly at given points.
func (r *particleRun) resolveFrom() *Error {
	st := r.st
	if st.From == nil {
		return r.errAt(st.Target, "a run of %s by particles needs a starting cloud: run %s from sample(DIST, N) using %s(...)", r.f.name, r.f.name, r.pm.Name()).
			withHint("e.g. from sample(normal(0, 1), 1000)")
	}
	switch {
	case isSampleCall(st.From):
		d, n, err := r.ds.sampleSpec(st.From, r.dim)
		if err != nil {
			return err
		}
		r.init, r.n, r.fromN = d, n, unparen(st.From).(*CallExpr).Args[1]
	case isDistCall(st.From) && unparen(st.From).(*CallExpr).Fun.Name == "points":
		d, err := r.ds.distribution(st.From, r.dim)
		if err != nil {
			return err
		}
		r.init, r.n, r.fromN = d, d.(*solvers.Points).P.N, st.From
	case isDistCall(st.From):
		return r.errAt(st.From, "%s moves particles: start from a sample of this law, from sample(%s, N)", r.pm.Name(), label(r.src, st.From)).
			withHint("e.g. from sample(" + label(r.src, st.From) + ", 1000)")
	default:
		return r.errAt(st.From, "a run of a functional by particles starts from a cloud: from sample(DIST, N) or from points([...])").
			withHint("e.g. from sample(normal(0, 1), 1000)")
	}
	return nil
}

// compareSeed separates the stream of a compare to sample from the
// starting cloud's (drawn with the run's seed): the golden-ratio constant
// of SplitMix64.
const compareSeed = 0x9e3779b97f4a7c15

// resolveCompare reads compare to DIST (or a sample of one).
func (r *particleRun) resolveCompare() *Error {
	e := r.st.Compare
	r.cmpText = label(r.src, e)
	if isSampleCall(e) {
		d, n, err := r.ds.sampleSpec(e, r.dim)
		if err != nil {
			return err
		}
		if r.in.opts.CheckOnly {
			return nil
		}
		p, serr := solvers.SampleParticles(d, n, r.seed^compareSeed, 0)
		if serr != nil {
			return r.ds.memoryError(e, serr)
		}
		r.cmp = &solvers.Points{P: p}
		return nil
	}
	d, err := r.ds.distribution(e, r.dim)
	if err != nil {
		return err
	}
	r.cmp = d
	return nil
}

// resolveMonitors reads monitor NAME = EXPR: EXPR is a function of the
// density's variable (and t), and its column is the particles' average
// (1/N)Σᵢ EXPR(xᵢ).
func (r *particleRun) resolveMonitors() *Error {
	if len(r.st.Monitors) == 0 {
		return nil
	}
	ms := r.ds.child()
	if r.pt.sp.Var != "t" {
		r.tSym = ad.Symbol("t", 0)
		ms.vars["t"] = binding{val: Scalar(r.tSym)}
	}
	for _, mon := range r.st.Monitors {
		name := mon.Name.Name
		if slices.Contains(r.baseColumns(), name) || slices.Contains(r.monNames, name) {
			return r.errAt(mon.Name, "monitor %s clashes with a column of the run's table", name)
		}
		v, err := ms.eval(mon.X)
		if err != nil {
			return err
		}
		if !v.IsScalar() {
			return r.errAt(mon.X, "a monitor must be a scalar, this is %s", v.ShapeName()).withHint("e.g. monitor m4 = " + r.pt.sp.Var + "^4")
		}
		e := v.S()
		if e.HasIntegral() {
			return r.errAt(mon.X, "a monitor of a particle run is averaged over the particles; it cannot contain an integral")
		}
		for _, s := range e.FreeSymbols() {
			if s.Kind() == ad.KJet {
				return r.errAt(mon.X, "a monitor of a particle run cannot use the density %s: particles carry no density values", s.Name()).
					withHint("a monitor is averaged over the particles, e.g. monitor m2 = " + r.pt.sp.Var + "^2")
			}
			if !slices.Contains(r.pt.xs, s) && s != r.tSym {
				return r.errAt(mon.X, "monitor %s depends on %s, which is neither %s nor t", name, ad.String(s), r.pt.sp.Var)
			}
		}
		r.monNames = append(r.monNames, name)
		r.monExprs = append(r.monExprs, e)
	}
	return nil
}

// coordNames are the coordinates' names: x, or x[1], x[2], ...
func (r *particleRun) coordNames() []string {
	sp := r.pt.sp
	if sp.Dim == 0 {
		return []string{sp.Var}
	}
	out := make([]string, sp.Dim)
	for i := range out {
		out[i] = fmt.Sprintf("%s[%d]", sp.Var, i+1)
	}
	return out
}

// baseColumns are the columns of the rows before the monitors: step, t,
// the mean and the variance of each coordinate, then energy, w2 and
// accept when the run has them.
func (r *particleRun) baseColumns() []string {
	cols := []string{"step", "t"}
	r.coordCols = nil
	if r.pt.sp.Dim == 0 {
		r.coordCols = []string{"mean", "var"}
	} else {
		for i := 1; i <= r.pt.sp.Dim; i++ {
			r.coordCols = append(r.coordCols, fmt.Sprintf("mean[%d]", i))
		}
		for i := 1; i <= r.pt.sp.Dim; i++ {
			r.coordCols = append(r.coordCols, fmt.Sprintf("var[%d]", i))
		}
	}
	cols = append(cols, r.coordCols...)
	if r.energyCol {
		cols = append(cols, "energy")
	}
	if r.w2Col {
		cols = append(cols, "w2")
	}
	if r.acceptCol {
		cols = append(cols, "accept")
	}
	return cols
}

// energyComputable predicts whether the rows can give the energy: the
// potential's part always, the interaction's and the entropy estimate's
// (O(N²) pair sums) up to solvers.DefaultEnergyPairs particles, the
// blob's regularised entropy always.
func (r *particleRun) energyComputable() bool {
	_, blob := r.pm.(*solvers.Blob)
	pairs := r.problem.Interaction != nil || r.problem.Diffusion != 0 && !blob
	entropyNeedsTwo := r.problem.Diffusion != 0 && !blob
	return !pairs || r.n <= solvers.DefaultEnergyPairs && (!entropyNeedsTwo || r.n >= 2)
}

// w2Cheap reports whether a row can afford W2 to the compare to target:
// in one dimension, where it costs a sort (quantile functions).
func (r *particleRun) w2Cheap() bool { return r.cmp != nil && r.dim == 1 }

func (r *particleRun) execute() *Error {
	st := r.st
	r.energyCol = r.energyComputable()
	r.w2Col = r.w2Cheap()
	_, r.acceptCol = r.pm.(*solvers.MALA)
	r.columns = append(r.baseColumns(), r.monNames...)

	// the settings; the memory of the whole run is estimated before the
	// cloud is drawn
	s := r.set
	s.Seed = r.seed
	s.Until = r.until
	s.Context = r.ctx()
	s.Progress = r.progress()
	if r.hasSteps {
		s.MaxSteps = r.steps
		if r.steps == 0 {
			s.Until = nil
		}
	}
	toTable := r.every > 0
	switch {
	case r.every > 0:
		s.Every = r.every
	case st.To != nil:
		s.Every = 1 // the CSV gets every step
	default:
		s.Every = math.MaxInt // rows at the start and the end only, for the summary
	}
	budget := solvers.DefaultMemoryBudget()
	need := solvers.EstimateParticleBytes(r.problem, r.pm, r.n, s)
	if r.cmp != nil {
		need += int64(r.n) * int64(r.dim) * 8 // the sorted copy of W2 by quantiles, or a sample facing the cloud
	}
	if need > budget || need < 0 {
		return r.errAt(r.fromN, "%s with %d particles in %d dimension%s would need about %s of memory, more than the %s available",
			r.pm.Name(), r.n, r.dim, plural(r.dim), bytesText(need), bytesText(budget)).withHint("use fewer particles")
	}
	s.MemoryBudget = budget
	cloud, serr := solvers.SampleParticles(r.init, r.n, r.seed, budget)
	if serr != nil {
		return r.ds.memoryError(r.fromN, serr)
	}

	// monitors: one tape, evaluated over the cloud at each row
	var monitor func(out []float64, x [][]float64, t float64)
	if len(r.monExprs) > 0 {
		inputs := slices.Clone(r.pt.xs)
		if r.tSym != nil {
			inputs = append(inputs, r.tSym)
		}
		prog, err := ad.Compile(r.monExprs, inputs)
		if err != nil {
			return r.errAt(st.Monitors[0], "cannot compile the monitors: %v", err)
		}
		monitor = newParticleMonitor(prog, r.dim, r.tSym != nil)
	}

	tableCols := []int{0, 1}
	if r.dim <= tableCoords {
		for i := range r.coordCols {
			tableCols = append(tableCols, 2+i)
		}
	}
	for i := 2 + len(r.coordCols); i < len(r.columns); i++ {
		tableCols = append(tableCols, i)
	}
	sink, sinkErr := r.newRowSink(r.columns, tableCols)
	if sinkErr != nil {
		return sinkErr
	}
	tr := newTrend()
	monTrends := make([]solvers.Trend, len(r.monExprs))
	monFirst := true
	vals := make([]float64, len(r.columns))
	monVals := make([]float64, len(r.monExprs))
	w2Pts := &solvers.Points{P: cloud}
	var w2Err error
	var initMean, initVar []float64
	s.Row = func(row *solvers.ParticleRow) error {
		if initMean == nil {
			initMean, initVar = slices.Clone(row.Mean), slices.Clone(row.Var)
		}
		vals[0], vals[1] = float64(row.Step), row.T
		k := 2
		k += copy(vals[k:], row.Mean)
		k += copy(vals[k:], row.Var)
		if r.energyCol {
			vals[k] = row.Energy
			k++
		}
		tr.add(row.Energy)
		if r.w2Col {
			res, err := solvers.W2(w2Pts, r.cmp, &solvers.W2Options{Seed: r.seed})
			if err != nil && w2Err == nil {
				w2Err = err
			}
			vals[k] = res.W2
			k++
		}
		if r.acceptCol {
			vals[k] = row.Accept
			k++
		}
		if monitor != nil {
			monitor(monVals, cloud.X, row.T)
			copy(vals[k:], monVals)
			for i, v := range monVals {
				if monFirst {
					monTrends[i] = solvers.Trend{Initial: v, Final: v, Decreasing: true, Increasing: true}
				} else {
					trendAdd(&monTrends[i], v, row.Step)
				}
			}
			monFirst = false
		}
		return sink.write(vals, toTable)
	}

	start := time.Now()
	res, rerr := solvers.RunParticles(r.problem, cloud, r.pm, s)
	wall := wallSince(start)
	if rerr != nil {
		sink.abort()
		return r.particleError(rerr)
	}
	if res.Status == solvers.Cancelled {
		sink.abort()
		return r.interrupted(res.Steps, res.T)
	}
	if w2Err != nil {
		sink.abort()
		return r.errAt(st.Compare, "cannot compute W2 to %s: %v", r.cmpText, w2Err)
	}
	var w2 *solvers.W2Result
	if r.cmp != nil {
		w, err := solvers.W2(w2Pts, r.cmp, &solvers.W2Options{Seed: r.seed})
		if err != nil {
			sink.abort()
			return r.errAt(st.Compare, "cannot compute W2 to %s: %v", r.cmpText, err)
		}
		w2 = &w
	}
	var posFile *atomicfile.File
	if st.To != nil {
		f, err := r.writePositions(cloud)
		if err != nil {
			sink.abort()
			return err
		}
		posFile = f
	}
	if err := sink.commit(); err != nil {
		if posFile != nil {
			posFile.Abort()
		}
		return err
	}
	if posFile != nil {
		if err := posFile.Commit(); err != nil {
			return r.errAt(st.To, "cannot write %s: %v", positionsPath(st.To.Value), unwrapPathError(err))
		}
	}
	if st.Plot != nil {
		if err := r.plot(cloud); err != nil {
			return err
		}
	}
	r.in.report(r.record(res, w2, tr, monTrends, initMean, initVar, wall))
	return nil
}

// particleError positions a failure of a particle run: a particle that
// turned non-finite (at the method, with the step and a hint on h), a run
// refused for its memory (at N), a term the method cannot handle.
func (r *particleRun) particleError(err error) *Error {
	var de *solvers.DivergedError
	var me *solvers.MemoryError
	var te *solvers.TermError
	switch {
	case errors.As(err, &de):
		e := r.errAt(r.st.Method, "%s diverged at step %d (t = %s): %s", r.pm.Name(), de.Step, FormatNumber(de.T, 6), de.Reason)
		if de.Source != "" {
			e.Msg += "; " + de.Source
		}
		e.Hint = de.Bound
		if e.Hint == "" {
			e.Hint = "take a smaller step h"
		}
		return e
	case errors.As(err, &me):
		return r.ds.memoryError(r.fromN, err)
	case errors.As(err, &te):
		return r.termError(err)
	}
	return r.errAt(r.st.Method, "%s: %v", r.pm.Name(), err)
}

// bytesText prints a memory size.
func bytesText(b int64) string {
	switch {
	case b < 0:
		return "more than 8 EiB"
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	}
	return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10))
}

// newParticleMonitor returns a function writing the particles' average
// of each monitor at time t into out; it allocates its buffers once.
func newParticleMonitor(prog *ad.Program, dim int, withT bool) func(out []float64, x [][]float64, t float64) {
	m := prog.NewMachine()
	in := make([][]float64, len(prog.Inputs))
	tcol := make([]float64, ad.BlockSize)
	outs := make([][]float64, len(prog.Outputs))
	for j := range outs {
		outs[j] = make([]float64, ad.BlockSize)
	}
	return func(out []float64, x [][]float64, t float64) {
		n := len(x[0])
		clear(out)
		for i := range tcol {
			tcol[i] = t
		}
		for lo := 0; lo < n; lo += ad.BlockSize {
			hi := min(lo+ad.BlockSize, n)
			for c := 0; c < dim; c++ {
				in[c] = x[c][lo:hi]
			}
			if withT {
				in[dim] = tcol
			}
			m.EvalBatch(in, outs, hi-lo)
			for j, o := range outs {
				s := 0.0
				for _, v := range o[:hi-lo] {
					s += v
				}
				out[j] += s
			}
		}
		for j := range out {
			out[j] /= float64(n)
		}
	}
}

// trendAdd extends a monitor's trend by a value at a row, as solvers'
// Flow does at each step (changes below solvers.IncreaseTol relative are
// ignored).
func trendAdd(tr *solvers.Trend, v float64, step int) {
	tol := solvers.IncreaseTol * max(1, math.Abs(tr.Initial), math.Abs(tr.Final))
	switch diff := v - tr.Final; {
	case diff > tol:
		tr.Decreasing = false
		if diff > tr.MaxRise {
			tr.MaxRise, tr.MaxRiseStep = diff, step
		}
	case diff < -tol:
		tr.Increasing = false
		if -diff > tr.MaxFall {
			tr.MaxFall, tr.FallStep = -diff, step
		}
	case diff != diff: // NaN
		tr.Decreasing, tr.Increasing = false, false
	}
	tr.Final = v
}

// energyTrend follows the energy over the rows: whether it never rose
// (beyond rounding), and its first and last values.
type energyTrend struct {
	first, last, prev float64
	rows              int
	monotone          bool
	maxRise           float64
	finite            bool
}

func newTrend() *energyTrend { return &energyTrend{monotone: true, finite: true} }

// monotoneTol is the relative rise of the energy between rows that
// counts as rounding, not an increase.
const monotoneTol = 1e-12

func (t *energyTrend) add(e float64) {
	if math.IsNaN(e) || math.IsInf(e, 0) {
		t.finite = false
		return
	}
	if t.rows == 0 {
		t.first = e
	} else if rise := e - t.prev; rise > monotoneTol*math.Max(1, math.Abs(t.first)) {
		t.monotone = false
		t.maxRise = math.Max(t.maxRise, rise)
	}
	t.prev, t.last = e, e
	t.rows++
}

// positionsPath is where a run with to "FILE.csv" writes the final
// particles: FILE_particles.csv beside it.
func positionsPath(rows string) string {
	ext := filepath.Ext(rows)
	return strings.TrimSuffix(rows, ext) + "_particles" + ext
}

// writePositions writes the final cloud, one particle per line with the
// coordinates as columns, to a temporary file the caller commits.
func (r *particleRun) writePositions(cloud *solvers.Particles) (*atomicfile.File, *Error) {
	path := positionsPath(r.st.To.Value)
	f, err := atomicfile.Create(path)
	if err != nil {
		return nil, r.errAt(r.st.To, "cannot write %s: %v", path, unwrapPathError(err))
	}
	w := csv.NewWriter(f)
	rec := make([]string, cloud.Dim)
	werr := w.Write(r.coordNames())
	for i := 0; i < cloud.N && werr == nil; i++ {
		for c := range rec {
			rec[c] = strconv.FormatFloat(cloud.X[c][i], 'g', -1, 64)
		}
		werr = w.Write(rec)
	}
	w.Flush()
	if werr == nil {
		werr = w.Error()
	}
	if werr != nil {
		f.Abort()
		return nil, r.errAt(r.st.To, "cannot write %s: %v", path, werr)
	}
	return f, nil
}

// plotPoints bounds the points of a scatter plot (evenly thinned beyond).
const plotPoints = 20_000

// plot draws the final cloud: in one dimension a histogram over the
// target density (the compare to law's, else the Gibbs law ∝ exp(−V/D)
// of a functional with a potential and entropy and no interaction); in
// several a scatter of the first two coordinates.
func (r *particleRun) plot(cloud *solvers.Particles) *Error {
	path, title := r.st.Plot.Value, label(r.src, r.st)
	var err error
	if r.dim == 1 {
		err = plotting.Histogram(path, title, cloud.X[0], r.targetDensity())
	} else {
		stride := max(1, cloud.N/plotPoints)
		var xs, ys []float64
		for i := 0; i < cloud.N; i += stride {
			xs = append(xs, cloud.X[0][i])
			ys = append(ys, cloud.X[1][i])
		}
		err = plotting.Scatter(path, title, xs, ys)
	}
	if err != nil {
		return r.errAt(r.st.Plot, "cannot draw %s: %v", path, unwrapPathError(err))
	}
	return nil
}

// targetDensity is the density drawn under a 1-D histogram, or nil.
func (r *particleRun) targetDensity() func(float64) float64 {
	if r.cmp != nil {
		if _, isSample := r.cmp.(*solvers.Points); !isSample {
			if d, ok := r.cmp.(solvers.Densityer); ok {
				return func(x float64) float64 { return d.Density([]float64{x}) }
			}
		}
		return nil
	}
	p := r.problem
	if p.Diffusion == 0 || p.Interaction != nil || r.pt.potential == nil {
		return nil
	}
	v := ad.Scale(r.pt.potential, ad.Float(1/p.Diffusion))
	prog, err := ad.Compile([]*ad.Node{v}, r.pt.xs)
	if err != nil {
		return nil
	}
	g, err := solvers.NewGibbs(prog, ad.String(v))
	if err != nil {
		return nil
	}
	return func(x float64) float64 { return g.Density([]float64{x}) }
}

// record builds the run's JSON record and human summary.
func (r *particleRun) record(res *solvers.ParticleResult, w2 *solvers.W2Result, tr *energyTrend, mons []solvers.Trend, initMean, initVar []float64, wall float64) *RunRecord {
	fin := res.Final
	final := map[string]any{"n": r.n, "mean": slices.Clone(fin.Mean), "var": slices.Clone(fin.Var)}
	if !math.IsNaN(fin.Energy) && !math.IsInf(fin.Energy, 0) {
		final["energy"] = fin.Energy
	}
	if w2 != nil {
		final["w2"] = w2.W2
	}
	params := r.numericParams()
	if _, ok := params["batch"]; ok && !r.given["batch"] {
		delete(params, "batch") // 0: exact, not a batch size
	}
	for _, k := range []string{"eps", "bandwidth"} {
		if !r.given[k] {
			delete(params, k) // computed, reported in the diagnostics
		}
	}
	rec := &RunRecord{
		Kind: "run", Line: startLine(r.st), Target: r.f.name, Method: r.pm.Name(),
		Params: params, Steps: res.Steps, T: res.T, Final: final,
		Monotone: tr.finite && tr.rows > 0 && tr.monotone, WallS: wall,
		Stopped: r.stopRule(res.Status, res.Met, res.Steps),
		Label:   label(r.src, r.st),
	}
	diag := map[string]any{"terms": r.pt.describe(), "seed": r.seed}
	if initMean != nil {
		diag["initial"] = map[string]any{"mean": initMean, "var": initVar}
	}
	if tr.finite && tr.rows > 0 {
		diag["energy"] = map[string]any{"initial": tr.first, "final": tr.last, "rows": tr.rows, "monotone": tr.monotone}
		if !tr.monotone {
			diag["energy"].(map[string]any)["max_rise"] = tr.maxRise
		}
	}
	if r.set.Batch >= 2 {
		diag["batch"] = r.set.Batch
	}
	if !math.IsNaN(res.Accept) {
		diag["accept"] = res.Accept
	}
	if !math.IsNaN(res.Eps) {
		diag["eps"] = res.Eps
	}
	if !math.IsNaN(res.Bandwidth) {
		diag["bandwidth"] = res.Bandwidth
	}
	if w2 != nil {
		w := map[string]any{"to": r.cmpText, "method": w2.Method, "n": w2.N, "m": w2.M}
		if w2.Method == "sinkhorn" {
			w["eps"] = w2.Eps
		}
		if w2.Sampled {
			w["sampled"] = true
		}
		if w2.Subsampled {
			w["subsampled"] = true
		}
		diag["w2"] = w
	}
	if len(r.monNames) > 0 {
		m := map[string]any{}
		for i, name := range r.monNames {
			m[name] = trendJSON(mons[i])
		}
		diag["monitors"] = m
	}
	if r.st.To != nil {
		diag["positions"] = positionsPath(r.st.To.Value)
	}
	rec.Diagnostics = diag

	var sum []string
	sum = append(sum, fmt.Sprintf("run %s with %s: %d step%s, t = %s (%s)",
		r.f.name, r.methodLabel(), res.Steps, plural(res.Steps), FormatNumber(res.T, 6), rec.Stopped))
	stats := fmt.Sprintf("  n = %d, mean = %s, var = %s", r.n, r.momentText(fin.Mean), r.momentText(fin.Var))
	sum = append(sum, stats)
	var line []string
	if e, ok := final["energy"]; ok {
		line = append(line, "energy = "+FormatNumber(e.(float64), 6))
	}
	if w2 != nil {
		line = append(line, fmt.Sprintf("w2 to %s = %s (%s)", r.cmpText, FormatNumber(w2.W2, 6), w2Method(*w2)))
	}
	if len(line) > 0 {
		sum = append(sum, "  "+strings.Join(line, "; "))
	}
	var extra []string
	switch {
	case tr.finite && tr.rows > 1 && tr.monotone:
		extra = append(extra, "energy monotone: yes")
	case tr.finite && tr.rows > 1:
		extra = append(extra, fmt.Sprintf("energy monotone: no (largest rise %s)", FormatNumber(tr.maxRise, 3)))
	}
	if !math.IsNaN(res.Accept) {
		extra = append(extra, "acceptance "+FormatNumber(res.Accept, 3))
	}
	if !math.IsNaN(res.Eps) {
		extra = append(extra, "ε = "+FormatNumber(res.Eps, 4))
	}
	if !math.IsNaN(res.Bandwidth) {
		extra = append(extra, "bandwidth "+FormatNumber(res.Bandwidth, 4))
	}
	if r.set.Batch >= 2 {
		extra = append(extra, fmt.Sprintf("random batches of %d", r.set.Batch))
	}
	extra = append(extra, "wall "+fmtSeconds(wall))
	sum = append(sum, "  "+strings.Join(extra, "; "))
	for i, name := range r.monNames {
		tr := mons[i]
		sum = append(sum, fmt.Sprintf("  monitor %s: %s, %s → %s", name, tr.Monotonicity(), FormatNumber(tr.Initial, 6), FormatNumber(tr.Final, 6)))
	}
	if r.st.To != nil {
		sum = append(sum, "  final particles written to "+positionsPath(r.st.To.Value))
	}
	rec.Summary = sum
	return rec
}

// momentText prints a moment: a number in one dimension, a vector else.
func (r *particleRun) momentText(v []float64) string {
	if r.pt.sp.Dim == 0 {
		return FormatNumber(v[0], 6)
	}
	return shortVec(v)
}

// w2Method says how a W2 was computed, for humans.
func w2Method(w solvers.W2Result) string {
	s := w.String()
	if i := strings.Index(s, "("); i >= 0 {
		return strings.TrimSuffix(s[i+1:], ")")
	}
	return w.Method
}
