package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/marketgraph/marketgraph"
)

// signalColumns are the columns every signal query selects.
const signalColumns = `s.id, s.asset_id, s.kind, s.strength, s.indicator, s.reason, s.emitted_at`

// signalRow is one row of signals as pgx scans it.
type signalRow struct {
	ID        string    `db:"id"`
	AssetID   string    `db:"asset_id"`
	Kind      string    `db:"kind"`
	Strength  float64   `db:"strength"`
	Indicator string    `db:"indicator"`
	Reason    string    `db:"reason"`
	EmittedAt time.Time `db:"emitted_at"`
}

func (r signalRow) signal() *marketgraph.Signal {
	return &marketgraph.Signal{
		ID:        r.ID,
		AssetID:   r.AssetID,
		Kind:      marketgraph.SignalKind(r.Kind),
		Strength:  r.Strength,
		Indicator: r.Indicator,
		Reason:    r.Reason,
		EmittedAt: r.EmittedAt.UTC(),
	}
}

// SignalsByAssets returns up to first signals per asset, newest first (ties
// by id descending), in one statement: each asset's lateral subquery reads
// the first rows of the (asset_id, emitted_at DESC, id DESC) index.
func (db *DB) SignalsByAssets(ctx context.Context, assetIDs []string, first int) (map[string][]*marketgraph.Signal, error) {
	const q = `SELECT ` + signalColumns + `
FROM unnest($1::text[]) AS a(id)
CROSS JOIN LATERAL (
	SELECT * FROM signals
	WHERE asset_id = a.id
	ORDER BY emitted_at DESC, id DESC
	LIMIT $2
) s
ORDER BY s.asset_id, s.emitted_at DESC, s.id DESC`

	out := map[string][]*marketgraph.Signal{}
	ids := lookupIDs(assetIDs)
	if len(ids) == 0 || first <= 0 {
		return out, nil
	}
	rows, _ := db.pool.Query(ctx, q, ids, first)
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[signalRow])
	if err != nil {
		return nil, dbError(err, "signals by assets")
	}
	for _, r := range rs {
		out[r.AssetID] = append(out[r.AssetID], r.signal())
	}
	return out, nil
}

// LatestSignals returns the newest signal of each asset that has one: the
// first signal of SignalsByAssets, in its one statement.
func (db *DB) LatestSignals(ctx context.Context, assetIDs []string) (map[string]*marketgraph.Signal, error) {
	lists, err := db.SignalsByAssets(ctx, assetIDs, 1)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*marketgraph.Signal, len(lists))
	for id, ss := range lists {
		out[id] = ss[0]
	}
	return out, nil
}
