package server_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/server"
)

// fieldContext returns a context inside the resolution of field alias "q" at
// the query root.
func fieldContext(args ast.ArgumentList) (context.Context, *graphql.FieldContext) {
	ctx := context.WithValue(context.Background(), middleware.RequestIDKey, "req-42")
	fc := &graphql.FieldContext{
		Object: "Query",
		Field:  graphql.CollectedField{Field: &ast.Field{Alias: "q", Name: "asset", Arguments: args}},
	}
	return graphql.WithFieldContext(ctx, fc), fc
}

func TestErrorPresenter_DomainError(t *testing.T) {
	logs := &logCapture{}
	present := server.ErrorPresenter(slog.New(logs))
	ctx, _ := fieldContext(nil)
	located := &gqlerror.Error{
		Err:       fmt.Errorf("find asset: %w", marketgraph.Errorf(marketgraph.ENOTFOUND, "no asset %q", "nope")),
		Message:   "find asset: marketgraph error: code=NOT_FOUND",
		Path:      ast.Path{ast.PathName("q")},
		Locations: []gqlerror.Location{{Line: 1, Column: 3}},
	}

	for name, err := range map[string]error{
		"Bare":            marketgraph.Errorf(marketgraph.ENOTFOUND, "no asset %q", "nope"),
		"Wrapped":         fmt.Errorf("find asset: %w", marketgraph.Errorf(marketgraph.ENOTFOUND, "no asset %q", "nope")),
		"InGQLErrorChain": located,
	} {
		t.Run(name, func(t *testing.T) {
			got := present(ctx, err)
			if got.Message != `no asset "nope"` {
				t.Errorf("message = %q, want the domain message", got.Message)
			}
			if got.Extensions["code"] != marketgraph.ENOTFOUND {
				t.Errorf("code = %v, want %s", got.Extensions["code"], marketgraph.ENOTFOUND)
			}
			if got.Path.String() != "q" {
				t.Errorf("path = %v, want [q]", got.Path)
			}
			if !errors.Is(got, err) && !errors.Is(got.Err, err) {
				t.Errorf("presented error lost its cause")
			}
		})
	}
	t.Run("KeepsLocations", func(t *testing.T) {
		got := present(ctx, located)
		if len(got.Locations) != 1 || got.Locations[0] != (gqlerror.Location{Line: 1, Column: 3}) {
			t.Errorf("locations = %v, want [1:3]", got.Locations)
		}
		if located.Message != "find asset: marketgraph error: code=NOT_FOUND" || located.Extensions != nil {
			t.Errorf("presenter modified the original error: %+v", located)
		}
	})
	if recs := logs.errorRecords(); len(recs) != 0 {
		t.Errorf("domain errors logged %d times, want 0: %+v", len(recs), recs)
	}
}

func TestErrorPresenter_GraphQLErrorsKeepTheirCodes(t *testing.T) {
	logs := &logCapture{}
	present := server.ErrorPresenter(slog.New(logs))
	for _, code := range []string{errcode.ParseFailed, errcode.ValidationFailed} {
		t.Run(code, func(t *testing.T) {
			e := gqlerror.Errorf("Cannot query field \"nope\" on type \"Query\".")
			e.Locations = []gqlerror.Location{{Line: 1, Column: 3}}
			errcode.Set(e, code)
			got := present(context.Background(), e)
			if got.Message != e.Message || got.Extensions["code"] != code || len(got.Locations) != 1 {
				t.Errorf("got %+v, want %+v unchanged", got, e)
			}
		})
	}
	if recs := logs.errorRecords(); len(recs) != 0 {
		t.Errorf("gqlgen errors logged: %+v", recs)
	}
}

func TestErrorPresenter_PlainErrorIsMaskedAndLoggedOnce(t *testing.T) {
	logs := &logCapture{}
	present := server.ErrorPresenter(slog.New(logs))
	ctx, _ := fieldContext(nil)
	secret := errors.New("dial postgres://app:hunter2@db:5432/market: connection refused")

	for name, err := range map[string]error{
		"Plain":       secret,
		"WrappedPath": gqlerror.WrapPath(ast.Path{ast.PathName("q")}, secret),
		// A gqlerror with no code, made by hand: not one of gqlgen's
		// document errors, so masked too.
		"UncodedGQLError": &gqlerror.Error{Message: "hunter2", Path: ast.Path{ast.PathName("q")}},
		// A domain error with code INTERNAL is no more for the client's
		// eyes than any other failure.
		"InternalDomainError":        marketgraph.Errorf(marketgraph.EINTERNAL, "%s", secret),
		"WrappedInternalDomainError": fmt.Errorf("list assets: %w", marketgraph.Errorf(marketgraph.EINTERNAL, "%s", secret)),
	} {
		t.Run(name, func(t *testing.T) {
			before := len(logs.errorRecords())
			got := present(ctx, err)
			if got.Message != "internal error" || got.Extensions["code"] != marketgraph.EINTERNAL {
				t.Errorf("got %q %v, want \"internal error\" INTERNAL", got.Message, got.Extensions["code"])
			}
			if strings.Contains(fmt.Sprint(got.Message, got.Extensions), "hunter2") {
				t.Errorf("the client sees the secret: %+v", got)
			}
			if got.Path.String() != "q" {
				t.Errorf("path = %v, want [q]", got.Path)
			}
			recs := logs.errorRecords()
			if len(recs)-before != 1 {
				t.Fatalf("logged %d error records, want exactly 1", len(recs)-before)
			}
			rec := recs[len(recs)-1]
			if rec.Attrs["request_id"] != "req-42" || rec.Attrs["path"] != "q" {
				t.Errorf("log attrs = %v, want request_id req-42 and path q", rec.Attrs)
			}
			if logged := fmt.Sprint(rec.Attrs["error"]); name != "UncodedGQLError" {
				if !strings.Contains(logged, "connection refused") {
					t.Errorf("the log lacks the real error: %v", logged)
				}
				if strings.Contains(logged, "hunter2") {
					t.Errorf("the log holds the password: %v", logged)
				}
			}
		})
	}
}

func TestErrorPresenter_ArgumentErrorIsBadUserInput(t *testing.T) {
	logs := &logCapture{}
	present := server.ErrorPresenter(slog.New(logs))
	ctx, _ := fieldContext(ast.ArgumentList{{Name: "from"}})
	// What gqlgen reports when a Time argument does not parse: the error
	// of the unmarshaller, on the path of the argument.
	err := gqlerror.WrapPath(ast.Path{ast.PathName("q"), ast.PathName("from")}, errors.New(`parsing time "garbage"`))

	got := present(ctx, err)
	if got.Extensions["code"] != marketgraph.EBADINPUT {
		t.Errorf("code = %v, want BAD_USER_INPUT", got.Extensions["code"])
	}
	if !strings.Contains(got.Message, `argument "from"`) || !strings.Contains(got.Message, "garbage") {
		t.Errorf("message = %q, want it to name the argument and the problem", got.Message)
	}
	if recs := logs.errorRecords(); len(recs) != 0 {
		t.Errorf("user input error logged as an internal one: %+v", recs)
	}

	t.Run("ResolverErrorIsNotOne", func(t *testing.T) {
		ctx, fc := fieldContext(ast.ArgumentList{{Name: "from"}})
		fc.Args = map[string]any{"from": nil} // arguments done: the resolver failed
		got := present(ctx, errors.New("boom"))
		if got.Extensions["code"] != marketgraph.EINTERNAL {
			t.Errorf("code = %v, want INTERNAL", got.Extensions["code"])
		}
	})
}

func TestRecover_PanicBecomesInternal(t *testing.T) {
	logs := &logCapture{}
	log := slog.New(logs)
	ctx, _ := fieldContext(nil)

	err := server.Recover(log)(ctx, "kaboom")
	got := server.ErrorPresenter(log)(ctx, err)
	if got.Message != "internal error" || got.Extensions["code"] != marketgraph.EINTERNAL {
		t.Errorf("got %q %v, want \"internal error\" INTERNAL", got.Message, got.Extensions["code"])
	}
	recs := logs.errorRecords()
	if len(recs) != 1 {
		t.Fatalf("logged %d error records, want exactly 1 (recover logs, the presenter does not)", len(recs))
	}
	if recs[0].Attrs["request_id"] != "req-42" || recs[0].Attrs["panic"] != "kaboom" {
		t.Errorf("log attrs = %v, want the request id and the panic value", recs[0].Attrs)
	}
	if stack, _ := recs[0].Attrs["stack"].(string); !strings.Contains(stack, "goroutine") {
		t.Errorf("log has no stack: %v", recs[0].Attrs["stack"])
	}
}

// TestRecover_ResolverPanicThroughTheHandler runs a field whose resolver is
// missing (Resolvers is nil), which panics inside gqlgen: the operation
// completes with the field null and an INTERNAL error on its path, the
// process lives, and the panic is logged exactly once.
func TestRecover_ResolverPanicThroughTheHandler(t *testing.T) {
	ts, logs := newServer(t, nil)
	for _, accept := range []string{jsonMedia, gqlResponse} {
		t.Run(accept, func(t *testing.T) {
			before := len(logs.errorRecords())
			res := postQuery(t, ts, accept, `{"query":"{ asset(id: \"bitcoin\") { id } }"}`)
			// Spec "Status Codes": execution started, so 200 with data,
			// field errors notwithstanding.
			if res.status != http.StatusOK {
				t.Fatalf("status = %d, want 200; body %s", res.status, res.body)
			}
			if got := string(res.fields["data"]); got != `{"asset":null}` {
				t.Errorf("data = %s, want {\"asset\":null}", got)
			}
			errs := res.errors(t)
			if len(errs) != 1 || errs[0].Message != "internal error" || errs[0].Extensions["code"] != "INTERNAL" {
				t.Fatalf("errors = %+v, want one masked INTERNAL error", errs)
			}
			if fmt.Sprint(errs[0].Path) != "[asset]" {
				t.Errorf("path = %v, want [asset]", errs[0].Path)
			}
			recs := logs.errorRecords()[before:]
			if len(recs) != 1 || recs[0].Msg != "panic serving graphql" {
				t.Fatalf("error records = %+v, want the panic logged once", recs)
			}
			if recs[0].Attrs["request_id"] != res.header.Get("X-Request-Id") {
				t.Errorf("logged request_id %v, response X-Request-Id %q", recs[0].Attrs["request_id"], res.header.Get("X-Request-Id"))
			}
		})
	}

	t.Run("NullDataIsStillData", func(t *testing.T) {
		// assets is non-null, so its failure nulls the whole data entry;
		// spec: data present and null is a 2xx, not a request error.
		res := postQuery(t, ts, gqlResponse, `{"query":"{ assets { totalCount } }"}`)
		if res.status != http.StatusOK || !res.hasData() || string(res.fields["data"]) != "null" {
			t.Errorf("got %d %s, want 200 with \"data\": null", res.status, res.body)
		}
	})

	// The server still serves.
	if res := postQuery(t, ts, "", `{"query":"{ __typename }"}`); res.status != http.StatusOK {
		t.Errorf("after panics: status %d", res.status)
	}
}
