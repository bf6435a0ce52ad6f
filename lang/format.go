// The formatter: a script's canonical layout (flowlang fmt), keeping comments.
package lang

import (
	"strings"
	"unicode/utf8"
)

// maxFormattedLine is the longest statement the formatter puts on one line;
// a longer one written across several lines keeps its own layout.
const maxFormattedLine = 100

// Format returns the canonical layout of a parsed file: one statement per
// line with canonical spacing, comments kept (own-line and trailing), runs
// of blank lines folded to one. Trailing comments of consecutive one-line
// statements are aligned, as gofmt aligns them: two spaces after the
// longest statement of the run. It is idempotent.
func Format(f *File) []byte {
	// each output line: a statement (with its trailing comment), an own-line
	// comment, or a blank line ("")
	type line struct {
		text, comment string
		stmt          bool
	}
	var lines []line
	lastBlank := true
	for _, it := range f.Items {
		switch {
		case it.Blank:
			if !lastBlank {
				lines = append(lines, line{})
				lastBlank = true
			}
			continue
		case it.Stmt == nil:
			lines = append(lines, line{text: strings.TrimRight(it.Comment, " \t\r")})
		default:
			text := FormatStmt(it.Stmt)
			if it.Raw != "" || (len(text) > maxFormattedLine && strings.Contains(rawText(f.Src, it.Stmt), "\n")) {
				text = trimLines(rawText(f.Src, it.Stmt))
			}
			lines = append(lines, line{text: text, comment: strings.TrimRight(it.Comment, " \t\r"), stmt: true})
		}
		lastBlank = false
	}
	// a run of consecutive one-line statements with trailing comments
	// shares a comment column
	aligned := func(l line) bool { return l.stmt && l.comment != "" && !strings.Contains(l.text, "\n") }
	var b strings.Builder
	for i := 0; i < len(lines); {
		j, width := i, 0
		for j < len(lines) && aligned(lines[j]) {
			width = max(width, utf8.RuneCountInString(lines[j].text))
			j++
		}
		if j == i { // not in a run
			l := lines[i]
			b.WriteString(l.text)
			if l.comment != "" {
				b.WriteString("  " + l.comment)
			}
			b.WriteString("\n")
			i++
			continue
		}
		for ; i < j; i++ {
			l := lines[i]
			pad := width - utf8.RuneCountInString(l.text) + 2
			b.WriteString(l.text + strings.Repeat(" ", pad) + l.comment + "\n")
		}
	}
	out := strings.TrimRight(b.String(), "\n")
	if out == "" {
		return nil
	}
	return []byte(out + "\n")
}

func rawText(src *Source, st Stmt) string {
	start, end := st.Span()
	if end.Off > len(src.Text) || end.Off < start.Off {
		return FormatStmt(st)
	}
	text := string(src.Text[start.Off:end.Off])
	// a trailing comment on the last line belongs to the item, not the text
	if i := strings.LastIndexByte(text, '\n'); i >= 0 {
		last := text[i+1:]
		if j := strings.IndexByte(last, '#'); j >= 0 && !strings.Contains(last[:j], `"`) {
			text = text[:i+1] + strings.TrimRight(last[:j], " \t")
		}
	}
	return text
}

func trimLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t\r")
	}
	return strings.Join(lines, "\n")
}

// FormatStmt prints one statement canonically.
func FormatStmt(st Stmt) string {
	switch st := st.(type) {
	case *LetStmt:
		return "let " + st.Name.Name + " = " + FormatExpr(st.Value)
	case *DefStmt:
		return "def " + st.Name.Name + "(" + formatParams(st.Params) + ") = " + FormatExpr(st.Body)
	case *ObjectiveStmt:
		return "objective " + st.Name.Name + "(" + formatParams(st.Params) + ") = " + FormatExpr(st.Body)
	case *DensityStmt:
		return "density " + st.Name.Name + "(" + formatParams([]*Param{st.Var}) + ")"
	case *FunctionalStmt:
		s := "functional " + st.Name.Name + "[" + st.Density.Name
		if st.Var != nil {
			s += "(" + st.Var.Name + ")"
		}
		s += "]"
		if st.HasArgs {
			s += "(" + formatParams(st.Params) + ")"
		}
		return s + " = " + FormatExpr(st.Body)
	case *ShowStmt:
		s := "show " + FormatExpr(st.X)
		if st.At != nil {
			s += " at " + FormatExpr(st.At)
		}
		if st.Near != nil {
			s += " near " + FormatExpr(st.Near)
		}
		return s
	case *CheckStmt:
		s := "check " + FormatExpr(st.LHS) + " " + st.Op + " " + FormatExpr(st.RHS)
		if st.At != nil {
			s += " at " + FormatExpr(st.At)
		}
		if st.Tol != nil {
			s += " tol " + FormatExpr(st.Tol)
		}
		return s
	case *RunStmt:
		return formatRun(st)
	case *LoadStmt:
		return "load " + quote(st.Path.Value)
	}
	return ""
}

func formatRun(st *RunStmt) string {
	parts := []string{"run " + st.Target.Name}
	if st.From != nil {
		parts = append(parts, "from "+FormatExpr(st.From))
	}
	if st.Method != nil {
		m := "using " + st.Method.Name.Name
		if len(st.Method.Args) > 0 {
			args := make([]string, len(st.Method.Args))
			for i, a := range st.Method.Args {
				args[i] = a.Name.Name + " = " + FormatExpr(a.Value)
			}
			m += "(" + strings.Join(args, ", ") + ")"
		}
		parts = append(parts, m)
	}
	if st.Steps != nil {
		parts = append(parts, "for "+FormatExpr(st.Steps)+" steps")
	}
	if len(st.Until) > 0 {
		conds := make([]string, len(st.Until))
		for i, c := range st.Until {
			conds[i] = c.Name.Name + " " + c.Op + " " + FormatExpr(c.Value)
		}
		parts = append(parts, "until "+strings.Join(conds, " or "))
	}
	if st.Every != nil {
		parts = append(parts, "every "+FormatExpr(st.Every))
	}
	if st.Seed != nil {
		parts = append(parts, "seed "+FormatExpr(st.Seed))
	}
	if st.Compare != nil {
		parts = append(parts, "compare to "+FormatExpr(st.Compare))
	}
	for _, m := range st.Monitors {
		parts = append(parts, "monitor "+m.Name.Name+" = "+FormatExpr(m.X))
	}
	if st.To != nil {
		parts = append(parts, "to "+quote(st.To.Value))
	}
	if st.Plot != nil {
		parts = append(parts, "plot "+quote(st.Plot.Value))
	}
	return strings.Join(parts, " ")
}

// quote writes a string literal, escaping only what the lexer requires.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`)
	return `"` + r.Replace(s) + `"`
}

func formatParams(ps []*Param) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.Name.Name
		if p.Size != nil {
			parts[i] += "[" + FormatExpr(p.Size) + "]"
		}
	}
	return strings.Join(parts, ", ")
}

// FormatExpr prints an expression as written, with canonical spacing: spaces
// around + and -, none around *, / and ^. Parentheses are kept as written.
func FormatExpr(e Expr) string {
	var b strings.Builder
	writeExpr(&b, e)
	return b.String()
}

func writeExpr(b *strings.Builder, e Expr) {
	switch e := e.(type) {
	case *NumberLit:
		b.WriteString(e.Text)
	case *Ident:
		b.WriteString(e.Name)
	case *UnaryExpr:
		if e.Signs != "" {
			b.WriteString(e.Signs) // as written: fmt changes layout, not signs
		} else {
			b.WriteString(e.Op)
		}
		writeExpr(b, e.X)
	case *BinaryExpr:
		writeExpr(b, e.X)
		if e.Op == "+" || e.Op == "-" {
			b.WriteString(" " + e.Op + " ")
		} else {
			b.WriteString(e.Op)
		}
		writeExpr(b, e.Y)
	case *CallExpr:
		b.WriteString(e.Fun.Name + "(")
		writeList(b, e.Args)
		b.WriteString(")")
	case *IndexExpr:
		writeExpr(b, e.X)
		b.WriteString("[")
		writeExpr(b, e.Index)
		b.WriteString("]")
	case *ParenExpr:
		b.WriteString("(")
		writeExpr(b, e.X)
		b.WriteString(")")
	case *TupleExpr:
		b.WriteString("(")
		writeList(b, e.Elems)
		b.WriteString(")")
	case *VectorExpr:
		b.WriteString("[")
		writeList(b, e.Elems)
		b.WriteString("]")
	case *RangeArg:
		b.WriteString(e.Var.Name + " in ")
		writeExpr(b, e.Lo)
		b.WriteString("..")
		writeExpr(b, e.Hi)
	}
}

func writeList(b *strings.Builder, es []Expr) {
	for i, a := range es {
		if i > 0 {
			b.WriteString(", ")
		}
		writeExpr(b, a)
	}
}
