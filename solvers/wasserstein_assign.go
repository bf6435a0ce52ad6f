// Exact optimal assignment (Jonker–Volgenant augmentation warmed up by an auction) for W2 between equal-size samples.
package solvers

import (
	"fmt"
	"math"
)

// Assign solves the linear assignment problem for the dense n×n cost
// matrix cost (row-major, cost[i*n+j]): it returns the column assigned to
// each row minimising Σᵢ cost[i, σ(i)], and that minimum. Exact.
//
// The solution is built by the augmentation phase of Jonker & Volgenant
// (1987, "A shortest augmenting path algorithm for dense and sparse linear
// assignment problems", Computing 38): rows are assigned one at a time, each
// along the shortest augmenting path (Dijkstra) in the reduced costs
// cost[i,j] − v[j], and the column prices v are updated so that every
// assigned row stays at its minimum reduced cost. That is exact from any
// starting prices, but on geometric costs it explores half the matrix per
// row when started from poor ones; so the prices are first brought near the
// optimal duals by Bertsekas's auction algorithm with ε-scaling (Bertsekas
// 1988, "The auction algorithm: a distributed relaxation method for the
// assignment problem", Ann. Oper. Res. 14), run in float32 from ε = 0.1 to
// 10⁻⁵ of the cost range (a factor 10 per phase), after which most rows
// find their column at once: n = 1000 points in 2-D take about 0.1 s.
func Assign(cost []float64, n int) ([]int, float64, error) {
	if len(cost) != n*n {
		return nil, 0, fmt.Errorf("assign: %d costs for %d×%d", len(cost), n, n)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, c := range cost {
		if math.IsNaN(c) || math.IsInf(c, 0) {
			return nil, 0, fmt.Errorf("assign: the costs must be finite")
		}
		lo, hi = math.Min(lo, c), math.Max(hi, c)
	}
	if n == 0 {
		return nil, 0, nil
	}
	v := auctionPrices(cost, n, hi-lo)
	rowsol, err := augment(cost, n, v)
	if err != nil {
		return nil, 0, err
	}
	total := 0.0
	for i, j := range rowsol {
		total += cost[i*n+j]
	}
	return rowsol, total, nil
}

// Auction parameters (see Assign): ε starts at auctionStart of the cost
// range and is divided by auctionTheta per phase down to auctionFinal of
// the range (well above float32's resolution 6·10⁻⁸, so every bid raises a
// price); a phase stops after auctionBids·n bids (a price war on
// near-ties), which only makes the prices a worse start.
const (
	auctionStart = 0.1
	auctionTheta = 10
	auctionFinal = 1e-5
	auctionBids  = 50
)

// auctionPrices returns column prices v (as −p, p the auction's prices)
// from the forward auction with ε-scaling: each unassigned row bids for
// the column j minimising cost[i,j] + p[j], raising p[j] by the gap to its
// second best plus ε, and takes it from its owner.
func auctionPrices(cost []float64, n int, span float64) []float64 {
	v := make([]float64, n)
	if n == 1 || span == 0 || span > 1e30 { // beyond float32: no warm start
		return v
	}
	// the auction only warms the prices up, so it runs on a float32 copy of
	// the costs: half the memory traffic of its row scans
	c32 := make([]float32, len(cost))
	for k, c := range cost {
		c32[k] = float32(c)
	}
	p32 := make([]float32, n)
	owner := make([]int, n)
	queue := make([]int, 0, n)
	for eps := auctionStart * span; ; eps /= auctionTheta {
		eps = math.Max(eps, auctionFinal*span)
		for j := range owner {
			owner[j] = -1
		}
		queue = queue[:0]
		for i := 0; i < n; i++ {
			queue = append(queue, i)
		}
		for bids := 0; len(queue) > 0 && bids < auctionBids*n; bids++ {
			i := queue[len(queue)-1]
			queue = queue[:len(queue)-1]
			r := c32[i*n : (i+1)*n]
			pp := p32[:len(r)]
			best, second, jb := float32(math.Inf(1)), float32(math.Inf(1)), 0
			for j, c := range r {
				if x := c + pp[j]; x < second {
					if x < best {
						best, second, jb = x, best, j
					} else {
						second = x
					}
				}
			}
			pp[jb] += second - best + float32(eps)
			if o := owner[jb]; o >= 0 {
				queue = append(queue, o)
			}
			owner[jb] = i
		}
		if eps <= auctionFinal*span {
			break
		}
	}
	for j := range v {
		v[j] = -float64(p32[j])
	}
	return v
}

// augment assigns every row by Jonker–Volgenant augmentation from the
// column prices v (which it updates): for each row a Dijkstra search over
// the reduced costs finds the cheapest alternating path to a free column;
// the prices of the columns settled on the way move so that all assigned
// rows stay at their minimum reduced cost.
func augment(cost []float64, n int, v []float64) ([]int, error) {
	row := func(i int) []float64 { return cost[i*n : (i+1)*n] }
	rowsol := make([]int, n)  // column of each row
	colsol := make([]int, n)  // row of each column
	d := make([]float64, n)   // shortest path lengths
	pred := make([]int, n)    // row before each column on the path
	collist := make([]int, n) // columns: ready | to scan | unscanned
	for j := range colsol {
		colsol[j], rowsol[j] = -1, -1
	}
	for freerow := 0; freerow < n; freerow++ {
		r := row(freerow)
		for j := range d {
			d[j] = r[j] - v[j]
			pred[j] = freerow
			collist[j] = j
		}
		low, up, last := 0, 0, 0
		min := 0.0
		end := -1
		for end < 0 {
			if up == low {
				// the columns at the new minimum distance move to low..up
				last = low - 1
				min = d[collist[up]]
				up++
				for k := up; k < n; k++ {
					j := collist[k]
					if h := d[j]; h <= min {
						if h < min {
							up, min = low, h
						}
						collist[k], collist[up] = collist[up], j
						up++
					}
				}
				for k := low; k < up; k++ {
					if colsol[collist[k]] < 0 {
						end = collist[k]
						break
					}
				}
				if end >= 0 {
					break
				}
			}
			// scan the next column at the minimum: relax through its row
			j1 := collist[low]
			low++
			i := colsol[j1]
			ri := row(i)
			h := ri[j1] - v[j1] - min
			for k := up; k < n; k++ {
				j := collist[k]
				v2 := ri[j] - v[j] - h
				if v2 < d[j] {
					pred[j] = i
					if v2 == min {
						if colsol[j] < 0 {
							end = j
							break
						}
						collist[k], collist[up] = collist[up], j
						up++
					}
					d[j] = v2
				}
			}
		}
		// update the prices of the columns made ready
		for k := 0; k <= last; k++ {
			j1 := collist[k]
			v[j1] += d[j1] - min
		}
		// flip the assignments along the path
		for {
			i := pred[end]
			colsol[end] = i
			j1 := end
			end, rowsol[i] = rowsol[i], j1
			if i == freerow {
				break
			}
			if end < 0 {
				return nil, fmt.Errorf("assign: internal error: broken augmenting path")
			}
		}
	}
	return rowsol, nil
}

// W2Assignment returns W₂ between two samples of the same size n with
// uniform weights, by the exact optimal assignment of the squared
// Euclidean costs: W₂² = (1/n) min_σ Σᵢ |aᵢ − b_σ(i)|². For equal sizes
// the optimal coupling of uniform empirical measures is a permutation
// (Birkhoff–von Neumann), so this is exact. Memory: the n×n cost matrix.
func W2Assignment(a, b *Particles, budget int64) (float64, error) {
	if a.Dim != b.Dim {
		return 0, fmt.Errorf("w2: the samples have dimensions %d and %d", a.Dim, b.Dim)
	}
	if a.N != b.N {
		return 0, fmt.Errorf("w2: an assignment needs samples of equal size, not %d and %d", a.N, b.N)
	}
	n := a.N
	if err := checkBudget(int64(n)*int64(n)*8+int64(n)*64, budget, fmt.Sprintf("an assignment of %d points", n)); err != nil {
		return 0, err
	}
	cost := make([]float64, n*n)
	for i := 0; i < n; i++ {
		row := cost[i*n : (i+1)*n]
		for c := 0; c < a.Dim; c++ {
			ai, bc := a.X[c][i], b.X[c]
			for j := range row {
				z := ai - bc[j]
				row[j] += z * z
			}
		}
	}
	_, total, err := Assign(cost, n)
	if err != nil {
		return 0, err
	}
	return math.Sqrt(math.Max(0, total/float64(n))), nil
}
