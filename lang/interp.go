// The interpreter: declarations, show, load, and the statement loop.
package lang

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"

	ad "flowlang/autodiff"
)

// Options configure an interpreter. The zero value reports nothing.
type Options struct {
	// Out receives what statements say; nil discards it.
	Out Reporter
	// Seed seeds every random choice (check points, particles); 0 means 1.
	Seed uint64
	// Quiet suppresses the rows of runs (the summary is still reported).
	Quiet bool
	// CheckOnly parses and resolves statements without computing: checks
	// are not evaluated and runs do not run (flowlang check).
	CheckOnly bool
	// Progress, when set, is told of a long run's progress.
	Progress ProgressFunc
}

// ProgressFunc is told how far a run has come: steps done of total (total
// is 0 when unknown), and t.
type ProgressFunc func(done, total int, t float64)

// Interp holds a session's declarations. It is not safe for concurrent use.
type Interp struct {
	opts Options
	ctx  context.Context

	lets         map[string]Value
	defs         map[string]*defInfo
	objectives   map[string]*objInfo
	densities    map[string]*densityInfo
	densityOrder []string
	functionals  map[string]*funcInfo
	free         map[string]int   // free symbols usable in show/check: name → vector size (0 scalar)
	freeShapes   map[string][]int // every size a free name was declared with
	freeOwner    map[string]string
	broken       map[string]bool
	declLine     map[string]string // where each name was declared, for messages
	stdlib       map[string]bool   // names the standard library declared

	loading      []string // files being loaded, to refuse cycles
	failedChecks int
	stmtCount    int
}

type paramInfo struct {
	name string
	size int // 0 for a scalar
}

type defInfo struct {
	stmt   *DefStmt
	src    *Source
	params []paramInfo
	cache  map[string]Value
}

// key identifies a call by its argument nodes (hash-consed, so ids suffice).
func (d *defInfo) key(args []Value) string {
	var b strings.Builder
	for _, a := range args {
		for _, e := range a.Elems {
			b.WriteString(strconv.FormatUint(e.ID(), 36))
			b.WriteByte(',')
		}
		b.WriteByte(';')
	}
	return b.String()
}

type objInfo struct {
	name   string
	params []paramInfo
	syms   []*ad.Node // parameters flattened, in order
	value  *ad.Node
	stmt   *ObjectiveStmt
	src    *Source
	order  int // declaration order
}

type densityInfo struct {
	space ad.Space
	stmt  *DensityStmt
}

type funcInfo struct {
	name     string
	space    ad.Space // for a concrete functional
	value    *ad.Node
	template *FunctionalStmt // for a generic one (stdlib's entropy(), potential(V), ...)
	tmplVar  string
	params   []paramInfo
	src      *Source
}

// New returns an interpreter with the standard library loaded.
func New(opts Options) *Interp {
	in := &Interp{opts: opts, ctx: context.Background()}
	in.Reset()
	return in
}

// Reset forgets every declaration except the standard library's.
func (in *Interp) Reset() {
	in.lets = map[string]Value{}
	in.defs = map[string]*defInfo{}
	in.objectives = map[string]*objInfo{}
	in.densities = map[string]*densityInfo{}
	in.densityOrder = nil
	in.functionals = map[string]*funcInfo{}
	in.free = map[string]int{}
	in.freeShapes = map[string][]int{}
	in.freeOwner = map[string]string{}
	in.broken = map[string]bool{}
	in.declLine = map[string]string{}
	in.stdlib = map[string]bool{}
	in.failedChecks = 0
	in.loadStdlib()
}

// SetContext sets the context that cancels runs (the REPL's Ctrl-C).
func (in *Interp) SetContext(ctx context.Context) { in.ctx = ctx }

// FailedChecks returns how many checks have failed so far.
func (in *Interp) FailedChecks() int { return in.failedChecks }

// ObjectiveValue returns the expression of a declared objective, or nil.
func (in *Interp) ObjectiveValue(name string) *ad.Node {
	if o := in.objectives[name]; o != nil {
		return o.value
	}
	return nil
}

// Options returns the interpreter's options.
func (in *Interp) Options() *Options { return &in.opts }

func (in *Interp) report(r Record) {
	if in.opts.Out != nil {
		in.opts.Out.Record(r)
	}
}

func (in *Interp) reportError(e *Error) {
	if in.opts.Out != nil && e != errBroken {
		in.opts.Out.Error(e)
	}
}

// ExecFile parses and runs a script. Parse errors are all reported and
// nothing runs; otherwise statements run in order and the first error
// stops the script. The returned error has been reported already.
func (in *Interp) ExecFile(name string, text []byte) error {
	f, errs := Parse(name, text)
	if len(errs) > 0 {
		for _, e := range errs {
			in.reportError(e)
		}
		return errs
	}
	return in.Exec(f)
}

// Exec runs a parsed file's statements. In CheckOnly mode it resolves
// every statement and reports every error; otherwise it stops at the first.
func (in *Interp) Exec(f *File) error {
	var all ErrorList
	for _, st := range f.Stmts {
		if err := in.ctx.Err(); err != nil {
			return err
		}
		e := in.ExecStmt(f.Src, st)
		if e == nil {
			continue
		}
		if !in.opts.CheckOnly {
			return e
		}
		all = append(all, e)
	}
	return all.Err()
}

// ExecStmt runs one statement, reporting what it says and any error (which
// it also returns). A panic inside the statement is reported as an internal
// error at the statement's position instead of ending the program.
func (in *Interp) ExecStmt(src *Source, st Stmt) (err *Error) {
	start, _ := st.Span()
	defer func() {
		if r := recover(); r != nil {
			err = &Error{Src: src, Pos: start, Msg: fmt.Sprintf("internal error: %v", r)}
			if os.Getenv("FLOWLANG_DEBUG") != "" {
				err.Msg += "\n" + string(debug.Stack())
			}
			in.reportError(err)
		}
	}()
	in.stmtCount++
	err = in.exec(src, st)
	if err != nil {
		if err.Src == nil {
			err.Src = src
		}
		if !err.Pos.IsValid() && err != errBroken {
			err.Pos = start
		}
		in.reportError(err)
	}
	return err
}

func (in *Interp) exec(src *Source, st Stmt) *Error {
	switch st := st.(type) {
	case *LetStmt:
		return in.let(src, st)
	case *DefStmt:
		return in.def(src, st)
	case *ObjectiveStmt:
		return in.objective(src, st)
	case *DensityStmt:
		return in.density(src, st)
	case *FunctionalStmt:
		return in.functional(src, st)
	case *ShowStmt:
		return in.show(src, st)
	case *CheckStmt:
		return in.check(src, st)
	case *RunStmt:
		return in.run(src, st)
	case *LoadStmt:
		return in.load(src, st)
	}
	return &Error{Src: src, Msg: "unknown statement"}
}

// label is a statement's (or expression's) text on one line, for human
// output: the source as written, or, for a statement written across lines,
// its canonical layout.
func label(src *Source, n Node) string {
	start, end := n.Span()
	if src == nil || end.Off <= start.Off || end.Off > len(src.Text) {
		return formatNode(n)
	}
	text := string(src.Text[start.Off:end.Off])
	if strings.Contains(text, "\n") {
		if f := formatNode(n); f != "" {
			return f
		}
	}
	return strings.TrimSpace(text)
}

// formatNode prints a statement, an expression or a method canonically.
func formatNode(n Node) string {
	switch n := n.(type) {
	case Stmt:
		return FormatStmt(n)
	case Expr:
		return FormatExpr(n)
	case *MethodSpec:
		return strings.TrimPrefix(formatRun(&RunStmt{Target: &Ident{}, Method: n}), "run  using ")
	}
	return ""
}

// declare checks that name may be declared as kind, and records where.
func (in *Interp) declare(src *Source, id *Ident, kind string) *Error {
	name := id.Name
	if _, ok := ad.IsBuiltin(name); ok || slices.Contains(languageFunctions, name) {
		return &Error{Src: src, Pos: id.Start, End: id.Stop, Msg: fmt.Sprintf("%s is a built-in function and cannot be redeclared", name)}
	}
	if _, ok := contextOnly[name]; ok && kind != "def" {
		return &Error{Src: src, Pos: id.Start, End: id.Stop, Msg: fmt.Sprintf("%s is a built-in name and cannot be redeclared", name)}
	}
	old := in.kindOf(name)
	if old != "" && old != kind && !in.stdlib[name] {
		return &Error{Src: src, Pos: id.Start, End: id.Stop,
			Msg: fmt.Sprintf("%s is already declared as %s (%s)", name, article(old), in.declLine[name])}
	}
	if old != "" && old != kind {
		in.forget(name)
	}
	delete(in.stdlib, name)
	delete(in.broken, name)
	in.declLine[name] = fmt.Sprintf("%s:%d", filepath.Base(src.Name), id.Start.Line)
	// a def's expansions may involve the name being (re)declared
	for _, d := range in.defs {
		clear(d.cache)
	}
	return nil
}

func article(kind string) string {
	if strings.IndexAny(kind[:1], "aeiou") == 0 {
		return "an " + kind
	}
	return "a " + kind
}

func (in *Interp) kindOf(name string) string {
	switch {
	case in.lets[name].Elems != nil:
		return "let"
	case in.defs[name] != nil:
		return "def"
	case in.objectives[name] != nil:
		return "objective"
	case in.densities[name] != nil:
		return "density"
	case in.functionals[name] != nil:
		return "functional"
	}
	return ""
}

func (in *Interp) forget(name string) {
	delete(in.lets, name)
	delete(in.defs, name)
	delete(in.objectives, name)
	delete(in.densities, name)
	delete(in.functionals, name)
	in.densityOrder = slices.DeleteFunc(in.densityOrder, func(s string) bool { return s == name })
}

// markBroken records a failed declaration so that its uses stay quiet.
func (in *Interp) markBroken(name string, err *Error) *Error {
	if err != nil {
		in.broken[name] = true
	}
	return err
}

func (in *Interp) let(src *Source, st *LetStmt) *Error {
	if err := in.declare(src, st.Name, "let"); err != nil {
		return err
	}
	s := in.newScope(src, false)
	v, err := s.eval(st.Value)
	if err != nil {
		return in.markBroken(st.Name.Name, err)
	}
	out := Value{Shape: v.Shape, Elems: make([]*ad.Node, len(v.Elems))}
	for i, e := range v.Elems {
		if !e.IsConstant() {
			err := s.errAt(st.Value, "let needs a value known now, but this depends on %s", ad.String(e.FreeSymbols()[0]))
			if e.HasIntegral() || len(e.FreeSymbols()) == 0 {
				err.Msg = "let needs a number; this is " + brief(e)
			}
			err.Hint = "for a function write def " + st.Name.Name + "(x) = ..."
			return in.markBroken(st.Name.Name, err)
		}
		if _, ok := e.Value(); ok {
			out.Elems[i] = e
			continue
		}
		f, evErr := ad.Eval(e, nil)
		if evErr != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return in.markBroken(st.Name.Name, s.errAt(st.Value, "%s is not a finite number (%v)", brief(e), f))
		}
		out.Elems[i] = ad.FloatNode(f)
	}
	in.lets[st.Name.Name] = out
	return nil
}

// params resolves parameter declarations (x, or x[n] with n known now).
func (in *Interp) params(src *Source, ps []*Param) ([]paramInfo, *Error) {
	s := in.newScope(src, false)
	out := make([]paramInfo, len(ps))
	seen := map[string]bool{}
	for i, p := range ps {
		if seen[p.Name.Name] {
			return nil, &Error{Src: src, Pos: p.Name.Start, End: p.Name.Stop, Msg: fmt.Sprintf("parameter %s declared twice", p.Name.Name)}
		}
		seen[p.Name.Name] = true
		out[i].name = p.Name.Name
		if p.Size != nil {
			n, err := s.constInt(p.Size, "a vector length")
			if err != nil {
				return nil, err
			}
			if n < 1 || n > MaxDim {
				return nil, s.errAt(p.Size, "vector length %d out of range 1..%d", n, MaxDim)
			}
			out[i].size = n
		}
	}
	return out, nil
}

// paramsOf returns the parameters of an objective or def.
func (in *Interp) paramsOf(name string) []paramInfo {
	if o := in.objectives[name]; o != nil {
		return o.params
	}
	if d := in.defs[name]; d != nil {
		return d.params
	}
	return nil
}

// addFree makes a parameter name usable as a free symbol in show and check.
// Objectives and densities set the shape; defs only add names not known yet.
func (in *Interp) addFree(p paramInfo, owner string, strong bool) {
	if !slices.Contains(in.freeShapes[p.name], p.size) {
		in.freeShapes[p.name] = append(in.freeShapes[p.name], p.size)
	}
	if _, ok := in.free[p.name]; ok && !strong {
		return
	}
	in.free[p.name] = p.size
	in.freeOwner[p.name] = owner
}

func (in *Interp) def(src *Source, st *DefStmt) *Error {
	name := st.Name.Name
	if err := in.declare(src, st.Name, "def"); err != nil {
		return err
	}
	ps, err := in.params(src, st.Params)
	if err != nil {
		return in.markBroken(name, err)
	}
	d := &defInfo{stmt: st, src: src, params: ps, cache: map[string]Value{}}
	// resolve the body once now, with symbolic arguments, to report its errors here
	old := in.defs[name]
	delete(in.defs, name)
	s := in.newScope(src, false)
	s.expanding = []string{name} // a call of name in its own body is recursion
	for _, p := range ps {
		s.vars[p.name] = binding{val: freeSymbol(p.name, p.size)}
	}
	if _, err := s.eval(st.Body); err != nil {
		if old != nil {
			in.defs[name] = old
		}
		return in.markBroken(name, err)
	}
	in.defs[name] = d
	if !in.stdlib[name] && !in.inStdlib(src) {
		for _, p := range ps {
			in.addFree(p, name, false)
		}
	}
	return nil
}

func (in *Interp) objective(src *Source, st *ObjectiveStmt) *Error {
	name := st.Name.Name
	if err := in.declare(src, st.Name, "objective"); err != nil {
		return err
	}
	ps, err := in.params(src, st.Params)
	if err != nil {
		return in.markBroken(name, err)
	}
	if len(ps) == 0 {
		return in.markBroken(name, &Error{Src: src, Pos: st.Name.Start, End: st.Name.Stop, Msg: "an objective needs at least one parameter"})
	}
	s := in.newScope(src, false)
	var syms []*ad.Node
	for _, p := range ps {
		v := freeSymbol(p.name, p.size)
		s.vars[p.name] = binding{val: v}
		syms = append(syms, v.Elems...)
	}
	v, err := s.eval(st.Body)
	if err != nil {
		return in.markBroken(name, err)
	}
	if !v.IsScalar() {
		return in.markBroken(name, s.errAt(st.Body, "an objective must be a scalar, this is %s", v.ShapeName()))
	}
	in.objectives[name] = &objInfo{name: name, params: ps, syms: syms, value: v.S(), stmt: st, src: src, order: in.stmtCount}
	for _, p := range ps {
		in.addFree(p, name, true)
	}
	return nil
}

func (in *Interp) density(src *Source, st *DensityStmt) *Error {
	name := st.Name.Name
	if err := in.declare(src, st.Name, "density"); err != nil {
		return err
	}
	ps, err := in.params(src, []*Param{st.Var})
	if err != nil {
		return in.markBroken(name, err)
	}
	if ps[0].name == name {
		return in.markBroken(name, &Error{Src: src, Pos: st.Var.Name.Start, Msg: "a density and its variable need different names"})
	}
	in.densities[name] = &densityInfo{space: ad.Space{Density: name, Var: ps[0].name, Dim: ps[0].size}, stmt: st}
	in.densityOrder = slices.DeleteFunc(in.densityOrder, func(s string) bool { return s == name })
	in.densityOrder = append(in.densityOrder, name)
	in.addFree(ps[0], name, true)
	return nil
}

func (in *Interp) functional(src *Source, st *FunctionalStmt) *Error {
	name := st.Name.Name
	if err := in.declare(src, st.Name, "functional"); err != nil {
		return err
	}
	dn := st.Density.Name
	d := in.densities[dn]
	if st.HasArgs || st.Var != nil {
		// a template: generic over the density, instantiated where it is called
		if st.Var == nil {
			return in.markBroken(name, &Error{Src: src, Pos: st.Density.Start, End: st.Density.Stop,
				Msg: "a generic functional names its density's variable: functional " + name + "[" + dn + "(x)](...) = ..."})
		}
		ps, err := in.params(src, st.Params)
		if err != nil {
			return in.markBroken(name, err)
		}
		in.functionals[name] = &funcInfo{name: name, template: st, tmplVar: st.Var.Name, params: ps, src: src}
		return nil
	}
	if d == nil {
		err := &Error{Src: src, Pos: st.Density.Start, End: st.Density.Stop, Msg: fmt.Sprintf("%s is not a declared density", dn)}
		err.Hint = fmt.Sprintf("declare it first: density %s(x)", dn)
		return in.markBroken(name, err)
	}
	s := in.newScope(src, false).withSpace(&d.space)
	v, err := s.eval(st.Body)
	if err != nil {
		return in.markBroken(name, err)
	}
	if !v.IsScalar() {
		return in.markBroken(name, s.errAt(st.Body, "a functional must be a scalar, this is %s", v.ShapeName()))
	}
	if _, _, serr := d.space.SplitIntegrals(v.S()); serr != nil {
		e := s.errAt(st.Body, "a functional is a sum of constant multiples of integrals: %v", serr)
		e.Hint = "write it as integral(...), with nonlocal terms as integral(integral(..., y))"
		return in.markBroken(name, e)
	}
	in.functionals[name] = &funcInfo{name: name, space: d.space, value: v.S(), src: src}
	return nil
}

func (in *Interp) inStdlib(src *Source) bool { return src != nil && src.Name == StdlibName }

// load runs another script in this session. Its path is relative to the
// directory of the file that loads it.
func (in *Interp) load(src *Source, st *LoadStmt) *Error {
	path := st.Path.Value
	if !filepath.IsAbs(path) && src != nil && src.Name != "" && !strings.HasPrefix(src.Name, "<") {
		path = filepath.Join(filepath.Dir(src.Name), path)
	}
	if slices.Contains(in.loading, path) {
		return &Error{Src: src, Pos: st.Path.Start, Msg: fmt.Sprintf("load cycle: %s loads itself", st.Path.Value)}
	}
	text, err := ReadFile(path)
	if err != nil {
		msg := err.Error()
		var pe *os.PathError
		if errors.As(err, &pe) {
			msg = pe.Err.Error()
		}
		return &Error{Src: src, Pos: st.Path.Start, End: st.Path.Stop, Msg: fmt.Sprintf("cannot load %s: %s", st.Path.Value, msg)}
	}
	in.loading = append(in.loading, path)
	defer func() { in.loading = in.loading[:len(in.loading)-1] }()
	if err := in.ExecFile(path, text); err != nil {
		return errBroken // reported inside
	}
	return nil
}

// MaxFileSize bounds a script's size (64 MiB).
const MaxFileSize = 64 << 20

// ErrTooLarge is ReadFile's error for a file beyond MaxFileSize.
var ErrTooLarge = fmt.Errorf("larger than %d bytes", MaxFileSize)

// ReadFile reads a script, stopping after MaxFileSize bytes: a device or
// a pipe that never ends (/dev/zero) is refused in bounded time and memory.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return nil, &os.PathError{Op: "read", Path: path, Err: errors.New("is a directory")}
	}
	text, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(text) > MaxFileSize {
		return nil, &os.PathError{Op: "read", Path: path, Err: ErrTooLarge}
	}
	return text, nil
}
