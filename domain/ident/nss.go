package ident

import (
	"fmt"

	"redengine/errs"
)

// Province codes: 01–52 (INE order, the same for postal codes, NAF and CCC;
// 51 Ceuta, 52 Melilla).
const (
	MinProvince = 1
	MaxProvince = 52
)

// ValidProvince reports whether p is a province code 01–52.
func ValidProvince(p int) bool { return p >= MinProvince && p <= MaxProvince }

// NSSControl returns the two control digits of a NAF with province p and
// number n (8 digits): (p·10^7 + n) mod 97 when n < 10,000,000, else
// (p·10^8 + n) mod 97. This is not the mod 97 of the plain 10-digit
// concatenation when n < 10,000,000 (280123456 → 42, not 85).
func NSSControl(province int, number uint32) int {
	p := uint64(province)
	n := uint64(number)
	if n < 10_000_000 {
		return int((p*10_000_000 + n) % 97)
	}
	return int((p*100_000_000 + n) % 97)
}

// NSS is a número de la Seguridad Social (número de afiliación, NAF): 12
// digits, province PP, number N (8 digits) and control DC.
//
// Accepted provinces are 01–52 (the provinces, Ceuta and Melilla). Older
// NAFs can carry other prefixes (TGSS has used codes above 52 for special
// registrations); this constructor refuses them, since the engine only
// issues and accepts NAFs of a province.
type NSS struct{ v string }

// ParseNSS validates a NSS of 12 digits; spaces, hyphens, dots and slashes
// between groups ("28/12345678/40") are ignored.
func ParseNSS(s string) (NSS, error) {
	const op errs.Op = "ident.ParseNSS"
	c := clean(s)
	switch {
	case c == "":
		return NSS{}, invalid(op, "el número de la Seguridad Social es obligatorio")
	case len(c) != 12 || !allDigits(c):
		return NSS{}, invalid(op, "el número de la Seguridad Social debe tener 12 dígitos")
	}
	p := int(atoi(c[:2]))
	if !ValidProvince(p) {
		return NSS{}, invalid(op, "la provincia del número de la Seguridad Social no existe (debe estar entre 01 y 52)")
	}
	if NSSControl(p, uint32(atoi(c[2:10]))) != int(atoi(c[10:])) {
		return NSS{}, invalid(op, "los dígitos de control del número de la Seguridad Social no son correctos")
	}
	return NSS{c}, nil
}

// NewNSS builds the NSS of province (1–52) and number (0–99,999,999),
// computing its control digits.
func NewNSS(province int, number uint32) (NSS, error) {
	const op errs.Op = "ident.NewNSS"
	if !ValidProvince(province) {
		return NSS{}, invalid(op, "la provincia del número de la Seguridad Social no existe (debe estar entre 01 y 52)")
	}
	if number > 99_999_999 {
		return NSS{}, invalid(op, "el número de la Seguridad Social tiene más de 8 dígitos")
	}
	return NSS{fmt.Sprintf("%02d%08d%02d", province, number, NSSControl(province, number))}, nil
}

// String returns the 12 digits ("" for the zero value).
func (n NSS) String() string { return n.v }

// Formatted returns the NSS as TGSS prints it: "28/12345678/40".
func (n NSS) Formatted() string {
	if n.v == "" {
		return ""
	}
	return n.v[:2] + "/" + n.v[2:10] + "/" + n.v[10:]
}

// IsZero reports whether n is the zero value.
func (n NSS) IsZero() bool { return n.v == "" }

// Province returns the province code (1–52); 0 for the zero value.
func (n NSS) Province() int {
	if n.v == "" {
		return 0
	}
	return int(atoi(n.v[:2]))
}

// Number returns the 8-digit number within the province.
func (n NSS) Number() uint32 {
	if n.v == "" {
		return 0
	}
	return uint32(atoi(n.v[2:10]))
}

// Masked returns the NSS for logs, showing the last four digits:
// "********6742".
func (n NSS) Masked() string { return mask(n.v, 4) }

// MarshalText implements encoding.TextMarshaler.
func (n NSS) MarshalText() ([]byte, error) { return []byte(n.v), nil }

// UnmarshalText implements encoding.TextUnmarshaler; empty text gives the
// zero value.
func (n *NSS) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*n = NSS{}
		return nil
	}
	v, err := ParseNSS(string(b))
	if err == nil {
		*n = v
	}
	return err
}

// CCCControl returns the control digits of a CCC: (p·10^7 + n) mod 97.
func CCCControl(province int, number uint32) int {
	return int((uint64(province)*10_000_000 + uint64(number)) % 97)
}

// CCC is a código de cuenta de cotización (a company's account): 11 digits,
// province PP (01–52), number N (7 digits) and control DC.
type CCC struct{ v string }

// ParseCCC validates a CCC of 11 digits; separators between groups are
// ignored.
func ParseCCC(s string) (CCC, error) {
	const op errs.Op = "ident.ParseCCC"
	c := clean(s)
	switch {
	case c == "":
		return CCC{}, invalid(op, "el código de cuenta de cotización es obligatorio")
	case len(c) != 11 || !allDigits(c):
		return CCC{}, invalid(op, "el código de cuenta de cotización debe tener 11 dígitos")
	}
	p := int(atoi(c[:2]))
	if !ValidProvince(p) {
		return CCC{}, invalid(op, "la provincia del código de cuenta de cotización no existe (debe estar entre 01 y 52)")
	}
	if CCCControl(p, uint32(atoi(c[2:9]))) != int(atoi(c[9:])) {
		return CCC{}, invalid(op, "los dígitos de control del código de cuenta de cotización no son correctos")
	}
	return CCC{c}, nil
}

// NewCCC builds the CCC of province (1–52) and number (0–9,999,999).
func NewCCC(province int, number uint32) (CCC, error) {
	const op errs.Op = "ident.NewCCC"
	if !ValidProvince(province) {
		return CCC{}, invalid(op, "la provincia del código de cuenta de cotización no existe (debe estar entre 01 y 52)")
	}
	if number > 9_999_999 {
		return CCC{}, invalid(op, "el código de cuenta de cotización tiene más de 7 dígitos")
	}
	return CCC{fmt.Sprintf("%02d%07d%02d", province, number, CCCControl(province, number))}, nil
}

// String returns the 11 digits ("" for the zero value).
func (c CCC) String() string { return c.v }

// IsZero reports whether c is the zero value.
func (c CCC) IsZero() bool { return c.v == "" }

// Province returns the province code (1–52); 0 for the zero value.
func (c CCC) Province() int {
	if c.v == "" {
		return 0
	}
	return int(atoi(c.v[:2]))
}

// MarshalText implements encoding.TextMarshaler.
func (c CCC) MarshalText() ([]byte, error) { return []byte(c.v), nil }

// UnmarshalText implements encoding.TextUnmarshaler; empty text gives the
// zero value.
func (c *CCC) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*c = CCC{}
		return nil
	}
	v, err := ParseCCC(string(b))
	if err == nil {
		*c = v
	}
	return err
}
