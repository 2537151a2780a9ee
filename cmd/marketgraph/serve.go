package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/demo"
	"github.com/marketgraph/marketgraph/graph"
	"github.com/marketgraph/marketgraph/ingest"
	"github.com/marketgraph/marketgraph/internal/redisconn"
	"github.com/marketgraph/marketgraph/internal/redislock"
	"github.com/marketgraph/marketgraph/loaders"
	"github.com/marketgraph/marketgraph/memory"
	"github.com/marketgraph/marketgraph/postgres"
	"github.com/marketgraph/marketgraph/resolvers"
	"github.com/marketgraph/marketgraph/server"
	"github.com/marketgraph/marketgraph/tickhub"
)

func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

// runServe reads top to bottom: store, provider, handler, server, wait for
// the signal, graceful shutdown.
func runServe(ctx context.Context, cfg *config, log *slog.Logger, stdout io.Writer) error {
	store, db, dataset, closeStore, err := openServeStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeStore()

	provider, providerHealth, err := newProvider(cfg, dataset, log)
	if err != nil {
		return err
	}
	bus, busHealth, err := newBus(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer bus.Close()
	components := map[string]server.Component{"provider": providerHealth}
	if busHealth != nil {
		components["bus"] = busHealth
	}
	if cfg.Ingest {
		var lock ingest.Lock // the memory store alone has one writer: this process
		switch {
		case db != nil:
			lock = db.AdvisoryLock(ingestLockKey, tickInterval(cfg), log)
		case cfg.RedisURL != "":
			// Replicas on the memory store that share Redis elect their
			// ingesting process there: each would otherwise publish ticks
			// of its own, with clashing sequences, on the shared bus.
			client, _, err := redisconn.Dial(ctx, cfg.RedisURL, true)
			if err != nil {
				return err
			}
			defer client.Close()
			lock = redislock.New(client, cfg.RedisPrefix+"ingest:leader", tickInterval(cfg), log)
		}
		ictx, stopIngest := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			// Ingest refreshes: every tick asks the provider, and its answers
			// warm the cache the API reads.
			if err := newPipeline(cfg, store, provider.Refreshing(), bus, lock, log).Run(ictx); err != nil {
				log.Error("ingest stopped", "error", err.Error())
			}
		}()
		defer func() { stopIngest(); <-done }()
	}

	acc, err := buildAccess(ctx, cfg, store, log)
	if err != nil {
		return err
	}
	defer acc.close()
	scfg := server.Config{
		Schema: graph.NewExecutableSchema(graph.Config{
			Resolvers:  resolvers.New(resolvers.Deps{Store: store, Log: log, Bus: bus, ResumeWindow: cfg.ResumeWindow}),
			Complexity: resolvers.Complexity(),
		}),
		Logger:                        log,
		OperationContext:              loaders.PerOperation(loaders.Config{Store: store, Quotes: provider, Wait: cfg.BatchWait}),
		AllowedOrigins:                cfg.AllowedOrigins,
		AllowAllOrigins:               cfg.Dev,
		WebSocketKeepAlive:            cfg.WSKeepAlive,
		WebSocketInitTimeout:          cfg.WSInitTimeout,
		WebSocketReadLimit:            cfg.WSReadLimit,
		MaxSubscriptionsPerConnection: cfg.MaxSubsPerConn,
		MaxConnectionsPerCaller:       cfg.MaxConnsPerCaller,
		StreamWriteTimeout:            cfg.StreamWriteTimeout,
		Ready:                         store.Ping,
		Components:                    components,
		BodyLimit:                     cfg.BodyLimit,
		QueryCacheSize:                cfg.QueryCache,
		ComplexityLimit:               cfg.ComplexityLimit,
		MaxDepth:                      cfg.MaxDepth,
		OperationTimeout:              cfg.OpTimeout,
	}
	// Who may call, how often and how much; also the playground and
	// introspection switches, which default to dev mode.
	acc.serverConfig(cfg, &scfg)
	docs, apqCache, closeAPQ, err := persistedDocuments(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeAPQ()
	scfg.TrustedDocuments, scfg.PersistedOnly = docs, cfg.Persisted.Only
	scfg.APQCache, scfg.DisableAPQ = apqCache, !cfg.Persisted.APQ
	cfg.Limits.apply(&scfg)
	// priceTicks subscriptions over WebSocket that select only what a tick
	// carries are served by the tick hub: one bus subscription per asset,
	// one encoding per tick and selection.
	ticks := tickhub.New(tickhub.Config{Bus: bus, Assets: store.FindAssetsByIDs, Log: log, Window: cfg.StreamBatchWindow})
	defer ticks.Close()
	scfg.Ticks = ticks
	handler := server.New(scfg)

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("-addr / MARKETGRAPH_ADDR: listen on %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: cfg.ReadTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	base := "http://" + displayAddr(ln.Addr())
	fmt.Fprintf(stdout, "marketgraph listening on %s/graphql\n", base)
	if cfg.Dev {
		fmt.Fprintf(stdout, "playground: %s/playground\n", base)
	}
	log.Info("serving", "addr", ln.Addr().String(), "store", storeKind(cfg), "dev", cfg.Dev)

	if cfg.PprofAddr != "" {
		stopPprof, err := servePprof(cfg.PprofAddr, log)
		if err != nil {
			return err
		}
		defer stopPprof()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	// Streams first: http.Server.Shutdown neither sees hijacked WebSockets
	// nor waits for event streams, which never go idle. Their clients get
	// complete and a 1001 close, and reconnect elsewhere.
	if err := handler.Shutdown(sctx); err != nil {
		log.Warn("streams still open at the shutdown deadline", "open", handler.OpenStreams())
	}
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}

// openServeStore opens the store serve runs on, and the dataset the
// simulated feed anchors its prices to: on the embedded default both come
// from the demo generator; on PostgreSQL the anchors are read back from the
// database so quotes continue from its latest candles.
//
// db is the PostgreSQL handle behind store, nil on the embedded default.
func openServeStore(ctx context.Context, cfg *config, log *slog.Logger) (store marketgraph.Store, db *postgres.DB, ds *marketgraph.Dataset, closeFn func(), err error) {
	if cfg.DatabaseURL == "" {
		start := time.Now()
		ds := demo.Generate(cfg.Seed, time.Now())
		mem := memory.New()
		if err := mem.Load(ctx, ds); err != nil {
			return nil, nil, nil, nil, fmt.Errorf("load demo dataset: %w", err)
		}
		log.Info("embedded memory store ready", "assets", len(ds.Assets), "candles", len(ds.Candles),
			"signals", len(ds.Signals), "took", time.Since(start).String())
		return mem, nil, ds, func() {}, nil
	}
	db, err = openDB(ctx, cfg)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if cfg.Migrate {
		applied, err := db.Migrate(ctx)
		if err != nil {
			db.Close()
			return nil, nil, nil, nil, fmt.Errorf("migrate: %w", err)
		}
		log.Info("migrations applied", "count", len(applied))
	}
	pending, err := db.PendingMigrations(ctx)
	if err != nil {
		db.Close()
		return nil, nil, nil, nil, fmt.Errorf("check migrations: %w", err)
	}
	if len(pending) > 0 {
		db.Close()
		return nil, nil, nil, nil, fmt.Errorf("DATABASE_URL: %d migrations pending (%s): run `marketgraph migrate` or `marketgraph serve -migrate`",
			len(pending), strings.Join(pending, ", "))
	}
	ds, err = anchorDataset(ctx, db)
	if err != nil {
		db.Close()
		return nil, nil, nil, nil, err
	}
	if len(ds.Assets) == 0 {
		log.Warn("database has no assets: run `marketgraph seed`")
	}
	return db, db, ds, db.Close, nil
}

// anchorDataset reads what the simulator needs from a store: the whole
// catalog, page by page, and each asset's last day of minute candles.
func anchorDataset(ctx context.Context, store marketgraph.Store) (*marketgraph.Dataset, error) {
	ds := &marketgraph.Dataset{}
	p := marketgraph.AssetListParams{First: marketgraph.MaxAssetPageSize, Order: marketgraph.DefaultAssetOrder}
	for {
		page, err := store.ListAssets(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("read catalog: %w", err)
		}
		ds.Assets = append(ds.Assets, page.Assets...)
		if !page.HasNextPage || len(page.Assets) == 0 {
			break
		}
		c := marketgraph.CursorFor(page.Assets[len(page.Assets)-1], p.Order.Field)
		p.After = &c
	}
	for start := 0; start < len(ds.Assets); start += marketgraph.MaxAssetPageSize {
		end := min(start+marketgraph.MaxAssetPageSize, len(ds.Assets))
		ids := make([]string, 0, end-start)
		for _, a := range ds.Assets[start:end] {
			ids = append(ids, a.ID)
		}
		byAsset, err := store.CandlesByAssets(ctx, ids, marketgraph.CandleRange{Interval: marketgraph.IntervalMinute, Last: 24*60 + 1})
		if err != nil {
			return nil, fmt.Errorf("read latest candles: %w", err)
		}
		for _, id := range ids {
			cs := byAsset[id]
			ds.Candles = append(ds.Candles, cs...)
			if n := len(cs); n > 0 {
				if end := cs[n-1].Start.Add(time.Minute); end.After(ds.End) {
					ds.End = end
				}
			}
		}
	}
	return ds, nil
}

func storeKind(cfg *config) string {
	if cfg.DatabaseURL == "" {
		return "memory"
	}
	return "postgres"
}

// displayAddr turns a listener address into one a browser can open.
func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || tcp.IP.IsUnspecified() {
		if ok {
			return fmt.Sprintf("localhost:%d", tcp.Port)
		}
		return a.String()
	}
	return tcp.String()
}

// servePprof serves net/http/pprof's handlers on their own listener, apart
// from the public one, for measuring a running server (memory per
// subscriber, CPU per tick). It returns the function that stops it.
func servePprof(addr string, log *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("-pprof-addr / MARKETGRAPH_PPROF_ADDR: listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Info("profiler listening", "addr", ln.Addr().String())
	return func() { _ = srv.Close() }, nil
}
