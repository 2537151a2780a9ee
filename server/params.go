package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
)

// The GraphQL-over-HTTP request parameters (spec "Request Parameters").
const (
	paramQuery         = "query"
	paramOperationName = "operationName"
	paramVariables     = "variables"
	paramExtensions    = "extensions"
)

// decodeBody reads a POST body (spec "JSON Encoding"): one JSON object, in
// UTF-8, whose members are the request parameters. Anything else is not a
// well-formed GraphQL-over-HTTP request, answered 400 in both response media
// types (spec "Status Codes": "JSON parsing failure", "Invalid parameters").
func decodeBody(body []byte) (map[string]json.RawMessage, *requestError) {
	if !utf8.Valid(body) {
		return nil, badRequest("the request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, badRequest("the request body is empty: send a JSON object with a \"query\"")
		}
		return nil, badRequest("the request body is not valid JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, badRequest("the request body is not valid JSON: more than one value")
	}
	if k := jsonKind(raw); k != "an object" {
		return nil, badRequest("the request body must be a JSON object, not %s", k)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, badRequest("the request body is not valid JSON: %v", err)
	}
	return fields, nil
}

// queryFields reads the request parameters of a GET from the URL's query
// component (spec "GET"), as JSON values, so that parseParams checks them
// exactly as it checks a POST body: query and operationName are plain
// strings, variables and extensions JSON texts. Unknown parameters are
// ignored; a parameter given twice is ambiguous and refused.
func queryFields(values url.Values) (map[string]json.RawMessage, *requestError) {
	fields := make(map[string]json.RawMessage, 4)
	for _, name := range [...]string{paramQuery, paramOperationName, paramVariables, paramExtensions, paramDocumentID} {
		vs, ok := values[name]
		if !ok {
			continue
		}
		if len(vs) > 1 {
			return nil, badRequest("request parameter %q is given %d times", name, len(vs))
		}
		v := vs[0]
		if !utf8.ValidString(v) {
			return nil, badRequest("request parameter %q is not valid UTF-8", name)
		}
		switch name {
		case paramQuery:
			fields[name] = jsonString(v)
		case paramOperationName, paramDocumentID:
			// Spec "GET": an empty operationName is the same as none; so
			// is an empty documentId.
			if v != "" {
				fields[name] = jsonString(v)
			}
		default:
			// Spec "GET": variables and extensions are encoded as JSON. An
			// empty value is taken as absent, as an empty operationName is
			// (and as graphql-http's reference server does).
			if v != "" {
				fields[name] = json.RawMessage(v)
			}
		}
	}
	return fields, nil
}

// parseParams checks the request parameters' types (spec "Request
// Parameters") and returns them typed for gqlgen. It is the one place both
// transports validate a request: query is required and a string, unless the
// request names a persisted document (documentId, or
// extensions.persistedQuery; see persistedDocuments); operationName, if
// present, a string; variables and extensions, if present, objects. null for
// an optional parameter is the same as leaving it out. Other members are
// ignored: spec "JSON Encoding" reserves them.
func parseParams(fields map[string]json.RawMessage) (*graphql.RawParams, *requestError) {
	p := &graphql.RawParams{}

	q, hasQuery := fields[paramQuery]
	if hasQuery {
		if k := jsonKind(q); k != "a string" {
			return nil, badRequest("request parameter \"query\" must be a string, not %s", k)
		}
		if err := json.Unmarshal(q, &p.Query); err != nil {
			return nil, badRequest("request parameter \"query\" is not a valid JSON string: %v", err)
		}
	}

	if v, ok := given(fields, paramOperationName); ok {
		if k := jsonKind(v); k != "a string" {
			return nil, badRequest("request parameter \"operationName\" must be a string or null, not %s", k)
		}
		if err := json.Unmarshal(v, &p.OperationName); err != nil {
			return nil, badRequest("request parameter \"operationName\" is not a valid JSON string: %v", err)
		}
	}

	var re *requestError
	if p.Variables, re = variablesParam(fields); re != nil { // decoded by variableLimits
		return nil, re
	}
	if p.Extensions, re = objectParam(fields, paramExtensions); re != nil {
		return nil, re
	}
	if re = readDocumentID(fields, p); re != nil {
		return nil, re
	}
	if !hasQuery && !refersToDocument(p) {
		return nil, badRequest("request parameter \"query\" is missing: it must hold the GraphQL document as a string (or send a persisted document's id)")
	}
	return p, nil
}

// given returns the parameter's value unless it is absent or null.
func given(fields map[string]json.RawMessage, name string) (json.RawMessage, bool) {
	v, ok := fields[name]
	if !ok || (jsonKind(v) == "null" && json.Valid(v)) {
		return nil, false
	}
	return v, true
}

// objectParam decodes an optional object parameter. Numbers stay
// json.Number, as gqlgen's variable coercion expects.
func objectParam(fields map[string]json.RawMessage, name string) (map[string]any, *requestError) {
	v, ok := given(fields, name)
	if !ok {
		return nil, nil
	}
	if !json.Valid(v) {
		return nil, badRequest("request parameter %q is not valid JSON", name)
	}
	if k := jsonKind(v); k != "an object" {
		return nil, badRequest("request parameter %q must be an object or null, not %s", name, k)
	}
	// Protocol metadata (persistedQuery) is a few values: bound the
	// decoding, which costs a microsecond a value, before it starts.
	if values, nesting := jsonShape(v, maxObjectParamValues, maxObjectParamNesting); values > maxObjectParamValues || nesting > maxObjectParamNesting {
		return nil, badRequest("request parameter %q holds more than %d values or nests more than %d levels deep", name, maxObjectParamValues, maxObjectParamNesting)
	}
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, badRequest("request parameter %q is not valid JSON: %v", name, err)
	}
	return m, nil
}

// jsonKind names the kind of a JSON value by its first byte, for messages
// and type checks; the value is assumed valid, or checked afterwards.
func jsonKind(v json.RawMessage) string {
	v = bytes.TrimLeft(v, " \t\r\n")
	if len(v) == 0 {
		return "empty"
	}
	switch v[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s) // a string always encodes
	return b
}
