package server

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// The media types of GraphQL responses (spec "Media Types"). Requests are
// only ever application/json.
const (
	mediaJSON            = "application/json"
	mediaGraphQLResponse = "application/graphql-response+json"
)

// supportedMedia lists the response media types in the order that breaks a
// tie nothing else breaks: application/json first, the legacy default.
var supportedMedia = [...]string{mediaJSON, mediaGraphQLResponse}

// negotiate picks the response media type from the Accept header values.
//
// Spec "Body": the server MUST respect Accept and encode the response in the
// highest priority media type listed that it supports. Priority is the
// q-value of the most specific media range matching each type (RFC 9110
// §12.5.1), so "*/*, application/json;q=0" excludes application/json; equal
// q-values go to the type named by the more specific range, then to the one
// listed first, so the spec's recommended
// "application/graphql-response+json, application/json" gets
// application/graphql-response+json.
//
// A missing Accept, "*/*" and "application/*" get application/json: the
// spec's legacy default, which this project keeps past the watershed (spec
// "Legacy watershed" now says SHOULD default to
// application/graphql-response+json) so that clients that send no Accept
// keep their 200s. A range that names a charset other than utf-8 matches
// nothing: we only write UTF-8. ok is false when no supported type is
// acceptable.
func negotiate(accept []string) (media string, ok bool) {
	header := strings.Join(accept, ",")
	if strings.TrimSpace(header) == "" {
		return mediaJSON, true
	}

	type match struct {
		q           float64
		specificity int // 0 no match, 1 */*, 2 type/*, 3 type/subtype
		position    int
	}
	var best [len(supportedMedia)]match
	for pos, part := range strings.Split(header, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		mt, params, err := mime.ParseMediaType(part)
		if err != nil {
			continue // ignore a malformed range, as most servers do
		}
		if mt == "*" {
			mt = "*/*" // sent by some old clients
		}
		q, ok := qvalue(params)
		if !ok {
			continue
		}
		if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
			continue
		}
		for i, s := range supportedMedia {
			spec := specificity(mt, s)
			if spec > best[i].specificity {
				best[i] = match{q: q, specificity: spec, position: pos}
			}
		}
	}

	chosen := -1
	for i, m := range best {
		if m.specificity == 0 || m.q <= 0 {
			continue
		}
		if chosen < 0 {
			chosen = i
			continue
		}
		c := best[chosen]
		switch {
		case m.q != c.q:
			if m.q > c.q {
				chosen = i
			}
		case m.specificity != c.specificity:
			if m.specificity > c.specificity {
				chosen = i
			}
		case m.position < c.position:
			chosen = i
		}
	}
	if chosen < 0 {
		return "", false
	}
	return supportedMedia[chosen], true
}

// qvalue reads the q parameter of a media range; absent means 1.
func qvalue(params map[string]string) (float64, bool) {
	v, ok := params["q"]
	if !ok {
		return 1, true
	}
	q, err := strconv.ParseFloat(v, 64)
	if err != nil || q < 0 || q > 1 {
		return 0, false
	}
	return q, true
}

// specificity says how precisely the media range mt names media.
func specificity(mt, media string) int {
	switch {
	case mt == media:
		return 3
	case mt == "*/*":
		return 1
	case strings.HasSuffix(mt, "/*") && strings.HasPrefix(media, strings.TrimSuffix(mt, "*")):
		return 2
	}
	return 0
}

// checkContentType enforces spec "POST": the body must be application/json
// (the one request media type every server supports, and the only one we
// take; spec "Security" notes other types can be unsafe), in UTF-8, which is
// assumed when no charset is given. A missing Content-Type is rejected with
// a 4xx, as the spec says a server SHOULD; 415 names the problem.
func checkContentType(r *http.Request) *requestError {
	unsupported := func(msg string) *requestError {
		return &requestError{status: http.StatusUnsupportedMediaType, code: codeUnsupportedMedia, message: msg}
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return unsupported("the request has no Content-Type: send the body as application/json")
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != mediaJSON {
		return unsupported("unsupported Content-Type " + strconv.Quote(ct) + ": send the body as application/json")
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return unsupported("unsupported charset " + strconv.Quote(cs) + ": send the body in utf-8")
	}
	return nil
}
