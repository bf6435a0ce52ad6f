// Rows of particle runs: moments per coordinate and the free energy of the empirical measure.
package solvers

import (
	"math"

	"flowlang/autodiff"
)

// Slots of the per-tile partial sums (after the 2d moment slots).
const (
	partPotential = iota
	partInteraction
	partEntropy
)

// Bits of particleRun.energyPart: the energy parts a row computes.
const (
	wantPotential = 1 << iota
	wantInteraction
	wantEntropy
)

// moments writes the mean and the population variance of each coordinate,
// by two passes (mean, then centred squares) over tiles whose partial sums
// are added in tile order.
func (r *particleRun) moments(mean, v []float64) {
	tiles := numTiles(r.n)
	r.pool.run(tiles, r.jobMoments1)
	N := float64(r.n)
	for c := 0; c < r.d; c++ {
		s := 0.0
		for b := 0; b < tiles; b++ {
			s += r.part[b][c]
		}
		mean[c] = s / N
	}
	copy(r.rowMean, mean)
	r.pool.run(tiles, r.jobMoments2)
	for c := 0; c < r.d; c++ {
		s := 0.0
		for b := 0; b < tiles; b++ {
			s += r.part[b][r.d+c]
		}
		v[c] = s / N
	}
}

func (r *particleRun) moments1(_, b int) {
	lo, hi := tileRange(b, r.n)
	for c := 0; c < r.d; c++ {
		s := 0.0
		for _, v := range r.x[c][lo:hi] {
			s += v
		}
		r.part[b][c] = s
	}
}

func (r *particleRun) moments2(_, b int) {
	lo, hi := tileRange(b, r.n)
	for c := 0; c < r.d; c++ {
		m, s := r.rowMean[c], 0.0
		for _, v := range r.x[c][lo:hi] {
			s += (v - m) * (v - m)
		}
		r.part[b][r.d+c] = s
	}
}

// fillRow computes a row at the current state: moments, the parts of the
// energy that can be computed (see ParticleRow), then the method's columns.
func (r *particleRun) fillRow(row *ParticleRow) {
	row.Step, row.T = r.step, r.t
	r.moments(row.Mean, row.Var)
	row.Potential, row.Interaction, row.Entropy = 0, 0, 0
	row.Accept, row.Bandwidth = math.NaN(), math.NaN()
	limit := r.s.EnergyPairs
	if limit == 0 {
		limit = DefaultEnergyPairs
	}
	pairs := limit > 0 && r.n <= limit
	r.energyPart = 0
	if t := r.p.Potential; t != nil {
		if t.hasValue(r.d) {
			r.energyPart |= wantPotential
		} else {
			row.Potential = math.NaN()
		}
	}
	if t := r.p.Interaction; t != nil {
		if t.hasValue(r.d) && pairs {
			r.energyPart |= wantInteraction
		} else {
			row.Interaction = math.NaN()
		}
	}
	if _, blob := r.m.(*Blob); r.p.Diffusion != 0 && !blob {
		row.Entropy = math.NaN()
		if pairs && r.n >= 2 && r.kdeBandwidths(row.Var) {
			r.energyPart |= wantEntropy
		}
	}
	if r.energyPart != 0 {
		tiles := numTiles(r.n)
		r.pool.run(tiles, r.jobEnergy)
		var pot, inter, ent float64
		for b := 0; b < tiles; b++ {
			p := r.part[b][2*r.d:]
			pot += p[partPotential]
			inter += p[partInteraction]
			ent += p[partEntropy]
		}
		N := float64(r.n)
		if r.energyPart&wantPotential != 0 {
			row.Potential = pot / N
		}
		if r.energyPart&wantInteraction != 0 {
			row.Interaction = inter / (2 * N * N)
		}
		if r.energyPart&wantEntropy != 0 {
			// log ρ̂₋ᵢ = log Σ_{j≠i} exp(−Σ_c u_c²/2) − log(N−1) − Σ_c ½log(2πb_c²)
			norm := math.Log(N - 1)
			for _, bw := range r.kdeBW {
				norm += 0.5 * math.Log(2*math.Pi*bw*bw)
			}
			row.Entropy = r.p.Diffusion * (ent/N - norm)
		}
	}
	r.m.fillRow(r, row)
	row.Energy = row.Potential + row.Interaction + row.Entropy
}

// kdeBandwidths sets Scott's bandwidths σ_c·N^(−1/(d+4)) for the entropy
// estimate; false when a coordinate has no spread.
func (r *particleRun) kdeBandwidths(v []float64) bool {
	if len(r.kdeBW) != r.d {
		r.kdeBW = make([]float64, r.d)
	}
	f := math.Pow(float64(r.n), -1/float64(r.d+4))
	for c, vc := range v {
		r.kdeBW[c] = math.Sqrt(vc) * f
		if !(r.kdeBW[c] > 0) || math.IsInf(r.kdeBW[c], 0) {
			return false
		}
	}
	return true
}

// energyTile adds up, for the particles of tile b, V(xᵢ), Σⱼ W(xᵢ − xⱼ) and
// log Σ_{j≠i} exp(−|(xᵢ − xⱼ)/b|²/2), as r.energyPart asks.
func (r *particleRun) energyTile(wi, b int) {
	w := r.ws[wi]
	lo, hi := tileRange(b, r.n)
	part := r.part[b][2*r.d:]
	part[partPotential], part[partInteraction], part[partEntropy] = 0, 0, 0
	if r.energyPart&wantPotential != 0 {
		out := w.gv[0][:hi-lo]
		r.potentialValues(w, r.x, lo, hi, out)
		s := 0.0
		for _, v := range out {
			s += v
		}
		part[partPotential] = s
	}
	if r.energyPart&wantInteraction != 0 {
		s := 0.0
		for i := lo; i < hi; i++ {
			for j0 := 0; j0 < r.n; j0 += autodiff.BlockSize {
				m := min(autodiff.BlockSize, r.n-j0)
				for c := 0; c < r.d; c++ {
					xi, zc, xj := r.x[c][i], w.z[c][:m], r.x[c][j0:j0+m]
					for k := range zc {
						zc[k] = xi - xj[k]
					}
				}
				var vals []float64
				if w.kerV != nil {
					w.kerV.EvalBatch(w.z, w.zv, m)
					vals = w.zv[0][:m]
				} else {
					w.ker.EvalBatch(w.z, w.zo, m)
					vals = w.zo[r.d][:m]
				}
				for _, v := range vals {
					s += v
				}
			}
		}
		part[partInteraction] = s
	}
	if r.energyPart&wantEntropy != 0 {
		s := 0.0
		r2 := w.pz[r.d][:0]
		for i := lo; i < hi; i++ {
			sum := 0.0
			for j0 := 0; j0 < r.n; j0 += autodiff.BlockSize {
				m := min(autodiff.BlockSize, r.n-j0)
				r2 = r2[:m]
				clear(r2)
				for c := 0; c < r.d; c++ {
					xi, xj, ib := r.x[c][i], r.x[c][j0:j0+m], 1/r.kdeBW[c]
					for k := range r2 {
						u := (xi - xj[k]) * ib
						r2[k] += u * u
					}
				}
				for k, v := range r2 {
					if j0+k != i {
						sum += math.Exp(-0.5 * v)
					}
				}
			}
			s += math.Log(sum)
		}
		part[partEntropy] = s
	}
}
