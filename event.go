package marketgraph

import "time"

// PriceTick is one live quote of one asset as the ingest pipeline published
// it. It travels between processes as JSON (the Redis bus carries it), so
// its JSON field names are part of the wire format and must not change.
type PriceTick struct {
	AssetID string `json:"assetId"`
	Quote   *Quote `json:"quote"`
	// Sequence increases by exactly one from one tick of the asset's stream
	// to the next, so a subscriber can tell a gap from a quiet market. It is
	// kept in the memory of the publishing process: when another process
	// takes over ingest, the stream starts again from 1.
	Sequence uint64 `json:"sequence"`
	// At is when the tick was published, not when the price was observed
	// (that is Quote.AsOf): subscribers measure delivery latency against it.
	At time.Time `json:"at"`
}

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
	tickTopicPrefix   = "ticks."
	signalTopicPrefix = "signals."
)

// TickTopic is the topic the price ticks of an asset are published on:
// "ticks.<assetID>". Its payloads are JSON PriceTicks.
func TickTopic(assetID string) string { return tickTopicPrefix + assetID }

// SignalTopic is the topic new signals of an asset are published on:
// "signals.<assetID>". Its payloads are JSON SignalEvents.
func SignalTopic(assetID string) string { return signalTopicPrefix + assetID }
