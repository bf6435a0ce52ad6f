// Particle methods for Wasserstein gradient flows: ParticleProblem, ParticleSettings, ParticleMethod, RunParticles.
package solvers

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"flowlang/autodiff"
)

// Particles is a cloud of N points in R^Dim held as structure of arrays:
// X[c][i] is coordinate c of particle i.
type Particles struct {
	N, Dim int
	X      [][]float64
}

// NewParticles allocates a cloud of n points in R^d (all at the origin),
// refusing before allocating when it would need more than budget bytes
// (budget 0: DefaultMemoryBudget).
func NewParticles(n, d int, budget int64) (*Particles, error) {
	if err := checkCloudSize(n, d); err != nil {
		return nil, err
	}
	if err := checkBudget(int64(n)*int64(d)*8, budget, fmt.Sprintf("%d particles in %d dimensions", n, d)); err != nil {
		return nil, err
	}
	x := make([][]float64, d)
	back := make([]float64, n*d)
	for c := range x {
		x[c] = back[c*n : (c+1)*n : (c+1)*n]
	}
	return &Particles{N: n, Dim: d, X: x}, nil
}

// Point copies particle i into pt (length Dim).
func (p *Particles) Point(i int, pt []float64) {
	for c := range p.X {
		pt[c] = p.X[c][i]
	}
}

// Clone returns a deep copy of p.
func (p *Particles) Clone() *Particles {
	q := &Particles{N: p.N, Dim: p.Dim, X: make([][]float64, p.Dim)}
	for c := range p.X {
		q.X[c] = append([]float64(nil), p.X[c]...)
	}
	return q
}

// MaxDim bounds the dimension of particle clouds and distributions.
const MaxDim = 10_000

func checkCloudSize(n, d int) error {
	if n <= 0 {
		return fmt.Errorf("the number of particles must be positive, not %d", n)
	}
	if d <= 0 || d > MaxDim {
		return fmt.Errorf("the dimension must be between 1 and %d, not %d", MaxDim, d)
	}
	if n > math.MaxInt32 {
		return fmt.Errorf("too many particles: %d (at most %d)", n, math.MaxInt32)
	}
	return nil
}

// ParticleTerm is one term of a free energy given as compiled tapes.
type ParticleTerm struct {
	// Grad has one input per coordinate and outputs the gradient (one output
	// per coordinate), optionally followed by the term's value as one more
	// output. For a potential the inputs are x; for an interaction they are
	// the difference z = x − y.
	Grad *autodiff.Program
	// Value, optional, has the same inputs and the term's value as its one
	// output. It is used for energies (and by mala) when Grad has no value
	// output.
	Value *autodiff.Program
}

// hasValue reports whether the term's value can be computed.
func (t *ParticleTerm) hasValue(d int) bool {
	return t != nil && (t.Value != nil || len(t.Grad.Outputs) == d+1)
}

// ParticleProblem is a free energy
//
//	F[ρ] = ∫V dρ + ½∬W(x − y) dρ(x) dρ(y) + D∫ρ log ρ
//
// on R^Dim, whose gradient flow a ParticleMethod approximates: V is the
// Potential, W the Interaction (W should be even; for a functional
// c∬K(x − y)ρρ the caller passes W(z) = c(K(z) + K(−z)), which gives the
// right drift and energy for any K), D = 1/β the Diffusion. A nil term is
// absent; D = 0 means no entropy. The particles' drift is
// −∇V(xᵢ) − (1/N)Σⱼ∇W(xᵢ − xⱼ), the sum including j = i as ∇W∗μ does for
// the empirical measure μ (for a smooth even W, ∇W(0) = 0).
type ParticleProblem struct {
	Dim         int
	Potential   *ParticleTerm
	Interaction *ParticleTerm
	Diffusion   float64
}

// Validate checks the tapes' shapes against Dim.
func (p *ParticleProblem) Validate() error {
	if p.Dim <= 0 || p.Dim > MaxDim {
		return fmt.Errorf("the dimension must be between 1 and %d, not %d", MaxDim, p.Dim)
	}
	if p.Diffusion < 0 || math.IsNaN(p.Diffusion) || math.IsInf(p.Diffusion, 0) {
		return fmt.Errorf("the entropy's coefficient 1/β must be a finite number ≥ 0, not %g", p.Diffusion)
	}
	check := func(t *ParticleTerm, what, vars string) error {
		if t == nil {
			return nil
		}
		if t.Grad == nil {
			return fmt.Errorf("the %s has no gradient tape", what)
		}
		if n := len(t.Grad.Inputs); n != p.Dim {
			return fmt.Errorf("the %s's gradient takes %d %s, the particles have %d coordinates", what, n, vars, p.Dim)
		}
		if n := len(t.Grad.Outputs); n != p.Dim && n != p.Dim+1 {
			return fmt.Errorf("the %s's gradient has %d outputs, want %d (or %d with the value)", what, n, p.Dim, p.Dim+1)
		}
		if t.Value != nil && (len(t.Value.Inputs) != p.Dim || len(t.Value.Outputs) != 1) {
			return fmt.Errorf("the %s's value tape must take %d %s and give 1 output", what, p.Dim, vars)
		}
		return nil
	}
	if err := check(p.Potential, "potential", "coordinates"); err != nil {
		return err
	}
	return check(p.Interaction, "interaction", "differences")
}

// ParticleSettings control a particle run. Every field's zero value means
// its documented default; as for Settings, set MaxSteps or Until.
type ParticleSettings struct {
	// MaxSteps ends the run after this many steps.
	MaxSteps int
	// Until ends the run when a condition holds (joined by or), tested
	// after every step. Particle runs test steps and t only.
	Until []Condition
	// Every reports a row every Every steps (and at steps 0 and the last);
	// 0 reports only the final row to Row.
	Every int
	// Row receives each row; its slices are reused. An error ends the run.
	Row func(r *ParticleRow) error

	// Seed seeds every random stream of the run.
	Seed uint64
	// Workers is the number of goroutines (0: GOMAXPROCS). The result does
	// not depend on it.
	Workers int
	// Batch, when ≥ 2, approximates the interaction by the random batch
	// method with batches of this size (Jin, Li, Liu 2020); 0 sums exactly.
	Batch int
	// MemoryBudget is the most a run may allocate, in bytes
	// (0: DefaultMemoryBudget()).
	MemoryBudget int64
	// EnergyPairs is the largest N for which rows compute the pair sums of
	// the energy (interaction energy, entropy estimate); beyond it those
	// parts, and the total, are NaN. 0 means DefaultEnergyPairs; a negative
	// value never computes them.
	EnergyPairs int

	// Context cancels the run; it is checked every step.
	Context context.Context
	// Progress is told of the run's progress (done, total steps, t) at most
	// every ProgressEvery, with done = 0 at the start and −1 at the end.
	Progress func(done, total int, t float64)
}

// DefaultEnergyPairs is the default of ParticleSettings.EnergyPairs: up to
// 2000 particles (4·10⁶ pairs, a few hundredths of a second per row) the
// O(N²) parts of the energy cost no more than a step of an O(N²) method.
const DefaultEnergyPairs = 2000

// ProgressEvery is the least time between two Progress calls of a run.
const ProgressEvery = 100 * time.Millisecond

// ParticleRow is one row of a particle run.
type ParticleRow struct {
	Step int
	T    float64
	// Mean and Var are the mean and the population variance (divided by
	// N) of each coordinate.
	Mean, Var []float64
	// Energy is Potential + Interaction + Entropy, the free energy of the
	// empirical measure where it can be computed; NaN otherwise.
	Energy float64
	// Potential is (1/N)ΣV(xᵢ) (NaN without a value of V, 0 without V).
	Potential float64
	// Interaction is (1/2N²)ΣᵢΣⱼW(xᵢ − xⱼ) (NaN beyond EnergyPairs or
	// without a value of W, 0 without W).
	Interaction float64
	// Entropy is D times an estimate of ∫ρ log ρ (0 when D = 0, NaN beyond
	// EnergyPairs): for blob the regularised entropy (1/N)Σ log(φ_ε∗μ)(xᵢ)
	// its flow decreases; for the other methods the leave-one-out Gaussian
	// kernel estimate (1/N)Σ log ρ̂₋ᵢ(xᵢ) with Scott's bandwidth
	// σ_c·N^(−1/(d+4)) per coordinate.
	Entropy float64
	// Accept is mala's acceptance rate over the steps since the previous
	// row (NaN for the other methods and at step 0).
	Accept float64
	// Bandwidth is svgd's kernel bandwidth at the last step (NaN otherwise).
	Bandwidth float64
}

func (r *ParticleRow) copyFrom(s *ParticleRow) {
	mean, v := r.Mean, r.Var
	*r = *s
	r.Mean = append(mean[:0], s.Mean...)
	r.Var = append(v[:0], s.Var...)
}

// ParticleResult is the outcome of a particle run.
type ParticleResult struct {
	// Steps is the number of steps taken; T the final time.
	Steps int
	T     float64
	// Status says why the run ended; Met is the condition that held.
	Status Status
	Met    Condition
	// Final is the last row.
	Final ParticleRow
	// X is the final cloud (the one passed to RunParticles, moved in place).
	X *Particles
	// Accept is mala's acceptance rate over the whole run (NaN otherwise).
	Accept float64
	// Eps is the blob's ε (when there is an entropy for it to smooth) and
	// Bandwidth svgd's last bandwidth (NaN otherwise).
	Eps, Bandwidth float64
}

// ParticleMethod advances a particle cloud. The implementations are
// Langevin, MALA, Deterministic, Blob and SVGD; NewParticleMethod builds one
// from a name and parameters.
type ParticleMethod interface {
	// Name is the method's name in scripts ("langevin", ...).
	Name() string
	// StepSize is the time step h.
	StepSize() float64
	// Check returns a *TermError when the method cannot handle a term of p.
	Check(p *ParticleProblem) error

	// buffers returns the bytes of the method's own arrays for n particles.
	buffers(p *ParticleProblem, n int) int64
	// init prepares the method for the run (allocating its arrays).
	init(r *particleRun) error
	// step moves the cloud one step; r.t is advanced by the caller.
	step(r *particleRun) error
	// fillRow adds the method's columns to a row.
	fillRow(r *particleRun, row *ParticleRow)
}

// TermError reports a term of a free energy that a method cannot handle.
type TermError struct {
	Method string   // the method
	Term   string   // "the entropy", "the interaction", ...
	Why    string   // why it cannot
	Can    []string // the methods that can
}

func (e *TermError) Error() string {
	msg := fmt.Sprintf("%s cannot handle %s", e.Method, e.Term)
	if e.Why != "" {
		msg += " (" + e.Why + ")"
	}
	if len(e.Can) > 0 {
		msg += "; use " + orList(e.Can)
	}
	return msg
}

func orList(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// MemoryError reports a run refused because it would need too much memory.
type MemoryError struct {
	What   string // what was to be allocated
	Need   int64  // the estimate, in bytes
	Budget int64
}

func (e *MemoryError) Error() string {
	return fmt.Sprintf("%s would need about %s of memory, more than the %s allowed", e.What, bytesString(e.Need), bytesString(e.Budget))
}

func bytesString(b int64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", b)
}

// DefaultMemoryBudget is the default memory budget of particle runs and
// samples: half of MemAvailable in /proc/meminfo (the memory the system
// can give without swapping), or 4 GiB where that cannot be read. Half
// leaves room for the garbage collector's headroom and the rest of the
// program.
func DefaultMemoryBudget() int64 {
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			f := strings.Fields(line)
			if len(f) >= 2 && f[0] == "MemAvailable:" {
				if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil && kb > 0 {
					return kb * 1024 / 2
				}
			}
		}
	}
	return 4 << 30
}

func checkBudget(need, budget int64, what string) error {
	if budget <= 0 {
		budget = DefaultMemoryBudget()
	}
	if need > budget || need < 0 {
		if need < 0 {
			need = math.MaxInt64
		}
		return &MemoryError{What: what, Need: need, Budget: budget}
	}
	return nil
}

// EstimateParticleBytes estimates the memory of a run of m on p with n
// particles: the cloud itself, the method's arrays, and per worker the
// tapes' register blocks and scratch blocks. Callers use it to refuse a
// run before sampling its initial cloud.
func EstimateParticleBytes(p *ParticleProblem, m ParticleMethod, n int, s *ParticleSettings) int64 {
	d := int64(p.Dim)
	N := int64(n)
	workers := int64(s.Workers)
	if workers <= 0 {
		workers = int64(defaultWorkers())
	}
	total := N * d * 8 // the cloud
	total += m.buffers(p, n)
	perWorker := int64(0)
	if p.Interaction != nil && s.Batch >= 2 {
		total += shuffleBytes(n)                              // the permutation
		perWorker += 2 * d * int64(batchScratch(s.Batch)) * 8 // gather buffers
	}
	for _, t := range []*ParticleTerm{p.Potential, p.Interaction} {
		if t == nil {
			continue
		}
		for _, prog := range []*autodiff.Program{t.Grad, t.Value} {
			if prog != nil {
				perWorker += int64(tapeSlots(prog)) * autodiff.BlockSize * 8
			}
		}
	}
	perWorker += (4*d + 8) * StreamBlock * 8 // scratch blocks
	total += workers * perWorker
	total += int64(numBlocks(n)) * 128 // streams
	return total
}

// tapeSlots returns the number of register slots a tape uses in batch mode
// (inputs, constants, temporaries and outputs; each is a block).
func tapeSlots(p *autodiff.Program) int { return p.Slots() }

// particleRun is the state of one run shared by the methods.
type particleRun struct {
	p       *ParticleProblem
	s       *ParticleSettings
	m       ParticleMethod
	n, d    int
	x       [][]float64
	h       float64
	noise   bool // add √(2Dh)ξ in eulerBlock (langevin)
	t       float64
	step    int
	pool    *workerPool
	ws      []*particleWorker
	streams []*rand.Rand // one per stream block (purpose streamStep)

	// drift holds −(1/N)Σⱼ∇W(xᵢ − xⱼ) (and, for the methods that need the
	// whole drift before moving, −∇V too); nil when unused.
	drift [][]float64
	// random batches
	shuffler *batchShuffler
	perm     []int32   // this step's permutation (the shuffler's)
	gradW0   []float64 // ∇W(0)

	// failure per stream block or tile: the first particle that turned
	// non-finite (−1: none), and its coordinate
	fail     []int32
	failC    []int32
	failWhat []string

	// per-tile partial sums for rows
	part     [][]float64
	tileSums []float64

	// job functions made once (run must not allocate a closure per step)
	jobStep        func(w, b int)
	jobInteraction func(w, b int)
	jobBatch       func(w, b int)
	jobMoments1    func(w, b int)
	jobMoments2    func(w, b int)
	jobEnergy      func(w, b int)
	rowMean        []float64
	energyPart     int
	kdeBW          []float64 // bandwidths of the entropy estimate
}

// particleWorker is one worker's machines and scratch space.
type particleWorker struct {
	pot, potV, ker, kerV *autodiff.Machine
	in                   [][]float64 // views of the current block's coordinates
	g                    [][]float64 // potential outputs: d (+1) × StreamBlock
	gv                   [][]float64 // potential value output: 1 × StreamBlock
	vout                 [][]float64 // a view for a value output
	z                    [][]float64 // pair differences: d × BlockSize
	zo                   [][]float64 // kernel outputs: d (+1) × BlockSize
	zv                   [][]float64 // kernel value output: 1 × BlockSize
	tgt                  []int32     // target particle of each pair
	y                    [][]float64 // proposals: d × StreamBlock
	yg                   [][]float64 // gradients at the proposals: d (+1) × StreamBlock
	acc                  []float64   // d accumulators
	pt                   []float64   // one point
	pz                   [][]float64 // pair loops: d differences, |z|², a weight (× BlockSize)
	xp, dp               [][]float64 // random batches: gathered positions and drifts
	old                  []float64
}

func newParticleWorker(p *ParticleProblem) *particleWorker {
	d := p.Dim
	w := &particleWorker{
		in:   paddedViews(d),
		vout: paddedViews(1),
		acc:  paddedFloats(d),
		pt:   paddedFloats(d),
		pz:   soaBlocks(d+2, autodiff.BlockSize),
		old:  paddedFloats(StreamBlock),
	}
	if t := p.Potential; t != nil {
		w.pot = w.machine(t.Grad)
		if t.Value != nil {
			w.potV = w.machine(t.Value)
		}
		w.g = soaBlocks(len(t.Grad.Outputs), StreamBlock)
		w.gv = soaBlocks(1, StreamBlock)
	}
	if t := p.Interaction; t != nil {
		w.ker = w.machine(t.Grad)
		if t.Value != nil {
			w.kerV = w.machine(t.Value)
		}
		w.z = soaBlocks(d, autodiff.BlockSize)
		w.zo = soaBlocks(len(t.Grad.Outputs), autodiff.BlockSize)
		w.zv = soaBlocks(1, autodiff.BlockSize)
		tgt := make([]int32, autodiff.BlockSize+32)
		w.tgt = tgt[16 : 16+autodiff.BlockSize]
	}
	return w
}

// machine returns a Machine for prog with its batch-mode registers
// allocated now, so that steps allocate nothing. (The Machine pads the
// arrays it writes at every block, so workers' machines allocated side by
// side do not share cache lines.)
func (w *particleWorker) machine(prog *autodiff.Program) *autodiff.Machine {
	m := prog.NewMachine()
	m.EvalBatch(soaBlocks(len(prog.Inputs), 1), soaBlocks(len(prog.Outputs), 1), 1)
	return m
}

// paddedFloats returns n float64 with a cache line of unused space on each
// side, so that arrays written by different workers never share a line.
func paddedFloats(n int) []float64 {
	b := make([]float64, n+16)
	return b[8 : 8+n : 8+n]
}

// paddedViews returns n slice headers with at least a cache line (three
// headers) of unused space on each side.
func paddedViews(n int) [][]float64 {
	b := make([][]float64, n+6)
	return b[3 : 3+n : 3+n]
}

// soaBlocks allocates k arrays of n float64 in one padded backing store.
func soaBlocks(k, n int) [][]float64 {
	back := paddedFloats(k * n)
	b := paddedViews(k)
	for i := range b {
		b[i] = back[i*n : (i+1)*n : (i+1)*n]
	}
	return b
}

// Tile is the number of target particles a job of an O(N²) phase handles:
// one batch-mode block. Phases without random numbers are cut into tiles,
// which balance the cores better than stream blocks for moderate N.
const Tile = autodiff.BlockSize

func numTiles(n int) int { return (n + Tile - 1) / Tile }

func tileRange(b, n int) (lo, hi int) {
	lo = b * Tile
	return lo, min(lo+Tile, n)
}

// RunParticles runs method m on problem p from the cloud x (moved in
// place) under settings s. It refuses, before allocating, a run whose
// EstimateParticleBytes exceeds the memory budget, and stops with a
// *DivergedError naming the step when a particle turns non-finite or
// leaves |x| < MaxCoordinate.
func RunParticles(p *ParticleProblem, x *Particles, m ParticleMethod, s *ParticleSettings) (*ParticleResult, error) {
	if s == nil {
		s = &ParticleSettings{}
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if x == nil || x.Dim != p.Dim || len(x.X) != p.Dim {
		got := 0
		if x != nil {
			got = x.Dim
		}
		return nil, fmt.Errorf("the particles have %d coordinates, the problem %d", got, p.Dim)
	}
	if err := checkCloudSize(x.N, x.Dim); err != nil {
		return nil, err
	}
	for c, xc := range x.X {
		if len(xc) != x.N {
			return nil, fmt.Errorf("coordinate %d of the particles has %d values, not N = %d", c+1, len(xc), x.N)
		}
	}
	if err := m.Check(p); err != nil {
		return nil, err
	}
	if h := m.StepSize(); !(h > 0) || math.IsInf(h, 0) {
		return nil, fmt.Errorf("%s: the step h must be a positive number, not %g", m.Name(), h)
	}
	if s.Batch == 1 || s.Batch < 0 {
		return nil, fmt.Errorf("the batch size must be at least 2, not %d", s.Batch)
	}
	for _, c := range s.Until {
		if c.Quantity != QSteps && c.Quantity != QTime {
			return nil, fmt.Errorf("a particle run cannot stop on %s: its conditions are on steps and t", c.Quantity)
		}
	}
	need := EstimateParticleBytes(p, m, x.N, s)
	if err := checkBudget(need, s.MemoryBudget, fmt.Sprintf("%s with %d particles in %d dimensions", m.Name(), x.N, x.Dim)); err != nil {
		return nil, err
	}

	workers := s.Workers
	if workers <= 0 {
		workers = defaultWorkers()
	}
	r := &particleRun{p: p, s: s, m: m, n: x.N, d: x.Dim, x: x.X, h: m.StepSize()}
	r.pool = newWorkerPool(workers)
	defer r.pool.close()
	r.ws = make([]*particleWorker, r.pool.n)
	for i := range r.ws {
		r.ws[i] = newParticleWorker(p)
		if p.Interaction != nil && s.Batch >= 2 {
			r.ws[i].xp = soaBlocks(r.d, batchScratch(s.Batch))
			r.ws[i].dp = soaBlocks(r.d, batchScratch(s.Batch))
		}
	}
	r.streams = streams(r.n, s.Seed, streamStep)
	nfail := max(numBlocks(r.n), numTiles(r.n))
	r.fail = make([]int32, nfail)
	r.failC = make([]int32, nfail)
	r.failWhat = make([]string, nfail)
	r.resetFail()
	r.part = soaBlocks(nfail, 2*r.d+4)
	r.tileSums = make([]float64, nfail)
	r.rowMean = make([]float64, r.d)
	r.jobMoments1 = r.moments1
	r.jobMoments2 = r.moments2
	r.jobEnergy = r.energyTile
	if p.Interaction != nil {
		r.jobInteraction = r.interactionTile
		r.jobBatch = r.batchChunk
		r.gradW0 = make([]float64, r.d)
		out := make([]float64, len(p.Interaction.Grad.Outputs))
		p.Interaction.Grad.NewMachine().Eval(make([]float64, r.d), out)
		copy(r.gradW0, out[:r.d])
		if s.Batch >= 2 {
			r.shuffler = newBatchShuffler(r.n, shuffleBucket, r.pool.n, s.Seed)
			r.perm = r.shuffler.perm
		}
	}
	if err := m.init(r); err != nil {
		return nil, err
	}
	return r.loop()
}

// loop is the run's step loop with its rows and stopping rules.
func (r *particleRun) loop() (*ParticleResult, error) {
	s := r.s
	ctx := s.Context
	if ctx == nil {
		ctx = context.Background()
	}
	maxSteps := s.MaxSteps
	if maxSteps <= 0 {
		if len(s.Until) == 0 {
			maxSteps = 0
		} else {
			maxSteps = DefaultStepLimit
		}
	}
	res := &ParticleResult{X: &Particles{N: r.n, Dim: r.d, X: r.x}, Accept: math.NaN(), Eps: math.NaN(), Bandwidth: math.NaN()}
	row := &ParticleRow{Mean: make([]float64, r.d), Var: make([]float64, r.d)}
	emit := func() error {
		r.fillRow(row)
		if s.Row != nil {
			return s.Row(row)
		}
		return nil
	}
	total := maxSteps
	if total >= DefaultStepLimit {
		total = 0
	}
	lastProgress := time.Now()
	if s.Progress != nil {
		s.Progress(0, total, 0)
	}
	status := StepLimit
	if s.Every > 0 {
		if err := emit(); err != nil {
			res.Status = RowStopped
			return res, err
		}
	}
	lastRow := 0
	for r.step < maxSteps {
		if ctx.Err() != nil {
			status = Cancelled
			break
		}
		r.resetFail()
		if err := r.m.step(r); err != nil {
			return res, err
		}
		r.step++
		r.t = float64(r.step) * r.h
		if err := r.checkFail(); err != nil {
			res.Steps, res.T = r.step, r.t
			return res, err
		}
		if s.Every > 0 && r.step%s.Every == 0 {
			if err := emit(); err != nil {
				res.Status = RowStopped
				return res, err
			}
			lastRow = r.step
		}
		if s.Progress != nil && time.Since(lastProgress) >= ProgressEvery {
			lastProgress = time.Now()
			s.Progress(r.step, total, r.t)
		}
		met := false
		for _, c := range s.Until {
			v := float64(r.step)
			if c.Quantity == QTime {
				v = r.t
			}
			if c.holds(v) {
				res.Met, met = c, true
				break
			}
		}
		if met {
			status = ConditionMet
			break
		}
	}
	if r.step >= maxSteps && maxSteps == DefaultStepLimit && len(s.Until) > 0 {
		status = DefaultLimit
	}
	if s.Every <= 0 || lastRow != r.step {
		if err := emit(); err != nil {
			res.Status = RowStopped
			return res, err
		}
	}
	if s.Progress != nil {
		s.Progress(-1, total, r.t)
	}
	res.Steps, res.T, res.Status = r.step, r.t, status
	res.Final.copyFrom(row)
	switch m := r.m.(type) {
	case *MALA:
		res.Accept = m.totalAccept()
	case *Blob:
		if r.p.Diffusion != 0 { // ε smooths the entropy's density only
			res.Eps = m.eps
		}
	case *SVGD:
		res.Bandwidth = m.bw
	}
	return res, nil
}

// MaxCoordinate bounds |coordinate| of a particle: a particle that reaches
// it means the run grows without bound. It is 2³³² ≈ 8.7·10⁹⁹, so that
// (x·2¹⁸⁰)² overflows exactly beyond it and blockInRange can test a block
// without a branch per element.
const MaxCoordinate = 0x1p332

func (r *particleRun) resetFail() {
	for i := range r.fail {
		r.fail[i] = -1
	}
}

// noteFail records, for job b, that particle i's coordinate c became bad.
func (r *particleRun) noteFail(b, i, c int, what string) {
	if r.fail[b] < 0 {
		r.fail[b], r.failC[b], r.failWhat[b] = int32(i), int32(c), what
	}
}

// checkFail turns the first recorded failure (in job order) into an error.
func (r *particleRun) checkFail() error {
	for b, i := range r.fail {
		if i < 0 {
			continue
		}
		e := &DivergedError{
			Step:   r.step,
			T:      float64(r.step-1) * r.h,
			Method: r.m.Name(),
			Reason: fmt.Sprintf("particle %d %s", i+1, r.failWhat[b]),
			X:      make([]float64, r.d),
		}
		for c := range e.X {
			e.X[c] = r.x[c][i]
		}
		potBad := false
		if t := r.p.Potential; t != nil {
			m := t.Grad.NewMachine()
			if src := m.FirstNonFinite(e.X); src != nil {
				e.Source = "the potential's gradient is not finite there: " + autodiff.String(src)
				potBad = true
			}
		}
		switch {
		case r.p.Interaction != nil && !allFinite(r.gradW0):
			// the term j = i of every particle's interaction drift
			prog := r.p.Interaction.Grad
			src := "the interaction kernel's gradient is not finite at 0"
			if n := prog.NewMachine().FirstNonFinite(make([]float64, r.d)); n != nil {
				at := make([]string, len(prog.Inputs))
				for k, v := range prog.Inputs {
					at[k] = autodiff.String(v)
				}
				src += fmt.Sprintf(": %s at %s = 0", autodiff.String(n), strings.Join(at, " = "))
			}
			e.Source = joinSources(e.Source, src)
			e.Bound = "every particle meets itself (xᵢ − xᵢ = 0) in the interaction's drift −(1/N)Σⱼ∇K(xᵢ − xⱼ), so no step size helps: use a kernel whose gradient is finite at 0, e.g. one smoothed at a small scale δ (abs(z) → sqrt(norm2(z) + δ^2))"
		case potBad && r.step == 1:
			// the particle has not moved: the step cannot be the cause
			e.Bound = "the drift is not finite at the particle's starting point, so no step size helps: start the particles where the potential's gradient is finite"
		default:
			e.Bound = fmt.Sprintf("the step h = %g is probably too large for the drift there: try h = %g or smaller (explicit schemes need h < 2/L, L the drift's Lipschitz constant)", r.h, r.h/10)
		}
		return e
	}
	return nil
}

// joinSources joins two explanations of a failure with "; ".
func joinSources(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// inRange reports whether v is a usable coordinate: |v| < MaxCoordinate.
func inRange(v float64) bool { return math.Abs(v) < MaxCoordinate }
