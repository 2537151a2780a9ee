package marketdata

import "github.com/marketgraph/marketgraph"

// EURPerUSD is the simulator's exchange rate: fixed, because the simulated
// market has no forex feed and a constant rate keeps EUR quotes exactly
// proportional to USD ones (0.92 was near the real rate when it was chosen).
const EURPerUSD = 0.92

// The asset ids whose simulated prices define the BTC and ETH currencies.
const (
	bitcoinID  = "bitcoin"
	ethereumID = "ethereum"
)

// conversion turns USD amounts into a currency: × mul ÷ div, and ÷ refDiv
// for the 24 h reference. For BTC and ETH the divisors are those assets'
// simulated prices, so a change in BTC is the change relative to bitcoin.
// Dividing (rather than multiplying by an inverse) keeps bitcoin's BTC price
// exactly 1 and its BTC change exactly 0.
type conversion struct {
	mul, div, refDiv float64
}

func (c conversion) price(usd float64) float64 { return usd * c.mul / c.div }
func (c conversion) ref(usd float64) float64   { return usd * c.mul / c.refDiv }

// conversion returns the conversion from USD into currency at sec.
func (s *Simulator) conversion(currency marketgraph.Currency, sec int64) (conversion, error) {
	var base string
	switch currency {
	case marketgraph.CurrencyUSD:
		return conversion{1, 1, 1}, nil
	case marketgraph.CurrencyEUR:
		return conversion{EURPerUSD, 1, 1}, nil
	case marketgraph.CurrencyBTC:
		base = bitcoinID
	case marketgraph.CurrencyETH:
		base = ethereumID
	default:
		return conversion{}, marketgraph.Errorf(marketgraph.EBADINPUT, "currency: unsupported currency %q", currency)
	}
	a := s.assets[base]
	if a == nil {
		return conversion{}, marketgraph.Errorf(marketgraph.EUPSTREAM, "simulator: no %s price to quote in %s", base, currency)
	}
	return conversion{1, s.price(a, sec), s.ref(a, sec)}, nil
}
