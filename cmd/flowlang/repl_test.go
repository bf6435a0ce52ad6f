// Tests of the REPL through a pipe and a pseudo-terminal, of the progress bar, and of fmt on the examples.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"flowlang/lang"

	"github.com/creack/pty"
)

// replTestMainEnv makes the test binary act as flowlang itself, so that the
// pseudo-terminal tests run the real command without building it.
const replTestMainEnv = "FLOWLANG_REPL_TEST_MAIN"

func init() {
	if os.Getenv(replTestMainEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
}

// pipeREPL runs a piped session on input and returns its output and exit code.
func pipeREPL(t *testing.T, input string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = replCommand(args, strings.NewReader(input), &out, &errb)
	return out.String(), errb.String(), code
}

func TestPipeRunsStatementsInOrder(t *testing.T) {
	out, errs, code := pipeREPL(t, `objective f(x, y) = (x^2 +
    3*y^2)   # a comment ( with a bracket
show grad(f)
show hess(f) at (1, 2)
check grad(f) == [2*x, 6*y]
`)
	if code != exitOK || errs != "" {
		t.Fatalf("exit %d, stderr:\n%s", code, errs)
	}
	want := "grad(f) = [2*x, 6*y]\nhess(f) at (1, 2) = [[2, 0], [0, 6]]\ncheck grad(f) == [2*x, 6*y]: ok (symbolic)\n"
	if out != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", out, want)
	}
}

// wallTime matches the wall-clock figures of run summaries, which differ
// between two runs of the same script.
var wallTime = regexp.MustCompile(`(?m)^.*wall.*$`)

func TestPipePrintsAsAScript(t *testing.T) {
	for _, file := range exampleFiles(t) {
		text, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var sOut, sErr bytes.Buffer
		scriptCode := run([]string{"run", file}, nil, &sOut, &sErr)
		out, errs, code := pipeREPL(t, string(text))
		if code != scriptCode {
			t.Errorf("%s: exit %d piped, %d as a script", file, code, scriptCode)
		}
		got, want := wallTime.ReplaceAllString(out, "wall"), wallTime.ReplaceAllString(sOut.String(), "wall")
		if got != want {
			t.Errorf("%s: piped stdout differs from the script's:\n%s\nwant:\n%s", file, got, want)
		}
		// error messages name <stdin> instead of the file, at the same lines
		if e := strings.ReplaceAll(sErr.String(), file, "<stdin>"); errs != e && scriptCode != exitError {
			t.Errorf("%s: piped stderr:\n%s\nscript's:\n%s", file, errs, e)
		}
	}
}

func exampleFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../../examples/*.flow")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples found: %v", err)
	}
	return files
}

func TestPipeErrorThenWorkingStatement(t *testing.T) {
	out, errs, code := pipeREPL(t, "objective f(x) = x^2\n\nshow grad(nope)\nshow grad(f)\n")
	if code != exitError {
		t.Errorf("exit %d, want %d after an error", code, exitError)
	}
	// the error names the line as read, with the line quoted under it
	if !strings.Contains(errs, "<stdin>:3:11: undefined: nope") || !strings.Contains(errs, " 3 | show grad(nope)") {
		t.Errorf("stderr:\n%s", errs)
	}
	if out != "grad(f) = [2*x]\n" {
		t.Errorf("the statement after the error did not run: stdout %q", out)
	}
}

func TestPipeExitCodes(t *testing.T) {
	cases := []struct {
		input string
		code  int
	}{
		{"objective f(x) = x^2\nshow grad(f)\n", exitOK},
		{"objective f(x) = x^2\ncheck diff(f(x), x) == 3*x\nshow grad(f)\n", exitCheckFailed},
		{"objective f(x) = x^2\ncheck diff(f(x), x) == 3*x\nshow grad(g)\n", exitError},
		{"show (1\n", exitError}, // brackets open at the end of input
		{":nosuch\n", exitError},
		{"", exitOK},
	}
	for _, c := range cases {
		_, errs, code := pipeREPL(t, c.input)
		if code != c.code {
			t.Errorf("%q: exit %d, want %d; stderr:\n%s", c.input, code, c.code, errs)
		}
	}
}

func TestPipeUnclosedBracketEndsAtNextStatement(t *testing.T) {
	out, errs, _ := pipeREPL(t, "objective f(x) = x^2\nshow grad(f\nshow hess(f)\n")
	if !strings.Contains(errs, "<stdin>:2:10: \"(\" is never closed") {
		t.Errorf("stderr:\n%s", errs)
	}
	if out != "hess(f) = [[2]]\n" {
		t.Errorf("the next statement did not run: %q", out)
	}
}

func TestPipeCommands(t *testing.T) {
	dir := t.TempDir()
	lib := filepath.Join(dir, "lib.flow")
	if err := os.WriteFile(lib, []byte("objective g(x, y) = x*y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	input := strings.Join([]string{
		"let a = 1/2",
		"objective f(x) = a*x^4",
		":vars",
		":latex diff(f(x), x, 2)",
		":latex diff(sqrt(x), x)",
		":latex nope(",
		":load " + lib,
		"show grad(g)",
		":reset",
		":vars",
		"show grad(f)",
		":quit",
		"show 1",
	}, "\n") + "\n"
	out, errs, code := pipeREPL(t, input)
	for _, want := range []string{
		"let a = 1/2\nobjective f(x) = a*x^4\n",
		"free symbols in show and check: x (f)",
		`6 x^{2}` + "\n",
		`\frac{1}{2 \sqrt{x}}` + "\n",
		"grad(g) = [y, x]\n",
		"every declaration forgotten",
		"nothing declared yet",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "1 = 1") {
		t.Error(":quit did not stop the session")
	}
	// :latex errors point into the expression; after :reset, f is gone
	for _, want := range []string{"<latex>:1:", " 1 | nope(", "undefined: f"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if code != exitError {
		t.Errorf("exit %d, want %d", code, exitError)
	}
}

func TestHelpExamplesRun(t *testing.T) {
	help := helpText()
	var input strings.Builder
	runs := runsAvailable(t)
	for _, it := range helpItems {
		if strings.HasPrefix(it.form, "run ") && !runs {
			continue // tested once this build runs flows
		}
		if strings.HasPrefix(it.form, "load ") {
			continue // its file is relative to where the REPL starts
		}
		if !strings.Contains(help, it.form) {
			t.Errorf(":help lacks %s", it.form)
		}
		for _, ex := range it.examples {
			if !strings.Contains(help, "flow> "+ex) {
				t.Errorf(":help lacks the example %s", ex)
			}
			input.WriteString(ex + "\n")
		}
	}
	out, errs, code := pipeREPL(t, input.String())
	if code != exitOK {
		t.Errorf("the examples of :help fail (exit %d):\n%s\n%s", code, out, errs)
	}
}

func TestOpenBrackets(t *testing.T) {
	cases := map[string]int{
		"show grad(f":                      1,
		"show [[1, 2], [3":                 2,
		"show f(x) # (":                    0, // a comment
		`load "a(b.flow"`:                  0, // a string
		`plot "a\"(" (`:                    1, // an escaped quote inside a string
		"show f(x))) + (":                  1, // extra closing brackets count as none
		"check grad(f) == [1,\n 2]":        0,
		"objective f(x) = (x +\n # )\n  1": 1,
	}
	for text, want := range cases {
		if got := lang.OpenBrackets(text); got != want {
			t.Errorf("OpenBrackets(%q) = %d, want %d", text, got, want)
		}
	}
	for line, want := range map[string]bool{"show x": true, "run f": true, "  show x": false, "shown": false, "x": false, "showx(1)": false} {
		if got := lang.StartsStatement(line); got != want {
			t.Errorf("StartsStatement(%q) = %v, want %v", line, got, want)
		}
	}
}

func TestShiftMessage(t *testing.T) {
	msg := "<stdin>:9:6: undefined: nope\n 9 | show nope\n   |      ^~~~\nhint: did you mean nop?"
	want := "<stdin>:10:6: undefined: nope\n 10 | show nope\n    |      ^~~~\nhint: did you mean nop?"
	if got := shiftMessage(msg, "<stdin>", 9, 1); got != want {
		t.Errorf("shiftMessage:\n%s\nwant:\n%s", got, want)
	}
	// a long session: the error on an entry's second line
	out, errs, _ := pipeREPL(t, strings.Repeat("show 1\n", 99)+"show [1,\n nope]\n")
	if strings.Count(out, "1 = 1") != 99 || !strings.Contains(errs, "<stdin>:101:2: undefined: nope\n 101 |  nope]\n     |  ^~~~") {
		t.Errorf("stderr:\n%s", errs)
	}
}

func TestHistoryEntry(t *testing.T) {
	got := historyEntry("objective f(x, y) = (x^2 +  # first\n   3*y^2)  # \"quoted\" #\nx")
	if want := "objective f(x, y) = (x^2 + 3*y^2) x"; got != want {
		t.Errorf("historyEntry = %q, want %q", got, want)
	}
	if got := stripComment(`load "a#b.flow" # c`); got != `load "a#b.flow" ` {
		t.Errorf("stripComment = %q", got)
	}
}

func TestCompletion(t *testing.T) {
	r := newRepl(&bytes.Buffer{}, &bytes.Buffer{}, 0, false)
	r.feed("objective rosen(x, y) = (1 - x)^2 + 100*(y - x^2)^2")
	r.feed("let alpha = 2")
	dir := t.TempDir()
	for _, f := range []string{"model.flow", "notes.txt"} {
		os.WriteFile(filepath.Join(dir, f), nil, 0o644)
	}
	os.Mkdir(filepath.Join(dir, "more"), 0o755)
	c := &completer{r: r}
	cases := []struct {
		line string
		want []string // whole candidates (prefix + ending)
	}{
		{"show grad(ros", []string{"rosen"}},
		{"show gr", []string{"grad"}},
		{"show al", []string{"alpha"}},
		{"show hes", []string{"hess"}},
		{"show ent", []string{"entropy"}}, // the standard library's
		{"run rosen from (0, 0) using eu", []string{"euler("}},
		{"run rosen from (0, 0) using heavy_ball(", []string{"beta = ", "h = "}},
		{"run rosen from (0, 0) using heavy_ball(h = 0.1, b", []string{"beta = "}},
		{"run rosen from (0, 0) using rk45(rtol = 1e-6, ", []string{"atol = ", "rtol = "}},
		{"run ro", []string{"rosen"}},
		{":la", []string{"latex"}},
		{":l", []string{"latex", "load"}},
		{":load " + dir + "/", []string{"model.flow", "more/"}},
		{":latex grad(ro", []string{"rosen"}},
		{"show ", nil}, // nothing typed: no list of every name
		{"show zzz", nil},
	}
	for _, tc := range cases {
		line := []rune(tc.line)
		ends, n := c.Do(line, len(line))
		var got []string
		for _, e := range ends {
			got = append(got, string(line[len(line)-n:])+string(e))
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("complete %q: %q, want %q", tc.line, got, tc.want)
		}
	}
	// every method of SPEC §3.3 can be completed
	ends, _ := c.Do([]rune("run F using "), len("run F using "))
	var offered []string
	for _, e := range ends {
		offered = append(offered, strings.TrimSuffix(string(e), "("))
	}
	slices.Sort(offered)
	spec := []string{"blob", "euler", "grid", "heavy_ball", "implicit_euler", "jko", "langevin", "mala",
		"natural", "nesterov", "newton", "normalized", "particles", "rk4", "rk45", "svgd"}
	if !slices.Equal(offered, spec) {
		t.Errorf("methods offered: %v, want %v", offered, spec)
	}
}

// ptyTimeout bounds every wait for the REPL's output; generous because a
// loaded CI machine may be slow to start a process.
const ptyTimeout = 20 * time.Second

// ptySession is flowlang's REPL running on a pseudo-terminal.
type ptySession struct {
	t    *testing.T
	tty  *os.File
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	mark int // output before mark has been matched already
	done chan error
}

func startPTY(t *testing.T, args ...string) *ptySession {
	t.Helper()
	s := startPTYCommand(t, append([]string{"repl"}, args...)...)
	s.expect("flow> ")
	return s
}

// startPTYCommand runs flowlang with args on a new pseudo-terminal.
func startPTYCommand(t *testing.T, args ...string) *ptySession {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), replTestMainEnv+"=1", "HOME="+t.TempDir(), "TERM=xterm")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120})
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	s := &ptySession{t: t, tty: tty, cmd: cmd, done: make(chan error, 1)}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			s.mu.Lock()
			s.out.Write(buf[:n])
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		tty.Close()
	})
	return s
}

func (s *ptySession) send(text string) {
	s.t.Helper()
	if _, err := s.tty.Write([]byte(text)); err != nil {
		s.t.Fatalf("writing to the terminal: %v", err)
	}
}

// expect waits for want in the output after what was matched before.
func (s *ptySession) expect(want string) {
	s.t.Helper()
	deadline := time.Now().Add(ptyTimeout)
	for {
		s.mu.Lock()
		rest := s.out.String()[s.mark:]
		if i := strings.Index(rest, want); i >= 0 {
			s.mark += i + len(want)
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		if time.Now().After(deadline) {
			s.t.Fatalf("no %q in the output after %v:\n%s", want, ptyTimeout, rest)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// since returns the output after what was matched.
func (s *ptySession) since() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()[s.mark:]
}

// exit waits for the REPL to end and returns its exit code.
func (s *ptySession) exit() int {
	s.t.Helper()
	select {
	case err := <-s.done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			s.t.Fatal(err)
		}
		return 0
	case <-time.After(ptyTimeout):
		s.t.Fatalf("the REPL did not exit:\n%s", s.since())
	}
	return -1
}

func TestTerminalSession(t *testing.T) {
	history := filepath.Join(t.TempDir(), "history")
	s := startPTY(t, "--history", history)

	s.send("objective rosen(x, y) = (1 - x)^2 + 100*(y - x^2)^2\r")
	s.expect("flow> ")
	// Tab completes the objective's name
	s.send("show grad(ros\t")
	s.expect("en")
	s.send(")\r")
	s.expect("grad(rosen) = [400*x*(x^2 - y) + 2*x - 2, 200*y - 200*x^2]")

	// an error, then a statement that works
	s.send("show grad(nope)\r")
	s.expect("<repl>:3:11: undefined: nope")
	s.send("show hess(rosen) at (1, 1)\r")
	s.expect("hess(rosen) at (1, 1) = [[802, -400], [-400, 200]]")

	// a statement over several lines, with the continuation prompt
	s.send("check grad(rosen) == [2*x - 2 - 400*x*(y - x^2),\r")
	s.expect(contPrompt)
	s.send("200*(y - x^2)]\r")
	s.expect("check grad(rosen) == [2*x - 2 - 400*x*(y - x^2), 200*(y - x^2)]: ok (symbolic)")

	// Ctrl-C discards a half-typed statement, open brackets and all
	s.send("show grad(\r")
	s.expect(contPrompt)
	s.send("\x03")
	s.expect("flow> ")
	s.send("show 7\r")
	s.expect("7 = 7")
	if strings.Contains(s.since(), "never closed") {
		t.Error("the discarded statement was run")
	}

	// Ctrl-D leaves with exit code 0
	s.expect("flow> ")
	s.send("\x04")
	if code := s.exit(); code != 0 {
		t.Errorf("exit code %d after Ctrl-D, want 0", code)
	}

	data, err := os.ReadFile(history)
	if err != nil {
		t.Fatalf("no history written: %v", err)
	}
	for _, want := range []string{
		"objective rosen(x, y) = (1 - x)^2 + 100*(y - x^2)^2\n",
		"show grad(rosen)\n",
		// a multi-line statement is one entry
		"check grad(rosen) == [2*x - 2 - 400*x*(y - x^2), 200*(y - x^2)]\n",
	} {
		if !strings.Contains(string(data), want) {
			t.Errorf("history lacks %q:\n%s", want, data)
		}
	}
	if strings.Contains(string(data), "show grad(\n") {
		t.Errorf("history keeps the discarded statement:\n%s", data)
	}
}

// longRun is a run statement that takes seconds: ten million steps of
// gradient descent on a quadratic in 50 dimensions.
const longRun = "objective big(x[50]) = sum(i in 1..50, i*x[i]^2)\n" +
	"run big from [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1] using euler(h = 0.001) for 100000000 steps\n"

// runsAvailable reports whether this build runs flows.
func runsAvailable(t *testing.T) bool {
	_, errs, _ := pipeREPL(t, "objective f(x) = x^2\nrun f from (1) using euler(h = 0.1) for 1 steps\n")
	return !strings.Contains(errs, "not available yet")
}

func TestTerminalCtrlCStopsARun(t *testing.T) {
	if !runsAvailable(t) {
		t.Skip("run is not implemented in this build")
	}
	s := startPTY(t, "--history", "")
	lines := strings.Split(strings.TrimSpace(longRun), "\n")
	s.send(lines[0] + "\r")
	s.expect("flow> ")
	start := time.Now()
	s.send(lines[1] + "\r")
	// the progress bar appears after a second on a terminal
	s.expect("steps/s")
	s.send("\x03")
	s.expect("interrupted")
	if d := time.Since(start); d > ptyTimeout {
		t.Errorf("the run took %v to stop", d)
	}
	s.expect("flow> ")
	s.send("show 1 + 2\r")
	s.expect("1 + 2 = 3")
	s.send(":quit\r")
	if code := s.exit(); code != 0 {
		t.Errorf("exit code %d after :quit, want 0", code)
	}
}

func TestPipeInterruptEndsTheSession(t *testing.T) {
	if !runsAvailable(t) {
		t.Skip("run is not implemented in this build")
	}
	cmd := exec.Command(os.Args[0], "repl")
	cmd.Env = append(os.Environ(), replTestMainEnv+"=1")
	cmd.Stdin = strings.NewReader(longRun + "show 1\n")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // into the run
	start := time.Now()
	cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != exitError {
			t.Errorf("exit %v after an interrupt, want code %d", err, exitError)
		}
	case <-time.After(ptyTimeout):
		cmd.Process.Kill()
		t.Fatal("the piped session did not stop after an interrupt")
	}
	t.Logf("stopped %v after the interrupt", time.Since(start))
	if !strings.Contains(errb.String(), "flowlang: interrupted") || strings.Contains(out.String(), "1 = 1") {
		t.Errorf("stdout %q, stderr %q", out.String(), errb.String())
	}
	if strings.Contains(errb.String(), "steps/s") {
		t.Error("a progress bar was drawn on a pipe")
	}
}

// syncBuffer is a bytes.Buffer safe to read while a process writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestPipeInterruptWhileWaitingForInput(t *testing.T) {
	cmd := exec.Command(os.Args[0], "repl")
	cmd.Env = append(os.Environ(), replTestMainEnv+"=1")
	stdin, err := cmd.StdinPipe() // kept open: the session waits for input
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	var out, errb syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	io.WriteString(stdin, "show 1\n")
	deadline := time.Now().Add(ptyTimeout)
	for !strings.Contains(out.String(), "1 = 1") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != exitError {
			t.Errorf("exit %v after an interrupt, want code %d", err, exitError)
		}
	case <-time.After(ptyTimeout):
		cmd.Process.Kill()
		t.Fatal("an interrupt did not end a session waiting for input")
	}
	if !strings.Contains(errb.String(), "flowlang: interrupted") {
		t.Errorf("stderr %q", errb.String())
	}
}

// TestProgressOnTerminalOnly runs a long script on a terminal: the bar
// shows after a second, and not with --json.
func TestProgressOnTerminalOnly(t *testing.T) {
	if !runsAvailable(t) {
		t.Skip("run is not implemented in this build")
	}
	file := filepath.Join(t.TempDir(), "long.flow")
	if err := os.WriteFile(file, []byte(longRun), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, json := range []bool{false, true} {
		args := []string{"run", file}
		if json {
			args = []string{"run", "--json", file}
		}
		s := startPTYCommand(t, args...)
		if json {
			time.Sleep(progressDelay + 500*time.Millisecond)
		} else {
			s.expect("steps/s")
		}
		s.send("\x03")
		if code := s.exit(); code != exitError {
			t.Errorf("%v: exit %d after Ctrl-C, want %d", args, code, exitError)
		}
		out := s.since()
		if json && (strings.Contains(out, "steps/s") || strings.Contains(out, "%")) {
			t.Errorf("a progress bar with --json:\n%s", out)
		}
	}
}

func TestProgressBar(t *testing.T) {
	var buf bytes.Buffer
	bar := newProgressBar(&buf)
	bar(0, 1000, 0)
	bar(10, 1000, 0.1)
	if buf.Len() != 0 {
		t.Fatalf("a run shorter than %v printed %q", progressDelay, buf.String())
	}
	time.Sleep(progressDelay + 50*time.Millisecond)
	bar(500, 1000, 5)
	line := buf.String()
	for _, want := range []string{"50%", "500 steps", "steps/s", "t = 5", "left"} {
		if !strings.Contains(line, want) {
			t.Errorf("bar %q lacks %q", line, want)
		}
	}
	bar(-1, 1000, 10)
	if !strings.HasSuffix(buf.String(), "\r\033[K") {
		t.Errorf("the finished bar is not cleared: %q", buf.String())
	}
	// with no total: steps and rate, no percentage
	buf.Reset()
	bar(0, 0, 0)
	time.Sleep(progressDelay + 50*time.Millisecond)
	bar(42, 0, 1)
	if s := buf.String(); !strings.Contains(s, "42 steps") || strings.Contains(s, "%") {
		t.Errorf("bar without a total: %q", s)
	}
}

func TestProgressLine(t *testing.T) {
	// the widest line: a billion steps, a huge rate and t, hours left
	line := progressLine(123456789, 1000000000, -1.23456789e+300, 100*time.Second)
	if n := len([]rune(line)); n >= 80 {
		t.Errorf("progress line has %d columns, want < 80: %q", n, line)
	}
	// 1.23M steps/s for 100 s: 8.77e8 steps left take 710 s
	for _, want := range []string{"[=   ", " 12%", "1.23M steps/s", "11m50s left"} {
		if !strings.Contains(line, want) {
			t.Errorf("%q lacks %q", line, want)
		}
	}
	for d, want := range map[time.Duration]string{-time.Second: "0s", 42 * time.Second: "42s", 61 * time.Second: "1m01s",
		3*time.Hour + 5*time.Minute + 20*time.Second: "3h05m", 5000 * time.Hour: ">999h"} {
		if got := duration(d); got != want {
			t.Errorf("duration(%v) = %q, want %q", d, got, want)
		}
	}
	for v, want := range map[float64]string{950: "950", 12345: "12.3k", 4.561e6: "4.56M", 2e9: "2G"} {
		if got := compact(v); got != want {
			t.Errorf("compact(%g) = %q, want %q", v, got, want)
		}
	}
}

// latexScript shows derivations whose LaTeX must compile: fractions,
// square roots, Greek names, vectors and matrices, integrals (nonlocal
// terms), density derivatives in one and two dimensions, special
// functions, a float with an exponent.
const latexScript = `objective rosen(x, y) = (1 - x)^2 + 100*(y - x^2)^2
show grad(rosen)
show hess(rosen)
show hess(rosen) at (1, 1)
def V(x) = x^4/4 - x^2/2
density q(x)
functional F[q] = potential(V) + entropy()
show vd(F)
show pde(F)
show velocity(F)
functional I[q] = fisher()
show vd(I)
def K(z) = exp(-z^2/2)
functional W[q] = interaction(K)
show vd(W)
show pde(W)
objective g(α, β, sigma) = sqrt(α^2 + β^2)/sigma + exp(-α/3)
show grad(g)
objective r(mu, rho, x_1, ϑ) = erf(mu) + softplus(rho) + logcosh(mu*rho) + sigmoid(mu) + abs(mu - rho) + atan(x_1)/ϑ + min(mu, rho) + asin(mu)*acos(rho)
show grad(r)
show diff(1e-20*x^3 + 2.5*x^(1/3), x)
density p(z[2])
functional G[p] = integral(norm2(grad(p))/p)
show vd(G)
functional H[p] = porous(3)
show pde(H)
`

// latexMacros are the control sequences flowlang's LaTeX may use: LaTeX's
// and amsmath's own.
var latexMacros = map[string]bool{
	"frac": true, "sqrt": true, "left": true, "right": true, "begin": true, "end": true,
	"partial": true, "int": true, "mathrm": true, "text": true, "operatorname": true,
	"cdot": true, ",": true, "\\": true, "_": true, "pi": true,
	"exp": true, "log": true, "sin": true, "cos": true, "tan": true, "sinh": true, "cosh": true,
	"tanh": true, "arctan": true, "arcsin": true, "arccos": true, "min": true, "max": true,
	"alpha": true, "beta": true, "gamma": true, "delta": true, "epsilon": true, "varepsilon": true,
	"zeta": true, "eta": true, "theta": true, "vartheta": true, "kappa": true, "lambda": true,
	"mu": true, "nu": true, "xi": true, "rho": true, "varrho": true, "sigma": true, "varsigma": true,
	"tau": true, "upsilon": true, "phi": true, "varphi": true, "chi": true, "psi": true, "omega": true,
	"varpi": true, "Gamma": true, "Delta": true, "Theta": true, "Lambda": true, "Xi": true, "Pi": true,
	"Sigma": true, "Upsilon": true, "Phi": true, "Psi": true, "Omega": true,
}

var latexToken = regexp.MustCompile(`\\\\|\\[A-Za-z]+|\\.|[{}^_]|[^\\{}^_]+`)

// checkLaTeX checks math text without a LaTeX installation: ASCII only
// (pdflatex has no Unicode math), known macros, braces, \left/\right and
// \begin/\end nested properly, and every ^ or _ followed by a group.
func checkLaTeX(math string) error {
	for _, r := range math {
		if r >= 0x80 {
			return fmt.Errorf("non-ASCII character %q", r)
		}
	}
	toks := latexToken.FindAllString(math, -1)
	var stack []string
	for i, tok := range toks {
		switch {
		case tok == "{":
			stack = append(stack, "{")
		case tok == "}":
			if len(stack) == 0 || stack[len(stack)-1] != "{" {
				return fmt.Errorf("unbalanced } at token %d", i)
			}
			stack = stack[:len(stack)-1]
		case tok == `\left`:
			stack = append(stack, `\left`)
		case tok == `\right`:
			if len(stack) == 0 || stack[len(stack)-1] != `\left` {
				return fmt.Errorf("\\right without \\left at token %d", i)
			}
			stack = stack[:len(stack)-1]
		case tok == `\begin` || tok == `\end`:
			if i+3 >= len(toks) || toks[i+1] != "{" || toks[i+3] != "}" {
				return fmt.Errorf("%s without {environment}", tok)
			}
			env := toks[i+2]
			if env != "pmatrix" {
				return fmt.Errorf("unknown environment %s", env)
			}
			if tok == `\begin` {
				stack = append(stack, "env")
			} else if len(stack) == 0 || stack[len(stack)-1] != "env" {
				return fmt.Errorf("\\end{%s} without \\begin", env)
			} else {
				stack = stack[:len(stack)-1]
			}
		case tok == "^" || tok == "_":
			if i+1 >= len(toks) || toks[i+1] != "{" {
				return fmt.Errorf("%s not followed by a group", tok)
			}
		case strings.HasPrefix(tok, `\`):
			if !latexMacros[tok[1:]] {
				return fmt.Errorf("unknown macro %s", tok)
			}
		}
	}
	if len(stack) > 0 {
		return fmt.Errorf("unclosed %s", stack[len(stack)-1])
	}
	return nil
}

func TestLaTeXCompiles(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "latex.flow")
	if err := os.WriteFile(file, []byte(latexScript), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"run", "--latex", file}, nil, &out, &errb); code != exitOK {
		t.Fatalf("flowlang run --latex: exit %d\n%s", code, errb.String())
	}
	// the same through the REPL's :latex
	repl, errs, code := pipeREPL(t, latexScript[:strings.Index(latexScript, "def V")]+
		":latex grad(rosen)\n:latex hess(rosen) at (1, 1)\n:latex diff(sqrt(x)/(1 + y^2), y)\n")
	if code != exitOK {
		t.Fatalf(":latex: exit %d\n%s", code, errs)
	}
	var blocks []string
	for _, line := range strings.Split(out.String(), "\n") {
		if m, ok := strings.CutPrefix(line, `\[ `); ok {
			blocks = append(blocks, strings.TrimSuffix(m, ` \]`))
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(repl), "\n") {
		if !strings.Contains(line, " = ") { // skip the shows' text output
			blocks = append(blocks, line)
		}
	}
	if want := strings.Count(latexScript, "show ") + 3; len(blocks) != want {
		t.Fatalf("%d LaTeX blocks, want %d:\n%s\n%s", len(blocks), want, out.String(), repl)
	}
	for _, want := range []string{`\frac{`, `\sqrt{`, `\alpha`, `\vartheta`, `\begin{pmatrix}`, `\int `,
		`\,\mathrm{d}y`, `\partial_{x} q`, `\left(\partial_{x} q\right)^{2}`, `\partial_{z_{1}}^{2} p`, `\cdot 10^{-20}`} {
		if !strings.Contains(strings.Join(blocks, "\n"), want) {
			t.Errorf("no %s in the LaTeX output", want)
		}
	}
	var doc strings.Builder
	doc.WriteString("\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n")
	for i, b := range blocks {
		if err := checkLaTeX(b); err != nil {
			t.Errorf("block %d: %v:\n%s", i+1, err, b)
		}
		fmt.Fprintf(&doc, "\\[ %s \\]\n\n", b)
	}
	doc.WriteString("\\end{document}\n")

	latex, err := exec.LookPath("pdflatex")
	if err != nil {
		t.Skip("pdflatex is not installed: checked braces and macros only")
	}
	if err := os.WriteFile(filepath.Join(dir, "doc.tex"), []byte(doc.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(latex, "-interaction=nonstopmode", "-halt-on-error", "doc.tex")
	cmd.Dir = dir
	if log, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pdflatex failed: %v\n%s", err, log)
	}
	if st, err := os.Stat(filepath.Join(dir, "doc.pdf")); err != nil || st.Size() == 0 {
		t.Fatalf("pdflatex wrote no PDF: %v", err)
	}
}

func TestCheckLaTeXCatchesMistakes(t *testing.T) {
	for _, bad := range []string{`\frac{1}{2`, `\left(x`, `x^2`, `\foo{x}`, `\text{ϑ}`, `\begin{pmatrix}1`, `x}`, `\right)`} {
		if checkLaTeX(bad) == nil {
			t.Errorf("checkLaTeX accepts %q", bad)
		}
	}
	if err := checkLaTeX(`\begin{pmatrix}\frac{\alpha}{2} \\ \left|x\right|^{2}\end{pmatrix}`); err != nil {
		t.Errorf("checkLaTeX refuses good LaTeX: %v", err)
	}
}

func TestFmtExamplesAreFixedPoints(t *testing.T) {
	for _, file := range exampleFiles(t) {
		text, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var out, errb bytes.Buffer
		if code := fmtCommand([]string{file}, &out, &errb); code != exitOK {
			t.Fatalf("fmt %s: exit %d: %s", file, code, errb.String())
		}
		if out.String() != string(text) {
			t.Errorf("%s is not in canonical layout; flowlang fmt gives:\n%s", file, diffLines(string(text), out.String()))
		}
		f, errs := lang.Parse(file, out.Bytes())
		if len(errs) > 0 {
			t.Fatalf("%s: formatted text does not parse: %v", file, errs)
		}
		if again := lang.Format(f); !bytes.Equal(again, out.Bytes()) {
			t.Errorf("%s: fmt is not idempotent:\n%s", file, diffLines(out.String(), string(again)))
		}
	}
}

// diffLines shows the first lines where a and b differ.
func diffLines(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out strings.Builder
	shown := 0
	for i := 0; i < max(len(la), len(lb)) && shown < 5; i++ {
		var x, y string
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if x != y {
			fmt.Fprintf(&out, "line %d:\n- %s\n+ %s\n", i+1, x, y)
			shown++
		}
	}
	return out.String()
}
