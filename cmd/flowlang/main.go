// Command flowlang runs, checks and formats .flow scripts, and hosts the REPL.
//
// Usage (SPEC §4):
//
//	flowlang FILE.flow              # same as: flowlang run FILE.flow
//	flowlang run [--json] [--seed S] [--quiet] [--latex] FILE.flow ...
//	flowlang repl [--history FILE]  # also: flowlang with no arguments
//	flowlang check [--json] FILE.flow ...
//	flowlang fmt [-w] FILE.flow ...
//	flowlang version
//
// Exit codes: 0 success, 1 an error in a script or at run time, 2 bad
// usage, 3 every statement ran but a check failed.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"flowlang/internal/atomicfile"
	"flowlang/lang"

	"golang.org/x/term"
)

// Version is flowlang's version.
const Version = "0.1.0"

// Exit codes (SPEC §6).
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitCheckFailed = 3
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

const usage = `usage:
  flowlang FILE.flow              run a script (same as flowlang run FILE.flow)
  flowlang run [--json] [--seed S] [--quiet] [--latex] FILE.flow ...
  flowlang repl [--history FILE]  interactive session (also: flowlang with no arguments)
  flowlang check [--json] FILE.flow ...   parse and resolve only, report every error
  flowlang fmt [-w] FILE.flow ...         print (or with -w rewrite) in canonical layout
  flowlang version
`

// run is main without the exit, for tests.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "flowlang: internal error: %v\n", r)
			code = exitError
		}
	}()
	if len(args) == 0 {
		return replCommand(nil, stdin, stdout, stderr)
	}
	switch args[0] {
	case "run":
		return runCommand(args[1:], stdout, stderr, false)
	case "check":
		return runCommand(args[1:], stdout, stderr, true)
	case "fmt":
		return fmtCommand(args[1:], stdout, stderr)
	case "repl":
		return replCommand(args[1:], stdin, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintf(stdout, "flowlang %s\n", Version)
		return exitOK
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	if strings.HasPrefix(args[0], "-") || strings.HasSuffix(args[0], ".flow") || fileExists(args[0]) {
		return runCommand(args, stdout, stderr, false)
	}
	fmt.Fprintf(stderr, "flowlang: unknown command %q\n%s", args[0], usage)
	return exitUsage
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// runCommand implements flowlang run and flowlang check.
func runCommand(args []string, stdout, stderr io.Writer, checkOnly bool) int {
	name := "run"
	if checkOnly {
		name = "check"
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	jsonOut := fs.Bool("json", false, "write one JSON object per statement (SPEC §5)")
	seed := fs.Uint64("seed", 0, "seed for random points and particles (default 1)")
	quiet := fs.Bool("quiet", false, "print run summaries without their tables")
	latex := fs.Bool("latex", false, "print shown expressions as LaTeX")
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	files := fs.Args()
	if len(files) == 0 {
		fmt.Fprintf(stderr, "flowlang %s: no file given\n%s", name, usage)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := exitOK
	for _, file := range files {
		text, err := lang.ReadFile(file)
		if err != nil {
			fmt.Fprintf(stderr, "flowlang: %v\n", err)
			return exitUsage
		}
		var out lang.Reporter
		if *jsonOut {
			out = &lang.JSONReporter{Out: stdout}
		} else {
			out = &lang.TextReporter{Out: stdout, Err: stderr, LaTeX: *latex}
		}
		opts := lang.Options{Out: out, Seed: *seed, Quiet: *quiet, CheckOnly: checkOnly}
		if !*jsonOut && !checkOnly && term.IsTerminal(int(os.Stderr.Fd())) {
			opts.Progress = newProgressBar(stderr)
		}
		in := lang.New(opts)
		in.SetContext(ctx)
		err = in.ExecFile(file, text)
		switch {
		case err != nil && ctx.Err() != nil:
			fmt.Fprintln(stderr, "flowlang: interrupted")
			return exitError
		case err != nil:
			code = exitError
		case in.FailedChecks() > 0 && code == exitOK:
			code = exitCheckFailed
		}
	}
	return code
}

// fmtCommand prints scripts in canonical layout, or rewrites them with -w.
func fmtCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fmt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	write := fs.Bool("w", false, "rewrite the files in place")
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() == 0 {
		fmt.Fprintf(stderr, "flowlang fmt: no file given\n%s", usage)
		return exitUsage
	}
	code := exitOK
	for _, file := range fs.Args() {
		text, err := lang.ReadFile(file)
		if err != nil {
			fmt.Fprintf(stderr, "flowlang: %v\n", err)
			return exitUsage
		}
		f, errs := lang.Parse(file, text)
		if len(errs) > 0 {
			fmt.Fprintln(stderr, errs.Error())
			code = exitError
			continue
		}
		out := lang.Format(f)
		if !*write {
			stdout.Write(out)
			continue
		}
		if bytes.Equal(out, text) {
			continue
		}
		if err := atomicfile.Write(file, out); err != nil {
			fmt.Fprintf(stderr, "flowlang: %v\n", err)
			code = exitError
		}
	}
	return code
}
