package auth

import (
	"net/http"
	"strings"

	"github.com/marketgraph/marketgraph"
)

// MaxCredentialLen bounds the value of one credential header or
// connection_init field, in bytes. An API key is 46 bytes and a JWT a few
// hundred; anything past 4 KiB is refused before it is parsed.
const MaxCredentialLen = 4096

// Credential is what a caller presented.
type Credential struct {
	// Method says who checks Token: MethodAPIKey for an API key (in
	// X-API-Key, or a bearer token starting with "mg_"), MethodJWT for any
	// other bearer token. Empty when the caller presented nothing: an
	// anonymous caller.
	Method Method
	// Token is the secret itself. Never log it.
	Token string
}

// Credentials extracts the credential of an HTTP request, from
// "Authorization: Bearer <token>" or "X-API-Key: <key>". A request without
// either is anonymous (a zero Credential, no error). UNAUTHENTICATED, with
// a message naming the header and never echoing its value, for: a header
// given twice, a scheme other than Bearer, Bearer without a token, a
// token with spaces in it, a value over MaxCredentialLen, and both headers
// carrying different credentials. The caller logs the failure
// (AuditFailure with ReasonMalformed).
func Credentials(r *http.Request) (Credential, error) {
	return credentialOf(
		field{"Authorization header", r.Header.Values("Authorization")},
		field{"X-API-Key header", r.Header.Values("X-API-Key")},
	)
}

// CredentialsFromInit extracts the credential of a WebSocket's
// connection_init payload, which browsers use because they cannot set
// headers on a WebSocket: "authorization" ("Bearer <token>") or "apiKey"
// (or "x-api-key"), names matched case-insensitively, at the top level or
// inside a "headers" object, as clients variously send them. The rules and
// errors are those of Credentials; a value that is not a string is
// malformed too. A nil or empty payload is anonymous.
func CredentialsFromInit(payload map[string]any) (Credential, error) {
	authz := field{name: "connection_init authorization"}
	key := field{name: "connection_init apiKey"}
	var collect func(m map[string]any, nested bool) error
	collect = func(m map[string]any, nested bool) error {
		for k, v := range m {
			var f *field
			switch {
			case strings.EqualFold(k, "authorization"):
				f = &authz
			case strings.EqualFold(k, "apiKey") || strings.EqualFold(k, "x-api-key"):
				f = &key
			case strings.EqualFold(k, "headers") && !nested:
				h, ok := v.(map[string]any)
				if !ok {
					if v == nil {
						continue
					}
					return credentialError("connection_init headers: must be an object")
				}
				if err := collect(h, true); err != nil {
					return err
				}
				continue
			default:
				continue
			}
			s, ok := v.(string)
			if !ok {
				return credentialError(f.name + ": must be a string")
			}
			f.values = append(f.values, s)
		}
		return nil
	}
	if err := collect(payload, false); err != nil {
		return Credential{}, err
	}
	return credentialOf(authz, key)
}

// field is the values one source gave for one credential, and its name for
// messages.
type field struct {
	name   string
	values []string
}

// credentialOf applies the rules of Credentials to an Authorization-style
// field and an API-key field.
func credentialOf(authz, key field) (Credential, error) {
	var found []Credential
	if v, ok, err := authz.single(); err != nil {
		return Credential{}, err
	} else if ok {
		scheme, token, _ := strings.Cut(strings.TrimSpace(v), " ")
		token = strings.TrimSpace(token)
		switch {
		case !strings.EqualFold(scheme, "Bearer"):
			return Credential{}, credentialError(authz.name + ": only Bearer credentials are accepted")
		case token == "":
			return Credential{}, credentialError(authz.name + ": Bearer without a token")
		case strings.ContainsAny(token, " \t\r\n"):
			return Credential{}, credentialError(authz.name + ": malformed bearer token")
		case strings.HasPrefix(token, KeyMarker):
			found = append(found, Credential{Method: MethodAPIKey, Token: token})
		default:
			found = append(found, Credential{Method: MethodJWT, Token: token})
		}
	}
	if v, ok, err := key.single(); err != nil {
		return Credential{}, err
	} else if ok {
		v = strings.TrimSpace(v)
		switch {
		case v == "":
			return Credential{}, credentialError(key.name + ": empty")
		case strings.ContainsAny(v, " \t\r\n"):
			return Credential{}, credentialError(key.name + ": malformed API key")
		}
		found = append(found, Credential{Method: MethodAPIKey, Token: v})
	}
	switch {
	case len(found) == 0:
		return Credential{}, nil
	case len(found) == 2 && found[0] != found[1]:
		return Credential{}, credentialError("two different credentials: send either " + authz.name + " or " + key.name + ", not both")
	}
	return found[0], nil
}

// single returns the field's one value: ok is false when there is none,
// and more than one, or one over MaxCredentialLen, is an error.
func (f field) single() (string, bool, error) {
	switch {
	case len(f.values) == 0:
		return "", false, nil
	case len(f.values) > 1:
		return "", false, credentialError(f.name + ": given more than once")
	case len(f.values[0]) > MaxCredentialLen:
		return "", false, credentialError(f.name + ": longer than 4096 bytes")
	}
	return f.values[0], true, nil
}

func credentialError(msg string) error {
	return marketgraph.Errorf(marketgraph.EUNAUTHENTICATED, "%s", msg)
}
