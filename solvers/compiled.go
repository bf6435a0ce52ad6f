// Objectives compiled from expressions: f, ∇f and (when needed) the Hessian and a metric on one tape.
package solvers

import (
	"fmt"
	"math"
	"slices"
	"sync"

	ad "flowlang/autodiff"

	"gonum.org/v1/gonum/mat"
)

// MaxHessianDim bounds the number of variables whose full symbolic Hessian
// a run compiles (its n(n+1)/2 entries are outputs of the tape).
const MaxHessianDim = 2000

// Objective is an objective f(x) compiled for runs: f and ∇f — and, when a
// method needs them, the upper triangle of the symbolic Hessian and the
// entries of a metric M(x) — are the outputs of one autodiff tape, so that
// subexpressions they share are computed once per point. Problem hands out
// Problems over it, one per goroutine.
type Objective struct {
	F    *ad.Node   // the objective
	Vars []*ad.Node // its variables, in order
	Grad []*ad.Node // ∇f, symbolic

	needs     Needs
	prog      *ad.Program
	hessOff   int // first Hessian output, or −1
	metricOff int // first metric output, or −1

	// a separate Hessian tape, compiled on first use when the main tape has
	// none (stability bounds in divergence messages, critical points)
	hessOnce sync.Once
	hessProg *ad.Program
	hessErr  error
}

// CompileObjective compiles f of vars with its gradient, and with the
// Hessian when needs.Hessian, and with the n×n matrix metric (rows of
// expressions in vars) when needs.Metric.
func CompileObjective(f *ad.Node, vars []*ad.Node, needs Needs, metric [][]*ad.Node) (*Objective, error) {
	n := len(vars)
	o := &Objective{F: f, Vars: slices.Clone(vars), Grad: ad.Grad(f, vars), needs: needs, hessOff: -1, metricOff: -1}
	outs := append([]*ad.Node{f}, o.Grad...)
	if needs.Hessian {
		if n > MaxHessianDim {
			return nil, fmt.Errorf("the Hessian of %d variables is too large to compile (at most %d)", n, MaxHessianDim)
		}
		o.hessOff = len(outs)
		outs = append(outs, upperTriangle(ad.Hessian(f, vars))...)
	}
	if needs.Metric {
		if len(metric) != n {
			return nil, fmt.Errorf("the metric must be %d×%d, it has %d rows", n, n, len(metric))
		}
		o.metricOff = len(outs)
		for i, row := range metric {
			if len(row) != n {
				return nil, fmt.Errorf("the metric must be %d×%d, row %d has %d entries", n, n, i+1, len(row))
			}
			outs = append(outs, row...)
		}
	}
	p, err := ad.Compile(outs, vars)
	if err != nil {
		return nil, err
	}
	o.prog = p
	return o, nil
}

func upperTriangle(h [][]*ad.Node) []*ad.Node {
	var out []*ad.Node
	for i := range h {
		out = append(out, h[i][i:]...)
	}
	return out
}

// Len returns the number of instructions of the main tape.
func (o *Objective) Len() int { return o.prog.Len() }

// hessianProgram compiles the Hessian on its own tape, once.
func (o *Objective) hessianProgram() (*ad.Program, error) {
	o.hessOnce.Do(func() {
		if len(o.Vars) > MaxHessianDim {
			o.hessErr = fmt.Errorf("the Hessian of %d variables is too large to compile", len(o.Vars))
			return
		}
		o.hessProg, o.hessErr = ad.Compile(upperTriangle(ad.Hessian(o.F, o.Vars)), o.Vars)
	})
	return o.hessProg, o.hessErr
}

// Problem returns a Problem evaluating the compiled tape with its own
// machine. Its Hess is always available (from a separate tape, compiled
// on first use, when the main tape has no Hessian); its Metric only when
// the objective was compiled with one.
func (o *Objective) Problem() *Problem {
	n := len(o.Vars)
	m := o.prog.NewMachine()
	out := make([]float64, len(o.prog.Outputs))
	p := &Problem{Dim: n}
	if o.hessOff < 0 && o.metricOff < 0 {
		p.Tape = m
		p.FuncGrad = func(grad, x []float64) float64 {
			m.Eval(x, out)
			g := out[1 : 1+n]
			grad = grad[:len(g)]
			for i, v := range g {
				grad[i] = v
			}
			return out[0]
		}
		p.Func = func(x []float64) float64 { return m.Eval1(x) }
	} else {
		// the Hessian and metric come with f and ∇f: remember the point
		// last evaluated, so that Hess or Metric at the same x is free
		last := make([]float64, n)
		valid := false
		eval := func(x []float64) {
			if valid && slices.Equal(last, x) {
				return
			}
			m.Eval(x, out)
			copy(last, x)
			valid = true
		}
		p.FuncGrad = func(grad, x []float64) float64 {
			eval(x)
			copy(grad, out[1:1+n])
			return out[0]
		}
		p.Func = func(x []float64) float64 {
			eval(x)
			return out[0]
		}
		if o.metricOff >= 0 {
			p.Metric = func(dst *mat.Dense, x []float64) {
				eval(x)
				k := o.metricOff
				for i := 0; i < n; i++ {
					for j := 0; j < n; j++ {
						dst.Set(i, j, out[k])
						k++
					}
				}
			}
		}
		if o.hessOff >= 0 {
			p.Hess = func(dst *mat.SymDense, x []float64) {
				eval(x)
				fillSym(dst, out[o.hessOff:], n)
			}
		}
	}
	if p.Hess == nil {
		var hm *ad.Machine
		var hout []float64
		p.Hess = func(dst *mat.SymDense, x []float64) {
			if hm == nil {
				prog, err := o.hessianProgram()
				if err != nil {
					for i := 0; i < n; i++ {
						for j := i; j < n; j++ {
							dst.SetSym(i, j, math.NaN())
						}
					}
					return
				}
				hm, hout = prog.NewMachine(), make([]float64, len(prog.Outputs))
			}
			hm.Eval(x, hout)
			fillSym(dst, hout, n)
		}
	}
	p.Explain = func(x []float64) string {
		em := o.prog.NewMachine() // a fresh machine: m's registers hold the cached point
		node := em.FirstNonFinite(x)
		if node == nil {
			return ""
		}
		vals := make(map[*ad.Node]float64, n)
		for i, v := range o.Vars {
			vals[v] = x[i]
		}
		v, _ := ad.Eval(node, vals)
		return fmt.Sprintf("%s is %v there", shorten(ad.String(node), 100), v)
	}
	return p
}

func fillSym(dst *mat.SymDense, vals []float64, n int) {
	k := 0
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			dst.SetSym(i, j, vals[k])
			k++
		}
	}
}

// shorten cuts s to at most max characters, marking the cut.
func shorten(s string, max int) string {
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	return string(r[:max-1]) + "…"
}
