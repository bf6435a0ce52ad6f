// The density and functional examples run with their results asserted: variational derivatives, PDEs, and the notes' errata caught by check.
package flowlang_test

import (
	"strings"
	"testing"

	"flowlang/internal/exampletest"
	"flowlang/lang"
)

// checks returns the check records of a script that ran.
func checks(s *exampletest.Script) []*lang.CheckRecord {
	var out []*lang.CheckRecord
	for _, r := range s.Result.Records {
		if c, ok := r.(*lang.CheckRecord); ok {
			out = append(out, c)
		}
	}
	return out
}

// allChecksPass fails the test unless the script has at least min checks
// and every one passed.
func allChecksPass(t *testing.T, s *exampletest.Script, min int) {
	t.Helper()
	cs := checks(s)
	if len(cs) < min {
		t.Errorf("%s: %d checks, want at least %d", s.Path, len(cs), min)
	}
	for _, c := range cs {
		if !c.OK {
			t.Errorf("%s:%d: %s failed (lhs %v, rhs %v, %s)", s.Path, c.Line, c.Label, c.LHSValue, c.RHSValue, c.Message)
		}
	}
}

func wantText(t *testing.T, s *exampletest.Script, label, want string) {
	t.Helper()
	if got := s.Show(t, label).Text; got != want {
		t.Errorf("%s: %s = %s, want %s", s.Path, label, got, want)
	}
}

func wantHow(t *testing.T, s *exampletest.Script, prefix, how string) {
	t.Helper()
	if c := s.Check(t, prefix); c.How != how {
		t.Errorf("%s: %s checked %s, want %s", s.Path, c.Label, c.How, how)
	}
}

func TestFokkerPlanckExample(t *testing.T) {
	s := exampletest.Run(t, "examples/fokker_planck.flow")
	s.WantExit(t, 0)
	allChecksPass(t, s, 13)
	// V = x⁴/4 − x²/2: δF/δq = V + log q + 1, v = −V′ − q′/q, and the
	// Fokker–Planck equation q′V′ + qV″ + q″
	wantText(t, s, "vd(F)", "x^4/4 - x^2/2 + log(q) + 1")
	wantText(t, s, "velocity(F)", "x - x^3 - diff(q, x)/q")
	wantText(t, s, "pde(F)", "diff(q, x)*(x^3 - x) + q*(3*x^2 - 1) + diff(q, x, 2)")
	// the Gibbs state: proved symbolically, not sampled
	wantHow(t, s, "check mu(x, g(x)) == 1", "symbolic")
	wantHow(t, s, "check fp(x, g(x), diff(g(x), x), diff(g(x), x, 2)) == 0", "symbolic")
	wantHow(t, s, "check mub(x, exp(-4*V(x))) == 1/4", "symbolic")
	// the dissipation identity needs integration by parts: test densities
	c := s.Check(t, "check integral(vd(F)*pde(F)) == ")
	if c.How != "numeric" || c.Points < lang.CheckPoints {
		t.Errorf("dissipation checked %s on %d points", c.How, c.Points)
	}
}

func TestFDivergencesExample(t *testing.T) {
	s := exampletest.Run(t, "examples/f_divergences.flow")
	s.WantExit(t, 0)
	allChecksPass(t, s, 16)
	// f = r log r: f − r f′ = −r = −p/q; f = −log r: 1 − log(p/q) with
	// log p = −x²/2 − log(2π)/2
	wantText(t, s, "vd(Dkl)", "-exp(-x^2/2)/(q*sqrt(2*pi))")
	wantText(t, s, "vd(Drkl)", "x^2/2 + log(q) + log(2*pi)/2 + 1")
	wantText(t, s, "velocity(KL)", "-x - diff(q, x)/q")
	for _, f := range []string{"kl", "rkl", "chi2"} {
		wantHow(t, s, "check vd(D"+f+") == g_"+f, "symbolic")
	}
	wantHow(t, s, "check vd(Dhel) == g_hellinger", "symbolic")
}

func TestFisherExample(t *testing.T) {
	s := exampletest.Run(t, "examples/fisher.flow")
	s.WantExit(t, 0)
	allChecksPass(t, s, 12)
	wantText(t, s, "vd(I)", "diff(q, x)^2/q^2 - 2*diff(q, x, 2)/q")
	wantHow(t, s, "check vd(I) == -4*diff(sqrt(q), x, 2)/sqrt(q)", "symbolic")
	wantHow(t, s, "check vd(I2) == norm2(grad(p))/p^2 - 2*laplacian(p)/p", "symbolic")
	// the flow of I is fourth order: pde(I) involves ∂⁴q, the heat equation does not
	if got := s.Show(t, "pde(I)").Text; !strings.Contains(got, "diff(q, x, 4)") {
		t.Errorf("pde(I) = %s has no fourth derivative", got)
	}
}

func TestInteractionExample(t *testing.T) {
	s := exampletest.Run(t, "examples/interaction.flow")
	s.WantExit(t, 0)
	allChecksPass(t, s, 11)
	wantText(t, s, "vd(Ws)", "integral(q(y)*exp(-(x - y)^2/2), y)")
	// the kink of |x − y|: the mass of ∂ₓ sign(x − y) = 2δ(x − y)
	wantText(t, s, "pde(Wv)", "2*q^2 + diff(q, x)*integral(q(y)*sign(x - y), y)")
	// the asymmetric bump at 1 acts through its even part: bumps at ±1
	wantText(t, s, "vd(Wa)", "integral(q(y)*exp(-(x - y - 1)^2), y)/2 + integral(q(y)*exp(-(x - y + 1)^2), y)/2")
	wantText(t, s, "vd(N)", "integral(q(y)*exp(-(x - y)^2/2), y)^2 + 2*integral(q(y)*exp(-(x - y)^2/2)*integral(q(z)*exp(-(y - z)^2/2), z), y)")
	wantHow(t, s, "check vd(Wa) ==", "symbolic")
	wantHow(t, s, "check vd(Wo) == 0", "symbolic")
}

// TestNotesErrataExample: each wrong claim of the notes fails with a
// counterexample, and each corrected statement passes.
func TestNotesErrataExample(t *testing.T) {
	s := exampletest.Run(t, "examples/notes_errata.flow")
	s.WantExit(t, 3)
	wrong := map[string]bool{
		"check pde(I) == laplacian(q)":                                     true, // (50), (58)
		"check integral(vd(I)*laplacian(q)) == -integral(q*velocity(I)^2)": true, // (51)
		"check pde(KL) == laplacian(q) - div(q*vstar(x))":                  true, // (55)
		"check -laplacian(q) == -div(q*(-grad(log(q)))) + laplacian(q)":    true, // (74)
		"check -laplacian(q) == -div(q*grad(log(q))) + laplacian(q)":       true, // (74), the other sign
		"check dE1(t, x, v) == -t^2/3*v^2":                                 true, // (28)
	}
	cs := checks(s)
	if len(cs) < 18 {
		t.Errorf("%d checks, want at least 18", len(cs))
	}
	failed := 0
	for _, c := range cs {
		switch {
		case wrong[c.Label] && c.OK:
			t.Errorf("line %d: the wrong claim %s passed", c.Line, c.Label)
		case wrong[c.Label] && c.Counterexample == nil:
			t.Errorf("line %d: %s failed without a counterexample", c.Line, c.Label)
		case !wrong[c.Label] && !c.OK:
			t.Errorf("line %d: the corrected statement %s failed", c.Line, c.Label)
		}
		if !c.OK {
			failed++
		}
	}
	if failed != len(wrong) {
		t.Errorf("%d checks failed, want %d", failed, len(wrong))
	}
	// a failure that needs integrals says which test density refutes it
	c := s.Check(t, "check integral(vd(I)*laplacian(q)) == -integral(q*velocity(I)^2)")
	if !strings.Contains(c.Message, "test density q(x) = ") {
		t.Errorf("message %q names no test density", c.Message)
	}
	// the corrected Lyapunov derivative is exact: 2t·f − 2t·x·f′ = −a·t·x²
	wantHow(t, s, "check dE2(t, x, v) ==", "symbolic")
	wantHow(t, s, "check -laplacian(q) == -div(q*2*grad(log(q))) + laplacian(q)", "symbolic")
}
