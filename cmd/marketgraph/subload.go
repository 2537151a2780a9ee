package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"time"

	"github.com/marketgraph/marketgraph/subload"
)

const cmdSubload = "subload"

// fdMargin is the file descriptors the subload process needs besides its
// sockets: standard streams, the asset query, the runtime's own.
const fdMargin = 64

// runSubload is `marketgraph subload`: the subscription load tool (see
// package subload). It reads its own flags, not the server's: it is a
// client, usually run beside a server started separately. Its one
// environment variable is MARKETGRAPH_SUBLOAD_INIT, so that an API key
// need not appear in the process list.
func runSubload(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("marketgraph "+cmdSubload, flag.ContinueOnError)
	fs.SetOutput(stderr)
	e := envReader{getenv: getenv}
	var cfg subload.Config
	urls := fs.String("url", "ws://127.0.0.1:8080/graphql", "GraphQL WebSocket endpoint; comma-separated for several replicas, subscribers spread round-robin and latency reported per URL")
	fs.IntVar(&cfg.Subscribers, "n", 100, "subscribers: sockets, one subscription each")
	fs.Float64Var(&cfg.Rate, "rate", 500, "sockets opened per second; 0: all at once")
	fs.IntVar(&cfg.AssetsPerSubscriber, "k", subload.DefaultAssetsPerSubscriber, "assets per subscription")
	fs.DurationVar(&cfg.Duration, "duration", time.Minute, "how long to hold all the sockets once they are open")
	assets := fs.String("assets", "", "comma-separated asset ids to subscribe to; empty: the server's top 100, asked over HTTP POST")
	// The environment variable is read after parsing, not shown as the
	// flag's default: -h would print the key.
	init := fs.String("init", "", `connection_init payload as JSON, for example {"apiKey":"..."} (MARKETGRAPH_SUBLOAD_INIT)`)
	fs.IntVar(&cfg.ServerPID, "server-pid", 0, "process id of a server on this machine, whose resident memory is reported per subscriber")
	fs.DurationVar(&cfg.ConnectTimeout, "connect-timeout", subload.DefaultConnectTimeout, "limit on dialling, connection_ack and subscribing, per socket")
	fs.DurationVar(&cfg.Progress, "progress", subload.DefaultProgress, "interval of progress lines; negative: none")
	cpuProfile := fs.String("cpuprofile", "", "write this tool's CPU profile over the whole run (ramp included) to this file, for go tool pprof; empty: none")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *init == "" {
		*init = e.str("MARKETGRAPH_SUBLOAD_INIT", "")
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", cmdSubload, fs.Arg(0))
	}
	cfg.URLs = splitIDs(*urls)
	cfg.Assets = splitIDs(*assets)
	if *init != "" {
		if err := json.Unmarshal([]byte(*init), &cfg.InitPayload); err != nil || cfg.InitPayload == nil {
			// The payload may hold a key: the message does not repeat it.
			return fmt.Errorf("-init / MARKETGRAPH_SUBLOAD_INIT: not a JSON object")
		}
	}
	soft, hard, err := subload.RaiseFileLimit()
	if err != nil {
		fmt.Fprintf(stderr, "subload: could not raise the open-file limit to %d: %v\n", hard, err)
	}
	if need := uint64(cfg.Subscribers) + fdMargin; need > soft {
		return fmt.Errorf("%s: -n %d needs about %d open files, but the limit is %d (hard limit %d): raise it (ulimit -n, or LimitNOFILE) or lower -n",
			cmdSubload, cfg.Subscribers, need, soft, hard)
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return fmt.Errorf("%s: -cpuprofile: %w", cmdSubload, err)
		}
		defer stop()
	}
	_, err = subload.Run(ctx, cfg, stdout)
	return err
}

// startCPUProfile profiles this process into file until stop is called.
func startCPUProfile(file string) (stop func(), err error) {
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}
