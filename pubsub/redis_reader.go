package pubsub

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// read is the one goroutine that reads the pub/sub connection and hands
// each message to the local subscribers of its topic. It never waits for a
// subscriber, so a slow one cannot hold up the others or the connection.
func (b *Redis) read() {
	defer b.wg.Done()
	backoff := minBackoff
	for {
		msg, err := b.receive()
		if b.ctx.Err() != nil {
			return
		}
		if err != nil {
			b.lost(err)
			select {
			case <-time.After(backoff):
			case <-b.ctx.Done():
				return
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		backoff = minBackoff
		b.recovered()
		switch m := msg.(type) {
		case *redis.Message:
			if topic, ok := strings.CutPrefix(m.Channel, b.prefix); ok {
				// One copy per message, shared by every subscriber.
				b.subs.deliver(topic, []byte(m.Payload))
			}
		case *redis.Pong:
			b.synced(m.Payload, nil)
		}
	}
}

// receive waits for the next message, confirmation or pong. go-redis dials
// again (and subscribes every remembered channel) when the connection is
// gone; a read past readDeadline counts as a broken connection, which
// go-redis then drops. While degraded, a ping first makes a fresh
// connection answer even when no channel is subscribed.
func (b *Redis) receive() (any, error) {
	ctx, cancel := context.WithTimeout(b.ctx, readDeadline)
	defer cancel()
	if b.degraded.Load() {
		if err := b.ps.Ping(ctx); err != nil {
			return nil, err
		}
	}
	return b.ps.Receive(ctx)
}

// probe pings on the pub/sub connection while it is healthy, so that a
// live connection always has something to read before readDeadline.
func (b *Redis) probe() {
	defer b.wg.Done()
	t := time.NewTicker(probeInterval)
	defer t.Stop()
	for {
		select {
		case <-b.ctx.Done():
			return
		case <-t.C:
		}
		if b.degraded.Load() {
			continue // the reader probes while reconnecting
		}
		ctx, cancel := context.WithTimeout(b.ctx, opTimeout)
		// A failed write makes go-redis drop the connection; the reader
		// then sees the error and reports it.
		_ = b.ps.Ping(ctx)
		cancel()
	}
}

// lost marks the bus degraded, logging only the first failure of an
// outage, and fails the syncs waiting for an answer on the lost connection.
func (b *Redis) lost(err error) {
	b.failSyncs(fmt.Errorf("%w: %w", errConnLost, err))
	if b.degraded.CompareAndSwap(false, true) {
		b.lostAt.Store(time.Now().UnixNano())
		b.log.Warn("pubsub: lost the Redis connection; reconnecting", "err", err)
	}
}

// recovered clears the degraded state, logging the end of an outage once.
func (b *Redis) recovered() {
	if b.degraded.CompareAndSwap(true, false) {
		down := time.Since(time.Unix(0, b.lostAt.Load()))
		b.log.Info("pubsub: Redis connection recovered", "down", down.Round(time.Millisecond))
	}
}
