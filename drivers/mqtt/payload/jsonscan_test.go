package payload

import (
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"
)

// refLookup is the reference: encoding/json into a map, then a walk of the path.
func refLookup(payload []byte, paths [][]string) (vals []any, found []bool, ok bool) {
	var doc map[string]any
	if err := json.Unmarshal(payload, &doc); err != nil || doc == nil {
		return nil, nil, false
	}
	for _, p := range paths {
		var cur any = doc
		hit := true
		for _, k := range p {
			m, isMap := cur.(map[string]any)
			if !isMap {
				hit = false
				break
			}
			if cur, hit = m[k]; !hit {
				break
			}
		}
		switch cur.(type) {
		case map[string]any, []any:
			cur = nonScalar{}
		}
		if !hit || cur == nil {
			vals, found = append(vals, nil), append(found, false)
			continue
		}
		vals, found = append(vals, cur), append(found, true)
	}
	return vals, found, true
}

var scanTestPaths = [][]string{{"event"}, {"a", "b"}, {"time"}, {"x", "y", "z"}, {"n"}, {}}

func checkScan(t *testing.T, payload []byte) {
	t.Helper()
	var sp scanPaths
	for _, p := range scanTestPaths {
		sp.add(p)
	}
	var got scanned
	err := scanDoc(payload, &sp, &got)
	want, wfound, ok := refLookup(payload, sp.paths)
	if (err == nil) != ok {
		t.Fatalf("%q: scanner error %v, encoding/json ok %v", payload, err, ok)
	}
	if !ok {
		return
	}
	for i := range sp.paths {
		gv, gok := got.get(i)
		if gok != wfound[i] || (gok && !reflect.DeepEqual(gv, want[i])) {
			t.Fatalf("%q path %v: got %#v %v, want %#v %v", payload, sp.paths[i], gv, gok, want[i], wfound[i])
		}
	}
}

// TestScanMatchesEncodingJSON: the scanner accepts, refuses and reads exactly what
// encoding/json into a map does.
func TestScanMatchesEncodingJSON(t *testing.T) {
	for _, p := range []string{
		`{}`, ` {"event":"x"} `, `{"event":"x","event":"y"}`, `{"a":{"b":1},"a":{"c":2}}`, `{"a":{"b":1},"a":5}`,
		`{"a":[{"b":1}]}`, `{"event":null}`, `{"event":"\u00e9\ud800x\/"}`, `{"time":1e400}`, `{"zz":1e400}`,
		`{"time":-0.5e-3}`, `{"time":01}`, `{"time":1.}`, `{"time":.5}`, `{"event":"a\u0001"}`, "{\"event\":\"a\x01\"}",
		`{"event":tru}`, `{"event":true}{}`, `[]`, `null`, `"x"`, `{"x":{"y":{"z":[1,2,{"q":null}]}}}`, `{"x":{"y":{"z":false}}}`,
		`{"n":123456789012345678901234567890}`, `{"e\u0076ent":"esc key"}`, `{"event":"x",}`, `{,}`, `{"a" "b"}`,
		`{"event":"\x"}`, `{"event":"\u12"}`, `{"a":{"b":{}}}`, `{"a":{"b":[]}}`, "{\"event\":\"\t\"}", `{"event":1 2}`,
	} {
		checkScan(t, []byte(p))
	}
}

// FuzzScan compares the scanner with encoding/json on any input.
func FuzzScan(f *testing.F) {
	for _, s := range []string{`{"event":"x","a":{"b":[1,{"c":2}]},"time":1.5e3}`, `{"x":{"y":{"z":"\ud83d\ude00"}}}`, `{"n":-0}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !utf8.Valid(b) {
			return // Decode refuses it before the scanner
		}
		checkScan(t, b)
	})
}

func TestScanDeep(t *testing.T) {
	for _, n := range []int{9999, 10001, 100000} {
		b := []byte(`{"a":`)
		for range n {
			b = append(b, '[')
		}
		for range n {
			b = append(b, ']')
		}
		b = append(b, '}')
		checkScan(t, b)
	}
}
