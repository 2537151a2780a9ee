package pubsub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
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
	// Prefix is put before each topic to name its Redis channel
	// (DefaultPrefix when empty).
	Prefix string
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
type Redis struct {
	prefix string
	buffer int
	log    *slog.Logger
	client *redis.Client
	ps     *redis.PubSub
	subs   fanout

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
	opts, redacted, err := parseRedisURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	client := redis.NewClient(opts)
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, fmt.Errorf("pubsub: cannot reach Redis at REDIS_URL %s: %w", redacted, err)
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
		log:    cfg.Logger.With("component", "pubsub", "redis", redacted),
		client: client,
		ps:     client.Subscribe(ctx), // no channel yet: connects lazily
		subs:   newFanout(),
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.wg.Add(2)
	go b.read()
	go b.probe()
	return b, nil
}

// parseRedisURL parses REDIS_URL and returns it with its password masked,
// for messages. The parsers' own errors may quote the whole URL, password
// included, so they are never passed on as they are.
func parseRedisURL(raw string) (*redis.Options, string, error) {
	if raw == "" {
		return nil, "", errors.New("pubsub: REDIS_URL is empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		reason := "malformed URL"
		if ue, ok := errors.AsType[*url.Error](err); ok {
			reason = ue.Err.Error() // the cause alone, without the URL
		}
		return nil, "", fmt.Errorf("pubsub: REDIS_URL is not a valid URL: %s", reason)
	}
	redacted := u.Redacted()
	opts, err := redis.ParseURL(raw)
	if err != nil {
		reason := err.Error()
		if pw, ok := u.User.Password(); ok && pw != "" {
			reason = strings.ReplaceAll(reason, pw, "xxxxx")
		}
		return nil, "", fmt.Errorf("pubsub: REDIS_URL %s is not a valid Redis URL: %s", redacted, reason)
	}
	return opts, redacted, nil
}

// Publish sends payload to the subscribers of topic on every replica,
// this one included (the payload comes back through Redis). It fails while
// Redis is unreachable.
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
	if err := b.client.Publish(ctx, b.prefix+topic, payload).Err(); err != nil {
		return fmt.Errorf("pubsub: publish to %s: %w", topic, err)
	}
	return nil
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
