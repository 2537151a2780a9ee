package postgres

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/marketgraph/marketgraph"
)

var _ marketgraph.AccountStore = (*DB)(nil)

// apiKeyColumns are the columns every key query selects, in apiKeyRow's
// terms; the queries join accounts as a.
const apiKeyColumns = `k.id, k.account_id, a.name AS account_name, k.prefix, k.hash, k.scopes,
	k.rate_per_minute, k.cost_per_minute, k.expires_at, k.revoked_at, k.last_used_at, k.created_at`

// apiKeyRow is one row of api_keys (with its account's name) as pgx scans
// it; NULL times are nil.
type apiKeyRow struct {
	ID            string     `db:"id"`
	AccountID     string     `db:"account_id"`
	AccountName   string     `db:"account_name"`
	Prefix        string     `db:"prefix"`
	Hash          []byte     `db:"hash"`
	Scopes        []string   `db:"scopes"`
	RatePerMinute int        `db:"rate_per_minute"`
	CostPerMinute int        `db:"cost_per_minute"`
	ExpiresAt     *time.Time `db:"expires_at"`
	RevokedAt     *time.Time `db:"revoked_at"`
	LastUsedAt    *time.Time `db:"last_used_at"`
	CreatedAt     time.Time  `db:"created_at"`
}

func (r apiKeyRow) apiKey() *marketgraph.APIKey {
	return &marketgraph.APIKey{
		ID:            r.ID,
		AccountID:     r.AccountID,
		AccountName:   r.AccountName,
		Prefix:        r.Prefix,
		Hash:          r.Hash,
		Scopes:        r.Scopes,
		RatePerMinute: r.RatePerMinute,
		CostPerMinute: r.CostPerMinute,
		ExpiresAt:     fromNullTime(r.ExpiresAt),
		RevokedAt:     fromNullTime(r.RevokedAt),
		LastUsedAt:    fromNullTime(r.LastUsedAt),
		CreatedAt:     r.CreatedAt.UTC(),
	}
}

// fromNullTime turns a nullable column into the domain's zero-for-never.
func fromNullTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// toNullTime is fromNullTime's inverse, at the column's microseconds.
func toNullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC().Truncate(time.Microsecond)
	return &t
}

// EnsureAccount returns the account called name, creating it first if
// needed, in one statement that is safe against a concurrent creation of
// the same name. BAD_USER_INPUT when marketgraph.ValidateAccountName
// refuses name.
func (db *DB) EnsureAccount(ctx context.Context, name string) (*marketgraph.Account, error) {
	// DO UPDATE rather than DO NOTHING: it returns the existing row, which
	// a concurrent insert could otherwise hide from this statement's
	// snapshot. Accounts are created by an operator, so the extra row
	// version costs nothing that matters.
	const q = `INSERT INTO accounts (id, name) VALUES ($1, $2)
ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
RETURNING id, name, created_at`
	if err := marketgraph.ValidateAccountName(name); err != nil {
		return nil, err
	}
	var a marketgraph.Account
	if err := db.pool.QueryRow(ctx, q, marketgraph.NewID("acc"), name).Scan(&a.ID, &a.Name, &a.CreatedAt); err != nil {
		return nil, dbError(err, "ensure account")
	}
	a.CreatedAt = a.CreatedAt.UTC()
	return &a, nil
}

// CreateAPIKey stores k and fills in its ID, CreatedAt and AccountName.
// BAD_USER_INPUT when marketgraph.ValidateAPIKey refuses k or its account is
// unknown; CONFLICT when another key has its prefix.
func (db *DB) CreateAPIKey(ctx context.Context, k *marketgraph.APIKey) error {
	const q = `WITH a AS (SELECT id, name FROM accounts WHERE id = $2),
ins AS (
	INSERT INTO api_keys (id, account_id, prefix, hash, scopes, rate_per_minute, cost_per_minute, expires_at)
	SELECT $1, a.id, $3, $4, $5, $6, $7, $8 FROM a
	RETURNING created_at
)
SELECT ins.created_at, a.name FROM ins, a`
	if err := marketgraph.ValidateAPIKey(k); err != nil {
		return err
	}
	id := marketgraph.NewID("key")
	var created time.Time
	var account string
	err := db.pool.QueryRow(ctx, q, id, k.AccountID, k.Prefix, k.Hash, k.Scopes,
		int32(k.RatePerMinute), int32(k.CostPerMinute), toNullTime(k.ExpiresAt)).Scan(&created, &account)
	var pgErr *pgconn.PgError
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return marketgraph.Errorf(marketgraph.EBADINPUT, "API key %q: unknown account %q", k.Prefix, k.AccountID)
	case errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "api_keys_prefix_key":
		return marketgraph.Errorf(marketgraph.ECONFLICT, "API key %q: prefix already exists", k.Prefix)
	case err != nil:
		return dbError(err, "create API key")
	}
	k.ID, k.CreatedAt, k.AccountName = id, created.UTC(), account
	k.ExpiresAt = fromNullTime(toNullTime(k.ExpiresAt))
	k.RevokedAt, k.LastUsedAt = time.Time{}, time.Time{}
	return nil
}

// APIKeyByPrefix returns the key with prefix, or NOT_FOUND; a prefix that
// fails CheckText, which PostgreSQL could not even compare, is NOT_FOUND
// too.
func (db *DB) APIKeyByPrefix(ctx context.Context, prefix string) (*marketgraph.APIKey, error) {
	const q = `SELECT ` + apiKeyColumns + ` FROM api_keys k JOIN accounts a ON a.id = k.account_id WHERE k.prefix = $1`
	if marketgraph.CheckText("prefix", prefix) != nil {
		return nil, marketgraph.Errorf(marketgraph.ENOTFOUND, "API key: not found")
	}
	rows, _ := db.pool.Query(ctx, q, prefix)
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[apiKeyRow])
	if err != nil {
		return nil, dbError(err, "API key")
	}
	return r.apiKey(), nil
}

// ListAPIKeys returns every key, oldest first, ties by id.
func (db *DB) ListAPIKeys(ctx context.Context) ([]*marketgraph.APIKey, error) {
	const q = `SELECT ` + apiKeyColumns + ` FROM api_keys k JOIN accounts a ON a.id = k.account_id ORDER BY k.created_at, k.id`
	rows, _ := db.pool.Query(ctx, q)
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[apiKeyRow])
	if err != nil {
		return nil, dbError(err, "list API keys")
	}
	out := make([]*marketgraph.APIKey, len(rs))
	for i, r := range rs {
		out[i] = r.apiKey()
	}
	return out, nil
}

// RevokeAPIKey marks the key revoked now unless it already is; NOT_FOUND
// for an unknown id (or one that fails CheckText).
func (db *DB) RevokeAPIKey(ctx context.Context, id string) error {
	const q = `UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`
	const qExists = `SELECT EXISTS (SELECT 1 FROM api_keys WHERE id = $1)`
	if marketgraph.CheckText("id", id) != nil {
		return marketgraph.Errorf(marketgraph.ENOTFOUND, "API key %q: not found", id)
	}
	tag, err := db.pool.Exec(ctx, q, id)
	if err != nil {
		return dbError(err, "revoke API key")
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	// Nothing changed: revoked already, or no such key.
	var exists bool
	if err := db.pool.QueryRow(ctx, qExists, id).Scan(&exists); err != nil {
		return dbError(err, "revoke API key")
	}
	if !exists {
		return marketgraph.Errorf(marketgraph.ENOTFOUND, "API key %q: not found", id)
	}
	return nil
}

// TouchAPIKeys moves the keys' last_used_at forward, in one statement for
// the whole batch; earlier times, unknown ids, ids that fail CheckText and
// zero or out-of-range times change nothing. Rows are locked in id order,
// so two replicas flushing at once cannot deadlock.
func (db *DB) TouchAPIKeys(ctx context.Context, used map[string]time.Time) error {
	// The CTE locks the rows in id order (an UPDATE ... FROM alone locks
	// them in whatever order its join produces).
	const q = `WITH u AS (
	SELECT k.id, v.t FROM api_keys k
	JOIN unnest($1::text[], $2::timestamptz[]) AS v(id, t) ON k.id = v.id
	WHERE k.last_used_at IS NULL OR k.last_used_at < v.t
	ORDER BY k.id
	FOR UPDATE OF k
)
UPDATE api_keys AS k SET last_used_at = u.t FROM u
WHERE k.id = u.id AND (k.last_used_at IS NULL OR k.last_used_at < u.t)`
	ids := make([]string, 0, len(used))
	for id, t := range used {
		if marketgraph.CheckText("id", id) == nil && marketgraph.TouchableTime(t) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids)
	times := make([]time.Time, len(ids))
	for i, id := range ids {
		times[i] = used[id].UTC().Truncate(time.Microsecond)
	}
	if _, err := db.pool.Exec(ctx, q, ids, times); err != nil {
		return dbError(err, "touch API keys")
	}
	return nil
}
