package casia_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"redengine/catalog/casia"
	"redengine/errs"
)

func TestDefaultIsValidAndHasTheSeedMaterias(t *testing.T) {
	c := casia.Default()
	if c.Version == "" {
		t.Fatal("no version")
	}
	want := []string{"Afiliación (altas y bajas)", "Cotización", "Inscripción de empresas", "Sistema RED",
		"SLD/RED Directo", "Sede Electrónica", "Gestión de autorizaciones", "Recaudación"}
	var got []string
	for _, m := range c.Materias {
		got = append(got, m.Name)
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("materias = %q, want %q", got, want)
	}
	var rec casia.Materia
	for _, m := range c.Materias {
		if m.Name == "Recaudación" {
			rec = m
		}
	}
	if len(rec.Categorias) < 3 {
		t.Fatalf("Recaudación has %d categorías, want several", len(rec.Categorias))
	}
	for _, cat := range rec.Categorias {
		for _, s := range cat.Subcategorias {
			if !strings.HasPrefix(s.Unit, "URE-") {
				t.Errorf("Recaudación/%s/%s routed to %q, want a URE unit", cat.Name, s.Name, s.Unit)
			}
		}
	}
	// Every type is offered somewhere, so every case type can be opened.
	for _, typ := range casia.Types() {
		found := false
		for _, m := range c.Materias {
			for _, cat := range m.Categorias {
				for _, s := range cat.Subcategorias {
					found = found || s.Allows(typ)
				}
			}
		}
		if !found {
			t.Errorf("no subcategoría admits %s", typ)
		}
	}
}

func TestDefaultReturnsIndependentCopies(t *testing.T) {
	a, b := casia.Default(), casia.Default()
	a.Materias[0].Name = "changed"
	if b.Materias[0].Name == "changed" {
		t.Fatal("Default shares state between calls")
	}
}

func TestFind(t *testing.T) {
	c := casia.Default()
	s, ok := c.Find("Recaudación", "Aplazamientos", "Solicitud y requisitos")
	if !ok || s.Unit != "URE-Aplazamientos" || !s.Allows(casia.Consulta) || s.Allows(casia.Tramite) {
		t.Fatalf("Find = %+v, %v", s, ok)
	}
	// Case and surrounding spaces do not matter; the canonical spelling is returned.
	cl, s2, ok := c.Classify("  recaudación", "APLAZAMIENTOS ", "solicitud y requisitos")
	if !ok || s2.Name != s.Name || cl.Materia != "Recaudación" || cl.Categoria != "Aplazamientos" {
		t.Fatalf("Classify = %+v %+v %v", cl, s2, ok)
	}
	for _, path := range [][3]string{
		{"Recaudación", "Aplazamientos", "No existe"},
		{"Recaudación", "No existe", "Solicitud y requisitos"},
		{"No existe", "Aplazamientos", "Solicitud y requisitos"},
		{"Cotización", "Aplazamientos", "Solicitud y requisitos"}, // right leaf under the wrong materia
		{"", "", ""},
	} {
		if _, ok := c.Find(path[0], path[1], path[2]); ok {
			t.Errorf("Find(%q) found something", path)
		}
	}
}

func TestFormats(t *testing.T) {
	cases := []struct {
		f    casia.Format
		v    string
		good bool
	}{
		{casia.FormatCCC, "28123456742", true},
		{casia.FormatCCC, "23123456750", true},
		{casia.FormatCCC, "28123456743", false},
		{casia.FormatCCC, "2812345674", false},
		{casia.FormatNAF, "281234567840", true},
		{casia.FormatNAF, "280123456742", true},
		{casia.FormatNAF, "280123456785", false},
		{casia.FormatDNINIE, "12345678Z", true},
		{casia.FormatDNINIE, "00000000T", true},
		{casia.FormatDNINIE, "X1234567L", true},
		{casia.FormatDNINIE, "y1234567x", true},
		{casia.FormatDNINIE, "12345678A", false},
		{casia.FormatDNINIE, "X1234567A", false},
		{casia.FormatDate, "2021-07-02", true},
		{casia.FormatDate, "2021-02-30", false},
		{casia.FormatDate, "02/07/2021", false},
		{casia.FormatText, "remesa 123", true},
		{casia.FormatText, "   ", false},
		{casia.FormatText, strings.Repeat("a", casia.MaxTextLen+1), false},
		{casia.FormatPostalCode, "28100", true},
		{casia.FormatPostalCode, "52001", true},
		{casia.FormatPostalCode, "53001", false},
		{casia.FormatPostalCode, "2810", false},
		{casia.Format("iban"), "ES00", false},
	}
	for _, tc := range cases {
		reason := tc.f.Check(tc.v)
		if (reason == "") != tc.good {
			t.Errorf("%s.Check(%q) = %q, want good=%v", tc.f, tc.v, reason, tc.good)
		}
	}
}

func TestValidateExtra(t *testing.T) {
	s, ok := casia.Default().Find("Afiliación (altas y bajas)", "Altas", "Alta de trabajador")
	if !ok {
		t.Fatal("missing subcategoría")
	}
	if f := s.ValidateExtra(map[string]string{"ccc": "28123456742", "naf": "281234567840", "fechaReal": "2021-07-05", "other": "x"}); len(f) != 0 {
		t.Fatalf("good extra data refused: %v", f)
	}
	f := s.ValidateExtra(map[string]string{"ccc": "28123456743", "fechaReal": ""})
	got := map[string]bool{}
	for _, fe := range f {
		got[fe.Field] = true
		if fe.Reason == "" {
			t.Errorf("field %s without reason", fe.Field)
		}
	}
	if len(f) != 3 || !got["extraData.ccc"] || !got["extraData.naf"] || !got["extraData.fechaReal"] {
		t.Fatalf("fields = %v", f)
	}
}

func TestJSONShape(t *testing.T) {
	c := casia.Default()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Version  string `json:"version"`
		Materias []struct {
			Name       string `json:"name"`
			Categorias []struct {
				Name          string `json:"name"`
				Subcategorias []map[string]json.RawMessage
			} `json:"categorias"`
		} `json:"materias"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	sub := v.Materias[3].Categorias[1].Subcategorias[0] // Sistema RED / Certificados digitales: no fields
	for _, k := range []string{"name", "types", "unit", "requiredFields"} {
		if _, ok := sub[k]; !ok {
			t.Errorf("subcategoría JSON lacks %q: %s", k, b[:200])
		}
	}
	if string(sub["requiredFields"]) != "[]" {
		t.Errorf("requiredFields = %s, want []", sub["requiredFields"])
	}
	// The rendering loads back to the same catalogue.
	back, err := casia.Load(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(back)
	if !bytes.Equal(b, b2) {
		t.Fatal("JSON does not round-trip")
	}
	if len(c.Units()) < 8 {
		t.Errorf("units = %v", c.Units())
	}
}

func TestLoadRefusesBadCatalogues(t *testing.T) {
	bad := map[string]string{
		"not json":        `{`,
		"no version":      `{"version":"","materias":[{"name":"M","categorias":[{"name":"C","subcategorias":[{"name":"S","types":["consulta"],"unit":"U","requiredFields":[]}]}]}]}`,
		"no materias":     `{"version":"1","materias":[]}`,
		"unknown type":    `{"version":"1","materias":[{"name":"M","categorias":[{"name":"C","subcategorias":[{"name":"S","types":["queja"],"unit":"U","requiredFields":[]}]}]}]}`,
		"no unit":         `{"version":"1","materias":[{"name":"M","categorias":[{"name":"C","subcategorias":[{"name":"S","types":["consulta"],"unit":" ","requiredFields":[]}]}]}]}`,
		"unknown format":  `{"version":"1","materias":[{"name":"M","categorias":[{"name":"C","subcategorias":[{"name":"S","types":["consulta"],"unit":"U","requiredFields":[{"name":"x","format":"iban"}]}]}]}]}`,
		"duplicate field": `{"version":"1","materias":[{"name":"M","categorias":[{"name":"C","subcategorias":[{"name":"S","types":["consulta"],"unit":"U","requiredFields":[{"name":"x","format":"text"},{"name":"x","format":"ccc"}]}]}]}]}`,
		"duplicate name":  `{"version":"1","materias":[{"name":"M","categorias":[{"name":"C","subcategorias":[{"name":"S","types":["consulta"],"unit":"U"},{"name":"s","types":["consulta"],"unit":"U"}]}]}]}`,
		"empty categoria": `{"version":"1","materias":[{"name":"M","categorias":[{"name":"C","subcategorias":[]}]}]}`,
		"unknown key":     `{"version":"1","materias":[],"extra":1}`,
	}
	for name, doc := range bad {
		if _, err := casia.Load(strings.NewReader(doc)); !errs.Is(errs.Invalid, err) {
			t.Errorf("%s: err = %v, want invalid", name, err)
		}
	}
	good := `{"version":"test-1","materias":[{"name":"M","categorias":[{"name":"C","subcategorias":[{"name":"S","types":["tramite"],"unit":"U","requiredFields":[{"name":"ccc","format":"ccc"}]}]}]}]}`
	c, err := casia.Load(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := c.Find("M", "C", "S"); !ok || !s.Allows(casia.Tramite) || c.Version != "test-1" {
		t.Fatalf("loaded %+v", c)
	}
}
