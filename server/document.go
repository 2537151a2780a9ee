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
