package server

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/99designs/gqlgen/graphql"
)

// postTransport serves GraphQL over HTTP POST with a JSON body (spec "POST").
// It takes every POST that is not a protocol upgrade, so that a POST with
// the wrong Content-Type is answered 415 here instead of gqlgen's generic
// "transport not supported"; transports for other POSTs (Server-Sent
// Events, multipart uploads) must be added before it.
type postTransport struct{ *httpTransport }

var _ graphql.Transport = postTransport{}

// Supports reports whether r is a POST this transport answers.
func (t postTransport) Supports(r *http.Request) bool {
	return r.Method == http.MethodPost && r.Header.Get("Upgrade") == ""
}

// Do serves one POST request.
func (t postTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	start := graphql.Now()
	media, ok := t.begin(w, r)
	if !ok {
		return
	}
	defer t.guard(r.Context(), w, media)

	if re := checkContentType(r); re != nil {
		writeRequestError(w, media, re)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeRequestError(w, media, readError(err))
		return
	}
	fields, re := decodeBody(body)
	if re != nil {
		writeRequestError(w, media, re)
		return
	}
	params, re := parseParams(fields)
	if re != nil {
		writeRequestError(w, media, re)
		return
	}
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	t.execute(w, r, exec, params, media)
}

// readError answers a body that could not be read: too large (the body limit
// middleware's reader tripped), or cut short by the client.
func readError(err error) *requestError {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return &requestError{
			status:  http.StatusRequestEntityTooLarge,
			code:    codePayloadTooLarge,
			message: fmt.Sprintf("the request body is larger than %d bytes", tooLarge.Limit),
		}
	}
	return badRequest("the request body could not be read")
}
