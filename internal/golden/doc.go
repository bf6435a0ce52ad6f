// Package golden runs golden-file script tests in the style of go.starlark.net's
// chunked script tests.
//
// A test file (testdata/NAME.flow) is a script whose expected output sits
// beside it in NAME.out. The script may be cut into chunks at lines that hold
// only "---"; each chunk runs on its own, in a fresh session, so that a
// declaration or an error in one chunk cannot affect the next. A line that
// ends in
//
//	### "regexp"
//
// (a comment to the script) expects an error whose message matches the
// regexp (a Go string literal) to be reported at that line; every error must
// be expected and every expectation met. The function that executes a chunk
// should run every statement even after an error, so that one error does not
// hide the next.
//
// NAME.out holds what each chunk printed (standard output and standard error
// interleaved, or JSON lines when the file contains a line "# golden: json"),
// chunk after chunk, separated by "---" lines. Run the tests with -update to
// rewrite the .out files from the current output, then review the diff.
package golden
