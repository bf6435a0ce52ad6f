// Discrete convolutions on a grid, ΔV·Σⱼ K(xₖ − yⱼ)·qⱼ: direct sums on small 1-D grids, zero-padded FFTs (gonum/dsp/fourier) otherwise.
package solvers

import (
	"gonum.org/v1/gonum/dsp/fourier"
)

// convolver computes outₖ = ΔV·Σⱼ K(xₖ − yⱼ)·qⱼ over the cells of a grid for
// a kernel tabulated at the differences of cell centres: table holds
// K(m·h) for m = −(n−1)…n−1 per coordinate (row-major in 2-D). The linear
// convolution is the circular one of length P ≥ 2n − 1 per coordinate,
// with q padded by zeros, computed by real FFTs along rows and complex
// FFTs along columns; P has only the factors 2, 3 and 5, for which the
// FFT is fastest. The kernel's spectrum is computed once.
type convolver struct {
	g      *Grid
	table  []float64
	vol    float64
	direct bool

	p0, p1 int // padded sizes (p0 = 1 in 1-D)
	h1     int // p1/2 + 1, the complex coefficients of a real row
	rfft   *fourier.FFT
	cfft   *fourier.CmplxFFT
	kspec  []complex128 // the kernel's spectrum, p0 × h1, scaled by ΔV/(p0·p1)
	spec   []complex128 // work, p0 × h1
	row    []float64
	rowc   []complex128
	col    []complex128
}

func newConvolver(g *Grid, table []float64) *convolver {
	cv := &convolver{g: g, table: table, vol: g.Volume()}
	cv.direct = g.Dim == 1 && g.N[0] <= directConvCells
	if cv.direct {
		return cv
	}
	n0, n1 := g.N[0], g.n1()
	cv.p1 = nextFastSize(2*n1 - 1)
	cv.p0 = 1
	if g.Dim == 2 {
		cv.p1 = nextFastSize(2*n1 - 1)
		cv.p0 = nextFastSize(2*n0 - 1)
		cv.cfft = fourier.NewCmplxFFT(cv.p0)
		cv.col = make([]complex128, cv.p0)
	} else {
		cv.p1 = nextFastSize(2*n0 - 1)
	}
	cv.h1 = cv.p1/2 + 1
	cv.rfft = fourier.NewFFT(cv.p1)
	cv.row = make([]float64, cv.p1)
	cv.rowc = make([]complex128, cv.h1)
	cv.spec = make([]complex128, cv.p0*cv.h1)
	cv.kspec = make([]complex128, cv.p0*cv.h1)

	// the kernel, wrapped: K(m) at index m mod P
	m0, m1 := 1, 2*n0-1
	if g.Dim == 2 {
		m0, m1 = 2*n0-1, 2*n1-1
	}
	wrapped := make([]float64, cv.p0*cv.p1)
	for a := range m0 {
		r := 0
		if g.Dim == 2 {
			r = (a - (n0 - 1) + cv.p0) % cv.p0
		}
		for c := range m1 {
			half := n1 - 1
			if g.Dim == 1 {
				half = n0 - 1
			}
			col := (c - half + cv.p1) % cv.p1
			wrapped[r*cv.p1+col] = table[a*m1+c]
		}
	}
	cv.forward(wrapped, cv.p0)
	scale := complex(cv.vol/float64(cv.p0*cv.p1), 0)
	for i, v := range cv.spec {
		cv.kspec[i] = v * scale
	}
	return cv
}

// arrays returns the work arrays' size in units of the grid's cells.
func (cv *convolver) arrays() int {
	if cv.direct {
		return 0
	}
	return 1 + 4*cv.p0*cv.h1/cv.g.Cells()
}

// nextFastSize returns the least m ≥ n whose only prime factors are 2, 3
// and 5.
func nextFastSize(n int) int {
	for m := max(n, 1); ; m++ {
		k := m
		for _, p := range []int{2, 3, 5} {
			for k%p == 0 {
				k /= p
			}
		}
		if k == 1 {
			return m
		}
	}
}

// forward puts the 2-D real FFT of the first rows rows of x (p0 × p1,
// row-major; the other rows are taken as zero) into cv.spec.
func (cv *convolver) forward(x []float64, rows int) {
	h1 := cv.h1
	for r := range rows {
		cv.rfft.Coefficients(cv.rowc, x[r*cv.p1:(r+1)*cv.p1])
		copy(cv.spec[r*h1:(r+1)*h1], cv.rowc)
	}
	if cv.p0 == 1 {
		return
	}
	for c := range h1 {
		for r := range cv.p0 {
			if r < rows {
				cv.col[r] = cv.spec[r*h1+c]
			} else {
				cv.col[r] = 0
			}
		}
		cv.cfft.Coefficients(cv.col, cv.col)
		for r := range cv.p0 {
			cv.spec[r*h1+c] = cv.col[r]
		}
	}
}

// apply computes out = ΔV·K ∗ q on the grid's cells.
func (cv *convolver) apply(q, out []float64) {
	if cv.direct {
		cv.applyDirect(q, out)
		return
	}
	g := cv.g
	n0, n1 := g.N[0], g.n1()
	h1 := cv.h1
	// forward transform of q padded with zeros, row by row
	rows := n0
	if g.Dim == 1 {
		rows = 1
	}
	for r := range rows {
		src := q[r*n1 : (r+1)*n1]
		if g.Dim == 1 {
			src = q
		}
		copy(cv.row, src)
		clear(cv.row[len(src):])
		cv.rfft.Coefficients(cv.rowc, cv.row)
		copy(cv.spec[r*h1:(r+1)*h1], cv.rowc)
	}
	if g.Dim == 1 {
		for i, k := range cv.kspec {
			cv.spec[i] *= k
		}
		cv.rfft.Sequence(cv.row, cv.spec)
		copy(out, cv.row[:n0])
		return
	}
	for c := range h1 {
		for r := range cv.p0 {
			if r < n0 {
				cv.col[r] = cv.spec[r*h1+c]
			} else {
				cv.col[r] = 0
			}
		}
		cv.cfft.Coefficients(cv.col, cv.col)
		for r := range cv.p0 {
			cv.col[r] *= cv.kspec[r*h1+c]
		}
		cv.cfft.Sequence(cv.col, cv.col)
		for r := range n0 {
			cv.spec[r*h1+c] = cv.col[r]
		}
	}
	for r := range n0 {
		copy(cv.rowc, cv.spec[r*h1:(r+1)*h1])
		cv.rfft.Sequence(cv.row, cv.rowc)
		copy(out[r*n1:(r+1)*n1], cv.row[:n1])
	}
}

// applyDirect sums ΔV·Σⱼ K(xₖ − yⱼ)·qⱼ directly, O(cells²).
func (cv *convolver) applyDirect(q, out []float64) {
	g := cv.g
	if g.Dim == 1 {
		n := g.N[0]
		for k := range n {
			t := cv.table[k : k+n] // K((k − j)h) at t[n−1−j]
			s := 0.0
			for j, v := range q[:n] {
				s += t[n-1-j] * v
			}
			out[k] = s * cv.vol
		}
		return
	}
	n0, n1 := g.N[0], g.N[1]
	m1 := 2*n1 - 1
	for a := range n0 {
		for b := range n1 {
			s := 0.0
			for i := range n0 {
				t := cv.table[(a-i+n0-1)*m1:]
				qi := q[i*n1 : (i+1)*n1]
				for j, v := range qi {
					s += t[b-j+n1-1] * v
				}
			}
			out[a*n1+b] = s * cv.vol
		}
	}
}
