package tickhub

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/marketgraph/marketgraph"
)

// Plan is a compiled priceTicks selection: how to write a tick's result
// without executing the selection. Subscriptions that select the same
// fields under the same names share one Plan (Hub.Compile interns them), so
// a tick is encoded once per distinct selection, not once per subscriber.
type Plan struct {
	key   string
	root  string // the response name of priceTicks
	tick  []field
	asset bool // whether the selection reads the tick's asset
}

// field is one selected field: its response name, what it reads, and for
// quote and asset the fields selected below it.
type field struct {
	alias string
	kind  kind
	sub   []field
}

type kind int

const (
	kTypename kind = iota // its value is the object's type name, in typename
	kSequence
	kAt
	kDelivery
	kQuote
	kAsset
	kPrice
	kMarketCap
	kVolume24h
	kChange24h
	kCurrency
	kAsOf
	kStale
	kID
	kSymbol
	kName
	kRank
	kCategory
)

// The fields the fast path writes, by type: every one a value of the tick
// or of the asset attached to it. Asset.quote, candles and the like need
// loaders, so a selection with them is not compiled.
var (
	tickFields  = map[string]kind{"__typename": kTypename, "sequence": kSequence, "at": kAt, "delivery": kDelivery, "quote": kQuote, "asset": kAsset}
	quoteFields = map[string]kind{"__typename": kTypename, "price": kPrice, "marketCap": kMarketCap, "volume24h": kVolume24h, "change24h": kChange24h, "currency": kCurrency, "asOf": kAsOf, "stale": kStale}
	assetFields = map[string]kind{"__typename": kTypename, "id": kID, "symbol": kSymbol, "name": kName, "rank": kRank, "category": kCategory}
)

// compile returns the plan of op, or false when op is not a subscription
// whose only root field is priceTicks selecting only fields of tickFields,
// quoteFields and assetFields, without fragments, directives or a response
// name given twice in one selection set (which GraphQL would merge): those
// keep the general path. Arguments are not looked at: the resolver decides
// whether they suit the fast path (see Claim).
func compile(op *ast.OperationDefinition) (*Plan, bool) {
	if op == nil || op.Operation != ast.Subscription || len(op.SelectionSet) != 1 {
		return nil, false
	}
	f, ok := op.SelectionSet[0].(*ast.Field)
	if !ok || f.Name != "priceTicks" || len(f.Directives) > 0 {
		return nil, false
	}
	var key strings.Builder
	key.WriteString(f.Alias)
	p := &Plan{root: f.Alias}
	p.tick, ok = fields(f.SelectionSet, tickFields, &key)
	if !ok {
		return nil, false
	}
	for _, t := range p.tick {
		if t.kind == kAsset {
			p.asset = true
		}
	}
	p.key = key.String()
	return p, true
}

// fields compiles a selection set against the fields allowed, writing its
// normal form to key.
func fields(set ast.SelectionSet, allowed map[string]kind, key *strings.Builder) ([]field, bool) {
	if len(set) == 0 {
		return nil, false
	}
	out := make([]field, 0, len(set))
	seen := map[string]bool{}
	key.WriteByte('{')
	for _, s := range set {
		f, ok := s.(*ast.Field)
		if !ok || len(f.Directives) > 0 || len(f.Arguments) > 0 || seen[f.Alias] {
			return nil, false
		}
		k, ok := allowed[f.Name]
		if !ok {
			return nil, false
		}
		seen[f.Alias] = true
		key.WriteString(f.Alias)
		key.WriteByte(':')
		key.WriteString(f.Name)
		key.WriteByte(' ')
		c := field{alias: f.Alias, kind: k}
		switch {
		case k == kQuote:
			if c.sub, ok = fields(f.SelectionSet, quoteFields, key); !ok {
				return nil, false
			}
		case k == kAsset:
			if c.sub, ok = fields(f.SelectionSet, assetFields, key); !ok {
				return nil, false
			}
		case len(f.SelectionSet) > 0:
			return nil, false
		}
		out = append(out, c)
	}
	key.WriteByte('}')
	return out, true
}

// Encoded is one tick as one plan writes it, shared by every subscriber of
// the plan and the asset.
type Encoded struct {
	// AssetID is the tick's asset: a subscriber's newer tick of the same
	// asset replaces an older one still waiting to be sent.
	AssetID string
	// Data is the GraphQL result's data member, as gqlgen would execute it.
	Data json.RawMessage
	// Payload is the whole result ({"data":...}), as the transports encode
	// a graphql.Response: the payload of a next message.
	Payload json.RawMessage
}

// encode writes t under p. ok is false for a tick the general path would
// not answer with data either: a time that is not set (a non-null field
// gqlgen would answer with an error), or, when the asset is selected, no
// asset. Floats are always finite: they were decoded from JSON.
func (p *Plan) encode(t *marketgraph.PriceTick, a *marketgraph.Asset) (*Encoded, bool) {
	if p.asset && a == nil {
		return nil, false
	}
	var b bytes.Buffer
	b.WriteByte('{')
	graphql.MarshalString(p.root).MarshalGQL(&b)
	b.WriteByte(':')
	if !writeObject(&b, "PriceTick", p.tick, t, a) {
		return nil, false
	}
	b.WriteByte('}')
	data := b.Bytes()
	payload, err := json.Marshal(&graphql.Response{Data: data})
	if err != nil {
		return nil, false
	}
	return &Encoded{AssetID: t.AssetID, Data: data, Payload: payload}, true
}

// writeObject writes one object's selected fields the way gqlgen's
// graphql.FieldSet does, each value through gqlgen's own marshaller for its
// type.
func writeObject(b *bytes.Buffer, typename string, fs []field, t *marketgraph.PriceTick, a *marketgraph.Asset) bool {
	b.WriteByte('{')
	for i, f := range fs {
		if i > 0 {
			b.WriteByte(',')
		}
		graphql.MarshalString(f.alias).MarshalGQL(b)
		b.WriteByte(':')
		q := t.Quote
		var m graphql.Marshaler
		switch f.kind {
		case kTypename:
			m = graphql.MarshalString(typename)
		case kSequence:
			m = graphql.MarshalInt(t.SequenceNumber())
		case kAt:
			m = graphql.MarshalTime(t.At)
		case kDelivery:
			m = graphql.MarshalString(string(marketgraph.DeliveryLive))
		case kQuote:
			if !writeObject(b, "Quote", f.sub, t, a) {
				return false
			}
			continue
		case kAsset:
			if !writeObject(b, "Asset", f.sub, t, a) {
				return false
			}
			continue
		case kPrice:
			m = float(q.Price)
		case kMarketCap:
			m = optFloat(q.MarketCap)
		case kVolume24h:
			m = optFloat(q.Volume24h)
		case kChange24h:
			m = optFloat(q.Change24h)
		case kCurrency:
			m = graphql.MarshalString(currencyNames[q.Currency])
		case kAsOf:
			m = graphql.MarshalTime(q.AsOf)
		case kStale:
			m = graphql.MarshalBoolean(q.Stale)
		case kID:
			m = graphql.MarshalID(a.ID)
		case kSymbol:
			m = graphql.MarshalString(a.Symbol)
		case kName:
			m = graphql.MarshalString(a.Name)
		case kRank:
			m = graphql.MarshalInt(a.Rank)
		case kCategory:
			m = graphql.MarshalString(a.Category)
		}
		if m == graphql.Null && f.kind != kMarketCap && f.kind != kVolume24h && f.kind != kChange24h {
			return false // a non-null field without a value
		}
		m.MarshalGQL(b)
	}
	b.WriteByte('}')
	return true
}

// currencyNames is gqlgen's marshalling of Currency: the enum's name, the
// empty string for a value that is none of them.
var currencyNames = map[marketgraph.Currency]string{
	marketgraph.CurrencyUSD: "USD",
	marketgraph.CurrencyEUR: "EUR",
	marketgraph.CurrencyBTC: "BTC",
	marketgraph.CurrencyETH: "ETH",
}

func float(f float64) graphql.Marshaler {
	return graphql.WrapContextMarshaler(context.Background(), graphql.MarshalFloatContext(f))
}

func optFloat(f *float64) graphql.Marshaler {
	if f == nil {
		return graphql.Null
	}
	return float(*f)
}
