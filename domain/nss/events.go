package nss

import (
	"time"

	"redengine/commands"
	"redengine/domain/calendar"
	"redengine/domain/email"
)

// The event type names of the assignment stream, as stored in the log. Every
// event is at schema version 1.
const (
	TypeAssignmentRequested    = "NSSAssignmentRequested"
	TypeIdentityVerified       = "NSSIdentityVerified"
	TypeAssignmentCancelled    = "NSSAssignmentCancelled"
	TypeNSSAssigned            = "NSSAssigned"
	TypeAltaRequested          = "NSSAltaRequested"
	TypeAltaAnnulled           = "NSSAltaAnnulled"
	TypeAltaConsolidated       = "NSSAltaConsolidated"
	TypeNSSEliminated          = "NSSEliminated"
	TypeCommunicationRequested = "NSSCommunicationRequested"
	TypeEmailRequested         = email.TypeRequested
	TypeEmailSkipped           = email.TypeSkipped
	TypeEmailSent              = email.TypeSent
	TypeEmailFailed            = email.TypeFailed
)

// SchemaVersion is the current schema version of every event of this
// package.
const SchemaVersion = 1

// AssignmentRequested opens an assignment: the autorizado asked for an NSS
// for Person, acting for Authorization (which must later file the alta). It
// carries personal data: it must never be logged.
type AssignmentRequested struct {
	AssignmentID  string    `json:"assignmentId"`
	Authorization string    `json:"authorization"`
	RequestedBy   string    `json:"requestedBy"` // the user's subject
	Person        Person    `json:"person"`
	RequestedAt   time.Time `json:"requestedAt"`
}

// IdentityVerified records that the identity document was checked, and by
// which verifier ("builtin", "http").
type IdentityVerified struct {
	Verifier   string    `json:"verifier"`
	VerifiedAt time.Time `json:"verifiedAt"`
}

// AssignmentCancelled: the autorizado cancelled at the summary, before
// confirming. No NSS was assigned.
type AssignmentCancelled struct {
	CancelledAt time.Time `json:"cancelledAt"`
}

// NSSAssigned: the assignment was confirmed and the person got NSS.
// AssignmentDate is the day of AssignedAt in Europe/Madrid; the first alta
// may be asked for until AltaDeadline (the end of the third calendar day
// after AssignmentDate, i.e. 00:00 of the fourth, Europe/Madrid), with a
// Fecha Real from AssignmentDate to AltaLastDay (AssignmentDate + 3 days).
type NSSAssigned struct {
	NSS            string        `json:"nss"`
	Province       string        `json:"province"` // "28"
	AssignedAt     time.Time     `json:"assignedAt"`
	AssignmentDate calendar.Date `json:"assignmentDate"`
	AltaLastDay    calendar.Date `json:"altaLastDay"`
	AltaDeadline   time.Time     `json:"altaDeadline"`
}

// AltaRequested: the generating autorización asked for the first alta with
// the given Fecha Real.
type AltaRequested struct {
	FechaReal     calendar.Date `json:"fechaReal"`
	Authorization string        `json:"authorization"`
	RequestedAt   time.Time     `json:"requestedAt"`
}

// AltaAnnulled: the first alta was annulled; NSSEliminated follows.
type AltaAnnulled struct {
	AnnulledAt time.Time `json:"annulledAt"`
}

// AltaConsolidated: the first alta is consolidated in the system; from now
// the duplicate of the assignment resolution can be obtained.
type AltaConsolidated struct {
	ConsolidatedAt time.Time `json:"consolidatedAt"`
}

// EliminationReason says why an NSS was eliminated.
type EliminationReason string

// The reasons of NSSEliminated.
const (
	ReasonNoAlta       EliminationReason = "no_alta"       // no alta within the 3-day window
	ReasonAltaAnnulled EliminationReason = "alta_annulled" // the first alta was annulled
)

// NSSEliminated: the NSS was eliminated from the system. The number is never
// issued again.
type NSSEliminated struct {
	NSS          string            `json:"nss"`
	Reason       EliminationReason `json:"reason"`
	EliminatedAt time.Time         `json:"eliminatedAt"`
}

// CommunicationKindNSSEliminated is the Kind of the communication sent when
// an NSS is eliminated.
const CommunicationKindNSSEliminated = "nss_eliminado"

// CommunicationRequested is a communication to the usuario principal of the
// autorización that generated the NSS (shown in the Sede; EmailRequested
// carries the email aviso when the autorización has a contact address,
// EmailSkipped says why there was none otherwise).
type CommunicationRequested struct {
	CommunicationID  string    `json:"communicationId"`
	Kind             string    `json:"kind"`
	Authorization    string    `json:"authorization"`
	UsuarioPrincipal string    `json:"usuarioPrincipal,omitempty"`
	Subject          string    `json:"subject"`
	Body             string    `json:"body"`
	RequestedAt      time.Time `json:"requestedAt"`
}

// EmailTemplateNSSEliminated is the template name of the email aviso of an
// elimination.
const EmailTemplateNSSEliminated = "nss_eliminado"

// The email events are the shared ones of domain/email (one mailer serves
// every aggregate); the aliases keep this package's vocabulary.
type (
	EmailRequested = email.Requested
	EmailSkipped   = email.Skipped
	EmailSent      = email.Sent
	EmailFailed    = email.Failed
)

// Codec returns the codec of the assignment stream's events.
func Codec() *commands.Codec {
	return commands.NewCodec(
		commands.Type[AssignmentRequested](TypeAssignmentRequested, SchemaVersion),
		commands.Type[IdentityVerified](TypeIdentityVerified, SchemaVersion),
		commands.Type[AssignmentCancelled](TypeAssignmentCancelled, SchemaVersion),
		commands.Type[NSSAssigned](TypeNSSAssigned, SchemaVersion),
		commands.Type[AltaRequested](TypeAltaRequested, SchemaVersion),
		commands.Type[AltaAnnulled](TypeAltaAnnulled, SchemaVersion),
		commands.Type[AltaConsolidated](TypeAltaConsolidated, SchemaVersion),
		commands.Type[NSSEliminated](TypeNSSEliminated, SchemaVersion),
		commands.Type[CommunicationRequested](TypeCommunicationRequested, SchemaVersion),
		commands.Type[EmailRequested](TypeEmailRequested, SchemaVersion),
		commands.Type[EmailSkipped](TypeEmailSkipped, SchemaVersion),
		commands.Type[EmailSent](TypeEmailSent, SchemaVersion),
		commands.Type[EmailFailed](TypeEmailFailed, SchemaVersion),
	)
}
