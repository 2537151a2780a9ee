package server

import (
	"net/url"
	"reflect"
	"testing"
)

func TestSearchParams(t *testing.T) {
	tests := []struct {
		raw  string
		want url.Values
	}{
		{"", url.Values{}},
		{"a=1&b=2", url.Values{"a": {"1"}, "b": {"2"}}},
		{"a=1;b=2", url.Values{"a": {"1;b=2"}}},
		{"a=%zz&b=%4&c=%41", url.Values{"a": {"%zz"}, "b": {"%4"}, "c": {"A"}}},
		{"a+b=c+d%2B", url.Values{"a b": {"c d+"}}},
		{"flag&&x=", url.Values{"flag": {""}, "x": {""}}},
		{"a=1&a=2", url.Values{"a": {"1", "2"}}},
		{"%E2%82%AC=%e2%82%ac", url.Values{"€": {"€"}}},
	}
	for _, tt := range tests {
		if got := searchParams(tt.raw); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("searchParams(%q) = %v, want %v", tt.raw, got, tt.want)
		}
	}
}
