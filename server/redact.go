package server

import "regexp"

// Patterns of secrets that error texts can carry: the password of a URL
// (postgres://user:secret@host) and of a key/value DSN (password=secret).
// Compiled once; a Regexp is safe for concurrent use and never changes.
var (
	urlPassword = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*):[^@\s]*@`)
	kvPassword  = regexp.MustCompile(`(?i)(password\s*=\s*)('[^']*'|"[^"]*"|\S+)`)
)

// redact hides passwords in an error text before it is logged: logs are
// read by more people than the ones who hold the database password.
func redact(s string) string {
	s = urlPassword.ReplaceAllString(s, "$1:xxxxx@")
	return kvPassword.ReplaceAllString(s, "${1}xxxxx")
}
