// Session support for the REPL: names for completion, declarations for :vars, LaTeX for :latex, bracket depth.
package lang

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"unicode"

	ad "flowlang/autodiff"
)

// Names returns every name declared in the session, the standard library's
// included, and the free symbols usable in show and check, sorted.
func (in *Interp) Names() []string {
	var out []string
	for _, m := range []map[string]bool{
		keysOf(in.lets), keysOf(in.defs), keysOf(in.objectives), keysOf(in.densities),
		keysOf(in.functionals), keysOf(in.free),
	} {
		for n := range m {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TargetNames returns the names a run can flow: objectives and concrete
// (non-generic) functionals, sorted.
func (in *Interp) TargetNames() []string {
	out := slices.Collect(maps.Keys(in.objectives))
	for n, f := range in.functionals {
		if f.template == nil {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

func keysOf[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

// BuiltinNames returns the built-in functions and operators (elementary
// functions, diff, grad, integral, vd, ...), the calls allowed in one place
// only (critical, w2, sample, the distributions) and the constant pi,
// sorted.
func BuiltinNames() []string {
	out := append(ad.Builtins(), languageFunctions...)
	for n := range contextOnly {
		out = append(out, n)
	}
	out = append(out, "pi")
	slices.Sort(out)
	return slices.Compact(out)
}

// Keywords returns the reserved words (SPEC §1), sorted.
func Keywords() []string {
	out := slices.Collect(maps.Keys(Reserved))
	slices.Sort(out)
	return out
}

// Decl describes one declaration of a session, for the REPL's :vars.
type Decl struct {
	Kind string // let, def, objective, density, functional
	Name string
	// Text is the declaration as source: a let with its value, a def or
	// objective as written, a functional with its canonical integrand.
	Text string
	// Stdlib is set for the standard library's declarations.
	Stdlib bool
}

// kindRank orders declarations in Decls.
var kindRank = map[string]int{"let": 0, "def": 1, "objective": 2, "density": 3, "functional": 4}

// Decls returns the session's declarations grouped by kind (let, def,
// objective, density, functional), by name within a kind.
func (in *Interp) Decls() []Decl {
	var out []Decl
	add := func(kind, name, text string) {
		out = append(out, Decl{Kind: kind, Name: name, Text: text, Stdlib: in.stdlib[name]})
	}
	for n, v := range in.lets {
		add("let", n, "let "+n+" = "+v.String())
	}
	for n, d := range in.defs {
		add("def", n, FormatStmt(d.stmt))
	}
	for n, o := range in.objectives {
		add("objective", n, FormatStmt(o.stmt))
	}
	for n, d := range in.densities {
		add("density", n, FormatStmt(d.stmt))
	}
	for n, f := range in.functionals {
		if f.template != nil {
			add("functional", n, FormatStmt(f.template))
			continue
		}
		text := fmt.Sprintf("functional %s[%s] = %s", n, f.space.Density, ad.String(f.value))
		if size := f.value.TreeSize(); size > MaxPrintSize {
			text = fmt.Sprintf("functional %s[%s] = (%d nodes written out)", n, f.space.Density, size)
		}
		add("functional", n, text)
	}
	slices.SortFunc(out, func(a, b Decl) int {
		if a.Kind != b.Kind {
			return kindRank[a.Kind] - kindRank[b.Kind]
		}
		if naturalLess(a.Name, b.Name) {
			return -1
		}
		if naturalLess(b.Name, a.Name) {
			return 1
		}
		return 0
	})
	return out
}

// FreeSymbols returns the names that stand for free symbols in show and
// check, with the name of the declaration that made each one free.
func (in *Interp) FreeSymbols() map[string]string {
	return maps.Clone(in.freeOwner)
}

// LaTeX runs `show text` and returns what it shows as LaTeX math (vectors
// and matrices as pmatrix), without printing anything. text is an
// expression, optionally followed by `at POINT`. Errors are positioned in
// text itself (source name "<latex>").
func (in *Interp) LaTeX(text string) (string, error) {
	const prefix = "show "
	src := &Source{Name: "<latex>", Text: []byte(text)}
	// errors are positioned in "show "+text: move them back onto text
	fix := func(e *Error) *Error {
		c := *e
		if e.Src == nil || e.Src.Name == "<latex>" {
			c.Src = src
			if c.Pos.Line == 1 {
				c.Pos.Col = max(1, c.Pos.Col-len(prefix))
				c.Pos.Off = max(0, c.Pos.Off-len(prefix))
			}
			if c.End.Line == 1 {
				c.End.Col = max(1, c.End.Col-len(prefix))
				c.End.Off = max(0, c.End.Off-len(prefix))
			}
		}
		return &c
	}
	if strings.TrimSpace(text) == "" {
		return "", &Error{Src: src, Pos: Pos{Line: 1, Col: 1}, Msg: "expected an expression, as in :latex grad(f)"}
	}
	f, errs := Parse("<latex>", []byte(prefix+text))
	if len(errs) > 0 {
		out := make(ErrorList, len(errs))
		for i, e := range errs {
			out[i] = fix(e)
		}
		return "", out
	}
	if len(f.Stmts) != 1 {
		return "", &Error{Src: src, Pos: Pos{Line: 1, Col: 1}, Msg: "expected one expression"}
	}
	capture := &latexCapture{}
	saved := in.opts.Out
	in.opts.Out = capture
	defer func() { in.opts.Out = saved }()
	if err := in.ExecStmt(f.Src, f.Stmts[0]); err != nil {
		if err == errBroken {
			return "", &Error{Src: src, Pos: Pos{Line: 1, Col: 1}, Msg: "uses a declaration that failed"}
		}
		return "", fix(err)
	}
	if capture.show == nil {
		return "", &Error{Src: src, Pos: Pos{Line: 1, Col: 1}, Msg: "this shows nothing that has a LaTeX form"}
	}
	return capture.show.Latex, nil
}

// latexCapture keeps the record of the show that :latex runs.
type latexCapture struct{ show *ShowRecord }

func (c *latexCapture) Record(r Record) {
	if s, ok := r.(*ShowRecord); ok {
		c.show = s
	}
}
func (c *latexCapture) RunRows(string, []string) {}
func (c *latexCapture) Row([]float64)            {}
func (c *latexCapture) Error(*Error)             {}

// MethodInfo describes a run method for the REPL's completion and help.
type MethodInfo struct {
	Name   string
	Target string // "objective" or "functional"
	Params []string
	Doc    string
}

// Methods lists the run methods of SPEC §3.3 with their parameters, from
// the registry of run (RunMethods), followed by the methods of SPEC §3.3
// for functionals that are not registered yet.
func Methods() []MethodInfo {
	var out []MethodInfo
	for _, m := range RunMethods() {
		mi := MethodInfo{Name: m.Name, Target: m.Target, Doc: m.Doc}
		for _, p := range m.Params {
			mi.Params = append(mi.Params, p.Name)
		}
		out = append(out, mi)
	}
	for _, m := range plannedMethods {
		if lookupRunMethod(m.Name) == nil {
			out = append(out, m)
		}
	}
	return out
}

// plannedMethods are methods of SPEC §3.3 offered for completion before
// their kind of flow registers them.
var plannedMethods = []MethodInfo{
	{"grid", "functional", []string{"h", "domain", "n"}, "finite volumes for ∂q/∂t = ∇·(q∇δF/δq)"},
	{"jko", "functional", []string{"tau"}, "Jordan–Kinderlehrer–Otto steps, 1-D"},
}

// OpenBrackets returns how many brackets ( [ { are still open at the end of
// text, skipping strings and comments; a statement continues on the next
// line while it is positive (SPEC §1). Extra closing brackets count as
// none, so that the parser reports them.
func OpenBrackets(text string) int { return BracketDepth(0, text) }

// BracketDepth returns how many brackets are open after text when depth
// were open before it, as OpenBrackets counts them. Strings and comments
// end at a newline, so a statement's depth can be counted line by line.
func BracketDepth(depth int, text string) int {
	inString := false
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case inString:
			switch c {
			case '\\':
				i++
			case '"', '\n':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '#':
			for i < len(text) && text[i] != '\n' {
				i++
			}
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ')' || c == ']' || c == '}':
			depth = max(0, depth-1)
		}
	}
	return depth
}

// StartsStatement reports whether line begins, in its first column, with a
// statement keyword (let, def, objective, density, functional, show, check,
// run, load): the parser then ends a statement whose brackets are still
// open, and so does the REPL.
func StartsStatement(line string) bool {
	end := strings.IndexFunc(line, func(r rune) bool { return !unicode.IsLetter(r) && r != '_' && !unicode.IsDigit(r) })
	if end < 0 {
		end = len(line)
	}
	return end > 0 && isStatementKeyword(line[:end])
}

// ShiftLines moves every position in f's statements n lines down, for a
// REPL that parses what is typed one entry at a time but numbers lines over
// the whole session (so that statements print, and checks draw their
// random points, as in a script). f.Src keeps the entry's text: to quote a
// line, an error's position must be moved back up.
func (f *File) ShiftLines(n int) {
	seen := map[any]bool{}
	for _, st := range f.Stmts {
		shiftValue(reflect.ValueOf(st), n, seen)
	}
}

var posType = reflect.TypeFor[Pos]()

// shiftValue shifts the positions in a syntax tree node and its children,
// each node once.
func shiftValue(v reflect.Value, n int, seen map[any]bool) {
	switch v.Kind() {
	case reflect.Interface:
		if !v.IsNil() {
			shiftValue(v.Elem(), n, seen)
		}
	case reflect.Pointer:
		if v.IsNil() || seen[v.Interface()] {
			return
		}
		seen[v.Interface()] = true
		if sh, ok := v.Interface().(interface{ shiftLines(int) }); ok {
			sh.shiftLines(n) // the embedded span
		}
		shiftValue(v.Elem(), n, seen)
	case reflect.Slice:
		for i := range v.Len() {
			shiftValue(v.Index(i), n, seen)
		}
	case reflect.Struct:
		if v.Type() == posType {
			if p := v.Addr().Interface().(*Pos); p.IsValid() {
				p.Line += n
			}
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				shiftValue(v.Field(i), n, seen)
			}
		}
	}
}

func (s *span) shiftLines(n int) {
	if s.Start.IsValid() {
		s.Start.Line += n
	}
	if s.Stop.IsValid() {
		s.Stop.Line += n
	}
}
