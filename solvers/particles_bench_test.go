// Benchmarks of particle methods and W2, each beside the hand-written Go doing the same work.
package solvers

import (
	"math"
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// Sizes of the benchmarks (the performance goals of the particle methods).
const (
	benchLangevinN     = 1_000_000
	benchLangevinSteps = 100
	benchInteractionN  = 10_000
	benchAssignN       = 1000
)

// handLangevin is the hand-written Euler–Maruyama loop for the double well
// V = x⁴/4 − x²/2 with the same streams as RunParticles (one PCG per
// StreamBlock, NormFloat64) and the same update x ← x − h∇V(x) + √(2h)ξ,
// on one goroutine or spread over workers like the pool does.
func handLangevin(x []float64, steps int, h float64, seed uint64, workers int) {
	n := len(x)
	rngs := streams(n, seed, streamStep)
	s := math.Sqrt(2 * h)
	blocks := numBlocks(n)
	stepBlock := func(b int) {
		lo, hi := blockRange(b, n)
		rng := rngs[b]
		xs := x[lo:hi]
		for k, v := range xs {
			xs[k] = v - h*(v*v*v-v) + s*rng.NormFloat64()
		}
	}
	for range steps {
		if workers <= 1 {
			for b := 0; b < blocks; b++ {
				stepBlock(b)
			}
			continue
		}
		done := make(chan struct{})
		next := make(chan int, blocks)
		for b := 0; b < blocks; b++ {
			next <- b
		}
		close(next)
		for range workers {
			go func() {
				for b := range next {
					stepBlock(b)
				}
				done <- struct{}{}
			}()
		}
		for range workers {
			<-done
		}
	}
}

// TestHandLangevinMatchesTape checks that the hand-written loop of the
// benchmark does the same work: on the same streams it gives the same
// particles up to rounding. The tape may evaluate x³ − x in another order
// (Horner's x(x² − 1)), an ulp apart; the step map x − h(x³ − x) + noise
// has slope below 1.1 on these clouds, so 7 steps keep the difference
// under 10⁻¹³.
func TestHandLangevinMatchesTape(t *testing.T) {
	const tol = 1e-13
	V, xs := ptDoubleWell()
	p := &ParticleProblem{Dim: 1, Potential: ptTerm(t, V, xs, false), Diffusion: 1}
	const n, steps, h, seed = 3000, 7, 0.01, 5
	init := ptSample(t, ptNormal(t, []float64{0}, []float64{1}), n, 1)
	hand := append([]float64(nil), init.X[0]...)
	handLangevin(hand, steps, h, seed, 1)
	ptRun(t, p, init, &Langevin{H: h}, &ParticleSettings{MaxSteps: steps, Seed: seed})
	for i := range hand {
		if math.Abs(hand[i]-init.X[0][i]) > tol {
			t.Fatalf("particle %d: tape %v, hand-written %v", i, init.X[0][i], hand[i])
		}
	}
}

// BenchmarkLangevinDoubleWell runs langevin on the double well with
// N = 10⁶ particles in 1-D for 100 steps: the hand-written loop on one
// core, the tape on one core, and the tape on GOMAXPROCS cores, reporting
// tape/hand (goal ≤ 1.3) and the speed-up on all cores (goal ≥ 1.7 on 2).
// On a shared machine other programs' load slows some iterations, so the
// ratios are of each variant's fastest iteration (run with -benchtime 5x
// or more), in wall time and in CPU time.
func BenchmarkLangevinDoubleWell(b *testing.B) {
	V, xs := ptDoubleWell()
	p := &ParticleProblem{Dim: 1, Potential: ptTerm(b, V, xs, false), Diffusion: 1}
	init := ptSample(b, ptNormal(b, []float64{0}, []float64{1}), benchLangevinN, 1)
	x := init.Clone()
	cores := runtime.GOMAXPROCS(0)
	var hand, tape1, tapeN fastest
	b.ResetTimer()
	for range b.N {
		copy(x.X[0], init.X[0])
		hand.time(func() { handLangevin(x.X[0], benchLangevinSteps, 0.01, 7, 1) })
		copy(x.X[0], init.X[0])
		tape1.time(func() {
			if _, err := RunParticles(p, x, &Langevin{H: 0.01}, &ParticleSettings{MaxSteps: benchLangevinSteps, Seed: 7, Workers: 1}); err != nil {
				b.Fatal(err)
			}
		})
		copy(x.X[0], init.X[0])
		tapeN.time(func() {
			if _, err := RunParticles(p, x, &Langevin{H: 0.01}, &ParticleSettings{MaxSteps: benchLangevinSteps, Seed: 7, Workers: cores}); err != nil {
				b.Fatal(err)
			}
		})
	}
	b.ReportMetric(hand.ms(), "hand-ms")
	b.ReportMetric(tape1.ms(), "tape1-ms")
	b.ReportMetric(tapeN.ms(), "tapeN-ms")
	b.ReportMetric(float64(tape1.wall)/float64(hand.wall), "tape/hand")
	b.ReportMetric(float64(tape1.cpu)/float64(hand.cpu), "tape/hand-cpu")
	b.ReportMetric(float64(tape1.wall)/float64(tapeN.wall), "speedup")
}

// fastest keeps the least wall and CPU time of the runs it times.
type fastest struct{ wall, cpu time.Duration }

func (f *fastest) time(run func()) {
	t0, c0 := time.Now(), cpuTime()
	run()
	wall, cpu := time.Since(t0), cpuTime()-c0
	if f.wall == 0 || wall < f.wall {
		f.wall = wall
	}
	if f.cpu == 0 || cpu < f.cpu {
		f.cpu = cpu
	}
}

func (f *fastest) ms() float64 { return float64(f.wall.Nanoseconds()) / 1e6 }

// cpuTime returns the CPU time the process has used (all threads): on a
// shared machine the one-core comparisons are also reported in CPU time,
// which other programs' load does not inflate.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// handInteraction is the hand-written exact drift of the Gaussian kernel
// W(z) = exp(−z²/2) in 1-D: driftᵢ = −(1/N)Σⱼ W'(xᵢ − xⱼ) = (1/N)Σⱼ zexp(−z²/2).
func handInteraction(x, drift []float64) {
	n := len(x)
	inv := 1 / float64(n)
	for i, xi := range x {
		s := 0.0
		for _, xj := range x {
			z := xi - xj
			s += z * math.Exp(-0.5*z*z)
		}
		drift[i] = s * inv
	}
}

// TestHandInteractionMatchesTape checks the benchmark's hand-written
// interaction against the tape's: the same drift to rounding (the tape
// sums each block of 256 first, so the sums are grouped differently;
// 1e-12 is many ulps of sums of order 1).
func TestHandInteractionMatchesTape(t *testing.T) {
	const tol = 1e-12
	W, z := ptGaussKernel(1)
	p := &ParticleProblem{Dim: 1, Interaction: ptTerm(t, W, z, false)}
	x := ptSample(t, ptNormal(t, []float64{0}, []float64{2}), 700, 3)
	want := make([]float64, x.N)
	handInteraction(x.X[0], want)
	const h = 0.5
	before := append([]float64(nil), x.X[0]...)
	ptRun(t, p, x, &Deterministic{H: h}, &ParticleSettings{MaxSteps: 1})
	for i := range want {
		got := (x.X[0][i] - before[i]) / h
		if math.Abs(got-want[i]) > tol {
			t.Fatalf("particle %d: drift %v, hand-written %v", i, got, want[i])
		}
	}
}

// BenchmarkInteractionGaussian times one exact interaction step with the
// Gaussian kernel for N = 10⁴ on one core, tape against hand-written
// (goal ≤ 1.5), as ratios of the fastest iterations.
func BenchmarkInteractionGaussian(b *testing.B) {
	W, z := ptGaussKernel(1)
	p := &ParticleProblem{Dim: 1, Interaction: ptTerm(b, W, z, false)}
	x := ptSample(b, ptNormal(b, []float64{0}, []float64{1}), benchInteractionN, 1)
	drift := make([]float64, x.N)
	var hand, tape fastest
	b.ResetTimer()
	for range b.N {
		hand.time(func() { handInteraction(x.X[0], drift) })
		tape.time(func() {
			if _, err := RunParticles(p, x, &Deterministic{H: 1e-9}, &ParticleSettings{MaxSteps: 1, Workers: 1, EnergyPairs: -1}); err != nil {
				b.Fatal(err)
			}
		})
	}
	b.ReportMetric(hand.ms(), "hand-ms")
	b.ReportMetric(tape.ms(), "tape-ms")
	b.ReportMetric(float64(tape.wall)/float64(hand.wall), "tape/hand")
	b.ReportMetric(float64(tape.cpu)/float64(hand.cpu), "tape/hand-cpu")
}

// BenchmarkRandomBatch times langevin with a Gaussian interaction by
// random batches of B = 2 for N = 10⁴ … 10⁶: the cost per particle and
// step (ns/particle-step) should stay flat (linear cost in N).
func BenchmarkRandomBatch(b *testing.B) {
	W, z := ptGaussKernel(1)
	V, xs := ptQuadratic(1)
	p := &ParticleProblem{Dim: 1, Potential: ptTerm(b, V, xs, false), Interaction: ptTerm(b, W, z, false), Diffusion: 1}
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(itoa(n), func(b *testing.B) {
			x := ptSample(b, ptNormal(b, []float64{0}, []float64{1}), n, 1)
			const steps = 10
			b.ResetTimer()
			c0 := cpuTime()
			for range b.N {
				if _, err := RunParticles(p, x, &Langevin{H: 0.01}, &ParticleSettings{MaxSteps: steps, Batch: 2, Workers: 1, EnergyPairs: -1}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n*steps), "ns/particle-step")
			b.ReportMetric(float64((cpuTime()-c0).Nanoseconds())/float64(b.N)/float64(n*steps), "cpu-ns/particle-step")
		})
	}
}

func itoa(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return itoaPlain(n/1_000_000) + "M"
	case n >= 1000 && n%1000 == 0:
		return itoaPlain(n/1000) + "k"
	}
	return itoaPlain(n)
}

func itoaPlain(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoaPlain(n/10) + string(rune('0'+n%10))
}

// BenchmarkW2Assignment times the exact W2 of two samples of 1000 points
// in 2-D (goal < 0.3 s).
func BenchmarkW2Assignment(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	a, _ := NewParticles(benchAssignN, 2, 0)
	c, _ := NewParticles(benchAssignN, 2, 0)
	for d := range 2 {
		for i := range benchAssignN {
			a.X[d][i] = rng.NormFloat64()
			c.X[d][i] = rng.NormFloat64() + 0.5
		}
	}
	b.ResetTimer()
	for range b.N {
		if _, err := W2Assignment(a, c, 0); err != nil {
			b.Fatal(err)
		}
	}
}
