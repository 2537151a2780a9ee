package postgres

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/marketgraph/marketgraph"
)

var _ marketgraph.MarketWriter = (*DB)(nil)

// The writes below send each batch as one statement over arrays, so a batch
// is atomic without a transaction and costs one round trip whatever its
// size. Rows are sorted by key first: two writers touching the same rows
// then lock them in the same order and cannot deadlock.

// UpsertAssets inserts new assets and updates every catalog field of
// existing ones, in one statement; an asset whose fields are all unchanged
// is not rewritten, so its updated_at keeps the time of its last change.
// The batch is checked with marketgraph.ValidateAsset first (BAD_USER_INPUT,
// nothing written); of several assets with one id, the last wins.
func (db *DB) UpsertAssets(ctx context.Context, assets []*marketgraph.Asset) error {
	const q = `INSERT INTO assets AS a (id, symbol, name, sort_name, rank, category, market_cap, volume_24h, change_24h, supply)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int4[], $6::text[],
	$7::float8[], $8::float8[], $9::float8[], $10::float8[])
ON CONFLICT (id) DO UPDATE SET
	symbol = EXCLUDED.symbol, name = EXCLUDED.name, sort_name = EXCLUDED.sort_name, rank = EXCLUDED.rank,
	category = EXCLUDED.category, market_cap = EXCLUDED.market_cap, volume_24h = EXCLUDED.volume_24h,
	change_24h = EXCLUDED.change_24h, supply = EXCLUDED.supply, updated_at = now()
WHERE (a.symbol, a.name, a.rank, a.category, a.market_cap, a.volume_24h, a.change_24h, a.supply)
	IS DISTINCT FROM (EXCLUDED.symbol, EXCLUDED.name, EXCLUDED.rank, EXCLUDED.category,
	EXCLUDED.market_cap, EXCLUDED.volume_24h, EXCLUDED.change_24h, EXCLUDED.supply)`

	for _, a := range assets {
		if err := marketgraph.ValidateAsset(a); err != nil {
			return err
		}
	}
	// ON CONFLICT DO UPDATE refuses to touch one row twice in a statement.
	rows := lastByKey(assets, func(a *marketgraph.Asset) string { return a.ID }, strings.Compare)
	if len(rows) == 0 {
		return nil
	}
	n := len(rows)
	var (
		ids, symbols, names, sortNames, categories = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		ranks                                      = make([]int32, n)
		mcaps, vols, changes, supplies             = make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	)
	for i, a := range rows {
		ids[i], symbols[i], names[i], sortNames[i], categories[i] = a.ID, a.Symbol, a.Name, marketgraph.SortName(a.Name), a.Category
		ranks[i] = int32(a.Rank) // ValidateAsset bounds it to int32
		mcaps[i], vols[i], changes[i], supplies[i] = a.MarketCap, a.Volume24h, a.Change24h, a.Supply
	}
	if _, err := db.pool.Exec(ctx, q, ids, symbols, names, sortNames, ranks, categories, mcaps, vols, changes, supplies); err != nil {
		return dbError(err, "upsert assets")
	}
	return nil
}

// candleID is the primary key of a candle.
type candleID struct {
	asset    string
	interval marketgraph.CandleInterval
	start    time.Time
}

func compareCandleIDs(a, b candleID) int {
	if c := strings.Compare(a.asset, b.asset); c != 0 {
		return c
	}
	if c := strings.Compare(string(a.interval), string(b.interval)); c != 0 {
		return c
	}
	return a.start.Compare(b.start)
}

// UpsertCandles writes candles in one statement, replacing any stored candle
// with the same asset, interval and start. A candle identical to the stored
// one is not rewritten, so repeating a write changes nothing, not even the
// row's version. The batch is checked with marketgraph.ValidateCandle first;
// a candle of an unknown asset breaks the foreign key. Either way the error
// is BAD_USER_INPUT and nothing is written. Of several candles with one key,
// the last wins.
func (db *DB) UpsertCandles(ctx context.Context, candles []*marketgraph.Candle) error {
	const q = `INSERT INTO candles AS c (asset_id, "interval", start, open, high, low, close, volume)
SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::float8[], $5::float8[], $6::float8[], $7::float8[], $8::float8[])
ON CONFLICT (asset_id, "interval", start) DO UPDATE SET
	open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close, volume = EXCLUDED.volume
WHERE (c.open, c.high, c.low, c.close, c.volume)
	IS DISTINCT FROM (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close, EXCLUDED.volume)`

	for _, c := range candles {
		if err := marketgraph.ValidateCandle(c); err != nil {
			return err
		}
	}
	rows := lastByKey(candles, func(c *marketgraph.Candle) candleID {
		// Starts are aligned to the minute, so UTC is their only
		// difference from the stored value.
		return candleID{c.AssetID, c.Interval, c.Start.UTC()}
	}, compareCandleIDs)
	if len(rows) == 0 {
		return nil
	}
	n := len(rows)
	var (
		assets, intervals          = make([]string, n), make([]string, n)
		starts                     = make([]time.Time, n)
		opens, highs, lows, closes = make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
		volumes                    = make([]float64, n)
	)
	for i, c := range rows {
		assets[i], intervals[i], starts[i] = c.AssetID, string(c.Interval), c.Start
		opens[i], highs[i], lows[i], closes[i], volumes[i] = c.Open, c.High, c.Low, c.Close, c.Volume
	}
	if _, err := db.pool.Exec(ctx, q, assets, intervals, starts, opens, highs, lows, closes, volumes); err != nil {
		return dbError(err, "upsert candles")
	}
	return nil
}

// InsertSignals inserts the signals whose id is new in one statement and
// returns copies of them in input order, with times in UTC to the
// microsecond as the database keeps them; of several signals with one id,
// the first is the one inserted. The batch is checked with
// marketgraph.ValidateSignal first; a signal of an unknown asset breaks the
// foreign key. Either way the error is BAD_USER_INPUT and nothing is
// inserted.
func (db *DB) InsertSignals(ctx context.Context, signals []*marketgraph.Signal) ([]*marketgraph.Signal, error) {
	const q = `INSERT INTO signals (id, asset_id, kind, strength, indicator, reason, emitted_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::text[], $6::text[], $7::timestamptz[])
ON CONFLICT (id) DO NOTHING
RETURNING id`

	for _, s := range signals {
		if err := marketgraph.ValidateSignal(s); err != nil {
			return nil, err
		}
	}
	// Dropping the repeats here makes "the first wins" a fact rather than
	// a matter of the order PostgreSQL inserts rows in.
	seen := make(map[string]bool, len(signals))
	rows := make([]*marketgraph.Signal, 0, len(signals))
	for _, s := range signals {
		if !seen[s.ID] {
			seen[s.ID] = true
			rows = append(rows, s)
		}
	}
	if len(rows) == 0 {
		return nil, nil
	}
	sorted := slices.Clone(rows)
	slices.SortFunc(sorted, func(a, b *marketgraph.Signal) int { return strings.Compare(a.ID, b.ID) })
	n := len(sorted)
	var (
		ids, assets, kinds, indicators, reasons = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		strengths                               = make([]float64, n)
		emitted                                 = make([]time.Time, n)
	)
	for i, s := range sorted {
		ids[i], assets[i], kinds[i], indicators[i], reasons[i] = s.ID, s.AssetID, string(s.Kind), s.Indicator, s.Reason
		strengths[i], emitted[i] = s.Strength, s.EmittedAt
	}
	res, err := db.pool.Query(ctx, q, ids, assets, kinds, strengths, indicators, reasons, emitted)
	if err != nil {
		return nil, dbError(err, "insert signals")
	}
	inserted, err := pgx.CollectRows(res, pgx.RowTo[string])
	if err != nil {
		return nil, dbError(err, "insert signals")
	}
	isNew := make(map[string]bool, len(inserted))
	for _, id := range inserted {
		isNew[id] = true
	}
	out := make([]*marketgraph.Signal, 0, len(inserted))
	for _, s := range rows {
		if isNew[s.ID] {
			cp := *s
			cp.EmittedAt = cp.EmittedAt.UTC().Truncate(time.Microsecond)
			out = append(out, &cp)
		}
	}
	return out, nil
}

// lastByKey returns the rows sorted by key, keeping the last of several rows
// with one key.
func lastByKey[T any, K comparable](rows []T, key func(T) K, compare func(a, b K) int) []T {
	out := slices.Clone(rows)
	// A stable sort keeps rows with one key in input order: the last of
	// each run is the last given.
	slices.SortStableFunc(out, func(a, b T) int { return compare(key(a), key(b)) })
	kept := out[:0]
	for _, r := range out {
		if n := len(kept); n > 0 && compare(key(kept[n-1]), key(r)) == 0 {
			kept[n-1] = r
			continue
		}
		kept = append(kept, r)
	}
	return kept
}
