// Tests of the random batches' permutation: uniformity and independence from the number of workers.
package solvers

import (
	"math"
	"slices"
	"testing"
)

// TestShuffleUniform draws 72 000 permutations of 6 elements with buckets
// of about 2 (4 buckets: the labelling, placing and bucket shuffles all
// matter)
// and checks that the 720 permutations are equally likely: Pearson's χ²
// with 719 degrees of freedom has mean 719 and standard deviation
// √(2·719) ≈ 38, so a uniform shuffle stays below 719 + 5·38 (a biased one,
// such as a shuffle that keeps buckets in index order, is far above).
func TestShuffleUniform(t *testing.T) {
	const n, draws = 6, 72_000
	pool := newWorkerPool(2)
	defer pool.close()
	s := newBatchShuffler(n, 2, pool.n, 9)
	if s.buckets != 4 {
		t.Fatalf("%d buckets", s.buckets)
	}
	counts := map[[n]int32]int{}
	for step := 0; step < draws; step++ {
		s.shuffle(pool, step)
		var key [n]int32
		copy(key[:], s.perm)
		counts[key]++
	}
	if len(counts) != 720 {
		t.Fatalf("%d distinct permutations of 6, want 720", len(counts))
	}
	const e = draws / 720.0
	chi2 := 0.0
	for _, c := range counts {
		chi2 += (float64(c) - e) * (float64(c) - e) / e
	}
	if limit := 719 + nSigma*math.Sqrt(2*719); chi2 > limit {
		t.Errorf("χ² = %.0f over 719 degrees of freedom (limit %.0f): not uniform", chi2, limit)
	}
}

// TestShuffleWorkers checks that the permutation of a step is the same
// with 1 and 3 workers, and is a permutation.
func TestShuffleWorkers(t *testing.T) {
	const n = 100_003
	p1, p3 := newWorkerPool(1), newWorkerPool(3)
	defer p1.close()
	defer p3.close()
	a := newBatchShuffler(n, shuffleBucket, 1, 4)
	b := newBatchShuffler(n, shuffleBucket, 3, 4)
	for step := 0; step < 3; step++ {
		a.shuffle(p1, step)
		b.shuffle(p3, step)
		if !slices.Equal(a.perm, b.perm) {
			t.Fatalf("step %d: the permutation depends on the workers", step)
		}
		seen := make([]bool, n)
		for _, i := range a.perm {
			if seen[i] {
				t.Fatalf("step %d: %d twice", step, i)
			}
			seen[i] = true
		}
	}
}
