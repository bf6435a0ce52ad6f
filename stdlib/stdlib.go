// Package stdlib holds flowlang's standard library, written in flowlang and
// embedded in the binary: the generic functionals potential, entropy,
// interaction, free_energy, kl, fdiv, fisher and porous, and the
// f-divergence generators f_kl, f_rkl, f_chi2, f_hellinger, f_js and f_tv.
package stdlib

import _ "embed"

//go:embed stdlib.flow
var source []byte

// Source returns the library's flowlang source.
func Source() []byte { return source }
