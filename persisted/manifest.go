package persisted

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"unicode"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// ApolloManifestFormat is the format member of the manifests Apollo's
// generate-persisted-query-manifest writes.
const ApolloManifestFormat = "apollo-persisted-query-manifest"

// MaxIDBytes is the longest document id a manifest may list, and so the
// longest a client can usefully send.
const MaxIDBytes = 256

// LoadManifest reads a trusted-documents manifest and returns its documents
// by id. It accepts the two formats client tooling emits:
//
//   - Apollo's persisted query manifest:
//     {"format":"apollo-persisted-query-manifest","version":1,
//     "operations":[{"id":"<sha256 hex of body>","body":"query …","name":"…","type":"query"}]};
//     every id must be the SHA-256 of its body in lowercase hex, as Apollo
//     Client computes it, or the whole manifest is refused;
//   - Relay's persisted queries file: {"<id>":"<document>", …}, ids as the
//     Relay compiler made them (any string without spaces).
//
// Every document must parse as GraphQL. Errors name the file and the entry
// at fault; a manifest that lists no document is an error too, since a
// server running only listed documents would then refuse everything.
func LoadManifest(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("persisted manifest: %w", err)
	}
	docs, err := ParseManifest(b)
	if err != nil {
		return nil, fmt.Errorf("persisted manifest %s: %w", path, err)
	}
	return docs, nil
}

// ParseManifest is LoadManifest for a manifest already in memory.
func ParseManifest(b []byte) (map[string]string, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return nil, fmt.Errorf("not valid JSON (at byte %d): %v", syntax.Offset, err)
		}
		return nil, fmt.Errorf("not an Apollo persisted query manifest or a Relay persisted queries object: %v", err)
	}
	var docs map[string]string
	var err error
	if _, ok := top["format"]; ok {
		docs, err = parseApollo(top)
	} else {
		docs, err = parseRelay(top)
	}
	if err != nil {
		return nil, err
	}
	if len(docs) == 0 {
		return nil, errors.New("lists no documents")
	}
	return docs, nil
}

// apolloOperation is one entry of an Apollo manifest.
type apolloOperation struct {
	ID   *string `json:"id"`
	Body *string `json:"body"`
	Name string  `json:"name"`
	Type string  `json:"type"`
}

func parseApollo(top map[string]json.RawMessage) (map[string]string, error) {
	var format string
	if err := json.Unmarshal(top["format"], &format); err != nil || format != ApolloManifestFormat {
		return nil, fmt.Errorf("format is %s, want %q", top["format"], ApolloManifestFormat)
	}
	var version int
	if err := json.Unmarshal(top["version"], &version); err != nil || version != 1 {
		return nil, fmt.Errorf("version is %s: only version 1 of the Apollo manifest is supported", orMissing(top["version"]))
	}
	raw, ok := top["operations"]
	if !ok {
		return nil, errors.New(`"operations" is missing`)
	}
	var ops []json.RawMessage
	if err := json.Unmarshal(raw, &ops); err != nil {
		return nil, errors.New(`"operations" must be an array`)
	}
	docs := make(map[string]string, len(ops))
	for i, rawOp := range ops {
		var op apolloOperation
		if err := json.Unmarshal(rawOp, &op); err != nil {
			return nil, fmt.Errorf("operation %d: %v", i, err)
		}
		at := fmt.Sprintf("operation %d", i)
		if op.Name != "" {
			at += fmt.Sprintf(" (%q)", op.Name)
		}
		switch {
		case op.ID == nil || *op.ID == "":
			return nil, fmt.Errorf("%s: id is missing", at)
		case op.Body == nil || *op.Body == "":
			return nil, fmt.Errorf("%s: body is missing", at)
		}
		if want := Hash(*op.Body); *op.ID != want {
			return nil, fmt.Errorf("%s: id %s is not the SHA-256 of its body (%s): regenerate the manifest", at, *op.ID, want)
		}
		if err := checkDocument(*op.Body); err != nil {
			return nil, fmt.Errorf("%s: %v", at, err)
		}
		docs[*op.ID] = *op.Body
	}
	return docs, nil
}

func parseRelay(top map[string]json.RawMessage) (map[string]string, error) {
	docs := make(map[string]string, len(top))
	for id, raw := range top {
		if err := checkID(id); err != nil {
			return nil, fmt.Errorf("entry %q: %v", truncate(id), err)
		}
		var doc string
		if err := json.Unmarshal(raw, &doc); err != nil {
			return nil, fmt.Errorf("entry %q: the document must be a string, not %s (neither an Apollo manifest, which has a \"format\", nor Relay's {\"id\": \"document\"})", id, kind(raw))
		}
		if err := checkDocument(doc); err != nil {
			return nil, fmt.Errorf("entry %q: %v", id, err)
		}
		docs[id] = doc
	}
	return docs, nil
}

// checkID accepts ids a client can send as documentId.
func checkID(id string) error {
	switch {
	case id == "":
		return errors.New("the id is empty")
	case len(id) > MaxIDBytes:
		return fmt.Errorf("the id is longer than %d bytes", MaxIDBytes)
	case strings.IndexFunc(id, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) >= 0:
		return errors.New("the id contains spaces or control characters")
	}
	return nil
}

// checkDocument refuses a document that is empty or does not parse: the
// manifest is the wrong file, or was damaged.
func checkDocument(doc string) error {
	if strings.TrimSpace(doc) == "" {
		return errors.New("the document is empty")
	}
	if _, err := parser.ParseQuery(&ast.Source{Input: doc}); err != nil {
		return fmt.Errorf("the document does not parse: %v", err)
	}
	return nil
}

func kind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 'n':
		return "null"
	case 't', 'f':
		return "a boolean"
	default:
		return "a number"
	}
}

func orMissing(raw json.RawMessage) string {
	if raw == nil {
		return "missing"
	}
	return string(raw)
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
