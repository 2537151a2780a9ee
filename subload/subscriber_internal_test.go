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
		msgs[i] = fmt.Appendf(nil, `{"id":"1","type":"next","payload":{"data":{"priceTicks":{"sequence":%d,"at":%q,"quote":{"price":88361.65887047409},"asset":{"id":"bitcoin"}}}}}`, i+1, at)
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
			if tc.counted && (s.messages.Load() != 1 || s.seqs[0] != 42 || r.targets[0].all.Max() != time.Second) {
				t.Errorf("handled: %d ticks, sequence %d, latency %s", s.messages.Load(), s.seqs[0], r.targets[0].all.Max())
			}
		})
	}
}
