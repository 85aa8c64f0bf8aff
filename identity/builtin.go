package identity

import (
	"context"
	"slices"
	"strings"

	"redengine/domain/ident"
	"redengine/errs"
)

// Builtin is the verifier of the embedded default, for running the engine
// without an external service (make run, demos, tests). It accepts every
// well-formed document (a correct control letter) except:
//
//   - the test numbers of NonExistentDocuments, which it declares not to
//     exist (a clear "not valid" answer);
//   - UnavailableDocument, for which it behaves as a service that cannot be
//     reached (errs.Unavailable), so the "check cannot be performed" path
//     can be tried by hand.
//
// It performs no real identity check. The zero value is ready to use.
type Builtin struct{}

// NonExistentDocuments are the document numbers (with correct letters) that
// Builtin declares not to exist.
func NonExistentDocuments() []string {
	return []string{"11111111H", "22222222J", "X1111111G", "Y2222222E"}
}

// UnavailableDocument is the DNI for which Builtin answers as if the
// verification service were down.
const UnavailableDocument = "33333333P"

// Name is "builtin".
func (Builtin) Name() string { return "builtin" }

// Verify checks doc as described on Builtin.
func (Builtin) Verify(ctx context.Context, doc Document) (Result, error) {
	const op errs.Op = "identity.Builtin.Verify"
	if err := ctx.Err(); err != nil {
		return Result{}, unavailable(op, doc.Type, err)
	}
	d, err := ident.ParseDocument(string(doc.Type), doc.Number)
	if err != nil {
		reason := errs.MessageOf(err)
		return Result{Valid: false, Reason: reason}, notValid(op, doc.Type, reason)
	}
	switch {
	case d.Number == UnavailableDocument:
		return Result{}, unavailable(op, d.Type, nil)
	case slices.Contains(NonExistentDocuments(), d.Number):
		reason := "el " + string(d.Type) + " no consta en el registro de identidad"
		return Result{Valid: false, Reason: reason}, notValid(op, d.Type, reason)
	case strings.TrimSpace(doc.FirstName) == "" || strings.TrimSpace(doc.Surname1) == "":
		reason := "faltan el nombre o el primer apellido de la persona"
		return Result{Valid: false, Reason: reason}, notValid(op, d.Type, reason)
	}
	return Result{Valid: true}, nil
}
