// Tests of the golden-file harness on a toy language.
package golden

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// toyExec runs the toy language of testdata/sample.txt: "say W" prints W,
// a line starting with "bad" is an error that names its line.
func toyExec(c Chunk) Result {
	var res Result
	var out strings.Builder
	for i, l := range strings.Split(string(c.Src), "\n") {
		l = strings.TrimSpace(strings.SplitN(l, "#", 2)[0])
		switch {
		case strings.HasPrefix(l, "say "):
			out.WriteString(strings.Fields(l)[1] + "\n")
		case strings.HasPrefix(l, "bad"):
			msg := fmt.Sprintf("%s at line %d", l, i+1)
			out.WriteString("error: " + msg + "\n")
			res.Errors = append(res.Errors, Error{Line: i + 1, Msg: msg})
		}
	}
	res.Output = out.String()
	return res
}

func TestSample(t *testing.T) {
	Run(t, Glob(t, "testdata/*.txt"), toyExec)
}

func TestChunksKeepLineNumbers(t *testing.T) {
	lines := []string{"a\n", "---\n", "b\n", "c\n", "---\n", "d"}
	cs := chunks(lines)
	if len(cs) != 3 {
		t.Fatalf("got %d chunks, want 3", len(cs))
	}
	want := []struct {
		src         string
		first, last int
	}{
		{"a\n\n\n\n\n\n", 1, 1},
		{"\n\nb\nc\n\n\n", 3, 4},
		{"\n\n\n\n\nd", 6, 6},
	}
	for i, w := range want {
		if string(cs[i].Src) != w.src || cs[i].First != w.first || cs[i].Last != w.last {
			t.Errorf("chunk %d = %q lines %d..%d, want %q lines %d..%d", i, cs[i].Src, cs[i].First, cs[i].Last, w.src, w.first, w.last)
		}
	}
}

func TestMismatches(t *testing.T) {
	exp := func(line int, re string) *expectation {
		return &expectation{line: line, re: regexp.MustCompile(re)}
	}
	// an expected error, an unexpected one, an error on the wrong line and
	// an unmet expectation are each reported once
	want := []*expectation{exp(1, "undefined"), exp(3, "shape"), exp(5, "never")}
	got := []Error{{1, "undefined: x"}, {2, "surprise"}, {4, "shape mismatch"}}
	ms := mismatches("f", want, got)
	wantMs := []string{
		"f:2: unexpected error: surprise",
		"f:4: unexpected error: shape mismatch",
		`f:3: expected an error matching "shape", none reported there`,
		`f:5: expected an error matching "never", none reported there`,
	}
	if strings.Join(ms, "\n") != strings.Join(wantMs, "\n") {
		t.Errorf("mismatches:\n%s\nwant:\n%s", strings.Join(ms, "\n"), strings.Join(wantMs, "\n"))
	}
	// two errors on one line need two expectations
	want = []*expectation{exp(1, "a")}
	if ms := mismatches("f", want, []Error{{1, "a"}, {1, "a"}}); len(ms) != 1 {
		t.Errorf("a second error on a line with one expectation: %v", ms)
	}
}

func TestExpectations(t *testing.T) {
	lines := []string{
		"show x ### \"undefined: x\"\n",
		"show y  ###  \"a \\\"quoted\\\" word\"  \n",
		"show z # ### not an expectation: no quotes\n",
	}
	es, err := expectations(lines, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[0].line != 1 || es[0].re.String() != "undefined: x" || es[1].re.String() != `a "quoted" word` {
		t.Errorf("expectations = %+v", es)
	}
	if _, err := expectations([]string{`x ### "("` + "\n"}, 1, 1); err == nil {
		t.Error("a bad regexp was accepted")
	}
}

func TestDiff(t *testing.T) {
	d := Diff("a\nb\nc\n", "a\nB\nc\n")
	if !strings.Contains(d, "line 2") || !strings.Contains(d, "- b") || !strings.Contains(d, "+ B") {
		t.Errorf("Diff = %q", d)
	}
}
