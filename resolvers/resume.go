package resolvers

import (
	"context"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/loaders"
)

// DefaultResumeWindow is how far back a resumed priceTicks subscription
// replays the ticks it missed when Deps.ResumeWindow is zero.
const DefaultResumeWindow = 5 * time.Minute

// maxResumeFromLen bounds resumeFrom: an entry per subscribable asset, each
// the longest id, a colon, the longest sequence and a comma.
const maxResumeFromLen = maxSubscribedAssets * (marketgraph.MaxTextLen + 22)

// resumeFromUsage ends the messages about a malformed resumeFrom.
const resumeFromUsage = `give the last sequence received, as "1234" (every asset) or "bitcoin:1234,ethereum:98"`

// errHistoryUnavailable answers a resumption when the retained ticks cannot
// be read (the Redis bus reconnecting): replaying nothing would be a gap
// nobody is told about.
var errHistoryUnavailable = marketgraph.Errorf(marketgraph.EUPSTREAM,
	"resumeFrom: the retained ticks cannot be read right now; retry, or subscribe without resumeFrom")

// parseResumeFrom reads resumeFrom: the last sequence the client received,
// either one number for every asset of ids or a list of asset:sequence
// pairs, each asset one of ids (sorted) and given once. It returns nil for an
// absent argument, and BAD_USER_INPUT errors naming the argument for
// anything else that does not parse.
func parseResumeFrom(p *string, ids []string) (map[string]uint64, error) {
	if p == nil {
		return nil, nil
	}
	s := *p
	if len(s) > maxResumeFromLen {
		return nil, badResume("longer than %d bytes", maxResumeFromLen)
	}
	if strings.TrimSpace(s) == "" {
		return nil, badResume("empty: %s", resumeFromUsage)
	}
	out := make(map[string]uint64, len(ids))
	if !strings.ContainsAny(s, ":,") {
		n, err := parseSequence(strings.TrimSpace(s))
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			out[id] = n
		}
		return out, nil
	}
	for i, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		k := strings.LastIndexByte(entry, ':')
		if k < 0 {
			return nil, badResume("entry %d (%q) is not asset:sequence; %s", i+1, clip(entry), resumeFromUsage)
		}
		id, num := strings.TrimSpace(entry[:k]), strings.TrimSpace(entry[k+1:])
		if id == "" {
			return nil, badResume("entry %d (%q) has no asset id; %s", i+1, clip(entry), resumeFromUsage)
		}
		if err := marketgraph.CheckText("resumeFrom", id); err != nil {
			return nil, err
		}
		if _, ok := slices.BinarySearch(ids, id); !ok {
			return nil, badResume("%q is not one of assetIds", clip(id))
		}
		if _, dup := out[id]; dup {
			return nil, badResume("%q is given more than once", clip(id))
		}
		n, err := parseSequence(num)
		if err != nil {
			return nil, err
		}
		out[id] = n
	}
	return out, nil
}

// parseSequence parses one sequence number: decimal digits, at most the
// largest sequence the schema's Int can carry.
func parseSequence(s string) (uint64, error) {
	digits := strings.TrimPrefix(s, "-")
	switch {
	case s == "":
		return 0, badResume("a sequence number is missing; %s", resumeFromUsage)
	case strings.Trim(digits, "0123456789") != "" || digits == "":
		return 0, badResume("%q is not a sequence number; %s", clip(s), resumeFromUsage)
	case digits != s:
		return 0, badResume("%q is negative", clip(s))
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > math.MaxInt64 {
		return 0, badResume("%q is larger than the largest sequence, %d", clip(s), int64(math.MaxInt64))
	}
	return n, nil
}

func badResume(format string, args ...any) error {
	return marketgraph.Errorf(marketgraph.EBADINPUT, "resumeFrom: "+format, args...)
}

// clip shortens text quoted back in a message.
func clip(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// resumption is what a resumed subscription sends before its live ticks,
// and what it must not send again.
type resumption struct {
	// backlog is sent first, in order: the replayed and resync ticks.
	backlog []*marketgraph.PriceTick
	// newest is, by asset, the newest retained tick: the client has it,
	// or everything up to it, once the backlog is sent.
	newest map[string]*marketgraph.PriceTick
}

// duplicate reports whether a live tick is one the client has already
// been sent or told about: not newer than the newest retained tick when
// the subscription started. The overlap comes from subscribing before
// reading the history. Comparing the time as well as the sequence keeps a
// stream that restarts from 1 meanwhile from being swallowed.
func (rs *resumption) duplicate(t *marketgraph.PriceTick) bool {
	n := rs.newest[t.AssetID]
	return n != nil && t.Sequence <= n.Sequence && !t.At.After(n.At)
}

// historyPage is how many of an asset's newest retained ticks a
// resumption reads first: a client back after a short break missed only a
// few, and needs no more. Only when those do not reach back to its last
// one is the whole history read.
const historyPage = 32

// resume reads the retained ticks of each asset of points and plans what
// to send: the missed ticks as REPLAY when all of them are retained and in
// the window, else the newest as RESYNC. The subscription to the live
// ticks must already be open (see pubsub.Bus.History).
func (r *subscriptionResolver) resume(ctx context.Context, points map[string]uint64, cur marketgraph.Currency) (*resumption, error) {
	now := r.now()
	cutoff := now.Add(-r.resumeWindow)
	rs := &resumption{newest: map[string]*marketgraph.PriceTick{}}
	var perAsset [][]*marketgraph.PriceTick
	var empty []string // resumed assets with nothing retained
	for _, id := range slices.Sorted(maps.Keys(points)) {
		var p plan
		for page := historyPage; ; page = 0 {
			payloads, err := r.bus.History(ctx, marketgraph.TickTopic(id), page)
			if err != nil {
				if ctx.Err() == nil {
					r.log.Warn("priceTicks: tick history unavailable", "asset", id, "error", err.Error())
				}
				return nil, errHistoryUnavailable
			}
			p = r.planResume(id, points[id], payloads, cutoff)
			if !p.needsMore || page == 0 || len(payloads) < page {
				break
			}
		}
		switch {
		case p.newest == nil && points[id] > 0:
			empty = append(empty, id)
		case p.newest != nil:
			rs.newest[id] = p.newest
		}
		if len(p.send) > 0 {
			perAsset = append(perAsset, p.send)
		}
	}
	rs.backlog = mergeByTime(perAsset)
	if err := r.convertBacklog(ctx, rs.backlog, cur); err != nil {
		return nil, err
	}
	if len(empty) > 0 {
		// The client saw ticks of a stream nothing is retained of: it
		// restarted (a restart of the in-process bus) before publishing
		// again. Sequence 0 comes before the new stream's first tick.
		quotes, errs := loadQuotes(ctx, empty, cur)
		for i, id := range empty {
			if i < len(errs) && errs[i] != nil {
				return nil, errs[i]
			}
			if i >= len(quotes) || quotes[i] == nil {
				return nil, marketgraph.Errorf(marketgraph.EUPSTREAM, "no %s quote of %s to resume with", cur, id)
			}
			rs.backlog = append(rs.backlog, &marketgraph.PriceTick{AssetID: id, Quote: quotes[i], At: now, Delivery: marketgraph.DeliveryResync})
		}
	}
	return rs, nil
}

// plan is what one asset's resumption sends.
type plan struct {
	// send is nothing, the missed ticks as REPLAY, or the newest as RESYNC.
	send []*marketgraph.PriceTick
	// newest is the newest retained tick, nil when none is.
	newest *marketgraph.PriceTick
	// needsMore: the payloads ran out before the walk could tell, so
	// older ones, if there are any, may change the plan.
	needsMore bool
}

// planResume plans what a client that last received sequence last is
// sent, from payloads, the newest retained ticks of asset id (oldest
// first): nothing when it is up to date; the ticks after last as REPLAY
// when every one of them is retained and published after cutoff;
// otherwise the newest tick as RESYNC, which also answers a sequence beyond
// the newest (a stream that restarted).
//
// It walks back from the newest and decodes no more than it needs. The
// walk stops at a sequence that does not decrease: what is older belongs
// to a stream that restarted from 1 (the bus retained nothing when the
// publisher took over), whose numbers mean nothing any more.
func (r *subscriptionResolver) planResume(id string, last uint64, payloads [][]byte, cutoff time.Time) plan {
	var p plan
	var missed []*marketgraph.PriceTick // newest first
	stopped := false
	for i := len(payloads) - 1; i >= 0 && !stopped; i-- {
		t, ok := decodeJSON[marketgraph.PriceTick](r.log, payloads[i])
		if !ok || t.AssetID != id || t.Quote == nil {
			continue
		}
		switch {
		case p.newest != nil && t.Sequence >= missed[len(missed)-1].Sequence:
			stopped = true // an older stream
		case t.Sequence <= last || t.At.Before(cutoff):
			stopped = true // the client's last, or too old to replay anyway
		default:
			missed = append(missed, t)
		}
		if p.newest == nil {
			p.newest = t
		}
	}
	if p.newest == nil || last == p.newest.Sequence {
		p.needsMore = p.newest == nil && len(payloads) > 0
		return p
	}
	resync := []*marketgraph.PriceTick{withDelivery(p.newest, marketgraph.DeliveryResync)}
	if last > p.newest.Sequence {
		p.send = resync
		return p
	}
	slices.Reverse(missed)
	if len(missed) == 0 || missed[0].Sequence != last+1 || missed[len(missed)-1].Sequence-missed[0].Sequence != uint64(len(missed)-1) {
		// Some are gone: pushed out, too old, or never published (a
		// sequence is used even when its publish fails). Unless the walk
		// merely ran out of payloads.
		p.send, p.needsMore = resync, !stopped
		return p
	}
	p.send = make([]*marketgraph.PriceTick, len(missed))
	for k, t := range missed {
		p.send[k] = withDelivery(t, marketgraph.DeliveryReplay)
	}
	return p
}

// withDelivery returns a copy of t marked d.
func withDelivery(t *marketgraph.PriceTick, d marketgraph.TickDelivery) *marketgraph.PriceTick {
	c := *t
	c.Delivery = d
	return &c
}

// mergeByTime interleaves per-asset runs of ticks by publication time,
// keeping each run's own order, so that a replay reads as the market moved.
func mergeByTime(runs [][]*marketgraph.PriceTick) []*marketgraph.PriceTick {
	n := 0
	for _, run := range runs {
		n += len(run)
	}
	out := make([]*marketgraph.PriceTick, 0, n)
	for len(out) < n {
		best := -1
		for i, run := range runs {
			if len(run) > 0 && (best < 0 || run[0].At.Before(runs[best][0].At)) {
				best = i
			}
		}
		out = append(out, runs[best][0])
		runs[best] = runs[best][1:]
	}
	return out
}

// convertBacklog converts the retained ticks into cur, in place. Their
// quotes are as published (USD), and loading the quote now, as live ticks
// do, would give every replayed tick the same price: each is converted
// instead at the rate the asset's current quotes in both currencies imply.
// A quote that cannot be loaded fails the subscription rather than leave a
// gap in the replay.
func (r *subscriptionResolver) convertBacklog(ctx context.Context, backlog []*marketgraph.PriceTick, cur marketgraph.Currency) error {
	var keys []loaders.QuoteKey
	index := map[loaders.QuoteKey]int{}
	want := func(k loaders.QuoteKey) {
		if _, ok := index[k]; !ok {
			index[k] = len(keys)
			keys = append(keys, k)
		}
	}
	for _, t := range backlog {
		if t.Quote.Currency != cur {
			want(loaders.QuoteKey{AssetID: t.AssetID, Currency: t.Quote.Currency})
			want(loaders.QuoteKey{AssetID: t.AssetID, Currency: cur})
		}
	}
	if len(keys) == 0 {
		return nil
	}
	quotes, errs := loaders.For(ctx).QuoteByAsset.LoadMany(ctx, keys)()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	for i, t := range backlog {
		if t.Quote.Currency == cur {
			continue
		}
		from := quotes[index[loaders.QuoteKey{AssetID: t.AssetID, Currency: t.Quote.Currency}]]
		to := quotes[index[loaders.QuoteKey{AssetID: t.AssetID, Currency: cur}]]
		if from == nil || to == nil || !(from.Price > 0) {
			return marketgraph.Errorf(marketgraph.EUPSTREAM, "no %s price of %s to convert replayed ticks at", t.Quote.Currency, t.AssetID)
		}
		c := *t
		c.Quote = atRate(t.Quote, from, to)
		backlog[i] = &c
	}
	return nil
}

// atRate converts q into the currency of to, at the rate from and to (two
// current quotes of the same asset, from in q's currency) imply. The 24 h
// change is rebased too: the change in the other currency is the change in
// q's times how the rate itself moved over the day, which the two current
// changes give.
func atRate(q, from, to *marketgraph.Quote) *marketgraph.Quote {
	f := to.Price / from.Price
	c := *q
	c.Price *= f
	c.MarketCap = scaled(q.MarketCap, f)
	c.Volume24h = scaled(q.Volume24h, f)
	c.Change24h = nil
	if q.Change24h != nil && from.Change24h != nil && to.Change24h != nil && *from.Change24h > -100 {
		v := ((1+*q.Change24h/100)*(1+*to.Change24h/100)/(1+*from.Change24h/100) - 1) * 100
		c.Change24h = &v
	}
	c.Currency = to.Currency
	return &c
}

func scaled(v *float64, f float64) *float64 {
	if v == nil {
		return nil
	}
	x := *v * f
	return &x
}

// loadQuotes loads the current quote of each asset of ids in cur, in one
// batch.
func loadQuotes(ctx context.Context, ids []string, cur marketgraph.Currency) ([]*marketgraph.Quote, []error) {
	keys := make([]loaders.QuoteKey, len(ids))
	for i, id := range ids {
		keys[i] = loaders.QuoteKey{AssetID: id, Currency: cur}
	}
	return loaders.For(ctx).QuoteByAsset.LoadMany(ctx, keys)()
}
