// Truncated stabilised Sinkhorn kernels: the terms of one problem's sums that matter at the final ε, kept across sweeps.
package solvers

import "math"

// Truncation of the stored kernels (Schmitzer 2019, "Stabilized sparse
// scaling algorithms for entropy regularized transport problems", SIAM J.
// Sci. Comput. 41(3), §3: absorption of the potentials into the kernel and
// truncation of its small entries).
const (
	// kernelSlack is how far (in units of ε) the potential summed over may
	// rise at a point above its value at the kernel's construction before
	// the point's column is dirty, summed afresh: entries are kept down to
	// e^(sinkhornExpMin − kernelSlack), so the ones left out stay below
	// e^sinkhornExpMin, as in the one-pass sums.
	kernelSlack = 30
	// kernelMaxExp: no kernel is built when a term exceeds e^kernelMaxExp,
	// that is when the potentials are far from the fixed point (there the
	// terms are about 1); its entries times e^kernelSlack cannot overflow.
	kernelMaxExp = 30
	// kernelMaxFill is the largest fraction of the pairs a kernel stores;
	// beyond it (large ε) the sums are taken afresh at each sweep.
	kernelMaxFill = 0.25
	// kernelMaxDirty is the fraction of dirty columns (see kernel.prepare),
	// or of refused rows, beyond which a kernel is rebuilt: each costs a
	// pass over the rows (or the columns), the rebuild a pass over all
	// pairs. (Over-relaxed sweeps move the potentials at the clouds' edges
	// by hundreds of ε while the rest settles.)
	kernelMaxDirty = 1.0 / 8
	// kernelEntryBytes is the memory of an entry (value and column).
	kernelEntryBytes = 12
)

// kernel holds, for the rows xᵢ of one cloud and the columns yⱼ of another
// (or the same), the entries kᵢⱼ = exp(f⁰ᵢ + h⁰ⱼ − |x̂ᵢ − ŷⱼ|²) at least
// e^(sinkhornExpMin − kernelSlack), f⁰ the rows' potential and h⁰ the
// columns' at construction (divided by ε), in rows grouped by tiles. Then
//
//	Σⱼ exp(hⱼ − |x̂ᵢ − ŷⱼ|²) = e^(−f⁰ᵢ) Σⱼ kᵢⱼ wⱼ,  wⱼ = exp(hⱼ − h⁰ⱼ),
//
// where the entries left out weigh less than e^sinkhornExpMin each as long
// as hⱼ − h⁰ⱼ ≤ kernelSlack: a sweep costs a product of a sparse matrix by
// a vector instead of n·m exponentials.
type kernel struct {
	x, y   [][]float64 // scaled coordinates of the rows and the columns
	f0, h0 []float64   // scaled potentials at construction
	w      []float64   // exp(h − h0) for the current h, 0 on dirty columns
	dirty  []int32     // the columns whose h has risen by more than kernelSlack
	tiles  []kernelTile
	// built says the entries are those of f0, h0; stale that too many
	// rows' sums fell below the accepted least (the rows' potential has
	// moved too far below f0): rebuild before the next use; off that the
	// kernel would be too full or was refused, and the sums are taken
	// afresh.
	built, stale, off bool
	limit             int // the most entries per row, on average over a tile
}

// kernelTile holds the entries of the rows of one tile: those of its r-th
// row are col[start[r]:start[r+1]] and val[start[r]:start[r+1]].
type kernelTile struct {
	start []int32
	col   []int32
	val   []float64
	fail  bool
}

func newKernel(x, y [][]float64, limitPerRow int) *kernel {
	n := len(x[0])
	return &kernel{x: x, y: y, f0: make([]float64, n), h0: make([]float64, len(y[0])), w: make([]float64, len(y[0])),
		tiles: make([]kernelTile, numTiles(n)), limit: limitPerRow}
}

// prepare readies k for a half-sweep whose columns' potential is h
// (divided by ε): it sets w = exp(h − h0) and lists the dirty columns,
// where h has risen by more than kernelSlack, whose entries may have been
// left out wrongly (the sums take them afresh, and w is 0 there). It
// reports whether k must be rebuilt first: not built yet, stale, or more
// than a fraction kernelMaxDirty of its columns dirty.
func (k *kernel) prepare(h []float64) (rebuild bool) {
	if k.off {
		return false
	}
	if !k.built || k.stale {
		return true
	}
	k.dirty = k.dirty[:0]
	for j, v := range h {
		d := v - k.h0[j]
		if d > kernelSlack {
			k.dirty = append(k.dirty, int32(j))
			d = math.Inf(-1)
		}
		k.w[j] = math.Exp(d)
	}
	return len(k.dirty) > int(kernelMaxDirty*float64(len(h)))
}

// setOrigin records f, h as the potentials of the next construction.
func (k *kernel) setOrigin(f, h []float64) {
	copy(k.f0, f)
	copy(k.h0, h)
	for j := range k.w {
		k.w[j] = 1
	}
	k.dirty = k.dirty[:0]
	k.built, k.stale = true, false
}

// buildTile computes the entries of tile t's rows; buf holds a row of
// exponents. It marks the tile failed when its rows have more than limit
// entries on average or an exponent exceeds kernelMaxExp.
func (k *kernel) buildTile(t int, buf []float64) {
	kt := &k.tiles[t]
	lo, hi := tileRange(t, len(k.f0))
	kt.start, kt.col, kt.val, kt.fail = append(kt.start[:0], 0), kt.col[:0], kt.val[:0], false
	const cut = sinkhornExpMin - kernelSlack
	for i := lo; i < hi; i++ {
		from := len(kt.val)
		if len(k.x) == 2 {
			// exponents and selection in one pass, as in sumExp2
			x0, x1, fi := k.x[0][i], k.x[1][i], k.f0[i]
			y0, y1 := k.y[0][:len(k.h0)], k.y[1][:len(k.h0)]
			for j, hj := range k.h0 {
				z0, z1 := x0-y0[j], x1-y1[j]
				if v := fi + hj - z0*z0 - z1*z1; v >= cut {
					kt.col = append(kt.col, int32(j))
					kt.val = append(kt.val, v)
				}
			}
		} else {
			e := buf[:len(k.h0)]
			exponents(e, k.x, i, k.f0[i], k.y, k.h0)
			for j, v := range e {
				if v >= cut {
					kt.col = append(kt.col, int32(j))
					kt.val = append(kt.val, v)
				}
			}
		}
		for e, v := range kt.val[from:] {
			if v > kernelMaxExp {
				kt.fail = true
				return
			}
			kt.val[from+e] = expSinkhorn(v)
		}
		if len(kt.col) > (hi-lo)*k.limit {
			kt.fail = true
			return
		}
		kt.start = append(kt.start, int32(len(kt.col)))
	}
}

// finish turns the kernel off when a tile failed, releasing its memory.
func (k *kernel) finish() {
	for t := range k.tiles {
		if k.tiles[t].fail {
			k.off = true
			k.tiles = nil
			return
		}
	}
}

// rowSum returns Σⱼ kᵢⱼ wⱼ for row i, the r-th of tile t.
func (k *kernel) rowSum(t, r int) float64 {
	kt := &k.tiles[t]
	a, b := kt.start[r], kt.start[r+1]
	col, val := kt.col[a:b], kt.val[a:b]
	val = val[:len(col)]
	w := k.w
	s := 0.0
	for e, j := range col {
		s += val[e] * w[j]
	}
	return s
}
