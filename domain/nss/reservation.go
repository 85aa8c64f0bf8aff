package nss

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"redengine/commands"
	"redengine/domain/ident"
	"redengine/errs"
)

// Uniqueness is enforced through the event store, not a database
// constraint: two tiny aggregates whose streams are appended with expected
// revision, so of two concurrent writers exactly one wins and the other
// re-decides on the newer state.
//
//   - PersonReservation, one stream per person ("nssperson-<key>"), says
//     which assignment currently holds the person. A person holds at most
//     one NSS: a second assignment is refused while another one is in
//     progress or holds an NSS.
//   - NumberCounter, one stream per province ("nsscounter-PP"), hands out
//     the NSS numbers of the province in sequence; a number is never handed
//     out twice, even if the assignment that got it is later eliminated.

// Stream categories of the reservation aggregates.
const (
	PersonCategory  = "nssperson"
	CounterCategory = "nsscounter"
)

// Event type names of the reservation streams (schema version 1).
const (
	TypePersonReserved  = "NSSPersonReserved"
	TypePersonReleased  = "NSSPersonReleased"
	TypeNSSNumberIssued = "NSSNumberIssued"
)

// PersonKey is the ID of a person's reservation stream: a keyed hash
// (HMAC-SHA-256 with secret, truncated to 128 bits, hex) of the document
// type and normalised number. Stream names are logged and shown to
// auditors, so the raw document number never goes into one; without the
// secret the key cannot be recomputed from a guessed DNI. The secret must
// stay the same for the life of the data (changing it forgets every
// reservation).
func PersonKey(secret []byte, doc ident.Document) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("nssperson\x00" + string(doc.Type) + "\x00" + strings.ToUpper(doc.Number)))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// Release reasons of PersonReleased.
const (
	ReleaseCancelled  = "cancelled"  // the assignment was cancelled before confirming
	ReleaseEliminated = "eliminated" // the NSS was eliminated
	ReleaseOrphan     = "orphan"     // the holder's assignment stream was never written
)

// PersonReserved: the person is held by AssignmentID.
type PersonReserved struct {
	AssignmentID string    `json:"assignmentId"`
	ReservedAt   time.Time `json:"reservedAt"`
}

// PersonReleased: AssignmentID no longer holds the person.
type PersonReleased struct {
	AssignmentID string    `json:"assignmentId"`
	Reason       string    `json:"reason"`
	ReleasedAt   time.Time `json:"releasedAt"`
}

// PersonReservation is the state of a person's reservation stream.
type PersonReservation struct {
	Holder string    // the assignment holding the person; "" when free
	Since  time.Time // when Holder reserved it
	Count  int       // how many reservations the person has had
}

// Held reports whether an assignment holds the person.
func (r PersonReservation) Held() bool { return r.Holder != "" }

// EvolvePerson applies one event to a person reservation.
func EvolvePerson(r PersonReservation, e commands.Event) PersonReservation {
	switch ev := e.Data.(type) {
	case PersonReserved:
		r.Holder, r.Since = ev.AssignmentID, ev.ReservedAt
		r.Count++
	case PersonReleased:
		if r.Holder == ev.AssignmentID {
			r.Holder, r.Since = "", time.Time{}
		}
	}
	return r
}

// PersonReservationAggregate returns the descriptor of the person
// reservation aggregate; its IDs are PersonKey values.
func PersonReservationAggregate() commands.Aggregate[PersonReservation] {
	return commands.Aggregate[PersonReservation]{
		Category: PersonCategory,
		Codec: commands.NewCodec(
			commands.Type[PersonReserved](TypePersonReserved, SchemaVersion),
			commands.Type[PersonReleased](TypePersonReleased, SchemaVersion),
		),
		Evolve: EvolvePerson,
	}
}

// ErrPersonHeldMessage is the message of the refusal of a second assignment
// for the same person.
const ErrPersonHeldMessage = "esta persona ya tiene NSS o una asignación en curso"

// Reserve reserves the person for assignmentID. Reserving again for the same
// assignment decides nothing (a retry); for another one it is an
// errs.Precondition error: the person already has an NSS or an assignment
// in progress.
func Reserve(assignmentID string) commands.Decide[PersonReservation] {
	return func(r PersonReservation, now time.Time) ([]any, error) {
		switch r.Holder {
		case assignmentID:
			return nil, nil
		case "":
			return []any{PersonReserved{AssignmentID: assignmentID, ReservedAt: now}}, nil
		}
		return nil, errs.E(errs.Op("nss.Reserve"), errs.Precondition, ErrPersonHeldMessage,
			errs.FieldError{Field: "documentNumber", Reason: ErrPersonHeldMessage})
	}
}

// ReserveReplacing reserves the person for assignmentID, taking the
// reservation over from orphan: an assignment that reserved the person but
// whose stream was never written (the request failed between the two
// appends). The caller must have checked that orphan's stream does not
// exist. If the holder is not orphan, it behaves as Reserve.
func ReserveReplacing(assignmentID, orphan string) commands.Decide[PersonReservation] {
	return func(r PersonReservation, now time.Time) ([]any, error) {
		if orphan != "" && r.Holder == orphan && orphan != assignmentID {
			return []any{
				PersonReleased{AssignmentID: orphan, Reason: ReleaseOrphan, ReleasedAt: now},
				PersonReserved{AssignmentID: assignmentID, ReservedAt: now},
			}, nil
		}
		return Reserve(assignmentID)(r, now)
	}
}

// Release frees the person held by assignmentID, for reason (ReleaseCancelled
// or ReleaseEliminated). When another assignment, or none, holds the person
// it decides nothing.
//
// Decision: an eliminated NSS is removed from the system, so the person no
// longer has one and may be assigned a new NSS (a new number: numbers are
// never reused). A cancelled assignment never produced an NSS.
func Release(assignmentID, reason string) commands.Decide[PersonReservation] {
	return func(r PersonReservation, now time.Time) ([]any, error) {
		if r.Holder != assignmentID || assignmentID == "" {
			return nil, nil
		}
		return []any{PersonReleased{AssignmentID: assignmentID, Reason: reason, ReleasedAt: now}}, nil
	}
}

// ReleaseFor says whether an assignment event frees the person, and with
// which reason: AssignmentCancelled and NSSEliminated do. A process manager
// (or the API right after the command) runs Release with it.
func ReleaseFor(event any) (reason string, ok bool) {
	switch event.(type) {
	case AssignmentCancelled:
		return ReleaseCancelled, true
	case NSSEliminated:
		return ReleaseEliminated, true
	}
	return "", false
}

// NSSNumberIssued: the counter of Province handed Number (and so NSS) to
// AssignmentID.
type NSSNumberIssued struct {
	Province     string    `json:"province"` // "28"
	Number       uint32    `json:"number"`
	NSS          string    `json:"nss"`
	AssignmentID string    `json:"assignmentId"`
	IssuedAt     time.Time `json:"issuedAt"`
}

// NumberCounter is the state of a province's counter. It depends only on the
// last event, so it can be loaded by reading the stream backwards, one
// event.
type NumberCounter struct {
	Last           uint32 // the last number handed out; 0 before the first
	LastAssignment string // who got it
	LastNSS        string // the NSS made of it
}

// FirstNumber and LastNumber bound the 8-digit number part of an NSS.
const (
	FirstNumber uint32 = 1
	LastNumber  uint32 = 99_999_999
)

// EvolveCounter applies one event to a counter.
func EvolveCounter(c NumberCounter, e commands.Event) NumberCounter {
	if ev, ok := e.Data.(NSSNumberIssued); ok {
		c = NumberCounter{Last: ev.Number, LastAssignment: ev.AssignmentID, LastNSS: ev.NSS}
	}
	return c
}

// CounterAggregate returns the descriptor of the province counter
// aggregate; its IDs are CounterID values.
func CounterAggregate() commands.Aggregate[NumberCounter] {
	return commands.Aggregate[NumberCounter]{
		Category: CounterCategory,
		Codec:    commands.NewCodec(commands.Type[NSSNumberIssued](TypeNSSNumberIssued, SchemaVersion)),
		Evolve:   EvolveCounter,
	}
}

// CounterID is the ID of the counter of province p: "28" (stream
// "nsscounter-28").
func CounterID(province int) string { return fmt.Sprintf("%02d", province) }

// IssueNumber hands the next number of province to assignmentID. If the
// last number went to the same assignment it decides nothing (a retry), and
// the caller reads the NSS from the counter's state (LastNSS). Concurrent
// issuers conflict on the stream's revision and the loser re-decides, so a
// number is never handed out twice. Running out of numbers is an
// errs.Precondition error.
func IssueNumber(province int, assignmentID string) commands.Decide[NumberCounter] {
	return func(c NumberCounter, now time.Time) ([]any, error) {
		const op errs.Op = "nss.IssueNumber"
		if c.LastAssignment == assignmentID && c.LastNSS != "" {
			return nil, nil
		}
		next := FirstNumber
		if c.Last >= FirstNumber {
			if c.Last >= LastNumber {
				return nil, errs.E(op, errs.Precondition, fmt.Sprintf("se ha agotado la numeración de NSS de la provincia %02d; solicítelo a través de CASIA", province))
			}
			next = c.Last + 1
		}
		n, err := ident.NewNSS(province, next)
		if err != nil {
			return nil, errs.E(op, errs.Internal, err)
		}
		return []any{NSSNumberIssued{Province: CounterID(province), Number: next, NSS: n.String(), AssignmentID: assignmentID, IssuedAt: now}}, nil
	}
}
