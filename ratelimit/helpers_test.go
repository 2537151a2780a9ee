package ratelimit_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/marketgraph/marketgraph/ratelimit"
)

// waitLimit bounds how long a test waits for something that must happen.
const waitLimit = 15 * time.Second

// redisURL returns TEST_REDIS_URL, skipping the test without it (failing
// under CI, where Redis must be there).
func redisURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("TEST_REDIS_URL")
	if u == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("TEST_REDIS_URL is not set (required under CI)")
		}
		t.Skip("TEST_REDIS_URL is not set; skipping the Redis rate-limit tests")
	}
	return u
}

// testPrefix returns a key prefix no other test run uses.
func testPrefix() string { return "test:ratelimit:" + rand.Text()[:12] + ":" }

// newRedis connects a ratelimit.Redis with its own client, under cfg.Prefix
// (a fresh one when empty), and deletes the prefix's keys after the test.
func newRedis(t testing.TB, cfg ratelimit.RedisConfig) *ratelimit.Redis {
	t.Helper()
	if cfg.URL == "" {
		cfg.URL = redisURL(t)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = testPrefix()
	}
	r, err := ratelimit.NewRedis(context.Background(), cfg)
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	c := admin(t)
	t.Cleanup(func() {
		r.Close()
		ctx := context.Background()
		iter := c.Scan(ctx, 0, cfg.Prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	return r
}

// admin is a plain client to inspect Redis from outside.
func admin(t testing.TB) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(redisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	return c
}

// proxy is a TCP proxy in front of the test Redis that can be cut and
// restored, to take Redis away from a client without stopping it.
type proxy struct {
	t      testing.TB
	target string
	addr   string

	mu      sync.Mutex
	ln      net.Listener
	conns   []net.Conn
	stalled bool // accept connections but never forward a byte
}

// newProxy starts a proxy to the test Redis.
func newProxy(t testing.TB) *proxy {
	t.Helper()
	u, err := url.Parse(redisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, target: u.Host}
	p.listen("127.0.0.1:0")
	t.Cleanup(p.cut)
	return p
}

// url is the test Redis URL with the proxy's address.
func (p *proxy) url() string {
	u, _ := url.Parse(redisURL(p.t))
	u.Host = p.addr
	return u.String()
}

func (p *proxy) listen(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		p.t.Fatalf("proxy listen: %v", err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			stalled := p.stalled
			if stalled {
				p.conns = append(p.conns, c)
			}
			p.mu.Unlock()
			if stalled {
				continue
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
}

// cut closes the listener and every connection: the port refuses.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// stall closes every connection and holds new ones open without
// forwarding anything: a Redis that never answers.
func (p *proxy) stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stalled = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// restore listens again on the same address.
func (p *proxy) restore() { p.listen(p.addr) }

// clock is a clock tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// logBuffer is a concurrency-safe log sink.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
