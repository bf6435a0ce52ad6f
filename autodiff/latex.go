// The LaTeX printer: derivations as math-mode LaTeX that compiles with amsmath.
package autodiff

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// LaTeX prints e as LaTeX math (without surrounding $), in the same term
// order as String.
func LaTeX(e *Node) string {
	s, _ := latex(e)
	return s
}

var greek = map[string]string{
	"alpha": `\alpha`, "beta": `\beta`, "gamma": `\gamma`, "delta": `\delta`, "epsilon": `\epsilon`,
	"eps": `\varepsilon`, "zeta": `\zeta`, "eta": `\eta`, "theta": `\theta`, "kappa": `\kappa`,
	"lambda": `\lambda`, "mu": `\mu`, "nu": `\nu`, "xi": `\xi`, "rho": `\rho`, "sigma": `\sigma`,
	"tau": `\tau`, "phi": `\phi`, "chi": `\chi`, "psi": `\psi`, "omega": `\omega`,
	"Gamma": `\Gamma`, "Delta": `\Delta`, "Theta": `\Theta`, "Lambda": `\Lambda`, "Phi": `\Phi`,
	"Psi": `\Psi`, "Omega": `\Omega`, "Sigma": `\Sigma`,
	"α": `\alpha`, "β": `\beta`, "γ": `\gamma`, "δ": `\delta`, "ε": `\varepsilon`, "ζ": `\zeta`,
	"η": `\eta`, "θ": `\theta`, "κ": `\kappa`, "λ": `\lambda`, "μ": `\mu`, "ν": `\nu`, "ξ": `\xi`,
	"π": `\pi`, "ρ": `\rho`, "σ": `\sigma`, "τ": `\tau`, "φ": `\varphi`, "χ": `\chi`, "ψ": `\psi`,
	"ω": `\omega`, "Γ": `\Gamma`, "Δ": `\Delta`, "Θ": `\Theta`, "Λ": `\Lambda`, "Φ": `\Phi`,
	"Ψ": `\Psi`, "Ω": `\Omega`, "Σ": `\Sigma`,
	"ϑ": `\vartheta`, "ϕ": `\phi`, "ϵ": `\epsilon`, "ϱ": `\varrho`, "ς": `\varsigma`, "ϖ": `\varpi`,
	"Ξ": `\Xi`, "Π": `\Pi`, "Υ": `\Upsilon`, "upsilon": `\upsilon`, "Xi": `\Xi`, "Pi": `\Pi`,
}

// LaTeXName renders an identifier: Greek names as Greek letters, single
// letters as themselves, longer names upright; a trailing _k or digits
// become a subscript.
func LaTeXName(name string) string {
	if g, ok := greek[name]; ok {
		return g
	}
	if i := strings.LastIndexByte(name, '_'); i > 0 && i < len(name)-1 {
		return LaTeXName(name[:i]) + "_{" + LaTeXName(name[i+1:]) + "}"
	}
	// x1 -> x_{1}
	j := len(name)
	for j > 0 && name[j-1] >= '0' && name[j-1] <= '9' {
		j--
	}
	if j > 0 && j < len(name) {
		return LaTeXName(name[:j]) + "_{" + name[j:] + "}"
	}
	if utf8.RuneCountInString(name) == 1 {
		r, _ := utf8.DecodeRuneInString(name)
		if r < utf8.RuneSelf {
			return name
		}
		return `\text{` + name + `}`
	}
	var b strings.Builder
	for _, r := range name {
		if r == '_' {
			b.WriteString(`\_`)
		} else if r < utf8.RuneSelf || unicode.IsLetter(r) {
			b.WriteRune(r)
		}
	}
	return `\mathrm{` + b.String() + `}`
}

func latexNum(n Num) string {
	s := n.Abs().String()
	if p, q := n.Abs().FracText(); !n.IsFloat() && q != "1" {
		s = `\frac{` + p + `}{` + q + `}`
	} else if strings.ContainsAny(s, "eE") {
		// 1e-07 is 10^{-7}, 2.5e+300 is 2.5 \cdot 10^{300}
		m, e, _ := strings.Cut(strings.ToLower(s), "e")
		sign, digits := "", strings.TrimPrefix(e, "+")
		if strings.HasPrefix(digits, "-") {
			sign, digits = "-", digits[1:]
		}
		s = `10^{` + sign + strings.TrimLeft(digits, "0") + `}`
		if m != "1" {
			s = m + ` \cdot ` + s
		}
	}
	if n.Sign() < 0 {
		s = "-" + s
	}
	return s
}

func lparen(s string, prec, need int) string {
	if prec < need {
		return `\left(` + s + `\right)`
	}
	return s
}

func latex(e *Node) (string, int) {
	switch e.kind {
	case KNumber:
		s := latexNum(e.num)
		if e.num.Sign() < 0 {
			return s, precUnary
		}
		return s, precAtom
	case KConstant:
		return `\pi`, precAtom
	case KSymbol:
		s := LaTeXName(e.name)
		if e.index > 0 {
			s = "{" + s + "}_{" + strconv.Itoa(e.index) + "}"
		}
		return s, precAtom
	case KJet:
		if order(e.alpha) > 0 {
			// \partial_{x} q binds like a power: (\partial_{x} q)^{2}, not \partial_{x} q^{2}
			return latexJet(e), precPow
		}
		return latexJet(e), precAtom
	case KCall:
		args := make([]string, len(e.args))
		for i, a := range e.args {
			args[i], _ = latex(a)
		}
		switch e.name {
		case "abs":
			return `\left|` + args[0] + `\right|`, precAtom
		}
		return builtins[e.name].latex + `\left(` + strings.Join(args, ", ") + `\right)`, precAtom
	case KIntegral:
		body, bp := latex(e.args[0])
		v := LaTeXName(e.name)
		return `\int ` + lparen(body, bp, precSum+1) + `\,\mathrm{d}` + v, precProd
	case KPower:
		b, bp := latex(e.args[0])
		x, _ := latex(e.args[1])
		return lparen(b, bp, precAtom) + "^{" + x + "}", precPow
	case KProduct:
		return latexTerm(e, Int(1), nil)
	case KSum:
		return latexSum(e, false)
	}
	return "?", precAtom
}

// latexSum prints a sum (negated when negate is set), leading with a
// positive term as the text printer does.
func latexSum(e *Node, negate bool) (string, int) {
	{
		var b strings.Builder
		first := true
		write := func(text string, neg bool) {
			switch {
			case first && neg:
				b.WriteString("-")
			case !first && neg:
				b.WriteString(" - ")
			case !first:
				b.WriteString(" + ")
			}
			b.WriteString(text)
			first = false
		}
		// same rotation as the text printer: lead with a positive term
		type part struct {
			text string
			neg  bool
		}
		var parts []part
		for i, t := range e.args {
			c := e.coefs[i]
			if negate {
				c = c.Neg()
			}
			flip := flipBase(t, c)
			s, _ := latexTerm(t, c.Abs(), flip)
			parts = append(parts, part{s, (c.Sign() < 0) != (flip != nil)})
		}
		if !e.num.IsZero() {
			parts = append(parts, part{latexNum(e.num.Abs()), (e.num.Sign() < 0) != negate})
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
		for _, pt := range parts {
			write(pt.text, pt.neg)
		}
		return b.String(), precSum
	}
}

func latexJet(e *Node) string {
	base := LaTeXName(e.name)
	if !e.home {
		base += `(` + LaTeXName(e.point) + `)`
	}
	if order(e.alpha) == 0 {
		return base
	}
	var b strings.Builder
	for i, a := range e.alpha {
		if a == 0 {
			continue
		}
		v := LaTeXName(e.point)
		if len(e.alpha) > 1 {
			v = v + "_{" + strconv.Itoa(i+1) + "}"
		}
		b.WriteString(`\partial_{` + v + `}`)
		if a > 1 {
			b.WriteString("^{" + strconv.Itoa(int(a)) + "}")
		}
	}
	return b.String() + " " + base
}

// latexTerm prints c·t for c > 0 as \frac{numerator}{denominator}, with
// the factor flip (if any) negated.
func latexTerm(t *Node, c Num, flip *Node) (string, int) {
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
	cp, cq := c.FracText()
	if c.IsFloat() {
		if !c.IsOne() {
			num = append(num, latexNum(c))
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
			text, _ := latexSum(flip, true)
			f := `\left(` + text + `\right)`
			if k := e.Abs(); !k.IsOne() {
				f += "^{" + k.String() + "}"
			}
			if e.Sign() < 0 {
				den = append(den, f)
			} else {
				num = append(num, f)
			}
		case e.Sign() < 0:
			den = append(den, latexPower(bases[i], e.Neg()))
		default:
			f := latexPower(bases[i], e)
			if bases[i].kind == KJet && order(bases[i].alpha) > 0 && e.IsOne() && i != idx[len(idx)-1] {
				// \partial_{x} q followed by a factor would read as its derivative
				f = `\left(` + f + `\right)`
			}
			num = append(num, f)
		}
	}
	join := func(fs []string) string {
		var b strings.Builder
		for i, f := range fs {
			if i > 0 {
				if f != "" && (f[0] >= '0' && f[0] <= '9') {
					b.WriteString(` \cdot `)
				} else {
					b.WriteString(` `)
				}
			}
			b.WriteString(f)
		}
		return b.String()
	}
	if len(num) == 0 {
		num = []string{"1"}
	}
	if len(den) > 0 {
		// a lone factor needs no parentheses inside \frac{…}{…}
		if len(num) == 1 {
			num[0] = unparen(num[0])
		}
		if len(den) == 1 {
			den[0] = unparen(den[0])
		}
		return `\frac{` + join(num) + `}{` + join(den) + `}`, precAtom
	}
	if len(num) == 1 && c.IsOne() && len(bases) == 1 && exps[0].IsOne() {
		return latex(bases[0])
	}
	return join(num), precProd
}

// unparen removes the \left( \right) around a whole factor.
func unparen(f string) string {
	const l, r = `\left(`, `\right)`
	if !strings.HasPrefix(f, l) || !strings.HasSuffix(f, r) {
		return f
	}
	// only if the outer pair encloses everything: \left(a\right) \left(b\right) stays
	depth := 0
	for i := 0; i < len(f); i++ {
		switch {
		case strings.HasPrefix(f[i:], l):
			depth++
		case strings.HasPrefix(f[i:], r):
			depth--
			if depth == 0 && i+len(r) != len(f) {
				return f
			}
		}
	}
	return f[len(l) : len(f)-len(r)]
}

func latexPower(b *Node, e Num) string {
	s, prec := latex(b)
	if e.IsOne() {
		return lparen(s, prec, precProd+1)
	}
	if !e.IsFloat() {
		if n, d := e.Frac(); n == 1 && d == 2 {
			return `\sqrt{` + s + `}`
		}
	}
	es := latexNum(e)
	if p, q := e.FracText(); !e.IsFloat() && q != "1" {
		es = p + "/" + q // x^{3/2}, not a \frac in an exponent
	}
	return lparen(s, prec, precAtom) + "^{" + es + "}"
}
