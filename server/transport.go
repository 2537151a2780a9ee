package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/marketgraph/marketgraph"
)

// httpTransport is what the GET and POST transports share: everything after
// the request parameters have been read, checked and typed.
type httpTransport struct {
	cache   graphql.Cache[*ast.QueryDocument]
	limits  *documentLimits // for GET's early parse; nil: none
	present graphql.ErrorPresenterFunc
	recover graphql.RecoverFunc
}

// requestError is a failure of the HTTP request itself, found before any
// GraphQL processing: it is answered with status and a GraphQL-shaped body.
type requestError struct {
	status  int
	code    string
	message string
	allow   string // Allow header, for 405
}

func badRequest(format string, args ...any) *requestError {
	return &requestError{status: http.StatusBadRequest, code: codeBadRequest, message: fmt.Sprintf(format, args...)}
}

// begin chooses the response media type from Accept. ok is false when the
// client accepts nothing we produce; the 406 has then been written.
func (t *httpTransport) begin(w http.ResponseWriter, r *http.Request) (media string, ok bool) {
	media, ok = negotiate(r.Header.Values("Accept"))
	if !ok {
		// Spec "Body": when the client does not include a supported media
		// type in Accept, respond 406 (RECOMMENDED) and stop processing.
		writeRequestError(w, mediaJSON, &requestError{
			status:  http.StatusNotAcceptable,
			code:    codeNotAcceptable,
			message: "the Accept header allows neither application/graphql-response+json nor application/json",
		})
	}
	return media, ok
}

// guard turns a panic in a transport into a 500 carrying a GraphQL-shaped
// INTERNAL error, presented (and logged) like a resolver panic. It runs in a
// defer.
func (t *httpTransport) guard(ctx context.Context, w http.ResponseWriter, media string) {
	p := recover()
	if p == nil {
		return
	}
	if p == http.ErrAbortHandler {
		panic(p)
	}
	err := t.present(ctx, t.recover(ctx, p))
	writeResult(w, http.StatusInternalServerError, media, gqlerror.List{err}, nil, nil)
}

// execute runs a well-formed GraphQL-over-HTTP request.
func (t *httpTransport) execute(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor, params *graphql.RawParams, media string) {
	ctx := r.Context()
	params.Headers = r.Header

	// CreateOperationContext parses and validates the document (through the
	// query cache), selects the operation (GetOperation), coerces the
	// variables (CoerceVariableValues) and runs the operation context
	// mutators: the variable check, the introspection guard and the limits
	// (see newGraphQL). Any error here is a request error: execution does
	// not start and the response has no data entry.
	opCtx, errs := exec.CreateOperationContext(ctx, params)
	if len(errs) > 0 {
		t.requestErrors(ctx, w, exec, opCtx, errs, params.OperationName, media)
		return
	}
	if op := opCtx.Operation.Operation; r.Method == http.MethodGet && op != ast.Query {
		// A persisted document named by id is known only now: the GET
		// transport's own check (getTransport.Do) could not see it.
		writeRequestError(w, media, notSafeForGET(op))
		return
	}
	if err := unsupportedOperation(opCtx); err != nil {
		t.requestErrors(ctx, w, exec, opCtx, gqlerror.List{err}, params.OperationName, media)
		return
	}

	responses, ctx := exec.DispatchOperation(ctx, opCtx)
	resp := responses(ctx)
	if resp == nil {
		return // the client went away; there is no one to answer
	}
	// Spec "Status Codes": once execution started, the response has a data
	// entry (possibly null) and the status is 200 in both media types, even
	// with field errors (a partial response). Should gqlgen still answer
	// without data (an operation type the schema cannot execute), that is a
	// request error: application/graphql-response+json MUST then use 4xx or
	// 5xx.
	status := http.StatusOK
	if resp.Data == nil && media == mediaGraphQLResponse {
		status = requestErrorStatus(resp.Errors)
	}
	writeResult(w, status, media, resp.Errors, resp.Data, resp.Extensions)
}

// requestErrors answers a request that failed before execution: the document
// did not parse or validate, no operation could be selected, or the
// variables did not coerce. Per spec "Status Codes": application/json answers
// 200 with the errors; application/graphql-response+json answers 4xx (400
// unless the error's code says otherwise). In both, no data entry.
func (t *httpTransport) requestErrors(ctx context.Context, w http.ResponseWriter, exec graphql.GraphExecutor, opCtx *graphql.OperationContext, errs gqlerror.List, opName, media string) {
	errs = clarify(opCtx, errs, opName)
	resp := exec.DispatchError(graphql.WithOperationContext(ctx, opCtx), errs)
	status := http.StatusOK
	if media == mediaGraphQLResponse {
		status = requestErrorStatus(resp.Errors)
	}
	writeResult(w, status, media, resp.Errors, nil, resp.Extensions)
}

// clarify improves gqlgen's request errors before they are presented:
// variable coercion failures become BAD_USER_INPUT (see coercionError), and a
// failed operation selection gets a message that says what to do.
func clarify(opCtx *graphql.OperationContext, errs gqlerror.List, opName string) gqlerror.List {
	if opCtx == nil || opCtx.Doc == nil {
		return errs // parse or validation errors: gqlgen's are clear
	}
	out := make(gqlerror.List, len(errs))
	for i, e := range errs {
		switch {
		case opCtx.Operation == nil:
			// Spec "Status Codes", "Operation cannot be determined":
			// GetOperation() raised a request error.
			msg := fmt.Sprintf("the document has no operation named %q", opName)
			if opName == "" {
				msg = fmt.Sprintf("the document defines %d operations: set operationName to choose one", len(opCtx.Doc.Operations))
			}
			ne := gqlerror.Errorf("%s", msg)
			errcode.Set(ne, errcode.ValidationFailed)
			out[i] = ne
		case isCoercionError(e):
			out[i] = coercionError(e)
		default:
			out[i] = e
		}
	}
	return out
}

// requestErrorStatus is the status of a request error answered with
// application/graphql-response+json. Spec "application/graphql-response+json":
// 400 for requests that are not well formed or do not validate, 401 or 403
// when the client may not issue the request; never 2xx without data.
func requestErrorStatus(errs gqlerror.List) int {
	for _, e := range errs {
		code, _ := e.Extensions["code"].(string)
		switch code {
		case marketgraph.EUNAUTHENTICATED:
			return http.StatusUnauthorized
		case marketgraph.EFORBIDDEN:
			return http.StatusForbidden
		case marketgraph.ERATELIMITED:
			return http.StatusTooManyRequests
		case marketgraph.EUPSTREAM:
			return http.StatusServiceUnavailable
		case marketgraph.EINTERNAL:
			return http.StatusInternalServerError
		}
	}
	return http.StatusBadRequest
}

// writeRequestError answers a request that is not a well-formed
// GraphQL-over-HTTP request, or that this server will not take.
func writeRequestError(w http.ResponseWriter, media string, re *requestError) {
	if re.allow != "" {
		w.Header().Set("Allow", re.allow)
	}
	e := &gqlerror.Error{Message: re.message, Extensions: map[string]any{"code": re.code}}
	writeResult(w, re.status, media, gqlerror.List{e}, nil, nil)
}

// writeResult writes a GraphQL response: errors first (the GraphQL
// specification advises it), then data, which is omitted only when it is nil
// because execution did not start, then extensions. The data gqlgen produced
// is copied as is rather than re-encoded.
func writeResult(w http.ResponseWriter, status int, media string, errs gqlerror.List, data json.RawMessage, ext map[string]any) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	sep := false
	field := func(name string, v any) {
		if sep {
			buf.WriteByte(',')
		}
		sep = true
		buf.WriteString(`"` + name + `":`)
		switch v := v.(type) {
		case json.RawMessage:
			buf.Write(v)
		default:
			b, err := json.Marshal(v)
			if err != nil {
				// Only a non-encodable extension value gets here: a bug.
				b = []byte(`null`)
			}
			buf.Write(b)
		}
	}
	if len(errs) > 0 {
		field("errors", errs)
	}
	if data != nil {
		if len(data) == 0 {
			data = json.RawMessage(`null`)
		}
		field("data", data)
	}
	if len(ext) > 0 {
		field("extensions", ext)
	}
	buf.WriteByte('}')

	h := w.Header()
	// Spec "Body": indicate the media type and the encoding; we only ever
	// write UTF-8.
	h.Set("Content-Type", media+"; charset=utf-8")
	// The representation depends on Accept, so shared caches must key on it.
	h.Add("Vary", "Accept")
	// GraphQL responses hold live prices and, later, per-caller data: no
	// cache may store them, even those of GET queries.
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
