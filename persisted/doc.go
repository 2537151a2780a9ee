// Package persisted keeps GraphQL documents that clients refer to by id
// instead of sending them: the caches behind automatic persisted queries
// (an in-process LRU, and Redis shared by replicas), and the trusted-document
// manifests that Apollo's and Relay's tooling emit.
//
// The caches implement graphql.Cache[string], the interface of gqlgen's
// AutomaticPersistedQuery extension, keyed by the SHA-256 of the document in
// lowercase hex. They never fail a request: a document that cannot be kept
// or found is a miss, and the client sends the full text again.
package persisted

import (
	"crypto/sha256"
	"encoding/hex"
)

// MaxDocumentBytes is the largest document the caches keep; a larger one is
// executed but not remembered, so a client cannot fill the cache with a few
// huge documents. Real operations, fragments included, are a few kilobytes.
const MaxDocumentBytes = 128 << 10

// maxKeyBytes bounds the keys the caches look up or store. Document ids are
// 64 hex digits; anything much longer is not one, and is a miss.
const maxKeyBytes = 256

// Hash returns the id of document under the automatic persisted queries
// convention: the SHA-256 of its text, in lowercase hex.
func Hash(document string) string {
	sum := sha256.Sum256([]byte(document))
	return hex.EncodeToString(sum[:])
}
