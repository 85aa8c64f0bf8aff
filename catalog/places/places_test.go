package places

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"redengine/domain/ident"
	"redengine/errs"
)

func TestDefaultTiposVia(t *testing.T) {
	tv := DefaultTiposVia()
	if tv.Len() != 25 {
		t.Fatalf("Len = %d, want the 25 tipos de vía of the reference", tv.Len())
	}
	if tv.Version() != "2026-11-27.1" || len(tv.Digest()) != 64 {
		t.Errorf("Version = %q, Digest = %q", tv.Version(), tv.Digest())
	}
	want := map[string]string{
		"CL": "Calle", "AV": "Avenida", "PZ": "Plaza", "PS": "Paseo", "CR": "Carretera", "CM": "Camino",
		"TR": "Travesía", "RD": "Ronda", "GL": "Glorieta", "UR": "Urbanización", "PJ": "Pasaje",
		"BO": "Barrio", "LG": "Lugar", "PG": "Polígono", "RB": "Rambla", "AL": "Alameda", "GV": "Gran Vía",
		"CT": "Cuesta", "AU": "Autopista", "AT": "Autovía", "BV": "Bulevar", "CA": "Callejón",
		"SD": "Senda", "VI": "Vía", "ZO": "Zona",
	}
	for code, name := range want {
		got, ok := tv.Lookup(code)
		if !ok || got.Name != name || got.Code != code {
			t.Errorf("Lookup(%s) = %+v, %v; want %s", code, got, ok, name)
		}
	}
	for in, code := range map[string]string{"cl": "CL", " av ": "AV", "travesia": "TR", "GRAN VIA": "GV", "urbanizacion": "UR", "Vía": "VI"} {
		if got, ok := tv.Lookup(in); !ok || got.Code != code {
			t.Errorf("Lookup(%q) = %+v, %v; want %s", in, got, ok, code)
		}
	}
	if _, err := tv.Parse(""); !errs.Is(errs.Invalid, err) || errs.MessageOf(err) != "el tipo de vía es obligatorio" {
		t.Errorf("Parse(\"\") = %v", err)
	}
	if _, err := tv.Parse("XX"); !errs.Is(errs.Invalid, err) || !strings.Contains(errs.MessageOf(err), "no está en el catálogo") {
		t.Errorf("Parse(XX) = %v", err)
	}
	all := tv.All()
	all[0].Name = "changed"
	if v, _ := tv.Lookup(all[0].Code); v.Name == "changed" {
		t.Error("All() exposes internal state")
	}
}

func TestLoadTiposViaStrict(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"empty", "", "falta la cabecera"},
		{"only comments", "# nada\n", "falta la cabecera"},
		{"no rows", "code,name\n", "no tiene ninguna fila"},
		{"bad header", "codigo,nombre\nCL,Calle\n", "línea 1: la cabecera debe ser code,name"},
		{"bad code", "code,name\nCL,Calle\nC1,Otra\n", "línea 3: el código de tipo de vía"},
		{"duplicate code", "code,name\nCL,Calle\ncl,Calleja\n", "línea 3: el código de tipo de vía CL está repetido"},
		{"duplicate name", "code,name\nCL,Calle\nCE,calle\n", "línea 3: el tipo de vía \"calle\" está repetido"},
		{"empty name", "code,name\nCL,\n", "línea 2: el nombre del tipo de vía está vacío"},
		{"columns", "code,name\nCL,Calle,extra\n", "línea 2: se esperaban 2 columnas"},
	}
	for _, tc := range cases {
		_, err := LoadTiposVia(strings.NewReader(tc.in))
		if !errs.Is(errs.Invalid, err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want invalid containing %q", tc.name, err, tc.want)
		}
	}
	tv, err := LoadTiposVia(strings.NewReader("code,name\r\nCL,Calle\r\n"))
	if err != nil || tv.Len() != 1 || !strings.HasPrefix(tv.Version(), "sha256:") {
		t.Errorf("CRLF file without version = %v, %v", tv, err)
	}
}

func TestDefaultLocalidades(t *testing.T) {
	l := Default()
	if l.Version() != "2026-11-27.1" {
		t.Errorf("Version = %q", l.Version())
	}
	// The worked examples of the reference.
	for _, tc := range []struct{ pc, ine, name string }{
		{"01001", "01059", "Vitoria-Gasteiz"},
		{"28100", "28006", "Alcobendas"},
		{"08001", "08019", "Barcelona"},
		{"52001", "52001", "Melilla"},
		{"51001", "51001", "Ceuta"},
		{"28001", "28079", "Madrid"},
		{"46001", "46250", "València"},
		{"41001", "41091", "Sevilla"},
		{"50001", "50297", "Zaragoza"},
	} {
		got := l.ForPostalCode(tc.pc)
		if len(got) != 1 || got[0] != (Localidad{tc.pc, tc.ine, tc.name}) {
			t.Errorf("ForPostalCode(%s) = %+v, want %s %s", tc.pc, got, tc.ine, tc.name)
		}
	}
	// Every province (50 capitals, Ceuta, Melilla) has its capital's first postal code.
	for p := 1; p <= 52; p++ {
		code := fmt.Sprintf("%02d001", p)
		ls := l.ForPostalCode(code)
		if len(ls) == 0 {
			t.Errorf("province %02d: no localidad for %s", p, code)
			continue
		}
		if ls[0].Municipality[:2] != code[:2] {
			t.Errorf("province %02d: municipality %s is in another province", p, ls[0].Municipality)
		}
	}
	// Every row: valid postal code, INE code in the postal code's province.
	for _, pc := range l.PostalCodes() {
		if _, err := ident.ParsePostalCode(pc); err != nil {
			t.Errorf("postal code %s: %v", pc, err)
		}
		for _, loc := range l.ForPostalCode(pc) {
			if loc.Municipality[:2] != pc[:2] || loc.Name == "" {
				t.Errorf("row %+v", loc)
			}
		}
	}
	if l.Len() < 800 {
		t.Errorf("Len = %d", l.Len())
	}
	// Postal codes with several localities, sorted by name.
	got := l.ForPostalCode("01193")
	names := make([]string, len(got))
	for i, loc := range got {
		names[i] = loc.Name
	}
	if strings.Join(names, ",") != "Egileta,Hijona,Trokoniz,Villafranca" {
		t.Errorf("01193 = %v", names)
	}
	if got := l.ForPostalCode("31013"); len(got) != 3 || got[0].Name != "Ansoáin/Antsoain" || got[0].Municipality != "31016" {
		t.Errorf("31013 = %+v", got)
	}
	if got := l.ForPostalCode("31010"); len(got) != 2 {
		t.Errorf("31010 = %+v", got)
	}
	if l.ForPostalCode("99999") != nil || l.HasPostalCode("53001") || !l.HasPostalCode(" 28100 ") {
		t.Error("unknown postal codes")
	}
	// ForPostalCode returns a copy.
	ls := l.ForPostalCode("28100")
	ls[0].Name = "changed"
	if l.ForPostalCode("28100")[0].Name != "Alcobendas" {
		t.Error("ForPostalCode exposes internal state")
	}
}

func TestContainsAndMatch(t *testing.T) {
	l := Default()
	cases := []struct {
		pc, name  string
		want      bool
		canonical string
	}{
		{"28100", "Alcobendas", true, "Alcobendas"},
		{"28100", "  ALCOBENDAS ", true, "Alcobendas"},
		{"28100", "Madrid", false, ""},
		{"01001", "vitoria gasteiz", true, "Vitoria-Gasteiz"},
		{"03001", "Alicante", true, "Alicante/Alacant"},
		{"03001", "alacant", true, "Alicante/Alacant"},
		{"03001", "alicante/alacant", true, "Alicante/Alacant"},
		{"12001", "Castellon de la Plana", true, "Castellón de la Plana/Castelló de la Plana"},
		{"12001", "castelló de la plana", true, "Castellón de la Plana/Castelló de la Plana"},
		{"15001", "Coruña, A", true, "A Coruña"},
		{"15001", "a coruna", true, "A Coruña"},
		{"35001", "Palmas de Gran Canaria, Las", true, "Las Palmas de Gran Canaria"},
		{"08901", "Hospitalet de Llobregat, L'", true, "L'Hospitalet de Llobregat"},
		{"08901", "L’Hospitalet de Llobregat", true, "L'Hospitalet de Llobregat"},
		{"46001", "Valencia", true, "València"},
		{"20001", "San Sebastian", true, "Donostia/San Sebastián"},
		{"31013", "berriozar", true, "Berriozar"},
		{"31013", "Pamplona", false, ""},
		{"05001", "A\u0301vila", true, "Ávila"}, // decomposed accent
		{"28100", "", false, ""},
		{"28100", "---", false, ""},
		{"99999", "Madrid", false, ""},
	}
	for _, tc := range cases {
		if got := l.Contains(tc.pc, tc.name); got != tc.want {
			t.Errorf("Contains(%s, %q) = %v, want %v", tc.pc, tc.name, got, tc.want)
		}
		loc, ok := l.Match(tc.pc, tc.name)
		if ok != tc.want || loc.Name != tc.canonical {
			t.Errorf("Match(%s, %q) = %+v, %v; want %q", tc.pc, tc.name, loc, ok, tc.canonical)
		}
	}
}

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"Alcobendas":               "alcobendas",
		"  Logroño ":               "logrono",
		"Rozas de Madrid, Las":     "las rozas de madrid",
		"Las Rozas de Madrid":      "las rozas de madrid",
		"Coruña, A":                "a coruna",
		"Vitoria-Gasteiz":          "vitoria gasteiz",
		"Cal·la":                   "calla",
		"Sant Adrià de Besòs":      "sant adria de besos",
		"Ourense, provincia":       "ourense provincia",
		"ÇÜÑ":                      "cun",
		"":                         "",
		"L'Hospitalet":             "l hospitalet",
		"Hospitalet, L'":           "l hospitalet",
		"  muchos    espacios  ":   "muchos espacios",
		"Santa Cruz de Tenerife,,": "santa cruz de tenerife",
	} {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoadLocalidadesStrict(t *testing.T) {
	const header = "postal_code,ine_municipality_code,locality\n"
	cases := []struct{ name, in, want string }{
		{"empty", "", "falta la cabecera"},
		{"no rows", header, "no tiene ninguna fila"},
		{"bad header", "cp,municipio,localidad\n28100,28006,Alcobendas\n", "línea 1: la cabecera debe ser postal_code,ine_municipality_code,locality"},
		{"short postal code", header + "28100,28006,Alcobendas\n2810,28006,Alcobendas\n", "línea 3: código postal \"2810\": el código postal debe tener 5 dígitos"},
		{"postal code province", header + "53001,28006,X\n", "línea 2: código postal \"53001\""},
		{"postal code province 00", "# c\n" + header + "00100,28006,X\n", "línea 3: código postal \"00100\""},
		{"INE letters", header + "28100,2800A,Alcobendas\n", "línea 2: código de municipio \"2800A\": debe tener 5 dígitos"},
		{"INE province", header + "28100,53006,Alcobendas\n", "línea 2: código de municipio \"53006\": la provincia 53 no existe"},
		{"INE municipality 000", header + "28100,28000,Alcobendas\n", "el municipio 000 no existe"},
		{"empty locality", header + "28100,28006,  \n", "línea 2: el nombre de la localidad está vacío"},
		{"punctuation only", header + "28100,28006,--\n", "no contiene letras"},
		{"columns", header + "28100,28006\n", "línea 2: se esperaban 3 columnas"},
		{"bad quote", header + "28100,28006,\"Alco\"bendas\n", "línea 2:"},
		{"not utf-8", header + "28100,28006,Alcobendas\n28108,28006,M\xf3stoles\n", "línea 3: el texto no está en UTF-8"},
		{"control char", header + "28100,28006,Alco\x01bendas\n", "caracteres de control"},
		{"too long", header + "28100,28006," + strings.Repeat("a", 121) + "\n", "más de 120 caracteres"},
	}
	for _, tc := range cases {
		_, err := LoadLocalidades(strings.NewReader(tc.in))
		if !errs.Is(errs.Invalid, err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want invalid containing %q", tc.name, err, tc.want)
		}
	}
}

func TestLoadLocalidadesAccepts(t *testing.T) {
	in := "\ufeff# version: test-1\r\n" +
		"POSTAL_CODE, ine_municipality_code ,Locality\r\n" +
		"28100,28006,Alcobendas\r\n" +
		"\r\n" +
		"# a comment between rows\r\n" +
		" 28100 , 28006 , alcobendas \r\n" + // duplicate once folded: skipped
		"28230,28127,\"Rozas de Madrid, Las\"\r\n" +
		"09215,01045,Ribera\r\n" // municipality of another province: allowed
	l, err := LoadLocalidades(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if l.Version() != "test-1" || l.Len() != 3 {
		t.Errorf("Version %q Len %d", l.Version(), l.Len())
	}
	if got := l.ForPostalCode("28100"); len(got) != 1 || got[0].Name != "Alcobendas" {
		t.Errorf("28100 = %+v", got)
	}
	if loc, ok := l.Match("28230", "Las Rozas de Madrid"); !ok || loc.Name != "Rozas de Madrid, Las" {
		t.Errorf("Match Las Rozas = %+v, %v", loc, ok)
	}
	if !l.Contains("09215", "ribera") {
		t.Error("cross-province row not loaded")
	}
	l2, err := LoadLocalidades(bytes.NewReader([]byte("postal_code,ine_municipality_code,locality\n28100,28006,Alcobendas\n")))
	if err != nil || !strings.HasPrefix(l2.Version(), "sha256:") || len(l2.Version()) != len("sha256:")+12 {
		t.Errorf("version without comment = %q, %v", l2.Version(), err)
	}
}

func TestLoadLocalidadesFile(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/localidades.csv"
	if err := os.WriteFile(path, []byte("postal_code,ine_municipality_code,locality\n28100,28006,Alcobendas\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := LoadLocalidadesFile(path)
	if err != nil || !l.Contains("28100", "alcobendas") {
		t.Fatalf("LoadLocalidadesFile = %v, %v", l, err)
	}
	if _, err := LoadLocalidadesFile(dir + "/missing.csv"); !errs.Is(errs.Invalid, err) || !strings.Contains(err.Error(), "missing.csv") {
		t.Errorf("missing file = %v", err)
	}
	// The shipped file loads from disk exactly as embedded.
	l, err = LoadLocalidadesFile("localidades.csv")
	if err != nil || l.Digest() != Default().Digest() {
		t.Errorf("shipped file = %v", err)
	}
}
