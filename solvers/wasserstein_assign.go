// Exact optimal assignment (shortest augmenting paths, Jonker–Volgenant style) for W2 between equal-size samples.
package solvers

import (
	"fmt"
	"math"
)

// Assign solves the linear assignment problem for the dense n×n cost
// matrix cost (row-major, cost[i*n+j]): it returns the column assigned to
// each row minimising Σᵢ cost[i, σ(i)], and that minimum. It is the
// shortest-augmenting-path algorithm of Jonker & Volgenant (1987, "A
// shortest augmenting path algorithm for dense and sparse linear assignment
// problems", Computing 38) without their initialisation heuristics, as
// described by Crouse (2016, "On implementing 2D rectangular assignment
// algorithms", IEEE TAES 52(4)): rows are added one at a time, each by a
// Dijkstra search for the shortest augmenting path in reduced costs, with
// dual variables u, v kept feasible (cost[i,j] − u[i] − v[j] ≥ 0). Exact;
// O(n³) in the worst case, far less on typical Euclidean costs.
func Assign(cost []float64, n int) ([]int, float64, error) {
	if len(cost) != n*n {
		return nil, 0, fmt.Errorf("assign: %d costs for %d×%d", len(cost), n, n)
	}
	for _, c := range cost {
		if math.IsNaN(c) || math.IsInf(c, 0) {
			return nil, 0, fmt.Errorf("assign: the costs must be finite")
		}
	}
	u := make([]float64, n)
	v := make([]float64, n)
	spc := make([]float64, n) // shortest path costs to each column
	path := make([]int, n)    // the row before each column on the path
	col4row := make([]int, n)
	row4col := make([]int, n)
	remaining := make([]int, n)
	visitedRow := make([]bool, n)
	visitedCol := make([]bool, n)
	for i := range col4row {
		col4row[i], row4col[i] = -1, -1
	}
	for cur := 0; cur < n; cur++ {
		// Dijkstra from row cur over reduced costs
		for j := range spc {
			spc[j] = math.Inf(1)
			visitedCol[j] = false
			remaining[j] = n - 1 - j
		}
		clear(visitedRow)
		numRemaining := n
		minVal := 0.0
		i := cur
		sink := -1
		for sink < 0 {
			visitedRow[i] = true
			lowest, index := math.Inf(1), -1
			row := cost[i*n : (i+1)*n]
			ui := u[i]
			for it := 0; it < numRemaining; it++ {
				j := remaining[it]
				r := minVal + row[j] - ui - v[j]
				if r < spc[j] {
					path[j] = i
					spc[j] = r
				}
				if spc[j] < lowest || (spc[j] == lowest && row4col[j] < 0) {
					lowest, index = spc[j], it
				}
			}
			minVal = lowest
			if index < 0 || math.IsInf(minVal, 1) {
				return nil, 0, fmt.Errorf("assign: no feasible assignment")
			}
			j := remaining[index]
			if row4col[j] < 0 {
				sink = j
			} else {
				i = row4col[j]
			}
			visitedCol[j] = true
			numRemaining--
			remaining[index] = remaining[numRemaining]
		}
		// update the duals
		u[cur] += minVal
		for r := 0; r < n; r++ {
			if visitedRow[r] && r != cur {
				u[r] += minVal - spc[col4row[r]]
			}
		}
		for j := 0; j < n; j++ {
			if visitedCol[j] {
				v[j] -= minVal - spc[j]
			}
		}
		// augment along the path
		j := sink
		for {
			r := path[j]
			row4col[j] = r
			col4row[r], j = j, col4row[r]
			if r == cur {
				break
			}
		}
	}
	total := 0.0
	for i, j := range col4row {
		total += cost[i*n+j]
	}
	return col4row, total, nil
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
