package ratelimit

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/marketgraph/marketgraph/auth"
)

// ParseTrustedProxies parses a comma-separated list of the proxies whose
// forwarding headers are believed: CIDR prefixes ("10.0.0.0/8") and single
// addresses ("192.168.1.1", meaning /32, or /128 for IPv6). Blank entries
// are skipped, so "" is no proxy at all. Prefixes are masked
// ("10.1.2.3/8" is 10.0.0.0/8) and IPv4-mapped IPv6 ones are read as IPv4
// ("::ffff:10.0.0.0/104" is 10.0.0.0/8), the form addresses are compared
// in. A prefix of length 0 is refused: trusting every peer would let any
// client choose its own rate-limit key.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for entry := range strings.SplitSeq(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		p, err := parseTrusted(entry)
		if err != nil {
			return nil, fmt.Errorf("ratelimit: trusted proxy %q: %w", entry, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func parseTrusted(entry string) (netip.Prefix, error) {
	var p netip.Prefix
	if strings.Contains(entry, "/") {
		var err error
		if p, err = netip.ParsePrefix(entry); err != nil {
			return netip.Prefix{}, fmt.Errorf("not a CIDR prefix")
		}
	} else {
		a, err := netip.ParseAddr(entry)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("not an IP address or CIDR prefix")
		}
		if a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("an address with a zone cannot be trusted")
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	if p.Bits() == 0 {
		return netip.Prefix{}, fmt.Errorf("a /0 prefix trusts every peer")
	}
	return p.Masked(), nil
}

type clientAddrKey struct{}

// ClientIP returns middleware that resolves each request's client address
// and stores it for ClientAddr and CallerKey. Limiter.Handler runs it
// itself; install it earlier too when something before the limiter (an
// access log) wants the address.
//
// With no trusted proxies the client is the TCP peer (chi's
// ClientIPFromRemoteAddr). With some, a peer within them is a proxy: the
// client is read from X-Forwarded-For, walked from the right past trusted
// hops (chi's ClientIPFromXFF), or, when header names another header such
// as "X-Real-IP", from the last value of that header (chi's
// ClientIPFromHeader), which the proxy must overwrite. A peer outside them
// is the client whatever headers it sends. When a trusted peer's headers
// name no usable client (none sent, all hops trusted, a malformed entry),
// the peer itself is the client: no header can pick a key. An address that
// cannot be known at all (RemoteAddr not an IP, say a Unix socket) is the
// invalid netip.Addr, and such callers share one key.
func ClientIP(trusted []netip.Prefix, header string) func(http.Handler) http.Handler {
	resolve := chiResolver(trusted, header)
	return func(next http.Handler) http.Handler {
		return resolve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			addr := middleware.GetClientIPAddr(r.Context())
			if !addr.IsValid() {
				addr = peerAddr(r.RemoteAddr)
			}
			if addr.IsValid() {
				addr = addr.Unmap().WithZone("")
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientAddrKey{}, addr)))
		}))
	}
}

// chiResolver picks the chi middleware for the trust configuration. chi's
// ClientIPFromHeader trusts every peer when given no prefix, so it is only
// ever called with some.
func chiResolver(trusted []netip.Prefix, header string) func(http.Handler) http.Handler {
	if len(trusted) == 0 {
		return middleware.ClientIPFromRemoteAddr
	}
	prefixes := make([]string, len(trusted))
	for i, p := range trusted {
		prefixes[i] = p.String()
	}
	if header == "" || http.CanonicalHeaderKey(header) == "X-Forwarded-For" {
		return middleware.ClientIPFromXFF(prefixes...)
	}
	return middleware.ClientIPFromHeader(header, prefixes...)
}

// peerAddr parses the host of a RemoteAddr, invalid if it is not an IP.
func peerAddr(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a
}

// ClientAddr returns the client address ClientIP stored in ctx: IPv4
// (never IPv4-mapped), or IPv6 without a zone. It is invalid when ClientIP
// did not run or could not tell.
func ClientAddr(ctx context.Context) netip.Addr {
	a, _ := ctx.Value(clientAddrKey{}).(netip.Addr)
	return a
}

// ClientKey returns the rate-limit key of an anonymous caller at a:
// "ip:203.0.113.7" for IPv4, "ip:2001:db8:1:2::/64" for IPv6 (the /64 an
// IPv6 client typically controls whole, as httprate.CanonicalizeIP does: a
// client rotating addresses inside it gains nothing), and "ip:unknown" for
// an invalid address.
func ClientKey(a netip.Addr) string {
	if !a.IsValid() {
		return "ip:unknown"
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return "ip:" + a.String()
	}
	return "ip:" + netip.PrefixFrom(a, 64).Masked().String()
}

// CallerKey returns the key that request limits and cost budgets are kept
// under for the caller in ctx: "acct:" plus the account id of its
// auth.Principal, or ClientKey of its ClientAddr when it is anonymous.
func CallerKey(ctx context.Context) string {
	if p := auth.PrincipalFrom(ctx); p != nil {
		return "acct:" + p.AccountID
	}
	return ClientKey(ClientAddr(ctx))
}
