// Package lang is flowlang's front end and interpreter: the lexer and
// grammar (participle, confined to grammar.go), flowlang's own syntax tree
// with positions, the resolver that turns expressions into autodiff nodes
// with shape checking and spelling hints, and the interpreter that runs
// statements (let, def, objective, density, functional, show, check, run,
// load) and reports what they say as text or JSON lines.
//
// Parsing splits a file into statements at newlines and semicolons outside
// brackets and parses each on its own, so that one bad statement does not
// hide the errors of the next. Bracket nesting is bounded (MaxNesting) and
// runs of unary signs are folded, so hostile input cannot exhaust the stack.
//
// Errors are *Error values that print as file:line:col, the source line and
// a caret. A statement that panics is reported as an internal error at its
// position; the interpreter itself keeps going (the REPL relies on this).
package lang
