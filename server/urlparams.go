package server

import (
	"net/url"
	"strings"
)

// searchParams parses a URL's query component the way the WHATWG URL
// standard's application/x-www-form-urlencoded parser does, which the GraphQL
// over HTTP spec ("GET") names for request parameters: pairs split on "&"
// only (a ";" is data, not a separator), "+" is a space, and a malformed
// percent escape is kept as written rather than failing the request. Go's
// url.ParseQuery refuses both, so one stray parameter that is none of ours
// would make a valid GraphQL request a 400.
func searchParams(raw string) url.Values {
	values := url.Values{}
	for _, pair := range strings.Split(raw, "&") {
		if pair == "" {
			continue
		}
		name, value, _ := strings.Cut(pair, "=")
		values[formDecode(name)] = append(values[formDecode(name)], formDecode(value))
	}
	return values
}

// formDecode decodes one name or value: "+" to space, then percent escapes,
// leaving any "%" not followed by two hex digits as it is.
func formDecode(s string) string {
	s = strings.ReplaceAll(s, "+", " ")
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
