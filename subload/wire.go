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

	"github.com/coder/websocket"
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

// Markers of quickTick.
var (
	markNext     = []byte(`"type":"next"`)
	markErrors   = []byte(`"errors"`)
	markSequence = []byte(`"sequence":`)
	markAt       = []byte(`"at":"`)
	markAsset    = []byte(`"asset":{"id":"`)
)

// quickTick reads the tick of a next message written the way gqlgen writes
// them (compact, no errors, ids without escapes), without encoding/json's
// reflection, which would otherwise be most of the tool's own CPU time per
// tick. Anything else is not ok and goes through the full decoder. The
// selection (TicksQuery) has one "sequence", one "at" and one "asset", so
// the markers cannot match elsewhere.
func quickTick(b []byte) (asset []byte, seq uint64, at time.Time, ok bool) {
	if !bytes.Contains(b, markNext) || bytes.Contains(b, markErrors) {
		return nil, 0, at, false
	}
	i := bytes.Index(b, markSequence)
	if i < 0 {
		return nil, 0, at, false
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
		return nil, 0, at, false
	}
	asset, okAsset := quoted(b, markAsset)
	stamp, okAt := quoted(b, markAt)
	if !okAsset || !okAt {
		return nil, 0, at, false
	}
	at, err := time.Parse(time.RFC3339Nano, string(stamp))
	if err != nil {
		return nil, 0, at, false
	}
	return asset, seq, at, true
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
	var ce websocket.CloseError
	switch {
	case errors.As(err, &ce):
		if ce.Reason != "" {
			return fmt.Sprintf("closed %d %s", ce.Code, ce.Reason)
		}
		return fmt.Sprintf("closed %d", ce.Code)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
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
