// The derivatives of the density at the cell centres: centred differences of log q, combined by the chain rule.
package solvers

import (
	"math"
	"slices"
)

// jetTable holds the jets ∂^α q of the current density at the cell
// centres. They are computed from w = log q, the density raised to
// GridFloor in vacuum: its derivatives by centred differences of second
// order,
//
//	∂w ≈ δ₀w = (w_{i+1} − w_{i−1})/(2h),  ∂²w ≈ δ²w = (w_{i+1} − 2w_i + w_{i−1})/h²,
//	∂^k w ≈ (δ²)^⌊k/2⌋ δ₀^(k mod 2) w,
//
// coordinate by coordinate for mixed derivatives, and the jets of q = e^w
// by the chain rule ∂^α q = q·r_α, with r₀ = 1 and, for α = β + eᵢ,
//
//	r_α = Σ_{γ ≤ β} C(β, γ)·r_γ·∂^{β−γ+eᵢ}w
//
// (Leibniz's rule applied to ∂^β(q·∂ᵢw)): ∂q = q·w′, ∂²q = q·(w″ + w′²),
// … This is second-order accurate like differences of q itself, and exact
// for Gaussians, but unlike them it keeps ratios such as ∇q/q and Δq/q —
// which the Fisher information and its DLSS flow are made of — accurate
// in the tails, where q changes by orders of magnitude from cell to cell.
// Beyond the walls the density is extended by even reflection (ghost
// cells q_{−1−i} = q_i, q_{n+i} = q_{n−1−i}), under which the odd
// derivatives vanish at the walls, as zero flux wants.
type jetTable struct {
	g      *Grid
	alphas [][]uint8   // the jets asked for; alphas[0] is q itself
	vals   [][]float64 // their values; vals[0] is q (floored)

	// closure holds every multi-index 0 < δ ≤ α of a jet asked for, by
	// increasing order: w's derivatives dw[k] and the ratios r[k] are
	// kept for each.
	closure [][]uint8
	dw, r   [][]float64
	taps    [][]stencilTap // the stencil of each closure index
	terms   [][]chainTerm  // the chain rule's terms of each r
	jetOf   []int          // the closure index of each jet asked for (−1 for q)

	r0, r1 int // ghost layers per coordinate
	w      int // padded row length n1 + 2·r1
	pad    []float64
	rows   []int // reflected cell index of each padded row
	cols   []int // and column
	ready  bool
	// version counts the densities computed, so that what depends on the
	// density alone (a nonlocal term) is computed once per density
	version int
}

// stencilTap is one weight of a stencil, at an offset in the padded array.
type stencilTap struct {
	off int
	w   float64
}

// chainTerm is coef·r[eta]·dw[dw] (eta −1 for r₀ = 1).
type chainTerm struct {
	coef    float64
	eta, dw int
}

func newJetTable(g *Grid) *jetTable {
	t := &jetTable{g: g}
	t.index(make([]uint8, g.Dim))
	return t
}

// index returns the table's index of the jet with multi-index alpha,
// adding it if new (before the table is first computed).
func (t *jetTable) index(alpha []uint8) int {
	for k, a := range t.alphas {
		if slices.Equal(a, alpha) {
			return k
		}
	}
	if t.ready {
		panic("solvers: jet added to a computed table")
	}
	t.alphas = append(t.alphas, slices.Clone(alpha))
	return len(t.alphas) - 1
}

// finish builds the closure, the stencils, the chain rule and the arrays.
func (t *jetTable) finish() {
	g := t.g
	cells := g.Cells()
	t.ready = true
	t.vals = make([][]float64, len(t.alphas))
	for k := range t.vals {
		t.vals[k] = make([]float64, cells)
	}
	// the closure: every 0 < δ ≤ α, by order then lexicographically
	seen := map[string]bool{}
	for _, a := range t.alphas[1:] {
		var sub func(i int, d []uint8)
		sub = func(i int, d []uint8) {
			if i == len(a) {
				if alphaOrder(d) > 0 && !seen[string(d)] {
					seen[string(d)] = true
					t.closure = append(t.closure, slices.Clone(d))
				}
				return
			}
			for v := uint8(0); v <= a[i]; v++ {
				d[i] = v
				sub(i+1, d)
			}
			d[i] = 0
		}
		sub(0, make([]uint8, len(a)))
	}
	slices.SortStableFunc(t.closure, func(a, b []uint8) int {
		if oa, ob := alphaOrder(a), alphaOrder(b); oa != ob {
			return oa - ob
		}
		return slices.Compare(b, a)
	})
	find := func(d []uint8) int {
		return slices.IndexFunc(t.closure, func(c []uint8) bool { return slices.Equal(c, d) })
	}
	t.jetOf = make([]int, len(t.alphas))
	for k, a := range t.alphas {
		t.jetOf[k] = -1
		if k > 0 {
			t.jetOf[k] = find(a)
		}
	}
	if len(t.closure) == 0 {
		return
	}
	for _, d := range t.closure {
		t.r0 = max(t.r0, (int(d[0])+1)/2)
		if g.Dim == 2 {
			t.r1 = max(t.r1, (int(d[1])+1)/2)
		}
	}
	n0, n1 := g.N[0], g.n1()
	t.w = n1 + 2*t.r1
	t.pad = make([]float64, (n0+2*t.r0)*t.w)
	t.rows = make([]int, n0+2*t.r0)
	for i := range t.rows {
		t.rows[i] = reflect(i-t.r0, n0)
	}
	t.cols = make([]int, t.w)
	for j := range t.cols {
		t.cols[j] = reflect(j-t.r1, n1)
	}
	t.dw = make([][]float64, len(t.closure))
	t.r = make([][]float64, len(t.closure))
	t.taps = make([][]stencilTap, len(t.closure))
	t.terms = make([][]chainTerm, len(t.closure))
	for k, a := range t.closure {
		t.dw[k] = make([]float64, cells)
		t.r[k] = make([]float64, cells)
		s0 := stencil1D(int(a[0]), g.H(0))
		s1 := map[int]float64{0: 1}
		if g.Dim == 2 {
			s1 = stencil1D(int(a[1]), g.H(1))
		}
		for o0, w0 := range s0 {
			for o1, w1 := range s1 {
				if w0 != 0 && w1 != 0 {
					t.taps[k] = append(t.taps[k], stencilTap{off: o0*t.w + o1, w: w0 * w1})
				}
			}
		}
		slices.SortFunc(t.taps[k], func(a, b stencilTap) int { return a.off - b.off })
		// r_α = Σ_{γ ≤ β} C(β, γ) r_γ ∂^{β−γ+eᵢ}w with α = β + eᵢ, i the
		// first coordinate of α that is not 0
		i := slices.IndexFunc(a, func(v uint8) bool { return v > 0 })
		beta := slices.Clone(a)
		beta[i]--
		var sub func(c int, gamma []uint8, coef float64)
		sub = func(c int, gamma []uint8, coef float64) {
			if c == len(beta) {
				d := make([]uint8, len(beta))
				for j := range d {
					d[j] = beta[j] - gamma[j]
				}
				d[i]++
				eta := -1
				if alphaOrder(gamma) > 0 {
					eta = find(gamma)
				}
				t.terms[k] = append(t.terms[k], chainTerm{coef: coef, eta: eta, dw: find(d)})
				return
			}
			for v := uint8(0); v <= beta[c]; v++ {
				gamma[c] = v
				sub(c+1, gamma, coef*binomial(int(beta[c]), int(v)))
			}
			gamma[c] = 0
		}
		sub(0, make([]uint8, len(beta)), 1)
	}
}

func binomial(n, k int) float64 {
	b := 1.0
	for j := 1; j <= k; j++ {
		b = b * float64(n-k+j) / float64(j)
	}
	return b
}

// reflect maps an index beyond [0, n) into it by even reflection at the
// walls (period 2n).
func reflect(i, n int) int {
	m := i % (2 * n)
	if m < 0 {
		m += 2 * n
	}
	if m >= n {
		m = 2*n - 1 - m
	}
	return m
}

// stencil1D returns the weights of the second-order centred difference of
// order k on a grid of step h, by offset.
func stencil1D(k int, h float64) map[int]float64 {
	s := map[int]float64{0: 1}
	conv := func(d map[int]float64) {
		out := map[int]float64{}
		for a, wa := range s {
			for b, wb := range d {
				out[a+b] += wa * wb
			}
		}
		s = out
	}
	d2 := map[int]float64{-1: 1 / (h * h), 0: -2 / (h * h), 1: 1 / (h * h)}
	for range k / 2 {
		conv(d2)
	}
	if k%2 == 1 {
		conv(map[int]float64{-1: -1 / (2 * h), 1: 1 / (2 * h)})
	}
	return s
}

// compute fills the table for the density q, raised to GridFloor where it
// is smaller (vacuum), so that log q and 1/q stay finite; the state itself
// is not changed.
func (t *jetTable) compute(q []float64) {
	if !t.ready {
		t.finish()
	}
	t.version++
	qf := t.vals[0]
	for i, v := range q {
		qf[i] = max(v, GridFloor)
	}
	if len(t.closure) == 0 {
		return
	}
	n0, n1, w := t.g.N[0], t.g.n1(), t.w
	pad, cols := t.pad, t.cols
	for pi, i := range t.rows {
		row := pad[pi*w : (pi+1)*w]
		src := qf[i*n1 : (i+1)*n1]
		for pj, j := range cols {
			row[pj] = math.Log(src[j])
		}
	}
	for k := range t.closure {
		out, taps := t.dw[k], t.taps[k]
		for i := range n0 {
			base := (i+t.r0)*w + t.r1
			o := out[i*n1 : (i+1)*n1]
			for j := range o {
				s := 0.0
				for _, tp := range taps {
					s += tp.w * pad[base+j+tp.off]
				}
				o[j] = s
			}
		}
		r := t.r[k]
		clear(r)
		for _, tm := range t.terms[k] {
			dw := t.dw[tm.dw]
			if tm.eta < 0 {
				for c, v := range dw {
					r[c] += tm.coef * v
				}
				continue
			}
			re := t.r[tm.eta]
			for c, v := range dw {
				r[c] += tm.coef * re[c] * v
			}
		}
	}
	for k := 1; k < len(t.alphas); k++ {
		out, r := t.vals[k], t.r[t.jetOf[k]]
		for c, v := range qf {
			out[c] = v * r[c]
		}
	}
}
