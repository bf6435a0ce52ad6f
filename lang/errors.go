// Positioned errors with a quoted source line and a caret, and lists of them.
package lang

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	ad "flowlang/autodiff"

	"golang.org/x/text/width"
)

// Pos is a position in a source file: a byte offset and a 1-based line and
// column (in characters, not bytes).
type Pos struct {
	Off, Line, Col int
}

// IsValid reports whether p was set.
func (p Pos) IsValid() bool { return p.Line > 0 }

// Source is a file being interpreted: its name and text, for error messages.
type Source struct {
	Name string
	Text []byte
}

// line returns the text of the 1-based line n.
func (s *Source) line(n int) string {
	if s == nil {
		return ""
	}
	text := string(s.Text)
	for i := 1; i < n; i++ {
		j := strings.IndexByte(text, '\n')
		if j < 0 {
			return ""
		}
		text = text[j+1:]
	}
	if j := strings.IndexByte(text, '\n'); j >= 0 {
		text = text[:j]
	}
	return strings.TrimRight(text, "\r")
}

// lineOf returns the text of the line holding p, found from p's byte offset
// when it has one (so that reporting many errors in a long file stays
// linear), else by counting lines.
func (s *Source) lineOf(p Pos) string {
	if s == nil {
		return ""
	}
	if p.Off > 0 && p.Off <= len(s.Text) {
		start := bytes.LastIndexByte(s.Text[:p.Off], '\n') + 1
		end := bytes.IndexByte(s.Text[start:], '\n')
		if end < 0 {
			end = len(s.Text) - start
		}
		return strings.TrimRight(string(s.Text[start:start+end]), "\r")
	}
	return s.line(p.Line)
}

// Error is an error at a position in a source file. It prints as
//
//	file:line:col: message
//	   12 | the source line
//	      |        ^~~~
//	hint: a suggestion
type Error struct {
	Src      *Source
	Pos, End Pos // End is exclusive; zero for a single caret
	Msg      string
	Hint     string

	// for an error inside a function's body, reported at the call: the
	// functions called, outermost first, the innermost failure's place
	// and its message
	calls   []string
	where   string
	bodyMsg string
}

func (e *Error) Error() string {
	name := "<input>"
	if e.Src != nil && e.Src.Name != "" {
		name = e.Src.Name
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d:%d: %s", name, e.Pos.Line, e.Pos.Col, e.Msg)
	if line := e.Src.lineOf(e.Pos); e.Pos.Line > 0 && line != "" {
		num := strconv.Itoa(e.Pos.Line)
		pad := strings.Repeat(" ", len(num))
		col := max(e.Pos.Col, 1)
		width := 1
		if e.End.Line == e.Pos.Line && e.End.Col > e.Pos.Col {
			width = e.End.Col - e.Pos.Col
		}
		line, col = window(strings.ReplaceAll(line, "\t", " "), col)
		if maxw := utf8.RuneCountInString(line) - col + 1; width > maxw && maxw > 0 {
			width = maxw
		}
		b.WriteString("\n " + num + " | " + line)
		// the caret goes under the column as a terminal shows it: wide
		// (CJK) characters take two cells
		runes := []rune(line)
		lead := displayWidth(runes[:min(col-1, len(runes))])
		under := max(1, displayWidth(runes[min(col-1, len(runes)):min(col-1+width, len(runes))]))
		b.WriteString("\n " + pad + " | " + strings.Repeat(" ", lead) + "^" + strings.Repeat("~", under-1))
	}
	if e.Hint != "" {
		b.WriteString("\nhint: " + e.Hint)
	}
	return b.String()
}

// maxBrief is the largest expression, in nodes written out, that an error
// message quotes: an expression can be a small DAG whose text is
// astronomically long.
const maxBrief = 200

// brief prints e for an error message, or says how large it is.
func brief(e *ad.Node) string {
	size := e.TreeSize()
	switch {
	case size <= maxBrief:
		return ad.String(e)
	case size >= 1<<62:
		return "an expression of more than 10^18 nodes written out"
	}
	return fmt.Sprintf("an expression of %d nodes written out", size)
}

// maxQuoted is the most characters of a source line an error quotes.
const maxQuoted = 120

// window cuts a long line to at most about maxQuoted characters around
// column col (1-based, in characters), marking the cuts with "…", and
// returns the column's place in the cut line.
func window(line string, col int) (string, int) {
	rs := []rune(line)
	if len(rs) <= maxQuoted {
		return line, col
	}
	start := max(0, min(col-1-maxQuoted/2, len(rs)-maxQuoted))
	end := min(len(rs), start+maxQuoted)
	out := string(rs[start:end])
	if start > 0 {
		out = "…" + out
		col = col - start + 1
	}
	if end < len(rs) {
		out += "…"
	}
	return out, col
}

// ErrorList is a list of positioned errors, reported together.
type ErrorList []*Error

func (l ErrorList) Error() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// Sort orders the list by position.
func (l ErrorList) Sort() {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i].Pos, l[j].Pos
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

// Err returns the list as an error, or nil when it is empty.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// displayWidth is the number of terminal cells rs takes: two for East
// Asian wide and fullwidth characters, one for the others.
func displayWidth(rs []rune) int {
	n := 0
	for _, r := range rs {
		switch width.LookupRune(r).Kind() {
		case width.EastAsianWide, width.EastAsianFullwidth:
			n += 2
		default:
			n++
		}
	}
	return n
}
