// Command marketgraph is the marketgraph GraphQL server and its operator
// tools: serve (the default), migrate, seed, ingest, sync-assets, backfill,
// fake-upstream, subload, apikey and version. It is the only place that reads
// configuration and wires the packages together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "marketgraph:", err)
		}
		os.Exit(1)
	}
}

const usage = `usage: marketgraph [command] [flags]

commands:
  serve     run the GraphQL server (default)
  migrate   apply pending PostgreSQL migrations (needs DATABASE_URL)
  seed      load the deterministic demo dataset into PostgreSQL (needs DATABASE_URL)
  ingest    run only the ingest pipeline (needs DATABASE_URL; one process ingests at a time)
  sync-assets
            refresh the asset catalog from the provider's /coins/markets (needs DATABASE_URL)
  backfill  fill HOUR and DAY candles from the provider's market charts (needs DATABASE_URL)
  fake-upstream
            serve a fake CoinGecko API (demo catalog, simulated prices) on -addr
  subload   load-test live subscriptions: open -n sockets on a server, report latency and drops
  apikey    create, list and revoke API keys (needs DATABASE_URL)
  version   print the version

Run "marketgraph <command> -h" for the flags of a command.
`

// run is the whole program; main only turns its error into an exit code, so
// tests drive the binary through run.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve", "migrate", "seed", "ingest", "fake-upstream", cmdSyncAssets, cmdBackfill:
	case "version":
		fmt.Fprintln(stdout, "marketgraph", version())
		return nil
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	case cmdSubload:
		return runSubload(ctx, args, getenv, stdout, stderr)
	case "apikey":
		return runAPIKey(ctx, args, getenv, stdout, stderr)
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
	cfg, err := parseConfig(cmd, args, getenv, stderr)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)
	switch cmd {
	case "migrate":
		return runMigrate(ctx, cfg, stdout)
	case "seed":
		return runSeed(ctx, cfg, stdout)
	case "ingest":
		return runIngest(ctx, cfg, log, stdout)
	case "fake-upstream":
		return runFakeUpstream(ctx, cfg, stdout)
	case cmdSyncAssets:
		return runSyncAssets(ctx, cfg, stdout)
	case cmdBackfill:
		return runBackfill(ctx, cfg, stdout)
	default:
		return runServe(ctx, cfg, log, stdout)
	}
}

// version is the module version the binary was built from, or "devel".
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
