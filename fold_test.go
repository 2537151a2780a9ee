package marketgraph_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/marketgraph/marketgraph"
)

func TestFoldCase(t *testing.T) {
	for _, tc := range []struct{ name, in, lower, upper string }{
		{"Empty", "", "", ""},
		{"ASCII", "Bitcoin BTC", "bitcoin btc", "BITCOIN BTC"},
		{"NoLetters", "50% _\\", "50% _\\", "50% _\\"},
		{"AccentsKept", "Café ÉCLAIR", "café Éclair", "CAFé ÉCLAIR"},
		{"KelvinSignIsNotK", "\u212Aas", "\u212Aas", "\u212AAS"},
		{"DotlessAndDottedI", "ıİ", "ıİ", "ıİ"},
		{"LongS", "ſ", "ſ", "ſ"},
		{"InvalidUTF8Untouched", "A\xffb\xc3", "a\xffb\xc3", "A\xffB\xc3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := marketgraph.FoldCase(tc.in); got != tc.lower {
				t.Errorf("FoldCase(%q) = %q, want %q", tc.in, got, tc.lower)
			}
			if got := marketgraph.FoldUpper(tc.in); got != tc.upper {
				t.Errorf("FoldUpper(%q) = %q, want %q", tc.in, got, tc.upper)
			}
		})
	}
}

// TestFoldUpper_AgreesWithToUpper: callers that key by strings.ToUpper keep
// working, because FoldUpper leaves such a key as it is, for every rune.
func TestFoldUpper_AgreesWithToUpper(t *testing.T) {
	var b strings.Builder
	for r := rune(0); r <= utf8.MaxRune; r++ {
		if utf8.ValidRune(r) {
			b.WriteRune(r)
		}
	}
	upper := strings.ToUpper(b.String())
	if got := marketgraph.FoldUpper(upper); got != upper {
		t.Error("FoldUpper changes text that strings.ToUpper upper-cased")
	}
}
