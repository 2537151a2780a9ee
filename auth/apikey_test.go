package auth_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/auth"
	"github.com/marketgraph/marketgraph/memory"
)

// wantAuthErr fails t unless err has the code and message.
func wantAuthErr(t *testing.T, what string, err error, code, msg string) {
	t.Helper()
	if got := marketgraph.ErrorCode(err); got != code {
		t.Errorf("%s: code %q (err %v), want %q", what, got, err, code)
	}
	if got := marketgraph.ErrorMessage(err); msg != "" && got != msg {
		t.Errorf("%s: message %q, want %q", what, got, msg)
	}
}

// counting is a reader of 0, 1, 2, ...: a key made from it is known.
type counting struct{ n byte }

func (c *counting) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = c.n
		c.n++
	}
	return len(p), nil
}

func TestGenerateKey(t *testing.T) {
	g, err := auth.GenerateKey(&counting{})
	if err != nil {
		t.Fatal(err)
	}
	// base64url of the bytes 0..31, unpadded.
	const want = "mg_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
	if g.Key != want {
		t.Errorf("Key = %q, want %q", g.Key, want)
	}
	if len(g.Key) != auth.KeyLen || auth.KeyLen != 46 {
		t.Errorf("len(Key) = %d, KeyLen = %d, want 46", len(g.Key), auth.KeyLen)
	}
	if g.Prefix != "AAECAwQFBgcI" || len(g.Prefix) != auth.PrefixLen {
		t.Errorf("Prefix = %q, want the 12 characters after mg_", g.Prefix)
	}
	sum := sha256.Sum256([]byte(want))
	if !bytes.Equal(g.Hash, sum[:]) || !bytes.Equal(auth.HashKey(want), sum[:]) {
		t.Errorf("Hash = %x, want SHA-256 of the whole key %x", g.Hash, sum)
	}
	if p, err := auth.ParseKey(g.Key); err != nil || p != g.Prefix {
		t.Errorf("ParseKey(generated) = %q, %v; want %q", p, err, g.Prefix)
	}

	t.Run("Random", func(t *testing.T) {
		seen := map[string]bool{}
		for range 100 {
			g, err := auth.GenerateKey(nil)
			if err != nil {
				t.Fatal(err)
			}
			if seen[g.Prefix] {
				t.Fatalf("prefix %q drawn twice", g.Prefix)
			}
			seen[g.Prefix] = true
			if _, err := auth.ParseKey(g.Key); err != nil {
				t.Fatalf("ParseKey(%q): %v", g.Key, err)
			}
		}
	})
	t.Run("ShortRead", func(t *testing.T) {
		if _, err := auth.GenerateKey(strings.NewReader("too short")); err == nil {
			t.Error("no error from a reader that runs dry")
		}
	})
}

func TestParseKey_Malformed(t *testing.T) {
	good := "mg_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
	at := func(i int, s string) string { return good[:i] + s + good[i+1:] }
	cases := map[string]string{
		"Empty":            "",
		"MarkerOnly":       "mg_",
		"NoMarker":         good[3:],
		"OtherMarker":      "mk_" + good[3:],
		"UpperMarker":      "MG_" + good[3:],
		"OneShort":         good[:len(good)-1],
		"OneLong":          good + "A",
		"Padded":           good[:len(good)-1] + "=",
		"StandardBase64":   at(20, "+"),
		"Slash":            at(20, "/"),
		"Dot":              at(20, "."),
		"Space":            at(20, " "),
		"NUL":              at(20, "\x00"),
		"Newline":          at(45, "\n"),
		"NonASCII":         good[:43] + "é",
		"InvalidUTF8":      at(30, "\xff"),
		"NonCanonicalTail": at(45, "9"), // spare bits set: another spelling of some key
		"JWT":              "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl",
		"Huge":             "mg_" + strings.Repeat("A", 1<<20),
	}
	for name, key := range cases {
		t.Run(name, func(t *testing.T) {
			p, err := auth.ParseKey(key)
			wantAuthErr(t, "ParseKey", err, marketgraph.EUNAUTHENTICATED, "malformed API key")
			if p != "" {
				t.Errorf("prefix %q alongside an error", p)
			}
		})
	}
	// The last character of a valid key carries 4 bits and 2 zero bits:
	// A, Q, g and w are the canonical ones.
	for _, c := range "AQgw" {
		if _, err := auth.ParseKey(good[:45] + string(c)); err != nil {
			t.Errorf("ParseKey(ending %c): %v", c, err)
		}
	}
}

func TestMatchKey(t *testing.T) {
	g, err := auth.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	last := "A"
	if strings.HasSuffix(g.Key, "A") {
		last = "Q"
	}
	for _, tc := range []struct {
		name string
		key  string
		hash []byte
		want bool
	}{
		{"Match", g.Key, g.Hash, true},
		{"LastCharDiffers", g.Key[:len(g.Key)-1] + last, g.Hash, false},
		{"EmptyHash", g.Key, nil, false},
		{"ShortHash", g.Key, g.Hash[:16], false},
		{"HashOfPrefix", g.Key, auth.HashKey(g.Prefix), false},
	} {
		if got := auth.MatchKey(tc.key, tc.hash); got != tc.want {
			t.Errorf("%s: MatchKey = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestParseScopes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []auth.Scope
		err  string
	}{
		{"read", []auth.Scope{auth.ScopeRead}, ""},
		{"subscribe, read", []auth.Scope{auth.ScopeRead, auth.ScopeSubscribe}, ""},
		{"admin,write,subscribe,read,read", auth.AllScopes, ""},
		{"", nil, `scopes: empty item in ""; want a comma-separated list of read, subscribe, write, admin`},
		{"read,", nil, `scopes: empty item in "read,"; want a comma-separated list of read, subscribe, write, admin`},
		{"read,Write", nil, `scopes: unknown scope "Write"; want read, subscribe, write, admin`},
		{"root", nil, `scopes: unknown scope "root"; want read, subscribe, write, admin`},
	} {
		got, err := auth.ParseScopes(tc.in)
		if tc.err != "" {
			wantAuthErr(t, "ParseScopes("+tc.in+")", err, marketgraph.EBADINPUT, tc.err)
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ParseScopes(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// conflicting fails the first n CreateAPIKey calls with CONFLICT, as a
// store does when the prefix is taken.
type conflicting struct {
	*memory.Store
	n, calls int
}

func (c *conflicting) CreateAPIKey(ctx context.Context, k *marketgraph.APIKey) error {
	c.calls++
	if c.calls <= c.n {
		return marketgraph.Errorf(marketgraph.ECONFLICT, "API key %q: prefix already exists", k.Prefix)
	}
	return c.Store.CreateAPIKey(ctx, k)
}

func TestIssueAPIKey(t *testing.T) {
	ctx := context.Background()
	expires := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	n := auth.NewKey{Account: "acme", Scopes: []auth.Scope{auth.ScopeRead, auth.ScopeWrite}, RatePerMinute: 60, CostPerMinute: 5000, ExpiresAt: expires}

	store := memory.New()
	secret, k, err := auth.IssueAPIKey(ctx, store, n, nil)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := store.APIKeyByPrefix(ctx, k.Prefix)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := auth.ParseKey(secret); p != stored.Prefix || !auth.MatchKey(secret, stored.Hash) {
		t.Errorf("the secret (prefix %q) does not match the stored key %+v", p, stored)
	}
	if stored.AccountName != "acme" || !slices.Equal(stored.Scopes, []string{"read", "write"}) ||
		stored.RatePerMinute != 60 || stored.CostPerMinute != 5000 || !stored.ExpiresAt.Equal(expires) {
		t.Errorf("stored %+v, want acme's key with read,write, 60/min, 5000/min, expiring %s", stored, expires)
	}
	if strings.Contains(string(stored.Hash), secret) || bytes.Contains(stored.Hash, []byte(secret[3:])) {
		t.Error("the store holds the secret")
	}

	t.Run("RetriesConflicts", func(t *testing.T) {
		s := &conflicting{Store: memory.New(), n: 2}
		if _, _, err := auth.IssueAPIKey(ctx, s, n, nil); err != nil || s.calls != 3 {
			t.Errorf("after 2 conflicts: err %v after %d calls, want success on the 3rd", err, s.calls)
		}
		s = &conflicting{Store: memory.New(), n: 100}
		_, k, err := auth.IssueAPIKey(ctx, s, n, nil)
		wantAuthErr(t, "always conflicting", err, marketgraph.ECONFLICT, "")
		if k != nil || s.calls != 3 {
			t.Errorf("always conflicting: key %v after %d calls, want none after 3", k, s.calls)
		}
	})
	t.Run("Refused", func(t *testing.T) {
		s := memory.New()
		for name, n := range map[string]auth.NewKey{
			"NoScopes":     {Account: "acme"},
			"UnknownScope": {Account: "acme", Scopes: []auth.Scope{"root"}},
			"BadAccount":   {Account: "ac\x00me", Scopes: []auth.Scope{auth.ScopeRead}},
			"NegativeRate": {Account: "acme", Scopes: []auth.Scope{auth.ScopeRead}, RatePerMinute: -1},
		} {
			secret, k, err := auth.IssueAPIKey(ctx, s, n, nil)
			wantAuthErr(t, name, err, marketgraph.EBADINPUT, "")
			if secret != "" || k != nil {
				t.Errorf("%s: key %q %v alongside an error", name, secret, k)
			}
		}
		if ks, _ := s.ListAPIKeys(ctx); len(ks) != 0 {
			t.Errorf("%d keys stored by refused calls", len(ks))
		}
	})
	t.Run("StoreError", func(t *testing.T) {
		boom := errors.New("boom")
		_, _, err := auth.IssueAPIKey(ctx, failingIssuer{boom}, n, nil)
		if !errors.Is(err, boom) {
			t.Errorf("err = %v, want the store's", err)
		}
	})
}

type failingIssuer struct{ err error }

func (f failingIssuer) EnsureAccount(context.Context, string) (*marketgraph.Account, error) {
	return &marketgraph.Account{ID: "acc_1", Name: "acme"}, nil
}

func (f failingIssuer) CreateAPIKey(context.Context, *marketgraph.APIKey) error { return f.err }
