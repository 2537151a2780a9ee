package storetest

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
)

// This file is the marketgraph.AccountStore contract. Beyond the interface's
// doc comments it pins down: account names are compared byte for byte
// ("Acme" and "acme" are two accounts); every time comes back in UTC
// truncated to the microsecond; CreateAPIKey checks everything before
// writing, so a refused key leaves nothing behind.

// testAccounts runs the account contract on a store of its own.
func testAccounts(t *testing.T, newStore func(t *testing.T) marketgraph.Store) {
	s := newStore(t)
	t.Run("EnsureAccount", func(t *testing.T) { testEnsureAccount(t, s) })
	t.Run("CreateAPIKey", func(t *testing.T) { testCreateAPIKey(t, s) })
	t.Run("RefusedKeys", func(t *testing.T) { testRefusedKeys(t, s) })
	t.Run("Lookups", func(t *testing.T) { testKeyLookups(t, s) })
	t.Run("Revoke", func(t *testing.T) { testRevokeAPIKey(t, s) })
	t.Run("Touch", func(t *testing.T) { testTouchAPIKeys(t, s) })
	t.Run("List", func(t *testing.T) { testListAPIKeys(t, s) })
}

// formatKey renders a key in full, times with their location.
func formatKey(k *marketgraph.APIKey) string {
	if k == nil {
		return "<nil>"
	}
	tm := func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return formatTime(t)
	}
	return fmt.Sprintf("%s account=%s(%s) prefix=%s hash=%x scopes=%q rate=%d cost=%d expires=%s revoked=%s used=%s created=%s",
		k.ID, k.AccountID, k.AccountName, k.Prefix, k.Hash, k.Scopes, k.RatePerMinute, k.CostPerMinute,
		tm(k.ExpiresAt), tm(k.RevokedAt), tm(k.LastUsedAt), tm(k.CreatedAt))
}

// keySeq numbers the keys newKey makes, so prefixes and hashes differ.
var keySeq struct {
	sync.Mutex
	n int
}

// newKey returns a valid key of account, with a prefix and hash of its own.
func newKey(account string) *marketgraph.APIKey {
	keySeq.Lock()
	keySeq.n++
	n := keySeq.n
	keySeq.Unlock()
	return &marketgraph.APIKey{
		AccountID: account,
		Prefix:    fmt.Sprintf("pfx%09d", n),
		Hash:      []byte(fmt.Sprintf("hash-%027d", n)),
		Scopes:    []string{"read", "subscribe"},
	}
}

// ensureAccount is EnsureAccount that fails t on an error.
func ensureAccount(t *testing.T, s marketgraph.Store, name string) *marketgraph.Account {
	t.Helper()
	a, err := s.EnsureAccount(context.Background(), name)
	if err != nil {
		t.Fatalf("EnsureAccount(%q): %v", name, err)
	}
	return a
}

// createKey is CreateAPIKey that fails t on an error.
func createKey(t *testing.T, s marketgraph.Store, k *marketgraph.APIKey) *marketgraph.APIKey {
	t.Helper()
	if err := s.CreateAPIKey(context.Background(), k); err != nil {
		t.Fatalf("CreateAPIKey(%s): %v", formatKey(k), err)
	}
	return k
}

// keyByPrefix is APIKeyByPrefix that fails t on an error.
func keyByPrefix(t *testing.T, s marketgraph.Store, prefix string) *marketgraph.APIKey {
	t.Helper()
	k, err := s.APIKeyByPrefix(context.Background(), prefix)
	if err != nil {
		t.Fatalf("APIKeyByPrefix(%q): %v", prefix, err)
	}
	return k
}

// listKeys is ListAPIKeys that fails t on an error.
func listKeys(t *testing.T, s marketgraph.Store) []*marketgraph.APIKey {
	t.Helper()
	ks, err := s.ListAPIKeys(context.Background())
	if err != nil {
		t.Fatalf("ListAPIKeys: %v", err)
	}
	return ks
}

func testEnsureAccount(t *testing.T, s marketgraph.Store) {
	ctx := context.Background()
	a := ensureAccount(t, s, "acme")
	if a.ID == "" || a.Name != "acme" || a.CreatedAt.IsZero() || a.CreatedAt.Location() != time.UTC {
		t.Errorf("new account = %+v, want an id, name acme and a creation time in UTC", a)
	}
	if again := ensureAccount(t, s, "acme"); *again != *a {
		t.Errorf("EnsureAccount(acme) again = %+v, want the same account %+v", again, a)
	}
	if other := ensureAccount(t, s, "Acme"); other.ID == a.ID {
		t.Errorf("Acme and acme are the same account %s; names compare byte for byte", a.ID)
	}
	if long := ensureAccount(t, s, strings.Repeat("n", marketgraph.MaxTextLen)); long.ID == "" {
		t.Error("the longest allowed name got no id")
	}
	t.Run("Concurrent", func(t *testing.T) {
		// Creators racing for one name all get the one account.
		ids := make([]string, 8)
		var wg sync.WaitGroup
		for i := range ids {
			wg.Go(func() {
				if a, err := s.EnsureAccount(ctx, "racing"); err != nil {
					t.Errorf("EnsureAccount: %v", err)
				} else {
					ids[i] = a.ID
				}
			})
		}
		wg.Wait()
		if distinct := slices.Compact(slices.Sorted(slices.Values(ids))); len(distinct) != 1 || distinct[0] == "" {
			t.Errorf("concurrent EnsureAccount returned ids %v, want one", ids)
		}
	})
	t.Run("Hostile", func(t *testing.T) {
		names := hostileTexts()
		names["Empty"] = ""
		names["LeadingSpace"] = " acme"
		names["TrailingSpace"] = "acme "
		names["Newline"] = "ac\nme"
		names["Escape"] = "acme\x1b[31m"
		for name, n := range names {
			t.Run(name, func(t *testing.T) {
				a, err := s.EnsureAccount(ctx, n)
				checkCode(t, "EnsureAccount", err, marketgraph.EBADINPUT)
				if msg := marketgraph.ErrorMessage(err); !strings.HasPrefix(msg, "account name: ") {
					t.Errorf("message %q does not name the argument (account name)", msg)
				}
				if a != nil {
					t.Errorf("account %+v alongside an error", a)
				}
			})
		}
	})
}

func testCreateAPIKey(t *testing.T, s marketgraph.Store) {
	acct := ensureAccount(t, s, "create")
	paris := time.FixedZone("Paris", 3600)
	k := newKey(acct.ID)
	k.Scopes = []string{"write", "read"}
	k.RatePerMinute, k.CostPerMinute = 120, math.MaxInt32
	k.ExpiresAt = time.Date(2031, 2, 3, 4, 5, 6, 789123456, paris)
	// A new key is neither revoked nor used, whatever the caller says.
	k.RevokedAt, k.LastUsedAt = time.Unix(1, 0), time.Unix(2, 0)
	before := time.Now().Add(-time.Minute)
	createKey(t, s, k)

	if k.ID == "" || k.ID == acct.ID || k.AccountName != "create" {
		t.Errorf("after CreateAPIKey: id %q, account name %q; want a new id and %q", k.ID, k.AccountName, "create")
	}
	if k.CreatedAt.Location() != time.UTC || k.CreatedAt.Before(before) || k.CreatedAt.Nanosecond()%1000 != 0 {
		t.Errorf("CreatedAt = %s, want now in UTC to the microsecond", formatTime(k.CreatedAt))
	}
	want := *k
	want.ExpiresAt = time.Date(2031, 2, 3, 3, 5, 6, 789123000, time.UTC)
	want.RevokedAt, want.LastUsedAt = time.Time{}, time.Time{}
	checkLines(t, "CreateAPIKey's k", []string{formatKey(k)}, []string{formatKey(&want)})
	got := keyByPrefix(t, s, k.Prefix)
	checkLines(t, "APIKeyByPrefix", []string{formatKey(got)}, []string{formatKey(&want)})

	t.Run("NoExpiry", func(t *testing.T) {
		k := createKey(t, s, newKey(acct.ID))
		if got := keyByPrefix(t, s, k.Prefix); !got.ExpiresAt.IsZero() || got.RatePerMinute != 0 {
			t.Errorf("APIKeyByPrefix = %s, want no expiry and default limits", formatKey(got))
		}
	})
	t.Run("Copies", func(t *testing.T) {
		k := newKey(acct.ID)
		createKey(t, s, k)
		want := formatKey(keyByPrefix(t, s, k.Prefix))
		k.Hash[0], k.Scopes[0] = 'X', "admin"
		got := keyByPrefix(t, s, k.Prefix)
		got.Hash[0], got.Scopes[0] = 'Y', "admin"
		ks := listKeys(t, s)
		ks[len(ks)-1].Hash[1] = 'Z'
		checkLines(t, "after mutating the input and results", []string{formatKey(keyByPrefix(t, s, k.Prefix))}, []string{want})
	})
	t.Run("DuplicatePrefix", func(t *testing.T) {
		dup := newKey(acct.ID)
		dup.Prefix = k.Prefix
		err := s.CreateAPIKey(context.Background(), dup)
		checkCode(t, "CreateAPIKey(same prefix)", err, marketgraph.ECONFLICT)
		checkLines(t, "the first key", []string{formatKey(keyByPrefix(t, s, k.Prefix))}, []string{formatKey(&want)})
	})
}

// testRefusedKeys: a key ValidateAPIKey refuses, or one of an unknown
// account, is BAD_USER_INPUT and leaves nothing behind.
func testRefusedKeys(t *testing.T, s marketgraph.Store) {
	acct := ensureAccount(t, s, "refused")
	with := func(f func(k *marketgraph.APIKey)) *marketgraph.APIKey {
		k := newKey(acct.ID)
		f(k)
		return k
	}
	cases := map[string]*marketgraph.APIKey{
		"Nil":            nil,
		"UnknownAccount": with(func(k *marketgraph.APIKey) { k.AccountID = "acc_nosuchaccount" }),
		"NoAccount":      with(func(k *marketgraph.APIKey) { k.AccountID = "" }),
		"NoPrefix":       with(func(k *marketgraph.APIKey) { k.Prefix = "" }),
		"NoHash":         with(func(k *marketgraph.APIKey) { k.Hash = nil }),
		"HugeHash":       with(func(k *marketgraph.APIKey) { k.Hash = make([]byte, 65) }),
		"NoScopes":       with(func(k *marketgraph.APIKey) { k.Scopes = nil }),
		"EmptyScope":     with(func(k *marketgraph.APIKey) { k.Scopes = []string{"read", ""} }),
		"ManyScopes":     with(func(k *marketgraph.APIKey) { k.Scopes = slices.Repeat([]string{"read"}, 17) }),
		"NegativeRate":   with(func(k *marketgraph.APIKey) { k.RatePerMinute = -1 }),
		"NegativeCost":   with(func(k *marketgraph.APIKey) { k.CostPerMinute = -1 }),
		"ExpiryTooLate":  with(func(k *marketgraph.APIKey) { k.ExpiresAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }),
	}
	if strconv.IntSize == 64 {
		cases["RateOverInt32"] = with(func(k *marketgraph.APIKey) { k.RatePerMinute = math.MaxInt32 + 1 })
	}
	for name, text := range hostileTexts() {
		cases["Account"+name] = with(func(k *marketgraph.APIKey) { k.AccountID = text })
		cases["Prefix"+name] = with(func(k *marketgraph.APIKey) { k.Prefix = text })
		cases["Scope"+name] = with(func(k *marketgraph.APIKey) { k.Scopes = []string{"read", text} })
	}
	before := len(listKeys(t, s))
	for name, k := range cases {
		t.Run(name, func(t *testing.T) {
			err := s.CreateAPIKey(context.Background(), k)
			checkCode(t, "CreateAPIKey", err, marketgraph.EBADINPUT)
			if k != nil && k.ID != "" {
				t.Errorf("refused key got id %q", k.ID)
			}
		})
	}
	if after := len(listKeys(t, s)); after != before {
		t.Errorf("%d keys after refused creations, want %d", after, before)
	}
}

// testKeyLookups: unknown and hostile prefixes are NOT_FOUND.
func testKeyLookups(t *testing.T, s marketgraph.Store) {
	acct := ensureAccount(t, s, "lookups")
	k := createKey(t, s, newKey(acct.ID))
	prefixes := hostileTexts()
	prefixes["Unknown"] = "pfxunknown00"
	prefixes["Empty"] = ""
	prefixes["Longer"] = k.Prefix + "x"
	prefixes["Shorter"] = k.Prefix[:len(k.Prefix)-1]
	prefixes["OtherCase"] = strings.ToUpper(k.Prefix)
	prefixes["KeyID"] = k.ID
	for name, p := range prefixes {
		t.Run(name, func(t *testing.T) {
			got, err := s.APIKeyByPrefix(context.Background(), p)
			checkCode(t, "APIKeyByPrefix", err, marketgraph.ENOTFOUND)
			if got != nil {
				t.Errorf("key %s alongside an error", formatKey(got))
			}
		})
	}
}

func testRevokeAPIKey(t *testing.T, s marketgraph.Store) {
	ctx := context.Background()
	acct := ensureAccount(t, s, "revoke")
	k := createKey(t, s, newKey(acct.ID))
	other := createKey(t, s, newKey(acct.ID))
	if err := s.RevokeAPIKey(ctx, k.ID); err != nil {
		t.Fatalf("RevokeAPIKey: %v", err)
	}
	got := keyByPrefix(t, s, k.Prefix)
	if got.RevokedAt.IsZero() || got.RevokedAt.Location() != time.UTC || got.RevokedAt.Before(got.CreatedAt) {
		t.Fatalf("revoked key = %s, want a revocation time in UTC after its creation", formatKey(got))
	}
	if err := s.RevokeAPIKey(ctx, k.ID); err != nil {
		t.Errorf("RevokeAPIKey again: %v, want nil", err)
	}
	checkLines(t, "twice revoked key", []string{formatKey(keyByPrefix(t, s, k.Prefix))}, []string{formatKey(got)})
	if o := keyByPrefix(t, s, other.Prefix); !o.RevokedAt.IsZero() {
		t.Errorf("the other key was revoked too: %s", formatKey(o))
	}
	ids := hostileTexts()
	ids["Unknown"] = "key_0000000000000000"
	ids["Empty"] = ""
	ids["Prefix"] = k.Prefix
	ids["AccountID"] = acct.ID
	for name, id := range ids {
		t.Run(name, func(t *testing.T) {
			checkCode(t, "RevokeAPIKey", s.RevokeAPIKey(ctx, id), marketgraph.ENOTFOUND)
		})
	}
}

func testTouchAPIKeys(t *testing.T, s marketgraph.Store) {
	ctx := context.Background()
	acct := ensureAccount(t, s, "touch")
	a := createKey(t, s, newKey(acct.ID))
	b := createKey(t, s, newKey(acct.ID))
	c := createKey(t, s, newKey(acct.ID))
	t0 := time.Date(2030, 5, 6, 7, 8, 9, 123456789, time.FixedZone("X", -5*3600))
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	utc := func(d time.Duration) time.Time { return at(d).UTC().Truncate(time.Microsecond) }
	touch := func(what string, used map[string]time.Time) {
		t.Helper()
		if err := s.TouchAPIKeys(ctx, used); err != nil {
			t.Fatalf("%s: TouchAPIKeys: %v", what, err)
		}
	}
	check := func(what string, want map[*marketgraph.APIKey]time.Time) {
		t.Helper()
		for k, w := range want {
			got := keyByPrefix(t, s, k.Prefix).LastUsedAt
			if !got.Equal(w) || (!w.IsZero() && got.Location() != time.UTC) {
				t.Errorf("%s: key %s last used %s, want %s", what, k.Prefix, formatTime(got), formatTime(w))
			}
		}
	}
	touch("nil batch", nil)
	touch("empty batch", map[string]time.Time{})
	check("before any touch", map[*marketgraph.APIKey]time.Time{a: {}, b: {}, c: {}})

	used := map[string]time.Time{a.ID: at(time.Minute), b.ID: at(0), "key_unknown": at(time.Hour), "": at(time.Hour)}
	for name, id := range hostileTexts() {
		used[name+id] = at(time.Hour)
	}
	touch("first batch", used)
	check("first batch", map[*marketgraph.APIKey]time.Time{a: utc(time.Minute), b: utc(0), c: {}})

	// Batches may arrive out of order (two replicas, a retried flush): an
	// earlier time never moves LastUsedAt back; zero and unstorable times
	// are skipped.
	touch("second batch", map[string]time.Time{a.ID: at(0), b.ID: at(2 * time.Minute), c.ID: {}})
	check("second batch", map[*marketgraph.APIKey]time.Time{a: utc(time.Minute), b: utc(2 * time.Minute), c: {}})
	touch("far future", map[string]time.Time{c.ID: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
	check("far future", map[*marketgraph.APIKey]time.Time{c: {}})

	// A revoked key's use is still recorded: the attempt happened.
	if err := s.RevokeAPIKey(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	touch("revoked", map[string]time.Time{c.ID: at(3 * time.Minute)})
	check("revoked", map[*marketgraph.APIKey]time.Time{c: utc(3 * time.Minute)})
}

// testListAPIKeys: every key of every account, revoked ones included,
// oldest first, ties by id, with account names.
func testListAPIKeys(t *testing.T, s marketgraph.Store) {
	created := map[string]*marketgraph.APIKey{}
	for _, name := range []string{"list-a", "list-b"} {
		acct := ensureAccount(t, s, name)
		for range 3 {
			k := createKey(t, s, newKey(acct.ID))
			created[k.ID] = k
		}
	}
	var revoked string
	for id := range created {
		revoked = id
		break
	}
	if err := s.RevokeAPIKey(context.Background(), revoked); err != nil {
		t.Fatal(err)
	}
	ks := listKeys(t, s)
	sorted := slices.SortedFunc(slices.Values(ks), func(a, b *marketgraph.APIKey) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	checkLines(t, "ListAPIKeys order", lines(ks, formatKey), lines(sorted, formatKey))
	seen := 0
	for _, k := range ks {
		c, ok := created[k.ID]
		if !ok {
			continue
		}
		seen++
		if k.AccountName != c.AccountName || k.Prefix != c.Prefix {
			t.Errorf("listed %s, created %s", formatKey(k), formatKey(c))
		}
		if (k.ID == revoked) == k.RevokedAt.IsZero() {
			t.Errorf("listed %s: revoked is wrong (revoked id %s)", formatKey(k), revoked)
		}
	}
	if seen != len(created) {
		t.Errorf("ListAPIKeys holds %d of the %d keys just created", seen, len(created))
	}
}
