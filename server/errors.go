package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime/debug"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/marketgraph/marketgraph"
)

// Codes of errors raised by the HTTP transport itself, before a GraphQL
// document is looked at. They describe the HTTP request, not the data, so
// they are not domain codes and live here rather than in the root package.
const (
	codeBadRequest       = "BAD_REQUEST"
	codeNotAcceptable    = "NOT_ACCEPTABLE"
	codeUnsupportedMedia = "UNSUPPORTED_MEDIA_TYPE"
	codeMethodNotAllowed = "METHOD_NOT_ALLOWED"
	codePayloadTooLarge  = "PAYLOAD_TOO_LARGE"
)

// maskedMessage is all a client learns about an error it should not see.
const maskedMessage = "internal error"

// ErrorPresenter returns the one function that turns any error raised while
// serving a GraphQL operation into what the client sees, and so the one
// place that sets extensions.code:
//
//   - a panic, turned into an error by Recover (which logged it), shows as
//     "internal error" with code INTERNAL;
//   - an error wrapping context.DeadlineExceeded, in an operation whose
//     time limit (Config.OperationTimeout) has passed, shows as
//     COST_LIMIT_EXCEEDED saying so, and is logged once per operation, at
//     warn level: the client asked for too much, the server is fine;
//   - an error whose chain holds a *marketgraph.Error shows that error's
//     Message and Code, unless the code is INTERNAL (see below);
//   - errors gqlgen raises about the document itself (parse and validation
//     failures, which gqlgen's errcode package marks GRAPHQL_PARSE_FAILED and
//     GRAPHQL_VALIDATION_FAILED, and any other *gqlerror.Error that carries a
//     code and wraps nothing) pass through unchanged;
//   - an argument value that gqlgen could not unmarshal during execution
//     becomes BAD_USER_INPUT naming the argument;
//   - anything else, a *marketgraph.Error with code INTERNAL included, is a
//     bug or an outage the client cannot act on: its message becomes
//     "internal error" with code INTERNAL, and the real error is logged
//     once, at error level, with the request id and the path.
//
// The error's path and locations are kept in every case.
func ErrorPresenter(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		if err == nil {
			return nil
		}
		var gqlErr *gqlerror.Error
		if !errors.As(err, &gqlErr) {
			gqlErr = gqlerror.WrapPath(graphql.GetPath(ctx), err)
		}

		if errors.As(err, new(recovered)) {
			return present(gqlErr, err, maskedMessage, marketgraph.EINTERNAL)
		}
		if limit, ok := timedOut(ctx, err); ok {
			if limit.logged.CompareAndSwap(false, true) {
				log.WarnContext(ctx, "graphql operation timed out",
					slog.String("request_id", middleware.GetReqID(ctx)),
					slog.String("path", gqlErr.Path.String()),
					slog.Duration("limit", limit.limit),
				)
			}
			return present(gqlErr, err, limit.Error(), marketgraph.ECOSTLIMIT)
		}
		var domain *marketgraph.Error
		if errors.As(err, &domain) && domain.Code != marketgraph.EINTERNAL {
			return present(gqlErr, err, domain.Message, domain.Code)
		}
		if gqlErr.Err == nil && hasCode(gqlErr) {
			return gqlErr
		}
		if arg, ok := argumentError(ctx, gqlErr); ok {
			msg := "invalid argument value: " + gqlErr.Message
			if arg != "" {
				msg = fmt.Sprintf("invalid value for argument %q: %s", arg, gqlErr.Message)
			}
			return present(gqlErr, err, msg, marketgraph.EBADINPUT)
		}

		log.ErrorContext(ctx, "graphql error",
			slog.String("request_id", middleware.GetReqID(ctx)),
			slog.String("path", gqlErr.Path.String()),
			slog.String("error", redact(err.Error())),
		)
		return present(gqlErr, err, maskedMessage, marketgraph.EINTERNAL)
	}
}

// Recover returns gqlgen's recover function: a panic in a resolver becomes
// an INTERNAL error on that field rather than a crashed process. The panic
// value and the stack are logged here, with the request id; the returned
// error tells the presenter to show it masked without logging it a second
// time.
func Recover(log *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "panic serving graphql",
			slog.String("request_id", middleware.GetReqID(ctx)),
			slog.String("panic", redact(fmt.Sprint(p))),
			slog.String("stack", string(debug.Stack())),
		)
		return recovered{}
	}
}

// recovered is the error Recover returns for a panic it has logged.
type recovered struct{}

func (recovered) Error() string { return "panic recovered (logged with its stack)" }

// timedOut reports whether err is the failure of a call that ran out of the
// operation's time (see timeLimit), and returns the limit that passed. A
// DeadlineExceeded of a call's own timeout, while the operation still has
// time, is not one.
func timedOut(ctx context.Context, err error) (*operationTimeout, bool) {
	var limit *operationTimeout
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(context.Cause(ctx), &limit) {
		return nil, false
	}
	return limit, true
}

// present copies gqlErr with a new message and code, so that errors shared
// with gqlgen's internals are never modified in place.
func present(gqlErr *gqlerror.Error, cause error, message, code string) *gqlerror.Error {
	ext := make(map[string]any, len(gqlErr.Extensions)+1)
	maps.Copy(ext, gqlErr.Extensions)
	ext["code"] = code
	return &gqlerror.Error{
		Err:        cause,
		Message:    message,
		Path:       gqlErr.Path,
		Locations:  gqlErr.Locations,
		Extensions: ext,
		Rule:       gqlErr.Rule,
	}
}

func hasCode(e *gqlerror.Error) bool {
	code, ok := e.Extensions["code"].(string)
	return ok && code != ""
}

// argumentError reports whether e arose while gqlgen unmarshalled the
// arguments of the field in ctx, and names the argument. gqlgen assigns a
// field's Args only after every argument unmarshalled, so a field that was
// given arguments but has none assigned failed on one of them; gqlgen puts
// the argument's name on the error's path, just after the field's own path.
func argumentError(ctx context.Context, e *gqlerror.Error) (string, bool) {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || fc.Args != nil || len(fc.Field.Arguments) == 0 {
		return "", false
	}
	if n := len(fc.Path()); len(e.Path) > n {
		if name, ok := e.Path[n].(ast.PathName); ok {
			return string(name), true
		}
	}
	return "", true
}

// coercionError turns gqlgen's report of a variable value that does not fit
// its declared type (CoerceVariableValues in the GraphQL specification) into
// a BAD_USER_INPUT error naming the variable. gqlgen marks these
// GRAPHQL_VALIDATION_FAILED, like errors in the document; but the document is
// fine and the input is not, which is what BAD_USER_INPUT tells a client.
// The transport recognises them (see requestErrors) and the presenter gives
// them their code, as it does for every *marketgraph.Error.
func coercionError(e *gqlerror.Error) *gqlerror.Error {
	name := ""
	if len(e.Path) > 1 {
		if n, ok := e.Path[1].(ast.PathName); ok {
			name = string(n)
		}
	}
	out := *e
	out.Err = marketgraph.Errorf(marketgraph.EBADINPUT, "variable \"$%s\" got an invalid value: %s", name, e.Message)
	return &out
}

// isCoercionError reports whether e is gqlgen's report of a variable value
// that failed coercion: gqlparser puts those on the path ["variable", name].
func isCoercionError(e *gqlerror.Error) bool {
	if code, _ := e.Extensions["code"].(string); code != errcode.ValidationFailed {
		return false
	}
	if len(e.Path) < 2 {
		return false
	}
	first, ok := e.Path[0].(ast.PathName)
	return ok && first == "variable"
}
