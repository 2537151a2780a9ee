package marketgraph

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
)

// Asset is one entry of the asset catalog. Its ID is a CoinGecko-style slug
// such as "bitcoin".
//
// MarketCap, Change24h, Volume24h and Supply are the catalog's snapshot of
// the market, refreshed by the seed (and later by ingest). They back the
// MARKET_CAP and CHANGE_24H orderings, which must be answered inside the
// store; live figures come from Quote.
type Asset struct {
	ID        string  `json:"id"`
	Symbol    string  `json:"symbol"`
	Name      string  `json:"name"`
	Rank      int     `json:"rank"`
	Category  string  `json:"category"`
	MarketCap float64 `json:"marketCap"`
	Volume24h float64 `json:"volume24h"`
	Change24h float64 `json:"change24h"`
	Supply    float64 `json:"supply"`
}

// AssetFilter narrows a list of assets. Zero values do not filter.
// "Case-insensitive" here means equal after FoldCase, which folds ASCII
// letters only: "defi" matches "DeFi", but "é" does not match "É".
type AssetFilter struct {
	// IDs keeps only the assets with these ids (exact, case-sensitive).
	IDs []string `json:"ids"`
	// Category keeps assets whose category equals it case-insensitively:
	// FoldCase(category) == FoldCase(*Category).
	Category *string `json:"category"`
	// Search keeps assets whose symbol or name contains it case-insensitively
	// and literally (no wildcards): FoldCase(symbol) or FoldCase(name)
	// contains FoldCase(*Search) as a substring. The empty Search matches
	// every asset.
	Search *string `json:"search"`
}

// AssetOrderField is what a list of assets is sorted by.
type AssetOrderField string

// The orderings a list of assets supports. Ties are always broken by id.
const (
	AssetOrderRank      AssetOrderField = "RANK"
	AssetOrderName      AssetOrderField = "NAME"
	AssetOrderMarketCap AssetOrderField = "MARKET_CAP"
	AssetOrderChange24h AssetOrderField = "CHANGE_24H"
)

// OrderDirection is ascending or descending.
type OrderDirection string

// Order directions.
const (
	OrderAsc  OrderDirection = "ASC"
	OrderDesc OrderDirection = "DESC"
)

// AssetOrder says how to sort a list of assets.
type AssetOrder struct {
	Field     AssetOrderField `json:"field"`
	Direction OrderDirection  `json:"direction"`
}

// DefaultAssetOrder is rank ascending.
var DefaultAssetOrder = AssetOrder{Field: AssetOrderRank, Direction: OrderAsc}

// Paging limits for lists of assets.
const (
	DefaultAssetPageSize = 20
	MaxAssetPageSize     = 250
)

// AssetListParams is one page request for a list of assets.
type AssetListParams struct {
	Filter AssetFilter
	Order  AssetOrder
	// First is the page size, 0 to MaxAssetPageSize.
	First int
	// After, when set, is the cursor of the last asset of the previous page.
	After *AssetCursor
}

// AssetPage is one page of assets.
type AssetPage struct {
	Assets      []*Asset
	TotalCount  int
	HasNextPage bool
}

// AssetCursor is the decoded form of an opaque page cursor: the ordering it
// belongs to and the position of one asset in it (its sort key and its id).
type AssetCursor struct {
	Field AssetOrderField `json:"f"`
	// Key is the value of the sort field: rank, lower-cased name, market cap
	// or 24 h change. Exactly one of Int, Str or Num is meaningful.
	Int int     `json:"i,omitempty"`
	Str string  `json:"s,omitempty"`
	Num float64 `json:"n,omitempty"`
	ID  string  `json:"id"`
	// Dir is the direction of the listing the cursor was issued for. The
	// stores ignore it (a position is a position in either direction); the
	// API refuses a cursor issued for the other direction, which would
	// silently continue from an unrelated place.
	Dir OrderDirection `json:"d,omitempty"`
}

// Compare orders two positions in o: by sort key in o's direction, then by
// id ascending whatever the direction, so that no two assets tie. Every
// store must list assets in this order.
func (o AssetOrder) Compare(a, b *AssetCursor) int {
	var c int
	switch o.Field {
	case AssetOrderRank:
		c = cmp.Compare(a.Int, b.Int)
	case AssetOrderName:
		c = strings.Compare(a.Str, b.Str)
	default:
		c = cmp.Compare(a.Num, b.Num)
	}
	if o.Direction == OrderDesc {
		c = -c
	}
	if c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// CursorFor returns the cursor of a in the given ordering.
func CursorFor(a *Asset, field AssetOrderField) AssetCursor {
	c := AssetCursor{Field: field, ID: a.ID}
	switch field {
	case AssetOrderRank:
		c.Int = a.Rank
	case AssetOrderName:
		c.Str = SortName(a.Name)
	case AssetOrderMarketCap:
		c.Num = a.MarketCap
	case AssetOrderChange24h:
		c.Num = a.Change24h
	}
	return c
}

// Encode returns the opaque string form of c.
func (c AssetCursor) Encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// maxCursorLen bounds the length of an encoded cursor; cursors Encode makes
// for real assets are well under it.
const maxCursorLen = 512

// DecodeAssetCursor parses an opaque cursor made by Encode for the given
// ordering. A cursor that is malformed, that holds a key no asset can have
// (a rank outside the int32 range, a NaN or infinite number, an id with a
// NUL byte...) or that belongs to another ordering is a BAD_USER_INPUT error.
func DecodeAssetCursor(s string, field AssetOrderField) (*AssetCursor, error) {
	if len(s) > maxCursorLen {
		return nil, Errorf(EBADINPUT, "after: cursor is too long")
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, Errorf(EBADINPUT, "after: malformed cursor")
	}
	var c AssetCursor
	if err := json.Unmarshal(b, &c); err != nil || c.ID == "" {
		return nil, Errorf(EBADINPUT, "after: malformed cursor")
	}
	if c.Field != field {
		return nil, Errorf(EBADINPUT, "after: cursor belongs to another ordering (%s)", c.Field)
	}
	if err := checkCursor(&c); err != nil {
		return nil, err
	}
	return &c, nil
}

// AssetService reads the asset catalog. Every implementation answers hostile
// text (NUL bytes, invalid UTF-8, overlong strings; see CheckText) the same
// way, as the methods below say, rather than with whatever its storage makes
// of it.
type AssetService interface {
	// FindAssetsByIDs returns the assets with the given ids, in no particular
	// order; ids that do not exist are simply absent. That includes ids that
	// fail CheckText, which no stored asset can have: they are skipped, not
	// an error, because the ids of one call are often the keys of many
	// unrelated fields batched together, and one bad key must not fail the
	// others. Errors are INTERNAL only (the store is unreachable).
	FindAssetsByIDs(ctx context.Context, ids []string) ([]*Asset, error)
	// FindAssetBySymbol returns the highest-ranked asset (lowest rank
	// number, then lowest id) whose symbol equals symbol case-insensitively,
	// that is FoldCase(asset.Symbol) == FoldCase(symbol): ASCII letters only,
	// so "btc" finds "BTC" but "\u212AAS" (with a Kelvin sign) does not find
	// "KAS". Returns BAD_USER_INPUT ("symbol: ...") when symbol fails
	// CheckText, and NOT_FOUND when no asset has it, the empty symbol
	// included.
	FindAssetBySymbol(ctx context.Context, symbol string) (*Asset, error)
	// FindAssetsBySymbols is FindAssetBySymbol for many symbols in one call,
	// so a document with many asset(symbol:) fields costs one read. The map
	// is keyed by each symbol upper-cased with FoldUpper (ASCII letters
	// only), and the asset of a key is the one FindAssetBySymbol returns for
	// the key, which is also what it returns for every symbol with that key:
	// FoldUpper(a) == FoldUpper(b) exactly when FoldCase(a) == FoldCase(b).
	// (strings.ToUpper would not do: it maps "ſ" and "s" to the one key "S",
	// although they match different assets.) A symbol strings.ToUpper has
	// already upper-cased is its own key. Symbols that match nothing are
	// simply absent, and so are symbols that fail CheckText, for the reason
	// FindAssetsByIDs gives: the symbols of one call are the keys of
	// unrelated fields, and one bad key must not fail the others. Errors are
	// INTERNAL only.
	FindAssetsBySymbols(ctx context.Context, symbols []string) (map[string]*Asset, error)
	// ListAssets returns one page of assets. Returns BAD_USER_INPUT for the
	// parameters NormalizeListParams rejects: out of range, of an unknown
	// ordering, with a malformed cursor, or with filter text that fails
	// CheckText.
	ListAssets(ctx context.Context, p AssetListParams) (*AssetPage, error)
}
