// The harness: chunking, error expectations, comparison with .out files.
package golden

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden .out files from the current output")

// Updating reports whether the tests were asked to rewrite golden files.
func Updating() bool { return *update }

// Chunk is one piece of a test file to execute.
type Chunk struct {
	// File is the test file's path (use it as the script's name, so that
	// positions and relative loads refer to the file).
	File string
	// Src is the whole file with every line outside this chunk blanked, so
	// that line numbers are those of the file.
	Src []byte
	// First and Last are the chunk's first and last lines (1-based).
	First, Last int
	// JSON reports that the file asked for JSON output ("# golden: json").
	JSON bool
}

// Error is an error a chunk reported.
type Error struct {
	Line int // 1-based line in the file
	Msg  string
}

// Result is what executing a chunk produced.
type Result struct {
	// Output is everything the chunk printed, errors included.
	Output string
	// Errors are the errors it reported, for the ### expectations.
	Errors []Error
}

// Exec executes one chunk.
type Exec func(c Chunk) Result

// Glob returns the files matching pattern, sorted, leaving out those whose
// base name starts with one of the excluded prefixes. It fails the test when
// nothing matches.
func Glob(t testing.TB, pattern string, excludePrefixes ...string) []string {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	files = slices.DeleteFunc(files, func(f string) bool {
		base := filepath.Base(f)
		for _, p := range excludePrefixes {
			if strings.HasPrefix(base, p) {
				return true
			}
		}
		return false
	})
	if len(files) == 0 {
		t.Fatalf("golden: no files match %s", pattern)
	}
	slices.Sort(files)
	return files
}

// Run executes every chunk of every file as a subtest named after the file,
// checks the error expectations and compares the output with NAME.out (or
// rewrites it under -update).
func Run(t *testing.T, files []string, exec Exec) {
	t.Helper()
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), filepath.Ext(file)), func(t *testing.T) {
			RunFile(t, file, exec)
		})
	}
}

// RunFile is Run for one file.
func RunFile(t *testing.T, file string, exec Exec) {
	t.Helper()
	text, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(text), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	json := false
	for _, l := range lines {
		if strings.TrimSpace(l) == "# golden: json" {
			json = true
		}
	}
	var outputs []string
	for _, c := range chunks(lines) {
		c.File, c.JSON = file, json
		want, err := expectations(lines, c.First, c.Last)
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		res := exec(c)
		checkErrors(t, file, want, res.Errors)
		outputs = append(outputs, res.Output)
	}
	got := strings.Join(outputs, "---\n")
	outFile := strings.TrimSuffix(file, filepath.Ext(file)) + ".out"
	if *update {
		if err := os.WriteFile(outFile, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	wantOut, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatalf("%v (run the test with -update to create it)", err)
	}
	if got != string(wantOut) {
		t.Errorf("%s: output differs from %s (run with -update to accept it):\n%s", file, outFile, Diff(string(wantOut), got))
	}
}

// chunks cuts a file's lines at "---" lines; each chunk's source keeps the
// file's line numbering, with the other lines blank.
func chunks(lines []string) []Chunk {
	var out []Chunk
	first := 1
	emit := func(last int) {
		var b strings.Builder
		for i := range lines {
			n := i + 1
			if n >= first && n <= last {
				b.WriteString(lines[i])
			} else {
				b.WriteString("\n")
			}
		}
		out = append(out, Chunk{Src: []byte(b.String()), First: first, Last: last})
	}
	for i, l := range lines {
		if strings.TrimRight(l, "\r\n") == "---" {
			emit(i)
			first = i + 2
		}
	}
	emit(len(lines))
	return out
}

// expectRE finds an error expectation at the end of a line.
var expectRE = regexp.MustCompile(`###\s*("(?:[^"\\]|\\.)*")\s*$`)

type expectation struct {
	line int
	re   *regexp.Regexp
	met  bool
}

func expectations(lines []string, first, last int) ([]*expectation, error) {
	var out []*expectation
	for n := first; n <= last && n <= len(lines); n++ {
		m := expectRE.FindStringSubmatch(strings.TrimRight(lines[n-1], "\r\n"))
		if m == nil {
			continue
		}
		pat, err := strconv.Unquote(m[1])
		if err != nil {
			return nil, fmt.Errorf("line %d: bad expectation %s: %v", n, m[1], err)
		}
		re, err := regexp.Compile(pat)
		if err != nil {
			return nil, fmt.Errorf("line %d: bad regexp %s: %v", n, m[1], err)
		}
		out = append(out, &expectation{line: n, re: re})
	}
	return out, nil
}

// checkErrors reports the mismatches between errors and expectations.
func checkErrors(t *testing.T, file string, want []*expectation, got []Error) {
	t.Helper()
	for _, p := range mismatches(file, want, got) {
		t.Error(p)
	}
}

// mismatches matches the reported errors against the expectations: each
// error must match an unmet expectation on its line, and every expectation
// must be met. It returns one message per mismatch.
func mismatches(file string, want []*expectation, got []Error) []string {
	var out []string
	for _, e := range got {
		found := false
		for _, w := range want {
			if w.line == e.Line && !w.met && w.re.MatchString(e.Msg) {
				w.met, found = true, true
				break
			}
		}
		if !found {
			out = append(out, fmt.Sprintf("%s:%d: unexpected error: %s", file, e.Line, e.Msg))
		}
	}
	for _, w := range want {
		if !w.met {
			out = append(out, fmt.Sprintf("%s:%d: expected an error matching %q, none reported there", file, w.line, w.re))
		}
	}
	return out
}

// Diff returns a short line diff of want and got: the first differing
// lines with a little context.
func Diff(want, got string) string {
	a, b := strings.Split(want, "\n"), strings.Split(got, "\n")
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "first difference at line %d\n", i+1)
	for k := max(0, i-2); k < i; k++ {
		fmt.Fprintf(&buf, "  %s\n", a[k])
	}
	for k := i; k < len(a) && k < i+6; k++ {
		fmt.Fprintf(&buf, "- %s\n", a[k])
	}
	for k := i; k < len(b) && k < i+6; k++ {
		fmt.Fprintf(&buf, "+ %s\n", b[k])
	}
	return buf.String()
}
