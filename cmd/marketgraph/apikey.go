package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/auth"
)

const apikeyUsage = `usage:
  marketgraph apikey create -account NAME -scopes read,subscribe[,write,admin]
                            [-rate-per-minute N] [-cost-per-minute N] [-expires 90d]
  marketgraph apikey list
  marketgraph apikey revoke ID

Each takes -database-url (DATABASE_URL). "marketgraph apikey <command> -h" lists the flags.
`

// maxKeyLifetime bounds -expires: a key meant to live longer than ten
// years should not expire at all.
const maxKeyLifetime = 3650 * 24 * time.Hour

// runAPIKey is `marketgraph apikey create|list|revoke`: the operator's way
// to issue, inspect and revoke API keys in PostgreSQL. A new key is printed
// once, alone on stdout (so `KEY=$(marketgraph apikey create ...)` works),
// and everything else goes to stderr.
func runAPIKey(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(stderr, apikeyUsage)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			return flag.ErrHelp
		}
		return errors.New("apikey: want a command: create, list or revoke")
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("marketgraph apikey "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	// No default shown: -h would print DATABASE_URL, password included.
	dbURL := fs.String("database-url", "", "PostgreSQL URL (default DATABASE_URL)")
	var run func(ctx context.Context, db marketgraph.AccountStore) error
	switch sub {
	case "create":
		n, err := createFlags(fs, args)
		if err != nil {
			return err
		}
		run = func(ctx context.Context, db marketgraph.AccountStore) error {
			return createKey(ctx, db, n, stdout, stderr)
		}
	case "list":
		if err := parseArgs(fs, args, 0); err != nil {
			return err
		}
		run = func(ctx context.Context, db marketgraph.AccountStore) error { return listKeys(ctx, db, stdout) }
	case "revoke":
		if err := parseArgs(fs, args, 1); err != nil {
			return err
		}
		id := fs.Arg(0)
		run = func(ctx context.Context, db marketgraph.AccountStore) error { return revokeKey(ctx, db, id, stdout) }
	default:
		fmt.Fprint(stderr, apikeyUsage)
		return fmt.Errorf("apikey: unknown command %q: want create, list or revoke", sub)
	}
	if *dbURL == "" {
		*dbURL = strings.TrimSpace(getenv("DATABASE_URL"))
	}
	if *dbURL == "" {
		return errors.New("apikey: DATABASE_URL is not set (or pass -database-url): API keys live in PostgreSQL; " +
			"the embedded memory store forgets them when the server stops, so there is nothing here to manage")
	}
	db, err := openMigratedDB(ctx, &config{DatabaseURL: *dbURL, DBMaxConns: 2})
	if err != nil {
		return err
	}
	defer db.Close()
	return run(ctx, db)
}

// parseArgs parses flags and wants exactly n positional arguments, which
// may come before or after the flags.
func parseArgs(fs *flag.FlagSet, args []string, n int) error {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	switch {
	case len(pos) < n:
		return fmt.Errorf("%s: missing the key id (see apikey list)", fs.Name())
	case len(pos) > n:
		return fmt.Errorf("%s: unexpected argument %q", fs.Name(), pos[n])
	}
	// Parse again with the positional arguments where flag looks for them.
	return fs.Parse(pos)
}

// createFlags parses and checks the flags of apikey create.
func createFlags(fs *flag.FlagSet, args []string) (auth.NewKey, error) {
	account := fs.String("account", "", "name of the key's account, created if new (required)")
	scopes := fs.String("scopes", "", "comma-separated scopes: read, subscribe, write, admin (required)")
	rate := fs.Int("rate-per-minute", 0, "requests per minute for this key; 0: the server's default")
	cost := fs.Int("cost-per-minute", 0, "query-cost budget per minute for this key; 0: the server's default")
	expires := fs.String("expires", "", "lifetime such as 90d, 12h, 30m or 1d12h; empty: never expires")
	if err := parseArgs(fs, args, 0); err != nil {
		return auth.NewKey{}, err
	}
	bad := func(format string, a ...any) (auth.NewKey, error) {
		return auth.NewKey{}, fmt.Errorf("apikey create: "+format, a...)
	}
	if *account == "" {
		return bad("-account is required")
	}
	if err := marketgraph.ValidateAccountName(*account); err != nil {
		return bad("-account: %s", strings.TrimPrefix(marketgraph.ErrorMessage(err), "account name: "))
	}
	if *scopes == "" {
		return bad("-scopes is required: a comma-separated list of read, subscribe, write, admin")
	}
	sc, err := auth.ParseScopes(*scopes)
	if err != nil {
		return bad("-%s", marketgraph.ErrorMessage(err))
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"rate-per-minute", *rate}, {"cost-per-minute", *cost}} {
		if f.v < 0 || f.v > marketgraph.MaxAPIKeyLimit {
			return bad("-%s: must be between 0 (the server's default) and %d, got %d", f.name, marketgraph.MaxAPIKeyLimit, f.v)
		}
	}
	n := auth.NewKey{Account: *account, Scopes: sc, RatePerMinute: *rate, CostPerMinute: *cost}
	if *expires != "" {
		d, err := parseLifetime(*expires)
		if err != nil {
			return bad("-expires: %v", err)
		}
		n.ExpiresAt = time.Now().UTC().Add(d).Truncate(time.Second)
	}
	return n, nil
}

// parseLifetime parses a key lifetime: one or more of a whole number and a
// unit, d (24 hours), h or m, such as 90d or 1d12h; positive and at most
// maxKeyLifetime.
func parseLifetime(s string) (time.Duration, error) {
	bad := fmt.Errorf("%q is not a lifetime such as 90d, 12h, 30m or 1d12h", s)
	var total time.Duration
	for rest := s; rest != ""; {
		i := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
		if i <= 0 {
			return 0, bad
		}
		unit := map[byte]time.Duration{'d': 24 * time.Hour, 'h': time.Hour, 'm': time.Minute}[rest[i]]
		if unit == 0 {
			return 0, bad
		}
		// Bounded before multiplying, so that no count overflows.
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil || n > int64(maxKeyLifetime/unit) || total+time.Duration(n)*unit > maxKeyLifetime {
			return 0, fmt.Errorf("%q is longer than the longest lifetime, %dd", s, maxKeyLifetime/(24*time.Hour))
		}
		total += time.Duration(n) * unit
		rest = rest[i+1:]
	}
	if total <= 0 {
		return 0, fmt.Errorf("%q: a key must live for at least a minute", s)
	}
	return total, nil
}

// createKey issues a key and prints it.
func createKey(ctx context.Context, db marketgraph.AccountStore, n auth.NewKey, stdout, stderr io.Writer) error {
	secret, k, err := auth.IssueAPIKey(ctx, db, n, nil)
	if err != nil {
		return fmt.Errorf("apikey create: %w", err)
	}
	fmt.Fprintf(stderr, "created API key %s (prefix %s) for account %s: scopes %s; rate %s; cost %s; expires %s\n",
		k.ID, k.Prefix, k.AccountName, strings.Join(k.Scopes, ","), limit(k.RatePerMinute), limit(k.CostPerMinute), when(k.ExpiresAt, "never"))
	fmt.Fprintln(stderr, "The key is on stdout. Store it now: it is shown only this once, and marketgraph keeps only a hash of it.")
	fmt.Fprintln(stdout, secret)
	return nil
}

// listKeys prints every key as a table, never the hash.
func listKeys(ctx context.Context, db marketgraph.AccountStore, stdout io.Writer) error {
	keys, err := db.ListAPIKeys(ctx)
	if err != nil {
		return fmt.Errorf("apikey list: %w", err)
	}
	if len(keys) == 0 {
		fmt.Fprintln(stdout, "no API keys")
		return nil
	}
	now := time.Now()
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tACCOUNT\tPREFIX\tSCOPES\tRATE/MIN\tCOST/MIN\tCREATED\tEXPIRES\tREVOKED\tLAST USED")
	for _, k := range keys {
		expires := when(k.ExpiresAt, "never")
		if !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt) {
			expires += " (expired)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.AccountName, k.Prefix, strings.Join(k.Scopes, ","),
			limit(k.RatePerMinute), limit(k.CostPerMinute), when(k.CreatedAt, "-"), expires, when(k.RevokedAt, "-"), when(k.LastUsedAt, "never"))
	}
	return tw.Flush()
}

// revokeKey revokes the key with id.
func revokeKey(ctx context.Context, db marketgraph.AccountStore, id string, stdout io.Writer) error {
	if err := db.RevokeAPIKey(ctx, id); err != nil {
		if marketgraph.ErrorCode(err) == marketgraph.ENOTFOUND {
			return fmt.Errorf("apikey revoke: no API key with id %q (see apikey list)", id)
		}
		return fmt.Errorf("apikey revoke: %w", err)
	}
	fmt.Fprintf(stdout, "revoked %s: every server refuses it once its cached copy expires (-apikey-cache-ttl, %s by default)\n", id, auth.DefaultCacheTTL)
	return nil
}

// limit shows a per-minute override, 0 being the server's default.
func limit(n int) string {
	if n == 0 {
		return "default"
	}
	return strconv.Itoa(n)
}

// when shows a time in UTC to the second, or none for the zero time.
func when(t time.Time, none string) string {
	if t.IsZero() {
		return none
	}
	return t.UTC().Format(time.RFC3339)
}
