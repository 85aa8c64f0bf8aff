// Package errs gives every error of the engine a kind, so that each layer can
// decide what to do with it and the API maps it once to an HTTP status.
//
// The shape follows upspin's errors package: E(op, kind, err, ...) builds an
// *Error from whatever it is given.
package errs

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies an error by what the caller can do about it.
type Kind uint8

// The kinds of error. Other means "not classified"; KindOf reports Internal
// for it.
const (
	Other           Kind = iota
	Invalid              // the request is malformed or breaks a rule of the input
	NotFound             // the thing named does not exist
	Conflict             // a concurrent change won; retrying may succeed
	Precondition         // the current state does not allow the operation
	Forbidden            // the caller is known but may not do this
	Unauthenticated      // the caller is not known
	Unavailable          // a dependency cannot be reached now; retry later
	Internal             // a bug or an unexpected failure
	TooMany              // the caller sent too many requests; retry later
)

var kindNames = [...]string{
	Other:           "other",
	Invalid:         "invalid",
	NotFound:        "not_found",
	Conflict:        "conflict",
	Precondition:    "precondition",
	Forbidden:       "forbidden",
	Unauthenticated: "unauthenticated",
	Unavailable:     "unavailable",
	Internal:        "internal",
	TooMany:         "too_many_requests",
}

// String returns the kind's wire name ("invalid", "not_found", ...).
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "other"
}

// Op names the operation that failed, such as "sqlite.Append".
type Op string

// FieldError is one invalid field and the reason, worded for the person who
// filled it in.
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// Fields is a list of field errors; passed to E it is attached to the error.
type Fields []FieldError

// Add appends a field error.
func (f *Fields) Add(field, reason string) { *f = append(*f, FieldError{field, reason}) }

// Error is the engine's error value.
type Error struct {
	Op      Op     // operation being performed
	Kind    Kind   // class of error
	Message string // human-readable detail (Spanish where users read it)
	Fields  Fields // invalid fields, for Kind Invalid
	Err     error  // underlying error, if any
}

// E builds an *Error from its arguments: an Op, a Kind, a string (the
// message), an error (the cause), Fields or a FieldError. When the cause is an
// *Error and no kind is given, the cause's kind is kept.
func E(args ...any) error {
	if len(args) == 0 {
		panic("errs.E with no arguments")
	}
	e := &Error{}
	for _, a := range args {
		switch a := a.(type) {
		case Op:
			e.Op = a
		case Kind:
			e.Kind = a
		case string:
			e.Message = a
		case Fields:
			e.Fields = append(e.Fields, a...)
		case []FieldError:
			e.Fields = append(e.Fields, a...)
		case FieldError:
			e.Fields = append(e.Fields, a)
		case error:
			e.Err = a
		default:
			e.Message = fmt.Sprint(a)
		}
	}
	return e
}

// Error renders "op: message: cause".
func (e *Error) Error() string {
	var b strings.Builder
	add := func(s string) {
		if s == "" {
			return
		}
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(s)
	}
	add(string(e.Op))
	if e.Kind != Other && e.Message == "" && e.Err == nil {
		add(e.Kind.String())
	}
	add(e.Message)
	for _, f := range e.Fields {
		add(f.Field + " " + f.Reason)
	}
	if e.Err != nil {
		add(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrKind reports the kind of this error, looking into the cause when the
// error itself has none.
func (e *Error) ErrKind() Kind {
	if e.Kind != Other {
		return e.Kind
	}
	if e.Err != nil {
		return KindOf(e.Err)
	}
	return Other
}

// Kinder is implemented by typed errors of other packages that carry a kind,
// such as the event store's wrong-expected-version error.
type Kinder interface{ ErrKind() Kind }

// KindOf reports the kind of err: the first kind found along its chain,
// Internal when none is, Other for a nil error.
func KindOf(err error) Kind {
	if err == nil {
		return Other
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		if k, ok := e.(Kinder); ok {
			if kind := k.ErrKind(); kind != Other {
				return kind
			}
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, inner := range j.Unwrap() {
				if kind := KindOf(inner); kind != Internal {
					return kind
				}
			}
			break
		}
	}
	return Internal
}

// Is reports whether err is of the given kind.
func Is(kind Kind, err error) bool { return err != nil && KindOf(err) == kind }

// FieldsOf returns every field error along err's chain.
func FieldsOf(err error) Fields {
	var out Fields
	for e := err; e != nil; e = errors.Unwrap(e) {
		if ee, ok := e.(*Error); ok {
			out = append(out, ee.Fields...)
		}
	}
	return out
}

// MessageOf returns the first non-empty message along err's chain.
func MessageOf(err error) string {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if ee, ok := e.(*Error); ok && ee.Message != "" {
			return ee.Message
		}
	}
	return ""
}
