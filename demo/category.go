package demo

import (
	"math"
	"time"
)

// Categories of the demo catalog.
const (
	CategoryLayer1         = "Layer 1"
	CategoryLayer2         = "Layer 2"
	CategoryStablecoin     = "Stablecoin"
	CategoryDeFi           = "DeFi"
	CategoryExchangeToken  = "Exchange Token"
	CategoryMeme           = "Meme"
	CategoryInfrastructure = "Infrastructure"
	CategoryGaming         = "Gaming"
	CategoryPrivacy        = "Privacy"
	CategoryOracle         = "Oracle"
	CategoryStorage        = "Storage"
	CategoryAI             = "AI"
)

// dailyVolatility is the standard deviation of one day's log return, by
// category: round figures in line with how these markets moved in 2025.
// Stablecoins are not listed: they follow their own mean-reverting model.
func dailyVolatility(category string) float64 {
	switch category {
	case CategoryExchangeToken:
		return 0.025
	case CategoryLayer1:
		return 0.035
	case CategoryOracle:
		return 0.04
	case CategoryPrivacy, CategoryGaming:
		return 0.05
	case CategoryAI:
		return 0.055
	case CategoryMeme:
		return 0.065
	}
	return 0.045 // Layer 2, DeFi, Infrastructure, Storage and anything new
}

// majorRanks are the large caps, whose volatility is damped by majorDamping:
// deep markets move less than thin ones.
const (
	majorRanks   = 10
	majorDamping = 0.75
)

// Stablecoins follow an Ornstein-Uhlenbeck process on the log price around
// ln 1 = 0: deviations of about stableDeviation (5 basis points) that decay
// with time constant stableReversion. The process is time-reversible, so
// walking it backwards from the anchor is as valid as walking it forwards.
const (
	stableDeviation = 0.0005
	stableReversion = time.Hour
)

// volatility is the model of one asset's log price.
type volatility struct {
	stable bool
	daily  float64 // log-return standard deviation per day; not for stable
}

func volatilityOf(a Asset) volatility {
	if a.Category == CategoryStablecoin {
		return volatility{stable: true}
	}
	v := dailyVolatility(a.Category)
	if a.Rank <= majorRanks {
		v *= majorDamping
	}
	return volatility{daily: v}
}

// step describes the log price one bar of width dt earlier: given
// log price x now, it was decay*x + scale*z for a standard normal z. For a
// random walk decay is 1 (z and -z are alike, so the sign is moot); for a
// stablecoin both come from the Ornstein-Uhlenbeck transition over dt.
// scale is also the typical size of one bar's move, which sizes its wicks.
func (v volatility) step(dt time.Duration) (decay, scale float64) {
	if v.stable {
		a := math.Exp(-float64(dt) / float64(stableReversion))
		return a, stableDeviation * math.Sqrt(1-a*a)
	}
	return 1, v.daily * math.Sqrt(float64(dt)/float64(24*time.Hour))
}
