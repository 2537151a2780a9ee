package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"

	"github.com/99designs/gqlgen/graphql"

	"github.com/marketgraph/marketgraph/persisted"
	"github.com/marketgraph/marketgraph/server"
)

// persistedConfig is serve's persisted documents: automatic persisted
// queries, and the trusted-documents manifest.
type persistedConfig struct {
	APQ          bool   // -apq, MARKETGRAPH_APQ
	APQCacheSize int    // -apq-cache-size, MARKETGRAPH_APQ_CACHE_SIZE
	Only         bool   // -persisted-only, MARKETGRAPH_PERSISTED_ONLY
	Manifest     string // -persisted-manifest, MARKETGRAPH_PERSISTED_MANIFEST
}

// flags registers the settings on fs, defaulted from the environment.
func (c *persistedConfig) flags(fs *flag.FlagSet, e *envReader) {
	fs.BoolVar(&c.APQ, "apq", e.bool("MARKETGRAPH_APQ", true), "automatic persisted queries: clients may send a query's SHA-256 instead of its text once they have sent both (MARKETGRAPH_APQ)")
	fs.IntVar(&c.APQCacheSize, "apq-cache-size", e.int("MARKETGRAPH_APQ_CACHE_SIZE", server.DefaultAPQCacheSize), "automatic persisted queries kept in memory; with REDIS_URL they are also shared in Redis (MARKETGRAPH_APQ_CACHE_SIZE)")
	fs.BoolVar(&c.Only, "persisted-only", e.bool("MARKETGRAPH_PERSISTED_ONLY", false), "execute only the documents of -persisted-manifest; anything else is refused with PERSISTED_QUERY_REQUIRED (MARKETGRAPH_PERSISTED_ONLY)")
	fs.StringVar(&c.Manifest, "persisted-manifest", e.str("MARKETGRAPH_PERSISTED_MANIFEST", ""), "Apollo persisted query manifest or Relay persisted queries JSON whose documents clients may name by id (MARKETGRAPH_PERSISTED_MANIFEST)")
}

// validate checks the settings once parsed.
func (c *persistedConfig) validate() error {
	switch {
	case c.Only && c.Manifest == "":
		return fmt.Errorf("-persisted-only / MARKETGRAPH_PERSISTED_ONLY needs -persisted-manifest / MARKETGRAPH_PERSISTED_MANIFEST: the documents it may execute")
	case c.APQ && c.APQCacheSize < 1:
		return fmt.Errorf("-apq-cache-size / MARKETGRAPH_APQ_CACHE_SIZE: must be at least 1, got %d", c.APQCacheSize)
	}
	return nil
}

// persistedDocuments reads the manifest and builds the APQ cache: an
// in-process LRU, in front of Redis when REDIS_URL is set so that a query
// one replica learnt runs by hash on every other. The returned function
// closes the Redis connection.
func persistedDocuments(ctx context.Context, cfg *config, log *slog.Logger) (docs map[string]string, apq graphql.Cache[string], closeFn func(), err error) {
	closeFn = func() {}
	pc := cfg.Persisted
	if pc.Manifest != "" {
		if docs, err = persisted.LoadManifest(pc.Manifest); err != nil {
			return nil, nil, nil, fmt.Errorf("-persisted-manifest / MARKETGRAPH_PERSISTED_MANIFEST: %w", err)
		}
		log.Info("trusted documents loaded", "documents", len(docs), "persisted_only", pc.Only)
	}
	if !pc.APQ || pc.Only {
		return docs, nil, closeFn, nil
	}
	local := persisted.NewLRU(pc.APQCacheSize, 0)
	if cfg.RedisURL == "" {
		return docs, local, closeFn, nil
	}
	r, err := persisted.NewRedis(ctx, persisted.RedisConfig{URL: cfg.RedisURL, Prefix: cfg.RedisPrefix + "apq:", Logger: log})
	if err != nil {
		return nil, nil, nil, err
	}
	return docs, persisted.Tiered(local, r), func() { r.Close() }, nil
}
