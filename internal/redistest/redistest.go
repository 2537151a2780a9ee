// Package redistest helps tests that need the real Redis: its URL, with a
// skip (or, under CI, a failure) when there is none, and a TCP proxy in
// front of it that can take Redis away from a client and give it back.
package redistest

import (
	"context"
	"io"
	"net"
	"net/url"
	"os"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
)

// URL returns TEST_REDIS_URL, skipping the test without it, or failing it
// under CI, where Redis must be there.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("TEST_REDIS_URL")
	if u == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("TEST_REDIS_URL is not set (required under CI)")
		}
		t.Skip("TEST_REDIS_URL is not set: skipping a test that needs Redis")
	}
	return u
}

// Client returns a plain client of the test Redis, to look at it from
// outside what the test exercises; it is closed when the test ends.
func Client(t testing.TB) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(URL(t))
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// CleanUp deletes every key under prefix when the test ends.
func CleanUp(t testing.TB, prefix string) {
	t.Helper()
	c := Client(t)
	t.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
}

// Proxy is a TCP proxy in front of the test Redis that can be cut,
// stalled and restored, to take Redis away from a client without stopping
// it.
type Proxy struct {
	t      testing.TB
	target string
	addr   string

	mu      sync.Mutex
	ln      net.Listener
	conns   []net.Conn
	stalled bool // accept connections but never forward a byte
}

// NewProxy starts a proxy to the test Redis; it is cut when the test ends.
func NewProxy(t testing.TB) *Proxy {
	t.Helper()
	u, err := url.Parse(URL(t))
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{t: t, target: u.Host}
	p.listen("127.0.0.1:0")
	t.Cleanup(p.Cut)
	return p
}

// URL is the test Redis URL with the proxy's address.
func (p *Proxy) URL() string {
	u, _ := url.Parse(URL(p.t))
	u.Host = p.addr
	return u.String()
}

func (p *Proxy) listen(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		p.t.Fatalf("proxy listen: %v", err)
	}
	p.mu.Lock()
	p.ln, p.addr, p.stalled = ln, ln.Addr().String(), false
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			stalled := p.stalled
			p.conns = append(p.conns, c)
			p.mu.Unlock()
			if stalled {
				continue // hold it open, forward nothing
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
}

// Cut closes the listener and every connection: the port refuses.
func (p *Proxy) Cut() {
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

// Stall closes every connection and holds new ones open without
// forwarding anything: a Redis that never answers.
func (p *Proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stalled = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// Restore forwards again, on the same address.
func (p *Proxy) Restore() {
	p.mu.Lock()
	listening := p.ln != nil
	p.stalled = false
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	if !listening {
		p.listen(p.addr)
	}
}
