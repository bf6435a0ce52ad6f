// Reporting: what statements say, as human text or as JSON lines (SPEC §5).
package lang

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Record is one statement's report.
type Record interface{ kind() string }

// ShowRecord reports a show statement.
type ShowRecord struct {
	Kind  string         `json:"kind"`
	Line  int            `json:"line"`
	Text  string         `json:"text"`
	Latex string         `json:"latex"`
	Value any            `json:"value"`
	Info  map[string]any `json:"info,omitempty"` // extra facts (critical points, W2 method)
	Label string         `json:"-"`              // the statement's source, for human output
	Notes []string       `json:"-"`              // extra lines for human output
}

// CheckRecord reports a check statement.
type CheckRecord struct {
	Kind           string             `json:"kind"`
	Line           int                `json:"line"`
	OK             bool               `json:"ok"`
	How            string             `json:"how"`
	LHS            string             `json:"lhs"`
	RHS            string             `json:"rhs"`
	Op             string             `json:"op"`
	Counterexample map[string]float64 `json:"counterexample"`
	LHSValue       any                `json:"lhs_value,omitempty"`
	RHSValue       any                `json:"rhs_value,omitempty"`
	Points         int                `json:"points"`
	Skipped        int                `json:"skipped"`
	Message        string             `json:"message,omitempty"`
	Label          string             `json:"-"`
}

// RunRecord reports a run: its summary, and its rows when `every` asked for them.
type RunRecord struct {
	Kind        string         `json:"kind"`
	Line        int            `json:"line"`
	Target      string         `json:"target"`
	Method      string         `json:"method"`
	Params      map[string]any `json:"params"` // numbers, and the grid's domain
	Steps       int            `json:"steps"`
	T           float64        `json:"t"`
	Final       map[string]any `json:"final"`
	Monotone    bool           `json:"monotone"`
	WallS       float64        `json:"wall_s"`
	Diagnostics map[string]any `json:"diagnostics,omitempty"`
	Columns     []string       `json:"columns,omitempty"`
	Rows        [][]float64    `json:"rows,omitempty"`
	Stopped     string         `json:"stopped,omitempty"` // why the run ended
	Summary     []string       `json:"-"`                 // human summary lines
	Label       string         `json:"-"`
}

// ErrorRecord reports an error.
type ErrorRecord struct {
	Kind    string `json:"kind"`
	File    string `json:"file,omitempty"`
	Line    int    `json:"line"`
	Col     int    `json:"col"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
}

func (*ShowRecord) kind() string  { return "show" }
func (*CheckRecord) kind() string { return "check" }
func (*RunRecord) kind() string   { return "run" }
func (*ErrorRecord) kind() string { return "error" }

// Reporter receives what statements say.
type Reporter interface {
	// Record reports a finished statement.
	Record(r Record)
	// RunRows starts the row table of a run with these columns.
	RunRows(label string, columns []string)
	// Row reports one row of a run's table.
	Row(values []float64)
	// Error reports an error.
	Error(e *Error)
}

// TextReporter writes human-readable output: results to Out, errors to Err.
type TextReporter struct {
	Out, Err io.Writer
	// LaTeX prints shown expressions as LaTeX display math instead of text.
	LaTeX  bool
	mu     sync.Mutex
	widths []int
}

// Record prints a statement's report.
func (t *TextReporter) Record(r Record) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch r := r.(type) {
	case *ShowRecord:
		if t.LaTeX && r.Latex != "" {
			fmt.Fprintf(t.Out, "%% %s\n\\[ %s \\]\n", r.Label, r.Latex)
		} else {
			fmt.Fprintf(t.Out, "%s = %s\n", r.Label, r.Text)
		}
		for _, n := range r.Notes {
			fmt.Fprintf(t.Out, "  %s\n", n)
		}
	case *CheckRecord:
		switch {
		case r.OK && r.How == "symbolic":
			fmt.Fprintf(t.Out, "%s: ok (symbolic)\n", r.Label)
		case r.OK:
			extra := ""
			if r.Skipped > 0 {
				extra = fmt.Sprintf(", %d skipped", r.Skipped)
			}
			fmt.Fprintf(t.Out, "%s: ok (numeric, %d point%s%s)\n", r.Label, r.Points, plural(r.Points), extra)
		default:
			fmt.Fprintf(t.Out, "%s: FAILED (line %d)\n", r.Label, r.Line)
			if r.Message != "" {
				fmt.Fprintf(t.Out, "  %s\n", r.Message)
			}
			if len(r.Counterexample) > 0 {
				fmt.Fprintf(t.Out, "  counterexample: %s\n", formatPoint(r.Counterexample))
			}
			if r.LHSValue != nil {
				fmt.Fprintf(t.Out, "  lhs = %s\n  rhs = %s\n", FormatValue(r.LHSValue), FormatValue(r.RHSValue))
			}
		}
	case *RunRecord:
		for _, s := range r.Summary {
			fmt.Fprintln(t.Out, s)
		}
	}
}

// RunRows prints the run statement and its table header.
func (t *TextReporter) RunRows(label string, columns []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if label != "" {
		fmt.Fprintln(t.Out, label)
	}
	t.widths = make([]int, len(columns))
	var b strings.Builder
	for i, c := range columns {
		t.widths[i] = max(12, len(c))
		if i == 0 {
			t.widths[i] = max(8, len(c))
		}
		fmt.Fprintf(&b, "%*s ", t.widths[i], c)
	}
	fmt.Fprintln(t.Out, strings.TrimRight(b.String(), " "))
}

// Row prints one table row.
func (t *TextReporter) Row(values []float64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var b strings.Builder
	for i, v := range values {
		w := 12
		if i < len(t.widths) {
			w = t.widths[i]
		}
		if i == 0 {
			fmt.Fprintf(&b, "%*d ", w, int64(v))
		} else {
			fmt.Fprintf(&b, "%*s ", w, FormatNumber(v, 6))
		}
	}
	fmt.Fprintln(t.Out, strings.TrimRight(b.String(), " "))
}

// Error prints an error with its caret.
func (t *TextReporter) Error(e *Error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintln(t.Err, e.Error())
}

// JSONReporter writes one JSON object per line (SPEC §5). Rows of a run are
// gathered into its record.
type JSONReporter struct {
	Out     io.Writer
	mu      sync.Mutex
	columns []string
	rows    [][]float64
}

// Record writes a statement's JSON line.
func (j *JSONReporter) Record(r Record) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if run, ok := r.(*RunRecord); ok && j.columns != nil {
		run.Columns, run.Rows = j.columns, j.rows
		j.columns, j.rows = nil, nil
	}
	j.write(r)
}

func (j *JSONReporter) write(r any) {
	b, err := json.Marshal(sanitize(r))
	if err != nil {
		b, _ = json.Marshal(map[string]any{"kind": "error", "line": 0, "col": 0, "message": "internal error: " + err.Error()})
	}
	j.Out.Write(append(b, '\n'))
}

// RunRows starts gathering a run's rows.
func (j *JSONReporter) RunRows(_ string, columns []string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.columns, j.rows = columns, nil
}

// Row gathers a row.
func (j *JSONReporter) Row(values []float64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.rows = append(j.rows, append([]float64(nil), values...))
}

// Error writes an error record.
func (j *JSONReporter) Error(e *Error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	rec := &ErrorRecord{Kind: "error", Line: e.Pos.Line, Col: e.Pos.Col, Message: e.Msg, Hint: e.Hint}
	if e.Src != nil {
		rec.File = e.Src.Name
	}
	j.write(rec)
}

// sanitize replaces non-finite floats (which JSON cannot hold) by null.
// The record is marshalled as usual when it can be; otherwise it is
// rebuilt with reflection in the same shape — the same keys in the same
// order, omitempty honoured — with null for each NaN and ±Inf.
func sanitize(r any) any {
	b, err := json.Marshal(r)
	if err == nil {
		return json.RawMessage(b)
	}
	return finiteCopy(reflect.ValueOf(r))
}

// orderedObject is a JSON object whose keys keep the order of a struct's
// fields.
type orderedObject []keyValue

type keyValue struct {
	key   string
	value any
}

func (o orderedObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, kv := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(kv.key)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(kv.value)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// finiteCopy returns v as encoding/json would see it, with nil for the
// non-finite floats.
func finiteCopy(v reflect.Value) any {
	switch v.Kind() {
	case reflect.Invalid:
		return nil
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return finiteCopy(v.Elem())
	case reflect.Float32, reflect.Float64:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			return nil
		}
		return v.Interface()
	case reflect.Slice:
		if v.IsNil() {
			return nil
		}
		fallthrough
	case reflect.Array:
		if _, raw := v.Interface().(json.RawMessage); raw {
			return v.Interface()
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = finiteCopy(v.Index(i))
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return nil
		}
		out := make(map[string]any, v.Len())
		for it := v.MapRange(); it.Next(); {
			out[fmt.Sprint(it.Key().Interface())] = finiteCopy(it.Value())
		}
		return out
	case reflect.Struct:
		t := v.Type()
		var o orderedObject
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			fv := v.Field(i)
			if opts == "omitempty" && isEmptyJSON(fv) {
				continue
			}
			o = append(o, keyValue{name, finiteCopy(fv)})
		}
		return o
	}
	return v.Interface()
}

// isEmptyJSON is encoding/json's test for omitempty.
func isEmptyJSON(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}

// FormatNumber prints v with up to sig significant digits, without
// trailing zeros.
func FormatNumber(v float64, sig int) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	s := strconv.FormatFloat(v, 'g', sig, 64)
	if strings.ContainsAny(s, "e") {
		m, e, _ := strings.Cut(s, "e")
		if strings.Contains(m, ".") {
			m = strings.TrimRight(strings.TrimRight(m, "0"), ".")
		}
		return m + "e" + e
	}
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// FormatValue prints a number, vector or matrix value for humans.
func FormatValue(v any) string {
	switch v := v.(type) {
	case float64:
		return FormatNumber(v, 12)
	case []float64:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = FormatNumber(x, 12)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case [][]float64:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = FormatValue(x)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case nil:
		return "null"
	}
	return fmt.Sprint(v)
}

func formatPoint(p map[string]float64) string {
	names := make([]string, 0, len(p))
	for k := range p {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return naturalLess(names[i], names[j]) })
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + " = " + FormatNumber(p[n], 8)
	}
	return strings.Join(parts, ", ")
}

// naturalLess orders x[2] before x[10].
func naturalLess(a, b string) bool {
	ai, bi := strings.IndexByte(a, '['), strings.IndexByte(b, '[')
	if ai > 0 && bi > 0 && a[:ai] == b[:bi] {
		na, _ := strconv.Atoi(strings.Trim(a[ai:], "[]"))
		nb, _ := strconv.Atoi(strings.Trim(b[bi:], "[]"))
		return na < nb
	}
	return a < b
}
