// show w2(A, B): the Wasserstein distance W₂ between two distributions or samples.
package lang

import (
	"fmt"
	"math"

	"flowlang/solvers"
)

// showW2 computes W₂ between A and B, each a distribution (normal,
// uniform, mix, gibbs, points) or a sample of one, sample(D, N), drawn
// with the statement's seed (--seed and the statement's line, a stream
// per side). solvers.W2 chooses the method: the closed form for two
// Gaussians; in one dimension the quantile functions (two samples, a
// sample and a law, two laws); in d ≥ 2 the exact assignment up to
// solvers.DefaultMaxAssignment points and debiased log-domain Sinkhorn
// beyond (a law facing a sample is sampled first). The value is W₂
// itself; info says how it was computed (method, and Sinkhorn's ε).
func (in *Interp) showW2(src *Source, st *ShowStmt, call *CallExpr) *Error {
	s := in.newScope(src, true)
	if st.At != nil {
		return s.errAt(st.At, "w2(A, B) is a number: it takes no at")
	}
	if st.Near != nil {
		return s.errAt(st.Near, "near is only for show critical(f) near POINT")
	}
	if len(call.Args) != 2 {
		return s.errAt(call, "w2 takes two distributions or samples: show w2(A, B), e.g. w2(normal(0, 1), sample(uniform(-1, 1), 1000))")
	}
	line := uint64(startLine(st))
	var sides [2]solvers.Dist
	for k, a := range call.Args {
		dim := 0
		if k == 1 {
			dim = sides[0].Dim()
		}
		var d solvers.Dist
		var err *Error
		if isSampleCall(a) {
			d, err = s.w2Sample(a, dim, w2Seed(in.seed(), line, uint64(k)))
		} else {
			d, err = s.distribution(a, 0)
			if err == nil && dim > 0 && d.Dim() != dim {
				err = s.errAt(a, "%s is on %s but %s is on %s: W2 compares laws on one space", label(src, a), spaceName(d.Dim()), label(src, call.Args[0]), spaceName(dim))
			}
		}
		if err != nil {
			return err
		}
		sides[k] = d
	}
	if in.opts.CheckOnly {
		return nil
	}
	res, werr := solvers.W2(sides[0], sides[1], &solvers.W2Options{Seed: w2Seed(in.seed(), line, 2)})
	if werr != nil {
		return s.errAt(call, "cannot compute W2: %v", werr)
	}
	rec := &ShowRecord{Kind: "show", Line: startLine(st), Label: label(src, st.X)}
	rec.Value = res.W2
	rec.Text = FormatNumber(res.W2, 17)
	rec.Latex = literalLaTeX(res.W2)
	info := map[string]any{"method": res.Method}
	if res.N > 0 {
		info["n"] = res.N
	}
	if res.M > 0 {
		info["m"] = res.M
	}
	if res.Method == "sinkhorn" {
		info["eps"] = res.Eps
		info["debiased"] = res.Debiased
	}
	if res.Sampled {
		info["sampled"] = true
	}
	if res.Subsampled {
		info["subsampled"] = true
	}
	rec.Info = info
	rec.Notes = []string{w2Note(res)}
	in.report(rec)
	return nil
}

// w2Copies is how many copies of a side's points W2 may hold at once:
// the sample, and the sorted copy of the quantile method (or the cost
// matrix's rows, far smaller, for the assignment and Sinkhorn).
const w2Copies = 3

// w2Sample draws sample(D, N) for one side of w2, refusing before drawing
// a sample whose computation would not fit in memory.
func (s *scope) w2Sample(e Expr, dim int, seed uint64) (solvers.Dist, *Error) {
	d, n, err := s.sampleSpec(e, dim)
	if err != nil || s.in.opts.CheckOnly {
		return d, err
	}
	budget := solvers.DefaultMemoryBudget()
	if need := int64(n) * int64(d.Dim()) * 8 * w2Copies; need > budget {
		return nil, s.errAt(unparen(e).(*CallExpr).Args[1], "W2 with a sample of %d points in %d dimension%s would need about %s of memory, more than the %s available",
			n, d.Dim(), plural(d.Dim()), bytesText(need), bytesText(budget)).withHint("use fewer points")
	}
	p, serr := solvers.SampleParticles(d, n, seed, budget)
	if serr != nil {
		return nil, s.memoryError(e, serr)
	}
	return &solvers.Points{P: p}, nil
}

// w2Seed is the seed of one side's sample (side 0 or 1) or of the
// samples solvers.W2 draws itself (side 2): the session's seed mixed with
// the statement's line and the side by SplitMix64's finaliser, so that
// the two sides of w2(sample(D, N), sample(D, N)) are independent and a
// script gives the same numbers at every run.
func w2Seed(seed, line, side uint64) uint64 {
	x := seed ^ line<<20 ^ side<<56
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// w2Note says how W₂ was computed, for humans.
func w2Note(r solvers.W2Result) string {
	var how string
	switch r.Method {
	case "gaussian":
		how = "closed form for two Gaussians"
	case "quantile":
		how = "exact in one dimension, by quantile functions"
		switch {
		case r.N > 0 && r.M > 0:
			how += fmt.Sprintf(" (%d and %d points)", r.N, r.M)
		case r.N > 0 || r.M > 0:
			how += fmt.Sprintf(" (%d points against a law)", max(r.N, r.M))
		}
	case "assignment":
		how = fmt.Sprintf("exact optimal assignment of %d and %d points", r.N, r.M)
	case "sinkhorn":
		how = fmt.Sprintf("debiased log-domain Sinkhorn with ε = %s, %d and %d points", FormatNumber(r.Eps, 4), r.N, r.M)
		if !math.IsNaN(r.Eps) {
			how += fmt.Sprintf(" (entropic blur √ε = %s)", FormatNumber(math.Sqrt(r.Eps), 3))
		}
	default:
		how = r.Method
	}
	if r.Sampled {
		how += "; a law replaced by a sample of it"
	}
	if r.Subsampled {
		how += "; clouds subsampled"
	}
	return how
}
