package ratelimit_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/httprate"

	"github.com/marketgraph/marketgraph/auth"
	"github.com/marketgraph/marketgraph/ratelimit"
)

func TestParseTrustedProxies(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
		err      string
	}{
		{name: "Empty", in: ""},
		{name: "Blanks", in: " , ,"},
		{name: "PrefixAndAddress", in: "10.0.0.0/8,192.168.1.1", want: []string{"10.0.0.0/8", "192.168.1.1/32"}},
		{name: "Spaces", in: " 10.0.0.0/8 , ::1 ", want: []string{"10.0.0.0/8", "::1/128"}},
		{name: "Masked", in: "10.1.2.3/8", want: []string{"10.0.0.0/8"}},
		{name: "MappedPrefix", in: "::ffff:10.0.0.0/104", want: []string{"10.0.0.0/8"}},
		{name: "MappedAddress", in: "::ffff:192.168.1.1", want: []string{"192.168.1.1/32"}},
		{name: "IPv6Prefix", in: "2001:db8::/32", want: []string{"2001:db8::/32"}},
		{name: "BadPrefixLength", in: "10.0.0.0/33", err: `trusted proxy "10.0.0.0/33": not a CIDR prefix`},
		{name: "NotAnAddress", in: "10.0.0.0/8,proxy.internal", err: `trusted proxy "proxy.internal": not an IP address`},
		{name: "Zone", in: "fe80::1%eth0", err: "zone"},
		{name: "TrustEveryone", in: "0.0.0.0/0", err: "/0 prefix trusts every peer"},
		{name: "TrustEveryoneV6", in: "::/0", err: "/0 prefix"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ratelimit.ParseTrustedProxies(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var strs []string
			for _, p := range got {
				strs = append(strs, p.String())
			}
			if !slices.Equal(strs, tc.want) {
				t.Errorf("got %v, want %v", strs, tc.want)
			}
		})
	}
}

// callerKeyOf runs a request through ClientIP and returns the CallerKey
// seen below it.
func callerKeyOf(t *testing.T, mw func(http.Handler) http.Handler, r *http.Request) string {
	t.Helper()
	var key string
	mw(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		key = ratelimit.CallerKey(r.Context())
	})).ServeHTTP(httptest.NewRecorder(), r)
	return key
}

func TestClientIP(t *testing.T) {
	trusted, err := ratelimit.ParseTrustedProxies("10.0.0.0/8,2001:db8:ffff::/48")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		trusted []netip.Prefix
		header  string
		remote  string
		xff     []string
		realIP  string
		want    string
	}{
		{name: "DirectPeer", remote: "203.0.113.7:5555", want: "ip:203.0.113.7"},
		{name: "NoTrustIgnoresXFF", remote: "203.0.113.7:5555", xff: []string{"198.51.100.1"}, want: "ip:203.0.113.7"},
		{name: "UntrustedPeerSpoofsXFF", trusted: trusted, remote: "203.0.113.7:5555", xff: []string{"198.51.100.1"}, want: "ip:203.0.113.7"},
		{name: "UntrustedPeerSpoofsTrustedXFF", trusted: trusted, remote: "203.0.113.7:5555", xff: []string{"10.0.0.9"}, want: "ip:203.0.113.7"},
		{name: "TrustedProxy", trusted: trusted, remote: "10.0.0.2:5555", xff: []string{"198.51.100.1"}, want: "ip:198.51.100.1"},
		{name: "TrustedChain", trusted: trusted, remote: "10.0.0.2:5555", xff: []string{"198.51.100.1, 10.1.1.1, 10.2.2.2"}, want: "ip:198.51.100.1"},
		{name: "ClientSpoofsLeftOfChain", trusted: trusted, remote: "10.0.0.2:5555", xff: []string{"1.1.1.1, 198.51.100.1, 10.1.1.1"}, want: "ip:198.51.100.1"},
		{name: "SplitHeaders", trusted: trusted, remote: "10.0.0.2:5555", xff: []string{"1.1.1.1", "198.51.100.1, 10.1.1.1"}, want: "ip:198.51.100.1"},
		{name: "TrustedPeerWithoutXFF", trusted: trusted, remote: "10.0.0.2:5555", want: "ip:10.0.0.2"},
		{name: "AllHopsTrusted", trusted: trusted, remote: "10.0.0.2:5555", xff: []string{"10.3.3.3"}, want: "ip:10.0.0.2"},
		{name: "MalformedHopFallsBackToPeer", trusted: trusted, remote: "10.0.0.2:5555", xff: []string{"198.51.100.1, bogus"}, want: "ip:10.0.0.2"},
		{name: "MappedHopCannotAliasTrust", trusted: trusted, remote: "10.0.0.2:5555", xff: []string{"198.51.100.1, ::ffff:10.1.1.1"}, want: "ip:198.51.100.1"},
		{name: "MappedPeer", remote: "[::ffff:203.0.113.7]:5555", want: "ip:203.0.113.7"},
		{name: "MappedTrustedPeer", trusted: trusted, remote: "[::ffff:10.0.0.2]:5555", xff: []string{"198.51.100.1"}, want: "ip:198.51.100.1"},
		{name: "IPv6By64", remote: "[2001:db8:1:2:aaaa:bbbb:cccc:dddd]:5555", want: "ip:2001:db8:1:2::/64"},
		{name: "IPv6SameSlash64", remote: "[2001:db8:1:2::1]:5555", want: "ip:2001:db8:1:2::/64"},
		{name: "IPv6NextSlash64", remote: "[2001:db8:1:3::1]:5555", want: "ip:2001:db8:1:3::/64"},
		{name: "IPv6Zone", remote: "[fe80::1%eth0]:5555", want: "ip:fe80::/64"},
		{name: "IPv6Forwarded", trusted: trusted, remote: "[2001:db8:ffff::1]:5555", xff: []string{"2001:db8:7:8::9%eth0"}, want: "ip:2001:db8:7:8::/64"},
		{name: "RealIP", trusted: trusted, header: "X-Real-IP", remote: "10.0.0.2:5555", realIP: "198.51.100.1", xff: []string{"1.1.1.1"}, want: "ip:198.51.100.1"},
		{name: "RealIPFromUntrusted", trusted: trusted, header: "X-Real-IP", remote: "203.0.113.7:5555", realIP: "198.51.100.1", want: "ip:203.0.113.7"},
		{name: "RealIPIgnoredWithoutTrust", header: "X-Real-IP", remote: "203.0.113.7:5555", realIP: "198.51.100.1", want: "ip:203.0.113.7"},
		{name: "UnixSocket", trusted: trusted, remote: "@", xff: []string{"198.51.100.1"}, want: "ip:unknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
			r.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if tc.realIP != "" {
				r.Header.Set("X-Real-IP", tc.realIP)
			}
			if got := callerKeyOf(t, ratelimit.ClientIP(tc.trusted, tc.header), r); got != tc.want {
				t.Errorf("key = %q, want %q", got, tc.want)
			}
		})
	}
}

// An account is keyed by its id, whatever its address.
func TestCallerKey_Account(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
	r = r.WithContext(auth.WithPrincipal(r.Context(), &auth.Principal{AccountID: "a1"}))
	if got := callerKeyOf(t, ratelimit.ClientIP(nil, ""), r); got != "acct:a1" {
		t.Errorf("key = %q, want acct:a1", got)
	}
}

// ClientKey agrees with httprate's canonical form of an address.
func TestClientKey_MatchesHTTPRate(t *testing.T) {
	for _, s := range []string{"203.0.113.7", "::ffff:203.0.113.7", "2001:db8:1:2:3:4:5:6", "::1"} {
		a := netip.MustParseAddr(s)
		want := httprate.CanonicalizeIP(s)
		got := strings.TrimSuffix(strings.TrimPrefix(ratelimit.ClientKey(a), "ip:"), "/64")
		if got != want {
			t.Errorf("ClientKey(%s) = %s, httprate says %s", s, got, want)
		}
	}
}
