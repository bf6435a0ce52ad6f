// Loading the embedded standard library into a fresh session.
package lang

import "flowlang/stdlib"

// StdlibName is the file name errors inside the standard library carry.
const StdlibName = "<stdlib>"

// loadStdlib runs the standard library silently and marks its names, which
// a script may redeclare.
func (in *Interp) loadStdlib() {
	f, errs := Parse(StdlibName, stdlib.Source())
	if len(errs) > 0 {
		panic("lang: the standard library does not parse: " + errs.Error())
	}
	out, checkOnly := in.opts.Out, in.opts.CheckOnly
	in.opts.Out, in.opts.CheckOnly = nil, false
	defer func() { in.opts.Out, in.opts.CheckOnly = out, checkOnly }()
	for _, st := range f.Stmts {
		if err := in.ExecStmt(f.Src, st); err != nil {
			panic("lang: the standard library fails: " + err.Error())
		}
	}
	for name := range in.declLine {
		in.stdlib[name] = true
	}
}
