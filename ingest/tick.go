package ingest

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/marketgraph/marketgraph"
)

// Tick runs one tick as of now: one batched quote call for every tracked
// asset, then, for each quote that is neither stale nor a repeat (an AsOf
// not newer than the asset's last), fold it into the asset's minute bar,
// write the minute and the hour and day containing it (one UpsertCandles
// for all assets), compute and store the signals of any hour or day bar
// that closed, and publish the quotes and the new signals.
//
// now is the tick's instant; it paces the refresh of the tracked assets.
// Run calls Tick; it is exported for tests. It returns the tick's errors,
// joined: a quote call that answered some assets still has those folded,
// and whatever could not be written is retried by the next tick.
func (p *Pipeline) Tick(ctx context.Context, now time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	var errs []error
	ids, err := p.trackedAssets(ctx, now)
	if err != nil {
		errs = append(errs, err)
	}
	var fresh []*marketgraph.Quote
	if len(ids) > 0 {
		fresh, err = p.freshQuotes(ctx, ids)
		if err != nil {
			errs = append(errs, err)
		}
		fresh, err = p.ensureState(ctx, fresh)
		if err != nil {
			errs = append(errs, err)
		}
		for _, q := range fresh {
			p.fold(q)
		}
	}
	if err := p.writeCandles(ctx); err != nil {
		errs = append(errs, err)
	} else if err := p.computeSignals(ctx); err != nil {
		// Signals are computed from stored bars, so only once every
		// changed bar is stored.
		errs = append(errs, err)
	}
	if err := p.publishTicks(ctx, fresh); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// trackedAssets returns the tracked assets, asking for them at most once a
// trackedRefresh and keeping the last list when asking fails. The state of
// assets no longer tracked is dropped: should one come back, it is
// reloaded from the store.
func (p *Pipeline) trackedAssets(ctx context.Context, now time.Time) ([]string, error) {
	if p.tracked != nil && !now.Before(p.trackedAt) && now.Sub(p.trackedAt) < trackedRefresh {
		return p.tracked, nil
	}
	ids, err := p.assets(ctx)
	if err != nil {
		return p.tracked, fmt.Errorf("tracked assets: %w", err)
	}
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	p.tracked, p.trackedAt = ids, now
	clear(p.refused)
	for id := range p.state {
		if _, ok := slices.BinarySearch(ids, id); !ok {
			delete(p.state, id)
			for _, interval := range rolledUp {
				delete(p.closed, signalKey{id, interval})
			}
		}
	}
	return ids, nil
}

// freshQuotes makes the tick's one quote call and keeps the quotes worth
// folding: not stale (a stale quote repeats an old price as if it were
// current, which would flatten the bars), with a usable price and an AsOf,
// and newer than the asset's last. The result is in ids order. A quote call
// that failed for some assets still returns the others.
func (p *Pipeline) freshQuotes(ctx context.Context, ids []string) ([]*marketgraph.Quote, error) {
	quotes, err := p.quotes.Quotes(ctx, ids, p.currency)
	if err != nil {
		err = fmt.Errorf("quotes: %w", err)
	}
	var out []*marketgraph.Quote
	for _, id := range ids {
		q := quotes[id]
		if p.refused[id] || q == nil || q.Stale || q.AsOf.IsZero() || !(q.Price > 0) || math.IsInf(q.Price, 1) {
			continue
		}
		if s := p.state[id]; s != nil && !q.AsOf.After(s.lastAsOf) {
			continue
		}
		if q.AssetID != id {
			cp := *q
			cp.AssetID = id
			q = &cp
		}
		out = append(out, q)
	}
	return out, err
}

// ensureState loads the state of the assets quoted for the first time
// since this process leads. The quotes of assets whose state could not be
// loaded are dropped, to be tried again next tick; folding them into empty
// bars would overwrite the stored ones.
func (p *Pipeline) ensureState(ctx context.Context, quotes []*marketgraph.Quote) ([]*marketgraph.Quote, error) {
	var missing []*marketgraph.Quote
	for _, q := range quotes {
		if p.state[q.AssetID] == nil {
			missing = append(missing, q)
		}
	}
	if len(missing) == 0 {
		return quotes, nil
	}
	loaded, err := p.load(ctx, missing)
	if err != nil {
		return slices.DeleteFunc(quotes, func(q *marketgraph.Quote) bool { return p.state[q.AssetID] == nil }), err
	}
	for _, q := range missing {
		p.state[q.AssetID] = loaded[q.AssetID]
		// The previous leader may have died between a close and its
		// signals: compute them for the bars before the open ones.
		for _, interval := range rolledUp {
			p.closed[signalKey{q.AssetID, interval}] = truncate(q.AsOf, interval.Duration())
		}
	}
	return quotes, nil
}

// fold folds one fresh quote into its asset's bars and queues the bars
// that changed for writing.
func (p *Pipeline) fold(q *marketgraph.Quote) {
	s := p.state[q.AssetID]
	t := Tick{AssetID: q.AssetID, Price: q.Price, At: q.AsOf}
	if q.Volume24h != nil {
		t.Volume24h = *q.Volume24h
	}
	start := MinuteOf(q.AsOf)
	s.lastAsOf = q.AsOf
	if !s.minute.Empty() && start.Before(s.minute.Start()) {
		// Older than the open minute, which only a provider whose AsOf
		// goes backwards can cause: the closed minute is written already.
		return
	}
	before := s.minute
	if !s.minute.Empty() && start.After(s.minute.Start()) {
		for _, interval := range s.roll(start) {
			d := interval.Duration()
			p.closed[signalKey{q.AssetID, interval}] = truncate(start, d)
		}
	}
	s.minute = Fold(s.minute, t)
	if s.minute == before {
		return
	}
	for _, c := range []*marketgraph.Candle{s.minute.Candle(), s.bar(marketgraph.IntervalHour), s.bar(marketgraph.IntervalDay)} {
		p.unwritten[keyOf(c)] = c
	}
}

// writeCandles stores the changed candles in one call; they stay queued
// when it fails, to be written by the next tick.
//
// A store refuses a whole batch for one bad row (BAD_USER_INPUT: typically
// a tracked asset missing from the catalog). Rather than let one asset hold
// every other hostage, tick after tick, the batch is then written asset by
// asset: the candles of assets refused on their own are dropped, and those
// assets are left out until the tracked list is next refreshed.
func (p *Pipeline) writeCandles(ctx context.Context) error {
	if len(p.unwritten) == 0 {
		return nil
	}
	cs := slices.SortedFunc(maps.Values(p.unwritten), compareCandles)
	err := p.store.UpsertCandles(ctx, cs)
	if err == nil {
		clear(p.unwritten)
		return nil
	}
	err = fmt.Errorf("write %d candles: %w", len(cs), err)
	if marketgraph.ErrorCode(err) != marketgraph.EBADINPUT {
		return err
	}
	errs := []error{err}
	for i := 0; i < len(cs); {
		n := i + 1
		for n < len(cs) && cs[n].AssetID == cs[i].AssetID {
			n++
		}
		id := cs[i].AssetID
		err := p.store.UpsertCandles(ctx, cs[i:n])
		if err != nil {
			errs = append(errs, fmt.Errorf("write candles of %s: %w", id, err))
		}
		if err == nil || marketgraph.ErrorCode(err) == marketgraph.EBADINPUT {
			for _, c := range cs[i:n] {
				delete(p.unwritten, keyOf(c))
			}
		}
		if err != nil && marketgraph.ErrorCode(err) == marketgraph.EBADINPUT {
			p.refuse(id)
		}
		i = n
	}
	return errors.Join(errs...)
}

// refuse leaves id out of the ticks until the tracked list is refreshed.
func (p *Pipeline) refuse(id string) {
	p.refused[id] = true
	delete(p.state, id)
	for _, interval := range rolledUp {
		delete(p.closed, signalKey{id, interval})
	}
}

// compareCandles orders candles by asset, interval and start.
func compareCandles(a, b *marketgraph.Candle) int {
	if c := cmp.Compare(a.AssetID, b.AssetID); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Interval.Duration(), b.Interval.Duration()); c != 0 {
		return c
	}
	return a.Start.Compare(b.Start)
}

// publishTicks publishes each fresh quote as a PriceTick on its asset's
// topic, numbering each asset's ticks on from the newest the bus retains
// (from 1 when it retains none). At is read from the clock as each is
// published, not taken from the tick's start: subscribers measure delivery
// latency from it, which should not include the quote call and the writes.
//
// When the retained numbering cannot be read (the Redis bus unreachable,
// when publishing would fail too), the asset's tick is not published: a
// number guessed wrong would mislead every subscriber that resumes.
func (p *Pipeline) publishTicks(ctx context.Context, quotes []*marketgraph.Quote) error {
	var errs []error
	for _, q := range quotes {
		s := p.state[q.AssetID]
		if s == nil {
			continue
		}
		if !s.seeded {
			seq, err := p.lastSequence(ctx, q.AssetID)
			if err != nil {
				errs = append(errs, fmt.Errorf("continue the tick sequence of %s: %w", q.AssetID, err))
				continue
			}
			s.seq, s.seeded = seq, true
		}
		s.seq++
		if p.bus == nil {
			continue
		}
		payload, err := json.Marshal(marketgraph.PriceTick{AssetID: q.AssetID, Quote: q, Sequence: s.seq, At: p.now()})
		if err == nil {
			err = p.bus.Publish(ctx, marketgraph.TickTopic(q.AssetID), payload)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("publish tick of %s: %w", q.AssetID, err))
		}
	}
	return errors.Join(errs...)
}

// lastSequence is the Sequence of the newest tick of assetID the bus
// retains, 0 when it retains none (or there is no bus). With a shared bus
// that is the previous leader's last tick, so a subscriber's resumeFrom
// stays meaningful across a takeover. An undecodable payload is logged
// and counts as none: the stream starts again from 1, which subscribers
// that resume are told about (RESYNC).
func (p *Pipeline) lastSequence(ctx context.Context, assetID string) (uint64, error) {
	if p.bus == nil {
		return 0, nil
	}
	h, err := p.bus.History(ctx, marketgraph.TickTopic(assetID), 1)
	if err != nil || len(h) == 0 {
		return 0, err
	}
	var t marketgraph.PriceTick
	if err := json.Unmarshal(h[len(h)-1], &t); err != nil {
		p.log.Warn("ingest: undecodable retained tick; the sequence starts again", "asset", assetID, "err", err)
		return 0, nil
	}
	return t.Sequence, nil
}
