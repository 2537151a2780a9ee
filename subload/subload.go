// Package subload is a load tool for live subscriptions: it opens many
// graphql-transport-ws sockets against one or more marketgraph servers,
// each subscribed to the price ticks of a few assets, and measures what
// subscribers see: publish-to-receive latency (from each tick's own `at`),
// missed ticks (jumps in an asset's sequence), disconnects, errors, and the
// memory it costs the server and the tool. `marketgraph subload` is its
// command line.
//
// A run has three phases. The ramp opens Subscribers sockets at Rate per
// second; it ends when each has subscribed or failed. The steady phase
// holds them all for Duration. Then the tool closes them (close code 1000)
// and reports. Latency is reported over the whole run and over the steady
// phase alone, where the server is not also accepting connections.
package subload

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Defaults of Config.
const (
	DefaultAssetsPerSubscriber = 10
	DefaultConnectTimeout      = 30 * time.Second
	DefaultProgress            = 5 * time.Second
	// DefaultAssets is how many assets, by rank, are fetched from the
	// server when Config.Assets is empty.
	DefaultAssets = 100
)

// Config is one run.
type Config struct {
	// URL is the server's GraphQL WebSocket endpoint,
	// ws://host:port/graphql.
	URL string
	// URLs, when set, replaces URL with several servers (replicas sharing
	// Redis): subscriber i connects to URLs[i % len(URLs)], and latency is
	// also reported per URL. Assets are fetched from the first.
	URLs []string
	// Subscribers is how many sockets to open, each with one subscription.
	Subscribers int
	// Rate is how many sockets are opened per second; 0 opens them all at
	// once.
	Rate float64
	// AssetsPerSubscriber is how many assets each subscription asks for;
	// 0 means DefaultAssetsPerSubscriber. Subscriber i takes the K assets
	// from position i·K of Assets, wrapping around, so every asset has
	// about the same number of subscribers.
	AssetsPerSubscriber int
	// Duration is how long all the sockets are held once the ramp is over.
	Duration time.Duration
	// Assets are the asset ids to subscribe to; empty: the top
	// DefaultAssets of the server's catalog, fetched over HTTP POST from
	// the first URL.
	Assets []string
	// InitPayload is the connection_init payload, for example
	// {"apiKey": "..."}; nil sends {}.
	InitPayload map[string]any
	// ServerPID, when not 0, is the server's process id on this machine:
	// its resident memory is read before the ramp, after it and at the end
	// of the steady phase (Linux /proc).
	ServerPID int
	// ConnectTimeout bounds dialling, connection_ack and subscribing, per
	// socket; 0 means DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// Progress is the interval of progress lines while the run goes on;
	// 0 means DefaultProgress, negative prints none.
	Progress time.Duration
}

// Run performs one run and writes progress lines and the report to w. It
// returns the report, and an error when the run could not start (bad
// configuration, assets unavailable, server process unreadable). When ctx
// ends early the sockets are closed, the report is written and returned
// with Interrupted set, with an error wrapping ctx's.
func Run(ctx context.Context, cfg Config, w io.Writer) (*Report, error) {
	cfg, urls, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if len(cfg.Assets) == 0 {
		cfg.Assets, err = FetchAssets(ctx, urls[0], DefaultAssets)
		if err != nil {
			return nil, err
		}
	}
	if cfg.AssetsPerSubscriber > len(cfg.Assets) {
		return nil, fmt.Errorf("subload: %d assets per subscriber, but only %d assets to choose from", cfg.AssetsPerSubscriber, len(cfg.Assets))
	}
	init := cfg.InitPayload
	if init == nil {
		init = map[string]any{}
	}
	initMsg, err := json.Marshal(map[string]any{"type": "connection_init", "payload": init})
	if err != nil {
		return nil, fmt.Errorf("subload: encode the init payload: %w", err)
	}

	runCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &runner{cfg: cfg, ctx: runCtx, dialer: newDialer(), initMsg: initMsg}
	for _, u := range urls {
		r.targets = append(r.targets, &target{url: u})
	}
	rep := &Report{
		URLs:                urls,
		Subscribers:         cfg.Subscribers,
		AssetsPerSubscriber: cfg.AssetsPerSubscriber,
		Assets:              min(len(cfg.Assets), cfg.Subscribers*cfg.AssetsPerSubscriber),
	}
	var server *sampler
	if cfg.ServerPID != 0 {
		server = &sampler{pid: strconv.Itoa(cfg.ServerPID)}
		if err := server.sample(); err != nil {
			return nil, fmt.Errorf("subload: server process: %w", err)
		}
	}
	self := &sampler{pid: "self"}
	_ = self.sample()

	fmt.Fprintf(w, "subload: %d subscribers on %s, %d of %d assets each, %s, then hold %s\n",
		cfg.Subscribers, joinURLs(urls), cfg.AssetsPerSubscriber, len(cfg.Assets), rateText(cfg.Rate), cfg.Duration)
	start := time.Now()
	stopProgress := r.progress(w, start)

	r.ramp(ctx, urls)
	rep.Ramp = time.Since(start)
	r.steady.Store(true)
	_ = server.sample()
	_ = self.sample()
	rep.Client.HeapInUse, rep.Client.Goroutines = heapInUse(), runtime.NumGoroutine()

	holdStart := time.Now()
	if ctx.Err() == nil {
		hold := time.NewTimer(cfg.Duration)
		select {
		case <-hold.C:
		case <-ctx.Done():
			hold.Stop()
		}
	}
	rep.Steady = time.Since(holdStart)
	_ = server.sample()
	_ = self.sample()
	stopProgress()

	r.stopping.Store(true)
	cancel()
	r.closeAll()
	r.wg.Wait()

	r.fill(rep)
	if server != nil {
		rep.Server = &Process{PID: cfg.ServerPID}
		server.fill(rep.Server)
	}
	self.fill(&rep.Client)
	rep.CPUs, rep.LoadAverage = runtime.NumCPU(), loadAverage()
	rep.Interrupted = ctx.Err() != nil
	rep.Print(w)
	if rep.Interrupted {
		return rep, fmt.Errorf("subload: interrupted: %w", ctx.Err())
	}
	return rep, nil
}

// withDefaults checks c and fills its defaults; it returns the URLs to
// spread subscribers over.
func (c Config) withDefaults() (Config, []string, error) {
	urls := c.URLs
	if len(urls) == 0 && c.URL != "" {
		urls = []string{c.URL}
	}
	switch {
	case len(urls) == 0:
		return c, nil, errors.New("subload: no server URL")
	case c.Subscribers < 1:
		return c, nil, fmt.Errorf("subload: subscribers must be at least 1, got %d", c.Subscribers)
	case c.Rate < 0:
		return c, nil, fmt.Errorf("subload: rate must not be negative, got %g", c.Rate)
	case c.AssetsPerSubscriber < 0:
		return c, nil, fmt.Errorf("subload: assets per subscriber must not be negative, got %d", c.AssetsPerSubscriber)
	case c.Duration < 0:
		return c, nil, fmt.Errorf("subload: duration must not be negative, got %s", c.Duration)
	}
	for _, u := range urls {
		if _, err := httpURL(u); err != nil {
			return c, nil, err
		}
	}
	if c.AssetsPerSubscriber == 0 {
		c.AssetsPerSubscriber = DefaultAssetsPerSubscriber
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.Progress == 0 {
		c.Progress = DefaultProgress
	}
	return c, urls, nil
}

// newDialer is the dialer of the WebSocket handshakes: no proxy, and one
// buffer kept per socket, the read buffer, large enough for a round of
// ticks in one read; messages are written through buffers the sockets
// share.
func newDialer() *websocket.Dialer {
	return &websocket.Dialer{
		NetDialContext:  (&net.Dialer{Timeout: DefaultConnectTimeout, KeepAlive: 30 * time.Second}).DialContext,
		Subprotocols:    []string{Subprotocol},
		ReadBufferSize:  4 << 10,
		WriteBufferPool: new(sync.Pool),
	}
}
