// check: symbolic zero test, then comparison at random points with a counterexample.
package lang

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	ad "flowlang/autodiff"
)

// Check settings (SPEC §3.2).
const (
	// DefaultTol is the relative tolerance: |A − B| ≤ T·max(1, |A|, |B|).
	DefaultTol = 1e-9
	// CheckPoints is how many points must be compared where both sides are defined.
	CheckPoints = 32
	// maxCheckAttempts bounds the points drawn, defined or not.
	maxCheckAttempts = 2000
	// symbolRange is the half-width of the interval free symbols are drawn from.
	symbolRange = 2.5
	// densityMin and densityMax bound the values of a density q (q > 0).
	densityMin, densityMax = 0.05, 3.0
)

func (in *Interp) check(src *Source, st *CheckStmt) *Error {
	s := in.newScope(src, true)
	lhs, err := s.eval(st.LHS)
	if err != nil {
		return err
	}
	rhs, err := s.eval(st.RHS)
	if err != nil {
		return err
	}
	if err := s.checkFinite(st.LHS, lhs); err != nil {
		return err
	}
	if err := s.checkFinite(st.RHS, rhs); err != nil {
		return err
	}
	if !sameShape(lhs, rhs) {
		return &Error{Src: src, Pos: st.OpAt, End: Pos{Line: st.OpAt.Line, Col: st.OpAt.Col + len(st.Op)},
			Msg: fmt.Sprintf("cannot compare %s with %s", lhs.ShapeName(), rhs.ShapeName())}
	}
	tol := DefaultTol
	if st.Tol != nil {
		t, err := s.constNumber(st.Tol, "tol")
		if err != nil {
			return err
		}
		if t <= 0 {
			return s.errAt(st.Tol, "tol must be positive")
		}
		tol = t
	}
	if in.opts.CheckOnly {
		return nil
	}
	rec := &CheckRecord{Kind: "check", Line: startLine(st), Op: st.Op, Label: label(src, st)}
	if lhs.TreeSize()+rhs.TreeSize() < MaxPrintSize {
		rec.LHS, rec.RHS = lhs.String(), rhs.String()
	}
	if st.At != nil {
		vals, err := s.valueAt([]Value{lhs, rhs}, st.At)
		if err != nil {
			return err
		}
		a, b := flatten(vals[0]), flatten(vals[1])
		rec.How, rec.Points = "numeric", 1
		rec.OK = compareAll(st.Op, a, b, tol) < 0
		if !rec.OK {
			rec.LHSValue, rec.RHSValue = vals[0], vals[1]
			// the point given is the counterexample
			if m, err := s.bindPoint(st.At, []Value{lhs, rhs}); err == nil {
				rec.Counterexample = map[string]float64{}
				for sym, v := range m {
					rec.Counterexample[ad.String(sym)] = v
				}
			}
		}
		in.finishCheck(rec)
		return nil
	}
	if st.Op == "==" && symbolicallyEqual(lhs, rhs) {
		rec.OK, rec.How = true, "symbolic"
		in.finishCheck(rec)
		return nil
	}
	if e := in.numericCheck(s, st, lhs, rhs, tol, rec); e != nil {
		return e
	}
	in.finishCheck(rec)
	return nil
}

func (in *Interp) finishCheck(rec *CheckRecord) {
	if !rec.OK {
		in.failedChecks++
	}
	in.report(rec)
}

// symbolicallyEqual reports whether A − B simplifies to 0 in every entry:
// first in canonical form, then after expanding products of sums.
func symbolicallyEqual(a, b Value) bool {
	for i := range a.Elems {
		d := ad.Sub(a.Elems[i], b.Elems[i])
		if d.IsZero() {
			continue
		}
		if !ad.Expand(d).IsZero() {
			return false
		}
	}
	return true
}

func flatten(v any) []float64 {
	switch v := v.(type) {
	case float64:
		return []float64{v}
	case []float64:
		return v
	case [][]float64:
		var out []float64
		for _, r := range v {
			out = append(out, r...)
		}
		return out
	}
	return nil
}

// agree compares one pair of entries: NaN on both sides agrees (the point
// is then skipped by the caller), equal infinities agree.
func agree(op string, a, b, tol float64) bool {
	if math.IsInf(a, 0) || math.IsInf(b, 0) {
		switch op {
		case "==":
			return a == b
		case "<=":
			return a <= b
		}
		return a >= b
	}
	slack := tol * math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
	switch op {
	case "==":
		return math.Abs(a-b) <= slack
	case "<=":
		return a <= b+slack
	}
	return a >= b-slack
}

// compareAll returns the index of the first disagreeing entry, or -1.
func compareAll(op string, a, b []float64, tol float64) int {
	for i := range a {
		if !agree(op, a[i], b[i], tol) {
			return i
		}
	}
	return -1
}

// numericCheck compares both sides at random points where they are defined.
// Free symbols are drawn from (−2.5, 2.5); a density's value from (0.05, 3)
// (q > 0); its derivatives are free. A point where some entry is undefined
// on both sides is skipped; undefined on one side only is a disagreement.
func (in *Interp) numericCheck(s *scope, st *CheckStmt, lhs, rhs Value, tol float64, rec *CheckRecord) *Error {
	var syms []*ad.Node
	hasIntegral := false
	for _, v := range []Value{lhs, rhs} {
		for _, e := range v.Elems {
			hasIntegral = hasIntegral || e.HasIntegral()
			for _, f := range e.FreeSymbols() {
				if !slices.Contains(syms, f) {
					syms = append(syms, f)
				}
			}
		}
	}
	slices.SortFunc(syms, ad.Compare)
	var integ *testDensities
	if hasIntegral {
		var err *Error
		if integ, err = in.newTestDensities(s, st, lhs, rhs); err != nil {
			return err
		}
		tol = math.Max(tol, integ.minTol)
		for i := range integ.sp.Coords() {
			if x := integ.sp.Coord(integ.sp.Var, i); !slices.Contains(syms, x) {
				syms = append(syms, x)
			}
		}
	}
	rng := rand.New(rand.NewPCG(in.seed(), uint64(startLine(st))))
	rec.How = "numeric"
	values := make(map[*ad.Node]float64, len(syms))
	a := make([]float64, len(lhs.Elems))
	b := make([]float64, len(rhs.Elems))
	for attempt := 0; attempt < maxCheckAttempts && rec.Points < CheckPoints; attempt++ {
		if err := in.ctx.Err(); err != nil {
			return &Error{Msg: "check interrupted"}
		}
		for _, sym := range syms {
			values[sym] = drawSymbol(rng, sym)
		}
		ev := ad.Evaluator{Values: values}
		if integ != nil {
			integ.draw(rng)
			for _, v := range []Value{lhs, rhs} {
				for _, e := range v.Elems {
					integ.setJets(e, integ.sp.Var, values)
				}
			}
			ev.Integral = integ.eval
		}
		ok := true
		for i := range lhs.Elems {
			var e1, e2 error
			a[i], e1 = ev.Eval(lhs.Elems[i])
			b[i], e2 = ev.Eval(rhs.Elems[i])
			if e1 != nil || e2 != nil {
				return s.errAt(st, "cannot evaluate: %v", firstErr(e1, e2))
			}
		}
		skip := false
		for i := range a {
			if math.IsNaN(a[i]) && math.IsNaN(b[i]) {
				skip = true
			}
		}
		if skip {
			rec.Skipped++
			continue
		}
		if k := compareAll(st.Op, a, b, tol); k >= 0 {
			ok = false
		}
		rec.Points++
		if !ok {
			rec.OK = false
			rec.Counterexample = map[string]float64{}
			for _, sym := range syms {
				rec.Counterexample[ad.String(sym)] = values[sym]
			}
			if integ != nil {
				rec.Message = "with the test density " + integ.describe()
			}
			rec.LHSValue = shapeValues(lhs.Shape, slices.Clone(a))
			rec.RHSValue = shapeValues(rhs.Shape, slices.Clone(b))
			return nil
		}
	}
	if rec.Points == 0 {
		rec.OK = false
		rec.Message = fmt.Sprintf("undecided: no point among %d where both sides are defined", rec.Skipped)
		return nil
	}
	rec.OK = true
	return nil
}

func firstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// drawSymbol draws a value for a free symbol or a jet.
func drawSymbol(rng *rand.Rand, sym *ad.Node) float64 {
	if sym.Kind() == ad.KJet && isZeroAlpha(sym.Alpha()) {
		// q > 0, log-uniform so that small and large values both occur
		return densityMin * math.Exp(rng.Float64()*math.Log(densityMax/densityMin))
	}
	return (2*rng.Float64() - 1) * symbolRange
}

func isZeroAlpha(alpha []uint8) bool {
	for _, a := range alpha {
		if a != 0 {
			return false
		}
	}
	return true
}

func (in *Interp) seed() uint64 {
	if in.opts.Seed == 0 {
		return 1
	}
	return in.opts.Seed
}
