package subload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// wireMsg is one graphql-transport-ws message as the tool reads it. A next
// payload decodes in the same pass; an error payload (a list) does not fit
// Payload and is decoded again, which is rare.
type wireMsg struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Payload struct {
		Data *struct {
			PriceTicks *struct {
				Sequence uint64    `json:"sequence"`
				At       time.Time `json:"at"`
				Asset    struct {
					ID string `json:"id"`
				} `json:"asset"`
			} `json:"priceTicks"`
		} `json:"data"`
		Errors []gqlError `json:"errors"`
	} `json:"payload"`
}

// gqlError is a GraphQL error as the tool tallies it.
type gqlError struct {
	Message    string `json:"message"`
	Extensions struct {
		Code string `json:"code"`
	} `json:"extensions"`
}

func (e gqlError) String() string {
	if e.Extensions.Code != "" {
		return e.Extensions.Code + ": " + e.Message
	}
	return e.Message
}

// quickTick reads the tick of a next message written the way gqlgen writes
// them (compact, no errors, ids without escapes), without encoding/json's
// reflection, which would otherwise be most of the tool's own CPU time per
// tick. It tries the server's own layout first (laidOutTick), then looks
// for each field (markedTick). Anything else is not ok and goes through the
// full decoder.
func quickTick(b []byte) (asset []byte, seq uint64, at time.Time, ok bool) {
	asset, seq, stamp, ok := laidOutTick(b)
	if !ok {
		asset, seq, stamp, ok = markedTick(b)
	}
	if !ok {
		return nil, 0, at, false
	}
	at, ok = parseStamp(stamp)
	if !ok {
		return nil, 0, at, false
	}
	return asset, seq, at, true
}

// The text around the values of a tick as marketgraph's server writes it
// for TicksQuery and subscriptionID: the envelope's type first, then the
// fields in the order of the selection, with gqlgen's encoding.
const (
	layoutHead  = `{"type":"next","id":"` + subscriptionID + `","payload":{"data":{"priceTicks":{"sequence":`
	layoutAt    = `,"at":"`
	layoutQuote = `","quote":{"price":`
	layoutAsset = `},"asset":{"id":"`
	layoutTail  = `"}}}}}`
)

// laidOutTick reads a tick laid out exactly as the server writes nearly
// all of them, comparing the text between the values in place: a handful
// of comparisons instead of a search for each field. A subscription's
// first tick also carries extensions (the cost it was charged), and other
// servers may order keys differently: those are left to markedTick.
func laidOutTick(b []byte) (asset []byte, seq uint64, stamp []byte, ok bool) {
	rest, ok := bytes.CutPrefix(b, []byte(layoutHead))
	if !ok {
		return nil, 0, nil, false
	}
	i := 0
	for ; i < len(rest) && i < 19 && rest[i] >= '0' && rest[i] <= '9'; i++ {
		seq = seq*10 + uint64(rest[i]-'0')
	}
	if i == 0 {
		return nil, 0, nil, false
	}
	if rest, ok = bytes.CutPrefix(rest[i:], []byte(layoutAt)); !ok {
		return nil, 0, nil, false
	}
	if stamp, rest, ok = plainString(rest); !ok {
		return nil, 0, nil, false
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(layoutQuote)); !ok {
		return nil, 0, nil, false
	}
	i = 0
	for i < len(rest) && inNumber(rest[i]) {
		i++
	}
	if i == 0 {
		return nil, 0, nil, false
	}
	if rest, ok = bytes.CutPrefix(rest[i:], []byte(layoutAsset)); !ok {
		return nil, 0, nil, false
	}
	if asset, rest, ok = plainString(rest); !ok || string(rest) != layoutTail {
		return nil, 0, nil, false
	}
	return asset, seq, stamp, true
}

// inNumber is whether c may be part of a JSON number.
func inNumber(c byte) bool {
	return c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E'
}

// plainString reads the contents of a string up to its closing quote,
// when it has no escapes, and the rest from that quote on.
func plainString(b []byte) (s, rest []byte, ok bool) {
	// A loop, not bytes.IndexByte: these strings are shorter than what
	// its vector code needs to pay for its set-up.
	for i, c := range b {
		switch c {
		case '"':
			return b[:i], b[i:], true
		case '\\':
			return nil, nil, false
		}
	}
	return nil, nil, false
}

// parseStamp reads a tick's time: RFC 3339 in UTC with up to nine digits of
// fraction, the way time.Time.MarshalText writes it, faster than
// time.Parse, which it leaves any other form to.
func parseStamp(b []byte) (time.Time, bool) {
	// 2006-01-02T15:04:05[.999999999]Z
	if len(b) < 20 || len(b) > 30 || b[len(b)-1] != 'Z' ||
		b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return parseStampSlow(b)
	}
	year, ok1 := decimal(b[0:4])
	month, ok2 := decimal(b[5:7])
	day, ok3 := decimal(b[8:10])
	hour, ok4 := decimal(b[11:13])
	minute, ok5 := decimal(b[14:16])
	sec, ok6 := decimal(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return parseStampSlow(b)
	}
	nsec := 0
	if frac := b[19 : len(b)-1]; len(frac) > 0 {
		n, ok := decimal(frac[1:])
		if frac[0] != '.' || len(frac) < 2 || !ok {
			return parseStampSlow(b)
		}
		for range 10 - len(frac) {
			n *= 10
		}
		nsec = n
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(time.Month(month), year) ||
		hour > 23 || minute > 59 || sec > 59 {
		return parseStampSlow(b)
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), true
}

// parseStampSlow is parseStamp for the forms it does not read itself.
func parseStampSlow(b []byte) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, string(b))
	return t, err == nil
}

// decimal is the value of b, all decimal digits.
func decimal(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, len(b) > 0
}

// daysIn is the number of days of month m in year y.
func daysIn(m time.Month, y int) int {
	switch m {
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

// Markers of markedTick.
var (
	markNext     = []byte(`"type":"next"`)
	markErrors   = []byte(`"errors"`)
	markSequence = []byte(`"sequence":`)
	markAt       = []byte(`"at":"`)
	markAsset    = []byte(`"asset":{"id":"`)
)

// markedTick reads a tick wherever its fields are, searching for each. The
// selection (TicksQuery) has one "sequence", one "at" and one "asset", so
// the markers cannot match elsewhere.
func markedTick(b []byte) (asset []byte, seq uint64, stamp []byte, ok bool) {
	if !bytes.Contains(b, markNext) || bytes.Contains(b, markErrors) {
		return nil, 0, nil, false
	}
	i := bytes.Index(b, markSequence)
	if i < 0 {
		return nil, 0, nil, false
	}
	digits := 0
	for _, c := range b[i+len(markSequence):] {
		if c < '0' || c > '9' || digits == 19 {
			break
		}
		seq = seq*10 + uint64(c-'0')
		digits++
	}
	if digits == 0 {
		return nil, 0, nil, false
	}
	asset, okAsset := quoted(b, markAsset)
	stamp, okAt := quoted(b, markAt)
	if !okAsset || !okAt {
		return nil, 0, nil, false
	}
	return asset, seq, stamp, true
}

// quoted is the string after mark up to the next quote, when it has no
// escapes.
func quoted(b, mark []byte) ([]byte, bool) {
	i := bytes.Index(b, mark)
	if i < 0 {
		return nil, false
	}
	v := b[i+len(mark):]
	j := bytes.IndexByte(v, '"')
	if j < 0 || bytes.IndexByte(v[:j], '\\') >= 0 {
		return nil, false
	}
	return v[:j], true
}

// reason is a short, stable account of why a socket failed, fit to tally:
// the close code and reason when the server sent a close frame, otherwise
// the kind of network error without addresses or ports.
func reason(err error) string {
	var ce *websocket.CloseError
	var ne net.Error
	switch {
	case errors.As(err, &ce) && ce.Code == websocket.CloseAbnormalClosure:
		// Never sent (RFC 6455 §7.4.1): the library's account of a
		// connection that ended without a close frame.
		return "connection closed without a close frame (EOF)"
	case errors.As(err, &ce):
		if ce.Text != "" {
			return fmt.Sprintf("closed %d %s", ce.Code, ce.Text)
		}
		return fmt.Sprintf("closed %d", ce.Code)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		// The library turns the network's deadline errors into its own.
		return "timed out"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed without a close frame (EOF)"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "too many open files"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "no local port available"
	case errors.Is(err, syscall.EPIPE):
		return "broken pipe"
	case errors.Is(err, net.ErrClosed):
		return "connection closed"
	}
	// The innermost message, without the wrapping that names addresses.
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return msg
}
