// Package tickhub is the fast path of priceTicks subscriptions. gqlgen
// executes a subscription's selection set for every event of every
// subscriber, on a goroutine per subscription; for a tick stream with ten
// thousand subscribers that is most of the server's CPU and memory. The hub
// instead holds one bus subscription per asset, not per subscriber, encodes
// each tick once per distinct selection (a Plan) exactly as gqlgen would,
// and hands the shared bytes to every subscriber's Receiver (a WebSocket's
// send queue), which must not block.
//
// Ticks are delivered in rounds: the publisher sends every asset's tick at
// about the same moment, so the hub gathers the ticks that arrive within
// Config.Window of the first, queues all of them with their subscribers,
// then sends each subscriber's queue once. A socket subscribed to ten
// assets, in one operation or several, gets one write per round rather than
// up to ten; at ten thousand sockets the writes are most of what a tick
// costs.
//
// Subscribe-time work stays with gqlgen: the transport compiles a plan
// (Hub.Compile) for a document it qualifies, then dispatches the operation
// as usual with a Claim in the context; validation, scopes, costs and the
// priceTicks resolver run unchanged, and the resolver takes the claim when
// its arguments suit the fast path (no resumeFrom, no minIntervalMs, USD).
// Only then does the transport subscribe the operation to the hub.
package tickhub

import (
	"context"
	"encoding/json"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/pubsub"
)

// Receiver takes the ticks of one subscription.
type Receiver interface {
	// Deliver queues the ticks of one round, one per asset, behind what
	// the receiver has not sent yet; a newer tick of an asset may replace
	// one still waiting. It must not block, nor keep ticks, a slice the
	// hub reuses. The hub calls it once per round for every subscription
	// with a tick in the round, on its delivery goroutine or a helper of
	// the round: Delivers of different receivers may run at once, never
	// two of the same receiver. It may come after the subscription was
	// closed.
	//
	// It returns what sends the queued ticks, or nil. The hub calls Send
	// on each sender returned once it has queued its share of the round:
	// receivers sharing a connection return it only when no Send of it is
	// due already, so that their ticks leave together.
	Deliver(ticks []*Encoded) Sender
}

// Sender sends what Deliver queued, without blocking. The hub may call the
// same sender more than once in a round, from several goroutines at once,
// and beside other receivers' Delivers.
type Sender interface {
	Send()
}

// Config is what New needs.
type Config struct {
	// Bus carries the ticks (marketgraph.TickTopic).
	Bus pubsub.Bus
	// Assets reloads assets whose copy is older than AssetTTL, so that a
	// renamed or re-ranked asset shows; nil keeps the assets subscribers
	// brought.
	Assets func(ctx context.Context, ids []string) ([]*marketgraph.Asset, error)
	// Log receives undecodable payloads and failed reloads. nil discards.
	Log *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Window is how long the hub gathers the ticks of a round after the
	// first arrives, before delivering them together. 0 means
	// DefaultWindow; a negative value delivers what has arrived at once.
	Window time.Duration
}

// DefaultWindow is Config.Window's default: enough for the ticks one
// publish round sends at once to arrive, short next to a second.
const DefaultWindow = 5 * time.Millisecond

// AssetTTL is how long the hub trusts an asset before reloading it, as the
// resolvers' catalog does.
const AssetTTL = 30 * time.Second

// Hub fans ticks out to fast-path subscribers. Its methods are safe for
// concurrent use.
type Hub struct {
	cfg    Config
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	closed bool
	topics map[string]*topic
	plans  map[string]*Plan

	// The round being gathered: the newest tick of each topic, in the
	// order the topics' first ticks came; wake tells the delivery
	// goroutine that there is one.
	roundMu sync.Mutex
	pending map[*topic]*marketgraph.PriceTick
	order   []*topic
	wake    chan struct{}
	// round numbers the rounds; touched is the subscriptions delivered
	// to in the current one. Only the delivery goroutine uses them.
	round   uint64
	touched []*Subscription
	// scratch holds each delivering goroutine's ticks of a subscription
	// and its senders.
	scratch []scratch
}

// scratch is a delivering goroutine's buffers, kept from round to round.
type scratch struct {
	ticks   []*Encoded
	senders []Sender
}

// topic is the subscribers of one asset's ticks, by plan.
type topic struct {
	id  string
	sub *pubsub.Subscription
	n   int // subscribers; the hub's mu guards it

	mu      sync.Mutex
	asset   *marketgraph.Asset
	assetAt time.Time
	byPlan  map[*Plan]map[*Subscription]struct{}

	// round is the last round with a tick of the topic, and encs that
	// tick as each plan wrote it. The delivery goroutine writes them
	// before a round's deliveries start, which read them.
	round uint64
	encs  []planned
}

// planned is a tick as one plan wrote it.
type planned struct {
	plan *Plan
	enc  *Encoded
}

// New returns a hub reading cfg.Bus. Close it to release its goroutines.
func New(cfg Config) *Hub {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Window == 0 {
		cfg.Window = DefaultWindow
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &Hub{
		cfg: cfg, ctx: ctx, cancel: cancel, topics: map[string]*topic{}, plans: map[string]*Plan{},
		pending: map[*topic]*marketgraph.PriceTick{}, wake: make(chan struct{}, 1),
	}
	h.wg.Add(1)
	go h.deliverRounds()
	return h
}

// Compile returns the plan of the operation in opCtx, the same Plan for
// every operation selecting the same fields under the same names, or false
// when the operation must take the general path (see the package comment).
func (h *Hub) Compile(opCtx *graphql.OperationContext) (*Plan, bool) {
	if opCtx == nil {
		return nil, false
	}
	p, ok := compile(opCtx.Operation)
	if !ok {
		return nil, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if q, ok := h.plans[p.key]; ok {
		return q, true
	}
	if len(h.plans) < maxPlans {
		h.plans[p.key] = p
	}
	return p, true
}

// maxPlans bounds the plans kept for sharing: beyond it, new selections get
// a plan of their own (correct, only not shared).
const maxPlans = 1000

// Subscription is one operation's subscription to the hub.
type Subscription struct {
	h    *Hub
	plan *Plan
	r    Receiver
	// topics are the subscription's, in the order of its assets; set
	// before the subscription joins them, never changed after.
	topics []*topic
	once   sync.Once
	// round is the last round that delivered to the subscription (see
	// Hub.deliver).
	round uint64
}

// Subscribe delivers to r, from now on, the ticks of assets encoded with
// plan, until the subscription is closed. The assets are those the resolver
// loaded: their data is what the ticks carry. Returns pubsub.ErrClosed
// after Close and the bus's error.
func (h *Hub) Subscribe(plan *Plan, assets []*marketgraph.Asset, r Receiver) (*Subscription, error) {
	s := &Subscription{h: h, plan: plan, r: r}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, pubsub.ErrClosed
	}
	s.topics = make([]*topic, 0, len(assets))
	for _, a := range assets {
		t := h.topics[a.ID]
		if t == nil {
			bs, err := h.cfg.Bus.Subscribe(h.ctx, marketgraph.TickTopic(a.ID))
			if err != nil {
				h.release(s)
				return nil, err
			}
			t = &topic{id: a.ID, sub: bs, byPlan: map[*Plan]map[*Subscription]struct{}{}}
			h.topics[a.ID] = t
			h.wg.Add(1)
			go h.read(t)
		}
		t.n++
		s.topics = append(s.topics, t)
	}
	now := h.cfg.Now()
	for i, t := range s.topics {
		t.mu.Lock()
		t.asset, t.assetAt = assets[i], now
		m := t.byPlan[plan]
		if m == nil {
			m = map[*Subscription]struct{}{}
			t.byPlan[plan] = m
		}
		m[s] = struct{}{}
		t.mu.Unlock()
	}
	return s, nil
}

// Close stops the deliveries: the subscription leaves its topics, so no
// later round delivers to it (one already gathered may still: see
// Receiver). Safe to call more than once.
func (s *Subscription) Close() {
	s.once.Do(func() {
		s.h.mu.Lock()
		defer s.h.mu.Unlock()
		s.h.release(s)
	})
}

// release removes s from its topics, and topics left without subscribers
// from the hub. h.mu is held.
func (h *Hub) release(s *Subscription) {
	for _, t := range s.topics {
		t.mu.Lock()
		if m := t.byPlan[s.plan]; m != nil {
			delete(m, s)
			if len(m) == 0 {
				delete(t.byPlan, s.plan)
			}
		}
		t.mu.Unlock()
		t.n--
		if t.n == 0 && h.topics[t.id] == t {
			delete(h.topics, t.id)
			t.sub.Close()
		}
	}
}

// read adds the ticks of t to the round until its bus subscription ends.
func (h *Hub) read(t *topic) {
	defer h.wg.Done()
	for payload := range t.sub.C {
		tick := new(marketgraph.PriceTick)
		if err := json.Unmarshal(payload, tick); err != nil || tick.AssetID != t.id || tick.Quote == nil {
			h.cfg.Log.Warn("tickhub: undecodable tick skipped", "topic", t.sub.Topic())
			continue
		}
		tick.Delivery = marketgraph.DeliveryLive
		h.refresh(t)
		h.roundMu.Lock()
		if _, ok := h.pending[t]; !ok {
			h.order = append(h.order, t)
		}
		// A newer tick of an asset replaces one still gathered, as a
		// socket's queue would have replaced it.
		h.pending[t] = tick
		h.roundMu.Unlock()
		select {
		case h.wake <- struct{}{}:
		default:
		}
	}
}

// deliverRounds delivers a round Window after its first tick came, until
// the hub closes.
func (h *Hub) deliverRounds() {
	defer h.wg.Done()
	var timer *time.Timer
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-h.wake:
		}
		if h.cfg.Window > 0 {
			if timer == nil {
				timer = time.NewTimer(h.cfg.Window)
			} else {
				timer.Reset(h.cfg.Window)
			}
			select {
			case <-h.ctx.Done():
				timer.Stop()
				return
			case <-timer.C:
			}
		}
		h.roundMu.Lock()
		order, pending := h.order, h.pending
		h.order, h.pending = nil, make(map[*topic]*marketgraph.PriceTick, len(pending))
		h.roundMu.Unlock()
		h.deliver(order, pending)
	}
}

// deliver encodes each tick of a round once per plan, then hands every
// subscription its ticks of the round at once: a subscription's receiver
// is touched once a round, not once per asset, and at ten thousand sockets
// each touch is a cache miss.
func (h *Hub) deliver(order []*topic, ticks map[*topic]*marketgraph.PriceTick) {
	if len(order) == 0 {
		return
	}
	h.round++
	for _, t := range order {
		tick := ticks[t]
		t.mu.Lock()
		t.encs = t.encs[:0]
		for p, subs := range t.byPlan {
			enc, ok := p.encode(tick, t.asset)
			if !ok {
				continue
			}
			t.encs = append(t.encs, planned{p, enc})
			for s := range subs {
				if s.round != h.round {
					s.round = h.round
					h.touched = append(h.touched, s)
				}
			}
		}
		t.round = h.round
		t.mu.Unlock()
	}
	h.deliverAll()
	clear(h.touched)
	h.touched = h.touched[:0]
}

// deliverPerWorker is the fewest subscriptions worth a goroutine of their
// own in deliverAll: below it, starting one costs more than it saves.
const deliverPerWorker = 256

// deliverAll delivers the round to the touched subscriptions, shared among
// up to GOMAXPROCS goroutines when there are many: a delivery is a write
// to the network, and those writes are most of what a round costs, so they
// use every core the process has.
func (h *Hub) deliverAll() {
	subs := h.touched
	workers := max(1, min(runtime.GOMAXPROCS(0), len(subs)/deliverPerWorker))
	for len(h.scratch) < workers {
		h.scratch = append(h.scratch, scratch{})
	}
	per := (len(subs) + workers - 1) / workers
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		part, sc := subs[min(w*per, len(subs)):min((w+1)*per, len(subs))], &h.scratch[w]
		wg.Go(func() { h.deliverTo(part, sc) })
	}
	h.deliverTo(subs[:min(per, len(subs))], &h.scratch[0])
	wg.Wait()
}

// deliverTo hands each of subs its ticks of the round, then sends them.
func (h *Hub) deliverTo(subs []*Subscription, sc *scratch) {
	for _, s := range subs {
		buf := sc.ticks[:0]
		for _, t := range s.topics {
			if t.round != h.round {
				continue
			}
			for _, pe := range t.encs {
				if pe.plan == s.plan {
					buf = append(buf, pe.enc)
					break
				}
			}
		}
		sc.ticks = buf
		if len(buf) > 0 {
			if snd := s.r.Deliver(buf); snd != nil {
				sc.senders = append(sc.senders, snd)
			}
		}
	}
	for _, snd := range sc.senders {
		snd.Send()
	}
	clear(sc.ticks)
	clear(sc.senders)
	sc.senders = sc.senders[:0]
}

// refresh reloads t's asset when it is older than AssetTTL; a failed reload
// keeps the old one, and is tried again at the next tick.
func (h *Hub) refresh(t *topic) {
	if h.cfg.Assets == nil {
		return
	}
	now := h.cfg.Now()
	t.mu.Lock()
	fresh := now.Sub(t.assetAt) < AssetTTL
	t.mu.Unlock()
	if fresh {
		return
	}
	ctx, cancel := context.WithTimeout(h.ctx, 5*time.Second)
	defer cancel()
	as, err := h.cfg.Assets(ctx, []string{t.id})
	if err != nil || len(as) != 1 || as[0] == nil || as[0].ID != t.id {
		if err != nil {
			h.cfg.Log.Warn("tickhub: asset reload failed", "asset", t.id, "error", err.Error())
		}
		return
	}
	t.mu.Lock()
	t.asset, t.assetAt = as[0], now
	t.mu.Unlock()
}

// Topics returns how many assets the hub reads ticks of now: those with
// at least one subscriber.
func (h *Hub) Topics() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.topics)
}

// Close ends every topic and waits for the hub's goroutines. Subscribers
// receive nothing more; their transports end them as they end.
func (h *Hub) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	h.mu.Unlock()
	h.cancel()
	h.wg.Wait()
}

// Claim is the transport's offer, in the context of an operation it
// compiled a plan for, to deliver the operation's ticks through the hub.
type Claim interface {
	// Take accepts the offer with the assets the operation subscribes to,
	// as the resolver validated and loaded them. The resolver then returns
	// a channel that delivers nothing: the transport takes over.
	Take(assets []*marketgraph.Asset)
}

type claimKey struct{}

// WithClaim returns ctx carrying c.
func WithClaim(ctx context.Context, c Claim) context.Context {
	return context.WithValue(ctx, claimKey{}, c)
}

// ClaimFrom returns the claim in ctx, or nil.
func ClaimFrom(ctx context.Context) Claim {
	c, _ := ctx.Value(claimKey{}).(Claim)
	return c
}
