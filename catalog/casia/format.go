package casia

import (
	"strings"
	"unicode/utf8"

	"redengine/domain/ident"
	"redengine/errs"
)

// Format is the format of an extra data field.
type Format string

// The formats a required field may have.
const (
	FormatCCC        Format = "ccc"         // código cuenta de cotización, 11 digits with control
	FormatNAF        Format = "naf"         // número de afiliación (NSS), 12 digits with control
	FormatDNINIE     Format = "dni_nie"     // DNI or NIE with its control letter
	FormatDate       Format = "date"        // civil date, YYYY-MM-DD
	FormatText       Format = "text"        // free text, 1 to MaxTextLen characters
	FormatPostalCode Format = "postal_code" // 5 digits, province 01–52
)

// MaxTextLen is the longest value a text field may have, in characters.
const MaxTextLen = 500

// Formats lists every known format.
func Formats() []Format {
	return []Format{FormatCCC, FormatNAF, FormatDNINIE, FormatDate, FormatText, FormatPostalCode}
}

// Valid reports whether f is a known format.
func (f Format) Valid() bool {
	for _, k := range Formats() {
		if f == k {
			return true
		}
	}
	return false
}

// Check validates value against f with the identifier rules of
// domain/ident. It returns "" when the value is good, otherwise the reason in
// Spanish.
func (f Format) Check(value string) string {
	var err error
	switch f {
	case FormatCCC:
		_, err = ident.ParseCCC(value)
	case FormatNAF:
		_, err = ident.ParseNSS(value)
	case FormatDNINIE:
		_, err = ident.ParseDNI(value)
		if err != nil {
			if c := strings.ToUpper(strings.TrimSpace(value)); c != "" && strings.ContainsRune("XYZ", rune(c[0])) {
				_, err = ident.ParseNIE(value)
			}
		}
	case FormatDate:
		if _, e := ident.ParseDate(value); e != nil {
			return "debe ser una fecha AAAA-MM-DD válida"
		}
	case FormatText:
		v := strings.TrimSpace(value)
		if v == "" {
			return "es obligatorio"
		}
		if utf8.RuneCountInString(v) > MaxTextLen {
			return "es demasiado largo"
		}
	case FormatPostalCode:
		_, err = ident.ParsePostalCode(value)
	default:
		return "formato desconocido"
	}
	if err != nil {
		if m := errs.MessageOf(err); m != "" {
			return m
		}
		return "no tiene un formato válido"
	}
	return ""
}
