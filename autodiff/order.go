// The canonical total order on nodes: sums and products store their children in it.
package autodiff

import (
	"cmp"
	"strings"
)

// Compare orders nodes canonically, independently of the order in which they
// were built: higher degree first (so x^2 + 2*x + 1), then by kind, then by
// structure (symbols by name and index). It returns 0 only for the same node.
func Compare(a, b *Node) int {
	if a == b {
		return 0
	}
	if c := cmp.Compare(b.deg, a.deg); c != 0 {
		return c // cmp.Compare orders a NaN degree (x^NaN) too, so the order stays total
	}
	if a.kind != b.kind {
		return cmp.Compare(a.kind, b.kind)
	}
	if c := compareSame(a, b); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id) // unreachable for hash-consed nodes; keeps the order total
}

func compareSame(a, b *Node) int {
	switch a.kind {
	case KNumber:
		return a.num.Cmp(b.num)
	case KConstant:
		return strings.Compare(a.name, b.name)
	case KSymbol:
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return cmp.Compare(a.index, b.index)
	case KJet:
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		if c := strings.Compare(a.point, b.point); c != 0 {
			return c
		}
		if c := compareBool(a.home, b.home); c != 0 {
			return c
		}
		if c := cmp.Compare(order(a.alpha), order(b.alpha)); c != 0 {
			return c
		}
		for i := range a.alpha {
			if c := cmp.Compare(b.alpha[i], a.alpha[i]); c != 0 {
				return c
			}
		}
		return cmp.Compare(len(a.alpha), len(b.alpha))
	case KCall, KIntegral:
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		if c := cmp.Compare(a.index, b.index); c != 0 {
			return c
		}
		if c := compareBool(a.home, b.home); c != 0 {
			return c
		}
	case KSum:
		if c := compareArgs(a, b); c != 0 {
			return c
		}
		return a.num.Cmp(b.num)
	}
	return compareArgs(a, b)
}

// compareBool orders the density's own point (true) first.
func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return -1
	}
	return 1
}

// compareArgs compares children (and coefficients) lexicographically.
func compareArgs(a, b *Node) int {
	for i := 0; i < len(a.args) && i < len(b.args); i++ {
		if c := Compare(a.args[i], b.args[i]); c != 0 {
			return c
		}
		if a.coefs != nil && b.coefs != nil {
			if c := b.coefs[i].Cmp(a.coefs[i]); c != 0 {
				return c
			}
		}
	}
	return cmp.Compare(len(a.args), len(b.args))
}

// order returns |α|, the total order of a multi-index.
func order(alpha []uint8) int {
	n := 0
	for _, a := range alpha {
		n += int(a)
	}
	return n
}
