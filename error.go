package marketgraph

import (
	"errors"
	"fmt"
)

// Error codes. They are stable: clients match on them in extensions.code.
const (
	EBADINPUT        = "BAD_USER_INPUT"
	EUNAUTHENTICATED = "UNAUTHENTICATED"
	EFORBIDDEN       = "FORBIDDEN"
	ENOTFOUND        = "NOT_FOUND"
	ECONFLICT        = "CONFLICT"
	ERATELIMITED     = "RATE_LIMITED"
	ECOSTLIMIT       = "COST_LIMIT_EXCEEDED"
	EUPSTREAM        = "UPSTREAM_UNAVAILABLE"
	EINTERNAL        = "INTERNAL"
)

// Error is the one application error type. Its Message is safe to show to a
// client; anything that is not an *Error is treated as INTERNAL and masked.
type Error struct {
	// Code is one of the E* constants.
	Code string
	// Message is a human-readable message for the client.
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("marketgraph error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code string, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, INTERNAL for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err: the message of the
// first *Error in its chain, or "internal error" for anything else.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
