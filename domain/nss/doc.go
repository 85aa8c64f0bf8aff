// Package nss is the online assignment of a Número de Seguridad Social
// through Sistema RED (Noticias RED, July 2021): the validation of the form,
// the assignment aggregate with its three-day alta window, and the two
// reservation aggregates that make "one NSS per person" and "no NSS issued
// twice" hold through the event store.
//
// The package is pure: no I/O and no clock reads. Every decision takes now
// as a parameter; calendar days are those of Europe/Madrid.
//
// The flow, as the API wires it (docs/nss.md has the user's view):
//
//  1. Validate the Request (every failing field at once).
//  2. Check the identity document through the identity port; if the check
//     cannot be performed the process stops (errs.Unavailable), nothing is
//     stored.
//  3. Reserve the person (PersonReservationAggregate, stream
//     "nssperson-<PersonKey>"), then RequestAssignment on the assignment
//     stream ("nssassignment-<id>") → pending_confirmation.
//  4. Confirm: IssueNumber on the counter of the domicile's province
//     ("nsscounter-PP"), then Confirm with that NSS → assigned, with the
//     alta deadline. Or Cancel → cancelled, and Release the person.
//  5. RequestAlta within the window → alta_requested; Consolidate →
//     consolidated (the duplicate of the resolution becomes available);
//     AnnulAlta → eliminated. With no alta, the scheduler runs Eliminate at
//     the deadline (Deadlines maps the events) → eliminated. Every
//     elimination asks for a communication (and an email) to the usuario
//     principal of the generating autorización, and releases the person.
//
// Personal data (document, names, phone, email, address) lives only in the
// events and read models; stream names carry a keyed hash, never the
// document number, and Person.Masked is the only rendering fit for logs.
package nss
