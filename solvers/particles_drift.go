// Drift pieces of particle methods on the tape in batch mode: potential, exact and random-batch interaction.
package solvers

import (
	"flowlang/autodiff"
)

// evalPotential runs the potential's gradient tape over particles [lo, hi)
// of x: w.g[c][k] = ∂V/∂x_c at particle lo+k, and w.g[d][k] = V there when
// the tape also outputs V.
func (r *particleRun) evalPotential(w *particleWorker, x [][]float64, lo, hi int) {
	for c := range w.in {
		w.in[c] = x[c][lo:hi]
	}
	w.pot.EvalBatch(w.in, w.g, hi-lo)
}

// potentialValues writes V at particles [lo, hi) of x into out[:hi−lo].
// The term must have a value (ParticleTerm.hasValue).
func (r *particleRun) potentialValues(w *particleWorker, x [][]float64, lo, hi int, out []float64) {
	for c := range w.in {
		w.in[c] = x[c][lo:hi]
	}
	if w.potV != nil {
		w.vout[0] = out
		w.potV.EvalBatch(w.in, w.vout, hi-lo)
		return
	}
	w.pot.EvalBatch(w.in, w.g, hi-lo)
	copy(out[:hi-lo], w.g[r.d][:hi-lo])
}

// interactionTile is the exact interaction of the particles of tile b:
//
//	drift[c][i] = −(1/N) Σⱼ ∂W/∂z_c(xᵢ − xⱼ),   j = 1..N,
//
// with ∇W evaluated by the tape over blocks of BlockSize differences. The
// order of the sum is fixed, so the result does not depend on the worker.
func (r *particleRun) interactionTile(wi, b int) {
	w := r.ws[wi]
	lo, hi := tileRange(b, r.n)
	x, n, d := r.x, r.n, r.d
	invN := 1 / float64(n)
	for i := lo; i < hi; i++ {
		acc := w.acc
		clear(acc)
		for j0 := 0; j0 < n; j0 += autodiff.BlockSize {
			m := min(autodiff.BlockSize, n-j0)
			for c := 0; c < d; c++ {
				xi := x[c][i]
				zc := w.z[c][:m]
				xj := x[c][j0 : j0+m]
				for k := range zc {
					zc[k] = xi - xj[k]
				}
			}
			w.ker.EvalBatch(w.z, w.zo, m)
			for c := 0; c < d; c++ {
				s := 0.0
				for _, v := range w.zo[c][:m] {
					s += v
				}
				acc[c] += s
			}
		}
		for c := 0; c < d; c++ {
			r.drift[c][i] = -acc[c] * invN
		}
	}
}

// interaction fills r.drift with the interaction's drift: exactly, or by
// random batches when Settings.Batch ≥ 2 (the step's random permutation,
// cut into consecutive batches).
func (r *particleRun) interaction() {
	if r.s.Batch >= 2 {
		r.shuffler.shuffle(r.pool, r.step)
		r.pool.run(r.batchChunks(), r.jobBatch)
		return
	}
	r.pool.run(numTiles(r.n), r.jobInteraction)
}

// groupsPerChunk is the number of random batches one job handles.
func (r *particleRun) groupsPerChunk() int { return max(1, StreamBlock/r.s.Batch) }

func (r *particleRun) batchChunks() int {
	groups := (r.n + r.s.Batch - 1) / r.s.Batch
	g := r.groupsPerChunk()
	return (groups + g - 1) / g
}

// batchChunk is the random batch method (Jin, Li, Liu 2020, "Random batch
// methods (RBM) for interacting particle systems", J. Comput. Phys. 400)
// for the batches of chunk b: the particles, in this step's random order,
// are cut into batches of B (the last may be smaller), and a particle
// feels only the others of its batch:
//
//	drift[i] = −((N−1)/N)·(1/(|β|−1)) Σ_{j∈β, j≠i} ∇W(xᵢ − xⱼ) − ∇W(0)/N,
//
// an unbiased estimate of the exact drift −(1/N)Σⱼ∇W(xᵢ − xⱼ) (the factor
// (N−1)/N and the self term make the expectation exact). A particle alone in
// the last batch feels only the self term. The cost is O(N·B) per step.
func (r *particleRun) batchChunk(wi, b int) {
	w := r.ws[wi]
	B, n, d := r.s.Batch, r.n, r.d
	g0 := b * r.groupsPerChunk()
	g1 := min(g0+r.groupsPerChunk(), (n+B-1)/B)
	lo, hi := g0*B, min(g1*B, n)
	idx := r.perm[lo:hi]
	m := hi - lo
	// gather the chunk's particles in batch order: independent loads that
	// the processor overlaps, where random reads inside the pair loop
	// would wait for memory one at a time
	for c := 0; c < d; c++ {
		xc, xp := r.x[c], w.xp[c][:m]
		for k, i := range idx {
			xp[k] = xc[i]
		}
		clear(w.dp[c][:m])
	}
	k := 0
	flush := func() {
		w.ker.EvalBatch(w.z, w.zo, k)
		for c := 0; c < d; c++ {
			dp := w.dp[c]
			for kk, v := range w.zo[c][:k] {
				dp[w.tgt[kk]] += v
			}
		}
		k = 0
	}
	for s := 0; s < m; s += B {
		e := min(s+B, m)
		for a := s; a < e; a++ {
			for o := s; o < e; o++ {
				if o == a {
					continue
				}
				for c := 0; c < d; c++ {
					w.z[c][k] = w.xp[c][a] - w.xp[c][o]
				}
				w.tgt[k] = int32(a)
				k++
				if k == autodiff.BlockSize {
					flush()
				}
			}
		}
	}
	if k > 0 {
		flush()
	}
	// scale and scatter back in particle order
	N := float64(n)
	for s := 0; s < m; s += B {
		e := min(s+B, m)
		f := 0.0
		if e-s > 1 {
			f = (N - 1) / (N * float64(e-s-1))
		}
		for a := s; a < e; a++ {
			for c := 0; c < d; c++ {
				r.drift[c][idx[a]] = -f*w.dp[c][a] - r.gradW0[c]/N
			}
		}
	}
}

// batchScratch is the length of a worker's gather buffers for random
// batches: one chunk of batches.
func batchScratch(B int) int { return max(StreamBlock, B) }
