package places

import (
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"redengine/domain/ident"
	"redengine/errs"
)

//go:embed localidades.csv
var localidadesCSV []byte

// Localidad is a locality reachable through a postal code: the postal code,
// the INE code of its municipality (5 digits: province and municipality) and
// the locality's name.
type Localidad struct {
	PostalCode   string `json:"codigoPostal"`
	Municipality string `json:"municipio"`
	Name         string `json:"localidad"`
}

// Localidades is the postal code → localidades catalogue.
type Localidades struct {
	version, digest string
	byPC            map[string][]Localidad
	rows            int
}

// localidadesHeader is the header a localidades file must have.
var localidadesHeader = []string{"postal_code", "ine_municipality_code", "locality"}

// LoadLocalidades reads a postal code → localidades catalogue: a UTF-8 CSV
// with the header "postal_code,ine_municipality_code,locality" and, per row,
// a postal code (5 digits, province 01–52), the INE municipality code (5
// digits: province 01–52 and municipality 001–999) and the locality name.
// Lines starting with '#' are comments. A row that breaks a rule fails the
// whole load with its line number; a row repeating an earlier one (same
// postal code, municipality and folded name) is skipped.
//
// The municipality's province may differ from the postal code's: the INE
// street census has localities served by a neighbouring province's post
// office.
func LoadLocalidades(r io.Reader) (*Localidades, error) {
	const op errs.Op = "places.LoadLocalidades"
	f, err := readDataFile(op, r)
	if err != nil {
		return nil, err
	}
	l := &Localidades{version: f.version, digest: f.digest, byPC: map[string][]Localidad{}}
	seen := map[[3]string]bool{}
	err = f.records(op, localidadesHeader, func(_ int, rec []string) error {
		pc, err := ident.ParsePostalCode(rec[0])
		if err != nil {
			return fmt.Errorf("código postal %q: %s", rec[0], errs.MessageOf(err))
		}
		ine := strings.TrimSpace(rec[1])
		if err := checkINE(ine); err != nil {
			return fmt.Errorf("código de municipio %q: %w", rec[1], err)
		}
		name, err := checkName("el nombre de la localidad", rec[2])
		if err != nil {
			return err
		}
		key := [3]string{pc.String(), ine, Fold(name)}
		if seen[key] {
			return nil
		}
		seen[key] = true
		l.byPC[pc.String()] = append(l.byPC[pc.String()], Localidad{pc.String(), ine, name})
		l.rows++
		return nil
	})
	if err != nil {
		return nil, err
	}
	if l.rows == 0 {
		return nil, errs.E(op, errs.Invalid, "el catálogo de localidades no tiene ninguna fila")
	}
	for _, ls := range l.byPC {
		sort.SliceStable(ls, func(i, j int) bool {
			if a, b := Fold(ls[i].Name), Fold(ls[j].Name); a != b {
				return a < b
			}
			return ls[i].Municipality < ls[j].Municipality
		})
	}
	return l, nil
}

func checkINE(s string) error {
	if len(s) != 5 || strings.Trim(s, "0123456789") != "" {
		return fmt.Errorf("debe tener 5 dígitos")
	}
	if p := int(s[0]-'0')*10 + int(s[1]-'0'); !ident.ValidProvince(p) {
		return fmt.Errorf("la provincia %s no existe (01–52)", s[:2])
	}
	if s[2:] == "000" {
		return fmt.Errorf("el municipio 000 no existe")
	}
	return nil
}

// LoadLocalidadesFile opens the file at path (the REDENGINE_LOCALIDADES
// setting) and loads it with LoadLocalidades. A file that cannot be opened
// is an invalid error too: the configuration names a file that is not there.
func LoadLocalidadesFile(path string) (*Localidades, error) {
	const op errs.Op = "places.LoadLocalidadesFile"
	f, err := os.Open(path)
	if err != nil {
		return nil, errs.E(op, errs.Invalid, "no se puede abrir el catálogo de localidades "+path, err)
	}
	defer f.Close()
	return LoadLocalidades(f)
}

// Default returns the catalogue shipped with the engine: every provincial
// capital (and Ceuta and Melilla) with its main postal codes, and some
// postal codes that serve several localities. Load the full catalogue with
// LoadLocalidades. Default panics only if the embedded data is broken, which
// the package's tests rule out.
func Default() *Localidades {
	l, err := LoadLocalidades(bytes.NewReader(localidadesCSV))
	if err != nil {
		panic("places: embedded localidades.csv: " + err.Error())
	}
	return l
}

// ForPostalCode returns the localities of postal code pc (surrounding spaces
// ignored), sorted by name; nil when the catalogue has none.
func (l *Localidades) ForPostalCode(pc string) []Localidad {
	ls := l.byPC[strings.TrimSpace(pc)]
	if len(ls) == 0 {
		return nil
	}
	return append([]Localidad(nil), ls...)
}

// Match finds the locality called name among those of postal code pc,
// comparing with Fold (case, accents and punctuation ignored; "Las Rozas de
// Madrid" matches "Rozas de Madrid, Las"). A bilingual name matches either
// form ("Alicante" and "Alacant" match "Alicante/Alacant"). It returns the
// catalogue's canonical entry.
func (l *Localidades) Match(pc, name string) (Localidad, bool) {
	want := Fold(name)
	if want == "" {
		return Localidad{}, false
	}
	ls := l.byPC[strings.TrimSpace(pc)]
	for _, loc := range ls {
		if Fold(loc.Name) == want {
			return loc, true
		}
	}
	for _, loc := range ls {
		if !strings.Contains(loc.Name, "/") {
			continue
		}
		for _, part := range strings.Split(loc.Name, "/") {
			if Fold(part) == want {
				return loc, true
			}
		}
	}
	return Localidad{}, false
}

// Contains reports whether name is one of the localities of postal code pc
// (see Match).
func (l *Localidades) Contains(pc, name string) bool {
	_, ok := l.Match(pc, name)
	return ok
}

// HasPostalCode reports whether the catalogue knows postal code pc.
func (l *Localidades) HasPostalCode(pc string) bool { return len(l.byPC[strings.TrimSpace(pc)]) > 0 }

// PostalCodes returns every postal code of the catalogue, sorted.
func (l *Localidades) PostalCodes() []string {
	out := make([]string, 0, len(l.byPC))
	for pc := range l.byPC {
		out = append(out, pc)
	}
	sort.Strings(out)
	return out
}

// Len returns the number of (postal code, municipality, locality) rows.
func (l *Localidades) Len() int { return l.rows }

// Version returns the declared version of the data, or its short digest.
func (l *Localidades) Version() string { return l.version }

// Digest returns the SHA-256 (hex) of the loaded file.
func (l *Localidades) Digest() string { return l.digest }
