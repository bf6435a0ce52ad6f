// Values: scalars, vectors and matrices of expressions, and their shape-checked arithmetic.
package lang

import (
	"fmt"
	"strings"

	ad "flowlang/autodiff"
)

// Value is a scalar, a vector or a matrix of expressions. Shape is nil for a
// scalar, [n] for a vector and [rows, cols] for a matrix; Elems holds the
// entries in row-major order.
type Value struct {
	Shape []int
	Elems []*ad.Node
}

// Scalar wraps one expression.
func Scalar(n *ad.Node) Value { return Value{Elems: []*ad.Node{n}} }

// Vector wraps expressions as a vector.
func Vector(ns []*ad.Node) Value { return Value{Shape: []int{len(ns)}, Elems: ns} }

// Matrix wraps rows of expressions as a matrix.
func Matrix(rows [][]*ad.Node) Value {
	if len(rows) == 0 {
		return Value{Shape: []int{0, 0}}
	}
	v := Value{Shape: []int{len(rows), len(rows[0])}}
	for _, r := range rows {
		v.Elems = append(v.Elems, r...)
	}
	return v
}

// IsScalar reports whether v is a scalar.
func (v Value) IsScalar() bool { return len(v.Shape) == 0 }

// IsVector reports whether v is a vector.
func (v Value) IsVector() bool { return len(v.Shape) == 1 }

// IsMatrix reports whether v is a matrix.
func (v Value) IsMatrix() bool { return len(v.Shape) == 2 }

// S returns a scalar's expression.
func (v Value) S() *ad.Node { return v.Elems[0] }

// Row returns row i (0-based) of a matrix.
func (v Value) Row(i int) []*ad.Node {
	c := v.Shape[1]
	return v.Elems[i*c : (i+1)*c]
}

// ShapeName describes a shape for messages: "a scalar", "a vector of length 3",
// "a 2×2 matrix".
func (v Value) ShapeName() string {
	switch len(v.Shape) {
	case 0:
		return "a scalar"
	case 1:
		return fmt.Sprintf("a vector of length %d", v.Shape[0])
	}
	return fmt.Sprintf("a %d×%d matrix", v.Shape[0], v.Shape[1])
}

func sameShape(a, b Value) bool {
	if len(a.Shape) != len(b.Shape) {
		return false
	}
	for i := range a.Shape {
		if a.Shape[i] != b.Shape[i] {
			return false
		}
	}
	return true
}

// Map applies f to every entry.
func (v Value) Map(f func(*ad.Node) *ad.Node) Value {
	out := Value{Shape: v.Shape, Elems: make([]*ad.Node, len(v.Elems))}
	for i, e := range v.Elems {
		out.Elems[i] = f(e)
	}
	return out
}

// String prints v canonically: x, [a, b], [[a, b], [c, d]].
func (v Value) String() string {
	return v.format(ad.String)
}

// LaTeX prints v as LaTeX (vectors and matrices as pmatrix).
func (v Value) LaTeX() string {
	switch len(v.Shape) {
	case 0:
		return ad.LaTeX(v.S())
	case 1:
		parts := make([]string, len(v.Elems))
		for i, e := range v.Elems {
			parts[i] = ad.LaTeX(e)
		}
		return `\begin{pmatrix}` + strings.Join(parts, ` \\ `) + `\end{pmatrix}`
	}
	rows := make([]string, v.Shape[0])
	for i := range rows {
		r := v.Row(i)
		parts := make([]string, len(r))
		for j, e := range r {
			parts[j] = ad.LaTeX(e)
		}
		rows[i] = strings.Join(parts, " & ")
	}
	return `\begin{pmatrix}` + strings.Join(rows, ` \\ `) + `\end{pmatrix}`
}

func (v Value) format(f func(*ad.Node) string) string {
	switch len(v.Shape) {
	case 0:
		return f(v.S())
	case 1:
		parts := make([]string, len(v.Elems))
		for i, e := range v.Elems {
			parts[i] = f(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	rows := make([]string, v.Shape[0])
	for i := range rows {
		r := v.Row(i)
		parts := make([]string, len(r))
		for j, e := range r {
			parts[j] = f(e)
		}
		rows[i] = "[" + strings.Join(parts, ", ") + "]"
	}
	return "[" + strings.Join(rows, ", ") + "]"
}

// TreeSize is the total printed size of v's entries.
func (v Value) TreeSize() int64 {
	var s int64
	for _, e := range v.Elems {
		s += e.TreeSize()
		if s < 0 {
			return 1 << 62
		}
	}
	return s
}

// arith applies a binary operator with flowlang's shape rules:
//   - + and - need equal shapes (no broadcasting: a vector plus a scalar is
//     an error, as on paper);
//   - a scalar times or divided into anything scales it;
//   - matrix*vector and matrix*matrix are matrix products; vector*vector is
//     an error (write dot(u, v));
//   - / needs a scalar divisor; ^ needs scalars.
func arith(op string, a, b Value) (Value, error) {
	switch op {
	case "+", "-":
		if !sameShape(a, b) {
			return Value{}, fmt.Errorf("cannot %s %s and %s", map[string]string{"+": "add", "-": "subtract"}[op], a.ShapeName(), b.ShapeName())
		}
		out := Value{Shape: a.Shape, Elems: make([]*ad.Node, len(a.Elems))}
		for i := range a.Elems {
			if op == "+" {
				out.Elems[i] = ad.Add(a.Elems[i], b.Elems[i])
			} else {
				out.Elems[i] = ad.Sub(a.Elems[i], b.Elems[i])
			}
		}
		return out, nil
	case "*":
		switch {
		case a.IsScalar():
			return b.Map(func(e *ad.Node) *ad.Node { return ad.Mul(a.S(), e) }), nil
		case b.IsScalar():
			return a.Map(func(e *ad.Node) *ad.Node { return ad.Mul(e, b.S()) }), nil
		case a.IsMatrix() && b.IsVector():
			if a.Shape[1] != b.Shape[0] {
				return Value{}, fmt.Errorf("cannot multiply %s by %s", a.ShapeName(), b.ShapeName())
			}
			out := make([]*ad.Node, a.Shape[0])
			for i := range out {
				out[i] = dotNodes(a.Row(i), b.Elems)
			}
			return Vector(out), nil
		case a.IsMatrix() && b.IsMatrix():
			if a.Shape[1] != b.Shape[0] {
				return Value{}, fmt.Errorf("cannot multiply %s by %s", a.ShapeName(), b.ShapeName())
			}
			rows := make([][]*ad.Node, a.Shape[0])
			for i := range rows {
				rows[i] = make([]*ad.Node, b.Shape[1])
				for j := range rows[i] {
					col := make([]*ad.Node, b.Shape[0])
					for k := range col {
						col[k] = b.Elems[k*b.Shape[1]+j]
					}
					rows[i][j] = dotNodes(a.Row(i), col)
				}
			}
			return Matrix(rows), nil
		}
		return Value{}, fmt.Errorf("cannot multiply %s by %s (for vectors write dot(u, v))", a.ShapeName(), b.ShapeName())
	case "/":
		if !b.IsScalar() {
			return Value{}, fmt.Errorf("cannot divide by %s", b.ShapeName())
		}
		return a.Map(func(e *ad.Node) *ad.Node { return ad.Div(e, b.S()) }), nil
	case "^":
		if !a.IsScalar() || !b.IsScalar() {
			return Value{}, fmt.Errorf("^ needs scalars, not %s and %s", a.ShapeName(), b.ShapeName())
		}
		return Scalar(ad.Pow(a.S(), b.S())), nil
	}
	return Value{}, fmt.Errorf("unknown operator %s", op)
}

func dotNodes(u, v []*ad.Node) *ad.Node {
	terms := make([]*ad.Node, len(u))
	for i := range u {
		terms[i] = ad.Mul(u[i], v[i])
	}
	return ad.Add(terms...)
}
