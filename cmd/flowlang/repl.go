// The REPL: statements read from a terminal (readline: history, completion, multi-line) or from a pipe.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"flowlang/internal/spell"
	"flowlang/lang"

	"github.com/chzyer/readline"
	"golang.org/x/term"
)

// historyEnv names the environment variable that overrides the history
// file's path (--history overrides both); an empty --history keeps none.
const historyEnv = "FLOWLANG_HISTORY"

// historyLimit is how many entries the history file keeps.
const historyLimit = 1000

// Prompts: a statement's first line, and a line continuing it while
// brackets are open.
const (
	prompt     = "flow> "
	contPrompt = "  ... "
)

// replCommand runs a session. On a terminal (stdin and stdout both) it
// edits lines with readline: history in a file, Tab completion, a
// continuation prompt while brackets are open; Ctrl-C stops a running
// statement or discards a half-typed one, Ctrl-D leaves, and the exit code
// is 0. Otherwise it reads statements from stdin without prompts, with the
// same rule for lines, and keeps going after errors; its exit code is then
// a script's: 1 if any statement failed, else 3 if a check failed, else 0.
// An interrupt (SIGINT) ends a piped session with exit code 1.
func replCommand(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("repl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	history := fs.String("history", defaultHistory(), "the history file (also $"+historyEnv+`; "" keeps none)`)
	seed := fs.Uint64("seed", 0, "seed for random points and particles (default 1)")
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "flowlang repl: unexpected argument %q\n%s", fs.Arg(0), usage)
		return exitUsage
	}
	in, isFile := stdin.(*os.File)
	interactive := isFile && term.IsTerminal(int(in.Fd())) && isTerminal(stdout)
	r := newRepl(stdout, stderr, *seed, interactive)
	if interactive {
		return r.readTerminal(in, *history)
	}
	return r.piped(stdin)
}

// defaultHistory is $FLOWLANG_HISTORY, or ~/.flowlang_history.
func defaultHistory() string {
	if p, ok := os.LookupEnv(historyEnv); ok {
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".flowlang_history")
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// repl is a session: an interpreter fed one entry (a complete statement,
// possibly over several lines) at a time.
type repl struct {
	in          *lang.Interp
	out, errw   io.Writer
	rep         *shiftReporter
	name        string // the source name in messages: <repl> or <stdin>
	interactive bool

	lines        int      // lines read so far
	depth        int      // brackets open in the pending statement
	pending      []string // lines of a statement whose brackets are still open
	pendingStart int      // lines before the pending statement's first
	save         func(entry string)

	base   context.Context // cancelled by SIGINT in a piped session
	mu     sync.Mutex
	cancel context.CancelFunc // the running statement's

	errors, failedChecks int
	quit                 bool
}

func newRepl(stdout, stderr io.Writer, seed uint64, interactive bool) *repl {
	r := &repl{out: stdout, errw: stderr, interactive: interactive, name: "<stdin>", base: context.Background()}
	if interactive {
		r.name = "<repl>"
	}
	r.rep = &shiftReporter{inner: &lang.TextReporter{Out: stdout, Err: stderr}, r: r}
	opts := lang.Options{Out: r.rep, Seed: seed}
	if interactive && isTerminal(stderr) {
		opts.Progress = newProgressBar(stderr)
	}
	r.in = lang.New(opts)
	return r
}

// readTerminal reads lines with readline until :quit or Ctrl-D.
func (r *repl) readTerminal(stdin *os.File, history string) int {
	rl, err := readline.NewEx(&readline.Config{
		Prompt:                 prompt,
		HistoryFile:            history,
		HistoryLimit:           historyLimit,
		DisableAutoSaveHistory: true,
		HistorySearchFold:      true,
		AutoComplete:           &completer{r: r},
		InterruptPrompt:        "^C",
		EOFPrompt:              "\n",
		Stdin:                  stdin,
		Stdout:                 r.out,
		Stderr:                 r.errw,
	})
	if err != nil {
		fmt.Fprintf(r.errw, "flowlang: %v\n", err)
		return exitError
	}
	defer rl.Close()
	r.save = func(entry string) { rl.SaveHistory(entry) }

	// Ctrl-C reaches us as SIGINT only while a statement runs (readline
	// reads it as a key otherwise): stop that statement.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	defer signal.Stop(sigs)
	go func() {
		for range sigs {
			r.interrupt()
		}
	}()

	fmt.Fprintf(r.out, "flowlang %s — :help for help, :quit or Ctrl-D to leave\n", Version)
	for !r.quit {
		if len(r.pending) == 0 {
			rl.SetPrompt(prompt)
		} else {
			rl.SetPrompt(contPrompt)
		}
		line, err := rl.Readline()
		switch {
		case errors.Is(err, readline.ErrInterrupt):
			r.pending = nil // discard the half-typed statement
			continue
		case errors.Is(err, io.EOF):
			return exitOK
		case err != nil:
			fmt.Fprintf(r.errw, "flowlang: %v\n", err)
			return exitError
		}
		r.feed(line)
	}
	return exitOK
}

// piped reads statements from a pipe or file, without prompts.
func (r *repl) piped(stdin io.Reader) int {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	r.base = ctx
	// An interrupt stops the running statement, after which the session
	// ends; while waiting for input (a terminal whose output is redirected)
	// it ends the session at once, since the read cannot be cancelled.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	defer signal.Stop(sigs)
	go func() {
		select {
		case <-sigs:
		case <-ctx.Done():
			return
		}
		r.mu.Lock()
		running := r.cancel != nil
		stop()
		r.mu.Unlock()
		if !running {
			fmt.Fprintln(r.errw, "flowlang: interrupted")
			os.Exit(exitError)
		}
	}()
	br := bufio.NewReader(stdin)
	for !r.quit {
		line, err := br.ReadString('\n')
		if line != "" {
			r.feed(strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"))
		}
		if ctx.Err() != nil {
			fmt.Fprintln(r.errw, "flowlang: interrupted")
			return exitError
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Fprintf(r.errw, "flowlang: %v\n", err)
			return exitError
		}
	}
	if len(r.pending) > 0 && !r.quit {
		r.flush() // brackets open at the end: the parser says which
	}
	switch {
	case r.errors > 0:
		return exitError
	case r.failedChecks > 0:
		return exitCheckFailed
	}
	return exitOK
}

// interrupt stops the running statement, if any.
func (r *repl) interrupt() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancel != nil {
		r.cancel()
	}
}

// feed takes one line of input: a command, part of a statement, or the
// line that completes one, which then runs. As in a script, a line that
// starts with a statement keyword in its first column while brackets are
// open starts a new statement: the entry then holds both, and the parser
// reports the bracket that was never closed.
func (r *repl) feed(line string) {
	if len(r.pending) == 0 {
		if cmd := strings.TrimSpace(line); strings.HasPrefix(cmd, ":") {
			r.lines++
			if r.save != nil {
				r.save(cmd)
			}
			r.command(cmd)
			return
		}
		r.pendingStart = r.lines
		r.depth = 0
	} else if lang.StartsStatement(line) {
		r.depth = 0
	}
	r.lines++
	r.pending = append(r.pending, line)
	// counted line by line (strings and comments end with their line), so
	// that a long statement costs linear time
	if r.depth = lang.BracketDepth(r.depth, line); r.depth > 0 {
		return
	}
	r.flush()
}

// flush runs the pending statement.
func (r *repl) flush() {
	text := strings.Join(r.pending, "\n")
	r.pending = nil
	if strings.TrimSpace(text) == "" {
		return
	}
	if r.save != nil {
		r.save(historyEntry(text))
	}
	r.exec(text, r.pendingStart)
}

// historyEntry puts a statement on one line for the history file: its
// lines without their comments, joined by spaces (they are inside
// brackets, where a newline is a space).
func historyEntry(text string) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(stripComment(l))
	}
	return strings.Join(slices.DeleteFunc(lines, func(s string) bool { return s == "" }), " ")
}

// stripComment removes a # comment (outside strings) from a line.
func stripComment(line string) string {
	inString := false
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case c == '#' && !inString:
			return line[:i]
		}
	}
	return line
}

// exec parses and runs an entry whose first line follows `before` lines of
// the session. Parse errors are all reported, and the statements that did
// parse run (an entry holds several only after a bracket left open or with
// ';'); each runs whatever the previous one did.
func (r *repl) exec(text string, before int) {
	defer func() {
		// ExecStmt recovers from panics in statements; this catches the rest
		if p := recover(); p != nil {
			fmt.Fprintf(r.errw, "%s:%d: internal error: %v\n", r.name, before+1, p)
			r.errors++
		}
	}()
	f, errs := lang.Parse(r.name, []byte(text))
	if len(errs) > 0 {
		for _, e := range errs { // positioned in the entry
			msg := e.Error()
			if e.Pos.IsValid() {
				msg = shiftMessage(msg, r.name, e.Pos.Line, before)
			}
			fmt.Fprintln(r.errw, msg)
		}
		r.errors++
	}
	f.ShiftLines(before)
	r.rep.src, r.rep.shift = f.Src, before
	defer func() { r.rep.src = nil }()
	for _, st := range f.Stmts {
		failed, stopped := r.cancellable(func() bool { return r.in.ExecStmt(f.Src, st) != nil })
		if stopped {
			if r.interactive && !failed { // a run says itself where it stopped
				fmt.Fprintln(r.errw, "interrupted")
			}
			return
		}
	}
}

// cancellable runs exec (which reports whether it failed) under a context
// that Ctrl-C cancels, and counts its error and failed checks in the
// session; stopped says whether it was interrupted.
func (r *repl) cancellable(exec func() bool) (failed, stopped bool) {
	ctx, cancel := context.WithCancel(r.base)
	defer cancel()
	r.mu.Lock()
	r.cancel = cancel
	r.mu.Unlock()
	r.in.SetContext(ctx)
	checks := r.in.FailedChecks()
	failed = exec()
	r.mu.Lock()
	r.cancel = nil
	r.mu.Unlock()
	if failed {
		r.errors++
	}
	if r.in.FailedChecks() > checks {
		r.failedChecks++
	}
	return failed, ctx.Err() != nil
}

// shiftReporter passes reports on, quoting the source line of errors in
// the entry being run: its statements are positioned over the session
// (File.ShiftLines) but its Source holds the entry alone.
type shiftReporter struct {
	inner lang.Reporter
	r     *repl
	src   *lang.Source // the entry being run; nil outside exec
	shift int          // lines before the entry
}

func (s *shiftReporter) Record(rec lang.Record)                 { s.inner.Record(rec) }
func (s *shiftReporter) RunRows(label string, columns []string) { s.inner.RunRows(label, columns) }
func (s *shiftReporter) Row(values []float64)                   { s.inner.Row(values) }

func (s *shiftReporter) Error(e *lang.Error) {
	if s.src == nil || e.Src != s.src || s.shift == 0 || e.Pos.Line <= s.shift {
		s.inner.Error(e)
		return
	}
	// Print it at its line in the entry, then renumber the message, which
	// costs nothing however long the session has been.
	c := *e
	c.Pos.Line -= s.shift
	if c.End.IsValid() {
		c.End.Line -= s.shift
	}
	fmt.Fprintln(s.r.errw, shiftMessage(c.Error(), e.Src.Name, c.Pos.Line, s.shift))
}

// shiftMessage renumbers line n of file name as n+shift in an error
// message laid out as lang.Error prints it: "name:n:col: ..." and the
// quoted line under it, " n | text" over " ⋅ | ^~~".
func shiftMessage(msg, name string, n, shift int) string {
	from, to := strconv.Itoa(n), strconv.Itoa(n+shift)
	msg = strings.Replace(msg, name+":"+from+":", name+":"+to+":", 1)
	quote := "\n " + from + " | "
	i := strings.Index(msg, quote)
	if i < 0 {
		return msg
	}
	msg = msg[:i] + "\n " + to + " | " + msg[i+len(quote):]
	pad, newPad := "\n "+strings.Repeat(" ", len(from))+" | ", "\n "+strings.Repeat(" ", len(to))+" | "
	if j := strings.Index(msg[i+1:], pad); j >= 0 {
		j += i + 1
		msg = msg[:j] + newPad + msg[j+len(pad):]
	}
	return msg
}

// commands are the REPL's own commands, for :help, completion and hints.
var commands = []string{":help", ":load", ":vars", ":reset", ":latex", ":quit"}

// command runs a REPL command (a line starting with ':').
func (r *repl) command(line string) {
	name, arg, _ := strings.Cut(line, " ")
	arg = strings.TrimSpace(arg)
	switch name {
	case ":help", ":h", ":?":
		fmt.Fprint(r.out, helpText())
	case ":quit", ":q", ":exit":
		r.quit = true
	case ":reset":
		r.in.Reset()
		fmt.Fprintln(r.out, "every declaration forgotten (the standard library stays)")
	case ":vars":
		r.vars(arg == "all")
	case ":load":
		r.load(arg)
	case ":latex":
		text, err := r.in.LaTeX(arg)
		if err != nil {
			fmt.Fprintln(r.errw, err.Error())
			r.errors++
			return
		}
		fmt.Fprintln(r.out, text)
	default:
		msg := fmt.Sprintf("unknown command %s (:help lists them)", name)
		if hint := spell.Suggest(name, commands); hint != "" {
			msg += "; did you mean " + hint + "?"
		}
		fmt.Fprintln(r.errw, msg)
		r.errors++
	}
}

// vars prints the session's declarations, and which names are free
// symbols in show and check.
func (r *repl) vars(all bool) {
	n := 0
	for _, d := range r.in.Decls() {
		if d.Stdlib && !all {
			continue
		}
		fmt.Fprintln(r.out, d.Text)
		n++
	}
	free := r.in.FreeSymbols()
	if len(free) > 0 {
		names := make([]string, 0, len(free))
		for name, owner := range free {
			names = append(names, name+" ("+owner+")")
		}
		slices.Sort(names)
		fmt.Fprintf(r.out, "free symbols in show and check: %s\n", strings.Join(names, ", "))
	}
	if n == 0 && len(free) == 0 {
		fmt.Fprintln(r.out, "nothing declared yet (:vars all lists the standard library too)")
	}
}

// load runs a script in the session, as `load "FILE"` would from the
// current directory.
func (r *repl) load(arg string) {
	path := strings.Trim(arg, `"`)
	if path == "" {
		fmt.Fprintln(r.errw, "usage: :load FILE")
		r.errors++
		return
	}
	text, err := lang.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		fmt.Fprintf(r.errw, "cannot load %s: %v\n", path, err)
		r.errors++
		return
	}
	_, stopped := r.cancellable(func() bool { return r.in.ExecFile(path, text) != nil })
	if stopped && r.interactive {
		fmt.Fprintln(r.errw, "interrupted")
	}
}

// helpItem is one statement in :help, with worked examples that run in
// order in a fresh session (a test runs them, but for load's).
type helpItem struct {
	form, what string
	examples   []string
}

var helpItems = []helpItem{
	{"let NAME = EXPR", "a number, computed now", []string{"let a = 0.5"}},
	{"def NAME(x, ...) = EXPR", "a function, inlined where it is used", []string{"def V(x) = x^4/4 - x^2/2"}},
	{"objective NAME(x, y) = EXPR", "a function to minimise (x[n] is a vector of length n)",
		[]string{"objective rosen(x, y) = (1 - x)^2 + 100*(y - x^2)^2"}},
	{"density NAME(x)", "a probability density over x (x[2]: over the plane)", []string{"density q(x)"}},
	{"functional NAME[q] = EXPR", "a sum of integrals of the density q",
		[]string{"functional F[q] = potential(V) + entropy()"}},
	{"show EXPR [at POINT]", "derive and print; at POINT evaluates",
		[]string{"show grad(rosen)", "show hess(rosen) at (1, 1)", "show vd(F)"}},
	{"check A == B [at POINT] [tol T]", "test a hand derivation (also <= and >=)",
		[]string{"check diff(V(x), x) == x^3 - x"}},
	{"run TARGET from INIT using METHOD(k = v) for N steps [every K] [plot \"f.png\"]", "run the gradient flow",
		[]string{"run rosen from (-1, 1) using euler(h = 0.001) for 20000 steps every 5000"}},
	{"load \"FILE\"", "run another script in this session (relative to the current directory here)",
		[]string{`load "examples/tour.flow"`}},
}

func helpText() string {
	var b strings.Builder
	b.WriteString("Statements work as in a script; a line ending inside ( [ { continues on the next.\n\n")
	for _, it := range helpItems {
		fmt.Fprintf(&b, "  %s\n      %s\n", it.form, it.what)
		for _, ex := range it.examples {
			fmt.Fprintf(&b, "      flow> %s\n", ex)
		}
	}
	b.WriteString(`
Commands:
  :help          this text
  :load FILE     run a script in this session
  :vars [all]    the declarations (all: with the standard library's)
  :reset         forget every declaration
  :latex EXPR    EXPR (as show prints it) in LaTeX
  :quit          leave (also Ctrl-D)

Tab completes names, built-ins, methods and their parameters. Ctrl-C stops a
running statement or discards a half-typed one. Up and down walk the history
(kept in ~/.flowlang_history, or $` + historyEnv + `, or --history FILE); Ctrl-R searches it.
`)
	return b.String()
}

// completer completes the word before the cursor: REPL commands after
// ':', method names after `using`, a method's parameters inside its
// parentheses, run targets after `run`, and otherwise declared names,
// built-ins and reserved words.
type completer struct{ r *repl }

var (
	methodArgs = regexp.MustCompile(`\busing\s+([\p{L}_][\p{L}\p{N}_]*)\s*\(([^()]*)$`)
	lastWord   = regexp.MustCompile(`([\p{L}_][\p{L}\p{N}_]*)\s*$`)
)

// Do returns the endings of the candidates for the word before pos, and
// that word's length (readline.AutoCompleter).
func (c *completer) Do(line []rune, pos int) ([][]rune, int) {
	if pos > len(line) {
		pos = len(line)
	}
	i := pos
	for i > 0 && isIdentRune(line[i-1]) {
		i--
	}
	word, head := string(line[i:pos]), string(line[:i])
	trimmed := strings.TrimLeft(head, " \t")
	var cands []string
	switch {
	case trimmed == ":":
		for _, cmd := range commands {
			cands = append(cands, cmd[1:])
		}
	case strings.HasPrefix(trimmed, ":load "):
		before := string(line[:pos])
		_, arg, _ := strings.Cut(before, ":load ")
		return completeFile(strings.TrimLeft(arg, " \t"))
	case strings.HasPrefix(trimmed, ":") && !strings.HasPrefix(trimmed, ":latex "):
		return nil, 0
	default:
		cands = c.candidates(head, word)
	}
	var out [][]rune
	for _, cand := range cands {
		if strings.HasPrefix(cand, word) && cand != word {
			out = append(out, []rune(cand[len(word):]))
		}
	}
	return out, len([]rune(word))
}

// candidates lists what may stand at the end of head.
func (c *completer) candidates(head, word string) []string {
	if m := methodArgs.FindStringSubmatch(head); m != nil {
		args := strings.TrimSpace(m[2])
		if args != "" && !strings.HasSuffix(args, ",") {
			return nil // after a parameter's name, inside its value
		}
		for _, mi := range lang.Methods() {
			if mi.Name == m[1] {
				var out []string
				for _, p := range mi.Params {
					out = append(out, p+" = ")
				}
				return out
			}
		}
		return nil
	}
	prev := ""
	if m := lastWord.FindStringSubmatch(head); m != nil {
		prev = m[1]
	}
	switch prev {
	case "using":
		var out []string
		for _, mi := range lang.Methods() {
			out = append(out, mi.Name+"(")
		}
		return out
	case "run":
		return c.r.in.TargetNames()
	}
	if word == "" {
		return nil // Tab on nothing: do not list every name
	}
	out := c.r.in.Names()
	out = append(out, lang.BuiltinNames()...)
	out = append(out, lang.Keywords()...)
	slices.Sort(out)
	return slices.Compact(out)
}

func isIdentRune(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// completeFile completes a path for :load: files ending in .flow and
// directories.
func completeFile(prefix string) ([][]rune, int) {
	dir, base := filepath.Split(prefix)
	look := dir
	if look == "" {
		look = "."
	}
	entries, err := os.ReadDir(look)
	if err != nil {
		return nil, 0
	}
	var out [][]rune
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, base) || (strings.HasPrefix(name, ".") && !strings.HasPrefix(base, ".")) {
			continue
		}
		switch {
		case e.IsDir():
			name += string(filepath.Separator)
		case !strings.HasSuffix(name, ".flow"):
			continue
		}
		out = append(out, []rune(name[len(base):]))
	}
	return out, len([]rune(base))
}
