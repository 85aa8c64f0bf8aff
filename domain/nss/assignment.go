package nss

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"redengine/commands"
	"redengine/domain/calendar"
	"redengine/domain/ident"
	"redengine/errs"
	"redengine/eventstore"
)

// Category is the stream category of assignments: "nssassignment-<id>".
const Category = "nssassignment"

// AltaWindowDays is the length of the alta window: the first alta must be
// asked for within the three calendar days right after the assignment, and
// its Fecha Real may be at most three days after the assignment date.
const AltaWindowDays = 3

// Status is the state of an assignment as the API shows it.
type Status string

// The states of an assignment.
//
//	(none) ──RequestAssignment──▶ pending_confirmation ──Cancel──▶ cancelled
//	                          │Confirm
//	                          ▼
//	                       assigned ──Eliminate (window over)──▶ eliminated
//	                          │RequestAlta                        ▲
//	                          ▼                                   │
//	                    alta_requested ──AnnulAlta────────────────┘
//	                          │Consolidate
//	                          ▼
//	                     consolidated
const (
	StatusNone                Status = ""
	StatusPendingConfirmation Status = "pending_confirmation"
	StatusCancelled           Status = "cancelled"
	StatusAssigned            Status = "assigned"
	StatusAltaRequested       Status = "alta_requested"
	StatusConsolidated        Status = "consolidated"
	StatusEliminated          Status = "eliminated"
)

// The roles the decisions look at (the values of auth.Role).
const (
	RoleAutorizado = "autorizado"
	RoleTramitador = "tramitador"
	RoleAuditor    = "auditor"
	RoleSystem     = "system"
)

// State is an assignment folded from its stream.
type State struct {
	ID            string    `json:"id"`
	Status        Status    `json:"state"`
	Authorization string    `json:"authorization"`
	RequestedBy   string    `json:"requestedBy"`
	RequestedAt   time.Time `json:"requestedAt"`
	Person        Person    `json:"person"`
	Verifier      string    `json:"verifier,omitempty"`

	NSS            string        `json:"nss,omitempty"`
	Province       string        `json:"province,omitempty"`
	AssignedAt     time.Time     `json:"assignedAt,omitzero"`
	AssignmentDate calendar.Date `json:"assignmentDate,omitzero"`
	AltaLastDay    calendar.Date `json:"altaLastDay,omitzero"`
	AltaDeadline   time.Time     `json:"altaDeadline,omitzero"`

	FechaReal         calendar.Date     `json:"fechaReal,omitzero"`
	AltaRequestedAt   time.Time         `json:"altaRequestedAt,omitzero"`
	ConsolidatedAt    time.Time         `json:"consolidatedAt,omitzero"`
	CancelledAt       time.Time         `json:"cancelledAt,omitzero"`
	EliminatedAt      time.Time         `json:"eliminatedAt,omitzero"`
	EliminationReason EliminationReason `json:"eliminationReason,omitempty"`

	Emails []Email `json:"emails,omitempty"`
}

// The statuses of an email of the assignment.
const (
	EmailStatusRequested = "requested"
	EmailStatusSkipped   = "skipped"
	EmailStatusSent      = "sent"
	EmailStatusFailed    = "failed" // finally: the notifier gave up
)

// Email is the delivery status of one email of the assignment.
type Email struct {
	ID       string `json:"id"`
	Template string `json:"template"`
	Status   string `json:"status"`
	Attempts int    `json:"attempts,omitempty"`
}

// Exists reports whether the assignment was requested.
func (s State) Exists() bool { return s.Status != StatusNone }

// Evolve applies one event to the state. It is pure.
func Evolve(s State, e commands.Event) State {
	switch ev := e.Data.(type) {
	case AssignmentRequested:
		s.ID = ev.AssignmentID
		s.Status = StatusPendingConfirmation
		s.Authorization = ev.Authorization
		s.RequestedBy = ev.RequestedBy
		s.RequestedAt = ev.RequestedAt
		s.Person = ev.Person
	case IdentityVerified:
		s.Verifier = ev.Verifier
	case AssignmentCancelled:
		s.Status = StatusCancelled
		s.CancelledAt = ev.CancelledAt
	case NSSAssigned:
		s.Status = StatusAssigned
		s.NSS = ev.NSS
		s.Province = ev.Province
		s.AssignedAt = ev.AssignedAt
		s.AssignmentDate = ev.AssignmentDate
		s.AltaLastDay = ev.AltaLastDay
		s.AltaDeadline = ev.AltaDeadline
	case AltaRequested:
		s.Status = StatusAltaRequested
		s.FechaReal = ev.FechaReal
		s.AltaRequestedAt = ev.RequestedAt
	case AltaAnnulled:
		// NSSEliminated, appended with it, moves the state.
	case AltaConsolidated:
		s.Status = StatusConsolidated
		s.ConsolidatedAt = ev.ConsolidatedAt
	case NSSEliminated:
		s.Status = StatusEliminated
		s.EliminatedAt = ev.EliminatedAt
		s.EliminationReason = ev.Reason
	case EmailRequested:
		s.Emails = append(slices.Clone(s.Emails), Email{ID: ev.EmailID, Template: ev.Template, Status: EmailStatusRequested})
	case EmailSkipped:
		s.Emails = append(slices.Clone(s.Emails), Email{ID: ev.EmailID, Template: ev.Template, Status: EmailStatusSkipped})
	case EmailSent:
		s.Emails = s.withEmail(ev.EmailID, func(m *Email) { m.Status, m.Attempts = EmailStatusSent, ev.Attempt })
	case EmailFailed:
		s.Emails = s.withEmail(ev.EmailID, func(m *Email) {
			m.Attempts = ev.Attempt
			if ev.Final {
				m.Status = EmailStatusFailed
			}
		})
	}
	return s
}

// withEmail returns a copy of the emails with fn applied to the one with id.
func (s State) withEmail(id string, fn func(*Email)) []Email {
	out := slices.Clone(s.Emails)
	for i := range out {
		if out[i].ID == id {
			fn(&out[i])
		}
	}
	return out
}

// Aggregate returns the descriptor of the assignment aggregate for the
// command pipeline. Assignment IDs are derived from the creating command
// (commands.DeriveID(commandID, Category)).
func Aggregate() commands.Aggregate[State] {
	return commands.Aggregate[State]{Category: Category, Codec: Codec(), Evolve: Evolve}
}

// Verification is the outcome of the identity check that RequestAssignment needs:
// which verifier performed it and its answer. When the check could not be
// performed there is no Verification: the process stops before RequestAssignment.
type Verification struct {
	Verifier string
	Valid    bool
	Reason   string // why the document is not valid
}

// NewAssignment is the input of RequestAssignment.
type NewAssignment struct {
	AssignmentID  string
	Authorization string // the autorización the user acts for, resolved by the API
	Person        Person // the output of Validate
	Verification  Verification
}

// RequestAssignment opens the assignment: it records the person and the identity
// check and leaves the assignment pending confirmation. Only an autorizado
// acting for cmd.Authorization may ask. The identity check must have been
// performed and passed.
//
// The person must hold the PersonReservation for cmd.AssignmentID before
// this runs (see PersonReservationAggregate).
func RequestAssignment(cmd NewAssignment, by eventstore.Actor) commands.Decide[State] {
	return func(s State, now time.Time) ([]any, error) {
		const op errs.Op = "nss.RequestAssignment"
		switch {
		case s.Exists():
			return nil, errs.E(op, errs.Precondition, "la asignación ya existe")
		case cmd.AssignmentID == "" || cmd.Authorization == "" || cmd.Person.DocumentNumber == "":
			return nil, errs.E(op, errs.Internal, "faltan el identificador, la autorización o la persona de la asignación")
		case by.Role != RoleAutorizado || by.Authorization != cmd.Authorization:
			return nil, errs.E(op, errs.Forbidden, "solo un autorizado RED que actúa por la autorización indicada puede solicitar la asignación de NSS")
		case cmd.Verification.Verifier == "":
			return nil, errs.E(op, errs.Precondition, "no se ha podido realizar la comprobación del DNI; inténtelo más tarde")
		case !cmd.Verification.Valid:
			r := cmd.Verification.Reason
			if r == "" {
				r = "el documento no ha superado la comprobación de identidad"
			}
			return nil, errs.E(op, errs.Invalid, "la comprobación de identidad ha fallado", errs.FieldError{Field: "documentNumber", Reason: r})
		}
		return []any{
			AssignmentRequested{AssignmentID: cmd.AssignmentID, Authorization: cmd.Authorization, RequestedBy: by.ID, Person: cmd.Person, RequestedAt: now},
			IdentityVerified{Verifier: cmd.Verification.Verifier, VerifiedAt: now},
		}, nil
	}
}

// Confirm assigns nss (reserved for this assignment from the NumberCounter
// of the domicile's province) and opens the alta window. Only the
// requesting autorización may confirm. Confirming again with the same NSS
// decides nothing (a retry).
func Confirm(nss string, by eventstore.Actor) commands.Decide[State] {
	return func(s State, now time.Time) ([]any, error) {
		const op errs.Op = "nss.Confirm"
		if err := mustExist(op, s); err != nil {
			return nil, err
		}
		if err := sameAuthorization(op, s, by, "confirmar la asignación"); err != nil {
			return nil, err
		}
		if s.Status == StatusAssigned && s.NSS == nss {
			return nil, nil
		}
		if s.Status != StatusPendingConfirmation {
			return nil, errs.E(op, errs.Precondition, "solo se puede confirmar una asignación pendiente de confirmación; "+describe(s))
		}
		n, err := ident.ParseNSS(nss)
		if err != nil {
			return nil, errs.E(op, errs.Internal, "el NSS reservado no es válido", err)
		}
		if n.Province() != s.Person.Province() {
			return nil, errs.E(op, errs.Internal, fmt.Sprintf("el NSS reservado es de la provincia %02d y el domicilio de la %02d", n.Province(), s.Person.Province()))
		}
		cal := calendar.New()
		day := cal.DateOf(now)
		return []any{NSSAssigned{
			NSS:            n.String(),
			Province:       fmt.Sprintf("%02d", n.Province()),
			AssignedAt:     now,
			AssignmentDate: day,
			AltaLastDay:    day.AddDays(AltaWindowDays),
			AltaDeadline:   AltaDeadline(now),
		}}, nil
	}
}

// AltaDeadline is the end of the alta window of an NSS assigned at
// assignedAt: the end of the third calendar day after the assignment day in
// Europe/Madrid (00:00 of the fourth day), with no extension for weekends or
// holidays.
func AltaDeadline(assignedAt time.Time) time.Time {
	return calendar.New().CalendarDaysEnd(assignedAt, AltaWindowDays)
}

// Cancel cancels an assignment at the summary, before confirming. Only the
// requesting autorización may cancel. The wiring then releases the
// PersonReservation, so the person may be asked for again.
func Cancel(by eventstore.Actor) commands.Decide[State] {
	return func(s State, now time.Time) ([]any, error) {
		const op errs.Op = "nss.Cancel"
		if err := mustExist(op, s); err != nil {
			return nil, err
		}
		if err := sameAuthorization(op, s, by, "cancelar la asignación"); err != nil {
			return nil, err
		}
		if s.Status != StatusPendingConfirmation {
			return nil, errs.E(op, errs.Precondition, "solo se puede cancelar una asignación antes de confirmarla; "+describe(s))
		}
		return []any{AssignmentCancelled{CancelledAt: now}}, nil
	}
}

// RequestAlta records the first alta of the worker with Fecha Real
// fechaReal. Only the autorización that generated the NSS may ask, only
// while the window is open (now before AltaDeadline), and fechaReal must lie
// between the assignment date and that date plus three days, both included.
func RequestAlta(fechaReal calendar.Date, by eventstore.Actor) commands.Decide[State] {
	return func(s State, now time.Time) ([]any, error) {
		const op errs.Op = "nss.RequestAlta"
		if err := mustExist(op, s); err != nil {
			return nil, err
		}
		if by.Role != RoleAutorizado || by.Authorization != s.Authorization {
			return nil, errs.E(op, errs.Forbidden, fmt.Sprintf("solo la autorización que generó el NSS (%s) puede solicitar el primer alta", s.Authorization))
		}
		if s.Status != StatusAssigned {
			return nil, errs.E(op, errs.Precondition, "el primer alta solo se puede solicitar sobre un NSS asignado sin alta; "+describe(s))
		}
		if !now.Before(s.AltaDeadline) {
			return nil, errs.E(op, errs.Precondition, fmt.Sprintf(
				"el plazo para solicitar el primer alta terminó el %s a las 24:00 (hora de Madrid): tres días naturales desde la asignación del NSS el %s",
				spanishDate(s.AltaLastDay), spanishDate(s.AssignmentDate)))
		}
		switch {
		case fechaReal.IsZero():
			return nil, errs.E(op, errs.Invalid, errs.FieldError{Field: "fechaReal", Reason: "la fecha real del alta es obligatoria"})
		case !fechaReal.Valid():
			return nil, errs.E(op, errs.Invalid, errs.FieldError{Field: "fechaReal", Reason: "la fecha real no existe en el calendario"})
		case fechaReal.Before(s.AssignmentDate):
			return nil, errs.E(op, errs.Invalid, errs.FieldError{Field: "fechaReal", Reason: fmt.Sprintf(
				"la fecha real no puede ser anterior a la fecha de asignación del NSS (%s)", s.AssignmentDate)})
		case fechaReal.After(s.AltaLastDay):
			return nil, errs.E(op, errs.Invalid, errs.FieldError{Field: "fechaReal", Reason: fmt.Sprintf(
				"la fecha real no puede ser posterior en más de tres días a la fecha de asignación del NSS (%s): como tarde %s", s.AssignmentDate, s.AltaLastDay)})
		}
		return []any{AltaRequested{FechaReal: fechaReal, Authorization: by.Authorization, RequestedAt: now}}, nil
	}
}

// Recipient is who receives the communication of an elimination: the
// usuario principal of the generating autorización and the autorización's
// contact email ("" when it has none: the communication is still recorded
// and EmailSkipped says why no email was sent). The API resolves it from the Autorización
// aggregate.
type Recipient struct {
	UsuarioPrincipal string
	Email            string
}

// AnnulAlta annuls the first alta; the NSS is eliminated and the usuario
// principal of the generating autorización is told. The generating
// autorización, a tramitador or the system may annul.
func AnnulAlta(by eventstore.Actor, to Recipient) commands.Decide[State] {
	return func(s State, now time.Time) ([]any, error) {
		const op errs.Op = "nss.AnnulAlta"
		if err := mustExist(op, s); err != nil {
			return nil, err
		}
		switch {
		case by.Role == RoleTramitador || by.Role == RoleSystem:
		case by.Role == RoleAutorizado && by.Authorization == s.Authorization:
		default:
			return nil, errs.E(op, errs.Forbidden, fmt.Sprintf("solo la autorización que generó el NSS (%s), un tramitador o el sistema pueden anular el alta", s.Authorization))
		}
		if s.Status != StatusAltaRequested {
			return nil, errs.E(op, errs.Precondition, "solo se puede anular un primer alta solicitada y no consolidada; "+describe(s))
		}
		return append([]any{AltaAnnulled{AnnulledAt: now}}, eliminate(s, ReasonAltaAnnulled, to, now)...), nil
	}
}

// Consolidate records that the first alta is consolidated in the system. A
// tramitador or the system may consolidate, only an alta that was asked for.
func Consolidate(by eventstore.Actor) commands.Decide[State] {
	return func(s State, now time.Time) ([]any, error) {
		const op errs.Op = "nss.Consolidate"
		if err := mustExist(op, s); err != nil {
			return nil, err
		}
		if by.Role != RoleTramitador && by.Role != RoleSystem {
			return nil, errs.E(op, errs.Forbidden, "solo un tramitador o el sistema pueden consolidar el alta")
		}
		if s.Status != StatusAltaRequested {
			return nil, errs.E(op, errs.Precondition, "solo se puede consolidar un primer alta solicitada; "+describe(s))
		}
		return []any{AltaConsolidated{ConsolidatedAt: now}}, nil
	}
}

// Eliminate eliminates an NSS whose alta window ended with no alta: the
// scheduler's action ActionEliminate at AltaDeadline. Only the system may
// eliminate, only an assigned NSS, and only from AltaDeadline on. An NSS
// already eliminated decides nothing (a repeated pass).
func Eliminate(by eventstore.Actor, to Recipient) commands.Decide[State] {
	return func(s State, now time.Time) ([]any, error) {
		const op errs.Op = "nss.Eliminate"
		if err := mustExist(op, s); err != nil {
			return nil, err
		}
		if by.Role != RoleSystem {
			return nil, errs.E(op, errs.Forbidden, "solo el sistema elimina un NSS por falta de alta")
		}
		switch {
		case s.Status == StatusEliminated:
			return nil, nil
		case s.Status != StatusAssigned:
			return nil, errs.E(op, errs.Precondition, "solo se elimina por falta de alta un NSS asignado sin alta; "+describe(s))
		case now.Before(s.AltaDeadline):
			return nil, errs.E(op, errs.Precondition, fmt.Sprintf("el plazo del primer alta sigue abierto hasta el %s a las 24:00 (hora de Madrid)", spanishDate(s.AltaLastDay)))
		}
		return eliminate(s, ReasonNoAlta, to, now), nil
	}
}

// eliminate returns NSSEliminated and the communications that go with it.
func eliminate(s State, reason EliminationReason, to Recipient, now time.Time) []any {
	subject, body := eliminationText(s, reason)
	out := []any{
		NSSEliminated{NSS: s.NSS, Reason: reason, EliminatedAt: now},
		CommunicationRequested{
			CommunicationID:  "nss-eliminado-" + s.ID,
			Kind:             CommunicationKindNSSEliminated,
			Authorization:    s.Authorization,
			UsuarioPrincipal: to.UsuarioPrincipal,
			Subject:          subject,
			Body:             body,
			RequestedAt:      now,
		},
	}
	id := EmailID(s.ID)
	if email := strings.TrimSpace(to.Email); email != "" {
		out = append(out, EmailRequested{EmailID: id, Template: EmailTemplateNSSEliminated, To: email, Subject: subject, Body: body, At: now})
	} else {
		out = append(out, EmailSkipped{EmailID: id, Template: EmailTemplateNSSEliminated, Reason: NoContactReason, At: now})
	}
	return out
}

// eliminationText is the subject and body of the communication of an
// elimination. It names the NSS and the autorización, not the person.
func eliminationText(s State, reason EliminationReason) (subject, body string) {
	nss := s.NSS
	if n, err := ident.ParseNSS(s.NSS); err == nil {
		nss = n.Formatted()
	}
	subject = "Sistema RED: eliminación del NSS " + nss
	why := "no se ha solicitado el primer alta del trabajador en los tres días naturales inmediatamente siguientes a la asignación"
	if reason == ReasonAltaAnnulled {
		why = "el primer alta solicitada para el trabajador ha sido anulada"
	}
	body = fmt.Sprintf("Al usuario principal de la autorización %s:\n\n"+
		"El Número de Seguridad Social %s, asignado a través del Sistema RED el %s por esta autorización, "+
		"ha sido eliminado del sistema porque %s.\n\n"+
		"Si la persona sigue necesitando un NSS, puede solicitarse de nuevo mediante la funcionalidad ASIGNACIÓN DE NSS.\n\n"+
		"Referencia de la asignación: %s\n",
		s.Authorization, nss, spanishDate(s.AssignmentDate), why, s.ID)
	return subject, body
}

// EmailID is the ID of the email aviso of the elimination of an
// assignment's NSS (an assignment is eliminated at most once): a UUIDv5 of
// the assignment ID.
func EmailID(assignmentID string) string {
	return uuid.NewSHA1(commands.Namespace, []byte("nss-email\x00"+assignmentID+"\x000")).String()
}

// NoContactReason is the reason recorded by EmailSkipped when the
// autorización has no contact address.
const NoContactReason = "la autorización no tiene dirección de correo de contacto registrada"

// EmailOutcome is the notifier's report on one email.
type EmailOutcome struct {
	EmailID string `json:"emailId"`
	Attempt int    `json:"attempt"`
	Sent    bool   `json:"sent"`
	Error   string `json:"error"`
	Final   bool   `json:"final"`
}

// RecordEmailOutcome records the notifier's delivery outcome of one email of
// the assignment (system only): EmailSent or EmailFailed. Reports on an
// email already sent or finally failed decide nothing.
func RecordEmailOutcome(o EmailOutcome, by eventstore.Actor) commands.Decide[State] {
	return func(s State, now time.Time) ([]any, error) {
		const op errs.Op = "nss.RecordEmailOutcome"
		if err := mustExist(op, s); err != nil {
			return nil, err
		}
		if by.Role != RoleSystem {
			return nil, errs.E(op, errs.Forbidden, "solo el sistema registra el resultado del envío de un correo")
		}
		i := slices.IndexFunc(s.Emails, func(m Email) bool { return m.ID == o.EmailID })
		if i < 0 {
			return nil, errs.E(op, errs.NotFound, "el correo no existe en la asignación")
		}
		switch s.Emails[i].Status {
		case EmailStatusSent, EmailStatusFailed:
			return nil, nil
		case EmailStatusSkipped:
			return nil, errs.E(op, errs.Precondition, "el correo no se solicitó: no hay dirección de contacto")
		}
		if o.Sent {
			return []any{EmailSent{EmailID: o.EmailID, Attempt: o.Attempt, At: now}}, nil
		}
		return []any{EmailFailed{EmailID: o.EmailID, Attempt: o.Attempt, Error: o.Error, Final: o.Final, At: now}}, nil
	}
}

// CanIssueDuplicate reports whether the duplicate of the assignment
// resolution may be obtained ("Duplicados de documentos TA", NSS ASIGNADO):
// only once the first alta is consolidated. Otherwise it is an
// errs.Precondition error that says why (errs.NotFound when there is no
// assignment).
func CanIssueDuplicate(s State) error {
	const op errs.Op = "nss.CanIssueDuplicate"
	if err := mustExist(op, s); err != nil {
		return err
	}
	if s.Status == StatusConsolidated {
		return nil
	}
	var why string
	switch s.Status {
	case StatusPendingConfirmation:
		why = "la asignación está pendiente de confirmación y todavía no hay NSS"
	case StatusCancelled:
		why = "la asignación se canceló y no se asignó ningún NSS"
	case StatusAssigned:
		why = "hasta que se solicite y consolide el primer alta del trabajador no se puede obtener ningún documento referido al NSS asignado"
	case StatusAltaRequested:
		why = "el primer alta está solicitada pero aún no consolidada; el duplicado podrá obtenerse cuando se consolide"
	case StatusEliminated:
		why = "el NSS fue eliminado del sistema (" + reasonText(s.EliminationReason) + ") y no hay documentación que obtener"
	default:
		why = "la asignación no está en un estado que lo permita"
	}
	return errs.E(op, errs.Precondition, "no se puede obtener el duplicado de la resolución de asignación de NSS: "+why)
}

// MayObtainDuplicate reports whether by may obtain the duplicate of the
// assignment resolution: the generating autorización, tramitadores and
// auditors (errs.Forbidden otherwise), and only when CanIssueDuplicate
// allows it.
func MayObtainDuplicate(s State, by eventstore.Actor) error {
	const op errs.Op = "nss.MayObtainDuplicate"
	if err := mustExist(op, s); err != nil {
		return err
	}
	switch {
	case by.Role == RoleTramitador || by.Role == RoleAuditor:
	case by.Role == RoleAutorizado && by.Authorization == s.Authorization:
	default:
		return errs.E(op, errs.Forbidden, "solo la autorización que generó el NSS, los tramitadores y los auditores pueden obtener el duplicado de la resolución")
	}
	return CanIssueDuplicate(s)
}

// mustExist is errs.NotFound for an assignment that was never requested.
func mustExist(op errs.Op, s State) error {
	if !s.Exists() {
		return errs.E(op, errs.NotFound, "la asignación de NSS no existe")
	}
	return nil
}

// sameAuthorization refuses anyone but an autorizado acting for the
// autorización that requested the assignment.
func sameAuthorization(op errs.Op, s State, by eventstore.Actor, what string) error {
	if by.Role != RoleAutorizado || by.Authorization != s.Authorization {
		return errs.E(op, errs.Forbidden, fmt.Sprintf("solo la autorización que solicitó la asignación (%s) puede %s", s.Authorization, what))
	}
	return nil
}

// describe says, in Spanish, where the assignment stands.
func describe(s State) string {
	switch s.Status {
	case StatusPendingConfirmation:
		return "la asignación está pendiente de confirmación"
	case StatusCancelled:
		return "la asignación fue cancelada"
	case StatusAssigned:
		return "el NSS está asignado y sin alta"
	case StatusAltaRequested:
		return fmt.Sprintf("el primer alta ya está solicitada (fecha real %s)", s.FechaReal)
	case StatusConsolidated:
		return "el primer alta ya está consolidada"
	case StatusEliminated:
		return "el NSS fue eliminado (" + reasonText(s.EliminationReason) + ")"
	}
	return "la asignación no existe"
}

func reasonText(r EliminationReason) string {
	switch r {
	case ReasonNoAlta:
		return "no se solicitó el primer alta en plazo"
	case ReasonAltaAnnulled:
		return "se anuló el primer alta"
	}
	return string(r)
}

var spanishMonths = [...]string{"", "enero", "febrero", "marzo", "abril", "mayo", "junio", "julio",
	"agosto", "septiembre", "octubre", "noviembre", "diciembre"}

// spanishDate renders "5 de julio de 2021".
func spanishDate(d calendar.Date) string {
	if !d.Valid() {
		return d.String()
	}
	return fmt.Sprintf("%d de %s de %d", d.Day, spanishMonths[d.Month], d.Year)
}
