// Package chat is Switchboard's domain: the types every other package shares,
// the error codes, and the interfaces the storage and realtime layers implement.
// It imports only the standard library.
package chat

import (
	"errors"
	"fmt"
)

// Error codes. The HTTP layer maps them to status codes in one place
// (api/errors.go); the websocket gateway sends them verbatim in error frames.
const (
	EINVALID      = "invalid"      // the input is malformed or fails validation
	ENOTFOUND     = "not_found"    // missing, or not visible to the caller (never leaks existence)
	ECONFLICT     = "conflict"     // the change conflicts with current state
	EUNAUTHORIZED = "unauthorized" // no or bad credentials
	EFORBIDDEN    = "forbidden"    // authenticated but not allowed
	ETOOLARGE     = "too_large"    // a body or frame is over its limit
	ERATELIMIT    = "rate_limited" // too many requests or frames
	EUNAVAILABLE  = "unavailable"  // a dependency is down
	EINTERNAL     = "internal"     // a bug or an unexpected failure
	ELOCKED       = "locked"       // e.g. too many failed logins
)

// Error is a domain error with a machine-readable code and a message that is
// safe to show to the caller.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Errorf builds an *Error.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the human-readable message of an *Error, or a generic
// message for anything else so that internals never leak to clients.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
