package ident

import (
	"strings"
	"testing"

	"redengine/errs"
)

// checkParse asserts the invariants shared by every parser: any error is of
// kind invalid with a Spanish reason, and an accepted value re-parses from
// its String() to the same value.
func checkParse[T comparable](t *testing.T, in string, v T, err error, str func(T) string, parse func(string) (T, error)) {
	t.Helper()
	if err != nil {
		if !errs.Is(errs.Invalid, err) || errs.MessageOf(err) == "" {
			t.Fatalf("parse(%q) error %v is not invalid with a reason", in, err)
		}
		return
	}
	s := str(v)
	if s == "" {
		t.Fatalf("parse(%q) accepted an empty value", in)
	}
	again, err := parse(s)
	if err != nil || again != v {
		t.Fatalf("parse(%q) = %q does not re-parse: %v, %v", in, s, again, err)
	}
}

func FuzzParseDNI(f *testing.F) {
	for _, s := range []string{"12345678Z", "00000000T", "99999999R", "26885671M", "12345678A", "1234567L", " 12.345.678-z ", "X1234567L", "", "１2345678Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDNI(s)
		checkParse(t, s, d, err, DNI.String, ParseDNI)
		if err == nil {
			if len(d.String()) != 9 || DNILetter(uint32(atoi(d.String()[:8]))) != d.String()[8] {
				t.Fatalf("ParseDNI(%q) accepted %q", s, d)
			}
			if m := d.Masked(); len(m) != 9 || !strings.HasSuffix(d.String(), m[4:]) {
				t.Fatalf("Masked(%q) = %q", d, m)
			}
		}
	})
}

func FuzzParseNIE(f *testing.F) {
	for _, s := range []string{"X1234567L", "Y1234567X", "Z1234567R", "X1234567A", "W1234567L", "x-1234567-l", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseNIE(s)
		checkParse(t, s, n, err, NIE.String, ParseNIE)
		if err == nil {
			if doc, err := ParseDocument("NIE", s); err != nil || doc.Number != n.String() {
				t.Fatalf("ParseDocument(NIE, %q) = %v, %v", s, doc, err)
			}
		}
	})
}

func FuzzParseNSS(f *testing.F) {
	for _, s := range []string{"281234567840", "231234567823", "121234567805", "280123456742", "280123456785", "28/12345678/40", "001234567840", "531234567840", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseNSS(s)
		checkParse(t, s, n, err, NSS.String, ParseNSS)
		if err == nil {
			built, err := NewNSS(n.Province(), n.Number())
			if err != nil || built != n {
				t.Fatalf("NewNSS(%d, %d) = %v, %v; parsed %v", n.Province(), n.Number(), built, err, n)
			}
		}
	})
}

func FuzzNewNSS(f *testing.F) {
	f.Add(28, uint32(12345678))
	f.Add(28, uint32(1234567))
	f.Add(1, uint32(0))
	f.Add(52, uint32(99999999))
	f.Add(0, uint32(1))
	f.Add(53, uint32(100000000))
	f.Fuzz(func(t *testing.T, p int, n uint32) {
		v, err := NewNSS(p, n)
		if p < 1 || p > 52 || n > 99_999_999 {
			if !errs.Is(errs.Invalid, err) {
				t.Fatalf("NewNSS(%d, %d) = %v, %v; want invalid", p, n, v, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("NewNSS(%d, %d): %v", p, n, err)
		}
		parsed, err := ParseNSS(v.String())
		if err != nil || parsed != v || parsed.Province() != p || parsed.Number() != n {
			t.Fatalf("NewNSS(%d, %d) = %v does not parse back: %v, %v", p, n, v, parsed, err)
		}
	})
}

func FuzzParseCCC(f *testing.F) {
	for _, s := range []string{"28123456742", "23123456750", "28123456743", "00123456742", "28 1234567 42", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCCC(s)
		checkParse(t, s, c, err, CCC.String, ParseCCC)
		if err == nil {
			built, err := NewCCC(c.Province(), uint32(atoi(c.String()[2:9])))
			if err != nil || built != c {
				t.Fatalf("NewCCC of %v = %v, %v", c, built, err)
			}
		}
	})
}

func FuzzParsePostalCode(f *testing.F) {
	for _, s := range []string{"01001", "28100", "08001", "52001", "00100", "53001", "1001", " 46001 ", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePostalCode(s)
		checkParse(t, s, p, err, PostalCode.String, ParsePostalCode)
		if err == nil && (p.Province() < 1 || p.Province() > 52 || p.ProvinceName() == "") {
			t.Fatalf("ParsePostalCode(%q) province %d", s, p.Province())
		}
	})
}

func FuzzParseMobile(f *testing.F) {
	for _, s := range []string{"612345678", "+34612345678", "0034 712 345 678", "(+34) 612-345-678", "912345678", "+33612345678", "", "+34+34612345678"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMobile(s)
		checkParse(t, s, m, err, Mobile.String, ParseMobile)
		if err == nil {
			n := m.National()
			if !strings.HasPrefix(m.String(), "+34") || len(n) != 9 || !allDigits(n) || !(n[0] == '6' || (n[0] == '7' && n[1] >= '1' && n[1] <= '4')) {
				t.Fatalf("ParseMobile(%q) accepted %q", s, m)
			}
			if again, err := ParseMobile(n); err != nil || again != m {
				t.Fatalf("national form %q does not re-parse", n)
			}
		}
	})
}

func FuzzParseEmail(f *testing.F) {
	for _, s := range []string{"ana@example.com", " Ana@Example.ES ", "ana", "Ana <ana@example.com>", `"a b"@x.com`, "a@[1.2.3.4]", "josé@correo.es", "", "a@b.c, d@e.f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseEmail(s)
		checkParse(t, s, e, err, Email.String, ParseEmail)
		if err == nil {
			if strings.Count(e.String(), "@") != 1 || e.Domain() != strings.ToLower(e.Domain()) || len(e.String()) > 254 {
				t.Fatalf("ParseEmail(%q) accepted %q", s, e)
			}
			if !strings.HasSuffix(e.Masked(), "@"+e.Domain()) {
				t.Fatalf("Masked(%q) = %q", e, e.Masked())
			}
		}
	})
}

func FuzzParseCountry(f *testing.F) {
	for _, s := range []string{"ESP", "esp", "XXX", "ES", "UKR,", "\nESP", "ESP\n", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCountry(s)
		checkParse(t, s, c, err, Country.String, ParseCountry)
		if err == nil && (c.Name() == "" || c.SpanishName() == "") {
			t.Fatalf("ParseCountry(%q) = %q has no name (%q, %q)", s, c, c.Name(), c.SpanishName())
		}
	})
}
