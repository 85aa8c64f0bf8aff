// Package identity is the identity check of the NSS assignment: a port
// (Verifier) and its adapters — HTTPVerifier, which asks an external
// verification service (REDENGINE_IDENTITY_URL), and Builtin, the embedded
// default.
//
// The seed: "Se comprobará que el identificador de persona física –DNI– es
// válido. Si no se puede realizar la comprobación se emitirá el error
// correspondiente y no se podrá seguir con el proceso." So every adapter
// distinguishes three outcomes:
//
//   - the document is valid: Result{Valid: true}, nil;
//   - the document is not valid (a clear answer): Result{Valid: false,
//     Reason}, and an errs.Invalid error on the field documentNumber;
//   - the check could not be performed (service down, timeout, 5xx, a reply
//     that cannot be understood): an errs.Unavailable error with the message
//     "no se ha podido realizar la comprobación del DNI; inténtelo más
//     tarde", and the process stops.
//
// Documents are personal data: no adapter logs them, and no error carries
// them.
package identity

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"redengine/domain/calendar"
	"redengine/domain/ident"
	"redengine/domain/nss"
	"redengine/errs"
)

// Document is what is checked: the identity document and the person's
// names and birth date.
type Document struct {
	Type      ident.DocumentType `json:"documentType"`
	Number    string             `json:"documentNumber"`
	FirstName string             `json:"firstName"`
	Surname1  string             `json:"surname1"`
	Surname2  string             `json:"surname2"`
	BirthDate calendar.Date      `json:"birthDate"`
}

// DocumentOf is the document of a validated person.
func DocumentOf(p nss.Person) Document {
	return Document{Type: p.DocumentType, Number: p.DocumentNumber, FirstName: p.FirstName,
		Surname1: p.Surname1, Surname2: p.Surname2, BirthDate: p.BirthDate}
}

// Result is the answer of a check that could be performed.
type Result struct {
	Valid  bool   `json:"valid"`
	Reason string `json:"reason,omitempty"` // why the document is not valid, in Spanish
}

// Verifier checks identity documents.
type Verifier interface {
	// Verify checks doc. A performed check returns its Result (and, when
	// the document is not valid, also an errs.Invalid error on
	// documentNumber); a check that cannot be performed returns an
	// errs.Unavailable error.
	Verify(ctx context.Context, doc Document) (Result, error)
}

// Namer is implemented by verifiers that say their name, recorded in the
// NSSIdentityVerified event ("builtin", "http").
type Namer interface{ Name() string }

// NameOf returns v's name, or its Go type when it has none.
func NameOf(v Verifier) string {
	if n, ok := v.(Namer); ok {
		return n.Name()
	}
	return fmt.Sprintf("%T", v)
}

// Check runs v on a validated person and returns what nss.RequestAssignment
// needs. Any error (errs.Unavailable: the check could not be performed;
// errs.Invalid: the document is not valid) means the process stops and
// nothing is stored.
func Check(ctx context.Context, v Verifier, p nss.Person) (nss.Verification, error) {
	r, err := v.Verify(ctx, DocumentOf(p))
	ver := nss.Verification{Verifier: NameOf(v), Valid: r.Valid && err == nil, Reason: r.Reason}
	if err != nil {
		return ver, err
	}
	if !r.Valid {
		return ver, notValid(errs.Op("identity.Check"), p.DocumentType, r.Reason)
	}
	return ver, nil
}

// unavailable is the error of a check that could not be performed.
func unavailable(op errs.Op, t ident.DocumentType, cause error) error {
	if cause == nil {
		return errs.E(op, errs.Unavailable, UnavailableMessage(t))
	}
	return errs.E(op, errs.Unavailable, UnavailableMessage(t), cause)
}

// UnavailableMessage is the message of a check that could not be
// performed: "no se ha podido realizar la comprobación del DNI; inténtelo
// más tarde" (NIE for a NIE).
func UnavailableMessage(t ident.DocumentType) string {
	what := "DNI"
	if t == ident.DocumentNIE {
		what = "NIE"
	}
	return "no se ha podido realizar la comprobación del " + what + "; inténtelo más tarde"
}

// notValid is the error of a document the check declared not valid.
func notValid(op errs.Op, t ident.DocumentType, reason string) error {
	what := "DNI"
	if t == ident.DocumentNIE {
		what = "NIE"
	}
	if reason == "" {
		reason = "el " + what + " no consta o no corresponde a los datos de la persona"
	}
	return errs.E(op, errs.Invalid, "el "+what+" no ha superado la comprobación de identidad",
		errs.FieldError{Field: "documentNumber", Reason: reason})
}

// Environment variables read by FromEnv.
const (
	EnvURL     = "REDENGINE_IDENTITY_URL"
	EnvTimeout = "REDENGINE_IDENTITY_TIMEOUT"
)

// DefaultTimeout is how long HTTPVerifier waits for the service unless
// configured otherwise.
const DefaultTimeout = 5 * time.Second

// FromEnv returns the configured verifier: HTTPVerifier when
// REDENGINE_IDENTITY_URL is set (timeout from REDENGINE_IDENTITY_TIMEOUT, a
// Go duration such as "3s", default DefaultTimeout), Builtin otherwise.
// getenv is usually os.Getenv; nil means os.Getenv.
func FromEnv(getenv func(string) string) (Verifier, error) {
	const op errs.Op = "identity.FromEnv"
	if getenv == nil {
		getenv = os.Getenv
	}
	url := strings.TrimSpace(getenv(EnvURL))
	if url == "" {
		return Builtin{}, nil
	}
	timeout := DefaultTimeout
	if s := strings.TrimSpace(getenv(EnvTimeout)); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return nil, errs.E(op, errs.Invalid, EnvTimeout+" debe ser una duración positiva, como 5s")
		}
		timeout = d
	}
	return NewHTTPVerifier(url, timeout)
}
