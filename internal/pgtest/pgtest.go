// Package pgtest gives each test package a PostgreSQL database of its own,
// created from TEST_DATABASE_URL and dropped when the test ends, so packages
// that run in parallel never see each other's rows.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL is the variable holding the URL of a server the tests may create
// databases on.
const EnvURL = "TEST_DATABASE_URL"

// connectTimeout bounds how long a test waits for an unreachable server
// before skipping (or failing in CI).
const connectTimeout = 10 * time.Second

// NewDatabase creates an empty database named after the calling package on
// the server of TEST_DATABASE_URL, drops it (closing any connection left
// open) when t and its subtests end, and returns its URL.
//
// Without TEST_DATABASE_URL, or when the server cannot be reached, the test
// is skipped with the reason; when CI is set it fails instead, so a broken CI
// set-up cannot pass by skipping everything.
func NewDatabase(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvURL)
	if base == "" {
		unavailable(t, EnvURL+" is not set; set it (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the PostgreSQL tests")
	}
	name := databaseName()
	dbURL, err := withDatabase(base, name)
	if err != nil {
		t.Fatalf("pgtest: %s: %v", EnvURL, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		unavailable(t, fmt.Sprintf("cannot connect to the server of %s: %v", EnvURL, err))
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}

	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return dbURL
}

// unavailable skips t, or fails it when CI is set.
func unavailable(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("pgtest: %s (CI is set, so this fails instead of skipping)", reason)
	}
	t.Skipf("pgtest: %s", reason)
}

// databaseName is mg_test_<package directory>_<random hex>: the package part
// tells a human whose database a leftover one is, the random part keeps
// concurrent runs apart. PostgreSQL truncates names at 63 bytes.
func databaseName() string {
	pkg := "pkg"
	if wd, err := os.Getwd(); err == nil {
		pkg = strings.Map(identRune, strings.ToLower(filepath.Base(wd)))
	}
	if len(pkg) > 30 {
		pkg = pkg[:30]
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "mg_test_" + pkg + "_" + hex.EncodeToString(b[:])
}

// identRune keeps the characters that need no quoting in an identifier.
func identRune(r rune) rune {
	if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
		return r
	}
	return '_'
}

// withDatabase returns connString pointing at database name instead, in
// either of the two forms pgx accepts: a URL or keyword=value pairs.
func withDatabase(connString, name string) (string, error) {
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		u, err := url.Parse(connString)
		if err != nil {
			// url's error repeats the URL, password included.
			return "", fmt.Errorf("not a valid URL")
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	// In keyword=value form a later keyword overrides an earlier one.
	return connString + " dbname=" + name, nil
}
