package ident

import (
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"

	"redengine/domain/calendar"
	"redengine/errs"
)

// wantInvalid checks that err is an invalid error whose message contains
// reason.
func wantInvalid(t *testing.T, what string, err error, reason string) {
	t.Helper()
	if !errs.Is(errs.Invalid, err) {
		t.Errorf("%s: err = %v, want kind invalid", what, err)
		return
	}
	if !strings.Contains(errs.MessageOf(err), reason) {
		t.Errorf("%s: reason = %q, want it to contain %q", what, errs.MessageOf(err), reason)
	}
}

func TestParseDNI(t *testing.T) {
	valid := []struct{ in, want string }{
		{"12345678Z", "12345678Z"},
		{"00000000T", "00000000T"},
		{"99999999R", "99999999R"},
		{"26885671M", "26885671M"},
		{" 12345678z ", "12345678Z"},
		{"12.345.678-Z", "12345678Z"},
		{"12345678 Z", "12345678Z"},
		{"01234567L", "01234567L"},
	}
	for _, tc := range valid {
		got, err := ParseDNI(tc.in)
		if err != nil || got.String() != tc.want {
			t.Errorf("ParseDNI(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	invalid := []struct{ in, reason string }{
		{"", "el DNI es obligatorio"},
		{"   ", "el DNI es obligatorio"},
		{"12345678A", "la letra del DNI no corresponde al número"},
		{"00000000R", "la letra del DNI no corresponde al número"},
		{"26885671N", "la letra del DNI no corresponde al número"},
		{"1234567L", "el DNI debe tener 8 dígitos seguidos de una letra"}, // leading zero missing
		{"123456789Z", "el DNI debe tener 8 dígitos seguidos de una letra"},
		{"12345678", "el DNI debe tener 8 dígitos seguidos de una letra"},
		{"1234A678Z", "el DNI debe tener 8 dígitos seguidos de una letra"},
		{"12345678Ñ", "el DNI debe tener 8 dígitos seguidos de una letra"},
		{"X1234567L", "el DNI debe tener 8 dígitos seguidos de una letra"}, // a NIE
		{"12345678ZZ", "el DNI debe tener 8 dígitos seguidos de una letra"},
		{"１2345678Z", "el DNI debe tener 8 dígitos seguidos de una letra"}, // full-width digit
	}
	for _, tc := range invalid {
		_, err := ParseDNI(tc.in)
		wantInvalid(t, "ParseDNI("+tc.in+")", err, tc.reason)
	}
	d, _ := ParseDNI("12345678Z")
	if d.Masked() != "****5678Z" {
		t.Errorf("Masked = %q", d.Masked())
	}
	if DNILetter(12345678) != 'Z' || DNILetter(0) != 'T' {
		t.Error("DNILetter")
	}
}

func TestParseNIE(t *testing.T) {
	valid := []struct{ in, want string }{
		{"X1234567L", "X1234567L"},
		{"Y1234567X", "Y1234567X"},
		{"Z1234567R", "Z1234567R"},
		{"x-1234567-l", "X1234567L"},
		{" y 1234567 x ", "Y1234567X"},
	}
	for _, tc := range valid {
		got, err := ParseNIE(tc.in)
		if err != nil || got.String() != tc.want {
			t.Errorf("ParseNIE(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	invalid := []struct{ in, reason string }{
		{"", "el NIE es obligatorio"},
		{"X1234567A", "la letra del NIE no corresponde al número"},
		{"Y1234567L", "la letra del NIE no corresponde al número"}, // X's letter on a Y
		{"Z1234567X", "la letra del NIE no corresponde al número"},
		{"W1234567L", "el NIE debe empezar por X, Y o Z"},
		{"X123456L", "el NIE debe empezar por X, Y o Z"},
		{"X12345678L", "el NIE debe empezar por X, Y o Z"},
		{"X12345A7L", "el NIE debe empezar por X, Y o Z"},
		{"12345678Z", "el NIE debe empezar por X, Y o Z"}, // a DNI
	}
	for _, tc := range invalid {
		_, err := ParseNIE(tc.in)
		wantInvalid(t, "ParseNIE("+tc.in+")", err, tc.reason)
	}
	n, _ := ParseNIE("X1234567L")
	if n.Masked() != "****4567L" {
		t.Errorf("Masked = %q", n.Masked())
	}
}

func TestParseDocument(t *testing.T) {
	cases := []struct {
		typ, num string
		want     Document
		reason   string
	}{
		{"DNI", "12345678z", Document{DocumentDNI, "12345678Z"}, ""},
		{"dni", "00000000T", Document{DocumentDNI, "00000000T"}, ""},
		{"NIE", "x1234567l", Document{DocumentNIE, "X1234567L"}, ""},
		{" nie ", "Z1234567R", Document{DocumentNIE, "Z1234567R"}, ""},
		{"DNI", "X1234567L", Document{}, "el DNI debe tener 8 dígitos"},
		{"NIE", "12345678Z", Document{}, "el NIE debe empezar por X, Y o Z"},
		{"DNI", "12345678A", Document{}, "la letra del DNI no corresponde al número"},
		{"PASAPORTE", "AB123456", Document{}, "el tipo de documento debe ser DNI o NIE"},
		{"", "12345678Z", Document{}, "el tipo de documento es obligatorio"},
	}
	for _, tc := range cases {
		got, err := ParseDocument(tc.typ, tc.num)
		if tc.reason != "" {
			wantInvalid(t, "ParseDocument("+tc.typ+", "+tc.num+")", err, tc.reason)
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseDocument(%q, %q) = %+v, %v; want %+v", tc.typ, tc.num, got, err, tc.want)
		}
	}
	d, _ := ParseDocument("DNI", "12345678Z")
	if d.String() != "DNI 12345678Z" || d.Masked() != "DNI ****5678Z" {
		t.Errorf("String/Masked = %q / %q", d.String(), d.Masked())
	}
}

func TestParseNSS(t *testing.T) {
	valid := []struct {
		in, want string
		prov     int
		num      uint32
	}{
		{"281234567840", "281234567840", 28, 12345678},
		{"231234567823", "231234567823", 23, 12345678},
		{"121234567805", "121234567805", 12, 12345678},
		{"280123456742", "280123456742", 28, 1234567}, // N < 10^7: (28·10^7 + N) mod 97 = 42
		{"28/12345678/40", "281234567840", 28, 12345678},
		{" 28 12345678 40 ", "281234567840", 28, 12345678},
		{"28-01234567-42", "280123456742", 28, 1234567},
	}
	for _, tc := range valid {
		got, err := ParseNSS(tc.in)
		if err != nil || got.String() != tc.want || got.Province() != tc.prov || got.Number() != tc.num {
			t.Errorf("ParseNSS(%q) = %q (p %d n %d), %v; want %q", tc.in, got, got.Province(), got.Number(), err, tc.want)
		}
	}
	invalid := []struct{ in, reason string }{
		{"", "el número de la Seguridad Social es obligatorio"},
		{"280123456785", "los dígitos de control del número de la Seguridad Social no son correctos"}, // naive concatenation
		{"281234567841", "los dígitos de control"},
		{"231234567832", "los dígitos de control"},
		{"28123456784", "debe tener 12 dígitos"},
		{"2812345678400", "debe tener 12 dígitos"},
		{"28123456784A", "debe tener 12 dígitos"},
		{"28I234567840", "debe tener 12 dígitos"},
		{"001234567840", "la provincia del número de la Seguridad Social no existe"},
		{"531234567840", "la provincia del número de la Seguridad Social no existe"},
		{"991234567840", "la provincia del número de la Seguridad Social no existe"},
	}
	for _, tc := range invalid {
		_, err := ParseNSS(tc.in)
		wantInvalid(t, "ParseNSS("+tc.in+")", err, tc.reason)
	}
	n, _ := ParseNSS("280123456742")
	if n.Masked() != "********6742" || n.Formatted() != "28/01234567/42" {
		t.Errorf("Masked/Formatted = %q / %q", n.Masked(), n.Formatted())
	}
}

func TestNewNSS(t *testing.T) {
	cases := []struct {
		p    int
		n    uint32
		want string
	}{
		{28, 12345678, "281234567840"},
		{23, 12345678, "231234567823"},
		{12, 12345678, "121234567805"},
		{28, 1234567, "280123456742"},
		{1, 0, "010000000076"},
		{52, 99999999, "529999999924"},
	}
	for _, tc := range cases {
		got, err := NewNSS(tc.p, tc.n)
		if err != nil || got.String() != tc.want {
			t.Errorf("NewNSS(%d, %d) = %q, %v; want %q", tc.p, tc.n, got, err, tc.want)
		}
		if NSSControl(tc.p, tc.n) != int(atoi(tc.want[10:])) {
			t.Errorf("NSSControl(%d, %d)", tc.p, tc.n)
		}
	}
	for _, p := range []int{0, 53, 99, -1} {
		_, err := NewNSS(p, 1)
		wantInvalid(t, "NewNSS province", err, "la provincia")
	}
	_, err := NewNSS(28, 100_000_000)
	wantInvalid(t, "NewNSS number", err, "más de 8 dígitos")
}

func TestParseCCC(t *testing.T) {
	for _, in := range []string{"28123456742", "23123456750", "28 1234567 42", "28/1234567/42"} {
		c, err := ParseCCC(in)
		if err != nil {
			t.Errorf("ParseCCC(%q) = %v", in, err)
			continue
		}
		if again, err := ParseCCC(c.String()); err != nil || again != c {
			t.Errorf("ParseCCC round trip of %q", in)
		}
	}
	c, _ := ParseCCC("23123456750")
	if c.Province() != 23 {
		t.Errorf("Province = %d", c.Province())
	}
	invalid := []struct{ in, reason string }{
		{"", "el código de cuenta de cotización es obligatorio"},
		{"28123456743", "los dígitos de control del código de cuenta de cotización no son correctos"},
		{"2812345674", "debe tener 11 dígitos"},
		{"281234567420", "debe tener 11 dígitos"},
		{"2812345674X", "debe tener 11 dígitos"},
		{"00123456742", "la provincia del código de cuenta de cotización no existe"},
		{"53123456742", "la provincia del código de cuenta de cotización no existe"},
	}
	for _, tc := range invalid {
		_, err := ParseCCC(tc.in)
		wantInvalid(t, "ParseCCC("+tc.in+")", err, tc.reason)
	}
	if got, err := NewCCC(28, 1234567); err != nil || got.String() != "28123456742" {
		t.Errorf("NewCCC = %q, %v", got, err)
	}
	_, err := NewCCC(28, 10_000_000)
	wantInvalid(t, "NewCCC number", err, "más de 7 dígitos")
	_, err = NewCCC(0, 1)
	wantInvalid(t, "NewCCC province", err, "la provincia")
}

func TestParsePostalCode(t *testing.T) {
	valid := []struct {
		in       string
		prov     int
		provName string
	}{
		{"01001", 1, "Araba/Álava"},
		{"28100", 28, "Madrid"},
		{"08001", 8, "Barcelona"},
		{"52001", 52, "Melilla"},
		{"51001", 51, "Ceuta"},
		{" 46001 ", 46, "Valencia/València"},
	}
	for _, tc := range valid {
		p, err := ParsePostalCode(tc.in)
		if err != nil || p.Province() != tc.prov || p.ProvinceName() != tc.provName || p.String() != strings.TrimSpace(tc.in) {
			t.Errorf("ParsePostalCode(%q) = %q prov %d %q, %v", tc.in, p, p.Province(), p.ProvinceName(), err)
		}
	}
	invalid := []struct{ in, reason string }{
		{"", "el código postal es obligatorio"},
		{"1001", "el código postal debe tener 5 dígitos"},
		{"280100", "el código postal debe tener 5 dígitos"},
		{"28 100", "el código postal debe tener 5 dígitos"},
		{"2810A", "el código postal debe tener 5 dígitos"},
		{"00100", "el código postal no corresponde a ninguna provincia"},
		{"53001", "el código postal no corresponde a ninguna provincia"},
		{"99999", "el código postal no corresponde a ninguna provincia"},
	}
	for _, tc := range invalid {
		_, err := ParsePostalCode(tc.in)
		wantInvalid(t, "ParsePostalCode("+tc.in+")", err, tc.reason)
	}
	for p := 1; p <= 52; p++ {
		if name, ok := ProvinceName(p); !ok || name == "" {
			t.Errorf("ProvinceName(%d) missing", p)
		}
	}
}

func TestParseMobile(t *testing.T) {
	valid := []struct{ in, want string }{
		{"612345678", "+34612345678"},
		{"+34612345678", "+34612345678"},
		{"0034612345678", "+34612345678"},
		{"+34 612 34 56 78", "+34612345678"},
		{"(+34) 612-345-678", "+34612345678"},
		{"612.345.678", "+34612345678"},
		{"712345678", "+34712345678"},
		{"744000000", "+34744000000"},
		{"699999999", "+34699999999"},
	}
	for _, tc := range valid {
		got, err := ParseMobile(tc.in)
		if err != nil || got.String() != tc.want {
			t.Errorf("ParseMobile(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	invalid := []struct{ in, reason string }{
		{"", "el teléfono móvil es obligatorio"},
		{"912345678", "no es un teléfono móvil español"}, // landline
		{"812345678", "no es un teléfono móvil español"},
		{"702345678", "no es un teléfono móvil español"},
		{"752345678", "no es un teléfono móvil español"},
		{"61234567", "debe tener 9 dígitos"},
		{"6123456789", "debe tener 9 dígitos"},
		{"61234567A", "debe tener 9 dígitos"},
		{"+3461234567", "debe tener 9 dígitos"},
		{"+33612345678", "solo se admiten teléfonos móviles españoles"},
		{"0033612345678", "solo se admiten teléfonos móviles españoles"},
		{"+34+34612345678", "debe tener 9 dígitos"},
	}
	for _, tc := range invalid {
		_, err := ParseMobile(tc.in)
		wantInvalid(t, "ParseMobile("+tc.in+")", err, tc.reason)
	}
	m, _ := ParseMobile("612345678")
	if m.Masked() != "+34******678" || m.National() != "612345678" {
		t.Errorf("Masked/National = %q / %q", m.Masked(), m.National())
	}
}

func TestParseEmail(t *testing.T) {
	valid := []struct{ in, want string }{
		{"ana@example.com", "ana@example.com"},
		{" Ana.Garcia+red@Example.ES ", "Ana.Garcia+red@example.es"},
		{"contacto@gestoria-lopez.com", "contacto@gestoria-lopez.com"},
		{"a@b.co", "a@b.co"},
		{"josé@correo.es", "josé@correo.es"},
		{"x@sub.dominio.gob.es", "x@sub.dominio.gob.es"},
	}
	for _, tc := range valid {
		got, err := ParseEmail(tc.in)
		if err != nil || got.String() != tc.want {
			t.Errorf("ParseEmail(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	invalid := []struct{ in, reason string }{
		{"", "el correo electrónico es obligatorio"},
		{"ana", "no es una dirección válida"},
		{"ana@", "no es una dirección válida"},
		{"@example.com", "no es una dirección válida"},
		{"ana@localhost", "no es una dirección válida"},
		{"ana@@example.com", "no es una dirección válida"},
		{"Ana <ana@example.com>", "no es una dirección válida"},
		{"ana@example.com (Ana)", "no es una dirección válida"},
		{`"ana garcia"@example.com`, "no es una dirección válida"},
		{"ana@[192.168.0.1]", "no es una dirección válida"},
		{"ana@-example.com", "no es una dirección válida"},
		{"ana@example..com", "no es una dirección válida"},
		{"ana@exa_mple.com", "no es una dirección válida"},
		{"ana garcia@example.com", "no es una dirección válida"},
		{"a@b.c, d@e.f", "no es una dirección válida"},
		{strings.Repeat("a", 65) + "@example.com", "no es una dirección válida"},
		{"a@" + strings.Repeat("b", 250) + ".com", "no es una dirección válida"},
	}
	for _, tc := range invalid {
		_, err := ParseEmail(tc.in)
		wantInvalid(t, "ParseEmail("+tc.in+")", err, tc.reason)
	}
	e, _ := ParseEmail("ana@example.com")
	if e.Masked() != "a***@example.com" || e.Domain() != "example.com" {
		t.Errorf("Masked/Domain = %q / %q", e.Masked(), e.Domain())
	}
}

func TestParseCountry(t *testing.T) {
	for _, in := range []string{"ESP", "esp", " Fra ", "MAR", "ZWE", "ABW", "CIV"} {
		if _, err := ParseCountry(in); err != nil {
			t.Errorf("ParseCountry(%q) = %v", in, err)
		}
	}
	invalid := []struct{ in, reason string }{
		{"", "el país es obligatorio"},
		{"ES", "código ISO 3166-1 alfa-3 de tres letras"},
		{"ESPA", "código ISO 3166-1 alfa-3 de tres letras"},
		{"E1P", "código ISO 3166-1 alfa-3 de tres letras"},
		{"XXX", "no existe en la norma ISO 3166-1"},
		{"UKR,", "código ISO 3166-1 alfa-3 de tres letras"},
		{"SPA", "no existe en la norma ISO 3166-1"},
	}
	for _, tc := range invalid {
		_, err := ParseCountry(tc.in)
		wantInvalid(t, "ParseCountry("+tc.in+")", err, tc.reason)
	}
	if c, _ := ParseCountry("kor"); c.String() != "KOR" || c.Name() != "Korea, Republic of" {
		t.Errorf("KOR = %q %q", c, c.Name())
	}
	if Spain().Name() != "Spain" {
		t.Errorf("Spain().Name() = %q", Spain().Name())
	}
	codes := CountryCodes()
	if len(codes) != 249 {
		t.Errorf("CountryCodes has %d entries, want 249", len(codes))
	}
	for i, c := range codes {
		if i > 0 && codes[i-1] >= c {
			t.Errorf("codes not sorted/unique at %s", c)
		}
		if v, err := ParseCountry(c); err != nil || v.Name() == "" {
			t.Errorf("code %s: %v, name %q", c, err, v.Name())
		}
	}
}

// TestSpanishNameOfEveryCountry: every code of the shipped list has a
// Spanish name, and the usual ones read as a Spanish reader expects.
func TestSpanishNameOfEveryCountry(t *testing.T) {
	for _, code := range CountryCodes() {
		c, err := ParseCountry(code)
		if err != nil || c.SpanishName() == "" {
			t.Errorf("%s: %v, Spanish name %q", code, err, c.SpanishName())
		}
	}
	for _, tc := range []struct{ code, want string }{
		{"ESP", "España"}, {"DEU", "Alemania"}, {"GBR", "Reino Unido"}, {"MAR", "Marruecos"},
		{"USA", "Estados Unidos"}, {"ROU", "Rumanía"}, {"kor", "Corea del Sur"},
	} {
		c, err := ParseCountry(tc.code)
		if err != nil || c.SpanishName() != tc.want {
			t.Errorf("%s: %v, Spanish name %q, want %q", tc.code, err, c.SpanishName(), tc.want)
		}
	}
	if (Country{}).SpanishName() != "" {
		t.Errorf("the zero value has a Spanish name: %q", Country{}.SpanishName())
	}
}

// TestCountryNamesAsCSV: every country's name is its field as a CSV reader
// reads the shipped list (quoted names with commas included).
func TestCountryNamesAsCSV(t *testing.T) {
	r := csv.NewReader(strings.NewReader(countriesCSV))
	r.Comment = '#'
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	quoted := 0
	for _, rec := range recs[1:] { // after the header
		c, err := ParseCountry(rec[0])
		if err != nil {
			t.Fatalf("%s: %v", rec[0], err)
		}
		if c.Name() != rec[1] {
			t.Errorf("%s: Name() = %q, the list says %q", rec[0], c.Name(), rec[1])
		}
		if strings.Contains(rec[1], ",") {
			quoted++
		}
	}
	if len(recs) != 250 || quoted == 0 {
		t.Errorf("read %d records, %d names with a comma", len(recs), quoted)
	}
}

func TestParseDate(t *testing.T) {
	d, err := ParseDate("1990-05-17")
	if err != nil || d != (calendar.Date{Year: 1990, Month: 5, Day: 17}) {
		t.Errorf("ParseDate = %v, %v", d, err)
	}
	_, err = ParseDate("1990-02-29")
	wantInvalid(t, "ParseDate(1990-02-29)", err, "la fecha no existe")
	_, err = ParseDate("17/05/1990")
	wantInvalid(t, "ParseDate(17/05/1990)", err, "AAAA-MM-DD")
}

func TestTextRoundTrip(t *testing.T) {
	type person struct {
		DNI     DNI        `json:"dni"`
		NIE     NIE        `json:"nie"`
		NSS     NSS        `json:"nss"`
		CCC     CCC        `json:"ccc"`
		CP      PostalCode `json:"cp"`
		Mobile  Mobile     `json:"mobile"`
		Email   Email      `json:"email"`
		Country Country    `json:"country"`
	}
	in := `{"dni":"12345678z","nie":"X1234567L","nss":"280123456742","ccc":"28123456742","cp":"28100","mobile":"612 345 678","email":"Ana@Example.com","country":"esp"}`
	var p person
	if err := json.Unmarshal([]byte(in), &p); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"dni":"12345678Z","nie":"X1234567L","nss":"280123456742","ccc":"28123456742","cp":"28100","mobile":"+34612345678","email":"Ana@example.com","country":"ESP"}`
	if string(out) != want {
		t.Errorf("Marshal = %s\nwant      %s", out, want)
	}
	var zero person
	if err := json.Unmarshal([]byte(`{"dni":""}`), &zero); err != nil || !zero.DNI.IsZero() {
		t.Errorf("empty DNI = %+v, %v", zero, err)
	}
	for _, bad := range []string{`{"dni":"12345678A"}`, `{"nss":"280123456785"}`, `{"cp":"53001"}`, `{"country":"XXX"}`} {
		if err := json.Unmarshal([]byte(bad), &zero); !errs.Is(errs.Invalid, err) {
			t.Errorf("Unmarshal(%s) = %v, want invalid", bad, err)
		}
	}
}
