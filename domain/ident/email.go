package ident

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"redengine/errs"
)

// Email is an email address, a bare addr-spec "local@domain" with the
// domain in lower case.
type Email struct{ v string }

// ParseEmail validates an email address pragmatically: what net/mail
// accepts as an address, with no display name, comment or quoted local
// part, at most 254 bytes (local part at most 64), and a domain of at least
// two dot-separated labels made of letters, digits and inner hyphens (no IP
// literals).
func ParseEmail(s string) (Email, error) {
	const op errs.Op = "ident.ParseEmail"
	bad := func() (Email, error) {
		return Email{}, invalid(op, "el correo electrónico no es una dirección válida (por ejemplo, nombre@dominio.es)")
	}
	c := strings.TrimSpace(s)
	if c == "" {
		return Email{}, invalid(op, "el correo electrónico es obligatorio")
	}
	if len(c) > 254 || !utf8.ValidString(c) {
		return bad()
	}
	a, err := mail.ParseAddress(c)
	if err != nil || a.Name != "" || a.Address != c {
		return bad()
	}
	at := strings.LastIndexByte(c, '@')
	if at <= 0 || at > 64 {
		return bad()
	}
	local, domain := c[:at], strings.ToLower(c[at+1:])
	if strings.ContainsAny(local, "\"\\ ") || !validDomain(domain) {
		return bad()
	}
	return Email{local + "@" + domain}, nil
}

func validDomain(d string) bool {
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if r != '-' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				return false
			}
		}
	}
	return true
}

// String returns the address ("" for the zero value).
func (e Email) String() string { return e.v }

// Domain returns the part after '@'.
func (e Email) Domain() string {
	if i := strings.LastIndexByte(e.v, '@'); i >= 0 {
		return e.v[i+1:]
	}
	return ""
}

// IsZero reports whether e is the zero value.
func (e Email) IsZero() bool { return e.v == "" }

// Masked returns the address for logs, keeping the first character of the
// local part and the domain: "a***@example.com".
func (e Email) Masked() string {
	i := strings.LastIndexByte(e.v, '@')
	if i <= 0 {
		return ""
	}
	_, size := utf8.DecodeRuneInString(e.v)
	return e.v[:size] + "***" + e.v[i:]
}

// MarshalText implements encoding.TextMarshaler.
func (e Email) MarshalText() ([]byte, error) { return []byte(e.v), nil }

// UnmarshalText implements encoding.TextUnmarshaler; empty text gives the
// zero value.
func (e *Email) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*e = Email{}
		return nil
	}
	v, err := ParseEmail(string(b))
	if err == nil {
		*e = v
	}
	return err
}
