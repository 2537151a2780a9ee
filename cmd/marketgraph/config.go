package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/marketgraph/marketgraph/demo"
	"github.com/marketgraph/marketgraph/loaders"
	"github.com/marketgraph/marketgraph/marketdata"
	"github.com/marketgraph/marketgraph/marketdata/coingecko"
	"github.com/marketgraph/marketgraph/pubsub"
	"github.com/marketgraph/marketgraph/server"
	"github.com/marketgraph/marketgraph/tickhub"
)

// config is every setting of every subcommand. Each flag has an environment
// variable; the flag wins when both are given. The README's configuration
// table lists the same names: keep them in step.
type config struct {
	Addr            string        // -addr, MARKETGRAPH_ADDR
	DatabaseURL     string        // -database-url, DATABASE_URL
	DBMaxConns      int           // -db-max-conns, MARKETGRAPH_DB_MAX_CONNS
	Dev             bool          // -dev, MARKETGRAPH_DEV
	Migrate         bool          // serve -migrate, MARKETGRAPH_MIGRATE
	Seed            int64         // -seed, MARKETGRAPH_SEED
	BatchWait       time.Duration // -batch-wait, MARKETGRAPH_BATCH_WAIT
	BodyLimit       int64         // -body-limit, MARKETGRAPH_BODY_LIMIT
	QueryCache      int           // -query-cache, MARKETGRAPH_QUERY_CACHE
	ComplexityLimit int           // -complexity-limit, MARKETGRAPH_COMPLEXITY_LIMIT
	MaxDepth        int           // -max-depth, MARKETGRAPH_MAX_DEPTH
	OpTimeout       time.Duration // -operation-timeout, MARKETGRAPH_OPERATION_TIMEOUT
	ReadTimeout     time.Duration // -read-timeout, MARKETGRAPH_READ_TIMEOUT
	WriteTimeout    time.Duration // -write-timeout, MARKETGRAPH_WRITE_TIMEOUT
	IdleTimeout     time.Duration // -idle-timeout, MARKETGRAPH_IDLE_TIMEOUT
	ShutdownTimeout time.Duration // -shutdown-timeout, MARKETGRAPH_SHUTDOWN_TIMEOUT
	LogLevel        slog.Level    // -log-level, MARKETGRAPH_LOG_LEVEL

	Provider          string        // -provider, MARKETGRAPH_PROVIDER
	ProviderURL       string        // -provider-url, MARKETGRAPH_PROVIDER_URL
	ProviderKey       string        // -provider-key, MARKETGRAPH_PROVIDER_KEY (secret)
	ProviderKeyHeader string        // -provider-key-header, MARKETGRAPH_PROVIDER_KEY_HEADER
	ProviderBudget    int           // -provider-budget, MARKETGRAPH_PROVIDER_BUDGET
	ProviderTimeout   time.Duration // -provider-timeout, MARKETGRAPH_PROVIDER_TIMEOUT
	QuoteTTL          time.Duration // -quote-ttl, MARKETGRAPH_QUOTE_TTL
	BreakerThreshold  int           // -provider-breaker-threshold, MARKETGRAPH_PROVIDER_BREAKER_THRESHOLD
	BreakerCooldown   time.Duration // -provider-breaker-cooldown, MARKETGRAPH_PROVIDER_BREAKER_COOLDOWN

	AllowedOrigins []string // serve -allowed-origins, MARKETGRAPH_ALLOWED_ORIGINS

	WSKeepAlive        time.Duration // serve -ws-keepalive, MARKETGRAPH_WS_KEEPALIVE
	WSInitTimeout      time.Duration // serve -ws-init-timeout, MARKETGRAPH_WS_INIT_TIMEOUT
	WSReadLimit        int64         // serve -ws-read-limit, MARKETGRAPH_WS_READ_LIMIT
	MaxSubsPerConn     int           // serve -max-subscriptions-per-connection, MARKETGRAPH_MAX_SUBSCRIPTIONS_PER_CONNECTION
	MaxConnsPerCaller  int           // serve -max-connections-per-caller, MARKETGRAPH_MAX_CONNECTIONS_PER_CALLER
	StreamWriteTimeout time.Duration // serve -stream-write-timeout, MARKETGRAPH_STREAM_WRITE_TIMEOUT
	StreamBatchWindow  time.Duration // serve -stream-batch-window, MARKETGRAPH_STREAM_BATCH_WINDOW

	Access    accessConfig    // serve's access control (access.go)
	Persisted persistedConfig // serve's persisted documents (persisted.go)
	Limits    limitsConfig    // serve's limits on documents and variables (limits.go)

	PprofAddr string // serve -pprof-addr, MARKETGRAPH_PPROF_ADDR

	RedisURL    string        // -redis-url, REDIS_URL (secret: may hold a password)
	RedisPrefix string        // -redis-prefix, MARKETGRAPH_REDIS_PREFIX
	Ingest      bool          // serve -ingest, MARKETGRAPH_INGEST
	Tick        time.Duration // -tick, MARKETGRAPH_TICK
	Track       string        // -track, MARKETGRAPH_TRACK

	ResumeWindow time.Duration // -resume-window, MARKETGRAPH_RESUME_WINDOW
	ResumeBuffer int           // -resume-buffer, MARKETGRAPH_RESUME_BUFFER (0: enough for the window at -tick)

	Top    int    // sync-assets -top, MARKETGRAPH_SYNC_TOP
	Days   int    // backfill -days, MARKETGRAPH_BACKFILL_DAYS
	Assets string // backfill -assets, MARKETGRAPH_BACKFILL_ASSETS

	// cmd is the subcommand the configuration was read for: settings of
	// other commands are left zero and not validated.
	cmd string
}

// parseConfig reads the flags of one subcommand over the environment. An
// environment variable with a value that does not parse is an error naming
// the variable, never silently ignored.
func parseConfig(cmd string, args []string, getenv func(string) string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("marketgraph "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	e := envReader{getenv: getenv}
	c := &config{cmd: cmd}
	fs.StringVar(&c.Addr, "addr", e.str("MARKETGRAPH_ADDR", ":8080"), "listen address (MARKETGRAPH_ADDR)")
	c.DatabaseURL = e.str("DATABASE_URL", "")
	fs.Var(secretString{&c.DatabaseURL}, "database-url", "PostgreSQL URL; empty runs on the embedded memory store (DATABASE_URL)")
	fs.IntVar(&c.DBMaxConns, "db-max-conns", e.int("MARKETGRAPH_DB_MAX_CONNS", 10), "PostgreSQL pool size (MARKETGRAPH_DB_MAX_CONNS)")
	// Dev mode defaults on only for the embedded default, where there is
	// nothing to protect; without an explicit setting it is decided after
	// the database URL is known (flag or environment).
	devEnv := e.str("MARKETGRAPH_DEV", "")
	fs.BoolVar(&c.Dev, "dev", e.bool("MARKETGRAPH_DEV", false), "dev mode: playground and introspection on (MARKETGRAPH_DEV; default on without DATABASE_URL)")
	if cmd == "serve" {
		fs.BoolVar(&c.Migrate, "migrate", e.bool("MARKETGRAPH_MIGRATE", false), "apply pending migrations before serving (MARKETGRAPH_MIGRATE)")
	}
	fs.Int64Var(&c.Seed, "seed", e.int64("MARKETGRAPH_SEED", demo.DefaultSeed), "seed of the demo dataset and the simulated feed (MARKETGRAPH_SEED)")
	fs.DurationVar(&c.BatchWait, "batch-wait", e.duration("MARKETGRAPH_BATCH_WAIT", loaders.DefaultWait), "dataloader batching window, at most a few ms (MARKETGRAPH_BATCH_WAIT)")
	fs.Int64Var(&c.BodyLimit, "body-limit", e.int64("MARKETGRAPH_BODY_LIMIT", 1<<20), "largest request body in bytes (MARKETGRAPH_BODY_LIMIT)")
	fs.IntVar(&c.QueryCache, "query-cache", e.int("MARKETGRAPH_QUERY_CACHE", 1000), "parsed-document cache entries (MARKETGRAPH_QUERY_CACHE)")
	fs.IntVar(&c.ComplexityLimit, "complexity-limit", e.int("MARKETGRAPH_COMPLEXITY_LIMIT", server.DefaultComplexityLimit), "largest estimated cost of one operation; lists count once per element (MARKETGRAPH_COMPLEXITY_LIMIT; negative turns it off)")
	fs.IntVar(&c.MaxDepth, "max-depth", e.int("MARKETGRAPH_MAX_DEPTH", server.DefaultMaxDepth), "deepest field nesting of one operation (MARKETGRAPH_MAX_DEPTH; negative turns it off)")
	fs.DurationVar(&c.OpTimeout, "operation-timeout", e.duration("MARKETGRAPH_OPERATION_TIMEOUT", server.DefaultOperationTimeout), "longest a query may run (MARKETGRAPH_OPERATION_TIMEOUT)")
	fs.DurationVar(&c.ReadTimeout, "read-timeout", e.duration("MARKETGRAPH_READ_TIMEOUT", 10*time.Second), "HTTP server read timeout (MARKETGRAPH_READ_TIMEOUT)")
	fs.DurationVar(&c.WriteTimeout, "write-timeout", e.duration("MARKETGRAPH_WRITE_TIMEOUT", 30*time.Second), "HTTP server write timeout (MARKETGRAPH_WRITE_TIMEOUT)")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", e.duration("MARKETGRAPH_IDLE_TIMEOUT", 120*time.Second), "HTTP keep-alive idle timeout (MARKETGRAPH_IDLE_TIMEOUT)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", e.duration("MARKETGRAPH_SHUTDOWN_TIMEOUT", 15*time.Second), "graceful shutdown limit (MARKETGRAPH_SHUTDOWN_TIMEOUT)")
	if cmd == "serve" {
		fs.BoolVar(&c.Ingest, "ingest", e.bool("MARKETGRAPH_INGEST", true), "run the ingest pipeline in this process; among processes sharing PostgreSQL, or Redis on the memory store, only one ingests at a time (MARKETGRAPH_INGEST)")
	}
	origins := ""
	if cmd == "serve" {
		origins = e.str("MARKETGRAPH_ALLOWED_ORIGINS", "")
		fs.StringVar(&origins, "allowed-origins", origins, "comma-separated browser origins (https://app.example.com) allowed to open WebSockets; dev mode allows all (MARKETGRAPH_ALLOWED_ORIGINS)")
		fs.DurationVar(&c.WSKeepAlive, "ws-keepalive", e.duration("MARKETGRAPH_WS_KEEPALIVE", server.DefaultWebSocketKeepAlive), "interval of WebSocket pings and SSE keep-alive comments; a socket whose ping is not answered within it is closed (MARKETGRAPH_WS_KEEPALIVE)")
		fs.DurationVar(&c.WSInitTimeout, "ws-init-timeout", e.duration("MARKETGRAPH_WS_INIT_TIMEOUT", server.DefaultWebSocketInitTimeout), "how long a new WebSocket may take to send connection_init before it is closed with 4408 (MARKETGRAPH_WS_INIT_TIMEOUT)")
		fs.Int64Var(&c.WSReadLimit, "ws-read-limit", e.int64("MARKETGRAPH_WS_READ_LIMIT", server.DefaultWebSocketReadLimit), "largest WebSocket message accepted from a client, in bytes; larger ones close the socket with 1009 (MARKETGRAPH_WS_READ_LIMIT)")
		fs.IntVar(&c.MaxSubsPerConn, "max-subscriptions-per-connection", e.int("MARKETGRAPH_MAX_SUBSCRIPTIONS_PER_CONNECTION", server.DefaultMaxSubscriptionsPerConnection), "operations running at once on one WebSocket; one more is refused with RATE_LIMITED (MARKETGRAPH_MAX_SUBSCRIPTIONS_PER_CONNECTION; negative: no limit)")
		fs.IntVar(&c.MaxConnsPerCaller, "max-connections-per-caller", e.int("MARKETGRAPH_MAX_CONNECTIONS_PER_CALLER", server.DefaultMaxConnectionsPerCaller), "WebSockets and event streams one account (or anonymous address) holds open; one more is closed with 1013 or answered 429 (MARKETGRAPH_MAX_CONNECTIONS_PER_CALLER; negative: no limit)")
		fs.DurationVar(&c.StreamWriteTimeout, "stream-write-timeout", e.duration("MARKETGRAPH_STREAM_WRITE_TIMEOUT", server.DefaultStreamWriteTimeout), "how long one message to a WebSocket or event stream may take; a client that stops reading is disconnected with 1008 (MARKETGRAPH_STREAM_WRITE_TIMEOUT)")
		fs.DurationVar(&c.StreamBatchWindow, "stream-batch-window", e.duration("MARKETGRAPH_STREAM_BATCH_WINDOW", tickhub.DefaultWindow), "how long the tick hub gathers a publish round's price ticks after the first, to write each socket's ticks of the round together: fewer writes for a little latency; negative: deliver at once (MARKETGRAPH_STREAM_BATCH_WINDOW)")
		c.Access.flags(fs, &e)
		fs.StringVar(&c.PprofAddr, "pprof-addr", e.str("MARKETGRAPH_PPROF_ADDR", ""), "serve Go's profiler (/debug/pprof/) on this separate address, for example 127.0.0.1:6060; empty: off. Never expose it publicly (MARKETGRAPH_PPROF_ADDR)")
		c.Persisted.flags(fs, &e)
		c.Limits.flags(fs, &e)
	}
	if cmd == "serve" || cmd == "ingest" {
		c.RedisURL = e.str("REDIS_URL", "")
		fs.Var(secretString{&c.RedisURL}, "redis-url", "Redis URL for the event bus shared by replicas; empty: in-process bus (REDIS_URL)")
		fs.StringVar(&c.RedisPrefix, "redis-prefix", e.str("MARKETGRAPH_REDIS_PREFIX", pubsub.DefaultPrefix), "prefix of every Redis key and channel, so that deployments can share one Redis (MARKETGRAPH_REDIS_PREFIX)")
		fs.DurationVar(&c.Tick, "tick", e.duration("MARKETGRAPH_TICK", 0), "ingest tick: one batched quote call each; 0: 1s on the simulator, 10s on coingecko (MARKETGRAPH_TICK)")
		fs.StringVar(&c.Track, "track", e.str("MARKETGRAPH_TRACK", ""), "comma-separated asset ids to ingest; empty: the top 100 of the catalog (MARKETGRAPH_TRACK)")
		fs.StringVar(&c.Provider, "provider", e.str("MARKETGRAPH_PROVIDER", providerSimulator), "where quotes come from: simulator or coingecko (MARKETGRAPH_PROVIDER)")
	}
	if cmd == "serve" || cmd == "ingest" {
		// The window is the resolvers' (serve); the buffer is applied by
		// whoever publishes (serve or ingest), so both take both.
		fs.DurationVar(&c.ResumeWindow, "resume-window", e.duration("MARKETGRAPH_RESUME_WINDOW", defaultResumeWindow), "how far back priceTicks(resumeFrom:) replays missed ticks; older gaps get the current state (MARKETGRAPH_RESUME_WINDOW)")
		fs.IntVar(&c.ResumeBuffer, "resume-buffer", e.int("MARKETGRAPH_RESUME_BUFFER", 0), "ticks retained per asset for resumption; 0: enough for -resume-window at -tick (MARKETGRAPH_RESUME_BUFFER)")
	}
	// sync-assets and backfill call the CoinGecko-compatible API whatever
	// -provider says: the simulator has no catalog or history to offer.
	if cmd == "serve" || cmd == "ingest" || cmd == cmdSyncAssets || cmd == cmdBackfill {
		fs.StringVar(&c.ProviderURL, "provider-url", e.str("MARKETGRAPH_PROVIDER_URL", coingecko.DemoBaseURL), "API root of the CoinGecko-compatible provider (MARKETGRAPH_PROVIDER_URL)")
		// The key is read from the environment only: a flag would show it
		// in the process list.
		c.ProviderKey = e.str("MARKETGRAPH_PROVIDER_KEY", "")
		fs.StringVar(&c.ProviderKeyHeader, "provider-key-header", e.str("MARKETGRAPH_PROVIDER_KEY_HEADER", ""), "header carrying MARKETGRAPH_PROVIDER_KEY; default by host: x-cg-pro-api-key on the pro API, else x-cg-demo-api-key (MARKETGRAPH_PROVIDER_KEY_HEADER)")
		fs.IntVar(&c.ProviderBudget, "provider-budget", e.int("MARKETGRAPH_PROVIDER_BUDGET", 0), "upstream calls per minute, never exceeded; 0: 30 for coingecko (a free demo plan), unlimited for the simulator; negative: unlimited (MARKETGRAPH_PROVIDER_BUDGET)")
	}
	if cmd == "serve" || cmd == "ingest" {
		fs.DurationVar(&c.ProviderTimeout, "provider-timeout", e.duration("MARKETGRAPH_PROVIDER_TIMEOUT", marketdata.DefaultCallTimeout), "deadline of one upstream call, retries included (MARKETGRAPH_PROVIDER_TIMEOUT)")
		fs.IntVar(&c.BreakerThreshold, "provider-breaker-threshold", e.int("MARKETGRAPH_PROVIDER_BREAKER_THRESHOLD", marketdata.DefaultBreakerThreshold), "consecutive failed upstream calls that open the circuit breaker (MARKETGRAPH_PROVIDER_BREAKER_THRESHOLD)")
		fs.DurationVar(&c.BreakerCooldown, "provider-breaker-cooldown", e.duration("MARKETGRAPH_PROVIDER_BREAKER_COOLDOWN", marketdata.DefaultBreakerCooldown), "how long an open breaker fails fast before one probe call (MARKETGRAPH_PROVIDER_BREAKER_COOLDOWN)")
		fs.DurationVar(&c.QuoteTTL, "quote-ttl", e.duration("MARKETGRAPH_QUOTE_TTL", 0), "how long a quote is served from cache; 0: 10s for coingecko, 1s for the simulator (MARKETGRAPH_QUOTE_TTL)")
	}
	if cmd == cmdSyncAssets {
		fs.IntVar(&c.Top, "top", e.int("MARKETGRAPH_SYNC_TOP", defaultSyncTop), "how many assets, by market cap, to refresh the catalog with (MARKETGRAPH_SYNC_TOP)")
	}
	if cmd == cmdBackfill {
		fs.IntVar(&c.Days, "days", e.int("MARKETGRAPH_BACKFILL_DAYS", defaultBackfillDays), "days of history to fill, 1 to 365; beyond 90 the provider sends daily samples, so only DAY candles are written (MARKETGRAPH_BACKFILL_DAYS)")
		fs.StringVar(&c.Assets, "assets", e.str("MARKETGRAPH_BACKFILL_ASSETS", ""), "comma-separated asset ids to fill; empty: the top 100 of the catalog by rank (MARKETGRAPH_BACKFILL_ASSETS)")
	}
	level := e.str("MARKETGRAPH_LOG_LEVEL", "info")
	fs.StringVar(&level, "log-level", level, "debug, info, warn or error (MARKETGRAPH_LOG_LEVEL)")
	if e.err != nil {
		return nil, e.err
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	devFlag := false
	fs.Visit(func(f *flag.Flag) { devFlag = devFlag || f.Name == "dev" })
	if !devFlag && devEnv == "" {
		c.Dev = c.DatabaseURL == ""
	}
	for _, o := range strings.Split(origins, ",") {
		o = strings.TrimSuffix(strings.TrimSpace(o), "/")
		if o == "" {
			continue
		}
		// An origin is scheme://host[:port] and nothing more; a path would
		// never match what a browser sends.
		if u, err := url.Parse(o); err != nil || u.Scheme == "" || u.Host == "" || u.Path != "" || u.RawQuery != "" {
			return nil, fmt.Errorf("-allowed-origins / MARKETGRAPH_ALLOWED_ORIGINS: %q is not an origin such as https://app.example.com", o)
		}
		c.AllowedOrigins = append(c.AllowedOrigins, o)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%s: unexpected argument %q", cmd, fs.Arg(0))
	}
	if err := c.LogLevel.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("-log-level / MARKETGRAPH_LOG_LEVEL: %q is not debug, info, warn or error", level)
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	if cmd == "serve" {
		if err := c.Access.validate(); err != nil {
			return nil, err
		}
		if err := c.Persisted.validate(); err != nil {
			return nil, err
		}
		if err := c.Limits.validate(); err != nil {
			return nil, err
		}
	}
	if err := c.validateBatch(cmd); err != nil {
		return nil, err
	}
	if err := c.validateResume(cmd); err != nil {
		return nil, err
	}
	return c, nil
}

// Bounds of the resumption settings.
const (
	defaultResumeWindow = 5 * time.Minute
	maxResumeWindow     = 24 * time.Hour
	maxResumeBuffer     = 100_000
)

// validateResume checks -resume-window and -resume-buffer, which serve and
// ingest have.
func (c *config) validateResume(cmd string) error {
	if cmd != "serve" && cmd != "ingest" {
		return nil
	}
	switch {
	case c.ResumeWindow < time.Second || c.ResumeWindow > maxResumeWindow:
		return fmt.Errorf("-resume-window / MARKETGRAPH_RESUME_WINDOW: must be between 1s and %s, got %s", maxResumeWindow, c.ResumeWindow)
	case c.ResumeBuffer < 0 || c.ResumeBuffer > maxResumeBuffer:
		return fmt.Errorf("-resume-buffer / MARKETGRAPH_RESUME_BUFFER: must be between 1 and %d ticks per asset, or 0 for enough to cover -resume-window, got %d", maxResumeBuffer, c.ResumeBuffer)
	}
	return nil
}

func (c *config) validate() error {
	switch {
	case c.DBMaxConns < 1 || c.DBMaxConns > 1000:
		return fmt.Errorf("-db-max-conns / MARKETGRAPH_DB_MAX_CONNS: must be between 1 and 1000, got %d", c.DBMaxConns)
	case c.BatchWait < 0 || c.BatchWait > 100*time.Millisecond:
		return fmt.Errorf("-batch-wait / MARKETGRAPH_BATCH_WAIT: must be between 0 and 100ms, got %s", c.BatchWait)
	case c.BodyLimit < 1024:
		return fmt.Errorf("-body-limit / MARKETGRAPH_BODY_LIMIT: must be at least 1024 bytes, got %d", c.BodyLimit)
	case c.QueryCache < 1:
		return fmt.Errorf("-query-cache / MARKETGRAPH_QUERY_CACHE: must be at least 1, got %d", c.QueryCache)
	case c.ReadTimeout <= 0 || c.WriteTimeout <= 0 || c.IdleTimeout <= 0 || c.ShutdownTimeout <= 0 || c.OpTimeout <= 0:
		return fmt.Errorf("timeouts must be positive")
	case c.OpTimeout >= c.WriteTimeout:
		// The connection would be cut before the operation could report
		// its own timeout.
		return fmt.Errorf("-operation-timeout / MARKETGRAPH_OPERATION_TIMEOUT (%s) must be shorter than -write-timeout / MARKETGRAPH_WRITE_TIMEOUT (%s)", c.OpTimeout, c.WriteTimeout)
	case c.Tick < 0:
		return fmt.Errorf("-tick / MARKETGRAPH_TICK must not be negative")
	case c.ProviderTimeout < 0 || c.QuoteTTL < 0 || c.BreakerCooldown < 0 || c.BreakerThreshold < 0:
		return fmt.Errorf("-provider-timeout, -quote-ttl and the breaker settings must not be negative")
	case c.ProviderTimeout >= c.OpTimeout && c.OpTimeout > 0:
		return fmt.Errorf("-provider-timeout / MARKETGRAPH_PROVIDER_TIMEOUT (%s) must be shorter than -operation-timeout (%s), or stale quotes could never be served in time", c.ProviderTimeout, c.OpTimeout)
	case c.cmd == "serve" && (c.WSKeepAlive <= 0 || c.WSInitTimeout <= 0 || c.StreamWriteTimeout <= 0):
		return fmt.Errorf("-ws-keepalive, -ws-init-timeout and -stream-write-timeout must be positive")
	case c.cmd == "serve" && c.StreamBatchWindow > time.Second:
		return fmt.Errorf("-stream-batch-window / MARKETGRAPH_STREAM_BATCH_WINDOW: at most 1s, got %s", c.StreamBatchWindow)
	case c.cmd == "serve" && (c.WSReadLimit < 1024 || c.WSReadLimit > 16<<20):
		return fmt.Errorf("-ws-read-limit / MARKETGRAPH_WS_READ_LIMIT: must be between 1024 and 16777216 bytes, got %d", c.WSReadLimit)
	case c.cmd == "serve" && (c.MaxSubsPerConn == 0 || c.MaxConnsPerCaller == 0):
		return fmt.Errorf("-max-subscriptions-per-connection and -max-connections-per-caller must be positive, or negative for no limit")
	case c.ComplexityLimit == 0 || c.MaxDepth == 0:
		return fmt.Errorf("-complexity-limit and -max-depth must be positive, or negative to turn them off")
	}
	return nil
}

// validateBatch checks the settings only sync-assets and backfill have.
func (c *config) validateBatch(cmd string) error {
	switch {
	case cmd == cmdSyncAssets && (c.Top < 1 || c.Top > maxSyncTop):
		return fmt.Errorf("-top / MARKETGRAPH_SYNC_TOP: must be between 1 and %d, got %d", maxSyncTop, c.Top)
	case cmd == cmdBackfill && (c.Days < 1 || c.Days > maxBackfillDays):
		return fmt.Errorf("-days / MARKETGRAPH_BACKFILL_DAYS: must be between 1 and %d, got %d", maxBackfillDays, c.Days)
	}
	return nil
}

// envReader reads typed environment variables, keeping the first error.
type envReader struct {
	getenv func(string) string
	err    error
}

func (e *envReader) str(name, def string) string {
	if v := strings.TrimSpace(e.getenv(name)); v != "" {
		return v
	}
	return def
}

func (e *envReader) fail(name, v, want string) {
	if e.err == nil {
		e.err = fmt.Errorf("%s: %q is not %s", name, v, want)
	}
}

func (e *envReader) int(name string, def int) int {
	return int(e.int64(name, int64(def)))
}

func (e *envReader) int64(name string, def int64) int64 {
	v := e.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		e.fail(name, v, "an integer")
		return def
	}
	return n
}

func (e *envReader) bool(name string, def bool) bool {
	v := e.str(name, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		e.fail(name, v, "true or false")
		return def
	}
	return b
}

func (e *envReader) duration(name string, def time.Duration) time.Duration {
	v := e.str(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		e.fail(name, v, "a duration such as 500us or 2s")
		return def
	}
	return d
}

// secretString is a string flag whose value -h never prints: a database or
// Redis URL taken from the environment may hold a password.
type secretString struct{ p *string }

func (s secretString) String() string { return "" }

func (s secretString) Set(v string) error {
	*s.p = v
	return nil
}
