// The random permutation of each step's random batches: Rao–Sandelius, in parallel and cache-friendly.
package solvers

import (
	"math/rand/v2"
)

// Sizes of the shuffle (see batchShuffler).
const (
	shuffleBucket = 4096 // elements per bucket on average: one bucket stays in cache
	shuffleChunks = 64   // the labelling is cut into at most this many chunks
)

// batchShuffler draws a uniformly random permutation of 0..n−1 at every
// step by the method of Rao (1961) and Sandelius (1962): every element gets
// an independent uniform bucket label (2^k buckets of about bucketLen
// elements), the elements are placed bucket by
// bucket (in index order within a bucket), and each bucket is shuffled by
// Fisher–Yates. Conditioned on the bucket sizes each bucket holds a uniform
// random subset in a uniform random order, so the concatenation is a
// uniform permutation. Unlike one Fisher–Yates over all n, whose random
// swaps miss the cache at every step for n = 10⁶, every phase reads or
// writes few streams at a time, and the labelling, placing and bucket
// shuffles run on all workers. The draws of chunk c and bucket k come from
// streams seeded by (seed, step, c) and (seed, step, k), so the permutation
// depends on the seed and the step only.
type batchShuffler struct {
	n, bucketLen     int
	chunks, chunkLen int
	buckets, bits    int // buckets = 2^bits
	label            []uint32
	cursor           []int32 // chunks × buckets: counts, then write positions
	start            []int32 // bucket k is perm[start[k]:start[k+1]]
	perm             []int32
	pcg              []paddedPCG // one per worker
	rng              []*rand.Rand
	seed             uint64
	step             int
	jobLabel         func(w, c int)
	jobPlace         func(w, c int)
	jobShuffle       func(w, k int)
}

func newBatchShuffler(n, bucketLen, workers int, seed uint64) *batchShuffler {
	s := &batchShuffler{n: n, bucketLen: bucketLen, seed: seed}
	for s.buckets = 1; s.buckets*bucketLen < n; s.buckets *= 2 {
		s.bits++
	}
	s.chunks = min(shuffleChunks, s.buckets)
	s.chunkLen = (n + s.chunks - 1) / s.chunks
	s.label = make([]uint32, n)
	s.cursor = make([]int32, s.chunks*s.buckets)
	s.start = make([]int32, s.buckets+1)
	s.perm = make([]int32, n)
	s.pcg = make([]paddedPCG, workers)
	s.rng = make([]*rand.Rand, workers)
	for w := range s.rng {
		s.rng[w] = rand.New(&s.pcg[w].PCG)
	}
	s.jobLabel, s.jobPlace, s.jobShuffle = s.labelChunk, s.placeChunk, s.shuffleBucket
	return s
}

// shuffleBytes is the memory of a batchShuffler for n elements.
func shuffleBytes(n int) int64 {
	buckets := int64(1)
	for buckets*shuffleBucket < int64(n) {
		buckets *= 2
	}
	return int64(n)*8 + shuffleChunks*buckets*4
}

// reseed points worker w's generator at the stream (seed, step, phase, i).
func (s *batchShuffler) reseed(w int, phase, i uint64) *rand.Rand {
	h := splitmix64(s.seed ^ splitmix64(streamBatch<<56^uint64(s.step)<<24^phase<<22^i))
	s.pcg[w].Seed(h, splitmix64(h^0x5851f42d4c957f2d))
	return s.rng[w]
}

// shuffle draws the permutation of the given step into s.perm.
func (s *batchShuffler) shuffle(pool *workerPool, step int) {
	s.step = step
	clear(s.cursor)
	pool.run(s.chunks, s.jobLabel)
	// bucket starts, and each chunk's first position in each bucket
	pos := int32(0)
	for k := 0; k < s.buckets; k++ {
		s.start[k] = pos
		for c := 0; c < s.chunks; c++ {
			cnt := s.cursor[c*s.buckets+k]
			s.cursor[c*s.buckets+k] = pos
			pos += cnt
		}
	}
	s.start[s.buckets] = pos
	pool.run(s.chunks, s.jobPlace)
	pool.run(s.buckets, s.jobShuffle)
}

func (s *batchShuffler) chunkRange(c int) (lo, hi int) {
	lo = c * s.chunkLen
	return lo, min(lo+s.chunkLen, s.n)
}

// labelChunk draws the bucket of every element of chunk c and counts them:
// the buckets are a power of two, so one 64-bit draw gives ⌊64/bits⌋
// exactly uniform labels.
func (s *batchShuffler) labelChunk(w, c int) {
	lo, hi := s.chunkRange(c)
	counts := s.cursor[c*s.buckets : (c+1)*s.buckets]
	if s.bits == 0 {
		counts[0] = int32(hi - lo)
		clear(s.label[lo:hi])
		return
	}
	rng := s.reseed(w, 0, uint64(c))
	mask := uint64(s.buckets - 1)
	per := 64 / s.bits
	for i := lo; i < hi; {
		u := rng.Uint64()
		for j := 0; j < per && i < hi; j++ {
			k := uint32(u & mask)
			u >>= uint(s.bits)
			s.label[i] = k
			counts[k]++
			i++
		}
	}
}

// placeChunk writes the elements of chunk c at their buckets' positions.
func (s *batchShuffler) placeChunk(_, c int) {
	lo, hi := s.chunkRange(c)
	cur := s.cursor[c*s.buckets : (c+1)*s.buckets]
	for i := lo; i < hi; i++ {
		k := s.label[i]
		s.perm[cur[k]] = int32(i)
		cur[k]++
	}
}

// shuffleBucket shuffles bucket k by Fisher–Yates.
func (s *batchShuffler) shuffleBucket(w, k int) {
	rng := s.reseed(w, 1, uint64(k))
	b := s.perm[s.start[k]:s.start[k+1]]
	for i := len(b) - 1; i > 0; i-- {
		j := rng.IntN(i + 1)
		b[i], b[j] = b[j], b[i]
	}
}
