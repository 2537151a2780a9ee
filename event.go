package marketgraph

import "time"

// PriceTick is one live quote of one asset as the ingest pipeline published
// it. It travels between processes as JSON (the Redis bus carries it), so
// its JSON field names are part of the wire format and must not change.
type PriceTick struct {
	AssetID string `json:"assetId"`
	Quote   *Quote `json:"quote"`
	// Sequence increases by exactly one from one tick of the asset's stream
	// to the next, so a subscriber can tell a gap from a quiet market, and
	// can resume after its last one. A process that takes over ingest
	// continues from the newest tick the bus retains of the asset, so with
	// a shared (Redis) bus the numbering survives the takeover; it starts
	// again from 1 only when the bus retains nothing of the asset (an
	// in-process bus after a restart, or a history expired).
	Sequence uint64 `json:"sequence"`
	// At is when the tick was published, not when the price was observed
	// (that is Quote.AsOf): subscribers measure delivery latency against it,
	// and a resumed subscription replays only the ticks of its window.
	At time.Time `json:"at"`
	// Delivery says how one subscriber came to receive this tick. It is
	// not part of the wire format: the bus carries ticks, the subscription
	// layer sets it for each subscriber.
	Delivery TickDelivery `json:"-"`
	// Asset is the tick's asset, attached by the subscription layer from
	// its catalog before the tick is sent (the GraphQL field reads it
	// without a loader); not part of the wire format.
	Asset *Asset `json:"-"`
}

// SequenceNumber is Sequence as a GraphQL Int, which is signed: a sequence
// beyond the largest int is reported as the largest (no stream lives that
// long).
func (t *PriceTick) SequenceNumber() int {
	return int(min(t.Sequence, uint64(maxInt)))
}

const maxInt = int(^uint(0) >> 1)

// TickDelivery is how a subscriber came to receive a PriceTick.
type TickDelivery string

// The ways a tick reaches a subscriber.
const (
	// DeliveryLive is a tick sent as it was published.
	DeliveryLive TickDelivery = "LIVE"
	// DeliveryReplay is a tick the subscriber missed while away, sent
	// again from the retained history on resumption, in order, before the
	// live ones.
	DeliveryReplay TickDelivery = "REPLAY"
	// DeliveryResync is the newest tick of an asset sent on resumption when
	// some of the ticks missed are no longer retained: the gap cannot be
	// filled, and this is the current state.
	DeliveryResync TickDelivery = "RESYNC"
)

// SignalEvent announces a trading signal that was just stored for the first
// time. It is a wrapper rather than a bare Signal so that fields about the
// event itself can be added later without touching Signal; its JSON field
// names are part of the wire format.
type SignalEvent struct {
	Signal *Signal `json:"signal"`
}

// Topic prefixes of the event bus. A topic is a prefix and an asset id, so a
// subscriber to one asset receives nothing about the others.
const (
	tickTopicPrefix    = "ticks."
	signalTopicPrefix  = "signals."
	accountTopicPrefix = "accounts."
)

// AccountTopic is the topic of the events that concern one account and no
// one else ("accounts.<accountID>"): its price alerts firing, for one. Only
// subscriptions authenticated as that account read it (see the resolvers'
// accountEvents); its payloads are JSON objects whose shape each event kind
// defines.
func AccountTopic(accountID string) string { return accountTopicPrefix + accountID }

// TickTopic is the topic the price ticks of an asset are published on:
// "ticks.<assetID>". Its payloads are JSON PriceTicks.
func TickTopic(assetID string) string { return tickTopicPrefix + assetID }

// SignalTopic is the topic new signals of an asset are published on:
// "signals.<assetID>". Its payloads are JSON SignalEvents.
func SignalTopic(assetID string) string { return signalTopicPrefix + assetID }
