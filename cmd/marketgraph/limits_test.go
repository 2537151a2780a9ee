package main

import (
	"io"
	"strings"
	"testing"

	"github.com/marketgraph/marketgraph/server"
)

func TestConfig_Limits(t *testing.T) {
	t.Run("Defaults", func(t *testing.T) {
		c, err := parseConfig("serve", nil, env(nil), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		want := limitsConfig{
			DocumentBytes:  server.DefaultMaxDocumentBytes,
			Tokens:         server.DefaultMaxTokens,
			Nesting:        server.DefaultMaxNesting,
			Fragments:      server.DefaultMaxFragments,
			Aliases:        server.DefaultMaxAliases,
			RootFields:     server.DefaultMaxRootFields,
			RepeatedFields: server.DefaultMaxRepeatedFields,
			VariableValues: server.DefaultMaxVariableValues,
		}
		if c.Limits != want {
			t.Errorf("limits = %+v, want %+v", c.Limits, want)
		}
	})
	t.Run("EnvironmentAndFlags", func(t *testing.T) {
		vars := map[string]string{"MARKETGRAPH_MAX_ALIASES": "7", "MARKETGRAPH_MAX_TOKENS": "-1", "MARKETGRAPH_MAX_ROOT_FIELDS": "3"}
		c, err := parseConfig("serve", []string{"-max-root-fields", "4", "-max-document-bytes", "1024"}, env(vars), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		var sc server.Config
		c.Limits.apply(&sc)
		if sc.MaxAliases != 7 || sc.MaxTokens != -1 || sc.MaxRootFields != 4 || sc.MaxDocumentBytes != 1024 {
			t.Errorf("server config %+v: want aliases 7, tokens off, root fields 4 (the flag wins), 1024 bytes", sc)
		}
	})
	for _, tc := range []struct {
		name    string
		args    []string
		vars    map[string]string
		mention string
	}{
		{"ZeroAliases", []string{"-max-aliases", "0"}, nil, "-max-aliases / MARKETGRAPH_MAX_ALIASES"},
		{"ZeroVariableValues", nil, map[string]string{"MARKETGRAPH_MAX_VARIABLE_VALUES": "0"}, "MARKETGRAPH_MAX_VARIABLE_VALUES"},
		{"NestingOverParser", []string{"-max-nesting", "1001"}, nil, "at most 1000"},
		{"NotANumber", nil, map[string]string{"MARKETGRAPH_MAX_FRAGMENTS": "lots"}, "MARKETGRAPH_MAX_FRAGMENTS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseConfig("serve", tc.args, env(tc.vars), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("error %v, want one naming %q", err, tc.mention)
			}
		})
	}
}
