// Parsing: split a file into statements, parse each with participle, convert to the AST.
package lang

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// MaxNesting bounds how deeply brackets may nest in one statement, so that
// hostile input cannot exhaust the stack.
const MaxNesting = 200

// MaxStatementTokens bounds the tokens of one statement, so that parsing a
// hostile statement (a chain of 10⁵ powers or signs) takes bounded time:
// the parser spends about 10 µs a token, so a statement parses within half
// a second. A 100×100 matrix literal written out has about 20 000 tokens.
const MaxStatementTokens = 40_000

// Parse parses a whole file. It reports every error it can: a statement that
// fails to parse does not stop the statements after it.
// lookalikes are characters that stand for an operator in other
// typesetting, with the operator meant.
var lookalikes = map[string]string{
	"\u2212": "-", "\u2013": "-", "\u00d7": "*", "\u22c5": "*", "\u00b7": "*", "\u00f7": "/",
	"\u201c": `"`, "\u201d": `"`, "\u2018": `"`, "\u2019": `"`,
}

// invalidChar is the error of a character no token starts with.
func invalidChar(t lexer.Token) *Error {
	e := &Error{Pos: toPos(t.Pos), Msg: fmt.Sprintf("unexpected character %q", t.Value)}
	switch {
	case t.Value == `"`:
		e.Msg = "unterminated string: a string ends with \" on its line"
	case lookalikes[t.Value] != "":
		e.Hint = fmt.Sprintf("write %s for %s", lookalikes[t.Value], t.Value)
	}
	return e
}

func Parse(name string, text []byte) (*File, ErrorList) {
	src := &Source{Name: name, Text: text}
	f := &File{Src: src}
	var errs ErrorList
	if !utf8.Valid(text) {
		off := 0
		for off < len(text) {
			r, size := utf8.DecodeRune(text[off:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			off += size
		}
		return f, ErrorList{{Src: src, Pos: posAt(text, off), Msg: fmt.Sprintf("invalid UTF-8 byte 0x%02x: a .flow file must be UTF-8 text", text[off])}}
	}
	chunks, err := split(name, text)
	if err != nil {
		return f, ErrorList{{Src: src, Pos: Pos{Line: 1, Col: 1}, Msg: err.Error()}}
	}
	for _, chunk := range chunks {
		switch {
		case chunk.comment != "":
			f.Items = append(f.Items, Item{Comment: chunk.comment, Line: chunk.line})
			continue
		case chunk.blank:
			f.Items = append(f.Items, Item{Blank: true, Line: chunk.line})
			continue
		}
		if chunk.err != nil {
			chunk.err.Src = src
			errs = append(errs, chunk.err)
			continue
		}
		st, perr := parseStatement(src, chunk.toks)
		if perr != nil {
			errs = append(errs, perr...)
			continue
		}
		item := Item{Stmt: st, Comment: chunk.trailing, Line: chunk.line}
		if chunk.inner {
			start, end := chunk.toks[0].Pos.Offset, chunk.end
			item.Raw = string(text[start:end])
		}
		f.Stmts = append(f.Stmts, st)
		f.Items = append(f.Items, item)
	}
	errs.Sort()
	return f, errs
}

// ParseExpr parses a single expression (for the REPL's :latex and for tests).
func ParseExpr(text string) (Expr, ErrorList) {
	f, errs := Parse("<expr>", []byte("show "+text))
	if len(errs) > 0 {
		for _, e := range errs {
			// positions are in "show "+text: shift back to the expression
			if e.Pos.Line == 1 {
				e.Pos.Col -= 5
				e.Pos.Off -= 5
			}
			e.Src = &Source{Name: "<expr>", Text: []byte(text)}
		}
		return nil, errs
	}
	if len(f.Stmts) != 1 {
		return nil, ErrorList{{Src: f.Src, Pos: Pos{Line: 1, Col: 1}, Msg: "expected one expression"}}
	}
	sh := f.Stmts[0].(*ShowStmt)
	if sh.At != nil || sh.Near != nil {
		return nil, ErrorList{{Src: f.Src, Pos: Pos{Line: 1, Col: 1}, Msg: "expected one expression"}}
	}
	return sh.X, nil
}

func posAt(text []byte, off int) Pos {
	line, col := 1, 1
	for _, r := range string(text[:off]) {
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return Pos{Off: off, Line: line, Col: col}
}

func toPos(p lexer.Position) Pos { return Pos{Off: p.Offset, Line: p.Line, Col: p.Column} }

// chunk is one statement's tokens, or a comment or blank line between statements.
type chunk struct {
	toks     []lexer.Token
	end      int    // byte offset just after the last token
	line     int    // first line
	comment  string // an own-line comment
	trailing string // a comment after the statement on its last line
	blank    bool
	inner    bool // comments inside the statement (the formatter keeps its text)
	err      *Error
}

// split lexes text and cuts it into statements at newlines and ';' outside
// brackets (a line ending inside ( [ { continues the statement). Tokens
// never span lines, so it lexes line by line, and once a statement is in
// error it skips the rest of the line unlexed: a hostile line of 10⁵
// brackets costs only the tokens up to the error.
func split(name string, text []byte) ([]chunk, error) {
	var out []chunk
	var cur chunk
	depth := 0
	var open []lexer.Token // unclosed brackets
	newlines := 0          // consecutive newlines seen since the last statement or comment
	flush := func() {
		if len(cur.toks) > 0 || cur.err != nil {
			out = append(out, cur)
		}
		cur = chunk{}
		depth = 0
		open = open[:0]
	}
	lineNo := 0
	for off := 0; off <= len(text); {
		lineNo++
		end := bytes.IndexByte(text[off:], '\n')
		last := end < 0
		if last {
			end = len(text)
		} else {
			end += off
		}
		line := text[off:end]
		lex, err := lexDef.LexString(name, string(line))
		if err != nil {
			return nil, err
		}
		for {
			t, err := lex.Next()
			if err != nil {
				return nil, err
			}
			if t.EOF() || cur.err != nil {
				break // the rest of a line in error is skipped
			}
			t.Pos.Offset += off
			t.Pos.Line = lineNo
			switch t.Type {
			case tokSpace:
				continue
			case tokComment:
				switch {
				case len(cur.toks) == 0 && cur.err == nil:
					out = append(out, chunk{comment: t.Value, line: t.Pos.Line})
					newlines = 0
				case depth > 0:
					cur.inner = true
				default:
					cur.trailing = t.Value
				}
				continue
			}
			newlines = 0
			if t.Type == tokOp && t.Value == ";" && depth == 0 {
				flush()
				continue
			}
			if len(cur.toks) == 0 {
				cur.line = t.Pos.Line
			}
			switch {
			case t.Type == tokInvalid && t.Value == "\ufeff" && t.Pos.Offset == 0:
				continue // a byte-order mark opening the file
			case t.Type == tokInvalid:
				cur.err = invalidChar(t)
				continue
			case len(cur.toks) >= MaxStatementTokens:
				cur.err = &Error{Pos: toPos(t.Pos), Msg: fmt.Sprintf("statement longer than %d tokens", MaxStatementTokens),
					Hint: "write long sums and products with sum(i in 1..n, ...) and prod(i in 1..n, ...)"}
				continue
			case t.Type == tokOp && (t.Value == "(" || t.Value == "[" || t.Value == "{"):
				depth++
				open = append(open, t)
				if depth > MaxNesting {
					cur.err = &Error{Pos: toPos(t.Pos), Msg: fmt.Sprintf("brackets nested more than %d deep", MaxNesting)}
					continue
				}
			case t.Type == tokOp && (t.Value == ")" || t.Value == "]" || t.Value == "}"):
				if depth > 0 {
					depth--
					open = open[:len(open)-1]
				}
			}
			cur.toks = append(cur.toks, t)
			cur.end = t.Pos.Offset + len(t.Value)
		}
		if last {
			if depth > 0 && cur.err == nil {
				b := open[len(open)-1]
				cur.err = &Error{Pos: toPos(b.Pos), Msg: fmt.Sprintf("%q is never closed", b.Value)}
			}
			flush()
			return out, nil
		}
		off = end + 1
		// the end of the line: a statement in error inside brackets goes on
		// (skipped) until the next line that starts a statement
		if depth > 0 && cur.err != nil && !startsStatement(text[off:]) {
			continue
		}
		if depth > 0 && cur.err == nil {
			if !startsStatement(text[off:]) {
				continue
			}
			b := open[len(open)-1]
			cur.err = &Error{Pos: toPos(b.Pos), Msg: fmt.Sprintf("%q is never closed", b.Value),
				Hint: "a line ending inside brackets continues the statement; close the bracket before the next statement"}
		}
		if len(cur.toks) > 0 || cur.err != nil {
			flush()
			newlines = 1
			continue
		}
		newlines++
		if newlines == 2 && len(out) > 0 {
			out = append(out, chunk{blank: true, line: lineNo})
		}
	}
	flush()
	return out, nil
}

// startsStatement reports whether the first line of rest that is neither
// blank nor a comment begins, in its first column, with a statement keyword:
// then a bracket left open before it was never closed.
func startsStatement(rest []byte) bool {
	for len(rest) > 0 {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		trimmed := bytes.TrimLeft(line, " \t\r")
		if len(trimmed) == 0 || trimmed[0] == '#' {
			continue
		}
		if len(trimmed) != len(line) {
			return false
		}
		word := trimmed
		for i, r := range string(trimmed) {
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' {
				word = trimmed[:i]
				break
			}
		}
		return isStatementKeyword(string(word))
	}
	return false
}

// sliceLexer feeds one statement's tokens to participle.
type sliceLexer struct {
	toks []lexer.Token
	i    int
}

func (l *sliceLexer) Next() (lexer.Token, error) {
	if l.i < len(l.toks) {
		t := l.toks[l.i]
		l.i++
		return t, nil
	}
	last := l.toks[len(l.toks)-1]
	pos := last.Pos
	pos.Advance(last.Value)
	return lexer.EOFToken(pos), nil
}

func parseStatement(src *Source, toks []lexer.Token) (st Stmt, errs ErrorList) {
	defer func() {
		if r := recover(); r != nil {
			p := toPos(toks[0].Pos)
			errs = ErrorList{{Src: src, Pos: p, Msg: fmt.Sprintf("internal error while parsing: %v", r)}}
		}
	}()
	peek, err := lexer.Upgrade(&sliceLexer{toks: toks})
	if err != nil {
		return nil, ErrorList{{Src: src, Pos: toPos(toks[0].Pos), Msg: err.Error()}}
	}
	g, err := stmtParser.ParseFromLexer(peek)
	if err != nil {
		return nil, ErrorList{parseError(src, toks, err)}
	}
	c := converter{src: src}
	st = c.statement(g)
	if len(c.errs) > 0 {
		return nil, c.errs
	}
	return st, nil
}

// parseError turns a participle error into a positioned error that says
// what was expected in flowlang's words.
func parseError(src *Source, toks []lexer.Token, err error) *Error {
	var perr participle.Error
	e := &Error{Src: src, Pos: toPos(toks[0].Pos), Msg: err.Error()}
	if errors.As(err, &perr) {
		e.Pos = toPos(perr.Position())
		e.Msg = perr.Message()
	}
	var ut *participle.UnexpectedTokenError
	if errors.As(err, &ut) {
		tok := ut.Unexpected
		what := strconv.Quote(tok.Value)
		if tok.EOF() {
			what = "end of statement"
		}
		e.Msg = "unexpected " + what
		first := toks[0].Value
		switch {
		case !isStatementKeyword(first):
			e.Pos = toPos(toks[0].Pos)
			e.End = Pos{Line: e.Pos.Line, Col: e.Pos.Col + utf8.RuneCountInString(first)}
			e.Msg = fmt.Sprintf("expected a statement (let, def, objective, density, functional, show, check, run, load), found %q", first)
		case tok.Value == "=" && first == "check":
			e.Msg = "unexpected \"=\": a check compares with ==, <= or >="
		case tok.EOF():
			e.Msg = "unexpected end of statement: " + expectedAfter(first)
		default:
			e.Msg += ": " + expectedAfter(first)
		}
	}
	if e.Msg == "" {
		e.Msg = "syntax error"
	}
	return e
}

func isStatementKeyword(s string) bool {
	switch s {
	case "let", "def", "objective", "density", "functional", "show", "check", "run", "load":
		return true
	}
	return false
}

// expectedAfter describes a statement's form for parse errors.
func expectedAfter(kw string) string {
	switch kw {
	case "let":
		return "expected let NAME = EXPR"
	case "def":
		return "expected def NAME(PARAMS) = EXPR"
	case "objective":
		return "expected objective NAME(PARAMS) = EXPR"
	case "density":
		return "expected density NAME(VAR) or density NAME(VAR[d])"
	case "functional":
		return "expected functional NAME[DENSITY] = EXPR"
	case "show":
		return "expected show EXPR [at POINT | near POINT]"
	case "check":
		return "expected check EXPR (== | <= | >=) EXPR [at POINT] [tol T]"
	case "run":
		return "expected run TARGET [from INIT] using METHOD(...) [for N steps | until COND] [every K] ..."
	case "load":
		return `expected load "FILE"`
	}
	return "syntax error"
}

// converter turns participle's shapes into the AST.
type converter struct {
	src  *Source
	errs ErrorList
}

func (c *converter) errorf(p lexer.Position, format string, args ...any) {
	c.errs = append(c.errs, &Error{Src: c.src, Pos: toPos(p), Msg: fmt.Sprintf(format, args...)})
}

func sp(a, b lexer.Position) span { return span{toPos(a), toPos(b)} }

func (c *converter) statement(g *gStatement) Stmt {
	switch {
	case g.Let != nil:
		return &LetStmt{span: sp(g.Let.Pos, g.Let.EndPos), Name: c.declName(g.Let.Name), Value: c.expr(g.Let.Value)}
	case g.Def != nil:
		return &DefStmt{span: sp(g.Def.Pos, g.Def.EndPos), Name: c.declName(g.Def.Name), Params: c.params(g.Def.Params), Body: c.expr(g.Def.Body)}
	case g.Objective != nil:
		o := g.Objective
		return &ObjectiveStmt{span: sp(o.Pos, o.EndPos), Name: c.declName(o.Name), Params: c.params(o.Params), Body: c.expr(o.Body)}
	case g.Density != nil:
		d := g.Density
		return &DensityStmt{span: sp(d.Pos, d.EndPos), Name: c.declName(d.Name), Var: c.param(d.Var)}
	case g.Functional != nil:
		fn := g.Functional
		st := &FunctionalStmt{span: sp(fn.Pos, fn.EndPos), Name: c.declName(fn.Name), Density: c.declName(fn.Density),
			Params: c.params(fn.Params), HasArgs: fn.HasArgs, Body: c.expr(fn.Body)}
		if fn.Var != nil {
			st.Var = c.declName(fn.Var)
		}
		return st
	case g.Show != nil:
		s := g.Show
		return &ShowStmt{span: sp(s.Pos, s.EndPos), X: c.expr(s.X), At: c.optExpr(s.At), Near: c.optExpr(s.Near)}
	case g.Check != nil:
		k := g.Check
		op := k.Op.Value
		if op != "==" && op != "<=" && op != ">=" {
			hint := map[string]string{"=": "==", "<": "<=", ">": ">="}[op]
			c.errs = append(c.errs, &Error{Src: c.src, Pos: toPos(k.Op.Pos), End: Pos{Line: k.Op.Pos.Line, Col: k.Op.Pos.Column + len(op)},
				Msg: fmt.Sprintf("check compares with ==, <= or >=, not %s", op), Hint: "write " + hint})
		}
		st := &CheckStmt{span: sp(k.Pos, k.EndPos), LHS: c.expr(k.LHS), Op: op, OpAt: toPos(k.Op.Pos), RHS: c.expr(k.RHS)}
		for _, o := range k.Opts {
			switch {
			case o.At != nil && st.At != nil:
				c.errorf(o.Pos, "at given twice in one check")
			case o.At != nil:
				st.At = c.expr(o.At)
			case st.Tol != nil:
				c.errorf(o.Pos, "tol given twice in one check")
			default:
				st.Tol = c.expr(o.Tol)
			}
		}
		return st
	case g.Run != nil:
		return c.run(g.Run)
	case g.Load != nil:
		return &LoadStmt{span: sp(g.Load.Pos, g.Load.EndPos), Path: c.str(g.Load.Path)}
	}
	return nil
}

func (c *converter) run(g *gRun) *RunStmt {
	r := &RunStmt{span: sp(g.Pos, g.EndPos), Target: c.ident(g.Target)}
	once := func(set bool, cl *gClause, name string) bool {
		if set {
			c.errorf(cl.Pos, "%s given twice in one run", name)
			return false
		}
		return true
	}
	for _, cl := range g.Clauses {
		switch {
		case cl.From != nil:
			if once(r.From != nil, cl, "from") {
				r.From = c.expr(cl.From)
			}
		case cl.Using != nil:
			if once(r.Method != nil, cl, "using") {
				m := &MethodSpec{span: sp(cl.Using.Pos, cl.Using.EndPos), Name: c.ident(cl.Using.Name)}
				for _, a := range cl.Using.Args {
					m.Args = append(m.Args, &NamedArg{span: sp(a.Pos, a.EndPos), Name: c.ident(a.Name), Value: c.expr(a.Value)})
				}
				r.Method = m
			}
		case cl.For != nil:
			if once(r.Steps != nil, cl, "for") {
				r.Steps = c.expr(cl.For)
			}
		case cl.Until != nil:
			if once(r.Until != nil, cl, "until") {
				for _, u := range cl.Until {
					r.Until = append(r.Until, &Cond{span: sp(u.Pos, u.EndPos), Name: c.ident(u.Name), Op: u.Op.Value, Value: c.expr(u.Value)})
				}
			}
		case cl.Every != nil:
			if once(r.Every != nil, cl, "every") {
				r.Every = c.expr(cl.Every)
			}
		case cl.Seed != nil:
			if once(r.Seed != nil, cl, "seed") {
				r.Seed = c.expr(cl.Seed)
			}
		case cl.Compare != nil:
			if once(r.Compare != nil, cl, "compare to") {
				r.Compare = c.expr(cl.Compare)
			}
		case cl.Monitor != nil:
			r.Monitors = append(r.Monitors, &Monitor{span: sp(cl.Monitor.Pos, cl.Monitor.EndPos), Name: c.declName(cl.Monitor.Name), X: c.expr(cl.Monitor.X)})
		case cl.To != nil:
			if once(r.To != nil, cl, "to") {
				r.To = c.str(cl.To)
			}
		case cl.Plot != nil:
			if once(r.Plot != nil, cl, "plot") {
				r.Plot = c.str(cl.Plot)
			}
		}
	}
	return r
}

func (c *converter) str(g *gString) *StringLit {
	v, err := strconv.Unquote(g.Value)
	if err != nil {
		c.errorf(g.Pos, "bad string %s", g.Value)
	}
	return &StringLit{span: sp(g.Pos, g.EndPos), Value: v}
}

func (c *converter) ident(g *gIdent) *Ident {
	p := toPos(g.Pos)
	return &Ident{span: span{p, Pos{Off: p.Off + len(g.Name), Line: p.Line, Col: p.Col + utf8.RuneCountInString(g.Name)}}, Name: g.Name}
}

// declName is an identifier being declared: it must not be a reserved word.
func (c *converter) declName(g *gIdent) *Ident {
	id := c.ident(g)
	if Reserved[id.Name] {
		c.errs = append(c.errs, &Error{Src: c.src, Pos: id.Start, End: id.Stop, Msg: fmt.Sprintf("%s is a reserved word and cannot be declared", id.Name)})
	}
	return id
}

func (c *converter) params(gs []*gParam) []*Param {
	out := make([]*Param, len(gs))
	for i, g := range gs {
		out[i] = c.param(g)
	}
	return out
}

func (c *converter) param(g *gParam) *Param {
	return &Param{span: sp(g.Pos, g.EndPos), Name: c.declName(g.Name), Size: c.optExpr(g.Size)}
}

func (c *converter) optExpr(g *gExpr) Expr {
	if g == nil {
		return nil
	}
	return c.expr(g)
}

func (c *converter) expr(g *gExpr) Expr {
	x := c.term(g.Left)
	for _, r := range g.Rest {
		y := c.term(r.Right)
		start, _ := x.Span()
		_, end := y.Span()
		x = &BinaryExpr{span: span{start, end}, Op: r.Op, X: x, Y: y, OpAt: toPos(r.Pos)}
	}
	return x
}

func (c *converter) term(g *gTerm) Expr {
	x := c.unary(g.Left)
	for _, r := range g.Rest {
		y := c.unary(r.Right)
		start, _ := x.Span()
		_, end := y.Span()
		x = &BinaryExpr{span: span{start, end}, Op: r.Op, X: x, Y: y, OpAt: toPos(r.Pos)}
	}
	return x
}

// signs folds a run of unary signs: an odd number of minus signs is one
// negation (so a hostile ------x cannot nest deeply).
func signs(ss []*gSign) bool {
	neg := false
	for _, s := range ss {
		if s.Value == "-" {
			neg = !neg
		}
	}
	return neg
}

func (c *converter) unary(g *gUnary) Expr {
	x := c.power(g.Power)
	if len(g.Signs) == 0 {
		return x
	}
	// an even run of minus signs is a unary plus, kept so that the
	// expression's span still covers its signs
	op := "+"
	if signs(g.Signs) {
		op = "-"
	}
	var written strings.Builder
	for _, s := range g.Signs {
		written.WriteString(s.Value)
	}
	_, end := x.Span()
	return &UnaryExpr{span: span{toPos(g.Pos), end}, Op: op, Signs: written.String(), X: x}
}

// power folds a^b^c to a^(b^c); a sign after ^ applies to the rest of the
// chain (a^-b^c = a^(-(b^c))).
func (c *converter) power(g *gPower) Expr {
	if len(g.Exps) == 0 {
		return c.postfix(g.Base)
	}
	operands := []Expr{c.postfix(g.Base)}
	for _, e := range g.Exps {
		operands = append(operands, c.postfix(e.Base))
	}
	r := operands[len(operands)-1]
	for i := len(g.Exps) - 1; i >= 0; i-- {
		e := g.Exps[i]
		if len(e.Signs) > 0 {
			var written strings.Builder
			for _, s := range e.Signs {
				written.WriteString(s.Value)
			}
			op := "+"
			if signs(e.Signs) {
				op = "-"
			}
			_, end := r.Span()
			r = &UnaryExpr{span: span{toPos(e.Signs[0].Pos), end}, Op: op, Signs: written.String(), X: r}
		}
		base := operands[i]
		start, _ := base.Span()
		_, end := r.Span()
		r = &BinaryExpr{span: span{start, end}, Op: "^", X: base, Y: r, OpAt: toPos(e.Pos)}
	}
	return r
}

func (c *converter) postfix(g *gPostfix) Expr {
	x := c.primary(g.Primary)
	for _, ix := range g.Index {
		start, _ := x.Span()
		x = &IndexExpr{span: span{start, toPos(ix.EndPos)}, X: x, Index: c.expr(ix.X)}
	}
	return x
}

func (c *converter) primary(g *gPrimary) Expr {
	s := sp(g.Pos, g.EndPos)
	switch {
	case g.Number != nil:
		p := toPos(g.Pos)
		return &NumberLit{span: span{p, Pos{Off: p.Off + len(*g.Number), Line: p.Line, Col: p.Col + len(*g.Number)}}, Text: *g.Number}
	case g.Call != nil:
		call := &CallExpr{span: sp(g.Call.Pos, g.Call.EndPos), Fun: c.ident(g.Call.Fun)}
		for _, a := range g.Call.Args {
			if a.Range != nil {
				call.Args = append(call.Args, &RangeArg{span: sp(a.Range.Pos, a.Range.EndPos), Var: c.declName(a.Range.Var), Lo: c.expr(a.Range.Lo), Hi: c.expr(a.Range.Hi)})
			} else {
				call.Args = append(call.Args, c.expr(a.Expr))
			}
		}
		return call
	case g.Ident != nil:
		return c.ident(g.Ident)
	case g.Paren != nil:
		if len(g.Paren) == 1 {
			return &ParenExpr{span: s, X: c.expr(g.Paren[0])}
		}
		t := &TupleExpr{span: s}
		for _, e := range g.Paren {
			t.Elems = append(t.Elems, c.expr(e))
		}
		return t
	case g.Vector != nil:
		v := &VectorExpr{span: s}
		for _, e := range g.Vector.Elems {
			v.Elems = append(v.Elems, c.expr(e))
		}
		return v
	}
	c.errorf(g.Pos, "expected an expression")
	return &NumberLit{span: s, Text: "0"}
}
