package auth_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/marketgraph/marketgraph"
	"github.com/marketgraph/marketgraph/auth"
)

const (
	testAPIKey = "mg_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
	testJWT    = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
)

func TestCredentials(t *testing.T) {
	big := strings.Repeat("a", auth.MaxCredentialLen+1)
	for _, tc := range []struct {
		name    string
		headers map[string][]string
		want    auth.Credential
		err     string
	}{
		{"Anonymous", nil, auth.Credential{}, ""},
		{"BearerAPIKey", map[string][]string{"Authorization": {"Bearer " + testAPIKey}}, auth.Credential{Method: auth.MethodAPIKey, Token: testAPIKey}, ""},
		{"BearerJWT", map[string][]string{"Authorization": {"Bearer " + testJWT}}, auth.Credential{Method: auth.MethodJWT, Token: testJWT}, ""},
		{"SchemeCase", map[string][]string{"Authorization": {"bEARER  " + testJWT + " "}}, auth.Credential{Method: auth.MethodJWT, Token: testJWT}, ""},
		{"XAPIKey", map[string][]string{"X-Api-Key": {testAPIKey}}, auth.Credential{Method: auth.MethodAPIKey, Token: testAPIKey}, ""},
		// Whatever X-API-Key holds is an API key: the authenticator
		// refuses it as malformed, the JWT verifier never sees it.
		{"XAPIKeyHoldingJWT", map[string][]string{"X-Api-Key": {testJWT}}, auth.Credential{Method: auth.MethodAPIKey, Token: testJWT}, ""},
		{"BothSame", map[string][]string{"Authorization": {"Bearer " + testAPIKey}, "X-Api-Key": {testAPIKey}}, auth.Credential{Method: auth.MethodAPIKey, Token: testAPIKey}, ""},
		{"BothDifferent", map[string][]string{"Authorization": {"Bearer " + testJWT}, "X-Api-Key": {testAPIKey}}, auth.Credential{}, "two different credentials: send either Authorization header or X-API-Key header, not both"},
		{"BearerOnly", map[string][]string{"Authorization": {"Bearer"}}, auth.Credential{}, "Authorization header: Bearer without a token"},
		{"BearerSpace", map[string][]string{"Authorization": {"Bearer   "}}, auth.Credential{}, "Authorization header: Bearer without a token"},
		{"Empty", map[string][]string{"Authorization": {""}}, auth.Credential{}, "Authorization header: only Bearer credentials are accepted"},
		{"Basic", map[string][]string{"Authorization": {"Basic dXNlcjpwYXNz"}}, auth.Credential{}, "Authorization header: only Bearer credentials are accepted"},
		{"BareKey", map[string][]string{"Authorization": {testAPIKey}}, auth.Credential{}, "Authorization header: only Bearer credentials are accepted"},
		{"TokenWithSpace", map[string][]string{"Authorization": {"Bearer mg_a mg_b"}}, auth.Credential{}, "Authorization header: malformed bearer token"},
		{"TwoAuthorizations", map[string][]string{"Authorization": {"Bearer " + testAPIKey, "Bearer " + testAPIKey}}, auth.Credential{}, "Authorization header: given more than once"},
		{"TwoXAPIKeys", map[string][]string{"X-Api-Key": {testAPIKey, testAPIKey}}, auth.Credential{}, "X-API-Key header: given more than once"},
		{"EmptyXAPIKey", map[string][]string{"X-Api-Key": {"  "}}, auth.Credential{}, "X-API-Key header: empty"},
		{"XAPIKeyWithSpace", map[string][]string{"X-Api-Key": {"mg_a mg_b"}}, auth.Credential{}, "X-API-Key header: malformed API key"},
		{"OversizedAuthorization", map[string][]string{"Authorization": {"Bearer " + big}}, auth.Credential{}, "Authorization header: longer than 4096 bytes"},
		{"OversizedXAPIKey", map[string][]string{"X-Api-Key": {big}}, auth.Credential{}, "X-API-Key header: longer than 4096 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/graphql", nil)
			for k, vs := range tc.headers {
				for _, v := range vs {
					r.Header.Add(k, v)
				}
			}
			got, err := auth.Credentials(r)
			checkCredential(t, got, err, tc.want, tc.err)
		})
	}
}

func TestCredentialsFromInit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload map[string]any
		want    auth.Credential
		err     string
	}{
		{"Nil", nil, auth.Credential{}, ""},
		{"Unrelated", map[string]any{"locale": "fr"}, auth.Credential{}, ""},
		{"Authorization", map[string]any{"authorization": "Bearer " + testAPIKey}, auth.Credential{Method: auth.MethodAPIKey, Token: testAPIKey}, ""},
		{"AuthorizationCapitalised", map[string]any{"Authorization": "Bearer " + testJWT}, auth.Credential{Method: auth.MethodJWT, Token: testJWT}, ""},
		{"APIKey", map[string]any{"apiKey": testAPIKey}, auth.Credential{Method: auth.MethodAPIKey, Token: testAPIKey}, ""},
		{"XAPIKey", map[string]any{"x-api-key": testAPIKey}, auth.Credential{Method: auth.MethodAPIKey, Token: testAPIKey}, ""},
		{"Headers", map[string]any{"headers": map[string]any{"Authorization": "Bearer " + testJWT}}, auth.Credential{Method: auth.MethodJWT, Token: testJWT}, ""},
		{"HeadersAndTopSame", map[string]any{"apiKey": testAPIKey, "headers": map[string]any{"X-API-Key": testAPIKey}}, auth.Credential{}, "connection_init apiKey: given more than once"},
		{"NullHeaders", map[string]any{"headers": nil}, auth.Credential{}, ""},
		{"HeadersNotObject", map[string]any{"headers": "Authorization: Bearer x"}, auth.Credential{}, "connection_init headers: must be an object"},
		{"NotString", map[string]any{"authorization": 42.0}, auth.Credential{}, "connection_init authorization: must be a string"},
		{"APIKeyNotString", map[string]any{"apiKey": []any{testAPIKey}}, auth.Credential{}, "connection_init apiKey: must be a string"},
		{"TwoSpellings", map[string]any{"authorization": "Bearer " + testJWT, "Authorization": "Bearer " + testJWT}, auth.Credential{}, "connection_init authorization: given more than once"},
		{"Different", map[string]any{"authorization": "Bearer " + testJWT, "apiKey": testAPIKey}, auth.Credential{}, "two different credentials: send either connection_init authorization or connection_init apiKey, not both"},
		{"BearerOnly", map[string]any{"authorization": "Bearer "}, auth.Credential{}, "connection_init authorization: Bearer without a token"},
		{"Oversized", map[string]any{"apiKey": strings.Repeat("k", 5000)}, auth.Credential{}, "connection_init apiKey: longer than 4096 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := auth.CredentialsFromInit(tc.payload)
			checkCredential(t, got, err, tc.want, tc.err)
		})
	}
}

func checkCredential(t *testing.T, got auth.Credential, err error, want auth.Credential, wantErr string) {
	t.Helper()
	if wantErr != "" {
		wantAuthErr(t, "error", err, marketgraph.EUNAUTHENTICATED, wantErr)
		if got != (auth.Credential{}) {
			t.Errorf("credential %+v alongside an error", got)
		}
		if strings.Contains(err.Error(), testAPIKey[3:]) || strings.Contains(err.Error(), testJWT) {
			t.Errorf("error %q echoes the credential", err)
		}
		return
	}
	if err != nil || got != want {
		t.Errorf("got %+v, %v; want %+v", got, err, want)
	}
}
