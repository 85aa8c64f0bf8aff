package places

import (
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"strings"

	"redengine/errs"
)

//go:embed tiposvia.csv
var tiposViaCSV []byte

// TipoVia is a kind of street: its two-letter code and its name.
type TipoVia struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// TiposVia is a catalogue of tipos de vía.
type TiposVia struct {
	version, digest string
	list            []TipoVia
	byCode          map[string]int
	byName          map[string]int
}

// LoadTiposVia reads a tipos de vía catalogue: a CSV with the header
// "code,name", a code of 1–5 letters (stored upper case) and a name per row,
// codes and names unique.
func LoadTiposVia(r io.Reader) (*TiposVia, error) {
	const op errs.Op = "places.LoadTiposVia"
	f, err := readDataFile(op, r)
	if err != nil {
		return nil, err
	}
	t := &TiposVia{version: f.version, digest: f.digest, byCode: map[string]int{}, byName: map[string]int{}}
	err = f.records(op, []string{"code", "name"}, func(_ int, rec []string) error {
		code := strings.ToUpper(strings.TrimSpace(rec[0]))
		if len(code) < 1 || len(code) > 5 || strings.Trim(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			return fmt.Errorf("el código de tipo de vía %q debe tener de 1 a 5 letras", rec[0])
		}
		name, err := checkName("el nombre del tipo de vía", rec[1])
		if err != nil {
			return err
		}
		if _, dup := t.byCode[code]; dup {
			return fmt.Errorf("el código de tipo de vía %s está repetido", code)
		}
		if _, dup := t.byName[Fold(name)]; dup {
			return fmt.Errorf("el tipo de vía %q está repetido", name)
		}
		t.byCode[code] = len(t.list)
		t.byName[Fold(name)] = len(t.list)
		t.list = append(t.list, TipoVia{code, name})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(t.list) == 0 {
		return nil, errs.E(op, errs.Invalid, "el catálogo de tipos de vía no tiene ninguna fila")
	}
	return t, nil
}

// DefaultTiposVia returns the catalogue shipped with the engine (the 25
// tipos de vía of common use). It panics only if the embedded data is
// broken, which the package's tests rule out.
func DefaultTiposVia() *TiposVia {
	t, err := LoadTiposVia(bytes.NewReader(tiposViaCSV))
	if err != nil {
		panic("places: embedded tiposvia.csv: " + err.Error())
	}
	return t
}

// Lookup finds a tipo de vía by code ("cl", "CL") or by name ("calle",
// "Travesia").
func (t *TiposVia) Lookup(s string) (TipoVia, bool) {
	if i, ok := t.byCode[strings.ToUpper(strings.TrimSpace(s))]; ok {
		return t.list[i], true
	}
	if i, ok := t.byName[Fold(s)]; ok {
		return t.list[i], true
	}
	return TipoVia{}, false
}

// Parse is Lookup for form input: an invalid error with a Spanish reason
// when s is empty or not in the catalogue.
func (t *TiposVia) Parse(s string) (TipoVia, error) {
	const op errs.Op = "places.TiposVia.Parse"
	if strings.TrimSpace(s) == "" {
		return TipoVia{}, errs.E(op, errs.Invalid, "el tipo de vía es obligatorio")
	}
	v, ok := t.Lookup(s)
	if !ok {
		return TipoVia{}, errs.E(op, errs.Invalid, "el tipo de vía no está en el catálogo (por ejemplo, CL para calle o AV para avenida)")
	}
	return v, nil
}

// All returns the tipos de vía in file order.
func (t *TiposVia) All() []TipoVia { return append([]TipoVia(nil), t.list...) }

// Len returns the number of tipos de vía.
func (t *TiposVia) Len() int { return len(t.list) }

// Version returns the declared version of the data, or its short digest.
func (t *TiposVia) Version() string { return t.version }

// Digest returns the SHA-256 (hex) of the loaded file.
func (t *TiposVia) Digest() string { return t.digest }
