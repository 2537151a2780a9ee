package marketgraph

import "strings"

// SortName is the key assets are ordered by for the NAME ordering: the name
// lower-cased. Both stores compare it byte-wise (COLLATE "C" in PostgreSQL)
// so they agree on every name.
func SortName(name string) string { return strings.ToLower(name) }
