package marketgraph

// FoldCase is THE rule for every case-insensitive comparison in marketgraph
// (AssetFilter.Category and Search, FindAssetBySymbol, FindAssetsBySymbols):
// two texts are equal case-insensitively when their FoldCase forms are equal.
// It maps the ASCII letters A-Z to a-z and leaves every other byte as it is,
// so "É" and "é" differ, and the Kelvin sign (U+212A) is not a "k".
//
// Full Unicode folding would be friendlier, but no two implementations agree
// on it: Go's tables fold the Kelvin sign to "k", while PostgreSQL's lower()
// and ILIKE follow the database's locale and fold nothing beyond ASCII under
// the C locale. ASCII folding is the one rule every store can apply the same
// way whatever its locale (PostgreSQL applies it with the mg_fold function of
// migration 0002), and symbols, the text people look up, are ASCII anyway.
func FoldCase(s string) string {
	return mapASCII(s, 'A', 'Z', 'a'-'A')
}

// FoldUpper is FoldCase towards upper case: a-z become A-Z and nothing else
// changes. FoldUpper(a) == FoldUpper(b) exactly when FoldCase(a) ==
// FoldCase(b), which makes it the key of FindAssetsBySymbols: one key per
// set of symbols that match the same assets. For text that strings.ToUpper
// has already upper-cased it changes nothing.
func FoldUpper(s string) string {
	return mapASCII(s, 'a', 'z', 'A'-'a')
}

// mapASCII adds delta to every byte of s between lo and hi. It works on
// bytes, not runes, so invalid UTF-8 passes through unchanged, and it
// returns s itself when there is nothing to change, the common case for
// text already in the wanted case.
func mapASCII(s string, lo, hi byte, delta int) string {
	i := 0
	for i < len(s) && (s[i] < lo || s[i] > hi) {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if c := b[i]; c >= lo && c <= hi {
			b[i] = byte(int(c) + delta)
		}
	}
	return string(b)
}
