package marketgraph

// NormalizeListParams validates a page request for a list of assets and fills
// its defaults, so every store answers the same requests with the same
// errors. A zero Order is DefaultAssetOrder; an empty Field is RANK and an
// empty Direction is ASC. Errors are BAD_USER_INPUT naming the argument at
// fault: First outside 0..MaxAssetPageSize, an unknown field or direction, or
// an After cursor of another ordering.
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
		if p.After.ID == "" {
			return p, Errorf(EBADINPUT, "after: malformed cursor")
		}
	}
	return p, nil
}
