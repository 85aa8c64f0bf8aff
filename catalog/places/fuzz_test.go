package places

import (
	"strings"
	"testing"

	"redengine/domain/ident"
	"redengine/errs"
)

// FuzzLoadLocalidades checks that the loader never panics, that a refusal is
// an invalid error naming a line, and that a loaded catalogue holds only
// valid rows that Contains finds again.
func FuzzLoadLocalidades(f *testing.F) {
	const header = "postal_code,ine_municipality_code,locality\n"
	for _, s := range []string{
		header + "28100,28006,Alcobendas\n",
		header + "28230,28127,\"Rozas de Madrid, Las\"\n01193,01001,Egileta\n",
		"# version: x\n" + header + "2810,28006,X\n",
		header + "28100,28006,\"a\"\"b\"\n",
		"",
		"\ufeff" + header + "52001,52001,Melilla\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		l, err := LoadLocalidades(strings.NewReader(in))
		if err != nil {
			if !errs.Is(errs.Invalid, err) {
				t.Fatalf("error %v is not invalid", err)
			}
			return
		}
		if l.Len() == 0 || l.Version() == "" {
			t.Fatalf("empty catalogue accepted")
		}
		for _, pc := range l.PostalCodes() {
			if _, err := ident.ParsePostalCode(pc); err != nil {
				t.Fatalf("postal code %q accepted: %v", pc, err)
			}
			for _, loc := range l.ForPostalCode(pc) {
				if loc.PostalCode != pc || len(loc.Municipality) != 5 || Fold(loc.Name) == "" {
					t.Fatalf("row %+v", loc)
				}
				if m, ok := l.Match(pc, loc.Name); !ok || Fold(m.Name) != Fold(loc.Name) {
					t.Fatalf("Match(%q, %q) = %+v, %v", pc, loc.Name, m, ok)
				}
			}
		}
	})
}

// FuzzFold checks that Fold is idempotent and yields only lower-case
// letters, digits and single spaces.
func FuzzFold(f *testing.F) {
	for _, s := range []string{"Rozas de Madrid, Las", "Coruña, A", "L'Hospitalet", "Cal·la", "  ", ",,a,", "A\u0301vila"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k := Fold(s)
		if Fold(k) != k {
			t.Fatalf("Fold not idempotent: %q -> %q -> %q", s, k, Fold(k))
		}
		if strings.Contains(k, "  ") || strings.HasPrefix(k, " ") || strings.HasSuffix(k, " ") || strings.Contains(k, ",") {
			t.Fatalf("Fold(%q) = %q has stray spaces or commas", s, k)
		}
	})
}
