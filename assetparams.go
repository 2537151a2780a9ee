package marketgraph

import (
	"math"
	"strings"
	"unicode/utf8"
)

// NormalizeListParams validates a page request for a list of assets and fills
// its defaults, so every store answers the same requests with the same
// errors. A zero Order is DefaultAssetOrder; an empty Field is RANK and an
// empty Direction is ASC. Errors are BAD_USER_INPUT naming the argument at
// fault: First outside 0..MaxAssetPageSize, an unknown field or direction, an
// After cursor of another ordering or with a key no asset can have (see
// checkCursor), or a filter id, category or search that fails CheckText.
func NormalizeListParams(p AssetListParams) (AssetListParams, error) {
	if p.First < 0 || p.First > MaxAssetPageSize {
		return p, Errorf(EBADINPUT, "first: must be between 0 and %d", MaxAssetPageSize)
	}
	if p.Order.Field == "" {
		p.Order.Field = DefaultAssetOrder.Field
	}
	if p.Order.Direction == "" {
		p.Order.Direction = DefaultAssetOrder.Direction
	}
	switch p.Order.Field {
	case AssetOrderRank, AssetOrderName, AssetOrderMarketCap, AssetOrderChange24h:
	default:
		return p, Errorf(EBADINPUT, "orderBy: unknown field %q", p.Order.Field)
	}
	switch p.Order.Direction {
	case OrderAsc, OrderDesc:
	default:
		return p, Errorf(EBADINPUT, "orderBy: unknown direction %q", p.Order.Direction)
	}
	if p.After != nil {
		if p.After.Field != p.Order.Field {
			return p, Errorf(EBADINPUT, "after: cursor belongs to another ordering (%s)", p.After.Field)
		}
		if err := checkCursor(p.After); err != nil {
			return p, err
		}
	}
	for _, id := range p.Filter.IDs {
		if err := CheckText("filter.ids", id); err != nil {
			return p, err
		}
	}
	if c := p.Filter.Category; c != nil {
		if err := CheckText("filter.category", *c); err != nil {
			return p, err
		}
	}
	if q := p.Filter.Search; q != nil {
		if err := CheckText("filter.search", *q); err != nil {
			return p, err
		}
	}
	return p, nil
}

// checkCursor rejects, as "after: malformed cursor", a cursor that no asset
// could have produced: no id, an id or name key that fails CheckText, a rank
// outside PostgreSQL's integer column, or a number that is NaN or infinite
// (which JSON cannot carry and the stores would order differently). The name
// key is bounded by the length of an encoded cursor rather than MaxTextLen,
// since it is the lower-cased name of an asset, not user text.
func checkCursor(c *AssetCursor) error {
	bad := c.ID == "" ||
		CheckText("after", c.ID) != nil ||
		checkText("after", c.Str, maxCursorLen) != nil ||
		c.Int < math.MinInt32 || c.Int > math.MaxInt32 ||
		math.IsNaN(c.Num) || math.IsInf(c.Num, 0)
	if bad {
		return Errorf(EBADINPUT, "after: malformed cursor")
	}
	return nil
}

// MaxTextLen is the longest id, symbol, category or search text, in bytes,
// that an argument may carry. Real ones are a few dozen bytes; the bound
// keeps a hostile argument from costing more than a normal one.
const MaxTextLen = 256

// CheckText returns a BAD_USER_INPUT error naming arg when s contains a NUL
// byte, is not valid UTF-8 or is longer than MaxTextLen bytes, and nil
// otherwise. PostgreSQL cannot store or compare such text (it fails the
// statement) while a Go map or comparison happily can, so without this check
// the two stores would answer the same argument differently. Both stores
// also refuse to load an asset whose id fails CheckText, which is why an id
// that fails it can safely be treated as absent.
func CheckText(arg, s string) error {
	return checkText(arg, s, MaxTextLen)
}

// checkText is CheckText with a bound of max bytes.
func checkText(arg, s string, max int) error {
	switch {
	case strings.IndexByte(s, 0) >= 0:
		return Errorf(EBADINPUT, "%s: must not contain NUL bytes", arg)
	case !utf8.ValidString(s):
		return Errorf(EBADINPUT, "%s: must be valid UTF-8", arg)
	case len(s) > max:
		return Errorf(EBADINPUT, "%s: longer than %d bytes", arg, max)
	}
	return nil
}
