// Package autodiff is flowlang's symbolic core: a hash-consed, canonical
// expression DAG, symbolic differentiation (partial derivatives, reverse-mode
// gradients, Hessians, Jacobians), variational derivatives of functionals
// of a density in jet coordinates, printers (flowlang text that parses back
// to the same node, and LaTeX), forward-mode dual numbers for cross-checks,
// and a compiler from a set of expressions to one flat instruction tape run
// in scalar or batch mode.
//
// It sits between the language (package lang, which resolves scripts into
// nodes) and the solvers (which run compiled tapes).
//
// # Canonical forms
//
// Nodes are built only through the constructors (Add, Mul, PowNum, Call,
// Integral, ...), which apply cheap, safe rules over all arguments at once:
// numbers fold (exactly, as rationals, until a float enters); a sum is a
// constant plus a map term → coefficient; a product is a map base →
// numeric exponent; a sum that is a factor of a product is made primitive
// (content and sign moved out); even and odd built-ins absorb a leading
// minus sign; integrals are linear and take out the factors that do not
// depend on their variable. Because every node is interned, structural
// equality is pointer equality and common subexpressions are shared. There
// is no open-ended rewriting: Expand is the only further simplification,
// and it is bounded by MaxExpandTerms.
//
// Children of sums and products are kept in the canonical order of Compare
// (degree first, then kind, then names), so printing is deterministic.
//
// # Forward mode
//
// EvalDual and EvalHyperDual evaluate an expression together with a
// directional derivative (and a mixed second derivative) by dual and
// hyper-dual arithmetic. Their derivative rules are written out
// numerically, apart from the symbolic ones, so that each checks the
// other; they also give Hessian–vector products without a symbolic
// Hessian.
//
// # Compiled code
//
// Compile turns outputs into one Program: a slice of instructions over a
// float64 register file in topological order, at most one slot per DAG
// node, with constant subexpressions folded and dead temporaries reused.
// A Machine runs it without allocating, either at one point (Eval) or over
// a block of points held as structure of arrays (EvalBatch), where each
// instruction is a tight loop over BlockSize points.
//
// In scalar mode the cost of a tape is mostly the dispatch of its
// instructions, so the compiler makes fewer, larger ones: a sum computes
// the products of at most two factors that are its terms itself
// (k0 + k1·a·b + k2·c·d + k3·e·f), a·exp(c + k·u) is one instruction, a
// sum of powers of one base is a Horner polynomial, and a sum that is a
// multiple of an earlier one is computed from it. The machine tests for
// the common operations with conditional branches, which are predicted
// from history, rather than jumping through a table (see Machine.runFixed).
// A pattern the tape repeats with slots a fixed distance apart — what
// sum(…, i, 1, n) and its gradient compile to — runs in scalar mode as
// one loop per instruction of the pattern (runs.go), with the same
// numbers bit for bit.
// Measured against hand-written Go in the same run (go test -bench . in
// this package): f and ∇f of the 2-D Rosenbrock function about 5×, ∇f of
// the n = 1000 extended Rosenbrock function about 1.4×, batch mode within
// 1.2× (x − x³, x·exp(−x²/2)).
package autodiff
