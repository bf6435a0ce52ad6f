// Package exampletest runs the example scripts for the root package's tests
// and finds the records of what they said (shows, checks, runs) by their
// source text, so that each example's key results are asserted in a few
// lines. A test file of the root package (package flowlang_test) does
//
//	s := exampletest.Run(t, "examples/derivatives.flow")
//	s.WantExit(t, 0)
//	exampletest.Near(t, s.Show(t, "hess(saddle) at (1, 2)").Value, [][]float64{{6, -12}, {-12, -6}}, 1e-12)
//	s.WantCheck(t, "check grad(saddle) ==", true)
package exampletest
