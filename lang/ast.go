// The syntax tree: flowlang's own, with positions; participle's shapes stay in grammar.go.
package lang

// Node is any syntax tree node.
type Node interface {
	Span() (start, end Pos)
}

// span is embedded in every node.
type span struct{ Start, Stop Pos }

// Span returns the node's start and (exclusive) end.
func (s span) Span() (Pos, Pos) { return s.Start, s.Stop }

// Expr is an expression.
type Expr interface {
	Node
	expr()
}

// NumberLit is a number literal; Text is as written.
type NumberLit struct {
	span
	Text string
}

// Ident is a name.
type Ident struct {
	span
	Name string
}

// UnaryExpr is -X (or +X). Op is the net sign of a run of signs; Signs is
// the run as written ("--"), which fmt keeps.
type UnaryExpr struct {
	span
	Op    string
	Signs string
	X     Expr
}

// BinaryExpr is X Op Y for + - * / ^.
type BinaryExpr struct {
	span
	Op   string
	X, Y Expr
	OpAt Pos
}

// CallExpr is Fun(Args...).
type CallExpr struct {
	span
	Fun  *Ident
	Args []Expr
}

// IndexExpr is X[Index] (1-based).
type IndexExpr struct {
	span
	X, Index Expr
}

// ParenExpr is (X).
type ParenExpr struct {
	span
	X Expr
}

// TupleExpr is a point literal (a, b, ...).
type TupleExpr struct {
	span
	Elems []Expr
}

// VectorExpr is a vector literal [a, b, ...]; a matrix is a vector of vectors.
type VectorExpr struct {
	span
	Elems []Expr
}

// RangeArg is the `i in lo..hi` argument of sum and prod.
type RangeArg struct {
	span
	Var    *Ident
	Lo, Hi Expr
}

func (*NumberLit) expr()  {}
func (*Ident) expr()      {}
func (*UnaryExpr) expr()  {}
func (*BinaryExpr) expr() {}
func (*CallExpr) expr()   {}
func (*IndexExpr) expr()  {}
func (*ParenExpr) expr()  {}
func (*TupleExpr) expr()  {}
func (*VectorExpr) expr() {}
func (*RangeArg) expr()   {}

// Stmt is a statement.
type Stmt interface {
	Node
	stmt()
}

// Param is a parameter: x, or x[n] for a vector of fixed length n.
type Param struct {
	span
	Name *Ident
	Size Expr // nil for a scalar
}

// LetStmt is `let Name = Value`.
type LetStmt struct {
	span
	Name  *Ident
	Value Expr
}

// DefStmt is `def Name(Params) = Body`.
type DefStmt struct {
	span
	Name   *Ident
	Params []*Param
	Body   Expr
}

// ObjectiveStmt is `objective Name(Params) = Body`.
type ObjectiveStmt struct {
	span
	Name   *Ident
	Params []*Param
	Body   Expr
}

// DensityStmt is `density Name(Var)`.
type DensityStmt struct {
	span
	Name *Ident
	Var  *Param
}

// FunctionalStmt is `functional Name[Density] = Body`, or for a generic
// functional (a template such as the standard library's potential(V))
// `functional Name[Density(Var)](Params) = Body`.
type FunctionalStmt struct {
	span
	Name    *Ident
	Density *Ident
	Var     *Ident // the template's space variable; nil for an ordinary functional
	Params  []*Param
	HasArgs bool // written with a parameter list, possibly empty: a template
	Body    Expr
}

// ShowStmt is `show X [at Point | near Point]`.
type ShowStmt struct {
	span
	X    Expr
	At   Expr
	Near Expr
}

// CheckStmt is `check LHS Op RHS [at Point] [tol Tol]`.
type CheckStmt struct {
	span
	LHS, RHS Expr
	Op       string // "==", "<=", ">="
	OpAt     Pos
	At       Expr
	Tol      Expr
}

// MethodSpec is `Name(k = v, ...)` in a run.
type MethodSpec struct {
	span
	Name *Ident
	Args []*NamedArg
}

// NamedArg is `Name = Value`.
type NamedArg struct {
	span
	Name  *Ident
	Value Expr
}

// Cond is one `Name Op Value` of an until clause.
type Cond struct {
	span
	Name  *Ident
	Op    string
	Value Expr
}

// Monitor is `monitor Name = Expr`.
type Monitor struct {
	span
	Name *Ident
	X    Expr
}

// StringLit is a quoted string (a path).
type StringLit struct {
	span
	Value string
}

// RunStmt is `run Target ...clauses`.
type RunStmt struct {
	span
	Target   *Ident
	From     Expr
	Method   *MethodSpec
	Steps    Expr
	Until    []*Cond
	Every    Expr
	Seed     Expr
	Compare  Expr
	Monitors []*Monitor
	To       *StringLit
	Plot     *StringLit
}

// LoadStmt is `load "file"`.
type LoadStmt struct {
	span
	Path *StringLit
}

func (*LetStmt) stmt()        {}
func (*DefStmt) stmt()        {}
func (*ObjectiveStmt) stmt()  {}
func (*DensityStmt) stmt()    {}
func (*FunctionalStmt) stmt() {}
func (*ShowStmt) stmt()       {}
func (*CheckStmt) stmt()      {}
func (*RunStmt) stmt()        {}
func (*LoadStmt) stmt()       {}

// File is a parsed script: its statements and, for formatting, the
// comments and blank lines around them.
type File struct {
	Src   *Source
	Stmts []Stmt
	// Items is the file in order, statements interleaved with comments
	// and blank lines, for the formatter.
	Items []Item
}

// Item is a statement, a comment or a blank line of a file, in order.
type Item struct {
	Stmt    Stmt   // nil for a comment or a blank line
	Comment string // "# ..." for a comment (own line or trailing a statement)
	Blank   bool
	Raw     string // the statement's source text, kept when it holds comments inside
	Line    int
}

// Reserved are the reserved words (SPEC §1).
var Reserved = map[string]bool{
	"let": true, "def": true, "objective": true, "density": true, "functional": true,
	"show": true, "check": true, "run": true, "plot": true, "load": true, "from": true,
	"using": true, "for": true, "steps": true, "until": true, "every": true, "seed": true,
	"to": true, "compare": true, "monitor": true, "at": true, "near": true, "and": true,
	"or": true, "in": true, "pi": true,
}
