package server

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
)

// documentLimits bounds the shape of a GraphQL document before gqlgen
// validates it. Validation is where a short hostile document costs the
// most: gqlparser's OverlappingFieldsCanBeMerged compares every pair of
// fields that share a response name (ten thousand __typename take seconds),
// and its walker re-enters every fragment a fragment reaches (a chain of a
// thousand fragments, the better part of a second). So the checks here run
// first, as an operation parameter mutator, which gqlgen calls in
// CreateOperationContext before it parses: every transport gets them, and a
// refused document is never validated, executed or cached. In order:
//
//   - the document's size in bytes, before anything reads it;
//   - its tokens, counted by the parser, which stops at the limit;
//   - how many fragments it defines;
//   - for each operation, through its fragments: its aliases (a fragment's
//     count once per spread), its root fields (response names: fields that
//     merge count once) and its depth (fields only, introspection not
//     counted; see selectionDepth);
//   - fragments that spread themselves, directly or not, which validation
//     refuses too, but in time that grows with the square of the cycle;
//   - how deeply selection sets, lists, input objects and list types nest
//     in its text, as gqlparser counts for its own limit of 1000;
//   - how many times its fields repeat a response name already selected in
//     the same selection set, directly or through fragments: the fields
//     validation compares pairwise.
//
// Each pass is linear in the document (each fragment is measured once).
// Each refusal is GRAPHQL_VALIDATION_FAILED (spec "Validation": a server MAY
// add rules) naming the limit, so 400 with application/graphql-response+json;
// a document that does not parse is GRAPHQL_PARSE_FAILED, as from gqlgen.
// The limits apply to every operation of the document, not only the one
// requested: a document in the query cache has passed them all (it is cached
// only after validation), so it is not parsed again here. Limits of 0 or less
// are off.
type documentLimits struct {
	cache          graphql.Cache[*ast.QueryDocument]
	maxBytes       int
	maxTokens      int
	maxNesting     int
	maxFragments   int
	maxAliases     int
	maxRootFields  int
	maxDepth       int
	maxRepetitions int
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = (*documentLimits)(nil)

// ExtensionName names the extension for gqlgen.
func (*documentLimits) ExtensionName() string { return "DocumentLimits" }

// Validate accepts every schema.
func (*documentLimits) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationParameters refuses a document that is over a limit.
func (l *documentLimits) MutateOperationParameters(ctx context.Context, params *graphql.RawParams) *gqlerror.Error {
	if _, ok := l.cache.Get(ctx, params.Query); ok {
		return nil
	}
	doc, err := l.parse(params.Query)
	if err != nil {
		return err
	}
	return l.check(doc)
}

// parse checks the document's size, parses it within the token limit and
// turns the parser's limit errors into this server's. A document that does
// not parse for another reason gets gqlgen's own error and code.
func (l *documentLimits) parse(query string) (*ast.QueryDocument, *gqlerror.Error) {
	if l.maxBytes > 0 && len(query) > l.maxBytes {
		return nil, shapeError(nil, "the document is %d bytes long; the limit is %d bytes", len(query), l.maxBytes)
	}
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: query}, max(l.maxTokens, 0))
	if err == nil {
		return doc, nil
	}
	gqlErr, ok := err.(*gqlerror.Error)
	if !ok {
		gqlErr = gqlerror.Wrap(err)
	}
	switch {
	case l.maxTokens > 0 && strings.HasPrefix(gqlErr.Message, "exceeded token limit"):
		return nil, shapeError(nil, "the document has more than %d tokens (names, values and punctuation); the limit is %d", l.maxTokens, l.maxTokens)
	case l.maxNesting > 0 && strings.HasPrefix(gqlErr.Message, "exceeded maximum nesting depth"):
		e := shapeError(nil, "the document nests selection sets, lists and input objects more than %d levels deep; the limit is %d", parser.MaxNestingDepth, l.maxNesting)
		e.Locations = gqlErr.Locations
		return nil, e
	}
	errcode.Set(gqlErr, errcode.ParseFailed)
	return nil, gqlErr
}

// parsed returns the document parsed within the size and token limits, or
// nil when it is over them or does not parse; with l nil, without limits.
func (l *documentLimits) parsed(query string) *ast.QueryDocument {
	if l == nil {
		doc, err := parser.ParseQuery(&ast.Source{Input: query})
		if err != nil {
			return nil
		}
		return doc
	}
	doc, err := l.parse(query)
	if err != nil {
		return nil
	}
	return doc
}

// check applies the limits on a parsed document's shape, cheapest first.
func (l *documentLimits) check(doc *ast.QueryDocument) *gqlerror.Error {
	if l.maxFragments > 0 && len(doc.Fragments) > l.maxFragments {
		return shapeError(nil, "the document defines %d fragments; the limit is %d", len(doc.Fragments), l.maxFragments)
	}
	s := newShapeWalker(doc)
	depths := map[string]int{} // fragment depths, shared by the operations
	for _, op := range doc.Operations {
		sh := s.selectionSet(op.SelectionSet)
		switch {
		case l.maxAliases > 0 && sh.aliases > l.maxAliases:
			return shapeError(op.Position, "the %s has %s aliases, fragments included; the limit is %d", operationLabel(op), count(sh.aliases), l.maxAliases)
		case l.maxRootFields > 0 && len(sh.names) > l.maxRootFields:
			return shapeError(op.Position, "the %s selects %d root fields, fragments included; the limit is %d", operationLabel(op), len(sh.names), l.maxRootFields)
		}
		if l.maxDepth > 0 {
			if d := selectionDepth(doc, op.SelectionSet, depths); d > l.maxDepth {
				return shapeError(op.Position, "the %s is %d levels deep; the limit is %d", operationLabel(op), d, l.maxDepth)
			}
		}
	}
	// Measure the fragments no operation spreads, and those defined twice:
	// validation walks them all the same.
	s.measureAll()
	if s.cycle != nil {
		return shapeError(s.cycle.Position, "fragment %q spreads itself, directly or through other fragments", s.cycle.Name)
	}
	if l.maxNesting > 0 {
		if n, pos := documentNesting(doc); n > l.maxNesting {
			return shapeError(pos, "the document nests selection sets, lists and input objects %d levels deep; the limit is %d", n, l.maxNesting)
		}
	}
	if l.maxRepetitions > 0 {
		if n, name, pos := s.repetitions(l.maxRepetitions); n > l.maxRepetitions {
			return shapeError(pos, "the document selects %s fields again under a response name already selected in the same selection set (%q, for one); the limit is %d", count(n), name, l.maxRepetitions)
		}
	}
	return nil
}

// shapeError is a refusal for the document's shape, at pos when known.
func shapeError(pos *ast.Position, format string, args ...any) *gqlerror.Error {
	var err *gqlerror.Error
	if pos != nil {
		err = gqlerror.ErrorPosf(pos, format, args...)
	} else {
		err = gqlerror.Errorf(format, args...)
	}
	errcode.Set(err, errcode.ValidationFailed)
	return err
}

// operationLabel names an operation in messages; the anonymous one is
// "operation", like the existing depth message.
func operationLabel(op *ast.OperationDefinition) string {
	if op.Name == "" {
		return "operation"
	}
	return fmt.Sprintf("operation %q", op.Name)
}

// count formats a count that may have saturated.
func count(n int) string {
	if n == math.MaxInt {
		return fmt.Sprintf("more than %d", math.MaxInt-1)
	}
	return fmt.Sprint(n)
}

// documentNesting is how deeply selection sets, list and object values and
// list types nest in the document's text, counted as gqlparser counts them
// for its own limit (parser.MaxNestingDepth): each construct is one level,
// whatever kind encloses it, and fragment spreads are not followed. It
// returns the deepest level and where it is.
func documentNesting(doc *ast.QueryDocument) (int, *ast.Position) {
	n := nesting{}
	for _, op := range doc.Operations {
		for _, v := range op.VariableDefinitions {
			n.typ(v.Type, 0, v.Position)
			n.value(v.DefaultValue, 0)
			n.directives(v.Directives, 0)
		}
		n.directives(op.Directives, 0)
		n.selectionSet(op.SelectionSet, 0, op.Position)
	}
	for _, f := range doc.Fragments {
		n.directives(f.Directives, 0)
		n.selectionSet(f.SelectionSet, 0, f.Position)
	}
	return n.deepest, n.at
}

type nesting struct {
	deepest int
	at      *ast.Position
}

func (n *nesting) reach(level int, pos *ast.Position) {
	if level > n.deepest {
		n.deepest, n.at = level, pos
	}
}

func (n *nesting) selectionSet(set ast.SelectionSet, outer int, pos *ast.Position) {
	if set == nil {
		return
	}
	level := outer + 1
	n.reach(level, pos)
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			for _, a := range s.Arguments {
				n.value(a.Value, level)
			}
			n.directives(s.Directives, level)
			n.selectionSet(s.SelectionSet, level, s.Position)
		case *ast.InlineFragment:
			n.directives(s.Directives, level)
			n.selectionSet(s.SelectionSet, level, s.Position)
		case *ast.FragmentSpread:
			n.directives(s.Directives, level)
		}
	}
}

func (n *nesting) directives(list ast.DirectiveList, outer int) {
	for _, d := range list {
		for _, a := range d.Arguments {
			n.value(a.Value, outer)
		}
	}
}

func (n *nesting) value(v *ast.Value, outer int) {
	if v == nil || (v.Kind != ast.ListValue && v.Kind != ast.ObjectValue) {
		return
	}
	n.reach(outer+1, v.Position)
	for _, c := range v.Children {
		n.value(c.Value, outer+1)
	}
}

func (n *nesting) typ(t *ast.Type, outer int, pos *ast.Position) {
	for ; t != nil && t.Elem != nil; t = t.Elem {
		outer++
		n.reach(outer, pos)
	}
}

// shape is what a selection set selects at its own level, fragments and
// inline fragments included: its fields by response name, and the aliases
// in it and below it. Counts saturate at math.MaxInt, so that fragments
// spreading each other twice over (2^n fields in a few bytes each) are
// counted in linear time without overflowing.
type shape struct {
	aliases int // aliased fields at this level and below
	names   map[string]nameCount
}

// nameCount is how many fields of a selection set share a response name,
// and where the first is.
type nameCount struct {
	n   int
	pos *ast.Position
}

// add counts n more fields named name.
func (s *shape) add(name string, n int, pos *ast.Position) {
	c, ok := s.names[name]
	if !ok {
		c.pos = pos
	}
	c.n = saturatingAdd(c.n, n)
	s.names[name] = c
}

// shapeWalker measures the selection sets of one document, each
// fragment's once.
type shapeWalker struct {
	doc         *ast.QueryDocument
	definitions map[string]*ast.FragmentDefinition // the first of each name, as validation and execution use
	fragments   map[string]*shape                  // nil while being measured
	sets        []*shape                           // every selection set measured so far
	cycle       *ast.FragmentSpread                // the first spread of a fragment inside itself
}

func newShapeWalker(doc *ast.QueryDocument) *shapeWalker {
	w := &shapeWalker{
		doc:         doc,
		definitions: make(map[string]*ast.FragmentDefinition, len(doc.Fragments)),
		fragments:   make(map[string]*shape, len(doc.Fragments)),
	}
	for _, f := range doc.Fragments {
		if _, ok := w.definitions[f.Name]; !ok {
			w.definitions[f.Name] = f
		}
	}
	return w
}

// selectionSet measures set, and every selection set below it.
func (w *shapeWalker) selectionSet(set ast.SelectionSet) *shape {
	s := &shape{names: make(map[string]nameCount, len(set))}
	w.sets = append(w.sets, s)
	w.collect(s, set)
	return s
}

// collect adds the selections of set (the set's own, or an inline
// fragment's) to s.
func (w *shapeWalker) collect(s *shape, set ast.SelectionSet) {
	for _, sel := range set {
		switch f := sel.(type) {
		case *ast.Field:
			// The parser sets Alias to Name when there is no alias.
			s.add(f.Alias, 1, f.Position)
			if f.Alias != f.Name {
				s.aliases = saturatingAdd(s.aliases, 1)
			}
			if f.SelectionSet != nil {
				s.aliases = saturatingAdd(s.aliases, w.selectionSet(f.SelectionSet).aliases)
			}
		case *ast.InlineFragment:
			w.collect(s, f.SelectionSet)
		case *ast.FragmentSpread:
			frag := w.fragment(f.Name)
			if frag == nil {
				if s, ok := w.fragments[f.Name]; ok && s == nil && w.cycle == nil {
					w.cycle = f // being measured: spread within itself
				}
				continue
			}
			for name, c := range frag.names {
				s.add(name, c.n, f.Position)
			}
			s.aliases = saturatingAdd(s.aliases, frag.aliases)
		}
	}
}

// fragment returns the shape of the fragment name, measured once; nil for a
// fragment that is not defined or is being measured (a cycle).
func (w *shapeWalker) fragment(name string) *shape {
	if s, ok := w.fragments[name]; ok {
		return s
	}
	def := w.definitions[name]
	if def == nil {
		return nil
	}
	w.fragments[name] = nil
	s := w.selectionSet(def.SelectionSet)
	w.fragments[name] = s
	return s
}

// measureAll measures every fragment definition not measured yet: those no
// operation spreads, and the second of two with one name.
func (w *shapeWalker) measureAll() {
	for _, f := range w.doc.Fragments {
		if w.definitions[f.Name] == f {
			w.fragment(f.Name)
		} else {
			w.selectionSet(f.SelectionSet)
		}
	}
}

// repetitions counts the fields, over all the selection sets measured, that
// repeat a response name already selected in their set: the fields
// validation compares pairwise. It returns the count (it stops once the
// count passes limit), the most repeated name and where it is first
// selected.
func (w *shapeWalker) repetitions(limit int) (int, string, *ast.Position) {
	total, worst, worstName := 0, 0, ""
	var at *ast.Position
	for _, s := range w.sets {
		for name, c := range s.names {
			if c.n <= 1 {
				continue
			}
			if c.n == math.MaxInt {
				total = math.MaxInt // saturated: uncountably many
			} else {
				total = saturatingAdd(total, c.n-1)
			}
			if c.n > worst {
				worst, worstName, at = c.n, name, c.pos
			}
		}
		if total > limit {
			break
		}
	}
	return total, worstName, at
}
