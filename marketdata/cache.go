package marketdata

import (
	"time"

	"github.com/marketgraph/marketgraph"
)

// sweepEvery is how often the quote cache drops entries that can no longer
// answer anything. Sweeping walks every entry, so it runs on a clock rather
// than on every store.
const sweepEvery = time.Minute

// cacheKey names one cached quote: an asset in a currency.
type cacheKey struct {
	id       string
	currency marketgraph.Currency
}

// cacheEntry is what the cache knows about one asset in one currency.
type cacheEntry struct {
	// quote is the last quote received, kept after it stops being fresh so
	// it can be served stale; nil when the provider never quoted the asset.
	quote *marketgraph.Quote
	// fetched is when quote was received.
	fetched time.Time
	// checked is when the provider last answered a call asking for the
	// asset, with a quote or without one.
	checked time.Time
	// missing is true when that answer lacked the asset.
	missing bool
}

// quoteCache is the cross-request memory of quotes: fresh answers for ttl
// after the provider gave them, and last-known quotes for staleFor after
// that, for when the provider fails. It remembers an asset the provider did
// not know for ttl as well, so a page holding one unknown id does not send
// every request upstream.
//
// It does no locking: Resilient guards it with the same mutex as its
// in-flight calls, which is what makes "fresh, in flight, or ask" one
// atomic decision.
type quoteCache struct {
	ttl      time.Duration // ≤ 0: nothing is ever fresh
	staleFor time.Duration // ≤ 0: nothing is ever served stale
	entries  map[cacheKey]*cacheEntry
	swept    time.Time
}

func newQuoteCache(ttl, staleFor time.Duration) quoteCache {
	return quoteCache{ttl: ttl, staleFor: staleFor, entries: map[cacheKey]*cacheEntry{}}
}

// fresh answers k from memory if the provider was asked about it less than
// ttl ago. ok reports whether memory answers at all; q is then the quote,
// or, when the provider did not know the asset, its last known quote marked
// stale, or nil when there is none (the asset is unknown).
func (c *quoteCache) fresh(k cacheKey, now time.Time) (q *marketgraph.Quote, ok bool) {
	if c.ttl <= 0 {
		return nil, false
	}
	e := c.entries[k]
	if e == nil || now.Sub(e.checked) >= c.ttl {
		return nil, false
	}
	if e.missing {
		return c.staleOf(e, now), true
	}
	return e.quote, true
}

// stale returns a copy of the last known quote of k marked Stale, keeping
// its real AsOf, or nil when there is none young enough.
func (c *quoteCache) stale(k cacheKey, now time.Time) *marketgraph.Quote {
	return c.staleOf(c.entries[k], now)
}

func (c *quoteCache) staleOf(e *cacheEntry, now time.Time) *marketgraph.Quote {
	if e == nil || e.quote == nil || c.staleFor <= 0 || now.Sub(e.fetched) > c.staleFor {
		return nil
	}
	q := *e.quote
	q.Stale = true
	return &q
}

// store records a successful provider answer for ids: the quotes given,
// and, for the ids it lacked, that the provider does not know them (their
// last known quote is kept).
func (c *quoteCache) store(ids []string, currency marketgraph.Currency, quotes map[string]*marketgraph.Quote, now time.Time) {
	for _, id := range ids {
		k := cacheKey{id, currency}
		e := c.entries[k]
		q := quotes[id]
		if e == nil {
			if q == nil && c.ttl <= 0 {
				continue // nothing worth remembering
			}
			e = &cacheEntry{}
			c.entries[k] = e
		}
		e.checked, e.missing = now, q == nil
		if q != nil {
			e.quote, e.fetched = q, now
		}
	}
	if now.Sub(c.swept) >= sweepEvery {
		c.sweep(now)
	}
}

// sweep drops the entries that are neither fresh nor servable stale.
func (c *quoteCache) sweep(now time.Time) {
	c.swept = now
	for k, e := range c.entries {
		if c.ttl > 0 && now.Sub(e.checked) < c.ttl {
			continue
		}
		if e.quote != nil && c.staleFor > 0 && now.Sub(e.fetched) <= c.staleFor {
			continue
		}
		delete(c.entries, k)
	}
}
