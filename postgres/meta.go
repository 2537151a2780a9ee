package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// seedKey is the dataset_meta key of the seed record.
const seedKey = "seed"

// SeedRecord is what the first `marketgraph seed` generated its dataset
// from: the generator's seed and the instant the dataset ends.
type SeedRecord struct {
	Seed int64     `json:"seed"`
	End  time.Time `json:"end"`
}

// SeedRecord returns the record of the first seed, and false when the seed
// has not run: running it again regenerates that same dataset instead of one
// for the current time or another seed.
func (db *DB) SeedRecord(ctx context.Context) (SeedRecord, bool, error) {
	const q = `SELECT value FROM dataset_meta WHERE key = $1`
	var v string
	err := db.pool.QueryRow(ctx, q, seedKey).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return SeedRecord{}, false, nil
	}
	if err != nil {
		return SeedRecord{}, false, dbError(err, "read seed record")
	}
	var r SeedRecord
	if err := json.Unmarshal([]byte(v), &r); err != nil {
		return SeedRecord{}, false, fmt.Errorf("read seed record: %q: %w", v, err)
	}
	r.End = r.End.UTC()
	return r, true, nil
}

// RecordSeed stores r unless a record exists already (the first seed wins)
// and returns the record in force, so two seeds racing agree on one dataset.
func (db *DB) RecordSeed(ctx context.Context, r SeedRecord) (SeedRecord, error) {
	const q = `INSERT INTO dataset_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`
	r.End = r.End.UTC()
	b, err := json.Marshal(r)
	if err != nil {
		return SeedRecord{}, fmt.Errorf("record seed: %w", err)
	}
	if _, err := db.pool.Exec(ctx, q, seedKey, string(b)); err != nil {
		return SeedRecord{}, dbError(err, "record seed")
	}
	got, ok, err := db.SeedRecord(ctx)
	if err == nil && !ok {
		err = errors.New("record seed: record vanished")
	}
	return got, err
}
