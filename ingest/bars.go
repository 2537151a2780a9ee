package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/marketgraph/marketgraph"
)

// assetState is what the pipeline keeps in memory about one asset.
//
// The hour and day bars are kept exactly, without reading the minutes back
// from the store: hourBase aggregates the minutes of the current hour that
// have closed, dayBase those of the current day, and the bar written each
// tick is the base extended with the open minute. A minute joins a base once,
// when it closes, so no volume is ever counted twice however often the open
// minute changes.
type assetState struct {
	// lastAsOf is the AsOf of the newest quote folded: a quote not newer
	// is a repeat and is skipped.
	lastAsOf time.Time
	// seq is the Sequence of the last PriceTick published, once seeded:
	// on the first tick of a leadership it is read from the newest tick
	// the bus retains (see lastSequence), so the stream continues.
	seq    uint64
	seeded bool
	// minute is the open minute bar.
	minute Bar
	// hourBase and dayBase aggregate the closed minutes of the open hour
	// and day; nil when there are none.
	hourBase, dayBase *marketgraph.Candle
}

// candleKey identifies a stored candle.
type candleKey struct {
	asset    string
	interval marketgraph.CandleInterval
	start    int64
}

func keyOf(c *marketgraph.Candle) candleKey {
	return candleKey{c.AssetID, c.Interval, c.Start.Unix()}
}

// signalKey is an asset's series of one interval.
type signalKey struct {
	asset    string
	interval marketgraph.CandleInterval
}

// rolledUp are the intervals built from minutes, and on which signals are
// computed.
var rolledUp = [...]marketgraph.CandleInterval{marketgraph.IntervalHour, marketgraph.IntervalDay}

// bar returns the aggregate of interval (HOUR or DAY) as it stands: its
// base extended with the open minute.
func (s *assetState) bar(interval marketgraph.CandleInterval) *marketgraph.Candle {
	m := s.minute.Candle()
	base := s.hourBase
	if interval == marketgraph.IntervalDay {
		base = s.dayBase
	}
	if base == nil {
		return begin(interval, truncate(m.Start, interval.Duration()), m)
	}
	c := *base
	extend(&c, m)
	return &c
}

// roll closes the open minute because a tick of the later minute start has
// come: the closed minute joins the hour and day bases if start is in the
// same hour and day, else those bases are done with. It returns the
// intervals whose bar closed.
func (s *assetState) roll(start time.Time) (closed []marketgraph.CandleInterval) {
	m := s.minute.Candle()
	s.minute = Bar{}
	for _, interval := range rolledUp {
		base := &s.hourBase
		if interval == marketgraph.IntervalDay {
			base = &s.dayBase
		}
		d := interval.Duration()
		switch {
		case !truncate(m.Start, d).Equal(truncate(start, d)):
			*base = nil
			closed = append(closed, interval)
		case *base == nil:
			*base = begin(interval, truncate(m.Start, d), m)
		default:
			extend(*base, m)
		}
	}
	return closed
}

// load rebuilds the state of assets the pipeline has none for, from the
// bars stored for the minute, hour and day of their quote: a process taking
// over continues the bars its predecessor left instead of restarting them,
// so an upsert never loses the earlier ticks of a bar. It reads each
// interval once for all the assets.
//
// A stored hour or day bar already includes the stored minute, which will
// be written again as it grows: the base is the stored bar less that
// minute's volume. Its open, high and low may include the minute too, which
// is harmless (the minute only widens its own extremes), and its close is
// replaced by the minute's.
func (p *Pipeline) load(ctx context.Context, quotes []*marketgraph.Quote) (map[string]*assetState, error) {
	ids := make([]string, len(quotes))
	for i, q := range quotes {
		ids[i] = q.AssetID
	}
	stored := map[marketgraph.CandleInterval]map[string]*marketgraph.Candle{}
	for _, interval := range [...]marketgraph.CandleInterval{marketgraph.IntervalMinute, marketgraph.IntervalHour, marketgraph.IntervalDay} {
		d := interval.Duration()
		var from, to time.Time
		for i, q := range quotes {
			s := truncate(q.AsOf, d)
			if i == 0 || s.Before(from) {
				from = s
			}
			if i == 0 || s.After(to) {
				to = s
			}
		}
		to = to.Add(d)
		got, err := p.store.CandlesByAssets(ctx, ids, marketgraph.CandleRange{Interval: interval, From: &from, To: &to})
		if err != nil {
			return nil, fmt.Errorf("load open %s bars: %w", interval, err)
		}
		stored[interval] = map[string]*marketgraph.Candle{}
		for _, q := range quotes {
			s := truncate(q.AsOf, d)
			for _, c := range got[q.AssetID] {
				if c.Start.Equal(s) {
					stored[interval][q.AssetID] = c
				}
			}
		}
	}
	out := make(map[string]*assetState, len(quotes))
	for _, q := range quotes {
		m := stored[marketgraph.IntervalMinute][q.AssetID]
		out[q.AssetID] = &assetState{
			minute:   ResumeBar(m),
			hourBase: without(stored[marketgraph.IntervalHour][q.AssetID], m),
			dayBase:  without(stored[marketgraph.IntervalDay][q.AssetID], m),
		}
	}
	return out, nil
}

// without returns a copy of the aggregate agg less the volume of the minute
// m it contains; nil when agg is nil.
func without(agg, m *marketgraph.Candle) *marketgraph.Candle {
	if agg == nil {
		return nil
	}
	c := *agg
	c.Start = c.Start.UTC()
	if m != nil {
		c.Volume = max(0, c.Volume-m.Volume)
	}
	return &c
}
