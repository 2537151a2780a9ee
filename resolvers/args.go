package resolvers

import (
	"github.com/marketgraph/marketgraph"
)

// intArg returns *p, or def when the client did not pass the argument, and a
// BAD_USER_INPUT error naming the argument when it is outside [min, max].
func intArg(name string, p *int, def, min, max int) (int, error) {
	if p == nil {
		return def, nil
	}
	if *p < min || *p > max {
		return 0, marketgraph.Errorf(marketgraph.EBADINPUT, "%s: must be between %d and %d, got %d", name, min, max, *p)
	}
	return *p, nil
}

// currencyArg returns *p, or USD when the argument is absent or null.
func currencyArg(p *marketgraph.Currency) marketgraph.Currency {
	if p == nil {
		return marketgraph.CurrencyUSD
	}
	return *p
}
