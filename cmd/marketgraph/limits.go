package main

import (
	"flag"
	"fmt"

	"github.com/vektah/gqlparser/v2/parser"

	"github.com/marketgraph/marketgraph/server"
)

// limitsConfig is serve's limits on GraphQL documents and variables,
// checked before a document is validated (server.Config.MaxDocumentBytes
// and the fields after it). Each is positive, or negative to turn it off.
type limitsConfig struct {
	DocumentBytes  int // -max-document-bytes, MARKETGRAPH_MAX_DOCUMENT_BYTES
	Tokens         int // -max-tokens, MARKETGRAPH_MAX_TOKENS
	Nesting        int // -max-nesting, MARKETGRAPH_MAX_NESTING
	Fragments      int // -max-fragments, MARKETGRAPH_MAX_FRAGMENTS
	Aliases        int // -max-aliases, MARKETGRAPH_MAX_ALIASES
	RootFields     int // -max-root-fields, MARKETGRAPH_MAX_ROOT_FIELDS
	RepeatedFields int // -max-repeated-fields, MARKETGRAPH_MAX_REPEATED_FIELDS
	VariableValues int // -max-variable-values, MARKETGRAPH_MAX_VARIABLE_VALUES
}

// flags registers the settings on fs, defaulted from the environment.
func (c *limitsConfig) flags(fs *flag.FlagSet, e *envReader) {
	fs.IntVar(&c.DocumentBytes, "max-document-bytes", e.int("MARKETGRAPH_MAX_DOCUMENT_BYTES", server.DefaultMaxDocumentBytes), "longest GraphQL document in bytes, apart from the body limit (MARKETGRAPH_MAX_DOCUMENT_BYTES; negative turns it off)")
	fs.IntVar(&c.Tokens, "max-tokens", e.int("MARKETGRAPH_MAX_TOKENS", server.DefaultMaxTokens), "most tokens (names, values, punctuation) in a document (MARKETGRAPH_MAX_TOKENS; negative turns it off)")
	fs.IntVar(&c.Nesting, "max-nesting", e.int("MARKETGRAPH_MAX_NESTING", server.DefaultMaxNesting), "deepest nesting of selection sets, lists and input objects in a document's text, and of lists and objects in a variable, at most 1000 (MARKETGRAPH_MAX_NESTING; negative turns it off)")
	fs.IntVar(&c.Fragments, "max-fragments", e.int("MARKETGRAPH_MAX_FRAGMENTS", server.DefaultMaxFragments), "most fragments a document defines (MARKETGRAPH_MAX_FRAGMENTS; negative turns it off)")
	fs.IntVar(&c.Aliases, "max-aliases", e.int("MARKETGRAPH_MAX_ALIASES", server.DefaultMaxAliases), "most aliased fields in one operation, a fragment's counting once per spread (MARKETGRAPH_MAX_ALIASES; negative turns it off)")
	fs.IntVar(&c.RootFields, "max-root-fields", e.int("MARKETGRAPH_MAX_ROOT_FIELDS", server.DefaultMaxRootFields), "most root fields (response names) in one operation (MARKETGRAPH_MAX_ROOT_FIELDS; negative turns it off)")
	fs.IntVar(&c.RepeatedFields, "max-repeated-fields", e.int("MARKETGRAPH_MAX_REPEATED_FIELDS", server.DefaultMaxRepeatedFields), "most fields in a document that repeat a response name already selected in the same selection set (MARKETGRAPH_MAX_REPEATED_FIELDS; negative turns it off)")
	fs.IntVar(&c.VariableValues, "max-variable-values", e.int("MARKETGRAPH_MAX_VARIABLE_VALUES", server.DefaultMaxVariableValues), "most values (scalars, lists, objects) a request's variables hold together (MARKETGRAPH_MAX_VARIABLE_VALUES; negative turns it off)")
}

// validate checks the settings once parsed: 0 is refused rather than taken
// as the default, as for -max-depth.
func (c *limitsConfig) validate() error {
	for _, l := range []struct {
		flag, env string
		v         int
	}{
		{"-max-document-bytes", "MARKETGRAPH_MAX_DOCUMENT_BYTES", c.DocumentBytes},
		{"-max-tokens", "MARKETGRAPH_MAX_TOKENS", c.Tokens},
		{"-max-nesting", "MARKETGRAPH_MAX_NESTING", c.Nesting},
		{"-max-fragments", "MARKETGRAPH_MAX_FRAGMENTS", c.Fragments},
		{"-max-aliases", "MARKETGRAPH_MAX_ALIASES", c.Aliases},
		{"-max-root-fields", "MARKETGRAPH_MAX_ROOT_FIELDS", c.RootFields},
		{"-max-repeated-fields", "MARKETGRAPH_MAX_REPEATED_FIELDS", c.RepeatedFields},
		{"-max-variable-values", "MARKETGRAPH_MAX_VARIABLE_VALUES", c.VariableValues},
	} {
		if l.v == 0 {
			return fmt.Errorf("%s / %s: must be positive, or negative to turn it off", l.flag, l.env)
		}
	}
	if c.Nesting > parser.MaxNestingDepth {
		return fmt.Errorf("-max-nesting / MARKETGRAPH_MAX_NESTING: must be at most %d (the parser's own limit), got %d", parser.MaxNestingDepth, c.Nesting)
	}
	return nil
}

// apply sets the limits on the server's configuration.
func (c *limitsConfig) apply(sc *server.Config) {
	sc.MaxDocumentBytes = c.DocumentBytes
	sc.MaxTokens = c.Tokens
	sc.MaxNesting = c.Nesting
	sc.MaxFragments = c.Fragments
	sc.MaxAliases = c.Aliases
	sc.MaxRootFields = c.RootFields
	sc.MaxRepeatedFields = c.RepeatedFields
	sc.MaxVariableValues = c.VariableValues
}
