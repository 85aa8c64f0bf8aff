// Package casia is the versioned CASIA classification catalogue: the
// materias, their categorías and subcategorías, which case types each
// subcategoría admits, the competent unit a case of it is routed to and the
// extra data fields it requires (with their format).
//
// The catalogue is data, not code: the default one is embedded from
// catalogue.json (see Default) and another one can be loaded with Load. Its
// JSON shape is the one served at GET /v1/catalogue:
//
//	{"version": "...", "materias": [{"name": "...", "categorias": [{"name": "...",
//	  "subcategorias": [{"name": "...", "types": ["consulta", ...], "unit": "...",
//	  "requiredFields": [{"name": "...", "format": "ccc"}]}]}]}]}
//
// The package is pure. A *Catalogue is safe for concurrent reads; treat a
// shared one as read-only (Default returns a fresh copy on each call).
package casia

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"redengine/errs"
)

// Type is a CASIA case type.
type Type string

// The case types of CASIA.
const (
	Consulta        Type = "consulta"
	ErrorIncidencia Type = "error_incidencia"
	Tramite         Type = "tramite"
)

// Types lists the case types in their usual order.
func Types() []Type { return []Type{Consulta, ErrorIncidencia, Tramite} }

// Valid reports whether t is one of the three case types.
func (t Type) Valid() bool { return t == Consulta || t == ErrorIncidencia || t == Tramite }

// Label returns the type as users read it ("Consulta", "Error/Incidencia",
// "Trámite").
func (t Type) Label() string {
	switch t {
	case Consulta:
		return "Consulta"
	case ErrorIncidencia:
		return "Error/Incidencia"
	case Tramite:
		return "Trámite"
	}
	return string(t)
}

// Field is an extra data field that a subcategoría requires.
type Field struct {
	Name   string `json:"name"`
	Format Format `json:"format"`
}

// Subcategoria is the leaf of the classification: what a case of it may be,
// where it goes and what it must carry.
type Subcategoria struct {
	Name           string  `json:"name"`
	Types          []Type  `json:"types"`
	Unit           string  `json:"unit"`
	RequiredFields []Field `json:"requiredFields"`
}

// Allows reports whether a case of type t may be filed under s.
func (s Subcategoria) Allows(t Type) bool { return slices.Contains(s.Types, t) }

// ValidateExtra checks extra (the case's extraData) against the fields s
// requires: each must be present and well formed. Field errors are named
// "extraData.<name>". Fields that s does not require are accepted as they
// are.
func (s Subcategoria) ValidateExtra(extra map[string]string) errs.Fields {
	var out errs.Fields
	for _, f := range s.RequiredFields {
		v, ok := extra[f.Name]
		if !ok || strings.TrimSpace(v) == "" {
			out.Add("extraData."+f.Name, "es obligatorio para esta clasificación")
			continue
		}
		if reason := f.Format.Check(v); reason != "" {
			out.Add("extraData."+f.Name, reason)
		}
	}
	return out
}

// Categoria groups subcategorías within a materia.
type Categoria struct {
	Name          string         `json:"name"`
	Subcategorias []Subcategoria `json:"subcategorias"`
}

// Materia is the top level of the classification.
type Materia struct {
	Name       string      `json:"name"`
	Categorias []Categoria `json:"categorias"`
}

// Classification names a subcategoría by its path, with the catalogue's
// spelling.
type Classification struct {
	Materia      string `json:"materia"`
	Categoria    string `json:"categoria"`
	Subcategoria string `json:"subcategoria"`
}

// String renders "materia / categoría / subcategoría".
func (c Classification) String() string {
	return c.Materia + " / " + c.Categoria + " / " + c.Subcategoria
}

// Catalogue is one version of the classification catalogue.
type Catalogue struct {
	Version  string    `json:"version"`
	Materias []Materia `json:"materias"`
}

//go:embed catalogue.json
var defaultJSON []byte

// Default returns the catalogue shipped with the engine (catalogue.json,
// embedded). Each call returns a fresh copy.
func Default() *Catalogue {
	c, err := Load(bytes.NewReader(defaultJSON))
	if err != nil {
		// Unreachable: catalogue.json is checked by the package's tests.
		panic("casia: embedded catalogue is invalid: " + err.Error())
	}
	return c
}

// Load reads a catalogue from JSON and validates it: a version; at least one
// materia; non-empty names unique at each level (case-insensitively); every
// subcategoría with at least one valid type, a unit, and required fields
// with a name (unique within it) and a known format. A problem is an
// errs.Invalid error naming the offending path.
func Load(r io.Reader) (*Catalogue, error) {
	const op = errs.Op("casia.Load")
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var c Catalogue
	if err := dec.Decode(&c); err != nil {
		return nil, errs.E(op, errs.Invalid, "el catálogo no es un JSON válido", err)
	}
	if err := c.validate(); err != nil {
		return nil, errs.E(op, errs.Invalid, err.Error())
	}
	return &c, nil
}

func (c *Catalogue) validate() error {
	if strings.TrimSpace(c.Version) == "" {
		return fmt.Errorf("el catálogo no tiene versión")
	}
	if len(c.Materias) == 0 {
		return fmt.Errorf("el catálogo no tiene materias")
	}
	seenM := map[string]bool{}
	for i, m := range c.Materias {
		if err := uniqueName(seenM, m.Name, fmt.Sprintf("materias[%d]", i)); err != nil {
			return err
		}
		if len(m.Categorias) == 0 {
			return fmt.Errorf("la materia %q no tiene categorías", m.Name)
		}
		seenC := map[string]bool{}
		for j, cat := range m.Categorias {
			if err := uniqueName(seenC, cat.Name, fmt.Sprintf("%s / categorias[%d]", m.Name, j)); err != nil {
				return err
			}
			if len(cat.Subcategorias) == 0 {
				return fmt.Errorf("la categoría %q de %q no tiene subcategorías", cat.Name, m.Name)
			}
			seenS := map[string]bool{}
			for k, s := range cat.Subcategorias {
				path := fmt.Sprintf("%s / %s / subcategorias[%d]", m.Name, cat.Name, k)
				if err := uniqueName(seenS, s.Name, path); err != nil {
					return err
				}
				if err := s.validate(path); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (s Subcategoria) validate(path string) error {
	if len(s.Types) == 0 {
		return fmt.Errorf("%s: sin tipos de caso", path)
	}
	for _, t := range s.Types {
		if !t.Valid() {
			return fmt.Errorf("%s: tipo de caso desconocido %q", path, t)
		}
	}
	if strings.TrimSpace(s.Unit) == "" {
		return fmt.Errorf("%s: sin unidad competente", path)
	}
	seen := map[string]bool{}
	for i, f := range s.RequiredFields {
		if strings.TrimSpace(f.Name) == "" {
			return fmt.Errorf("%s: requiredFields[%d] sin nombre", path, i)
		}
		if seen[f.Name] {
			return fmt.Errorf("%s: campo %q repetido", path, f.Name)
		}
		seen[f.Name] = true
		if !f.Format.Valid() {
			return fmt.Errorf("%s: campo %q con formato desconocido %q", path, f.Name, f.Format)
		}
	}
	return nil
}

func uniqueName(seen map[string]bool, name, path string) error {
	key := fold(name)
	if key == "" {
		return fmt.Errorf("%s: nombre vacío", path)
	}
	if seen[key] {
		return fmt.Errorf("%s: nombre repetido %q", path, name)
	}
	seen[key] = true
	return nil
}

// fold is the key names are matched by: trimmed and lower-cased.
func fold(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Find returns the subcategoría at materia → categoria → subcategoria.
// Names match when equal after trimming, ignoring case.
func (c *Catalogue) Find(materia, categoria, subcategoria string) (Subcategoria, bool) {
	_, s, ok := c.Classify(materia, categoria, subcategoria)
	return s, ok
}

// Classify is Find that also returns the path spelled as in the catalogue,
// which is what events record.
func (c *Catalogue) Classify(materia, categoria, subcategoria string) (Classification, Subcategoria, bool) {
	for _, m := range c.Materias {
		if fold(m.Name) != fold(materia) {
			continue
		}
		for _, cat := range m.Categorias {
			if fold(cat.Name) != fold(categoria) {
				continue
			}
			for _, s := range cat.Subcategorias {
				if fold(s.Name) == fold(subcategoria) {
					return Classification{m.Name, cat.Name, s.Name}, s, true
				}
			}
		}
	}
	return Classification{}, Subcategoria{}, false
}

// Units returns the competent units named in the catalogue, sorted, each
// once.
func (c *Catalogue) Units() []string {
	var out []string
	for _, m := range c.Materias {
		for _, cat := range m.Categorias {
			for _, s := range cat.Subcategorias {
				if !slices.Contains(out, s.Unit) {
					out = append(out, s.Unit)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// MarshalJSON renders the catalogue in the GET /v1/catalogue shape, with
// empty lists as [] rather than null.
func (c *Catalogue) MarshalJSON() ([]byte, error) {
	type field = Field
	type sub struct {
		Name           string  `json:"name"`
		Types          []Type  `json:"types"`
		Unit           string  `json:"unit"`
		RequiredFields []field `json:"requiredFields"`
	}
	type cat struct {
		Name          string `json:"name"`
		Subcategorias []sub  `json:"subcategorias"`
	}
	type mat struct {
		Name       string `json:"name"`
		Categorias []cat  `json:"categorias"`
	}
	out := struct {
		Version  string `json:"version"`
		Materias []mat  `json:"materias"`
	}{Version: c.Version, Materias: []mat{}}
	for _, m := range c.Materias {
		mm := mat{Name: m.Name, Categorias: []cat{}}
		for _, ct := range m.Categorias {
			cc := cat{Name: ct.Name, Subcategorias: []sub{}}
			for _, s := range ct.Subcategorias {
				ss := sub{Name: s.Name, Types: append([]Type{}, s.Types...), Unit: s.Unit, RequiredFields: append([]field{}, s.RequiredFields...)}
				cc.Subcategorias = append(cc.Subcategorias, ss)
			}
			mm.Categorias = append(mm.Categorias, cc)
		}
		out.Materias = append(out.Materias, mm)
	}
	return json.Marshal(out)
}
