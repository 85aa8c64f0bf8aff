package ident

import (
	"strings"

	"redengine/errs"
)

// Mobile is a Spanish mobile phone number, kept in E.164 form "+34612345678".
type Mobile struct{ v string }

// ParseMobile validates a Spanish mobile number: 9 digits starting with 6,
// or with 71–74 (the 7xx mobile ranges), optionally preceded by +34 or 0034.
// Spaces, hyphens, dots and parentheses are ignored ("+34 612 34 56 78",
// "(+34) 612-345-678"). Numbers of other countries and landlines (8xx, 9xx)
// are refused.
func ParseMobile(s string) (Mobile, error) {
	const op errs.Op = "ident.ParseMobile"
	var b strings.Builder
	for _, r := range strings.TrimSpace(s) {
		switch r {
		case ' ', '\t', '-', '.', '(', ')', '\u00a0':
			continue
		}
		b.WriteRune(r)
	}
	c := b.String()
	switch {
	case c == "":
		return Mobile{}, invalid(op, "el teléfono móvil es obligatorio")
	case strings.HasPrefix(c, "+34"):
		c = c[3:]
	case strings.HasPrefix(c, "0034"):
		c = c[4:]
	case strings.HasPrefix(c, "+") || (strings.HasPrefix(c, "00") && len(c) > 9):
		return Mobile{}, invalid(op, "solo se admiten teléfonos móviles españoles (prefijo +34)")
	}
	if len(c) != 9 || !allDigits(c) {
		return Mobile{}, invalid(op, "el teléfono móvil debe tener 9 dígitos, con o sin el prefijo +34")
	}
	if !(c[0] == '6' || (c[0] == '7' && c[1] >= '1' && c[1] <= '4')) {
		return Mobile{}, invalid(op, "el número no es un teléfono móvil español (debe empezar por 6 o por 71 a 74)")
	}
	return Mobile{"+34" + c}, nil
}

// String returns the number in E.164 form, "+34612345678" ("" for the zero
// value).
func (m Mobile) String() string { return m.v }

// National returns the 9 national digits, "612345678".
func (m Mobile) National() string { return strings.TrimPrefix(m.v, "+34") }

// IsZero reports whether m is the zero value.
func (m Mobile) IsZero() bool { return m.v == "" }

// Masked returns the number for logs, showing its last three digits:
// "+34******678".
func (m Mobile) Masked() string {
	if m.v == "" {
		return ""
	}
	return "+34" + mask(m.National(), 3)
}

// MarshalText implements encoding.TextMarshaler.
func (m Mobile) MarshalText() ([]byte, error) { return []byte(m.v), nil }

// UnmarshalText implements encoding.TextUnmarshaler; empty text gives the
// zero value.
func (m *Mobile) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*m = Mobile{}
		return nil
	}
	v, err := ParseMobile(string(b))
	if err == nil {
		*m = v
	}
	return err
}
