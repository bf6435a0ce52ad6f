// Every example runs, with the exit code it declares, and key results of the core examples are asserted.
package flowlang_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"flowlang/internal/exampletest"
)

// exactTol compares numbers that flowlang computes exactly or with a few
// rounding errors (Hessians of polynomials at points).
const exactTol = 1e-12

// TestEveryExampleRuns runs every examples/*.flow through flowlang.Run: it
// must exit 0, or 3 when its first comment says a check fails on purpose
// (with the words "fail" and "exit 3").
// The examples' own results are asserted in the tests below and in the
// examples_*_test.go files.
func TestEveryExampleRuns(t *testing.T) {
	files, _ := filepath.Glob("examples/*.flow")
	if len(files) == 0 {
		t.Fatal("no examples")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".flow"), func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			s := exampletest.Run(t, file)
			s.WantExit(t, exampletest.ExpectedExit(src))
		})
	}
}

// TestTour: the README's main command.
func TestTour(t *testing.T) {
	s := exampletest.Run(t, "examples/tour.flow")
	s.WantExit(t, 0)
	if got := s.Show(t, "grad(rosen)").Text; got != "[400*x*(x^2 - y) + 2*x - 2, 200*y - 200*x^2]" {
		t.Errorf("grad(rosen) = %s", got)
	}
	exampletest.Near(t, s.Show(t, "hess(rosen) at (1, 1)").Value, [][]float64{{802, -400}, {-400, 200}}, exactTol)
	s.WantCheck(t, "check grad(rosen) ==", true)
	s.WantCheck(t, "check vd(F) ==", true)
	if got := s.Show(t, "vd(F)").Text; got != "x^4/4 - x^2/2 + log(q) + 1" {
		t.Errorf("vd(F) = %s", got)
	}
}

func TestDerivativesExample(t *testing.T) {
	s := exampletest.Run(t, "examples/derivatives.flow")
	s.WantExit(t, 0)
	// the monkey saddle x³ − 3xy²: ∇f = (3x² − 3y², −6xy), H = [[6x, −6y], [−6y, −6x]]
	if got := s.Show(t, "hess(saddle)").Text; got != "[[6*x, -6*y], [-6*y, -6*x]]" {
		t.Errorf("hess(saddle) = %s", got)
	}
	for _, c := range []string{
		"check grad(saddle) ==", "check hess(saddle)[1][1] + hess(saddle)[2][2] == 0",
		"check diff(g(x), x) ==", "check diff(log(1 + x^2), x, 2) ==", "check diff(tan(x), x) ==",
		"check diff(atan(x), x) ==", "check grad(rosen)[1] ==", "check grad(rosen)[2] ==",
		"check grad(logistic) ==", "check hess(logistic) ==", "check hess(bump)[1][2] ==",
		"check hess(bump(x, y), [x, y])[1][1] ==",
	} {
		s.WantCheck(t, c, true)
	}
	if c := s.Check(t, "check grad(saddle) =="); c.How != "symbolic" {
		t.Errorf("grad(saddle) checked %s, want symbolic", c.How)
	}
	// the extended Rosenbrock function (n = 4) at its minimum (1, 1, 1, 1):
	// ∇f = 0, and H is tridiagonal with 802, 1002, 1002, 200 on the
	// diagonal and −400 beside it (H_ii = 1200z_i² − 400z_{i+1} + 2 + 200)
	exampletest.Near(t, s.Show(t, "grad(rosen) at (1, 1, 1, 1)").Value, []float64{0, 0, 0, 0}, exactTol)
	exampletest.Near(t, s.Show(t, "hess(rosen) at (1, 1, 1, 1)").Value, [][]float64{
		{802, -400, 0, 0}, {-400, 1002, -400, 0}, {0, -400, 1002, -400}, {0, 0, -400, 200}}, exactTol)
	// the logistic loss at 0: each term adds σ(0)σ(0) = 1/4 times the outer
	// product of its coefficients, plus 1/5 from the penalty
	exampletest.Near(t, s.Show(t, "hess(logistic) at (0, 0)").Value, [][]float64{{1.45, -0.25}, {-0.25, 2.7}}, exactTol)
}

func TestWrongHessianExample(t *testing.T) {
	s := exampletest.Run(t, "examples/wrong_hessian.flow")
	s.WantExit(t, 3)
	// Beale's Hessian at the minimum (3, 1/2), by hand: the fᵢ vanish, so
	// f_xx = 2Σtᵢ² = 3.15625, f_xy = −2x(t₁ + 2y t₂ + 3y² t₃) = −11.4375,
	// f_yy = 2x²(1 + 4y² + 9y⁴) = 46.125
	exampletest.Near(t, s.Show(t, "hess(beale) at (3, 0.5)").Value, [][]float64{{3.15625, -11.4375}, {-11.4375, 46.125}}, exactTol)
	wrong := s.WantCheck(t, "check hess(beale) == [[hxx(x, y), hxy(x, y, f1(y, y)", false)
	if len(wrong.Counterexample) != 2 || wrong.LHSValue == nil {
		t.Errorf("the failed check gives no counterexample: %+v", wrong)
	}
	s.WantCheck(t, "check hess(beale) == [[hxx(x, y), hxy(x, y, f1(x, y)", true)
	s.WantCheck(t, "check grad(beale) ==", true)
	// the copy error's f_xy at the minimum: with fᵢ = cᵢ − y tᵢ at y = 1/2,
	// f = (1.25, 1.875, 2.1875), so f_xy = 2(f₁ + y(2f₂ + 3y f₃) − 3·1.90625)
	exampletest.Near(t, s.Show(t, "hxy(3, 0.5, f1(0.5, 0.5), f2(0.5, 0.5), f3(0.5, 0.5))").Value, -1.90625, exactTol)
	exampletest.Near(t, s.Show(t, "hxy(3, 0.5, f1(3, 0.5), f2(3, 0.5), f3(3, 0.5))").Value, -11.4375, exactTol)
}
