package cases

import (
	"maps"
	"slices"
	"time"

	"redengine/catalog/casia"
	"redengine/commands"
	"redengine/domain/calendar"
	"redengine/eventstore"
)

// Routing is one routing of a case to a unit.
type Routing struct {
	Unit           string               `json:"unit"`
	Classification casia.Classification `json:"classification"`
	Reason         string               `json:"reason"`
	At             time.Time            `json:"at"`
}

// Message is one entry of a case's thread.
type Message struct {
	Kind        string    `json:"kind"` // apertura, respuesta, requerimiento, informacion, resolucion, cierre
	Text        string    `json:"text"`
	DocumentIDs []string  `json:"documentIds,omitempty"`
	ByID        string    `json:"byId,omitempty"`
	ByRole      string    `json:"byRole,omitempty"`
	At          time.Time `json:"at"`
}

// The kinds of thread message.
const (
	MessageOpening     = "apertura"
	MessageReply       = "respuesta"
	MessageRequest     = "requerimiento"
	MessageInformation = "informacion"
	MessageResolution  = "resolucion"
	MessageClosure     = "cierre"
)

// InformationRequest is the requerimiento the case waits on.
type InformationRequest struct {
	RequestNo   int           `json:"requestNo"`
	Text        string        `json:"text"`
	ByID        string        `json:"byId"`
	RequestedAt time.Time     `json:"requestedAt"`
	LastDay     calendar.Date `json:"lastDay"`
	Deadline    time.Time     `json:"deadline"`
}

// Email is the state of one email of the case.
type Email struct {
	ID       string    `json:"id"`
	Template string    `json:"template"`
	To       string    `json:"to,omitempty"`
	Status   string    `json:"status"` // requested, sent, failed (final), skipped
	Attempts int       `json:"attempts"`
	Error    string    `json:"error,omitempty"`
	At       time.Time `json:"at"` // of the last change
}

// The statuses of an email.
const (
	EmailStatusRequested = "requested"
	EmailStatusSent      = "sent"
	EmailStatusFailed    = "failed"
	EmailStatusSkipped   = "skipped"
)

// Desistimiento is the resolution of a trámite closed de oficio and its
// notification.
type Desistimiento struct {
	ResolutionID      string            `json:"resolutionId"`
	Number            string            `json:"number"`
	VerificationCode  string            `json:"verificationCode"`
	IssuedAt          time.Time         `json:"issuedAt"`
	NotificationID    string            `json:"notificationId,omitempty"`
	NotificationState NotificationState `json:"notificationState,omitempty"`
	MadeAvailableAt   time.Time         `json:"madeAvailableAt,omitzero"`
	RejectionDeadline time.Time         `json:"rejectionDeadline,omitzero"`
	AccessedAt        time.Time         `json:"accessedAt,omitzero"`
	AccessedBy        string            `json:"accessedBy,omitempty"`
	RejectedAt        time.Time         `json:"rejectedAt,omitzero"`
}

// State is a case as its events leave it. The zero State is a case that does
// not exist (Exists reports it).
type State struct {
	ID               string               `json:"id"`
	Number           string               `json:"number"`
	Type             casia.Type           `json:"type"`
	Classification   casia.Classification `json:"classification"`
	CatalogueVersion string               `json:"catalogueVersion"`
	Unit             string               `json:"unit"`
	Origin           Origin               `json:"origin"`
	Authorization    string               `json:"authorization"`
	Status           Status               `json:"state"`
	Subject          string               `json:"subject"`
	Body             string               `json:"body"`
	ExtraData        map[string]string    `json:"extraData"`
	OpenedBy         eventstore.Actor     `json:"openedBy"`
	OpenedAt         time.Time            `json:"openedAt"`
	UpdatedAt        time.Time            `json:"updatedAt"`
	Justificante     *Justificante        `json:"justificante,omitempty"`
	Documents        []Document           `json:"documents"`
	Thread           []Message            `json:"thread"`
	Routing          []Routing            `json:"routing"`
	Requests         int                  `json:"requests"` // requerimientos made so far
	PendingRequest   *InformationRequest  `json:"pendingRequest,omitempty"`
	LastRequest      *InformationRequest  `json:"lastRequest,omitempty"`
	ResolvedAt       time.Time            `json:"resolvedAt,omitzero"`
	ClosedAt         time.Time            `json:"closedAt,omitzero"`
	Desistimiento    *Desistimiento       `json:"desistimiento,omitempty"`
	Emails           []Email              `json:"emails"`
}

// Exists reports whether the case has been opened.
func (s State) Exists() bool { return s.ID != "" }

// Deadline returns the instant the pending requerimiento's term is over, or
// false when the case waits on none.
func (s State) Deadline() (time.Time, bool) {
	if s.PendingRequest == nil {
		return time.Time{}, false
	}
	return s.PendingRequest.Deadline, true
}

// Summary is s without its history and free texts: no thread, documents,
// routing, emails, body, extra data, justificante, opener or last
// requerimiento, and the pending requerimiento without its text. It keeps
// what a list of cases shows and everything Apply reads, so folding events
// onto a summary and taking the summary again gives what the full fold's
// summary is (TestSummaryFoldsLikeTheFullState): a read model can keep a
// case's summary, a few hundred bytes, instead of a state that grows with
// every message.
func (s State) Summary() State {
	s.Body, s.ExtraData, s.OpenedBy, s.Justificante = "", nil, eventstore.Actor{}, nil
	s.Documents, s.Thread, s.Routing, s.Emails, s.LastRequest = nil, nil, nil, nil, nil
	if s.PendingRequest != nil {
		r := *s.PendingRequest
		r.Text = ""
		s.PendingRequest = &r
	}
	return s
}

// clone copies the slices, maps and pointers of s so that Evolve never
// changes a value shared with the previous state.
func (s State) clone() State {
	s.ExtraData = maps.Clone(s.ExtraData)
	s.Documents = slices.Clone(s.Documents)
	s.Thread = slices.Clone(s.Thread)
	s.Routing = slices.Clone(s.Routing)
	s.Emails = slices.Clone(s.Emails)
	if s.PendingRequest != nil {
		r := *s.PendingRequest
		s.PendingRequest = &r
	}
	if s.LastRequest != nil {
		r := *s.LastRequest
		s.LastRequest = &r
	}
	if s.Justificante != nil {
		j := *s.Justificante
		s.Justificante = &j
	}
	if s.Desistimiento != nil {
		d := *s.Desistimiento
		s.Desistimiento = &d
	}
	return s
}

func docIDs(ds []Document) []string {
	if len(ds) == 0 {
		return nil
	}
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

// Evolve applies one recorded event to a case. It is pure and leaves the
// state it receives untouched. Unknown events leave the state as it is.
func Evolve(s State, e commands.Event) State {
	return Apply(s, e.Data)
}

// Apply is Evolve on a bare domain event (a value of one of this package's
// event types), for folds that have no envelope.
func Apply(s State, event any) State {
	s = s.clone()
	switch ev := event.(type) {
	case CaseOpened:
		s.ID, s.Number, s.Type = ev.CaseID, ev.Number, ev.Type
		s.Classification, s.CatalogueVersion = ev.Classification, ev.CatalogueVersion
		s.Origin, s.Authorization = ev.Origin, ev.Authorization
		s.Status = Abierto
		s.Subject, s.Body = ev.Subject, ev.Body
		s.ExtraData = maps.Clone(ev.ExtraData)
		s.OpenedBy, s.OpenedAt, s.UpdatedAt = ev.OpenedBy, ev.OpenedAt, ev.OpenedAt
		if ev.Justificante != nil {
			j := *ev.Justificante
			s.Justificante = &j
		}
		s.Documents = append(s.Documents, ev.Documents...)
		s.Thread = append(s.Thread, Message{Kind: MessageOpening, Text: ev.Body, DocumentIDs: docIDs(ev.Documents),
			ByID: ev.OpenedBy.ID, ByRole: ev.OpenedBy.Role, At: ev.OpenedAt})
	case CaseRouted:
		s.Unit = ev.Unit
		s.Routing = append(s.Routing, Routing(ev))
		s.UpdatedAt = ev.At
	case DocumentAdded:
		s.Documents = append(s.Documents, ev.Document)
		s.UpdatedAt = ev.Document.AddedAt
	case ReplyAdded:
		s.Documents = append(s.Documents, ev.Documents...)
		s.Thread = append(s.Thread, Message{Kind: MessageReply, Text: ev.Text, DocumentIDs: docIDs(ev.Documents),
			ByID: ev.By.ID, ByRole: ev.By.Role, At: ev.At})
		if s.Status == Abierto && ev.By.Role == RoleTramitador {
			s.Status = EnTramitacion
		}
		s.UpdatedAt = ev.At
	case CaseReclassified:
		s.Classification, s.CatalogueVersion = ev.To, ev.CatalogueVersion
		if len(ev.ExtraData) > 0 {
			if s.ExtraData == nil {
				s.ExtraData = map[string]string{}
			}
			maps.Copy(s.ExtraData, ev.ExtraData)
		}
		s.UpdatedAt = ev.At
	case InformationRequested:
		r := &InformationRequest{RequestNo: ev.RequestNo, Text: ev.Text, ByID: ev.By.ID,
			RequestedAt: ev.RequestedAt, LastDay: ev.LastDay, Deadline: ev.Deadline}
		s.PendingRequest = r
		last := *r
		s.LastRequest = &last
		s.Requests = ev.RequestNo
		s.Status = PendienteInformacion
		s.Documents = append(s.Documents, ev.Documents...)
		s.Thread = append(s.Thread, Message{Kind: MessageRequest, Text: ev.Text, DocumentIDs: docIDs(ev.Documents),
			ByID: ev.By.ID, ByRole: ev.By.Role, At: ev.RequestedAt})
		s.UpdatedAt = ev.RequestedAt
	case InformationProvided:
		s.PendingRequest = nil
		s.Status = EnTramitacion
		s.Documents = append(s.Documents, ev.Documents...)
		s.Thread = append(s.Thread, Message{Kind: MessageInformation, Text: ev.Text, DocumentIDs: docIDs(ev.Documents),
			ByID: ev.By.ID, ByRole: ev.By.Role, At: ev.At})
		s.UpdatedAt = ev.At
	case CaseResolved:
		s.PendingRequest = nil
		s.Status = Resuelto
		s.ResolvedAt = ev.At
		s.Documents = append(s.Documents, ev.Documents...)
		s.Thread = append(s.Thread, Message{Kind: MessageResolution, Text: ev.Text, DocumentIDs: docIDs(ev.Documents),
			ByID: ev.By.ID, ByRole: ev.By.Role, At: ev.At})
		s.UpdatedAt = ev.At
	case CaseClosedMisfiled:
		s.PendingRequest = nil
		s.Status = Cerrado
		s.ClosedAt = ev.At
		s.Thread = append(s.Thread, Message{Kind: MessageClosure, Text: ev.Reason, ByID: ev.By.ID, ByRole: ev.By.Role, At: ev.At})
		s.UpdatedAt = ev.At
	case CaseClosedDeOficio:
		s.PendingRequest = nil
		s.Status = CerradoDeOficio
		s.ClosedAt = ev.ClosedAt
		s.Thread = append(s.Thread, Message{Kind: MessageClosure, Text: closedDeOficioText, ByRole: RoleSystem, At: ev.ClosedAt})
		s.UpdatedAt = ev.ClosedAt
	case DesistimientoIssued:
		s.Desistimiento = &Desistimiento{ResolutionID: ev.ResolutionID, Number: ev.Number,
			VerificationCode: ev.VerificationCode, IssuedAt: ev.IssuedAt}
		s.UpdatedAt = ev.IssuedAt
	case NotificationMadeAvailable:
		if s.Desistimiento != nil {
			s.Desistimiento.NotificationID = ev.NotificationID
			s.Desistimiento.NotificationState = PuestaADisposicion
			s.Desistimiento.MadeAvailableAt = ev.MadeAvailableAt
			s.Desistimiento.RejectionDeadline = ev.RejectionDeadline
		}
		s.UpdatedAt = ev.MadeAvailableAt
	case NotificationAccessed:
		if s.Desistimiento != nil {
			s.Desistimiento.NotificationState = Accedida
			s.Desistimiento.AccessedAt = ev.At
			s.Desistimiento.AccessedBy = ev.By.ID
		}
		s.UpdatedAt = ev.At
	case NotificationRejected:
		if s.Desistimiento != nil {
			s.Desistimiento.NotificationState = Rechazada
			s.Desistimiento.RejectedAt = ev.At
		}
		s.UpdatedAt = ev.At
	case EmailRequested:
		s.Emails = append(s.Emails, Email{ID: ev.EmailID, Template: ev.Template, To: ev.To, Status: EmailStatusRequested, At: ev.At})
	case EmailSkipped:
		s.Emails = append(s.Emails, Email{ID: ev.EmailID, Template: ev.Template, Status: EmailStatusSkipped, Error: ev.Reason, At: ev.At})
	case EmailSent:
		if i := s.emailIndex(ev.EmailID); i >= 0 {
			s.Emails[i].Status, s.Emails[i].Attempts, s.Emails[i].Error, s.Emails[i].At = EmailStatusSent, ev.Attempt, "", ev.At
		}
	case EmailFailed:
		if i := s.emailIndex(ev.EmailID); i >= 0 {
			s.Emails[i].Attempts, s.Emails[i].Error, s.Emails[i].At = ev.Attempt, ev.Error, ev.At
			if ev.Final {
				s.Emails[i].Status = EmailStatusFailed
			}
		}
	}
	return s
}

func (s State) emailIndex(id string) int {
	for i, e := range s.Emails {
		if e.ID == id {
			return i
		}
	}
	return -1
}

// Fold applies events in order to the zero State.
func Fold(events ...any) State {
	var s State
	for _, e := range events {
		s = Apply(s, e)
	}
	return s
}
