package api

import (
	"encoding/json"
	"testing"
)

// TestDuplicateName: a repeated member name is found wherever it is, with
// the path the API's field errors use; names repeated in different objects
// are not repetitions.
func TestDuplicateName(t *testing.T) {
	for body, want := range map[string]string{
		`{"text":"a","text":"b"}`:                            "text",
		`{"a":1,"b":{"c":1,"c":2}}`:                          "b.c",
		`[{"x":1},{"y":1,"y":2}]`:                            "[1].y",
		`{"documents":[{"size":1},{"name":"a","name":"b"}]}`: "documents[1].name",
		`{"a":[[1,2],[{"k":1,"k":1}]]}`:                      "a[1][0].k",
		`{"a":{"k":1},"b":{"k":1}}`:                          "",
		`[{"k":1},{"k":2}]`:                                  "",
		`{"k":"\"k\"","v":"k"}`:                              "",
		`{"a\u0062":1,"ab":2}`:                               "ab",
		`{"a":1}`:                                            "",
		`{"text":"a","Text":"b"}`:                            "Text",
		`{"x":{"kelvin":1,"\u212aelvin":2}}`:                 "x.\u212aelvin",
		`{"a":{"k":1,"b":{"k":2}},"k":3}`:                    "",
		`"x"`:                                                "",
	} {
		if got := duplicateName([]byte(body)); got != want {
			t.Errorf("duplicateName(%s) = %q, want %q", body, got, want)
		}
	}
}

// BenchmarkDecodeCommand: the edge's strict decoding of a case opening
// (UTF-8, depth, unknown fields, trailing data, repeated names).
func BenchmarkDecodeCommand(b *testing.B) {
	body := []byte(`{"authorization":"1000001","type":"tramite","materia":"Afiliación (altas y bajas)","categoria":"Altas",
		"subcategoria":"Alta fuera de plazo","subject":"Alta fuera de plazo de una trabajadora",
		"body":"Solicitamos el alta con Fecha Real 01/07/2021 de la trabajadora con NAF indicado.",
		"extraData":{"ccc":"28123456742","naf":"281234567840","fechaReal":"2021-07-01"}}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var in openInput
		if err := decodeBytes(body, &in); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzDuplicateName: the byte scan never rules out a text whose exact walk
// finds a repeated name.
func FuzzDuplicateName(f *testing.F) {
	for _, s := range []string{`{"a":1,"a":2}`, `{"a\u0062":1,"ab":2}`, `[{"k":1},{"k":2}]`, `{"a":"b:","b":1}`, `{"a" : 1, "a"  :2}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := []byte(s)
		if !json.Valid(b) {
			return
		}
		if path := repeatedName(b); path != "" && !mayRepeatName(b) {
			t.Fatalf("%s repeats %q, but the scan ruled it out", s, path)
		}
	})
}
