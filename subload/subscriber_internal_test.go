package subload

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkHandleNext is the tool's cost of one tick once it is read: it
// bounds how many ticks a second one core of the tool can take.
func BenchmarkHandleNext(b *testing.B) {
	r := &runner{}
	r.targets = []*target{{url: "ws://x"}}
	s := &subscriber{r: r, target: r.targets[0], assets: []string{"a", "b", "bitcoin"}, seqs: make([]uint64, 3)}
	at, _ := time.Now().MarshalText()
	msgs := make([][]byte, 64)
	for i := range msgs {
		msgs[i] = fmt.Appendf(nil, `{"type":"next","id":"1","payload":{"data":{"priceTicks":{"sequence":%d,"at":%q,"quote":{"price":88361.65887047409},"asset":{"id":"bitcoin"}}}}}`, i+1, at)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%len(msgs) == 0 {
			s.seqs[2] = 0
		}
		if err := s.handle(nil, msgs[i%len(msgs)], time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	if s.missed.Load() != 0 || s.messages.Load() == 0 {
		b.Fatalf("missed %d of %d", s.missed.Load(), s.messages.Load())
	}
}

// quickTick reads what the full decoder reads, and leaves to it whatever
// it is not sure of.
func TestQuickTick(t *testing.T) {
	at := "2026-11-26T09:46:42.123456789Z"
	want, _ := time.Parse(time.RFC3339Nano, at)
	for _, tc := range []struct {
		name, msg string
		ok        bool // read by quickTick
		counted   bool // a tick for the full decoder too
	}{
		{"Compact", `{"id":"1","type":"next","payload":{"data":{"priceTicks":{"sequence":42,"at":"` + at + `","quote":{"price":1},"asset":{"id":"bit-coin"}}}}}`, true, true},
		{"Gqlgen", `{"type":"next","id":"1","payload":{"data":{"priceTicks":{"sequence":42,"at":"` + at + `","quote":{"price":88432.1597086115},"asset":{"id":"bit-coin"}}}}}`, true, true},
		{"GqlgenExtensions", `{"type":"next","id":"1","payload":{"data":{"priceTicks":{"sequence":42,"at":"` + at + `","quote":{"price":1e-7},"asset":{"id":"bit-coin"}}},"extensions":{"cost":{"requested":13}}}}`, true, true},
		{"GqlgenErrors", `{"type":"next","id":"1","payload":{"data":{"priceTicks":{"sequence":42,"at":"` + at + `","quote":{"price":1},"asset":{"id":"bit-coin"}}},"errors":[{"message":"x"}]}}`, false, true},
		{"GqlgenEscaped", `{"type":"next","id":"1","payload":{"data":{"priceTicks":{"sequence":42,"at":"` + at + `","quote":{"price":1},"asset":{"id":"bit\u002dcoin"}}}}}`, false, true},
		{"GqlgenOffset", `{"type":"next","id":"1","payload":{"data":{"priceTicks":{"sequence":42,"at":"2026-11-26T10:46:42.123456789+01:00","quote":{"price":1},"asset":{"id":"bit-coin"}}}}}`, true, true},
		{"GqlgenOtherID", `{"type":"next","id":"2","payload":{"data":{"priceTicks":{"sequence":42,"at":"` + at + `","quote":{"price":1},"asset":{"id":"bit-coin"}}}}}`, true, true},
		{"PayloadFirst", `{"payload":{"data":{"priceTicks":{"asset":{"id":"bit-coin"},"at":"` + at + `","sequence":42}}},"type":"next","id":"1"}`, true, true},
		{"Spaces", `{"id": "1", "type": "next", "payload": {"data": {"priceTicks": {"sequence": 42, "at": "` + at + `", "asset": {"id": "bit-coin"}}}}}`, false, true},
		{"Errors", `{"id":"1","type":"next","payload":{"data":{"priceTicks":{"sequence":42,"at":"` + at + `","asset":{"id":"bit-coin"}}},"errors":[{"message":"x"}]}}`, false, true},
		{"Escaped", `{"id":"1","type":"next","payload":{"data":{"priceTicks":{"sequence":42,"at":"` + at + `","asset":{"id":"bit\u002dcoin"}}}}}`, false, true},
		{"NotNext", `{"id":"1","type":"complete"}`, false, false},
		{"NoSequence", `{"id":"1","type":"next","payload":{"data":{"priceTicks":{"at":"` + at + `","asset":{"id":"bit-coin"}}}}}`, false, false},
		{"BadTime", `{"id":"1","type":"next","payload":{"data":{"priceTicks":{"sequence":42,"at":"yesterday","asset":{"id":"bit-coin"}}}}}`, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			asset, seq, got, ok := quickTick([]byte(tc.msg))
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if ok && (string(asset) != "bit-coin" || seq != 42 || !got.Equal(want)) {
				t.Errorf("got %s %d %s", asset, seq, got)
			}
			// Both paths count the same tick.
			r := &runner{targets: []*target{{url: "ws://x"}}}
			s := &subscriber{r: r, target: r.targets[0], assets: []string{"bit-coin"}, seqs: make([]uint64, 1)}
			if err := s.handle(nil, []byte(tc.msg), want.Add(time.Second)); err != nil {
				t.Fatal(err)
			}
			all := r.targets[0].latency()
			if tc.counted && (s.messages.Load() != 1 || s.seqs[0] != 42 || all.Max() != time.Second) {
				t.Errorf("handled: %d ticks, sequence %d, latency %s", s.messages.Load(), s.seqs[0], all.Max())
			}
		})
	}
}

// parseStamp reads what time.Parse reads, and refuses what it refuses.
func TestParseStamp(t *testing.T) {
	stamps := []string{
		"2026-11-26T09:46:42Z", "2026-11-26T09:46:42.1Z", "2026-11-26T09:46:42.123456789Z", "1970-01-01T00:00:00Z",
		"2024-02-29T23:59:59.999999999Z", "2000-02-29T12:00:00.5Z", "9999-12-31T23:59:59.000000001Z",
		"2026-11-26T10:46:42.123+01:00", // an offset: left to time.Parse
		"2025-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-13-01T00:00:00Z",
		"2026-00-10T00:00:00Z", "2026-11-00T00:00:00Z", "2026-11-26T24:00:00Z", "2026-11-26T23:60:00Z",
		"2026-11-26T23:59:60Z", "2026-11-26T09:46:42.Z", "2026-11-26T09:46:42.1234567890Z", "2026-11-26T09:46:42,5Z",
		"2026-11-26T09:46:4xZ", "2026-11-26 09:46:42Z", "2026-11-26T09:46:42", "+026-11-26T09:46:42Z", "",
	}
	for i := range 1000 {
		at := time.Unix(int64(i)*7919*3613, int64(i)*104729%1e9).UTC()
		b, _ := at.MarshalText()
		stamps = append(stamps, string(b))
	}
	for _, s := range stamps {
		want, err := time.Parse(time.RFC3339Nano, s)
		got, ok := parseStamp([]byte(s))
		if ok != (err == nil) || ok && !got.Equal(want) {
			t.Errorf("parseStamp(%q) = %s, %v; time.Parse: %s, %v", s, got, ok, want, err)
		}
	}
}
