package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/auth"
	"github.com/marketgraph/marketgraph/internal/logtest"
	"github.com/marketgraph/marketgraph/internal/pgtest"
)

// runAPIKeyCmd runs `marketgraph apikey args...` and returns its stdout,
// stderr and error.
func runAPIKeyCmd(vars map[string]string, args ...string) (string, string, error) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), append([]string{"apikey"}, args...), env(vars), &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

// TestAPIKey walks an operator through the commands against PostgreSQL:
// create two keys, list them, use one, revoke it.
func TestAPIKey(t *testing.T) {
	url := migratedDatabase(t)
	vars := map[string]string{"DATABASE_URL": url}
	ctx := context.Background()

	out, errOut, err := runAPIKeyCmd(vars, "create", "--account", "acme", "--scopes", "subscribe,read", "--rate-per-minute", "120", "--expires", "90d")
	if err != nil {
		t.Fatalf("create: %v; stderr: %s", err, errOut)
	}
	secret := strings.TrimSuffix(out, "\n")
	prefix, err := auth.ParseKey(secret)
	if err != nil || strings.Contains(secret, "\n") {
		t.Fatalf("create printed %q on stdout, want the key alone on a line: %v", out, err)
	}
	for _, want := range []string{"for account acme", "prefix " + prefix, "scopes read,subscribe", "rate 120", "cost default", "shown only this once"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("create's stderr %q does not say %q", errOut, want)
		}
	}
	if strings.Contains(errOut, secret[3:]) {
		t.Error("the key is on stderr too")
	}
	second, _, err := runAPIKeyCmd(vars, "create", "-account", "acme", "-scopes", "admin", "-database-url", url)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(second) == secret {
		t.Fatal("two creates printed the same key")
	}

	db := openTestDB(t, url)
	a := auth.NewAPIKeyAuthenticator(auth.APIKeyConfig{Store: db, CacheTTL: time.Millisecond})
	defer a.Close()
	p, err := a.Authenticate(ctx, secret)
	if err != nil {
		t.Fatalf("the created key does not authenticate: %v", err)
	}
	keys, err := db.ListAPIKeys(ctx)
	if err != nil || len(keys) != 2 {
		t.Fatalf("ListAPIKeys = %d keys, %v; want 2", len(keys), err)
	}
	k := keys[0]
	if p.KeyID != k.ID || p.RatePerMinute != 120 || len(p.Scopes) != 2 || keys[1].AccountID != k.AccountID {
		t.Errorf("principal %+v of key %+v; want the first key, 120/min, read and subscribe, one account for both keys", p, k)
	}
	if d := time.Until(p.ExpiresAt); d < 89*24*time.Hour || d > 91*24*time.Hour {
		t.Errorf("expires %s, want in 90 days", p.ExpiresAt)
	}
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	out, _, err = runAPIKeyCmd(vars, "list")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID ") || !strings.Contains(lines[0], "LAST USED") {
		t.Fatalf("list printed %q, want a header and 2 rows", out)
	}
	first := strings.Fields(lines[1])
	if first[0] != k.ID || first[1] != "acme" || first[2] != prefix || first[3] != "read,subscribe" || first[4] != "120" || first[5] != "default" ||
		first[8] != "-" || first[9] == "never" {
		t.Errorf("first row %q, want id, account, prefix, scopes, 120, default, created, expiry, not revoked, used", lines[1])
	}
	if f := strings.Fields(lines[2]); f[3] != "admin" || f[7] != "never" || f[9] != "never" {
		t.Errorf("second row %q, want admin, never expires, never used", lines[2])
	}
	for _, secretPart := range []string{secret[3+auth.PrefixLen:], hex.EncodeToString(k.Hash)} {
		if strings.Contains(out, secretPart) {
			t.Errorf("list shows a secret or a hash:\n%s", out)
		}
	}

	out, _, err = runAPIKeyCmd(vars, "revoke", k.ID)
	if err != nil || !strings.Contains(out, "revoked "+k.ID) {
		t.Fatalf("revoke: %q, %v", out, err)
	}
	if _, _, err := runAPIKeyCmd(vars, "revoke", "-database-url", url, k.ID); err != nil {
		t.Errorf("revoking twice: %v, want nothing to report", err)
	}
	time.Sleep(2 * time.Millisecond) // the authenticator's 1ms cache
	if _, err := a.Authenticate(ctx, secret); marketgraph.ErrorMessage(err) != "API key revoked" {
		t.Errorf("after revoke: %v, want API key revoked", err)
	}
	out, _, _ = runAPIKeyCmd(vars, "list")
	if f := strings.Fields(strings.Split(out, "\n")[1]); f[8] == "-" {
		t.Errorf("list after revoke: %q, want a revocation time", out)
	}

	_, _, err = runAPIKeyCmd(vars, "revoke", "key_0000000000000000")
	if err == nil || !strings.Contains(err.Error(), `no API key with id "key_0000000000000000"`) {
		t.Errorf("revoking an unknown id: %v", err)
	}
}

func TestAPIKey_Empty(t *testing.T) {
	out, _, err := runAPIKeyCmd(map[string]string{"DATABASE_URL": migratedDatabase(t)}, "list")
	if err != nil || out != "no API keys\n" {
		t.Errorf("list on an empty database: %q, %v", out, err)
	}
}

func TestAPIKey_PendingMigrations(t *testing.T) {
	url := pgtest.NewDatabase(t)
	_, _, err := runAPIKeyCmd(map[string]string{"DATABASE_URL": url}, "list")
	if err == nil || !strings.Contains(err.Error(), "marketgraph migrate") {
		t.Errorf("list before migrate: %v, want an error naming migrate", err)
	}
}

// TestAPIKey_Refused: bad arguments are refused, before any database is
// opened, with a message naming what to fix.
func TestAPIKey_Refused(t *testing.T) {
	// Unreachable: a test that got as far as connecting would fail with a
	// message naming DATABASE_URL, not the flag.
	vars := map[string]string{"DATABASE_URL": "postgres://u@127.0.0.1:1/x?connect_timeout=1"}
	for _, tc := range []struct {
		name    string
		args    []string
		vars    map[string]string
		mention string
	}{
		{"NoCommand", nil, vars, "create, list or revoke"},
		{"UnknownCommand", []string{"rotate"}, vars, `unknown command "rotate"`},
		{"NoAccount", []string{"create", "-scopes", "read"}, vars, "-account is required"},
		{"BadAccount", []string{"create", "-account", "a\tb", "-scopes", "read"}, vars, "-account: must not contain control characters"},
		{"LongAccount", []string{"create", "-account", strings.Repeat("a", 300), "-scopes", "read"}, vars, "-account: longer than 256 bytes"},
		{"NoScopes", []string{"create", "-account", "acme"}, vars, "-scopes is required"},
		{"UnknownScope", []string{"create", "-account", "acme", "-scopes", "read,root"}, vars, `-scopes: unknown scope "root"`},
		{"EmptyScope", []string{"create", "-account", "acme", "-scopes", "read,,write"}, vars, "-scopes: empty item"},
		{"NegativeRate", []string{"create", "-account", "acme", "-scopes", "read", "-rate-per-minute", "-1"}, vars, "-rate-per-minute: must be between 0"},
		{"HugeCost", []string{"create", "-account", "acme", "-scopes", "read", "-cost-per-minute", "3000000000"}, vars, "-cost-per-minute: must be between 0"},
		{"RateNotNumber", []string{"create", "-account", "acme", "-scopes", "read", "-rate-per-minute", "lots"}, vars, "rate-per-minute"},
		{"ExpiresNoUnit", []string{"create", "-account", "acme", "-scopes", "read", "-expires", "90"}, vars, `-expires: "90" is not a lifetime`},
		{"ExpiresSeconds", []string{"create", "-account", "acme", "-scopes", "read", "-expires", "90s"}, vars, `-expires: "90s" is not a lifetime`},
		{"ExpiresNegative", []string{"create", "-account", "acme", "-scopes", "read", "-expires", "-1d"}, vars, `-expires: "-1d" is not a lifetime`},
		{"ExpiresZero", []string{"create", "-account", "acme", "-scopes", "read", "-expires", "0d"}, vars, "at least a minute"},
		{"ExpiresTooLong", []string{"create", "-account", "acme", "-scopes", "read", "-expires", "3651d"}, vars, "longer than the longest lifetime, 3650d"},
		{"ExpiresOverflow", []string{"create", "-account", "acme", "-scopes", "read", "-expires", "99999999999999999999d"}, vars, "longer than the longest lifetime"},
		{"CreateExtraArg", []string{"create", "-account", "acme", "-scopes", "read", "now"}, vars, `unexpected argument "now"`},
		{"ListExtraArg", []string{"list", "all"}, vars, `unexpected argument "all"`},
		{"RevokeNoID", []string{"revoke"}, vars, "missing the key id"},
		{"RevokeTwoIDs", []string{"revoke", "key_1", "key_2"}, vars, `unexpected argument "key_2"`},
		{"MemoryStore", []string{"list"}, nil, "DATABASE_URL is not set"},
		{"MemoryStoreCreate", []string{"create", "-account", "acme", "-scopes", "read"}, nil, "memory store"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := runAPIKeyCmd(tc.vars, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("err = %v, want one saying %q", err, tc.mention)
			}
			if out != "" {
				t.Errorf("stdout %q on an error", out)
			}
		})
	}
}

func TestParseLifetime(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"90d":    90 * 24 * time.Hour,
		"12h":    12 * time.Hour,
		"30m":    30 * time.Minute,
		"1d12h":  36 * time.Hour,
		"1h1h":   2 * time.Hour,
		"3650d":  maxKeyLifetime,
		"007d":   7 * 24 * time.Hour,
		"1m":     time.Minute,
		"87600h": maxKeyLifetime,
	} {
		if got, err := parseLifetime(in); err != nil || got != want {
			t.Errorf("parseLifetime(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "1", "1w", "1D", "1.5d", "1d ", " 1d", "+1d", "1d-1h", "87601h"} {
		if _, err := parseLifetime(in); err == nil {
			t.Errorf("parseLifetime(%q): no error", in)
		}
	}
}

// TestAPIKey_HelpHidesPassword: -h lists the flags without echoing
// DATABASE_URL, which may hold a password.
func TestAPIKey_HelpHidesPassword(t *testing.T) {
	for _, sub := range []string{"create", "list", "revoke"} {
		_, errOut, err := runAPIKeyCmd(map[string]string{"DATABASE_URL": "postgres://u:s3cret@db/x"}, sub, "-h")
		if !errors.Is(err, flag.ErrHelp) || !strings.Contains(errOut, "-database-url") || strings.Contains(errOut, "s3cret") {
			t.Errorf("apikey %s -h: %v; stderr %q, want the flags and no password", sub, err, errOut)
		}
	}
}

// TestAPIKey_SecretNeverLogged creates a key, runs requests with it (and
// with near misses, and after revoking it) through the real server at
// debug level, and searches everything the server logged for the secret.
func TestAPIKey_SecretNeverLogged(t *testing.T) {
	url := migratedDatabase(t)
	vars := map[string]string{"DATABASE_URL": url, "MARKETGRAPH_APIKEY_CACHE_TTL": "1ms"}
	out, _, err := runAPIKeyCmd(vars, "create", "-account", "acme", "-scopes", "read")
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.TrimSpace(out)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	logs := &logtest.Buffer{}
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"serve", "-addr", "127.0.0.1:0", "-ingest=false", "-log-level", "debug"}, env(vars), pw, logs)
		pw.CloseWithError(io.EOF)
		done <- err
	}()
	sc := bufio.NewScanner(pr)
	if !sc.Scan() {
		t.Fatalf("serve printed nothing; stderr: %s; err: %v", logs, <-done)
	}
	go io.Copy(io.Discard, pr)
	base := strings.TrimSuffix(strings.TrimPrefix(sc.Text(), "marketgraph listening on "), "/graphql")

	post := func(header, value string) int {
		t.Helper()
		req, _ := http.NewRequest("POST", base+"/graphql", strings.NewReader(`{"query":"{ assets(first: 1) { totalCount } }"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(header, value)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), secret[3:]) {
			t.Errorf("a response holds the key: %s", body)
		}
		return resp.StatusCode
	}
	if code := post("Authorization", "Bearer "+secret); code != http.StatusOK {
		t.Errorf("with the key: status %d, want 200", code)
	}
	post("X-API-Key", secret)
	post("X-API-Key", secret[:len(secret)-1])             // truncated
	post("Authorization", "Bearer "+secret[:40]+"AAAAAA") // same prefix, wrong secret
	post("Authorization", "Basic "+secret)
	post("Authorization", "Bearer "+secret+" "+secret)
	if _, _, err := runAPIKeyCmd(vars, "revoke", strings.Fields(listFirstRow(t, vars))[0]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond) // past the 1ms key cache
	if code := post("Authorization", "Bearer "+secret); code == http.StatusOK {
		t.Errorf("with the revoked key: status %d, want a refusal", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}

	log := logs.String()
	if !strings.Contains(log, `"event":"auth_failure"`) {
		t.Errorf("no audit line in the log:\n%s", log)
	}
	s := secret[3+auth.PrefixLen:] // what follows the public prefix
	for i := 0; i+8 <= len(s); i++ {
		if strings.Contains(log, s[i:i+8]) {
			t.Fatalf("the log holds %q, a piece of the key:\n%s", s[i:i+8], log)
		}
	}
}

// listFirstRow returns the first row of `apikey list`.
func listFirstRow(t *testing.T, vars map[string]string) string {
	t.Helper()
	out, _, err := runAPIKeyCmd(vars, "list")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(out, "\n")[1]
}
