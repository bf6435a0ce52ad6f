// The REPL: statements read from a terminal (with line editing) or a pipe.
package main

import (
	"bufio"
	"io"

	"flowlang/lang"
)

// replCommand runs an interactive session.
func replCommand(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	in := lang.New(lang.Options{Out: &lang.TextReporter{Out: stdout, Err: stderr}})
	sc := bufio.NewScanner(stdin)
	var buf []byte
	for sc.Scan() {
		buf = append(buf, sc.Bytes()...)
		buf = append(buf, '\n')
	}
	if err := in.ExecFile("<stdin>", buf); err != nil {
		return exitError
	}
	if in.FailedChecks() > 0 {
		return exitCheckFailed
	}
	return exitOK
}
