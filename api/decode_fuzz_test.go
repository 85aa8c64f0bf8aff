package api

import (
	"encoding/json"
	"reflect"
	"testing"

	"redengine/domain/authorizations"
	"redengine/domain/cases"
	"redengine/domain/nss"
	"redengine/errs"
	"redengine/fie"
)

// FuzzDecodeCommand feeds arbitrary bytes to the strict decoder of command
// bodies: it never panics, refuses with an errs.Invalid error, and what it
// accepts re-encodes and decodes to the same value.
func FuzzDecodeCommand(f *testing.F) {
	for _, s := range []string{
		`{"number":"1234567","usuarioPrincipal":"ana","users":["luis"],"cccs":["28123456742"]}`,
		`{"documentType":"DNI","documentNumber":"12345678Z","address":{"tipoVia":"CL","codigoPostal":"28100"}}`,
		`{"email":"a@b.es"}`, `[]`, `{"a":{"b":{"c":[1,2,{"d":null}]}}}`, "{\"x\":\"\xff\"}", `{"number":1e999}`,
	} {
		f.Add([]byte(s))
	}
	// Every command body the API decodes (the anonymous ones by shape).
	targets := []func() any{
		func() any { return new(authorizations.RegisterInput) },
		func() any { return new(nss.Request) },
		func() any { return new(openInput) },
		func() any { return new(textInput) },
		func() any { return new(ExportRequest) },
		func() any { return new(lookupInput) },
		func() any { return new(fie.Record) },
		func() any { return new([]fie.Record) },
		func() any {
			return new(struct {
				Email string `json:"email"`
			})
		},
		func() any {
			return new(struct {
				Documents []cases.DocumentInput `json:"documents"`
			})
		},
		func() any {
			return new(struct {
				Materia      string            `json:"materia"`
				Categoria    string            `json:"categoria"`
				Subcategoria string            `json:"subcategoria"`
				ExtraData    map[string]string `json:"extraData"`
			})
		},
		func() any {
			return new(struct {
				FechaReal string `json:"fechaReal"`
			})
		},
		func() any {
			return new(struct {
				Now string `json:"now"`
			})
		},
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, mk := range targets {
			v := mk()
			err := decodeBytes(body, v)
			if err != nil {
				if !errs.Is(errs.Invalid, err) {
					t.Fatalf("refusal of kind %v: %v", errs.KindOf(err), err)
				}
				continue
			}
			again, err := json.Marshal(v)
			if err != nil {
				t.Fatalf("accepted value does not encode: %v", err)
			}
			w := mk()
			if err := decodeBytes(again, w); err != nil {
				t.Fatalf("re-encoded %s refused: %v", again, err)
			}
			if !reflect.DeepEqual(v, w) {
				t.Fatalf("round trip changed the value: %#v vs %#v", v, w)
			}
		}
	})
}
