package ident

import (
	_ "embed"
	"strings"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"redengine/domain/calendar"
	"redengine/errs"
)

// countriesCSV is the full ISO 3166-1 list: "alpha3,name" lines after a
// header, sorted by code.
//
//go:embed countries.csv
var countriesCSV string

// Country is an ISO 3166-1 alpha-3 country code, such as "ESP".
type Country struct{ v string }

// ParseCountry validates an ISO 3166-1 alpha-3 code (any case) against the
// full ISO list shipped with the package.
func ParseCountry(s string) (Country, error) {
	const op errs.Op = "ident.ParseCountry"
	c := strings.ToUpper(strings.TrimSpace(s))
	switch {
	case c == "":
		return Country{}, invalid(op, "el país es obligatorio")
	case len(c) != 3 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' || c[2] < 'A' || c[2] > 'Z':
		return Country{}, invalid(op, "el país debe ser un código ISO 3166-1 alfa-3 de tres letras (por ejemplo, ESP)")
	case countryLine(c) == "":
		return Country{}, invalid(op, "el código de país no existe en la norma ISO 3166-1 alfa-3")
	}
	return Country{c}, nil
}

// countryLine returns the data line of code, or "".
func countryLine(code string) string {
	i := strings.Index(countriesCSV, "\n"+code+",")
	if i < 0 {
		return ""
	}
	line := countriesCSV[i+1:]
	if j := strings.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	return strings.TrimRight(line, "\r")
}

// Spain is the code of Spain.
func Spain() Country { return Country{"ESP"} }

// String returns the code ("" for the zero value).
func (c Country) String() string { return c.v }

// IsZero reports whether c is the zero value.
func (c Country) IsZero() bool { return c.v == "" }

// Name returns the ISO English short name of the country.
func (c Country) Name() string {
	line := countryLine(c.v)
	if line == "" {
		return ""
	}
	// The line is "CODE,name"; a name with a comma is quoted as in CSV (a
	// csv.Reader per call allocated a 4 KB buffer for every NSS answer).
	name := line[len(c.v)+1:]
	if len(name) >= 2 && name[0] == '"' && name[len(name)-1] == '"' {
		name = strings.ReplaceAll(name[1:len(name)-1], `""`, `"`)
	}
	return name
}

// SpanishName returns the country's name in Spanish ("España",
// "Alemania"), as the people who read the engine's answers name it, from
// the CLDR data of golang.org/x/text (every code of the shipped ISO list
// has one: TestSpanishNameOfEveryCountry); "" for the zero value.
func (c Country) SpanishName() string {
	if c.v == "" {
		return ""
	}
	r, err := language.ParseRegion(c.v)
	if err != nil {
		return ""
	}
	return display.Spanish.Regions().Name(r)
}

// CountryCodes returns every alpha-3 code of the shipped list, sorted.
func CountryCodes() []string {
	var out []string
	for _, line := range strings.Split(countriesCSV, "\n") {
		if len(line) > 4 && line[3] == ',' && line != "" && line[0] != '#' && !strings.HasPrefix(line, "alpha3,") {
			out = append(out, line[:3])
		}
	}
	return out
}

// MarshalText implements encoding.TextMarshaler.
func (c Country) MarshalText() ([]byte, error) { return []byte(c.v), nil }

// UnmarshalText implements encoding.TextUnmarshaler; empty text gives the
// zero value.
func (c *Country) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*c = Country{}
		return nil
	}
	v, err := ParseCountry(string(b))
	if err == nil {
		*c = v
	}
	return err
}

// ParseDate validates a civil date written YYYY-MM-DD that exists in the
// calendar (birth dates, fecha real). It is calendar.ParseDate, here so that
// every form validator lives in one package.
func ParseDate(s string) (calendar.Date, error) { return calendar.ParseDate(s) }
