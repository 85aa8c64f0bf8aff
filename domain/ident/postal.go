package ident

import (
	"strings"

	"redengine/errs"
)

// provinceNames are the INE names of the provinces, indexed by code.
var provinceNames = [MaxProvince + 1]string{
	"", "Araba/Álava", "Albacete", "Alicante/Alacant", "Almería", "Ávila", "Badajoz",
	"Illes Balears", "Barcelona", "Burgos", "Cáceres", "Cádiz", "Castellón/Castelló",
	"Ciudad Real", "Córdoba", "A Coruña", "Cuenca", "Girona", "Granada", "Guadalajara",
	"Gipuzkoa", "Huelva", "Huesca", "Jaén", "León", "Lleida", "La Rioja", "Lugo",
	"Madrid", "Málaga", "Murcia", "Navarra", "Ourense", "Asturias", "Palencia",
	"Las Palmas", "Pontevedra", "Salamanca", "Santa Cruz de Tenerife", "Cantabria",
	"Segovia", "Sevilla", "Soria", "Tarragona", "Teruel", "Toledo", "Valencia/València",
	"Valladolid", "Bizkaia", "Zamora", "Zaragoza", "Ceuta", "Melilla",
}

// ProvinceName returns the INE name of province p (1–52), or "" and false.
func ProvinceName(p int) (string, bool) {
	if !ValidProvince(p) {
		return "", false
	}
	return provinceNames[p], true
}

// PostalCode is a Spanish postal code: 5 digits whose first two are the
// province (01–52).
type PostalCode struct{ v string }

// ParsePostalCode validates a postal code. Leading zeros are required
// ("01001", not "1001"); surrounding spaces are ignored.
func ParsePostalCode(s string) (PostalCode, error) {
	const op errs.Op = "ident.ParsePostalCode"
	c := strings.TrimSpace(s)
	switch {
	case c == "":
		return PostalCode{}, invalid(op, "el código postal es obligatorio")
	case len(c) != 5 || !allDigits(c):
		return PostalCode{}, invalid(op, "el código postal debe tener 5 dígitos")
	case !ValidProvince(int(atoi(c[:2]))):
		return PostalCode{}, invalid(op, "el código postal no corresponde a ninguna provincia (sus dos primeras cifras deben estar entre 01 y 52)")
	}
	return PostalCode{c}, nil
}

// String returns the 5 digits ("" for the zero value).
func (p PostalCode) String() string { return p.v }

// IsZero reports whether p is the zero value.
func (p PostalCode) IsZero() bool { return p.v == "" }

// Province returns the province code (1–52); 0 for the zero value.
func (p PostalCode) Province() int {
	if p.v == "" {
		return 0
	}
	return int(atoi(p.v[:2]))
}

// ProvinceName returns the INE name of the postal code's province.
func (p PostalCode) ProvinceName() string {
	name, _ := ProvinceName(p.Province())
	return name
}

// MarshalText implements encoding.TextMarshaler.
func (p PostalCode) MarshalText() ([]byte, error) { return []byte(p.v), nil }

// UnmarshalText implements encoding.TextUnmarshaler; empty text gives the
// zero value.
func (p *PostalCode) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*p = PostalCode{}
		return nil
	}
	v, err := ParsePostalCode(string(b))
	if err == nil {
		*p = v
	}
	return err
}
