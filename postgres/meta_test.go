package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/marketgraph/marketgraph/postgres"
)

func TestSeedRecord_FirstWins(t *testing.T) {
	ctx := context.Background()
	db := newDB(t, nil)

	if _, ok, err := db.SeedRecord(ctx); err != nil || ok {
		t.Fatalf("SeedRecord on a fresh database = _, %v, %v; want not found", ok, err)
	}
	// Given in another zone with nanoseconds: it must come back the same
	// instant, in UTC.
	first := postgres.SeedRecord{Seed: 7, End: time.Date(2026, 11, 1, 12, 30, 15, 123456789, time.FixedZone("X", -5*3600))}
	got, err := db.RecordSeed(ctx, first)
	if err != nil || got.Seed != 7 || !got.End.Equal(first.End) {
		t.Fatalf("RecordSeed = %+v, %v; want %+v", got, err, first)
	}
	got, err = db.RecordSeed(ctx, postgres.SeedRecord{Seed: 8, End: first.End.Add(time.Hour)})
	if err != nil {
		t.Fatalf("second RecordSeed: %v", err)
	}
	if got.Seed != 7 || !got.End.Equal(first.End) {
		t.Errorf("second RecordSeed returned %+v, want the first record", got)
	}
	got, ok, err := db.SeedRecord(ctx)
	if err != nil || !ok {
		t.Fatalf("SeedRecord = _, %v, %v; want found", ok, err)
	}
	if got.Seed != 7 || !got.End.Equal(first.End) || got.End.Location() != time.UTC {
		t.Errorf("SeedRecord = %+v, want %+v in UTC (the first one set)", got, first)
	}
}
