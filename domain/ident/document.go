package ident

import (
	"strings"

	"redengine/errs"
)

// dniLetters is the control letter table: letter = dniLetters[n mod 23].
const dniLetters = "TRWAGMYFPDXBNJZSQVHLCKE"

// DNILetter returns the control letter of the DNI number n (0..99,999,999).
func DNILetter(n uint32) byte { return dniLetters[n%23] }

// DNI is a Spanish national identity document number: 8 digits and the
// control letter, normalised as "12345678Z".
type DNI struct{ v string }

// ParseDNI validates a DNI. It accepts lower case, surrounding spaces and the
// separators people type ("12.345.678-z"); a DNI with fewer than 8 digits
// must be written with its leading zeros.
func ParseDNI(s string) (DNI, error) {
	const op errs.Op = "ident.ParseDNI"
	c := clean(s)
	switch {
	case c == "":
		return DNI{}, invalid(op, "el DNI es obligatorio")
	case len(c) != 9 || !allDigits(c[:8]) || c[8] < 'A' || c[8] > 'Z':
		return DNI{}, invalid(op, "el DNI debe tener 8 dígitos seguidos de una letra")
	case DNILetter(uint32(atoi(c[:8]))) != c[8]:
		return DNI{}, invalid(op, "la letra del DNI no corresponde al número")
	}
	return DNI{c}, nil
}

// String returns the DNI as "12345678Z" ("" for the zero value).
func (d DNI) String() string { return d.v }

// IsZero reports whether d is the zero value.
func (d DNI) IsZero() bool { return d.v == "" }

// Masked returns the DNI for logs, showing only the last four digits and the
// letter: "****5678Z".
func (d DNI) Masked() string { return mask(d.v, 5) }

// MarshalText implements encoding.TextMarshaler.
func (d DNI) MarshalText() ([]byte, error) { return []byte(d.v), nil }

// UnmarshalText implements encoding.TextUnmarshaler; empty text gives the
// zero value.
func (d *DNI) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = DNI{}
		return nil
	}
	v, err := ParseDNI(string(b))
	if err == nil {
		*d = v
	}
	return err
}

// NIE is a foreigner's identity number (Número de Identidad de Extranjero):
// X, Y or Z, 7 digits and the control letter, normalised as "X1234567L".
type NIE struct{ v string }

// ParseNIE validates a NIE: the initial X, Y, Z stands for 0, 1, 2 and the
// resulting 8-digit number follows the DNI letter rule.
func ParseNIE(s string) (NIE, error) {
	const op errs.Op = "ident.ParseNIE"
	c := clean(s)
	switch {
	case c == "":
		return NIE{}, invalid(op, "el NIE es obligatorio")
	case len(c) != 9 || strings.IndexByte("XYZ", c[0]) < 0 || !allDigits(c[1:8]) || c[8] < 'A' || c[8] > 'Z':
		return NIE{}, invalid(op, "el NIE debe empezar por X, Y o Z, seguida de 7 dígitos y una letra")
	}
	n := uint32(strings.IndexByte("XYZ", c[0]))*10_000_000 + uint32(atoi(c[1:8]))
	if DNILetter(n) != c[8] {
		return NIE{}, invalid(op, "la letra del NIE no corresponde al número")
	}
	return NIE{c}, nil
}

// String returns the NIE as "X1234567L" ("" for the zero value).
func (n NIE) String() string { return n.v }

// IsZero reports whether n is the zero value.
func (n NIE) IsZero() bool { return n.v == "" }

// Masked returns the NIE for logs: "****4567L".
func (n NIE) Masked() string { return mask(n.v, 5) }

// MarshalText implements encoding.TextMarshaler.
func (n NIE) MarshalText() ([]byte, error) { return []byte(n.v), nil }

// UnmarshalText implements encoding.TextUnmarshaler; empty text gives the
// zero value.
func (n *NIE) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*n = NIE{}
		return nil
	}
	v, err := ParseNIE(string(b))
	if err == nil {
		*n = v
	}
	return err
}

// DocumentType is the kind of identity document: DNI or NIE.
type DocumentType string

// The accepted document types.
const (
	DocumentDNI DocumentType = "DNI"
	DocumentNIE DocumentType = "NIE"
)

// ParseDocumentType accepts "DNI" or "NIE" in any case.
func ParseDocumentType(s string) (DocumentType, error) {
	const op errs.Op = "ident.ParseDocumentType"
	switch DocumentType(strings.ToUpper(strings.TrimSpace(s))) {
	case DocumentDNI:
		return DocumentDNI, nil
	case DocumentNIE:
		return DocumentNIE, nil
	case "":
		return "", invalid(op, "el tipo de documento es obligatorio")
	}
	return "", invalid(op, "el tipo de documento debe ser DNI o NIE")
}

// Document is a validated identity document: its type and normalised number.
// Two documents are the same person's when they are equal (==).
type Document struct {
	Type   DocumentType `json:"type"`
	Number string       `json:"number"`
}

// ParseDocument validates number as a document of docType ("DNI" or "NIE",
// any case). Which types a procedure accepts is the caller's policy.
func ParseDocument(docType, number string) (Document, error) {
	t, err := ParseDocumentType(docType)
	if err != nil {
		return Document{}, err
	}
	switch t {
	case DocumentNIE:
		n, err := ParseNIE(number)
		if err != nil {
			return Document{}, err
		}
		return Document{DocumentNIE, n.String()}, nil
	default:
		d, err := ParseDNI(number)
		if err != nil {
			return Document{}, err
		}
		return Document{DocumentDNI, d.String()}, nil
	}
}

// IsZero reports whether d is the zero value.
func (d Document) IsZero() bool { return d == Document{} }

// String renders "DNI 12345678Z".
func (d Document) String() string {
	if d.IsZero() {
		return ""
	}
	return string(d.Type) + " " + d.Number
}

// Masked renders the document for logs: "DNI ****5678Z".
func (d Document) Masked() string {
	if d.IsZero() {
		return ""
	}
	return string(d.Type) + " " + mask(d.Number, 5)
}
