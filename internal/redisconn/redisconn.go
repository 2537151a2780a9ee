// Package redisconn opens the Redis connections of the packages that share
// REDIS_URL (the event bus, request limits, persisted queries) the same
// way: one parser that never lets the password into a message, and one
// connect-and-ping.
package redisconn

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Parse parses REDIS_URL and returns it with its password masked, for
// messages. The parsers' own errors may quote the whole URL, password
// included, so they are never passed on as they are.
func Parse(raw string) (opts *redis.Options, redacted string, err error) {
	if raw == "" {
		return nil, "", errors.New("REDIS_URL is empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		reason := "malformed URL"
		if ue, ok := errors.AsType[*url.Error](err); ok {
			reason = ue.Err.Error() // the cause alone, without the URL
		}
		return nil, "", fmt.Errorf("REDIS_URL is not a valid URL: %s", reason)
	}
	redacted = u.Redacted()
	opts, err = redis.ParseURL(raw)
	if err != nil {
		reason := err.Error()
		if pw, ok := u.User.Password(); ok && pw != "" {
			reason = strings.ReplaceAll(reason, pw, "xxxxx")
		}
		return nil, "", fmt.Errorf("REDIS_URL %s is not a valid Redis URL: %s", redacted, reason)
	}
	return opts, redacted, nil
}

// Dial connects to the Redis at raw and pings it once, so that a wrong or
// unreachable REDIS_URL fails start-up rather than the first request. With
// bounded set, the client honours context deadlines and neither retries
// commands nor redials within a call: the caller's timeout is the whole
// budget of one, for callers on a request's path that must answer quickly
// either way. It returns the URL with its password masked.
func Dial(ctx context.Context, raw string, bounded bool) (*redis.Client, string, error) {
	opts, redacted, err := Parse(raw)
	if err != nil {
		return nil, "", err
	}
	if bounded {
		opts.ContextTimeoutEnabled = true
		opts.MaxRetries = -1   // no retries: the timeout is the whole budget
		opts.DialerRetries = 1 // one dial attempt per call, for the same reason
	}
	client := redis.NewClient(opts)
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, "", fmt.Errorf("cannot reach Redis at REDIS_URL %s: %w", redacted, err)
	}
	return client, redacted, nil
}
