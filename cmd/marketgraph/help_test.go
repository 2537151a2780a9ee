package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// -h lists every flag, but never prints a URL taken from the environment
// as a default: it may hold a password.
func TestHelp_NoSecrets(t *testing.T) {
	for _, cmd := range []string{"serve", "migrate", "ingest"} {
		var out bytes.Buffer
		_ = run(context.Background(), []string{cmd, "-h"}, env(map[string]string{
			"DATABASE_URL": "postgres://u:s3cret@db.example/app",
			"REDIS_URL":    "redis://:s3cret@cache.example:6379/0",
		}), &out, &out)
		if !strings.Contains(out.String(), "-database-url") {
			t.Fatalf("%s -h printed no flags: %s", cmd, out.String())
		}
		if strings.Contains(out.String(), "s3cret") {
			t.Errorf("%s -h printed a password:\n%s", cmd, out.String())
		}
	}
}
