package server

import (
	"context"
	"net/http"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// getTransport serves GraphQL over HTTP GET (spec "GET"): the request
// parameters are in the URL's query component, and only query operations
// run, since GET is a safe method.
type getTransport struct{ *httpTransport }

var _ graphql.Transport = getTransport{}

// Supports reports whether r is a GET this transport answers; WebSocket
// upgrades are left to a WebSocket transport.
func (t getTransport) Supports(r *http.Request) bool {
	return r.Method == http.MethodGet && r.Header.Get("Upgrade") == ""
}

// Do serves one GET request.
func (t getTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	start := graphql.Now()
	media, ok := t.begin(w, r)
	if !ok {
		return
	}
	defer t.guard(r.Context(), w, media)

	fields, re := queryFields(searchParams(r.URL.RawQuery))
	if re != nil {
		writeRequestError(w, media, re)
		return
	}
	params, re := parseParams(fields)
	if re != nil {
		writeRequestError(w, media, re)
		return
	}

	// Spec "GET": GET MUST NOT execute a mutation; if query and
	// operationName select one the server MUST answer 405 and halt. The
	// operation is found by parsing only, before validation, so that even an
	// invalid mutation document is refused for its method first.
	// Subscriptions are refused likewise: they are not safe to replay either.
	if op := t.operationType(r.Context(), params); op == ast.Mutation || op == ast.Subscription {
		writeRequestError(w, media, notSafeForGET(op))
		return
	}
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	t.execute(w, r, exec, params, media)
}

// operationType returns the type of the operation params select, or "" when
// the document does not parse or selects none: execution then reports why.
// A document already in the query cache is not parsed again.
func (t getTransport) operationType(ctx context.Context, params *graphql.RawParams) ast.Operation {
	doc, ok := t.cache.Get(ctx, params.Query)
	if !ok {
		// A document over the size or token limit is left unread here:
		// documentLimits refuses it when the request is executed.
		if doc = t.limits.parsed(params.Query); doc == nil {
			return ""
		}
	}
	op := doc.Operations.ForName(params.OperationName)
	if op == nil {
		return ""
	}
	return op.Operation
}

// notSafeForGET answers a GET that selects a mutation or subscription.
func notSafeForGET(op ast.Operation) *requestError {
	return &requestError{
		status:  http.StatusMethodNotAllowed,
		code:    codeMethodNotAllowed,
		message: "GET can only execute query operations: send " + string(op) + " operations with POST",
		allow:   http.MethodPost,
	}
}
