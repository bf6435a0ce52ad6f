// The canonical text printer: its output is flowlang source that parses back to the same node.
package autodiff

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// Precedence levels of printed forms, lowest first (SPEC §2).
const (
	precSum   = 1 // a + b, a - b
	precProd  = 2 // a*b, a/b
	precUnary = 3 // -a
	precPow   = 4 // a^b
	precAtom  = 5 // names, calls, non-negative numbers, parenthesised forms
)

// String prints e canonically. The same mathematics prints the same text,
// whatever order it was built in, and the text parses back to e in a scope
// that declares e's symbols and densities (the round-trip rule).
func String(e *Node) string {
	var p printer
	s, _ := p.print(e)
	return s
}

type printer struct{}

func paren(s string, prec, need int) string {
	if prec < need {
		return "(" + s + ")"
	}
	return s
}

func (p printer) print(e *Node) (string, int) {
	switch e.kind {
	case KNumber:
		s := e.num.String()
		switch {
		case e.num.Sign() < 0:
			if strings.Contains(s, "/") {
				return s, precProd
			}
			return s, precUnary
		case strings.Contains(s, "/"):
			return s, precProd
		}
		return s, precAtom
	case KConstant:
		return e.name, precAtom
	case KSymbol:
		return symbolText(e), precAtom
	case KJet:
		return jetText(e), precAtom
	case KCall:
		args := make([]string, len(e.args))
		for i, a := range e.args {
			args[i], _ = p.print(a)
		}
		return e.name + "(" + strings.Join(args, ", ") + ")", precAtom
	case KIntegral:
		body, _ := p.print(e.args[0])
		if e.home {
			return "integral(" + body + ")", precAtom
		}
		return "integral(" + body + ", " + e.name + ")", precAtom
	case KPower:
		b, bp := p.print(e.args[0])
		x, xp := p.print(e.args[1])
		return paren(b, bp, precAtom) + "^" + paren(x, xp, precPow+1), precPow
	case KProduct:
		return p.term(e, Int(1), nil)
	case KSum:
		return p.sum(e, false)
	}
	return "?", precAtom
}

// flipBase returns the sum factor of a term c·t (c < 0) whose negation reads
// better: -x*(y - 1) prints as x*(1 - y). Only printing changes; the node
// stays canonical. It returns nil when nothing should flip.
func flipBase(t *Node, c Num) *Node {
	if c.Sign() >= 0 || t.kind != KProduct {
		return nil
	}
	var cand *Node
	for i, b := range t.args {
		k, ok := t.coefs[i].IsInt()
		if b.kind != KSum || !ok || k%2 == 0 {
			continue
		}
		if cand != nil {
			return nil // two candidates: keep the canonical form
		}
		cand = b
	}
	if cand == nil {
		return nil
	}
	pos, neg := 0, 0
	for _, k := range append([]Num{cand.num}, cand.coefs...) {
		switch k.Sign() {
		case 1:
			pos++
		case -1:
			neg++
		}
	}
	if pos > neg {
		return nil
	}
	return cand
}

func symbolText(e *Node) string {
	if e.index == 0 {
		return e.name
	}
	return e.name + "[" + strconv.Itoa(e.index) + "]"
}

// jetText prints q, q(y), diff(q, x), diff(q, x, 2), diff(q, x[1], x[2]) or
// diff(q(y), y[1], 2).
func jetText(e *Node) string {
	base := e.name
	if !e.home {
		base += "(" + e.point + ")"
	}
	if order(e.alpha) == 0 {
		return base
	}
	var b strings.Builder
	b.WriteString("diff(" + base)
	for i, a := range e.alpha {
		if a == 0 {
			continue
		}
		v := e.point
		if len(e.alpha) > 1 {
			v += "[" + strconv.Itoa(i+1) + "]"
		}
		b.WriteString(", " + v)
		if a > 1 {
			b.WriteString(", " + strconv.Itoa(int(a)))
		}
	}
	b.WriteString(")")
	return b.String()
}

// sum prints a sum: terms in canonical order, the constant last, and the
// first positive term moved to the front so that 1 - x prints as 1 - x.
func (p printer) sum(e *Node, negate bool) (string, int) {
	type part struct {
		text string
		neg  bool
	}
	parts := make([]part, 0, len(e.args)+1)
	for i, t := range e.args {
		c := e.coefs[i]
		if negate {
			c = c.Neg()
		}
		flip := flipBase(t, c)
		s, _ := p.term(t, c.Abs(), flip)
		parts = append(parts, part{s, (c.Sign() < 0) != (flip != nil)})
	}
	if !e.num.IsZero() {
		parts = append(parts, part{e.num.Abs().String(), (e.num.Sign() < 0) != negate})
	}
	if parts[0].neg {
		for i, pt := range parts {
			if !pt.neg {
				copy(parts[1:i+1], parts[:i])
				parts[0] = pt
				break
			}
		}
	}
	var b strings.Builder
	for i, pt := range parts {
		switch {
		case i == 0 && pt.neg:
			b.WriteString("-")
		case i > 0 && pt.neg:
			b.WriteString(" - ")
		case i > 0:
			b.WriteString(" + ")
		}
		b.WriteString(pt.text)
	}
	return b.String(), precSum
}

// printRank orders the factors of a printed product: numbers, constants,
// symbols, jets, calls, powers, sums, integrals (so 400*x*(x^2 - y)).
func printRank(n *Node) int {
	return int(n.kind)
}

// term prints c·t for c > 0 (c = 1 for a bare product) as
// numerator/denominator, with the factor flip (if any) negated.
func (p printer) term(t *Node, c Num, flip *Node) (string, int) {
	var bases []*Node
	var exps []Num
	if t.kind == KProduct {
		bases, exps = t.args, t.coefs
	} else {
		bases, exps = []*Node{t}, []Num{Int(1)}
	}
	idx := make([]int, len(bases))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(i, j int) int {
		return cmp.Compare(printRank(bases[i]), printRank(bases[j]))
	})
	var num, den []string
	firstIsSum := false // the first factor after the coefficient is a sum to the first power
	cp, cq := c.FracText()
	if c.IsFloat() {
		if !c.IsOne() {
			num = append(num, c.String())
		}
	} else {
		if cp != "1" {
			num = append(num, cp)
		}
		if cq != "1" {
			den = append(den, cq)
		}
	}
	for _, i := range idx {
		e := exps[i]
		switch {
		case bases[i] == flip:
			text, _ := p.sum(flip, true)
			f := "(" + text + ")"
			if !e.IsOne() && e.Sign() > 0 {
				f += "^" + e.String()
			} else if !e.IsOne() {
				f += "^" + e.Neg().String()
			}
			if e.Sign() < 0 {
				den = append(den, f)
			} else {
				num = append(num, f)
			}
		case e.Sign() < 0:
			den = append(den, p.power(bases[i], e.Neg()))
		default:
			if len(num) == 1 && !c.IsOne() && bases[i].kind == KSum && e.IsOne() && (c.IsFloat() || hasFloatCoef(bases[i])) {
				firstIsSum = true
			}
			num = append(num, p.power(bases[i], e))
		}
	}
	if len(num) == 0 {
		num = []string{"1"}
	}
	if firstIsSum && (len(num) > 2 || len(den) > 0) {
		// 0.5*(x + 1)*y would parse as (0.5*x + 0.5)*y, and a float content
		// cannot be taken out again (nor can 3 from 3*x - 0.0006): keep the
		// coefficient outside
		rest := strings.Join(num[1:], "*")
		if len(den) > 0 {
			d := strings.Join(den, "*")
			if len(den) > 1 {
				d = "(" + d + ")"
			}
			rest += "/" + d
		}
		return num[0] + "*(" + rest + ")", precProd
	}
	s := strings.Join(num, "*")
	prec := precProd
	if len(num) == 1 && len(den) == 0 {
		// a single factor keeps its own precedence
		_, prec = p.factorPrec(bases, exps, c)
	}
	if len(den) > 0 {
		d := strings.Join(den, "*")
		if len(den) > 1 {
			d = "(" + d + ")"
		}
		s += "/" + d
	}
	return s, prec
}

// hasFloatCoef reports whether a sum has an inexact coefficient or constant.
func hasFloatCoef(s *Node) bool {
	if s.num.IsFloat() && !s.num.IsZero() {
		return true
	}
	for _, c := range s.coefs {
		if c.IsFloat() {
			return true
		}
	}
	return false
}

func (p printer) factorPrec(bases []*Node, exps []Num, c Num) (string, int) {
	if !c.IsOne() {
		return "", precAtom
	}
	if len(bases) == 1 && exps[0].IsOne() {
		return p.print(bases[0])
	}
	return "", precPow
}

// power prints b^e for e > 0 as a factor of a product: sqrt(b) for
// e = 1/2, b alone (parenthesised if it is a sum) for e = 1.
func (p printer) power(b *Node, e Num) string {
	s, prec := p.print(b)
	if e.IsOne() {
		return paren(s, prec, precProd+1)
	}
	if !e.IsFloat() {
		if n, d := e.Frac(); d == 2 && n == 1 {
			return "sqrt(" + s + ")"
		}
	}
	es := e.String()
	if strings.Contains(es, "/") || e.Sign() < 0 {
		es = "(" + es + ")"
	}
	return paren(s, prec, precAtom) + "^" + es
}
