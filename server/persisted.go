package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/marketgraph/marketgraph/persisted"
)

// DefaultAPQCacheSize is how many automatic persisted queries the default
// in-process cache keeps.
const DefaultAPQCacheSize = 1000

// Codes of requests refused for their persisted document. The first two
// belong to the automatic persisted queries protocol, which Apollo's
// clients act on: NOT_FOUND asks the client to send the document with its
// hash; NOT_SUPPORTED (APQ is off) tells it to stop sending hashes alone.
// REQUIRED is this server's: it runs only the documents of its manifest
// (Config.PersistedOnly), and the request named another or sent its own
// text; it deliberately differs from NOT_FOUND, so that no client answers
// it by sending the text, which would be refused too.
const (
	codePersistedQueryNotFound     = "PERSISTED_QUERY_NOT_FOUND"
	codePersistedQueryNotSupported = "PERSISTED_QUERY_NOT_SUPPORTED"
	codePersistedQueryRequired     = "PERSISTED_QUERY_REQUIRED"
)

// paramDocumentID is the request parameter naming a persisted document in
// the GraphQL-over-HTTP persisted documents proposal: "sha256:<hex>" or a
// custom id, such as a Relay compiler's.
const paramDocumentID = "documentId"

// documentID is how parseParams hands a documentId parameter to
// persistedDocuments: in the request's extensions, under paramDocumentID,
// with a type no JSON decoder produces, so a client's own extensions entry
// of that name is never taken for it.
type documentID string

// readDocumentID reads the optional documentId parameter into p.Extensions.
func readDocumentID(fields map[string]json.RawMessage, p *graphql.RawParams) *requestError {
	v, ok := given(fields, paramDocumentID)
	if !ok {
		return nil
	}
	var id string
	if k := jsonKind(v); k != "a string" {
		return badRequest("request parameter %q must be a string or null, not %s", paramDocumentID, k)
	}
	if err := json.Unmarshal(v, &id); err != nil {
		return badRequest("request parameter %q is not a valid JSON string: %v", paramDocumentID, err)
	}
	if id == "" || len(id) > persisted.MaxIDBytes {
		return badRequest("request parameter %q must hold a document id of 1 to %d bytes", paramDocumentID, persisted.MaxIDBytes)
	}
	if p.Extensions == nil {
		p.Extensions = map[string]any{}
	}
	p.Extensions[paramDocumentID] = documentID(id)
	return nil
}

// refersToDocument reports whether a request names a persisted document,
// and so may leave out the query.
func refersToDocument(p *graphql.RawParams) bool {
	_, byID := p.Extensions[paramDocumentID].(documentID)
	return byID || p.Extensions["persistedQuery"] != nil
}

// persistedDocuments resolves the persisted document a request names, for
// every transport (gqlgen runs it first in CreateOperationContext, before
// the document is parsed):
//
//   - a request names a document by documentId (see paramDocumentID) or,
//     the Apollo way, by extensions.persistedQuery {version: 1,
//     sha256Hash}; a malformed reference is BAD_REQUEST;
//   - a document listed in the manifest (Config.TrustedDocuments) is
//     executed; the request's query, if it has one, must be that document's
//     text, or the request is refused as BAD_REQUEST;
//   - with Config.PersistedOnly, nothing else runs: a free-form query and
//     an unlisted id are PERSISTED_QUERY_REQUIRED;
//   - otherwise an unknown documentId is PERSISTED_QUERY_NOT_FOUND, and a
//     persistedQuery hash goes to gqlgen's automatic persisted queries:
//     the hash alone runs the document registered under it, or answers
//     PERSISTED_QUERY_NOT_FOUND ("PersistedQueryNotFound"); the hash with
//     the query registers the query once its SHA-256 matches (else
//     BAD_REQUEST) and runs it. With APQ off, a hash alone is
//     PERSISTED_QUERY_NOT_SUPPORTED and a hash with the query is ignored.
//
// GET may register a document too, as Apollo's servers allow: a GET
// carrying a query may run that query anyway, and GET's own check has
// refused mutations before this runs (a hash alone that resolves to a
// mutation is refused after it; see httpTransport.execute).
type persistedDocuments struct {
	trusted map[string]string
	only    bool
	apq     *extension.AutomaticPersistedQuery // nil: APQ is off
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = persistedDocuments{}

// newPersistedDocuments is the extension cfg asks for. PersistedOnly
// without a manifest would refuse every request: a wiring mistake, which
// panics like a missing schema.
func newPersistedDocuments(cfg *Config) persistedDocuments {
	if cfg.PersistedOnly && len(cfg.TrustedDocuments) == 0 {
		panic("server.New: Config.PersistedOnly needs Config.TrustedDocuments")
	}
	p := persistedDocuments{trusted: cfg.TrustedDocuments, only: cfg.PersistedOnly}
	if !cfg.PersistedOnly && !cfg.DisableAPQ {
		cache := cfg.APQCache
		if cache == nil {
			cache = persisted.NewLRU(DefaultAPQCacheSize, 0)
		}
		p.apq = &extension.AutomaticPersistedQuery{Cache: verifiedCache{cache}}
	}
	return p
}

// ExtensionName names the extension for gqlgen.
func (persistedDocuments) ExtensionName() string { return "PersistedDocuments" }

// Validate accepts every schema.
func (persistedDocuments) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationParameters replaces a reference to a persisted document
// with the document, or refuses the request; see persistedDocuments.
func (p persistedDocuments) MutateOperationParameters(ctx context.Context, params *graphql.RawParams) *gqlerror.Error {
	id, byDocumentID, err := documentReference(params.Extensions)
	if err != nil {
		return err
	}
	if id == "" {
		if p.only {
			return codedError(codePersistedQueryRequired, "this server executes only the trusted documents it lists: "+
				"send the document's id (documentId, or extensions.persistedQuery.sha256Hash) instead of its text")
		}
		return nil
	}
	if doc, ok := p.trusted[id]; ok {
		if params.Query != "" && params.Query != doc {
			return codedError(codeBadRequest, fmt.Sprintf("the query is not the text of persisted document %s: send the id alone", id))
		}
		params.Query = doc
		return nil
	}
	switch {
	case p.only:
		return codedError(codePersistedQueryRequired, fmt.Sprintf("document %s is not one of the trusted documents this server executes", id))
	case byDocumentID:
		return codedError(codePersistedQueryNotFound, fmt.Sprintf("persisted document %s is not known to this server", id))
	case p.apq == nil && params.Query != "":
		return nil // the hash is only an optimisation: run the text
	case p.apq == nil:
		return codedError(codePersistedQueryNotSupported, "PersistedQueryNotSupported")
	}
	if err := p.apq.MutateOperationParameters(ctx, params); err != nil {
		// gqlgen codes PersistedQueryNotFound itself; its other errors (a
		// hash that does not match the query) are the client's mistake.
		if !hasCode(err) {
			errcode.Set(err, codeBadRequest)
		}
		return err
	}
	return nil
}

// documentReference returns the id of the persisted document extensions
// name, "" for none, and whether it came from documentId.
func documentReference(ext map[string]any) (id string, byDocumentID bool, _ *gqlerror.Error) {
	if v, ok := ext[paramDocumentID].(documentID); ok {
		// Proposal: "sha256:" ids carry the hex digest, which is how
		// Apollo manifests key their documents; other ids are looked up
		// as they are.
		id, byDocumentID = strings.TrimPrefix(string(v), "sha256:"), true
	}
	raw := ext["persistedQuery"]
	if raw == nil {
		return id, byDocumentID, nil
	}
	if byDocumentID {
		return "", false, codedError(codeBadRequest, "send documentId or extensions.persistedQuery, not both")
	}
	pq, ok := raw.(map[string]any)
	if !ok {
		return "", false, codedError(codeBadRequest, `extensions.persistedQuery must be an object: {"version": 1, "sha256Hash": "<64 hex digits>"}`)
	}
	if !isOne(pq["version"]) {
		return "", false, codedError(codeBadRequest, "extensions.persistedQuery.version must be 1: no other version of persisted queries is supported")
	}
	hash, _ := pq["sha256Hash"].(string)
	if !isSHA256Hex(hash) {
		return "", false, codedError(codeBadRequest, "extensions.persistedQuery.sha256Hash must be the SHA-256 of the document in 64 lowercase hex digits")
	}
	return hash, false, nil
}

// isOne reports whether a decoded JSON value is the number 1.
func isOne(v any) bool {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		return err == nil && i == 1
	case float64:
		return n == 1
	}
	return false
}

func isSHA256Hex(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// verifiedCache returns only documents whose SHA-256 is their key. gqlgen
// checks the hash before it stores a document, but a shared cache (Redis)
// is written by every replica and whatever else can reach it: a document
// planted under another's hash is a miss here, not an operation run in its
// place.
type verifiedCache struct{ graphql.Cache[string] }

func (c verifiedCache) Get(ctx context.Context, key string) (string, bool) {
	doc, ok := c.Cache.Get(ctx, key)
	if !ok {
		return "", false
	}
	sum := sha256.Sum256([]byte(doc))
	if hex.EncodeToString(sum[:]) != key {
		return "", false
	}
	return doc, true
}
