// run: flows of objectives and of functionals.
package lang

func (in *Interp) run(src *Source, st *RunStmt) *Error {
	s := in.newScope(src, false)
	return s.errAt(st, "run is not available yet")
}

func (in *Interp) showCritical(src *Source, st *ShowStmt, call *CallExpr) *Error {
	s := in.newScope(src, true)
	return s.errAt(call, "critical is not available yet")
}

func (in *Interp) showW2(src *Source, st *ShowStmt, call *CallExpr) *Error {
	s := in.newScope(src, true)
	return s.errAt(call, "w2 is not available yet")
}
