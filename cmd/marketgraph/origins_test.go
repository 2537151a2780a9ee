package main

import (
	"io"
	"slices"
	"testing"
)

func TestConfig_AllowedOrigins(t *testing.T) {
	t.Run("FlagOverEnvironment", func(t *testing.T) {
		c, err := parseConfig("serve", []string{"-allowed-origins", " https://a.example , https://b.example:8443/ ,"},
			env(map[string]string{"MARKETGRAPH_ALLOWED_ORIGINS": "https://ignored.example"}), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"https://a.example", "https://b.example:8443"}; !slices.Equal(c.AllowedOrigins, want) {
			t.Errorf("origins %q, want %q", c.AllowedOrigins, want)
		}
	})
	t.Run("Environment", func(t *testing.T) {
		c, err := parseConfig("serve", nil, env(map[string]string{"MARKETGRAPH_ALLOWED_ORIGINS": "http://localhost:3000"}), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"http://localhost:3000"}; !slices.Equal(c.AllowedOrigins, want) {
			t.Errorf("origins %q, want %q", c.AllowedOrigins, want)
		}
	})
}
