package auth

import (
	"context"
	"log/slog"
)

// The audit trail: one structured log line per authentication or
// authorisation failure, at warn level, with the message "auth failure"
// and these attributes:
//
//	event=auth_failure  always
//	method              apikey or jwt, when known
//	reason              why, in a few words (see the Reason constants)
//	key_prefix          the API key's prefix, when the key was well-formed
//	...                 what the transport attached with WithAuditAttrs
//	                    (remote address, request id, user agent)
//
// Never the key or token itself: a malformed credential may be a real one
// with a typo, so not even a piece of it is logged.

// Reasons of authentication failures, for the reason attribute.
const (
	ReasonMalformed   = "malformed"       // not the shape of a credential
	ReasonUnknown     = "unknown_key"     // no key with this prefix
	ReasonMismatch    = "secret_mismatch" // known prefix, wrong secret
	ReasonRevoked     = "revoked"
	ReasonExpired     = "expired"
	ReasonStoreFailed = "store_error" // the key could not be looked up
)

type auditKey struct{}

// WithAuditAttrs returns ctx carrying attrs, which every audit line logged
// with that context repeats: the transport's remote address, request id
// and the like. Attributes accumulate over calls.
func WithAuditAttrs(ctx context.Context, attrs ...slog.Attr) context.Context {
	prev, _ := ctx.Value(auditKey{}).([]slog.Attr)
	all := make([]slog.Attr, 0, len(prev)+len(attrs))
	return context.WithValue(ctx, auditKey{}, append(append(all, prev...), attrs...))
}

// AuditFailure logs one failure to authenticate or authorise. method may be
// empty (a malformed Authorization header has none yet); attrs add detail
// such as key_prefix or the scope that was missing, and must never hold a
// secret.
func AuditFailure(ctx context.Context, log *slog.Logger, method Method, reason string, attrs ...slog.Attr) {
	if log == nil {
		return
	}
	ctxAttrs, _ := ctx.Value(auditKey{}).([]slog.Attr)
	all := make([]slog.Attr, 0, 3+len(attrs)+len(ctxAttrs))
	all = append(all, slog.String("event", "auth_failure"))
	if method != "" {
		all = append(all, slog.String("method", string(method)))
	}
	all = append(all, slog.String("reason", reason))
	all = append(all, attrs...)
	all = append(all, ctxAttrs...)
	log.LogAttrs(ctx, slog.LevelWarn, "auth failure", all...)
}
