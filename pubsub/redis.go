package pubsub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/marketgraph/marketgraph/internal/redisconn"
)

// DefaultPrefix is put before every topic to make its Redis channel name,
// so the buses of several applications can share one Redis.
const DefaultPrefix = "marketgraph:"

// Reconnection and liveness timing. go-redis redials a broken pub/sub
// connection on the next read but without any backoff, so the reader waits
// between failed attempts itself. A healthy connection answers a ping every
// probeInterval; a read that sees nothing for readDeadline means the
// connection is dead even if TCP has not noticed (a host gone without a
// reset), and go-redis drops it.
const (
	minBackoff    = 100 * time.Millisecond
	maxBackoff    = 5 * time.Second
	probeInterval = 5 * time.Second
	readDeadline  = 3 * probeInterval
	opTimeout     = 5 * time.Second
)

// RedisConfig configures NewRedis.
type RedisConfig struct {
	// URL is the Redis URL, as in REDIS_URL (redis://user:pass@host:6379/0).
	URL string
	// Buffer is how many payloads each subscription holds (DefaultBuffer
	// when < 1).
	Buffer int
	// Logger receives the loss and the recovery of the Redis connection
	// (nil discards them).
	Logger *slog.Logger
	// Prefix is put before each topic to name its Redis channel, and
	// before "history:" and the topic to name its history list
	// (DefaultPrefix when empty).
	Prefix string
	// Retention is which topics keep a history, shared by every replica
	// in a Redis list; the zero value keeps none. It is applied by the
	// publisher: the bus that publishes trims the list.
	Retention Retention
}

// Redis is the Bus shared by several replicas through Redis pub/sub. A
// payload published on any replica reaches the subscribers of every
// replica.
//
// Each process holds ONE Redis connection for all its subscriptions and
// one Redis subscription per topic, however many local subscribers the
// topic has: the first local subscriber subscribes the channel in Redis,
// the last one leaving unsubscribes it. One goroutine reads the connection
// and fans each payload out to the local subscribers exactly as Local does
// (one shared []byte per message, drop-oldest buffers).
//
// When Redis goes away the process keeps serving: local subscriptions stay
// open (they just receive nothing), the reader reconnects with capped
// exponential backoff and resubscribes every channel, Health reports
// "reconnecting" meanwhile, and Publish fails. Payloads published while
// the connection is down are lost (at most once delivery).
//
// A retained topic's payloads are also kept in a Redis list, the newest
// Retention.Count of them: one Lua script appends, trims, sets the expiry
// and publishes, so the list and the channel never disagree about what was
// published, and every replica reads the same history.
type Redis struct {
	prefix string
	buffer int
	retain Retention
	log    *slog.Logger
	client *redis.Client
	ps     *redis.PubSub
	subs   fanout

	// syncs are the History calls waiting for their PING to come back on
	// the pub/sub connection, by token (see sync).
	syncMu sync.Mutex
	syncs  map[string]chan error
	syncN  atomic.Uint64

	// topicMu serialises a topic's first subscriber arriving and its last
	// one leaving with the SUBSCRIBE or UNSUBSCRIBE each causes, so Redis
	// is subscribed exactly to the topics that have local subscribers.
	topicMu sync.Mutex

	closed   atomic.Bool
	degraded atomic.Bool
	lostAt   atomic.Int64 // unix nanoseconds, for the recovery log line

	ctx    context.Context // ends on Close; stops the goroutines
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

var _ Bus = (*Redis)(nil)

// NewRedis connects to the Redis at cfg.URL and pings it once, so that a
// wrong or unreachable REDIS_URL fails start-up rather than the first
// publish. Errors name REDIS_URL and never contain its password.
func NewRedis(ctx context.Context, cfg RedisConfig) (*Redis, error) {
	// Not bounded: the reader's blocking receive has its own deadline,
	// and publishes may retry a broken connection.
	client, redacted, err := redisconn.Dial(ctx, cfg.URL, false)
	if err != nil {
		return nil, fmt.Errorf("pubsub: %w", err)
	}
	if cfg.Buffer < 1 {
		cfg.Buffer = DefaultBuffer
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	b := &Redis{
		prefix: cfg.Prefix,
		buffer: cfg.Buffer,
		retain: cfg.Retention,
		log:    cfg.Logger.With("component", "pubsub", "redis", redacted),
		client: client,
		ps:     client.Subscribe(ctx), // no channel yet: connects lazily
		subs:   newFanout(),
		syncs:  map[string]chan error{},
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.wg.Add(2)
	go b.read()
	go b.probe()
	return b, nil
}

// publishScript appends a payload to its topic's history, trims the
// history to the retained count, renews its expiry and publishes the
// payload, atomically: a reader of the history never sees a payload that
// was not published, nor misses one that was.
//
// KEYS[1] is the history list; ARGV is the payload, the count, the expiry
// in milliseconds and the channel.
var publishScript = redis.NewScript(`
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return redis.call('PUBLISH', ARGV[4], ARGV[1])
`)

// Publish sends payload to the subscribers of topic on every replica,
// this one included (the payload comes back through Redis), and records it
// in topic's history when topic has one. It fails while Redis is
// unreachable.
func (b *Redis) Publish(ctx context.Context, topic string, payload []byte) error {
	if topic == "" {
		return errEmptyTopic
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if b.closed.Load() {
		return ErrClosed
	}
	var err error
	if b.retain.keeps(topic) {
		err = publishScript.Run(ctx, b.client, []string{b.historyKey(topic)},
			payload, b.retain.Count, b.retain.ttl().Milliseconds(), b.prefix+topic).Err()
	} else {
		err = b.client.Publish(ctx, b.prefix+topic, payload).Err()
	}
	if err != nil {
		return fmt.Errorf("pubsub: publish to %s: %w", topic, err)
	}
	return nil
}

// historyKey is the Redis list holding topic's history.
func (b *Redis) historyKey(topic string) string { return b.prefix + "history:" + topic }

// History returns up to max of the newest payloads retained for topic,
// oldest first (all of them when max < 1), from the list every replica
// shares.
//
// When this process subscribes to topic, History first makes sure Redis
// has processed that subscription (see sync): a SUBSCRIBE is only sent, not
// confirmed, when Subscribe returns, and a payload published between
// reading the list and Redis processing the SUBSCRIBE would otherwise be
// in neither.
func (b *Redis) History(ctx context.Context, topic string, max int) ([][]byte, error) {
	if topic == "" {
		return nil, errEmptyTopic
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if b.closed.Load() {
		return nil, ErrClosed
	}
	if !b.retain.keeps(topic) {
		return nil, nil
	}
	if b.subs.count(topic) > 0 {
		if err := b.sync(ctx); err != nil {
			return nil, fmt.Errorf("pubsub: history of %s: confirming the subscription: %w", topic, err)
		}
	}
	start := int64(0)
	if max > 0 {
		start = -int64(max)
	}
	vals, err := b.client.LRange(ctx, b.historyKey(topic), start, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("pubsub: history of %s: %w", topic, err)
	}
	out := make([][]byte, len(vals))
	for i, v := range vals {
		out[i] = []byte(v)
	}
	return out, nil
}

// errConnLost fails the syncs whose PING was lost with the connection.
var errConnLost = errors.New("pubsub: Redis connection lost")

// sync returns once Redis has processed every command this process sent
// on its pub/sub connection so far, SUBSCRIBEs included: it sends a PING
// with a token of its own on that connection and waits for the reader to
// see the answer. Redis runs one connection's commands in order, and
// go-redis sends the SUBSCRIBEs of a new connection before anything else
// on it, so the answer means every channel subscribed before the call is
// live in Redis.
func (b *Redis) sync(ctx context.Context) error {
	token := "sync-" + strconv.FormatUint(b.syncN.Add(1), 10)
	done := make(chan error, 1)
	b.syncMu.Lock()
	b.syncs[token] = done
	b.syncMu.Unlock()
	defer func() {
		b.syncMu.Lock()
		delete(b.syncs, token)
		b.syncMu.Unlock()
	}()
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	if err := b.ps.Ping(ctx, token); err != nil {
		return err
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-b.ctx.Done():
		return ErrClosed
	}
}

// synced ends the sync waiting for token, if any, with err.
func (b *Redis) synced(token string, err error) {
	b.syncMu.Lock()
	defer b.syncMu.Unlock()
	if done, ok := b.syncs[token]; ok {
		done <- err
		delete(b.syncs, token)
	}
}

// failSyncs ends every waiting sync with err: their PINGs went with the
// connection.
func (b *Redis) failSyncs(err error) {
	b.syncMu.Lock()
	defer b.syncMu.Unlock()
	for token, done := range b.syncs {
		done <- err
		delete(b.syncs, token)
	}
}

// Subscribe subscribes to topic until ctx ends or the subscription or the
// bus is closed. While Redis is unreachable it still succeeds: the channel
// is subscribed in Redis as soon as the connection is back.
func (b *Redis) Subscribe(ctx context.Context, topic string) (*Subscription, error) {
	if topic == "" {
		return nil, errEmptyTopic
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := newSubscription(topic, b.buffer, b.detach)
	b.topicMu.Lock()
	first, err := b.subs.add(s)
	if err == nil && first {
		// go-redis remembers the channel even when this fails and
		// subscribes it again on every reconnection; the reader reports
		// the lost connection.
		if err := b.ps.Subscribe(ctx, b.prefix+topic); err != nil {
			b.log.Debug("subscribe deferred until Redis is back", "topic", topic, "err", err)
		}
	}
	b.topicMu.Unlock()
	if err != nil {
		return nil, err
	}
	s.watch(ctx)
	return s, nil
}

// detach removes s from its topic, and the topic from Redis if s was its
// last local subscriber.
func (b *Redis) detach(s *Subscription) {
	b.topicMu.Lock()
	defer b.topicMu.Unlock()
	if !b.subs.remove(s) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	// On failure go-redis has forgotten the channel anyway, so the next
	// connection will not subscribe it.
	if err := b.ps.Unsubscribe(ctx, b.prefix+s.topic); err != nil {
		b.log.Debug("unsubscribe failed", "topic", s.topic, "err", err)
	}
}

// Subscribers returns how many local subscriptions topic has now: for
// tests and metrics.
func (b *Redis) Subscribers(topic string) int { return b.subs.count(topic) }

// Health reports the state of the Redis connection for readiness checks:
// "ok", "reconnecting" (degraded: subscribers receive nothing, publishes
// fail) or, after Close, "closed".
func (b *Redis) Health() (state string, degraded bool) {
	switch {
	case b.closed.Load():
		return "closed", true
	case b.degraded.Load():
		return "reconnecting", true
	default:
		return "ok", false
	}
}

// Close ends every subscription, stops the reader and closes the Redis
// connections. It is safe to call more than once.
func (b *Redis) Close() error {
	var err error
	b.once.Do(func() {
		b.closed.Store(true)
		b.subs.close()
		b.cancel()
		b.ps.Close() // unblocks the reader
		b.wg.Wait()
		err = b.client.Close()
	})
	return err
}
