package server

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"io/fs"
	"net/http"

	"github.com/99designs/gqlgen/graphql/playground"
)

// ideAssets are GraphiQL and its dependencies, embedded so the IDE works
// without internet access (gqlgen's page loads them from a CDN by default).
// See ide/README.md for where each file comes from.
//
//go:embed ide/*.js ide/*.css
var ideAssets embed.FS

// ideAssetPath is where the embedded assets are served.
const ideAssetPath = "/playground/assets/"

// playgroundHandler serves gqlgen's GraphiQL page pointed at endpoint, with
// every script and stylesheet from ideAssets and Subresource Integrity
// hashes computed from the embedded bytes.
func playgroundHandler(endpoint string) http.Handler {
	asset := func(name string) (string, string) {
		b, err := ideAssets.ReadFile("ide/" + name)
		if err != nil {
			panic("server: embedded IDE asset missing: " + name) // a build defect, caught by tests
		}
		sum := sha256.Sum256(b)
		return ideAssetPath + name, "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
	}
	js, jsSRI := asset("graphiql.min.js")
	css, cssSRI := asset("graphiql.min.css")
	react, reactSRI := asset("react.production.min.js")
	reactDOM, reactDOMSRI := asset("react-dom.production.min.js")
	explorerJS, explorerJSSRI := asset("plugin-explorer.umd.js")
	explorerCSS, explorerCSSSRI := asset("plugin-explorer.css")
	return playground.Handler("marketgraph", endpoint,
		playground.WithGraphiqlVersion(js, css, jsSRI, cssSRI),
		playground.WithGraphiqlReactVersion(react, reactDOM, reactSRI, reactDOMSRI),
		playground.WithGraphiqlPluginExplorerVersion(explorerJS, explorerCSS, explorerJSSRI, explorerCSSSRI),
	)
}

// ideAssetHandler serves the embedded assets. Their names carry no version,
// so they are cached for a day rather than forever.
func ideAssetHandler() http.Handler {
	sub, err := fs.Sub(ideAssets, "ide")
	if err != nil {
		panic(err)
	}
	files := http.StripPrefix(ideAssetPath, http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})
}
