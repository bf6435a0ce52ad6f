// Test densities: checking nonlocal terms numerically by substituting a random positive density.
package lang

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	ad "flowlang/autodiff"

	"gonum.org/v1/gonum/integrate/quad"
)

// Quadrature for integrals in checks: Gauss–Legendre on [c − L, c + L],
// covering the test density's mass to far below the check's tolerance.
const (
	quadNodes1D = 96 // nodes per dimension in one dimension
	quadNodes2D = 40 // nodes per dimension in two dimensions
	// integralTol is the smallest relative tolerance a check with integrals
	// uses: the two sides are integrated with the same rule, but identities
	// that hold only after integrating by parts carry quadrature error.
	integralTol = 1e-6
)

// testDensities substitutes for a density q a random mixture of two
// Gaussians, q(x) = Σ wₖ N(x; mₖ, diag(sₖ²)), whose derivatives of every
// order are known in closed form, and evaluates integrals by quadrature.
type testDensities struct {
	sp      *ad.Space
	weights []float64
	means   [][]float64 // per component, per coordinate
	sds     [][]float64
	nodes   []float64 // quadrature nodes on [-1, 1]
	qw      []float64 // and weights
}

func (in *Interp) newTestDensities(s *scope, st *CheckStmt, vals ...Value) (*testDensities, *Error) {
	var sp *ad.Space
	for _, v := range vals {
		for _, e := range v.Elems {
			for _, f := range e.FreeSymbols() {
				if f.Kind() != ad.KJet {
					continue
				}
				d := in.densities[f.Name()]
				if d == nil {
					continue
				}
				if sp != nil && sp.Density != d.space.Density {
					return nil, s.errAt(st, "cannot check integrals over two densities (%s and %s) numerically", sp.Density, d.space.Density)
				}
				sp = &d.space
			}
		}
	}
	if sp == nil {
		for _, name := range s.state.densities {
			sp = &in.densities[name].space
		}
	}
	if sp == nil && len(in.densityOrder) > 0 {
		sp = &in.densities[in.densityOrder[len(in.densityOrder)-1]].space
	}
	if sp == nil {
		return nil, s.errAt(st, "cannot evaluate integrals without a declared density")
	}
	if sp.Coords() > 2 {
		return nil, s.errAt(st, "integrals over %d dimensions cannot be checked numerically (at most 2)", sp.Coords())
	}
	n := quadNodes1D
	if sp.Coords() == 2 {
		n = quadNodes2D
	}
	t := &testDensities{sp: sp, nodes: make([]float64, n), qw: make([]float64, n)}
	quad.Legendre{}.FixedLocations(t.nodes, t.qw, -1, 1)
	return t, nil
}

// draw picks a new random mixture: weights in (0.3, 0.7), means in (−1, 1),
// standard deviations in (0.6, 1.4).
func (t *testDensities) draw(rng *rand.Rand) {
	d := t.sp.Coords()
	w := 0.3 + 0.4*rng.Float64()
	t.weights = []float64{w, 1 - w}
	t.means = make([][]float64, 2)
	t.sds = make([][]float64, 2)
	for k := range t.means {
		t.means[k] = make([]float64, d)
		t.sds[k] = make([]float64, d)
		for i := range d {
			t.means[k][i] = 2*rng.Float64() - 1
			t.sds[k][i] = 0.6 + 0.8*rng.Float64()
		}
	}
}

func (t *testDensities) describe() string {
	var parts []string
	for k, w := range t.weights {
		parts = append(parts, fmt.Sprintf("%.3g·N(%s; %s)", w, fmtVec(t.means[k]), fmtVec(t.sds[k])))
	}
	return t.sp.Density + " = " + strings.Join(parts, " + ") + " (means; standard deviations)"
}

func fmtVec(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = FormatNumber(x, 4)
	}
	return strings.Join(parts, ", ")
}

// jet returns ∂^α q at the point z: for each Gaussian factor,
// ∂ᵏ/∂zᵏ N(z; m, s²) = (−1)ᵏ Heₖ(u)/sᵏ · N, u = (z − m)/s, with the
// probabilists' Hermite polynomials He₀ = 1, He₁ = u, Heₖ₊₁ = u·Heₖ − k·Heₖ₋₁.
func (t *testDensities) jet(alpha []uint8, z []float64) float64 {
	total := 0.0
	for k, w := range t.weights {
		v := w
		for i, zi := range z {
			s := t.sds[k][i]
			u := (zi - t.means[k][i]) / s
			g := math.Exp(-u*u/2) / (s * math.Sqrt(2*math.Pi))
			n := int(alpha[i])
			he0, he1 := 1.0, u
			h := he0
			if n >= 1 {
				h = he1
				for j := 1; j < n; j++ {
					he0, he1 = he1, u*he1-float64(j)*he0
					h = he1
				}
			}
			if n%2 == 1 {
				h = -h
			}
			v *= h / math.Pow(s, float64(n)) * g
		}
		total += v
	}
	return total
}

// setJets gives the jets of q at point (the values of its coordinates in
// values) their test-density values.
func (t *testDensities) setJets(e *ad.Node, point string, values map[*ad.Node]float64) {
	z := make([]float64, t.sp.Coords())
	for i := range z {
		z[i] = values[t.sp.Coord(point, i)]
	}
	for _, f := range e.FreeSymbols() {
		if f.Kind() == ad.KJet && f.Name() == t.sp.Density && f.Point() == point {
			values[f] = t.jet(f.Alpha(), z)
		}
	}
}

// eval integrates an integral node over its variable by tensor-product
// Gauss–Legendre quadrature on a box holding the mixture's mass.
func (t *testDensities) eval(n *ad.Node, outer *ad.Evaluator) (float64, error) {
	body := n.Args()[0]
	d := t.sp.Coords()
	point := n.Name()
	values := make(map[*ad.Node]float64, len(outer.Values)+8)
	for k, v := range outer.Values {
		values[k] = v
	}
	lo, hi := make([]float64, d), make([]float64, d)
	for i := range d {
		lo[i], hi[i] = math.Inf(1), math.Inf(-1)
		for k := range t.weights {
			// 12 standard deviations: the Gaussian tail beyond is below 1e-32
			lo[i] = math.Min(lo[i], t.means[k][i]-12*t.sds[k][i])
			hi[i] = math.Max(hi[i], t.means[k][i]+12*t.sds[k][i])
		}
	}
	idx := make([]int, d)
	sum := 0.0
	for {
		w := 1.0
		for i := range d {
			c, r := (lo[i]+hi[i])/2, (hi[i]-lo[i])/2
			values[t.sp.Coord(point, i)] = c + r*t.nodes[idx[i]]
			w *= r * t.qw[idx[i]]
		}
		t.setJets(body, point, values)
		ev := ad.Evaluator{Values: values, Integral: t.eval}
		f, err := ev.Eval(body)
		if err != nil {
			return 0, err
		}
		sum += w * f
		// next node of the tensor grid
		i := 0
		for ; i < d; i++ {
			idx[i]++
			if idx[i] < len(t.nodes) {
				break
			}
			idx[i] = 0
		}
		if i == d {
			break
		}
	}
	return sum, nil
}
