package server

import (
	"encoding/json"
	"strings"
	"testing"
)

// jsonShape counts what encoding/json would decode: every value, object
// keys aside, and the nesting of lists and objects.
func TestJSONShape(t *testing.T) {
	for _, tc := range []struct {
		text            string
		values, nesting int
	}{
		{`1`, 1, 0},
		{` -1.5e+3 `, 1, 0},
		{`"a"`, 1, 0},
		{`true`, 1, 0},
		{`[]`, 1, 1},
		{`{}`, 1, 1},
		{`[1,2, 3]`, 4, 1},
		{`{"a":1}`, 2, 1},
		{"{\"a\" :\n\"b\", \"c\": null}", 3, 1},
		{`[{"a":[true,false,null]},"x\"y:",{}]`, 8, 3},
		{`["\\", "\\\"", "[{"]`, 4, 1},
		{`{"k\"": {"k": {"k": [[]]}}}`, 5, 5},
	} {
		if !json.Valid([]byte(tc.text)) {
			t.Fatalf("%s is not valid JSON", tc.text)
		}
		if v, n := jsonShape([]byte(tc.text), 0, 0); v != tc.values || n != tc.nesting {
			t.Errorf("jsonShape(%s) = %d values, nesting %d; want %d, %d", tc.text, v, n, tc.values, tc.nesting)
		}
	}
	t.Run("StopsAtTheLimits", func(t *testing.T) {
		long := []byte("[" + strings.Repeat("1,", 1e6) + "1]")
		if v, _ := jsonShape(long, 10, 0); v != 11 {
			t.Errorf("values = %d, want to stop at 11", v)
		}
		deep := []byte(strings.Repeat("[", 5000) + strings.Repeat("]", 5000))
		if _, n := jsonShape(deep, 0, 32); n != 33 {
			t.Errorf("nesting = %d, want to stop at 33", n)
		}
	})
}
