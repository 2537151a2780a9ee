package subload

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// closeTimeout bounds the closing of all sockets at the end: past it, the
// sockets left are dropped without a close handshake.
const closeTimeout = 15 * time.Second

// closers is how many sockets are closed at once at the end.
const closers = 64

// target is one server URL and what its subscribers measured.
type target struct {
	url       string
	connected atomic.Int64
	// ramp and steady hold the latency of the ticks received during the
	// ramp and after it: each tick is recorded once, in one of them, and
	// the whole run's latency is their sum.
	ramp, steady Histogram
}

// latency is the latency over the whole run.
func (t *target) latency() *Histogram {
	h := new(Histogram)
	h.Add(&t.ramp)
	h.Add(&t.steady)
	return h
}

// runner is the state of one run.
type runner struct {
	cfg     Config
	ctx     context.Context // cancelled when the run stops: aborts dials
	dialer  *websocket.Dialer
	initMsg []byte
	targets []*target
	subs    []*subscriber // all Subscribers; the first started are in use
	started atomic.Int64

	steady   atomic.Bool // the ramp is over
	stopping atomic.Bool // the run is closing the sockets itself

	connected, failed, disconnected, ended, errors atomic.Int64

	wg      sync.WaitGroup // subscriber goroutines
	settled sync.WaitGroup // subscribers not yet connected or failed

	mu                               sync.Mutex
	failures, disconnects, errorMsgs map[string]int
}

// maxReasons bounds each tally; further distinct reasons count as "other".
const maxReasons = 20

// tally counts one occurrence of reason in *m.
func (r *runner) tally(m *map[string]int, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if *m == nil {
		*m = map[string]int{}
	}
	if _, ok := (*m)[reason]; !ok && len(*m) >= maxReasons {
		reason = "other"
	}
	(*m)[reason]++
}

// ramp starts the subscribers at the configured rate and waits until each
// has connected or failed, or ctx ends.
func (r *runner) ramp(ctx context.Context, urls []string) {
	n, k, assets := r.cfg.Subscribers, r.cfg.AssetsPerSubscriber, r.cfg.Assets
	r.subs = make([]*subscriber, n)
	start := time.Now()
	for i := 0; i < n; i++ {
		if r.cfg.Rate > 0 {
			due := start.Add(time.Duration(float64(i) / r.cfg.Rate * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				t := time.NewTimer(d)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
				}
			}
		}
		if ctx.Err() != nil {
			break
		}
		s := &subscriber{r: r, target: r.targets[i%len(urls)], assets: make([]string, k), seqs: make([]uint64, k)}
		for j := range k {
			s.assets[j] = assets[(i*k+j)%len(assets)]
		}
		r.subs[i] = s
		r.started.Store(int64(i + 1))
		r.wg.Add(1)
		r.settled.Add(1)
		go s.run()
	}
	done := make(chan struct{})
	go func() {
		r.settled.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// closeAll ends every socket with a close handshake: it sends each a close
// frame, a few at a time, and the socket's reading goroutine closes it
// when the server answers with its own. Past closeTimeout the sockets
// left are dropped without one.
func (r *runner) closeAll() {
	deadline := time.Now().Add(closeTimeout)
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "load test over")
	next := make(chan *subscriber)
	var wg sync.WaitGroup
	for range closers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range next {
				if c := s.conn.Load(); c != nil && c.WriteControl(websocket.CloseMessage, msg, deadline) != nil {
					_ = c.Close()
				}
			}
		}()
	}
	for _, s := range r.startedSubs() {
		next <- s
	}
	close(next)
	wg.Wait()

	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		for _, s := range r.startedSubs() {
			if c := s.conn.Load(); c != nil {
				_ = c.Close()
			}
		}
	}
}

// progress prints a line every cfg.Progress until the returned function is
// called.
func (r *runner) progress(w io.Writer, start time.Time) (stop func()) {
	if r.cfg.Progress < 0 {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(r.cfg.Progress)
		defer t.Stop()
		var lastMsgs uint64
		last, prev := start, new(Histogram)
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				c := r.count()
				h := new(Histogram)
				for _, t := range r.targets {
					h.Add(t.latency())
				}
				rate := float64(c.messages-lastMsgs) / now.Sub(last).Seconds()
				fmt.Fprintf(w, "[%5.0fs] connected %d/%d, failed %d, disconnected %d, ticks %d (%.0f/s), missed %d, p99 of the last %s %s\n",
					now.Sub(start).Seconds(), r.connected.Load(), r.cfg.Subscribers, r.failed.Load(), r.disconnected.Load(),
					c.messages, rate, c.missed, now.Sub(last).Round(time.Second), fmtDuration(h.since(prev).Quantile(0.99)))
				lastMsgs, last, prev = c.messages, now, h
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}

// counts are the subscribers' counters summed.
type counts struct {
	messages, missed, outOfOrder, skewed uint64
	gapped                               int
}

func (r *runner) count() counts {
	var c counts
	for _, s := range r.startedSubs() {
		c.messages += s.messages.Load()
		m := s.missed.Load()
		c.missed += m
		if m > 0 {
			c.gapped++
		}
		c.outOfOrder += s.outOfOrder.Load()
		c.skewed += s.skewed.Load()
	}
	return c
}

// startedSubs are the subscribers started so far.
func (r *runner) startedSubs() []*subscriber { return r.subs[:r.started.Load()] }

// sampler reads a process's usage before the ramp, after it and at the
// end of the steady phase. A nil sampler does nothing.
type sampler struct {
	pid     string
	samples []usage
	failed  bool
}

func (s *sampler) sample() error {
	if s == nil {
		return nil
	}
	u, err := readUsage(s.pid)
	s.samples = append(s.samples, u)
	s.failed = s.failed || err != nil
	return err
}

// fill sets p's memory and CPU figures from the samples, when all three
// were read.
func (s *sampler) fill(p *Process) {
	if len(s.samples) != 3 || s.failed {
		return
	}
	before, connected, end := s.samples[0], s.samples[1], s.samples[2]
	p.RSSBefore, p.RSSConnected, p.RSSEnd = before.rss, connected.rss, end.rss
	p.CPURamp, p.CPUSteady = connected.cpu-before.cpu, end.cpu-connected.cpu
}

// heapInUse is this process's Go heap in use, in bytes.
func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}
