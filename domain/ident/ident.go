// Package ident holds the identifiers and contact data that the engine
// validates at its edge: DNI, NIE, NSS (número de afiliación, NAF), CCC,
// postal code, Spanish mobile phone, email, ISO 3166-1 alpha-3 country and
// civil date.
//
// Every type is a small value with an unexported field, so a non-zero value
// can only come from its constructor and is always valid and normalised
// (spaces trimmed, letters upper-cased, separators removed). Constructors
// return an errs.Invalid error whose message is the reason in Spanish, worded
// for the person who filled in the form, such as "la letra del DNI no
// corresponde al número"; the caller attaches it to the field name:
//
//	if _, err := ident.ParseDNI(in.DocumentNumber); err != nil {
//		fields.Add("documentNumber", errs.MessageOf(err))
//	}
//
// Values implement encoding.TextMarshaler/TextUnmarshaler (so JSON carries
// them as strings and re-validates them on the way in) and have a Masked
// form for logs, which must never carry personal data in clear.
//
// The package is pure: no clock, no I/O, no package state that changes.
package ident

import (
	"strings"

	"redengine/errs"
)

func invalid(op errs.Op, reason string) error { return errs.E(op, errs.Invalid, reason) }

// clean trims s, upper-cases it and removes the separators people type
// inside identifiers (spaces, hyphens, dots, slashes).
func clean(s string) string {
	s = strings.TrimSpace(s)
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch r {
		case ' ', '\t', '-', '.', '/':
			continue
		}
		if r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// atoi converts a string of ASCII digits (checked by the caller) to a
// number; at most 18 digits.
func atoi(s string) uint64 {
	var n uint64
	for i := 0; i < len(s); i++ {
		n = n*10 + uint64(s[i]-'0')
	}
	return n
}

// mask keeps the last keep bytes of s and replaces the others with '*'.
func mask(s string, keep int) string {
	if len(s) <= keep {
		return strings.Repeat("*", len(s))
	}
	return strings.Repeat("*", len(s)-keep) + s[len(s)-keep:]
}
