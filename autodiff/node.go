// Expression nodes and the hash-consing table that makes structural equality a pointer compare.
package autodiff

import (
	"encoding/binary"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"weak"
)

// Kind is the closed set of node kinds.
type Kind uint8

// The node kinds. The order is the rank used when ordering nodes of
// different kinds (numbers first).
const (
	KNumber   Kind = iota // an exact rational or a float: Num()
	KConstant             // a named constant (pi): Name()
	KSymbol               // a free scalar symbol x or x[i]: Name(), Index()
	KJet                  // a derivative ∂^α q of a density at a point: Name(), Point(), Alpha()
	KCall                 // a built-in function applied to Args()
	KPower                // Args()[0] ^ Args()[1] with a non-numeric exponent
	KProduct              // Π Args()[i] ^ Coefs()[i], numeric exponents, no coefficient
	KSum                  // Const() + Σ Coefs()[i]·Args()[i]
	KIntegral             // ∫ Args()[0] d(Name()) over the whole space
)

// Node is one vertex of the expression DAG. Nodes are immutable and
// hash-consed: two structurally equal expressions are the same *Node, so
// comparing nodes is comparing pointers and common subexpressions are shared.
// Build nodes only with the constructors of this package.
type Node struct {
	id    uint64
	kind  Kind
	num   Num     // KNumber: the value; KSum: the constant term
	name  string  // KSymbol, KJet (density), KConstant, KCall (function), KIntegral (variable)
	index int     // KSymbol: element index (0 for a scalar); KIntegral: dimension of the variable
	point string  // KJet: base name of the point the density is taken at
	home  bool    // KJet, KIntegral: the point or variable is the density's own space variable
	alpha []uint8 // KJet: multi-index of the derivative
	args  []*Node // children, in canonical order for sums and products
	coefs []Num   // KSum coefficients, KProduct exponents
	free  []int32 // sorted dense indices of the symbols and jets this node depends on
	deg   float64 // ordering degree: 0 for constants, 1 for symbols, Σ e·deg for products
	symIx int32   // KSymbol, KJet: dense index into the symbol table
	size  int64   // number of nodes of the expression as a tree (saturating)
	integ bool    // n is or contains an integral
}

// Kind returns n's kind.
func (n *Node) Kind() Kind { return n.kind }

// ID returns n's identity, stable for n's lifetime and unique among live nodes.
func (n *Node) ID() uint64 { return n.id }

// Value returns the number of a KNumber node.
func (n *Node) Value() (Num, bool) { return n.num, n.kind == KNumber }

// Const returns the constant term of a KSum node.
func (n *Node) Const() Num { return n.num }

// Name returns the name of a symbol, jet (its density), constant, call (its
// function) or integral (its variable).
func (n *Node) Name() string { return n.name }

// Index returns a symbol's element index (1-based, 0 for scalars) or an
// integral variable's dimension.
func (n *Node) Index() int { return n.index }

// Point returns the base name of the point a jet is taken at.
func (n *Node) Point() string { return n.point }

// Home reports whether a jet is taken at, or an integral runs over, the
// density's own space variable (so it prints as q, integral(E)) rather than
// a nonlocal integration variable (q(y), integral(E, y)).
func (n *Node) Home() bool { return n.home }

// Alpha returns a jet's multi-index (do not modify).
func (n *Node) Alpha() []uint8 { return n.alpha }

// Args returns n's children (do not modify).
func (n *Node) Args() []*Node { return n.args }

// Coefs returns a sum's coefficients or a product's exponents (do not modify).
func (n *Node) Coefs() []Num { return n.coefs }

// TreeSize returns the number of nodes n has when written out as a tree,
// saturating at math.MaxInt64; printing costs about this much.
func (n *Node) TreeSize() int64 { return n.size }

// IsNumber reports whether n is a number.
func (n *Node) IsNumber() bool { return n.kind == KNumber }

// IsZero reports whether n is the number 0.
func (n *Node) IsZero() bool { return n.kind == KNumber && n.num.IsZero() }

// IsOne reports whether n is the number 1.
func (n *Node) IsOne() bool { return n.kind == KNumber && n.num.IsOne() }

// IsConstant reports whether n depends on no symbol or jet (it may contain pi
// or calls of constants such as log(2)).
func (n *Node) IsConstant() bool { return len(n.free) == 0 && !n.integ }

// HasIntegral reports whether n is or contains an integral node.
func (n *Node) HasIntegral() bool { return n.integ }

// DependsOn reports whether n depends on the symbol or jet s.
func (n *Node) DependsOn(s *Node) bool {
	if s.kind != KSymbol && s.kind != KJet {
		return false
	}
	_, found := slices.BinarySearch(n.free, s.symIx)
	return found
}

// FreeSymbols returns the symbols and jets n depends on, in index order.
func (n *Node) FreeSymbols() []*Node {
	out := make([]*Node, len(n.free))
	for i, ix := range n.free {
		out[i] = symbolByIndex(ix)
	}
	return out
}

// ---- the hash-consing table ----

// The table maps a structural key to a weak pointer, so that nodes nobody
// holds are collected (a long REPL session or a fuzzing run does not grow
// without bound). Symbols and jets are few and kept for ever, so that their
// dense indices stay valid.
var table = struct {
	sync.Mutex
	nodes   map[string]weak.Pointer[Node]
	symbols []*Node
}{nodes: make(map[string]weak.Pointer[Node])}

var nextID atomic.Uint64

func symbolByIndex(ix int32) *Node {
	table.Lock()
	defer table.Unlock()
	return table.symbols[ix]
}

// keyBuf builds structural keys.
type keyBuf []byte

func (k keyBuf) u64(v uint64) keyBuf { return binary.LittleEndian.AppendUint64(k, v) }
func (k keyBuf) str(s string) keyBuf { return append(k.u64(uint64(len(s))), s...) }
func (k keyBuf) num(n Num) keyBuf {
	if n.q == 0 {
		return append(k, 'f').u64(math.Float64bits(n.f))
	}
	if n.isBig() {
		return append(k, 'b').str(n.r.RatString())
	}
	return append(k, 'r').u64(uint64(n.p)).u64(uint64(n.q))
}

// intern returns the live node equal to n if there is one, else registers n.
func intern(n *Node) *Node {
	var buf [128]byte // most keys fit: no allocation until the key is stored
	k := append(keyBuf(buf[:0]), byte(n.kind))
	switch n.kind {
	case KNumber:
		k = k.num(n.num)
	case KConstant:
		k = k.str(n.name)
	case KSymbol:
		k = k.str(n.name).u64(uint64(n.index))
	case KJet:
		k = k.str(n.name).str(n.point).str(string(n.alpha))
		if n.home {
			k = append(k, 'h')
		}
	case KCall:
		k = k.str(n.name)
	case KIntegral:
		k = k.str(n.name).u64(uint64(n.index))
		if n.home {
			k = append(k, 'h')
		}
	case KSum:
		k = k.num(n.num)
	}
	for i, a := range n.args {
		k = k.u64(a.id)
		if n.coefs != nil {
			k = k.num(n.coefs[i])
		}
	}
	table.Lock()
	defer table.Unlock()
	if wp, ok := table.nodes[string(k)]; ok { // (a lookup by string(k) does not copy k)
		if old := wp.Value(); old != nil {
			return old
		}
	}
	key := string(k)
	n.id = nextID.Add(1)
	n.finish()
	if n.kind == KSymbol || n.kind == KJet {
		n.symIx = int32(len(table.symbols))
		n.free = []int32{n.symIx}
		table.symbols = append(table.symbols, n)
	}
	wp := weak.Make(n)
	table.nodes[key] = wp
	if n.kind != KSymbol && n.kind != KJet {
		runtime.AddCleanup(n, forget, key)
	}
	return n
}

// forget drops a collected node's entry, unless the key was reused by a newer node.
func forget(key string) {
	table.Lock()
	defer table.Unlock()
	if wp, ok := table.nodes[key]; ok && wp.Value() == nil {
		delete(table.nodes, key)
	}
}

// finish computes the derived fields of a new node: free symbols, degree, size.
func (n *Node) finish() {
	n.size = 1
	n.integ = n.kind == KIntegral
	for _, a := range n.args {
		n.size = satAdd(n.size, a.size)
		n.integ = n.integ || a.integ
	}
	switch n.kind {
	case KNumber, KConstant:
		n.deg = 0
	case KSymbol, KJet, KCall, KPower, KIntegral:
		n.deg = 1
		if n.kind == KCall || n.kind == KPower {
			n.deg = 1 + maxDeg(n.args)*1e-3 // a call sorts after plain symbols of the same degree
		}
	case KProduct:
		for i, a := range n.args {
			n.deg += n.coefs[i].Float64() * math.Max(a.deg, 1e-3)
		}
	case KSum:
		n.deg = maxDeg(n.args)
	}
	if n.kind == KSymbol || n.kind == KJet {
		return
	}
	var free []int32
	for _, a := range n.args {
		free = append(free, a.free...)
	}
	slices.Sort(free)
	free = slices.Compact(free)
	if n.kind == KIntegral {
		free = slices.DeleteFunc(free, func(ix int32) bool {
			s := table.symbols[ix] // the table lock is held by intern
			return s.kind == KSymbol && s.name == n.name || s.kind == KJet && s.point == n.name
		})
	}
	n.free = slices.Clip(free)
}

func maxDeg(args []*Node) float64 {
	d := 0.0
	for _, a := range args {
		d = math.Max(d, a.deg)
	}
	return d
}

func satAdd(a, b int64) int64 {
	if s := a + b; s >= a {
		return s
	}
	return math.MaxInt64
}
