// Package flowlang is the Go API of flowlang, a language for gradient
// flows: write an objective or a functional of a density as on paper, get
// its gradient, Hessian or variational derivative derived symbolically,
// check hand derivations, and run the flow.
//
// Run executes a script and returns what it said; Compile turns an
// expression into a fast function with its gradient, for use from Go.
package flowlang

import (
	"fmt"

	ad "flowlang/autodiff"
	"flowlang/lang"
)

// Result is what a script said: one record per statement that reports
// something (show, check, run), and whether any check failed.
type Result struct {
	Records      []lang.Record
	FailedChecks int
}

// collector gathers records.
type collector struct {
	res  *Result
	errs []*lang.Error
}

func (c *collector) Record(r lang.Record)     { c.res.Records = append(c.res.Records, r) }
func (c *collector) RunRows(string, []string) {}
func (c *collector) Row([]float64)            {}
func (c *collector) Error(e *lang.Error)      { c.errs = append(c.errs, e) }

// Run parses and runs a script. The error, if any, is a lang.ErrorList of
// positioned errors (or the first run-time error).
func Run(name string, src []byte, opts lang.Options) (*Result, error) {
	res := &Result{}
	c := &collector{res: res}
	opts.Out = c
	in := lang.New(opts)
	err := in.ExecFile(name, src)
	res.FailedChecks = in.FailedChecks()
	if err != nil && len(c.errs) > 0 {
		return res, lang.ErrorList(c.errs)
	}
	return res, err
}

// Func is an expression compiled together with its gradient.
type Func struct {
	Vars []string
	m    *ad.Machine
	out  []float64
	expr *ad.Node
}

// Compile compiles a scalar expression in the named scalar variables,
// together with its symbolic gradient, to one tape.
func Compile(expr string, vars ...string) (*Func, error) {
	syms := make([]*ad.Node, len(vars))
	scope := "objective f("
	for i, v := range vars {
		syms[i] = ad.Symbol(v, 0)
		if i > 0 {
			scope += ", "
		}
		scope += v
	}
	scope += ") = " + expr
	in := lang.New(lang.Options{})
	var f *ad.Node
	file, errs := lang.Parse("<expr>", []byte(scope))
	if len(errs) > 0 {
		return nil, errs
	}
	if err := in.Exec(file); err != nil {
		return nil, err
	}
	f = in.ObjectiveValue("f")
	if f == nil {
		return nil, fmt.Errorf("flowlang: cannot compile %q", expr)
	}
	outs := append([]*ad.Node{f}, ad.Grad(f, syms)...)
	p, err := ad.Compile(outs, syms)
	if err != nil {
		return nil, err
	}
	return &Func{Vars: vars, m: p.NewMachine(), out: make([]float64, len(outs)), expr: f}, nil
}

// String returns the expression in canonical form.
func (f *Func) String() string { return ad.String(f.expr) }

// Value returns f(x).
func (f *Func) Value(x []float64) float64 { return f.m.Eval1(x) }

// Grad returns f(x) and writes ∇f(x) into grad.
func (f *Func) Grad(x, grad []float64) float64 {
	f.m.Eval(x, f.out)
	copy(grad, f.out[1:])
	return f.out[0]
}
