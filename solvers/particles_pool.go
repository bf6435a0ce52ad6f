// The worker pool that runs a particle step's blocks on all cores.
package solvers

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// workerPool runs jobs of many independent blocks on a fixed set of
// goroutines. Worker w always uses its own scratch space (its Machines), and
// blocks are taken in any order, so a job must make each block's result
// independent of which worker ran it; results combined across blocks are
// combined in block order by the caller. Running a job allocates nothing.
type workerPool struct {
	n     int
	start []chan struct{}
	wg    sync.WaitGroup
	next  atomic.Int64
	total int64
	job   func(w, b int)
	stop  sync.Once
}

// defaultWorkers is the number of workers when the settings give none.
func defaultWorkers() int { return runtime.GOMAXPROCS(0) }

// newWorkerPool starts n−1 goroutines (the caller is worker 0).
func newWorkerPool(n int) *workerPool {
	p := &workerPool{n: max(n, 1)}
	p.start = make([]chan struct{}, p.n)
	for w := 1; w < p.n; w++ {
		p.start[w] = make(chan struct{})
		go p.loop(w)
	}
	return p
}

func (p *workerPool) loop(w int) {
	for range p.start[w] {
		p.drain(w)
		p.wg.Done()
	}
}

func (p *workerPool) drain(w int) {
	for {
		b := p.next.Add(1) - 1
		if b >= p.total {
			return
		}
		p.job(w, int(b))
	}
}

// run calls job(w, b) for every block b in [0, blocks), spread over the
// workers, and returns when all are done. job must be a function value
// made once (not a fresh closure per call) to keep run allocation-free.
func (p *workerPool) run(blocks int, job func(w, b int)) {
	if blocks <= 0 {
		return
	}
	p.job = job
	p.total = int64(blocks)
	p.next.Store(0)
	helpers := min(p.n, blocks) - 1
	p.wg.Add(helpers)
	for w := 1; w <= helpers; w++ {
		p.start[w] <- struct{}{}
	}
	p.drain(0)
	p.wg.Wait()
	p.job = nil
}

// close stops the pool's goroutines.
func (p *workerPool) close() {
	p.stop.Do(func() {
		for w := 1; w < p.n; w++ {
			close(p.start[w])
		}
	})
}
