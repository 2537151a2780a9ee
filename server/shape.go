package server

import (
	"math"

	"github.com/vektah/gqlparser/v2/ast"
)

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
