package redisconn

import (
	"context"
	"strings"
	"testing"
	"time"
)

// Bad URLs are refused with a message naming REDIS_URL that never holds
// the password, whatever the parser complained about.
func TestParse_NeverLeaksThePassword(t *testing.T) {
	for _, raw := range []string{
		"",
		"redis://u:s3cret@host:port/0",
		"redis://u:s3cret@host:6379/notadb",
		"http://u:s3cret@host:6379/0",
		"redis://u:s3cret@[::1/0",
		"\x00redis://u:s3cret@h/0",
	} {
		_, _, err := Parse(raw)
		if err == nil || !strings.Contains(err.Error(), "REDIS_URL") || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Parse(%q) = %v, want an error naming REDIS_URL without the password", raw, err)
		}
	}
	opts, redacted, err := Parse("redis://u:s3cret@127.0.0.1:6379/2")
	if err != nil || opts.DB != 2 || strings.Contains(redacted, "s3cret") || !strings.Contains(redacted, "127.0.0.1:6379") {
		t.Fatalf("Parse of a good URL: %+v %q %v", opts, redacted, err)
	}
}

// An unreachable Redis fails Dial with the redacted URL in the message.
func TestDial_Unreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _, err := Dial(ctx, "redis://u:s3cret@127.0.0.1:1/0", true)
	if err == nil || !strings.Contains(err.Error(), "cannot reach Redis") || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("Dial: %v", err)
	}
}
