package ratelimit

import (
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// The media types of GraphQL responses.
const (
	mediaJSON            = "application/json"
	mediaGraphQLResponse = "application/graphql-response+json"
)

// writeError answers with a GraphQL response holding one error, as the
// server does for requests it refuses before GraphQL runs:
// {"errors":[{"message":...,"extensions":{"code":...}}]}.
func writeError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	type gqlError struct {
		Message    string            `json:"message"`
		Extensions map[string]string `json:"extensions"`
	}
	body, _ := json.Marshal(struct {
		Errors []gqlError `json:"errors"`
	}{[]gqlError{{Message: message, Extensions: map[string]string{"code": code}}}}) // strings only: always encodes

	h := w.Header()
	h.Set("Content-Type", responseMedia(r.Header.Values("Accept"))+"; charset=utf-8")
	h.Add("Vary", "Accept")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// responseMedia picks application/graphql-response+json when the Accept
// header prefers it to application/json, and application/json otherwise
// (no Accept, */*, or neither acceptable), the way the server's
// negotiation does: by the q-value of the most specific range matching
// each type, then by specificity, then by position.
func responseMedia(accept []string) string {
	type match struct {
		q           float64
		specificity int // 0 no match, 1 */*, 2 application/*, 3 exact
		position    int
	}
	var js, gr match
	for pos, part := range strings.Split(strings.Join(accept, ","), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if q, err = strconv.ParseFloat(v, 64); err != nil || q < 0 || q > 1 {
				continue
			}
		}
		for _, m := range []struct {
			media string
			best  *match
		}{{mediaJSON, &js}, {mediaGraphQLResponse, &gr}} {
			spec := 0
			switch mt {
			case m.media:
				spec = 3
			case "application/*":
				spec = 2
			case "*/*", "*":
				spec = 1
			}
			if spec > m.best.specificity {
				*m.best = match{q: q, specificity: spec, position: pos}
			}
		}
	}
	if gr.specificity == 0 || gr.q <= 0 {
		return mediaJSON
	}
	if js.specificity == 0 || js.q <= 0 || gr.q > js.q {
		return mediaGraphQLResponse
	}
	if gr.q == js.q && (gr.specificity > js.specificity ||
		gr.specificity == js.specificity && gr.position < js.position) {
		return mediaGraphQLResponse
	}
	return mediaJSON
}
