// The participle lexer and grammar. Only this file knows participle's shapes.
package lang

import (
	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// lexDef tokenises flowlang (SPEC §1). Invalid catches any other character,
// so that lexing never fails and the splitter reports it with a caret.
var lexDef = lexer.MustSimple([]lexer.SimpleRule{
	{Name: "Comment", Pattern: `#[^\n]*`},
	{Name: "String", Pattern: `"(\\.|[^"\\\n])*"`},
	{Name: "Number", Pattern: `(\d+(\.\d+)?|\.\d+)([eE][+-]?\d+)?`},
	{Name: "Ident", Pattern: `[\p{L}_][\p{L}\p{N}_]*`},
	{Name: "Range", Pattern: `\.\.`},
	{Name: "Op", Pattern: `==|<=|>=|[-+*/^<>=(),\[\]{};]`},
	{Name: "Newline", Pattern: `\n`},
	{Name: "Space", Pattern: `[ \t\r]+`},
	{Name: "Invalid", Pattern: `.`},
})

var (
	symbols    = lexDef.Symbols()
	tokEOF     = lexer.EOF
	tokComment = symbols["Comment"]
	tokString  = symbols["String"]
	tokNewline = symbols["Newline"]
	tokSpace   = symbols["Space"]
	tokInvalid = symbols["Invalid"]
	tokOp      = symbols["Op"]
)

type gStatement struct {
	Let        *gLet        `parser:"  @@"`
	Def        *gDef        `parser:"| @@"`
	Objective  *gObjective  `parser:"| @@"`
	Density    *gDensity    `parser:"| @@"`
	Functional *gFunctional `parser:"| @@"`
	Show       *gShow       `parser:"| @@"`
	Check      *gCheck      `parser:"| @@"`
	Run        *gRun        `parser:"| @@"`
	Load       *gLoad       `parser:"| @@"`
}

type gLet struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Name   *gIdent `parser:"\"let\" @@ \"=\""`
	Value  *gExpr  `parser:"@@"`
}

type gParam struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Name   *gIdent `parser:"@@"`
	Size   *gExpr  `parser:"(\"[\" @@ \"]\")?"`
}

type gDef struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Name   *gIdent   `parser:"\"def\" @@"`
	Params []*gParam `parser:"\"(\" (@@ (\",\" @@)*)? \")\""`
	Body   *gExpr    `parser:"\"=\" @@"`
}

type gObjective struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Name   *gIdent   `parser:"\"objective\" @@"`
	Params []*gParam `parser:"\"(\" (@@ (\",\" @@)*)? \")\""`
	Body   *gExpr    `parser:"\"=\" @@"`
}

type gDensity struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Name   *gIdent `parser:"\"density\" @@"`
	Var    *gParam `parser:"\"(\" @@ \")\""`
}

type gFunctional struct {
	Pos     lexer.Position
	EndPos  lexer.Position
	Name    *gIdent   `parser:"\"functional\" @@"`
	Density *gIdent   `parser:"\"[\" @@"`
	Var     *gIdent   `parser:"(\"(\" @@ \")\")? \"]\""`
	HasArgs bool      `parser:"(@\"(\""`
	Params  []*gParam `parser:"(@@ (\",\" @@)*)? \")\")?"`
	Body    *gExpr    `parser:"\"=\" @@"`
}

type gShow struct {
	Pos    lexer.Position
	EndPos lexer.Position
	X      *gExpr `parser:"\"show\" @@"`
	At     *gExpr `parser:"( \"at\" @@"`
	Near   *gExpr `parser:"| \"near\" @@ )?"`
}

type gCheck struct {
	Pos    lexer.Position
	EndPos lexer.Position
	LHS    *gExpr       `parser:"\"check\" @@"`
	Op     *gTok        `parser:"@@"`
	RHS    *gExpr       `parser:"@@"`
	Opts   []*gCheckOpt `parser:"@@*"`
}

// gCheckOpt is an `at POINT` or `tol T` clause of a check, in either order.
type gCheckOpt struct {
	Pos lexer.Position
	At  *gExpr `parser:"  \"at\" @@"`
	Tol *gExpr `parser:"| \"tol\" @@"`
}

type gTok struct {
	Pos   lexer.Position
	Value string `parser:"@(\"==\" | \"<=\" | \">=\" | \"<\" | \">\" | \"=\")"`
}

type gRun struct {
	Pos     lexer.Position
	EndPos  lexer.Position
	Target  *gIdent    `parser:"\"run\" @@"`
	Clauses []*gClause `parser:"@@*"`
}

type gClause struct {
	Pos     lexer.Position
	EndPos  lexer.Position
	From    *gExpr    `parser:"  \"from\" @@"`
	Using   *gMethod  `parser:"| \"using\" @@"`
	For     *gExpr    `parser:"| \"for\" @@ \"steps\""`
	Until   []*gCond  `parser:"| \"until\" @@ (\"or\" @@)*"`
	Every   *gExpr    `parser:"| \"every\" @@"`
	Seed    *gExpr    `parser:"| \"seed\" @@"`
	Compare *gExpr    `parser:"| \"compare\" \"to\" @@"`
	Monitor *gMonitor `parser:"| \"monitor\" @@"`
	To      *gString  `parser:"| \"to\" @@"`
	Plot    *gString  `parser:"| \"plot\" @@"`
}

type gMethod struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Name   *gIdent      `parser:"@@"`
	Args   []*gNamedArg `parser:"(\"(\" (@@ (\",\" @@)*)? \")\")?"`
}

type gNamedArg struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Name   *gIdent `parser:"@@ \"=\""`
	Value  *gExpr  `parser:"@@"`
}

type gCond struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Name   *gIdent `parser:"@@"`
	Op     *gTok   `parser:"@@"`
	Value  *gExpr  `parser:"@@"`
}

type gMonitor struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Name   *gIdent `parser:"@@ \"=\""`
	X      *gExpr  `parser:"@@"`
}

type gString struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Value  string `parser:"@String"`
}

type gLoad struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Path   *gString `parser:"\"load\" @@"`
}

type gIdent struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Name   string `parser:"@Ident"`
}

// Expressions by precedence climbing, lowest first: + -, * /, unary -, ^
// (right-associative, folded after parsing), postfix [i] and calls.

type gExpr struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Left   *gTerm     `parser:"@@"`
	Rest   []*gOpTerm `parser:"@@*"`
}

type gOpTerm struct {
	Pos   lexer.Position
	Op    string `parser:"@(\"+\" | \"-\")"`
	Right *gTerm `parser:"@@"`
}

type gTerm struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Left   *gUnary     `parser:"@@"`
	Rest   []*gOpUnary `parser:"@@*"`
}

type gOpUnary struct {
	Pos   lexer.Position
	Op    string  `parser:"@(\"*\" | \"/\")"`
	Right *gUnary `parser:"@@"`
}

type gUnary struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Signs  []*gSign `parser:"@@*"`
	Power  *gPower  `parser:"@@"`
}

type gPower struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Base   *gPostfix  `parser:"@@"`
	Exps   []*gPowExp `parser:"@@*"`
}

type gPowExp struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Signs  []*gSign  `parser:"\"^\" @@*"`
	Base   *gPostfix `parser:"@@"`
}

type gSign struct {
	Pos   lexer.Position
	Value string `parser:"@(\"-\" | \"+\")"`
}

type gPostfix struct {
	Pos     lexer.Position
	EndPos  lexer.Position
	Primary *gPrimary `parser:"@@"`
	Index   []*gIndex `parser:"@@*"`
}

type gIndex struct {
	Pos    lexer.Position
	EndPos lexer.Position
	X      *gExpr `parser:"\"[\" @@ \"]\""`
}

type gPrimary struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Number *string  `parser:"  @Number"`
	Call   *gCall   `parser:"| @@"`
	Ident  *gIdent  `parser:"| @@"`
	Paren  []*gExpr `parser:"| \"(\" @@ (\",\" @@)* \")\""`
	Vector *gVector `parser:"| @@"`
}

type gVector struct {
	Pos   lexer.Position
	Elems []*gExpr `parser:"\"[\" (@@ (\",\" @@)*)? \"]\""`
}

type gCall struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Fun    *gIdent `parser:"@@ \"(\""`
	Args   []*gArg `parser:"(@@ (\",\" @@)*)? \")\""`
}

type gArg struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Range  *gRange `parser:"  @@"`
	Expr   *gExpr  `parser:"| @@"`
}

type gRange struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Var    *gIdent `parser:"@@ \"in\""`
	Lo     *gExpr  `parser:"@@ \"..\""`
	Hi     *gExpr  `parser:"@@"`
}

var stmtParser = participle.MustBuild[gStatement](
	participle.Lexer(lexDef),
	participle.Elide("Space", "Comment", "Newline"),
	participle.UseLookahead(3),
)
