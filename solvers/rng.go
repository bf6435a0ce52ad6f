// Random streams for particle methods and sampling: one PCG stream per block, seeded from (seed, purpose, block).
package solvers

import (
	"math/rand/v2"
)

// StreamBlock is the number of particles that share one random stream. The
// particles are cut into consecutive blocks of StreamBlock, and block b
// draws its numbers from the stream seeded by (seed, b) alone; since the
// cut does not depend on the number of workers, a seed gives the same
// result on any number of cores. It is 4 batch-mode blocks of the tape.
const StreamBlock = 1024

// Stream purposes keep the streams of different uses of one seed apart.
const (
	streamSample  uint64 = 1 // drawing a distribution's sample
	streamStep    uint64 = 2 // the noise and accept/reject draws of a run
	streamBatch   uint64 = 3 // the random batches of an interaction (one per step)
	streamW2      uint64 = 4 // samples drawn to estimate a Wasserstein distance
	streamSamples uint64 = 5 // internal MCMC chains (gibbs in d ≥ 2)
)

// splitmix64 is the finaliser of SplitMix64 (Steele, Lea, Flood 2014): a
// bijective mix of 64 bits used to turn (seed, purpose, block) into
// well-separated PCG states.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// newStream returns the PCG stream (math/rand/v2) for block b of the given
// purpose under seed. Distinct (seed, purpose, block) give unrelated
// starting points on PCG's period of 2¹²⁸.
func newStream(seed, purpose, block uint64) *rand.Rand {
	return rand.New(newPCG(seed, purpose, block))
}

func newPCG(seed, purpose, block uint64) *rand.PCG {
	h := splitmix64(seed ^ splitmix64(purpose<<56^block))
	return rand.NewPCG(h, splitmix64(h^0x5851f42d4c957f2d))
}

// paddedPCG keeps each block's generator state on its own cache lines:
// workers stepping neighbouring blocks at the same time would otherwise
// write to one line and make every draw a cache miss (false sharing).
type paddedPCG struct {
	rand.PCG
	_ [112]byte // 16 + 112 = 128 bytes: two lines whatever the alignment
}

// streams returns one stream per StreamBlock of n particles.
func streams(n int, seed, purpose uint64) []*rand.Rand {
	rs := make([]*rand.Rand, numBlocks(n))
	states := make([]paddedPCG, len(rs))
	for b := range rs {
		states[b].PCG = *newPCG(seed, purpose, uint64(b))
		rs[b] = rand.New(&states[b].PCG)
	}
	return rs
}

// numBlocks returns the number of stream blocks of n particles.
func numBlocks(n int) int { return (n + StreamBlock - 1) / StreamBlock }

// blockRange returns the particles [lo, hi) of stream block b.
func blockRange(b, n int) (lo, hi int) {
	lo = b * StreamBlock
	return lo, min(lo+StreamBlock, n)
}
