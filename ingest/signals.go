package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/indicator"
)

// signalWindow is how many bars signals are computed on. The slowest
// indicator, SMA50, needs 51 bars to see a cross; the rest of the window
// lets Wilder's RSI smoothing forget its starting point (its weight decays
// as (13/14)^n, below 0.2 % after 86 bars), so a bar's RSI barely depends on
// where the window begins.
const signalWindow = 100

// computeSignals computes the signals of every bar that closed (see
// Pipeline.closed): for each interval, one read of the last signalWindow
// bars of all the assets concerned, then indicator.Signals on each, keeping
// only the signals of the newest closed bar: older bars had their turn when
// they closed, and re-deciding them on a shorter window could invent
// signals the full history never had. The signals are stored with one
// InsertSignals and the ones that were new are published. Nothing is
// forgotten when a read or the insert fails: the next tick tries again.
func (p *Pipeline) computeSignals(ctx context.Context) error {
	if len(p.closed) == 0 {
		return nil
	}
	var found []*marketgraph.Signal
	for _, interval := range rolledUp {
		var ids []string
		var to time.Time
		for k, open := range p.closed {
			if k.interval == interval {
				ids = append(ids, k.asset)
				if open.After(to) {
					to = open
				}
			}
		}
		if len(ids) == 0 {
			continue
		}
		slices.Sort(ids)
		got, err := p.store.CandlesByAssets(ctx, ids, marketgraph.CandleRange{Interval: interval, To: &to, Last: signalWindow})
		if err != nil {
			return fmt.Errorf("read %s bars for signals: %w", interval, err)
		}
		for _, id := range ids {
			found = append(found, closedBarSignals(id, interval, got[id], p.closed[signalKey{id, interval}])...)
		}
	}
	var fresh []*marketgraph.Signal
	if len(found) > 0 {
		var err error
		if fresh, err = p.store.InsertSignals(ctx, found); err != nil {
			return fmt.Errorf("store %d signals: %w", len(found), err)
		}
	}
	clear(p.closed)
	return p.publishSignals(ctx, fresh)
}

// closedBarSignals returns the signals of the newest bar of bars that
// starts before open (the bar still open), computed on the bars up to it.
func closedBarSignals(id string, interval marketgraph.CandleInterval, bars []*marketgraph.Candle, open time.Time) []*marketgraph.Signal {
	n := len(bars)
	for n > 0 && !bars[n-1].Start.Before(open) {
		n--
	}
	if n == 0 {
		return nil
	}
	bars = bars[:n]
	closeAt := bars[n-1].Start.Add(interval.Duration())
	var out []*marketgraph.Signal
	for _, s := range indicator.Signals(id, interval, bars) {
		if s.EmittedAt.Equal(closeAt) {
			out = append(out, s)
		}
	}
	return out
}

// publishSignals publishes each new signal as a SignalEvent on its asset's
// topic.
func (p *Pipeline) publishSignals(ctx context.Context, signals []*marketgraph.Signal) error {
	if p.bus == nil {
		return nil
	}
	var errs []error
	for _, s := range signals {
		payload, err := json.Marshal(marketgraph.SignalEvent{Signal: s})
		if err == nil {
			err = p.bus.Publish(ctx, marketgraph.SignalTopic(s.AssetID), payload)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("publish signal %s: %w", s.ID, err))
		}
	}
	return errors.Join(errs...)
}
