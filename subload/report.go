package subload

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// Report is what a run measured.
type Report struct {
	URLs                []string
	Subscribers         int // asked for
	AssetsPerSubscriber int
	Assets              int // distinct assets subscribed to

	// Started sockets were dialled; fewer than Subscribers when the run
	// was interrupted during the ramp.
	Started int
	// Connected sockets were acknowledged and sent their subscription.
	Connected int
	// ConnectFailed sockets did not get that far, by reason.
	ConnectFailed   int
	ConnectFailures map[string]int
	// Disconnected sockets ended before the run ended them, by reason: a
	// close code and reason, or the network error.
	Disconnected int
	Disconnects  map[string]int
	// Ended subscriptions were ended by the server (complete or error)
	// while their socket stayed open.
	Ended int
	// Errors are error messages, next payloads with errors and messages
	// the tool could not make sense of, by first message.
	Errors        int
	ErrorMessages map[string]int

	// Ticks is how many ticks were received.
	Ticks uint64
	// MissedTicks is the sum of the jumps in the sequences of each
	// subscriber's assets: ticks published but not delivered (dropped for
	// a slow subscriber, or coalesced into a newer one).
	MissedTicks uint64
	// SubscribersWithGaps is how many subscribers missed at least one.
	SubscribersWithGaps int
	// OutOfOrder ticks had a sequence no greater than the one before
	// (duplicates, or a stream restarted by a new ingesting process).
	OutOfOrder uint64
	// Skewed ticks were stamped later than they were received (clocks of
	// different machines); their latency counts as 0.
	Skewed uint64

	// Ramp is how long opening the sockets took; Steady how long they were
	// then held.
	Ramp, Steady time.Duration
	// Latency is publish-to-receive latency over the whole run;
	// SteadyLatency over the steady phase only.
	Latency, SteadyLatency Percentiles
	// ByURL is per server, in the order of Config.URLs.
	ByURL []URLReport

	// Server is the server process, when Config.ServerPID was given;
	// Client is this process.
	Server *Process
	Client Process
	// CPUs is this machine's processor count, and LoadAverage its
	// one-minute load average at the end ("" when unknown): on a shared
	// machine, a reason figures vary.
	CPUs        int
	LoadAverage string

	// Interrupted runs were cut short by their context.
	Interrupted bool
}

// URLReport is what the subscribers of one server measured.
type URLReport struct {
	URL                    string
	Connected              int
	Latency, SteadyLatency Percentiles
}

// Process is what a process used: resident memory (VmRSS) before the ramp,
// once it was over and at the end of the steady phase, in bytes; and CPU
// time during the ramp and during the steady phase. All are 0 when a
// reading failed (they need Linux's /proc).
type Process struct {
	PID                             int // 0: this process
	RSSBefore, RSSConnected, RSSEnd uint64
	CPURamp, CPUSteady              time.Duration
	// HeapInUse and Goroutines are this process's Go heap in use and
	// goroutines once the ramp was over; 0 for the server.
	HeapInUse  uint64
	Goroutines int
}

// RSSPerSubscriber is the resident memory the ramp added, per connected
// subscriber.
func (p Process) RSSPerSubscriber(connected int) float64 {
	return perSubscriber(p.RSSBefore, p.RSSConnected, connected)
}

// Cores is the average number of processors the process kept busy during
// the steady phase of length steady.
func (p Process) Cores(steady time.Duration) float64 {
	if steady <= 0 {
		return 0
	}
	return p.CPUSteady.Seconds() / steady.Seconds()
}

func perSubscriber(before, after uint64, n int) float64 {
	if n == 0 || before == 0 || after == 0 {
		return 0
	}
	return (float64(after) - float64(before)) / float64(n)
}

// fill copies the runner's counters into rep.
func (r *runner) fill(rep *Report) {
	c := r.count()
	rep.Started = int(r.started.Load())
	rep.Connected = int(r.connected.Load())
	rep.ConnectFailed = int(r.failed.Load())
	rep.Disconnected = int(r.disconnected.Load())
	rep.Ended = int(r.ended.Load())
	rep.Errors = int(r.errors.Load())
	r.mu.Lock()
	rep.ConnectFailures, rep.Disconnects, rep.ErrorMessages = r.failures, r.disconnects, r.errorMsgs
	r.mu.Unlock()
	rep.Ticks, rep.MissedTicks, rep.SubscribersWithGaps = c.messages, c.missed, c.gapped
	rep.OutOfOrder, rep.Skewed = c.outOfOrder, c.skewed
	var all, steady Histogram
	for _, t := range r.targets {
		tAll := t.latency()
		all.Add(tAll)
		steady.Add(&t.steady)
		rep.ByURL = append(rep.ByURL, URLReport{
			URL:           t.url,
			Connected:     int(t.connected.Load()),
			Latency:       tAll.Percentiles(),
			SteadyLatency: t.steady.Percentiles(),
		})
	}
	rep.Latency, rep.SteadyLatency = all.Percentiles(), steady.Percentiles()
}

// Print writes the report for people.
func (rep *Report) Print(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("\n")
	if rep.Interrupted {
		p("INTERRUPTED: the figures cover the run until then\n")
	}
	p("subscribers  %d asked, %d connected in %s, %d failed to connect, %d disconnected early, %d subscriptions ended by the server\n",
		rep.Subscribers, rep.Connected, rep.Ramp.Round(time.Millisecond), rep.ConnectFailed, rep.Disconnected, rep.Ended)
	if n := rep.Subscribers - rep.Started; n > 0 {
		p("  %d never started: the run was interrupted during the ramp\n", n)
	}
	printTally(w, "  failed to connect", rep.ConnectFailures)
	printTally(w, "  disconnected", rep.Disconnects)
	rate := 0.0
	if rep.Steady > 0 {
		rate = float64(rep.SteadyLatency.Count) / rep.Steady.Seconds()
	}
	p("ticks        %d received (%.0f/s over the %s steady phase), %d missed by %d subscribers, %d out of order, %d errors\n",
		rep.Ticks, rate, rep.Steady.Round(time.Millisecond), rep.MissedTicks, rep.SubscribersWithGaps, rep.OutOfOrder, rep.Errors)
	printTally(w, "  errors", rep.ErrorMessages)
	if rep.Skewed > 0 {
		p("  %d ticks were stamped after they arrived (clock skew between machines?): counted as 0 latency\n", rep.Skewed)
	}
	p("latency      %10s %9s %9s %9s %9s %9s %9s\n", "ticks", "p50", "p90", "p99", "p99.9", "max", "mean")
	row := func(name string, l Percentiles) {
		p("  %-10s %10d %9s %9s %9s %9s %9s %9s\n", name, l.Count,
			fmtDuration(l.P50), fmtDuration(l.P90), fmtDuration(l.P99), fmtDuration(l.P999), fmtDuration(l.Max), fmtDuration(l.Mean))
	}
	row("whole run", rep.Latency)
	row("steady", rep.SteadyLatency)
	if len(rep.ByURL) > 1 {
		for i, u := range rep.ByURL {
			p("  server %d: %s, %d subscribers\n", i+1, u.URL, u.Connected)
			row("whole run", u.Latency)
			row("steady", u.SteadyLatency)
		}
	}
	if m := rep.Server; m != nil {
		p("server       pid %d: resident %s before, %s connected (%s per subscriber), %s at the end; %.2f cores in the steady phase\n",
			m.PID, fmtBytes(float64(m.RSSBefore)), fmtBytes(float64(m.RSSConnected)), fmtBytes(m.RSSPerSubscriber(rep.Connected)),
			fmtBytes(float64(m.RSSEnd)), m.Cores(rep.Steady))
	}
	m := rep.Client
	p("this tool    resident %s connected (%s per subscriber), %s at the end; heap %s, %d goroutines; %.2f cores in the steady phase\n",
		fmtBytes(float64(m.RSSConnected)), fmtBytes(m.RSSPerSubscriber(rep.Connected)), fmtBytes(float64(m.RSSEnd)),
		fmtBytes(float64(m.HeapInUse)), m.Goroutines, m.Cores(rep.Steady))
	if rep.LoadAverage != "" {
		p("machine      %d CPUs, load average %s at the end\n", rep.CPUs, rep.LoadAverage)
	}
}

// printTally writes the reasons of m, most frequent first.
func printTally(w io.Writer, title string, m map[string]int) {
	if len(m) == 0 {
		return
	}
	keys := slices.SortedFunc(maps.Keys(m), func(a, b string) int {
		return cmp.Or(cmp.Compare(m[b], m[a]), strings.Compare(a, b))
	})
	for _, k := range keys {
		fmt.Fprintf(w, "%s: %d × %s\n", title, m[k], k)
	}
}

// fmtDuration writes d with three significant digits or so.
func fmtDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d/time.Microsecond)
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
}

// fmtBytes writes b in KiB or MiB.
func fmtBytes(b float64) string {
	switch {
	case b == 0:
		return "?"
	case b < 0:
		return "-" + fmtBytes(-b)
	case b < 1<<20:
		return fmt.Sprintf("%.1f KiB", b/(1<<10))
	default:
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	}
}

// joinURLs lists urls for the header line.
func joinURLs(urls []string) string {
	if len(urls) == 1 {
		return urls[0]
	}
	return fmt.Sprintf("%d servers (%s)", len(urls), strings.Join(urls, ", "))
}

// rateText describes the connect rate.
func rateText(rate float64) string {
	if rate == 0 {
		return "all connecting at once"
	}
	return fmt.Sprintf("%g connects/s", rate)
}
