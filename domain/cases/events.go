package cases

import (
	"time"

	"redengine/catalog/casia"
	"redengine/commands"
	"redengine/domain/calendar"
	"redengine/domain/email"
	"redengine/eventstore"
)

// Status is the state of a case ("state" in the API).
type Status string

// The states of a case.
const (
	Abierto              Status = "abierto"
	EnTramitacion        Status = "en_tramitacion"
	PendienteInformacion Status = "pendiente_informacion"
	Resuelto             Status = "resuelto"
	Cerrado              Status = "cerrado"
	CerradoDeOficio      Status = "cerrado_de_oficio"
)

// Final reports whether no further processing can happen in s.
func (s Status) Final() bool { return s == Resuelto || s == Cerrado || s == CerradoDeOficio }

// Label returns the state as users read it.
func (s Status) Label() string {
	switch s {
	case Abierto:
		return "abierto"
	case EnTramitacion:
		return "en tramitación"
	case PendienteInformacion:
		return "pendiente de información"
	case Resuelto:
		return "resuelto"
	case Cerrado:
		return "cerrado"
	case CerradoDeOficio:
		return "cerrado de oficio"
	}
	return string(s)
}

// Origin says who opened a case.
type Origin string

// The origins of a case.
const (
	OriginAutorizado Origin = "autorizado" // opened by an autorizado RED for one of its autorizaciones
	OriginTGSS       Origin = "tgss"       // opened by a tramitador, addressed to an autorización
)

// The roles the decisions know (the same names as package auth's roles).
const (
	RoleAutorizado = "autorizado"
	RoleTramitador = "tramitador"
	RoleSystem     = "system" // the engine itself: the scheduler and the notifier
)

// NotificationState is the state of the electronic notification of a
// desistimiento.
type NotificationState string

// The states of a notification by puesta a disposición (art. 43 Ley 39/2015).
const (
	PuestaADisposicion NotificationState = "puesta_a_disposicion"
	Accedida           NotificationState = "accedida"
	Rechazada          NotificationState = "rechazada"
)

// Document is the metadata of a document attached to a case: its bytes are
// kept elsewhere (the data dir) and named by their SHA-256.
type Document struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	MediaType string    `json:"mediaType"`
	Size      int64     `json:"size"`
	SHA256    string    `json:"sha256"`
	AddedAt   time.Time `json:"addedAt"`
	AddedBy   string    `json:"addedBy"`
}

// Justificante is the receipt of a trámite: its number and the date and time
// of presentation.
type Justificante struct {
	Number   string    `json:"number"`
	IssuedAt time.Time `json:"issuedAt"`
}

// Event type names (schema version 1 each).
const (
	TypeCaseOpened                = "CaseOpened"
	TypeCaseRouted                = "CaseRouted"
	TypeDocumentAdded             = "DocumentAdded"
	TypeReplyAdded                = "ReplyAdded"
	TypeCaseReclassified          = "CaseReclassified"
	TypeInformationRequested      = "InformationRequested"
	TypeInformationProvided       = "InformationProvided"
	TypeCaseResolved              = "CaseResolved"
	TypeCaseClosedMisfiled        = "CaseClosedMisfiled"
	TypeCaseClosedDeOficio        = "CaseClosedDeOficio"
	TypeDesistimientoIssued       = "DesistimientoIssued"
	TypeNotificationMadeAvailable = "NotificationMadeAvailable"
	TypeNotificationAccessed      = "NotificationAccessed"
	TypeNotificationRejected      = "NotificationRejected"
	TypeEmailRequested            = email.TypeRequested
	TypeEmailSkipped              = email.TypeSkipped
	TypeEmailSent                 = email.TypeSent
	TypeEmailFailed               = email.TypeFailed
	TypeNumberReserved            = "CaseNumberReserved"
)

// SchemaVersion is the schema version of every event of this package.
const SchemaVersion = 1

// CaseOpened starts a case. For a trámite it carries the justificante.
type CaseOpened struct {
	CaseID           string               `json:"caseId"`
	Number           string               `json:"number"`
	Type             casia.Type           `json:"type"`
	Classification   casia.Classification `json:"classification"`
	CatalogueVersion string               `json:"catalogueVersion"`
	Origin           Origin               `json:"origin"`
	Authorization    string               `json:"authorization"`
	Subject          string               `json:"subject"`
	Body             string               `json:"body"`
	ExtraData        map[string]string    `json:"extraData,omitempty"`
	Documents        []Document           `json:"documents,omitempty"`
	OpenedBy         eventstore.Actor     `json:"openedBy"`
	OpenedAt         time.Time            `json:"openedAt"`
	Justificante     *Justificante        `json:"justificante,omitempty"`
}

// CaseRouted sends a case to a unit's queue (on opening and on every
// reclassification).
type CaseRouted struct {
	Unit           string               `json:"unit"`
	Classification casia.Classification `json:"classification"`
	Reason         string               `json:"reason"` // "apertura" or "reclasificacion"
	At             time.Time            `json:"at"`
}

// DocumentAdded attaches a document to a case outside any message.
type DocumentAdded struct {
	Document Document         `json:"document"`
	By       eventstore.Actor `json:"by"`
}

// ReplyAdded is a message in the case's thread.
type ReplyAdded struct {
	Text      string           `json:"text"`
	Documents []Document       `json:"documents,omitempty"`
	By        eventstore.Actor `json:"by"`
	At        time.Time        `json:"at"`
}

// CaseReclassified changes the classification of a consulta or
// error_incidencia; a CaseRouted follows.
type CaseReclassified struct {
	From             casia.Classification `json:"from"`
	To               casia.Classification `json:"to"`
	CatalogueVersion string               `json:"catalogueVersion"`
	ExtraData        map[string]string    `json:"extraData,omitempty"` // fields added or changed
	By               eventstore.Actor     `json:"by"`
	At               time.Time            `json:"at"`
}

// InformationRequested is a requerimiento: the case waits for the
// autorizado until Deadline (exclusive), the instant the term of TermDays
// días naturales is over; LastDay is the term's last day.
type InformationRequested struct {
	RequestNo   int              `json:"requestNo"` // 1 for the first request of the case, then 2, …
	Text        string           `json:"text"`
	Documents   []Document       `json:"documents,omitempty"`
	By          eventstore.Actor `json:"by"`
	RequestedAt time.Time        `json:"requestedAt"`
	TermDays    int              `json:"termDays"`
	LastDay     calendar.Date    `json:"lastDay"`
	Deadline    time.Time        `json:"deadline"`
}

// InformationProvided answers the open requerimiento and clears its deadline.
type InformationProvided struct {
	RequestNo int              `json:"requestNo"`
	Text      string           `json:"text"`
	Documents []Document       `json:"documents,omitempty"`
	By        eventstore.Actor `json:"by"`
	At        time.Time        `json:"at"`
}

// CaseResolved ends a case with the tramitador's answer.
type CaseResolved struct {
	Text      string           `json:"text"`
	Documents []Document       `json:"documents,omitempty"`
	By        eventstore.Actor `json:"by"`
	At        time.Time        `json:"at"`
}

// CaseClosedMisfiled closes an error_incidencia whose matter needs a trámite.
type CaseClosedMisfiled struct {
	Reason string           `json:"reason"`
	By     eventstore.Actor `json:"by"`
	At     time.Time        `json:"at"`
}

// CaseClosedDeOficio closes a case whose requerimiento went unanswered for
// the whole term.
type CaseClosedDeOficio struct {
	RequestNo   int       `json:"requestNo"`
	RequestedAt time.Time `json:"requestedAt"`
	Deadline    time.Time `json:"deadline"`
	ClosedAt    time.Time `json:"closedAt"`
}

// DesistimientoFacts is what a Resolución de Desistimiento states, frozen at
// issue so the document is rendered from the event alone.
type DesistimientoFacts struct {
	IssuingBody      string               `json:"issuingBody"` // "Dirección Provincial de Madrid"
	IssuingUnit      string               `json:"issuingUnit"` // the competent unit that handled the case
	Province         string               `json:"province"`
	CaseID           string               `json:"caseId"`
	CaseNumber       string               `json:"caseNumber"`
	CaseType         casia.Type           `json:"caseType"`
	Classification   casia.Classification `json:"classification"`
	Subject          string               `json:"subject"`
	OpenedAt         time.Time            `json:"openedAt"`
	Justificante     string               `json:"justificante,omitempty"`
	Authorization    string               `json:"authorization"`
	CCC              string               `json:"ccc,omitempty"`
	NAF              string               `json:"naf,omitempty"`
	RequestNo        int                  `json:"requestNo"`
	RequestText      string               `json:"requestText"`
	RequestedAt      time.Time            `json:"requestedAt"`
	RequestedBy      string               `json:"requestedBy"`
	TermDays         int                  `json:"termDays"`
	LastDay          calendar.Date        `json:"lastDay"`
	Deadline         time.Time            `json:"deadline"`
	ClosedAt         time.Time            `json:"closedAt"`
	AppealBody       string               `json:"appealBody"` // the body a recurso de alzada goes to
	AppealTermMonths int                  `json:"appealTermMonths"`
}

// DesistimientoIssued is the Resolución de Desistimiento of a trámite closed
// de oficio (arts. 21 and 68 Ley 39/2015).
type DesistimientoIssued struct {
	ResolutionID     string             `json:"resolutionId"`
	Number           string             `json:"number"`
	VerificationCode string             `json:"verificationCode"`
	IssuedAt         time.Time          `json:"issuedAt"`
	Facts            DesistimientoFacts `json:"facts"`
}

// NotificationMadeAvailable puts a resolution at the autorización's disposal
// in the Sede Electrónica; if not accessed before RejectionDeadline it is
// deemed rejected.
type NotificationMadeAvailable struct {
	NotificationID    string        `json:"notificationId"`
	ResolutionID      string        `json:"resolutionId"`
	Authorization     string        `json:"authorization"`
	MadeAvailableAt   time.Time     `json:"madeAvailableAt"`
	AccessDays        int           `json:"accessDays"`
	LastDay           calendar.Date `json:"lastDay"`
	RejectionDeadline time.Time     `json:"rejectionDeadline"`
}

// NotificationAccessed records that the autorizado opened the notification:
// it is notified from this instant.
type NotificationAccessed struct {
	NotificationID string           `json:"notificationId"`
	By             eventstore.Actor `json:"by"`
	At             time.Time        `json:"at"`
}

// NotificationRejected records that the access term passed without access
// (art. 43.2 Ley 39/2015).
type NotificationRejected struct {
	NotificationID string    `json:"notificationId"`
	At             time.Time `json:"at"`
}

// The email events are the shared ones of domain/email (one mailer serves
// every aggregate); the aliases keep this package's vocabulary.
type (
	EmailRequested = email.Requested
	EmailSkipped   = email.Skipped
	EmailSent      = email.Sent
	EmailFailed    = email.Failed
)

// NewCodec returns the codec of the case events.
func NewCodec() *commands.Codec {
	return commands.NewCodec(
		commands.Type[CaseOpened](TypeCaseOpened, SchemaVersion),
		commands.Type[CaseRouted](TypeCaseRouted, SchemaVersion),
		commands.Type[DocumentAdded](TypeDocumentAdded, SchemaVersion),
		commands.Type[ReplyAdded](TypeReplyAdded, SchemaVersion),
		commands.Type[CaseReclassified](TypeCaseReclassified, SchemaVersion),
		commands.Type[InformationRequested](TypeInformationRequested, SchemaVersion),
		commands.Type[InformationProvided](TypeInformationProvided, SchemaVersion),
		commands.Type[CaseResolved](TypeCaseResolved, SchemaVersion),
		commands.Type[CaseClosedMisfiled](TypeCaseClosedMisfiled, SchemaVersion),
		commands.Type[CaseClosedDeOficio](TypeCaseClosedDeOficio, SchemaVersion),
		commands.Type[DesistimientoIssued](TypeDesistimientoIssued, SchemaVersion),
		commands.Type[NotificationMadeAvailable](TypeNotificationMadeAvailable, SchemaVersion),
		commands.Type[NotificationAccessed](TypeNotificationAccessed, SchemaVersion),
		commands.Type[NotificationRejected](TypeNotificationRejected, SchemaVersion),
		commands.Type[EmailRequested](TypeEmailRequested, SchemaVersion),
		commands.Type[EmailSkipped](TypeEmailSkipped, SchemaVersion),
		commands.Type[EmailSent](TypeEmailSent, SchemaVersion),
		commands.Type[EmailFailed](TypeEmailFailed, SchemaVersion),
	)
}

// Category is the stream category of cases: a case's stream is "case-<id>".
const Category = "case"

// Aggregate returns the case aggregate for the command pipeline.
func Aggregate() commands.Aggregate[State] {
	return commands.Aggregate[State]{Category: Category, Codec: NewCodec(), Evolve: Evolve}
}
