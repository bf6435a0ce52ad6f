// Well-posedness of a Wasserstein gradient flow's diffusion.
package solvers

import (
	"fmt"
	"math"

	ad "flowlang/autodiff"
)

// backwardDiffusion checks the diffusion of ∂q/∂t = ∇·(q∇ξ), ξ = δF/δq,
// when ξ depends on q through its values only (no derivatives of q): its
// part ∇·(q ∂ξ/∂q ∇q) diffuses with coefficient D = q·∂ξ/∂q, and where
// D < 0 the equation is a backward heat equation — ill-posed: it amplifies
// every wiggle of q at a rate that grows without bound with the wiggle's
// frequency, so no discretisation converges. −entropy() has D = −1; a
// porous term with a negative coefficient, −q^(m−1)·m. D is sampled at q
// from 10⁻⁶ to 1, the values every density of unit mass spreads over (its
// tails, its bulk), and at the points xs (nil for a D free of x): a term
// that turns backward only at larger values, where a concentrating flow
// may or may not go, is left to the run.
func backwardDiffusion(space ad.Space, vd *ad.Node, xs [][]float64) error {
	q := space.Q(space.Var, nil)
	for _, s := range vd.FreeSymbols() {
		if s.Kind() == ad.KJet && s.Name() == space.Density && s != q {
			return nil // higher order in q (Fisher information): another kind of equation
		}
	}
	var local []*ad.Node
	for _, t := range ad.Summands(vd) {
		if !t.HasIntegral() {
			local = append(local, t)
		}
	}
	d := ad.Mul(q, ad.Diff(ad.Add(local...), q))
	if d.IsZero() {
		return nil
	}
	coords := make([]*ad.Node, space.Coords())
	for i := range coords {
		coords[i] = space.Coord(space.Var, i)
	}
	if len(xs) == 0 {
		xs = [][]float64{make([]float64, len(coords))}
	}
	for _, x := range xs {
		for _, qv := range []float64{1e-6, 1e-3, 0.1, 1} {
			vals := map[*ad.Node]float64{q: qv}
			for i, c := range coords {
				vals[c] = x[i]
			}
			v, err := ad.Eval(d, vals)
			if err != nil || math.IsNaN(v) || v >= 0 {
				continue
			}
			where := fmt.Sprintf("q = %.3g", qv)
			for i, c := range coords {
				if d.DependsOn(c) {
					where += fmt.Sprintf(", %s = %.3g", ad.String(c), x[i])
				}
			}
			if d.IsConstant() {
				return fmt.Errorf("its diffusion coefficient q·∂(δF/δq)/∂q = %s is negative: a backward heat equation, which is ill-posed", ad.String(d))
			}
			return fmt.Errorf("its diffusion coefficient q·∂(δF/δq)/∂q = %s is negative (%.3g at %s): a backward heat equation, which is ill-posed", ad.String(d), v, where)
		}
	}
	return nil
}
